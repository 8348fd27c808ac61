/**
 * Collections: every map and program of an object (a clang-compiled ELF file
 * or a DSL-built spec) loaded together. Maps are created, or reused from
 * their pins (`pinning: LIBBPF_PIN_BY_NAME`); global data sections become
 * single-element arrays holding their initial bytes (`.rodata` frozen);
 * map references in the programs are patched with the descriptors
 * (`BPF_PSEUDO_MAP_FD`, `BPF_PSEUDO_MAP_VALUE`); programs are loaded with
 * their BTF, func_info and line_info, so verifier logs show source lines.
 * CO-RE relocations are applied first, against the running kernel's BTF.
 * Handles by name; `close()` closes everything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyCoreRelocations, type Btf, BtfStringTable, funcInfoRecords, lineInfoRecords } from '../btf/index.js';
import { readCollectionSpec, type CollectionMapSpec, type CollectionProgramSpec, type CollectionSpec, PinType } from '../elf/index.js';
import type { MapSpec as KernelMapSpec } from '../layout/map-spec.js';
import { TsbpfError } from '../errors.js';
import { MapFlags, MapType } from '../uapi/map-types.js';
import { DEFAULT_BPFFS } from './bpffs.js';
import { KernelBtf } from './btf.js';
import { BpfError } from './errors.js';
import { BpfMap, type MapBtf } from './map.js';
import { isPinned } from './pin.js';
import { objectName, Program, type LoadOptions } from './program.js';
import { vmlinuxBtf } from './vmlinux.js';

/** A collection cannot be loaded as asked (a pinned map of another shape, an unknown name). */
export class CollectionError extends TsbpfError {}

/** Options of {@link Collection.load}. */
export interface CollectionOptions {
  /** bpffs directory for maps pinned by name (default `/sys/fs/bpf`). */
  pinPath?: string;
  /** Existing maps to use instead of creating the spec's maps of these names. */
  replaceMaps?: Readonly<Record<string, BpfMap>>;
  /** Load only these programs (default: all). */
  programs?: readonly string[];
  /** Verifier-log handling for every program (`logLevel`, `stats`, ...). */
  load?: LoadOptions;
  /**
   * Keep going when a program is rejected: its error goes to `programErrors`
   * and the other programs load. Default false (the first failure closes
   * everything and throws).
   */
  keepGoing?: boolean;
  /** Fail when the kernel rejects the BTF (default false: load without BTF, as libbpf does; see `btfError`). */
  requireBtf?: boolean;
  /** Target BTF for CO-RE relocations; the running kernel's by default. */
  targetBtf?: Btf;
}

function le(n: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let v = BigInt(n);
  for (let i = 0; i < size; i++) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function kernelMapSpec(m: CollectionMapSpec): KernelMapSpec {
  return {
    name: objectName(m.name),
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: kernelMapSpec(m.innerMap) } : {}),
    ...(m.initialValue ? { contents: [{ key: le(0, m.keySize), value: m.initialValue }] } : {}),
    ...(m.freeze ? { freeze: true } : {}),
  };
}

/** Maps and programs loaded together. */
export class Collection {
  /** Maps by name (global data as `.data`, `.rodata`, `.bss`, ...). */
  readonly maps: Map<string, BpfMap>;
  /** Programs by name. */
  readonly programs: Map<string, Program>;
  /** Programs the kernel rejected (with `keepGoing`), by name. */
  readonly programErrors: Map<string, Error>;
  /** The loaded BTF, if the spec had BTF and the kernel took it. */
  readonly btf: KernelBtf | undefined;
  /** Why the BTF was not loaded, if the kernel rejected it. */
  readonly btfError: Error | undefined;
  /** The spec this was loaded from. */
  readonly spec: CollectionSpec;
  #closed = false;

  private constructor(
    spec: CollectionSpec,
    maps: Map<string, BpfMap>,
    programs: Map<string, Program>,
    errors: Map<string, Error>,
    btf: KernelBtf | undefined,
    btfError: Error | undefined,
  ) {
    this.spec = spec;
    this.maps = maps;
    this.programs = programs;
    this.programErrors = errors;
    this.btf = btf;
    this.btfError = btfError;
  }

  /** Reads an ELF object file and loads it (see {@link Collection.load}). */
  static loadFile(path: string, options: CollectionOptions = {}): Collection {
    return Collection.load(readCollectionSpec(new Uint8Array(readFileSync(path))), options);
  }

  /**
   * Loads a collection: BTF, then maps (created, replaced, or opened from their
   * pins and checked), initial map-in-map slots, programs, then program-array
   * slots. On failure everything loaded so far is closed and the error thrown
   * (`VerifierError` for a rejected program, `CoreRelocationError`, `BpfError`, `CollectionError`).
   */
  static load(spec: CollectionSpec, options: CollectionOptions = {}): Collection {
    const maps = new Map<string, BpfMap>();
    const owned: Array<{ close(): void }> = [];
    const programs = new Map<string, Program>();
    const errors = new Map<string, Error>();
    let btf: KernelBtf | undefined;
    let btfError: Error | undefined;
    const strings = new BtfStringTable();
    try {
      // BTF, with the line_info strings in its string table.
      if (spec.btf) {
        for (const p of spec.programs.values()) {
          for (const l of p.lineInfo) {
            strings.add(l.fileName);
            strings.add(l.line);
          }
        }
        try {
          btf = KernelBtf.load(spec.btf, strings);
          owned.push(btf);
        } catch (e) {
          if (options.requireBtf) throw e;
          btfError = e as Error;
        }
      }

      // Maps.
      const pinDir = options.pinPath ?? DEFAULT_BPFFS;
      for (const m of spec.maps.values()) {
        const replacement = options.replaceMaps?.[m.name];
        if (replacement) {
          checkCompatible(replacement, m, 'replacement');
          maps.set(m.name, replacement);
          continue;
        }
        const pinPath = m.pinning === PinType.BY_NAME ? join(pinDir, m.name) : undefined;
        if (pinPath && isPinned(pinPath)) {
          const pinned = BpfMap.openPinned(pinPath);
          owned.push(pinned);
          checkCompatible(pinned, m, `pinned at ${pinPath}`);
          maps.set(m.name, pinned);
          continue;
        }
        const map = createMap(m, btf);
        owned.push(map);
        maps.set(m.name, map);
        if (pinPath) map.pin(pinPath);
      }
      for (const m of spec.maps.values()) {
        for (const s of m.slots ?? []) {
          if (s.kind !== 'map') continue;
          const inner = maps.get(s.value);
          if (!inner) throw new CollectionError(`map ${m.name}: slot ${s.key} refers to unknown map ${s.value}`);
          maps.get(m.name)!.update(le(s.key, m.keySize), inner);
        }
      }

      // Programs.
      const wanted = options.programs ? new Set(options.programs) : undefined;
      for (const name of wanted ?? []) {
        if (!spec.programs.has(name)) throw new CollectionError(`no program named ${name}`);
      }
      const fds: Record<string, BpfMap> = Object.fromEntries(maps);
      for (const p of spec.programs.values()) {
        if (wanted && !wanted.has(p.name)) continue;
        try {
          const prog = loadProgram(withCoreRelocations(p, spec, options.targetBtf), fds, btf, strings, options.load);
          owned.push(prog);
          programs.set(p.name, prog);
        } catch (e) {
          if (!options.keepGoing) throw e;
          errors.set(p.name, e as Error);
        }
      }
      for (const m of spec.maps.values()) {
        for (const s of m.slots ?? []) {
          if (s.kind !== 'program') continue;
          const prog = programs.get(s.value);
          if (prog) maps.get(m.name)!.update(le(s.key, m.keySize), prog);
        }
      }
      return new Collection(spec, maps, programs, errors, btf, btfError);
    } catch (e) {
      for (const o of owned.reverse()) o.close();
      throw e;
    }
  }

  /** The map named `name`; throws `CollectionError` if there is none. */
  map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new CollectionError(`no map named ${name} (maps: ${[...this.maps.keys()].join(', ')})`);
    return m;
  }

  /** The program named `name`; throws `CollectionError` if there is none. */
  program(name: string): Program {
    const p = this.programs.get(name);
    if (!p) {
      const why = this.programErrors.get(name);
      throw new CollectionError(why ? `program ${name} failed to load: ${why.message}` : `no program named ${name} (programs: ${[...this.programs.keys()].join(', ')})`);
    }
    return p;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes every program, map and the BTF (pins stay); closing twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    this.btf?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function checkCompatible(map: BpfMap, m: CollectionMapSpec, what: string): void {
  const diffs: string[] = [];
  if (map.type !== m.type) diffs.push(`type ${map.type} != ${m.type}`);
  if (map.keySize !== m.keySize) diffs.push(`key size ${map.keySize} != ${m.keySize}`);
  if (map.valueSize !== m.valueSize) diffs.push(`value size ${map.valueSize} != ${m.valueSize}`);
  if (map.maxEntries !== m.maxEntries) diffs.push(`max entries ${map.maxEntries} != ${m.maxEntries}`);
  // BpfMap.create adds these flags itself; a pinned map carries them.
  let flags = m.flags;
  if (m.type === MapType.BPF_MAP_TYPE_LPM_TRIE) flags |= MapFlags.BPF_F_NO_PREALLOC;
  if (m.numaNode !== undefined) flags |= MapFlags.BPF_F_NUMA_NODE;
  if (map.flags !== flags) diffs.push(`flags ${map.flags} != ${flags}`);
  if (diffs.length) throw new CollectionError(`map ${m.name} (${what}) does not match its spec: ${diffs.join(', ')}`);
}

function createMap(m: CollectionMapSpec, btf: KernelBtf | undefined): BpfMap {
  const spec = kernelMapSpec(m);
  if (btf && m.btfValueTypeId) {
    const b: MapBtf = { fd: btf.fd, keyTypeId: m.btfKeyTypeId, valueTypeId: m.btfValueTypeId };
    try {
      return BpfMap.create(spec, { btf: b });
    } catch (e) {
      // As libbpf: a map the kernel will not describe with BTF is created without.
      if (!(e instanceof BpfError) || e.errno !== 22) throw e;
    }
  }
  return BpfMap.create(spec);
}

/**
 * Program `p` of `spec` with its CO-RE relocations applied against `targetBtf` (the running
 * kernel's by default); `p` itself when it has none. Throws `CoreRelocationError` when one
 * cannot be applied. `Collection.load` does this for every program; `tsbpf verify` too.
 */
export function withCoreRelocations(p: CollectionProgramSpec, spec: CollectionSpec, targetBtf?: Btf): CollectionProgramSpec {
  if (p.coreRelos.length === 0 || !spec.btf) return p;
  const insns = applyCoreRelocations(p.insns, p.coreRelos, spec.btf, targetBtf ?? vmlinuxBtf(), { program: p.name });
  return { ...p, insns };
}

function loadProgram(
  p: CollectionProgramSpec,
  maps: Record<string, BpfMap>,
  btf: KernelBtf | undefined,
  strings: BtfStringTable,
  load: LoadOptions | undefined,
): Program {
  for (const i of p.insns) {
    if (i.ref && (i.ref.kind === 'map' || i.ref.kind === 'map_value') && !maps[i.ref.name]) {
      throw new CollectionError(`program ${p.name} refers to unknown map ${i.ref.name}`);
    }
  }
  const withBtf = btf && p.funcInfo.length > 0;
  return Program.load(
    {
      type: p.type,
      insns: p.insns,
      name: p.name,
      license: p.license || 'GPL',
      expectedAttachType: p.expectedAttachType,
      flags: p.flags,
      kernVersion: p.kernelVersion,
      maps,
      ...(withBtf
        ? {
            btf: {
              fd: btf.fd,
              funcInfo: funcInfoRecords(p.funcInfo),
              ...(p.lineInfo.length > 0 ? { lineInfo: lineInfoRecords(p.lineInfo, strings) } : {}),
            },
          }
        : {}),
    },
    load,
  );
}
