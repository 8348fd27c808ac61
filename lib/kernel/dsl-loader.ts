/**
 * Loads DSL programs into the kernel: creates the maps the program declares
 * (from each `MapDef.spec`, with typed codecs from the same layouts), patches
 * the map references, and loads the program with its source map, so a
 * verifier rejection names the TypeScript line that produced the failing
 * instruction.
 */
import type { BuiltProgram, DslProgram } from '../dsl/program.js';
import type { MapDef } from '../dsl/maps.js';
import { BpfMap, TypedMap } from './map.js';
import { type LoadOptions, Program } from './program.js';
import type { Layout } from '../layout/index.js';

/** Options of {@link loadDslProgram}. */
export interface DslLoadOptions extends LoadOptions {
  /** Maps to use instead of creating them, by map name (shared between programs). */
  maps?: Readonly<Record<string, BpfMap>>;
}

/** A loaded DSL program with the maps it uses. */
export class LoadedDslProgram {
  constructor(
    readonly program: Program,
    /** Every map the program references, by name (created here or passed in). */
    readonly maps: ReadonlyMap<string, BpfMap>,
    private readonly owned: readonly BpfMap[],
    readonly built: BuiltProgram,
  ) {}

  /** The kernel map of a declaration. */
  map(def: MapDef | string): BpfMap {
    const name = typeof def === 'string' ? def : def.name;
    const m = this.maps.get(name);
    if (!m) throw new Error(`program ${this.built.name} has no map '${name}'`);
    return m;
  }

  /** The map of a declaration with its key and value codecs. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  typed<K extends Layout<any>, V extends Layout<any>>(def: MapDef<K, V>): TypedMap<import('../layout/index.js').Infer<K>, import('../layout/index.js').Infer<V>> {
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
export function createDslMap(def: MapDef): BpfMap {
  return BpfMap.create(def.spec);
}

/**
 * Builds (if needed) and loads a DSL program: creates its maps (unless given
 * in `options.maps`), patches their fds and runs BPF_PROG_LOAD. Throws the
 * kernel's `VerifierError`, with the TypeScript source of the failing instruction.
 */
export function loadDslProgram(prog: DslProgram<never> | DslProgram<unknown> | BuiltProgram, options: DslLoadOptions = {}): LoadedDslProgram {
  const built = 'insns' in prog ? prog : (prog as DslProgram<unknown>).build();
  const maps = new Map<string, BpfMap>();
  const owned: BpfMap[] = [];
  try {
    for (const def of built.maps) {
      const given = options.maps?.[def.name];
      if (given) maps.set(def.name, given);
      else {
        const m = createDslMap(def);
        owned.push(m);
        maps.set(def.name, m);
      }
    }
    const { maps: _ignored, ...load } = options;
    void _ignored;
    const program = Program.load({
      ...load,
      type: built.progType,
      name: built.name,
      insns: built.insns,
      license: built.license,
      ...(built.expectedAttachType !== undefined ? { expectedAttachType: built.expectedAttachType } : {}),
      maps: Object.fromEntries(maps),
    });
    return new LoadedDslProgram(program, maps, owned, built);
  } catch (e) {
    for (const m of owned) m.close();
    throw e;
  }
}
