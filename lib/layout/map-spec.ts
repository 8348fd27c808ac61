/**
 * `MapSpec`: a map described as plain data (type, key and value sizes, max
 * entries, flags, name, inner map template, pinning), kept apart from the
 * kernel object as cilium/ebpf keeps `MapSpec` apart from `Map`. The ELF
 * reader and the DSL produce specs; `BpfMap.create(spec)` in lib/kernel turns
 * one into a map. Pure: no kernel access.
 *
 * @module
 */
import { TsbpfError } from '../errors.js';
import { MapType, MapFlags, BPF_OBJ_NAME_LEN } from '../uapi/map-types.js';
import type { Layout } from './layout.js';

/** A spec that cannot describe a map: unknown type, bad size, name too long. */
export class MapSpecError extends TsbpfError {}

type StripPrefix<K> = K extends `BPF_MAP_TYPE_${infer N}` ? Lowercase<N> : never;

/** Short lower-case map type names: `'hash'`, `'array'`, `'percpu_hash'`, `'lpm_trie'`, `'ringbuf'`, ... */
export type MapTypeName = Exclude<StripPrefix<keyof typeof MapType>, 'unspec'>;

/** A map type as a number (`MapType.BPF_MAP_TYPE_HASH`) or a short name (`'hash'`). */
export type MapTypeLike = number | MapTypeName;

/** How a map is pinned when a collection is loaded (libbpf's `LIBBPF_PIN_*`). */
export type MapPinning = 'none' | 'byName';

/** One initial element of a map (raw bytes of exactly key size / value size). */
export interface MapEntrySpec {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A map described as data; `BpfMap.create(spec)` creates it. */
export interface MapSpec {
  /** Object name, at most 15 bytes (`[A-Za-z0-9_.]`); the kernel shows it in `bpftool map`. */
  readonly name?: string;
  /** The map type. */
  readonly type: MapTypeLike;
  /** Key size in bytes (0 for ring buffers, queues and stacks). */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps; 4 for map-in-map and prog arrays; 0 for ring buffers). */
  readonly valueSize: number;
  /** Maximum entries (the byte size, a power-of-two multiple of the page size, for ring buffers). */
  readonly maxEntries: number;
  /** `map_flags` (`MapFlags`); LPM tries need `BPF_F_NO_PREALLOC`, which `BpfMap.create` adds. */
  readonly flags?: number;
  /** NUMA node for the map's memory (sets `BPF_F_NUMA_NODE`). */
  readonly numaNode?: number;
  /** `map_extra` (bloom filter hash count, arena start address; Linux 5.16). */
  readonly mapExtra?: bigint;
  /** For `array_of_maps`/`hash_of_maps`: the inner map template. */
  readonly innerMap?: MapSpec;
  /** Pin when a collection is loaded (`'byName'`: `<pin dir>/<name>`). Default `'none'`. */
  readonly pinning?: MapPinning;
  /** Optional key layout (lib/layout); its size must equal `keySize`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key?: Layout<any>;
  /** Optional value layout (lib/layout); its size must equal `valueSize`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly value?: Layout<any>;
  /** Elements written right after creation. */
  readonly contents?: readonly MapEntrySpec[];
  /** Freeze the map (read-only for the syscall side) after writing `contents`. */
  readonly freeze?: boolean;
}

const byShortName = new Map<string, number>();
const byNumber = new Map<number, string>();
for (const [k, v] of Object.entries(MapType)) {
  if (v === 0) continue;
  const short = k.slice('BPF_MAP_TYPE_'.length).toLowerCase();
  if (!byShortName.has(short)) byShortName.set(short, v);
  if (!byNumber.has(v)) byNumber.set(v, short);
}

/** The map type number of `type`; throws `MapSpecError` for a name or number the uapi tables do not know. */
export function resolveMapType(type: MapTypeLike): number {
  if (typeof type === 'number') {
    if (!byNumber.has(type)) throw new MapSpecError(`unknown map type ${type}`);
    return type;
  }
  const n = byShortName.get(type);
  if (n === undefined) throw new MapSpecError(`unknown map type '${String(type)}' (known: ${[...byShortName.keys()].join(', ')})`);
  return n;
}

/** The short name of a map type number (`1` -> `'hash'`), or `type_<n>` when unknown. */
export function mapTypeShortName(type: number): string {
  return byNumber.get(type) ?? `type_${type}`;
}

/** Whether values of this map type are per-CPU (one value slot per possible CPU). */
export function isPerCpuMapType(type: number): boolean {
  return (
    type === MapType.BPF_MAP_TYPE_PERCPU_HASH ||
    type === MapType.BPF_MAP_TYPE_PERCPU_ARRAY ||
    type === MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH ||
    type === MapType.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE
  );
}

/** Whether this map type holds other maps (`array_of_maps`, `hash_of_maps`). */
export function isMapInMapType(type: number): boolean {
  return type === MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS || type === MapType.BPF_MAP_TYPE_HASH_OF_MAPS;
}

const nameRe = /^[A-Za-z0-9_.]*$/;

/**
 * Checks what can be checked without a kernel: known type, integer sizes,
 * name length and characters, layouts matching sizes, an inner map for
 * map-in-map types. Throws `MapSpecError`; returns the type number.
 */
export function checkMapSpec(spec: MapSpec): number {
  const type = resolveMapType(spec.type);
  const what = spec.name ? `map '${spec.name}'` : 'map';
  for (const k of ['keySize', 'valueSize', 'maxEntries'] as const) {
    const v = spec[k];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MapSpecError(`${what}: ${k} must be a u32, got ${String(v)}`);
  }
  if (spec.flags !== undefined && (!Number.isInteger(spec.flags) || spec.flags < 0 || spec.flags > 0xffffffff)) {
    throw new MapSpecError(`${what}: flags must be a u32, got ${String(spec.flags)}`);
  }
  if (spec.name !== undefined) {
    if (new TextEncoder().encode(spec.name).length >= BPF_OBJ_NAME_LEN) throw new MapSpecError(`${what}: name is longer than ${BPF_OBJ_NAME_LEN - 1} bytes`);
    if (!nameRe.test(spec.name)) throw new MapSpecError(`${what}: name may only hold letters, digits, '_' and '.'`);
  }
  if (spec.key && spec.key.size !== spec.keySize) throw new MapSpecError(`${what}: key layout is ${spec.key.size} bytes, keySize is ${spec.keySize}`);
  if (spec.value && spec.value.size !== spec.valueSize) throw new MapSpecError(`${what}: value layout is ${spec.value.size} bytes, valueSize is ${spec.valueSize}`);
  if (isMapInMapType(type)) {
    if (!spec.innerMap) throw new MapSpecError(`${what}: ${mapTypeShortName(type)} needs an innerMap template`);
    checkMapSpec(spec.innerMap);
  }
  return type;
}

/** `MapFlags` re-exported for spec authors. */
export { MapFlags };
