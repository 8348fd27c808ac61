/**
 * Map declarations, written once and used from both sides: inside a program
 * (`b.lookup(counts, port)`), and in userspace, where the loader creates the
 * kernel map from {@link MapDef.spec} with codecs from the same layouts.
 */
import { type AnyLayout, type MapSpec, resolveMapType, isMapInMapType } from '../layout/index.js';
import { MapType } from '../uapi/map-types.js';
import { DslError } from './errors.js';
import { u32 } from './types.js';


/** What a lookup in a map yields: a value, an inner map (map-in-map), or nothing usable (devmaps). */
export type MapValueKind = 'value' | 'map' | 'none';

/** Options shared by map declarations. */
export interface MapOptions {
  /** `map_flags` (`MapFlags`). */
  flags?: number;
  /** Pin by name when a collection is loaded. */
  pinning?: 'none' | 'byName';
  /** Program arrays only: programs placed in slots at load (see {@link progArray}). */
  programs?: Readonly<Record<number, string>>;
}

/** A map declaration: name, type, key and value layouts. */
export class MapDef<K extends AnyLayout = AnyLayout, Vl extends AnyLayout = AnyLayout, Kind extends MapValueKind = MapValueKind, Inner = unknown> {
  constructor(
    /** The map's object name (at most 15 bytes). */
    readonly name: string,
    /** `BPF_MAP_TYPE_*`. */
    readonly type: number,
    readonly key: K,
    readonly value: Vl,
    readonly maxEntries: number,
    readonly valueKind: Kind,
    readonly inner: Inner,
    readonly options: MapOptions = {},
  ) {
    if (!/^[A-Za-z0-9_.]{1,15}$/.test(name)) throw new DslError(`map name '${name}' must be 1-15 characters of [A-Za-z0-9_.]`);
  }

  /** The plain-data description `BpfMap.create()` takes. */
  get spec(): MapSpec {
    return {
      name: this.name,
      type: this.type,
      keySize: this.key.size,
      valueSize: this.value.size,
      maxEntries: this.maxEntries,
      ...(this.options.flags !== undefined ? { flags: this.options.flags } : {}),
      ...(this.options.pinning ? { pinning: this.options.pinning } : {}),
      ...(this.inner ? { innerMap: (this.inner as unknown as MapDef).spec } : {}),
      key: this.key,
      value: this.value,
    };
  }
}

/** Options of a map with a key and a value. */
export interface KeyValueOptions<K extends AnyLayout, Vl extends AnyLayout> extends MapOptions {
  key: K;
  value: Vl;
  maxEntries: number;
}

function kv<K extends AnyLayout, Vl extends AnyLayout>(type: number, name: string, o: KeyValueOptions<K, Vl>): MapDef<K, Vl, 'value', undefined> {
  return new MapDef(name, type, o.key, o.value, o.maxEntries, 'value', undefined, o);
}

/** `BPF_MAP_TYPE_HASH`. */
export function hashMap<K extends AnyLayout, Vl extends AnyLayout>(name: string, o: KeyValueOptions<K, Vl>) {
  return kv(MapType.BPF_MAP_TYPE_HASH, name, o);
}
/** `BPF_MAP_TYPE_LRU_HASH`. */
export function lruHashMap<K extends AnyLayout, Vl extends AnyLayout>(name: string, o: KeyValueOptions<K, Vl>) {
  return kv(MapType.BPF_MAP_TYPE_LRU_HASH, name, o);
}
/** `BPF_MAP_TYPE_PERCPU_HASH`. */
export function percpuHashMap<K extends AnyLayout, Vl extends AnyLayout>(name: string, o: KeyValueOptions<K, Vl>) {
  return kv(MapType.BPF_MAP_TYPE_PERCPU_HASH, name, o);
}
/** `BPF_MAP_TYPE_LRU_PERCPU_HASH`. */
export function lruPercpuHashMap<K extends AnyLayout, Vl extends AnyLayout>(name: string, o: KeyValueOptions<K, Vl>) {
  return kv(MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, name, o);
}
/** `BPF_MAP_TYPE_ARRAY` (key `u32`). */
export function arrayMap<Vl extends AnyLayout>(name: string, o: Omit<KeyValueOptions<typeof u32, Vl>, 'key'>) {
  return kv(MapType.BPF_MAP_TYPE_ARRAY, name, { ...o, key: u32 });
}
/** `BPF_MAP_TYPE_PERCPU_ARRAY` (key `u32`). */
export function percpuArrayMap<Vl extends AnyLayout>(name: string, o: Omit<KeyValueOptions<typeof u32, Vl>, 'key'>) {
  return kv(MapType.BPF_MAP_TYPE_PERCPU_ARRAY, name, { ...o, key: u32 });
}

/** `BPF_MAP_TYPE_DEVMAP` (key and value `u32` ifindex), for `b.redirectMap`. */
export function devMap(name: string, o: { maxEntries: number } & MapOptions) {
  return new MapDef(name, MapType.BPF_MAP_TYPE_DEVMAP, u32, u32, o.maxEntries, 'none', undefined, o);
}
/** `BPF_MAP_TYPE_DEVMAP_HASH`. */
export function devMapHash(name: string, o: { maxEntries: number } & MapOptions) {
  return new MapDef(name, MapType.BPF_MAP_TYPE_DEVMAP_HASH, u32, u32, o.maxEntries, 'none', undefined, o);
}

/** Options of {@link progArray}. */
export interface ProgArrayOptions extends MapOptions {
  maxEntries: number;
  /**
   * Programs to put into slots when the collection loads, by program name (`{ 1: 'parse_v6' }`),
   * as clang's `__array(values, ...)` initialisers do. Slots can also be set at run time.
   */
  programs?: Readonly<Record<number, string>>;
}

/**
 * `BPF_MAP_TYPE_PROG_ARRAY` (key and value `u32`, the value a program fd): the jump table of
 * `b.tailCall` (kernel 4.2). Programs cannot read it.
 */
export function progArray(name: string, o: ProgArrayOptions): MapDef<typeof u32, typeof u32, 'none', undefined> {
  for (const [k, prog] of Object.entries(o.programs ?? {})) {
    const slot = Number(k);
    if (!Number.isInteger(slot) || slot < 0 || slot >= o.maxEntries) throw new DslError(`progArray '${name}': slot ${k} is outside 0..${o.maxEntries - 1}`);
    if (typeof prog !== 'string' || prog === '') throw new DslError(`progArray '${name}': slot ${k} must name a program`);
  }
  return new MapDef(name, MapType.BPF_MAP_TYPE_PROG_ARRAY, u32, u32, o.maxEntries, 'none', undefined, o);
}

/** `BPF_MAP_TYPE_ARRAY_OF_MAPS` (key `u32`): a lookup yields an inner map of type `inner`. */
export function arrayOfMaps<I extends MapDef>(name: string, o: { maxEntries: number; inner: I } & MapOptions) {
  return new MapDef(name, MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, u32, u32, o.maxEntries, 'map', o.inner, o);
}
/** `BPF_MAP_TYPE_HASH_OF_MAPS`: a lookup yields an inner map of type `inner`. */
export function hashOfMaps<K extends AnyLayout, I extends MapDef>(name: string, o: { key: K; maxEntries: number; inner: I } & MapOptions) {
  return new MapDef(name, MapType.BPF_MAP_TYPE_HASH_OF_MAPS, o.key, u32, o.maxEntries, 'map', o.inner, o);
}

/**
 * A map declaration from a lib/layout `MapSpec` that carries its `key` and
 * `value` layouts (and, for map-in-map, an `innerMap` spec with layouts), so
 * a control plane's specs serve the DSL too.
 */
export function mapDef<K extends AnyLayout, Vl extends AnyLayout>(spec: MapSpec & { key: K; value: Vl; name: string; innerMap?: undefined }): MapDef<K, Vl, 'value', undefined>;
export function mapDef<K extends AnyLayout, Vl extends AnyLayout>(spec: MapSpec & { key: K; value: Vl; name: string; innerMap: MapSpec }): MapDef<K, Vl, 'map', MapDef>;
export function mapDef<K extends AnyLayout, Vl extends AnyLayout>(spec: MapSpec & { key: K; value: Vl; name: string }): MapDef<K, Vl> {
  const type = resolveMapType(spec.type);
  if (spec.key.size !== spec.keySize || spec.value.size !== spec.valueSize) {
    throw new DslError(`map '${spec.name}': the key/value layouts do not match keySize/valueSize`);
  }
  const opts: MapOptions = { ...(spec.flags !== undefined ? { flags: spec.flags } : {}), ...(spec.pinning ? { pinning: spec.pinning } : {}) };
  if (isMapInMapType(type)) {
    const inner = spec.innerMap;
    if (!inner?.key || !inner.value) throw new DslError(`map '${spec.name}': a map-in-map needs an innerMap spec with key and value layouts`);
    const innerDef: MapDef = (mapDef as (s: MapSpec & { key: AnyLayout; value: AnyLayout; name: string }) => MapDef)({
      ...inner,
      name: inner.name ?? `${spec.name}_in`.slice(0, 15),
      key: inner.key,
      value: inner.value,
    });
    return new MapDef(spec.name, type, spec.key, spec.value, spec.maxEntries, 'map', innerDef, opts) as unknown as MapDef<K, Vl>;
  }
  const kind: MapValueKind = type === MapType.BPF_MAP_TYPE_DEVMAP || type === MapType.BPF_MAP_TYPE_DEVMAP_HASH ? 'none' : 'value';
  return new MapDef(spec.name, type, spec.key, spec.value, spec.maxEntries, kind, undefined, opts) as unknown as MapDef<K, Vl>;
}
