/**
 * DSL programs as collections and ELF objects: {@link dslCollectionSpec}
 * turns built programs into a lib/elf `CollectionSpec` (section names from
 * the program and attach types, the maps the programs declare, BTF for map
 * keys and values from their lib/layout layouts, func_info and line_info
 * pointing at the TypeScript lines), which lib/kernel's `Collection` loads;
 * {@link writeDslObject} writes one as an ELF object that `bpftool prog
 * loadall`, `ip link set dev X xdp obj FILE.o sec S` and tsbpf's own reader load.
 * Pure: no kernel access (writing the file is the only I/O).
 */
import { writeFileSync } from 'node:fs';
import { Btf, BtfBuilder } from '../btf/index.js';
import {
  collectionSpec,
  PinType,
  sectionNameFor,
  sectionProgramType,
  writeCollectionSpec,
  type CollectionSpec,
  type MapInput,
  type ProgramInput,
  type SourceLineReader,
  type WriteCollectionOptions,
} from '../elf/index.js';
import { MapType } from '../uapi/map-types.js';
import { LayoutBtf } from './btf-types.js';
import { DslError } from './errors.js';
import type { MapDef } from './maps.js';
import type { BuiltProgram, DslProgram } from './program.js';

/** A DSL program, built or not. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DslProgramLike = DslProgram<any> | BuiltProgram;

/** Options of {@link dslCollectionSpec}. */
export interface DslSpecOptions {
  /** The object's license (default: the first program's). */
  license?: string;
  /** Generate func_info/line_info from the instructions' source positions (default true). */
  lineInfo?: boolean;
  /** Reads source line text for line_info (default: reads the TypeScript files). */
  sourceLine?: SourceLineReader;
  /** Drop `pinning: 'byName'` from every map (nothing is pinned on load). Default false. */
  noPins?: boolean;
  /** Build with verifier-lite (`build({ verify: true })`). Default false. */
  verify?: boolean;
}

/** Options of {@link writeDslObject}. */
export interface DslObjectOptions extends DslSpecOptions, WriteCollectionOptions {
  /** Also write the object to this file. */
  path?: string;
}

/** Builds `p` if it is a `DslProgram`. */
export function builtProgram(p: DslProgramLike, verify = false): BuiltProgram {
  return 'insns' in p ? p : p.build({ verify });
}

/** The libbpf section name of a built program: its own when it names its program type, else the canonical one. */
export function dslSectionName(p: BuiltProgram): string {
  const st = sectionProgramType(p.section);
  if (st && st.progType === p.progType && (p.expectedAttachType === undefined || st.expectedAttachType === p.expectedAttachType)) return p.section;
  const canonical = sectionNameFor(p.progType, p.expectedAttachType ?? 0);
  if (!canonical) throw new DslError(`program ${p.name}: no libbpf section name for program type ${p.progType}, attach type ${p.expectedAttachType ?? 0}`);
  return canonical;
}

/** Two declarations of one map name must describe the same map. */
function sameMap(a: MapDef, b: MapDef): boolean {
  if (a === b) return true;
  const inner = (d: MapDef) => d.inner as MapDef | undefined;
  return (
    a.type === b.type &&
    a.key.size === b.key.size &&
    a.value.size === b.value.size &&
    a.maxEntries === b.maxEntries &&
    (a.options.flags ?? 0) === (b.options.flags ?? 0) &&
    (a.options.pinning ?? 'none') === (b.options.pinning ?? 'none') &&
    JSON.stringify(a.options.programs ?? {}) === JSON.stringify(b.options.programs ?? {}) &&
    (inner(a) === undefined) === (inner(b) === undefined) &&
    (inner(a) === undefined || sameMap(inner(a)!, inner(b)!))
  );
}

/**
 * Map types the kernel creates with BTF key/value types (the others, such as
 * devmaps, program arrays and map-in-map, refuse them with ENOTSUPP).
 */
const TYPED_MAPS: ReadonlySet<number> = new Set([
  MapType.BPF_MAP_TYPE_HASH,
  MapType.BPF_MAP_TYPE_ARRAY,
  MapType.BPF_MAP_TYPE_PERCPU_HASH,
  MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
  MapType.BPF_MAP_TYPE_LRU_HASH,
  MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  MapType.BPF_MAP_TYPE_LPM_TRIE,
]);

/** The `MapInput` of a declaration, with key/value BTF types from its layouts (for map types that take them). */
function mapInput(def: MapDef, types: LayoutBtf, noPins: boolean): MapInput {
  const inner = def.inner as MapDef | undefined;
  // An LPM trie's key must be a struct (`struct { __u32 prefixlen; ... }`).
  const typed = TYPED_MAPS.has(def.type) && (def.type !== MapType.BPF_MAP_TYPE_LPM_TRIE || def.key.kind === 'struct');
  return {
    name: def.name,
    type: def.type,
    keySize: def.key.size,
    valueSize: def.value.size,
    maxEntries: def.maxEntries,
    ...(def.options.flags !== undefined ? { flags: def.options.flags } : {}),
    ...(!noPins && def.options.pinning === 'byName' ? { pinning: PinType.BY_NAME } : {}),
    ...(typed && def.key.size > 0 ? { keyType: types.typeOf(def.key) } : {}),
    ...(typed && def.value.size > 0 ? { valueType: types.typeOf(def.value) } : {}),
    // Map-in-map values are inner map descriptors (`__array(values, ...)`).
    ...(inner ? { innerMap: mapInput(inner, types, noPins) } : {}),
    // Program arrays: slots filled with programs of the collection when it loads.
    ...(def.options.programs
      ? { slots: Object.entries(def.options.programs).map(([k, name]) => ({ key: Number(k), value: name, kind: 'program' as const })) }
      : {}),
  };
}

/** The maps of several programs, each name once (declarations of one name must agree). */
export function dslMaps(programs: readonly BuiltProgram[]): MapDef[] {
  const maps = new Map<string, MapDef>();
  for (const p of programs) {
    for (const m of p.maps) {
      const seen = maps.get(m.name);
      if (!seen) maps.set(m.name, m);
      else if (!sameMap(seen, m)) throw new DslError(`map '${m.name}' is declared twice with different shapes (programs share maps by name)`);
    }
  }
  return [...maps.values()];
}

/**
 * A collection spec for DSL programs: one program per `DslProgram` (section
 * from its program and attach type, subprograms as functions), the maps they
 * use (deduplicated by name), BTF describing map keys and values (struct field
 * names, integers, arrays) and func_info/line_info at the TypeScript source.
 * Load it with lib/kernel's `Collection.load` (or `loadDslCollection`); write it
 * with {@link writeDslObject}.
 */
export function dslCollectionSpec(programs: readonly DslProgramLike[], options: DslSpecOptions = {}): CollectionSpec {
  if (programs.length === 0) throw new DslError('a collection needs at least one program');
  const built = programs.map((p) => builtProgram(p, options.verify));
  const b = new BtfBuilder(new Btf());
  const types = new LayoutBtf(b);
  const progs: ProgramInput[] = built.map((p) => ({
    name: p.name,
    section: dslSectionName(p),
    insns: p.insns,
    functions: p.funcs,
    license: p.license,
  }));
  const spec = collectionSpec({
    programs: progs,
    maps: dslMaps(built).map((m) => mapInput(m, types, options.noPins ?? false)),
    btf: b,
    license: options.license ?? built[0]!.license,
    ...(options.lineInfo !== undefined ? { lineInfo: options.lineInfo } : {}),
    ...(options.sourceLine ? { sourceLine: options.sourceLine } : {}),
  });
  return spec;
}

/**
 * Throws a `DslError` when a program array's initial slot names a program the collection
 * does not have (a typo would otherwise leave the slot silently empty).
 */
export function checkProgramSlots(spec: CollectionSpec): void {
  for (const m of spec.maps.values()) {
    for (const s of m.slots ?? []) {
      if (s.kind === 'program' && !spec.programs.has(s.value)) {
        throw new DslError(`progArray '${m.name}': slot ${s.key} names program '${s.value}', which is not in this collection (${[...spec.programs.keys()].join(', ')})`);
      }
    }
  }
}

/**
 * Writes DSL programs as a BPF ELF object (clang's layout: a section per
 * program type, subprograms in `.text`, BTF-defined maps in `.maps` with
 * typed keys and values, `.BTF` and `.BTF.ext` with TypeScript line info).
 * `target` is a file path to write, or options (with an optional `path`).
 * Returns the object's bytes.
 */
export function writeDslObject(programs: readonly DslProgramLike[], target: string | DslObjectOptions = {}): Uint8Array {
  const options: DslObjectOptions = typeof target === 'string' ? { path: target } : target;
  const spec = dslCollectionSpec(programs, options);
  checkProgramSlots(spec);
  const bytes = writeCollectionSpec(spec, {
    ...(options.noBtf !== undefined ? { noBtf: options.noBtf } : {}),
    ...(options.externMaps !== undefined ? { externMaps: options.externMaps } : {}),
  });
  if (options.path) writeFileSync(options.path, bytes);
  return bytes;
}
