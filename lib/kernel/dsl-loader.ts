/**
 * Loads DSL programs into the kernel: creates the maps the program declares
 * (from each `MapDef.spec`, typed with BTF generated from the same layouts, so
 * `bpftool map dump` prints field names), patches the map references, and
 * loads the program with BTF func_info and line_info pointing at the
 * TypeScript source, so the kernel's verifier log shows the TypeScript lines
 * and a `VerifierError` names the line that produced the failing instruction.
 * `loadDslCollection` loads several programs, sharing maps by name, as one
 * lib/kernel `Collection`.
 */
import { BtfStringTable, funcInfoRecords, lineInfoRecords } from '../btf/index.js';
import type { BuiltProgram, DslProgram } from '../dsl/program.js';
import type { MapDef } from '../dsl/maps.js';
import { builtProgram, checkProgramSlots, dslCollectionSpec, type DslProgramLike, type DslSpecOptions } from '../dsl/object.js';
import type { CollectionMapSpec, CollectionSpec } from '../elf/index.js';
import type { AnyLayout, Infer } from '../layout/index.js';
import { KernelBtf } from './btf.js';
import { Collection, CollectionError, type CollectionOptions } from './collection.js';
import { BpfError } from './errors.js';
import { BpfMap, TypedMap } from './map.js';
import { type LoadOptions, Program, type ProgramBtf } from './program.js';


/** Options of {@link loadDslProgram}. */
export interface DslLoadOptions extends LoadOptions {
  /** Maps to use instead of creating them, by map name (shared between programs). */
  maps?: Readonly<Record<string, BpfMap>>;
  /**
   * Load with BTF (kernel 5.0 for func_info/line_info): the verifier log shows
   * TypeScript source lines, and created maps get typed keys and values.
   * Default true; when the kernel rejects the BTF the program loads without it
   * (see `LoadedDslProgram.btfError`).
   */
  btf?: boolean;
}

/** A loaded DSL program with the maps it uses. */
export class LoadedDslProgram {
  constructor(
    readonly program: Program,
    /** Every map the program references, by name (created here or passed in). */
    readonly maps: ReadonlyMap<string, BpfMap>,
    private readonly owned: readonly BpfMap[],
    readonly built: BuiltProgram,
    /** Why the program was loaded without BTF, when the kernel rejected it. */
    readonly btfError?: Error,
  ) {}

  /** The kernel map of a declaration. */
  map(def: MapDef | string): BpfMap {
    const name = typeof def === 'string' ? def : def.name;
    const m = this.maps.get(name);
    if (!m) throw new CollectionError(`program ${this.built.name} has no map '${name}'`);
    return m;
  }

  /** The map of a declaration with its key and value codecs. */
  typed<K extends AnyLayout, V extends AnyLayout>(def: MapDef<K, V>): TypedMap<Infer<K>, Infer<V>> {
    return new TypedMap(this.map(def), def.key, def.value);
  }

  /** Closes the program and the maps created for it. */
  close(): void {
    this.program.close();
    for (const m of this.owned) m.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Creates the kernel map of a declaration (map-in-map declarations get their inner template). */
export function createDslMap(def: MapDef, btf?: { fd: number; spec: CollectionMapSpec | undefined }): BpfMap {
  const s = btf?.spec;
  if (btf && s && s.btfValueTypeId) {
    try {
      return BpfMap.create(def.spec, { btf: { fd: btf.fd, keyTypeId: s.btfKeyTypeId, valueTypeId: s.btfValueTypeId } });
    } catch (e) {
      // As libbpf: a map the kernel will not describe with BTF is created without.
      if (!(e instanceof BpfError) || (e.errno !== 22 /* EINVAL */ && e.errno !== 524) /* ENOTSUPP */) throw e;
    }
  }
  return BpfMap.create(def.spec);
}

/** One-program specs by built program (a program loaded again reuses its BTF and line info). */
const specs = new WeakMap<BuiltProgram, CollectionSpec>();

function programSpecOf(built: BuiltProgram): CollectionSpec {
  let spec = specs.get(built);
  if (!spec) {
    spec = dslCollectionSpec([built]);
    specs.set(built, spec);
  }
  return spec;
}

/** The program's BTF loaded into the kernel, with its func_info/line_info records; undefined and the error when rejected. */
function loadProgramBtf(spec: CollectionSpec, name: string): { btf?: KernelBtf; prog?: ProgramBtf; error?: Error } {
  const p = spec.programs.get(name)!;
  if (!spec.btf || p.funcInfo.length === 0) return {};
  const strings = new BtfStringTable();
  for (const l of p.lineInfo) {
    strings.add(l.fileName);
    strings.add(l.line);
  }
  let btf: KernelBtf;
  try {
    btf = KernelBtf.load(spec.btf, strings);
  } catch (e) {
    return { error: e as Error };
  }
  return {
    btf,
    prog: {
      fd: btf.fd,
      funcInfo: funcInfoRecords(p.funcInfo),
      ...(p.lineInfo.length > 0 ? { lineInfo: lineInfoRecords(p.lineInfo, strings) } : {}),
    },
  };
}

/**
 * Builds (if needed) and loads a DSL program: creates its maps (unless given
 * in `options.maps`), patches their fds and runs BPF_PROG_LOAD with BTF
 * func_info/line_info (unless `btf: false`). Throws the kernel's
 * `VerifierError`, with the TypeScript source of the failing instruction; its
 * log shows the TypeScript source lines.
 */
export function loadDslProgram(prog: DslProgram<never> | DslProgram<unknown> | BuiltProgram, options: DslLoadOptions = {}): LoadedDslProgram {
  const built = 'insns' in prog ? prog : (prog as DslProgram<unknown>).build();
  const maps = new Map<string, BpfMap>();
  const owned: BpfMap[] = [];
  const { maps: given, btf: wantBtf, ...load } = options;
  let kbtf: ReturnType<typeof loadProgramBtf> = {};
  let spec: CollectionSpec | undefined;
  try {
    if (wantBtf !== false) {
      spec = programSpecOf(built);
      kbtf = loadProgramBtf(spec, built.name);
    }
    for (const def of built.maps) {
      const m = given?.[def.name];
      if (m) maps.set(def.name, m);
      else {
        const created = createDslMap(def, kbtf.btf ? { fd: kbtf.btf.fd, spec: spec?.maps.get(def.name) } : undefined);
        owned.push(created);
        maps.set(def.name, created);
      }
    }
    const program = Program.load({
      ...load,
      type: built.progType,
      name: built.name,
      insns: built.insns,
      license: built.license,
      ...(built.expectedAttachType !== undefined ? { expectedAttachType: built.expectedAttachType } : {}),
      ...(kbtf.prog ? { btf: kbtf.prog } : {}),
      maps: Object.fromEntries(maps),
    });
    return new LoadedDslProgram(program, maps, owned, built, kbtf.error);
  } catch (e) {
    for (const m of owned) m.close();
    throw e;
  } finally {
    // Maps and the program hold their own references to the BTF object.
    kbtf.btf?.close();
  }
}

/** Options of {@link loadDslCollection}. */
export interface DslCollectionOptions extends CollectionOptions, DslSpecOptions {}

/** DSL programs loaded together as a {@link Collection}, with handles by declaration. */
export class LoadedDslCollection {
  constructor(
    /** The loaded collection (maps and programs by name). */
    readonly collection: Collection,
    /** The built programs, in the order given. */
    readonly built: readonly BuiltProgram[],
  ) {}

  /** The spec it was loaded from. */
  get spec(): CollectionSpec {
    return this.collection.spec;
  }

  /** The kernel program of a DSL program (or of a program name). */
  program(p: DslProgramLike | string): Program {
    return this.collection.program(typeof p === 'string' ? p : p.name);
  }

  /** The kernel map of a declaration (or of a map name). */
  map(def: MapDef | string): BpfMap {
    return this.collection.map(typeof def === 'string' ? def : def.name);
  }

  /** The map of a declaration with its key and value codecs. */
  typed<K extends AnyLayout, V extends AnyLayout>(def: MapDef<K, V>): TypedMap<Infer<K>, Infer<V>> {
    return new TypedMap(this.map(def), def.key, def.value);
  }

  /** Closes every program, map and the BTF (pins stay); closing twice is harmless. */
  close(): void {
    this.collection.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Loads DSL programs as one collection (`Collection.load` of
 * `dslCollectionSpec(programs)`): maps shared by name and created once (typed
 * with BTF; pinned by name when declared `pinning: 'byName'`, under
 * `options.pinPath`), programs loaded with func_info/line_info at the TypeScript source.
 */
export function loadDslCollection(programs: readonly DslProgramLike[], options: DslCollectionOptions = {}): LoadedDslCollection {
  const { license, lineInfo, sourceLine, noPins, verify, ...load } = options;
  const built = programs.map((p) => builtProgram(p, verify));
  const spec = dslCollectionSpec(built, {
    ...(license !== undefined ? { license } : {}),
    ...(lineInfo !== undefined ? { lineInfo } : {}),
    ...(sourceLine ? { sourceLine } : {}),
    ...(noPins !== undefined ? { noPins } : {}),
  });
  checkProgramSlots(spec);
  return new LoadedDslCollection(Collection.load(spec, load), built);
}
