/**
 * Building collection specs from tsbpf's own programs (ISA instructions with
 * source positions, as the DSL emits them) and map descriptions: the bridge
 * from the DSL to the loader and to ELF objects. Generates the BTF that
 * makes verifier logs show TypeScript source lines (func_info + line_info)
 * and `bpftool map dump` print typed keys and values.
 */
import { readFileSync } from 'node:fs';
import { Btf, BtfBuilder, BtfLinkage, type FuncInfo, type LineInfo } from '../btf/index.js';
import { LDDW, type Insn } from '../isa/index.js';
import type { CollectionSpec, MapSlotInit, CollectionMapSpec, CollectionProgramSpec } from './collection-spec.js';
import { ElfError } from './error.js';
import { isDataSection } from './object-reader.js';
import { MapFlags, MapType } from '../uapi/index.js';
import { contextLayoutOf } from '../uapi/context.js';
import { sectionProgramType } from './section-names.js';

/** Returns the text of a source line (1-based), or undefined. */
export type SourceLineReader = (file: string, line: number) => string | undefined;

const fileCache = new Map<string, string[] | null>();

/** Reads source lines from files on disk (cached; missing files give undefined). */
export const readSourceLine: SourceLineReader = (file, line) => {
  let lines = fileCache.get(file);
  if (lines === undefined) {
    try {
      lines = readFileSync(file, 'utf8').split('\n');
    } catch {
      lines = null;
    }
    fileCache.set(file, lines);
  }
  return lines?.[line - 1];
};

/** A program for {@link programSpec}. */
export interface ProgramInput {
  /** Function name (also the kernel's program name, truncated to 15 characters). */
  name: string;
  /** libbpf section name: decides program type and expected attach type (`xdp`, `tc`, `cgroup/connect4`, ...). */
  section: string;
  /** Linked instructions (jumps and local calls resolved; map loads by name through `ref`). */
  insns: Insn[];
  /** Function starts (slot) and names, the entry first; default: one function at 0. */
  functions?: Array<{ name: string; slot: number }>;
  /** License; default 'GPL'. */
  license?: string;
  /** Override the program type from the section name. */
  type?: number;
  /** Override the expected attach type from the section name. */
  expectedAttachType?: number;
}

/** A map for {@link collectionSpec}: like `CollectionMapSpec`, with defaults and key/value types given as BTF ids of the builder. */
export interface MapInput {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  pinning?: number;
  innerMap?: MapInput;
  slots?: MapSlotInit[];
  /** BTF type id (in the builder passed to `collectionSpec`) of the key. */
  keyType?: number;
  /** BTF type id of the value. */
  valueType?: number;
  /**
   * Initial contents, for global data maps (named `.data`, `.rodata`, `.bss`, or
   * with a `.` suffix: single-element arrays reached with map-value loads;
   * `.rodata` is frozen after writing). Default zeros.
   */
  initialValue?: Uint8Array;
  numaNode?: number;
  mapExtra?: bigint;
}

/** Options of {@link collectionSpec}. */
export interface CollectionInput {
  programs: ProgramInput[];
  maps?: MapInput[];
  /** Builder holding key/value types; func_info types are added to it. Default: a fresh one. */
  btf?: BtfBuilder;
  /** License for the object; default 'GPL'. */
  license?: string;
  /** Generate func_info/line_info from instructions' source positions. Default true. */
  lineInfo?: boolean;
  /** Reads source line text for line_info; default reads the files. */
  sourceLine?: SourceLineReader;
}

/** Slot index of each instruction. */
function slotsOf(insns: readonly Insn[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const i of insns) {
    out.push(s);
    s += i.code === LDDW ? 2 : 1;
  }
  return out;
}

/**
 * func_info and line_info for a program from its instructions' source positions:
 * one FUNC per function, a line record wherever the source line changes and at every
 * function start (the kernel requires one there). The entry function is
 * `int name(struct <ctx> *ctx)` with the program type's context struct (`xdp_md`,
 * `__sk_buff`, `bpf_sock_addr`), as clang emits it, when `progType` has one; otherwise, and
 * for subprograms, `int name(void *ctx)` (the kernel's log flags that for an entry:
 * "arg#0 reference type('UNKNOWN ') size cannot be determined").
 */
export function programLineInfo(
  b: BtfBuilder,
  insns: readonly Insn[],
  functions: Array<{ name: string; slot: number }>,
  sourceLine: SourceLineReader = readSourceLine,
  progType?: number,
): { funcInfo: FuncInfo[]; lineInfo: LineInfo[] } {
  const int = b.int('int', 4, { signed: true });
  const proto = b.funcProto(int, [{ name: 'ctx', type: b.ptr(0) }]);
  const ctx = progType === undefined ? undefined : contextLayoutOf(progType);
  // An empty struct of the right name and size is all the kernel matches on (b.add deduplicates it).
  const entryProto = ctx ? b.funcProto(int, [{ name: 'ctx', type: b.ptr(b.struct(ctx.name, [], ctx.size)) }]) : proto;
  const funcInfo = functions.map((f, i) => ({
    insnOff: f.slot,
    // Deduplicated: a subprogram shared by several programs has one FUNC.
    typeId: b.add({ kind: 'FUNC', name: f.name, type: i === 0 ? entryProto : proto, linkage: i === 0 ? BtfLinkage.GLOBAL : BtfLinkage.STATIC }),
  }));
  const starts = new Set(functions.map((f) => f.slot));
  const lineInfo: LineInfo[] = [];
  const slots = slotsOf(insns);
  let last: string | undefined;
  let lastSrc: Insn['source'];
  insns.forEach((insn, k) => {
    const src = insn.source ?? lastSrc;
    const key = src ? `${src.file}:${src.line}:${src.column}` : '';
    const slot = slots[k]!;
    if (key !== last || starts.has(slot)) {
      if (src || starts.has(slot)) {
        lineInfo.push({
          insnOff: slot,
          fileName: src?.file ?? '',
          line: (src && sourceLine(src.file, src.line)?.trim()) ?? '',
          lineNumber: src?.line ?? 0,
          column: src?.column ?? 0,
        });
      }
      last = key;
    }
    if (insn.source) lastSrc = insn.source;
  });
  return { funcInfo, lineInfo };
}

/** A `CollectionProgramSpec` for a tsbpf program (no func/line info; see {@link collectionSpec}). */
export function programSpec(p: ProgramInput): CollectionProgramSpec {
  const st = sectionProgramType(p.section);
  if (!st && p.type === undefined) throw new ElfError(`program ${p.name}: section '${p.section}' names no program type; give one`);
  return {
    name: p.name,
    section: p.section,
    type: p.type ?? st!.progType,
    expectedAttachType: p.expectedAttachType ?? st?.expectedAttachType ?? 0,
    ...(st?.attachTo !== undefined ? { attachTo: st.attachTo } : {}),
    flags: st?.flags ?? 0,
    license: p.license ?? 'GPL',
    kernelVersion: 0,
    insns: p.insns,
    functions: p.functions ?? [{ name: p.name, slot: 0 }],
    funcInfo: [],
    lineInfo: [],
    coreRelos: [],
  };
}

function mapSpec(m: MapInput, b: BtfBuilder): CollectionMapSpec {
  if (isDataSection(m.name)) {
    const ro = m.name.startsWith('.rodata');
    return {
      name: m.name,
      type: MapType.BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: m.valueSize,
      maxEntries: 1,
      flags: ro ? MapFlags.BPF_F_RDONLY_PROG : 0,
      pinning: 0,
      initialValue: m.initialValue ?? new Uint8Array(m.valueSize),
      ...(ro ? { freeze: true } : {}),
      btfKeyTypeId: 0,
      btfValueTypeId: 0,
      origin: 'data',
    };
  }
  const check = (id: number | undefined, size: number, what: string) => {
    if (id === undefined) return 0;
    const actual = b.btf.sizeOf(id);
    if (actual !== size) throw new ElfError(`map ${m.name}: ${what} type is ${actual} bytes, ${what} size ${size}`, { symbol: m.name });
    return id;
  };
  return {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags ?? 0,
    pinning: m.pinning ?? 0,
    ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: mapSpec({ ...m.innerMap, name: `${m.name}.inner` }, b) } : {}),
    ...(m.slots ? { slots: m.slots } : {}),
    // A value type without a key type: describe the key as an unsigned integer (the kernel wants both).
    btfKeyTypeId: check(m.keyType ?? (m.valueType !== undefined && [1, 2, 4, 8].includes(m.keySize) ? b.uint(m.keySize as 1 | 2 | 4 | 8) : undefined), m.keySize, 'key'),
    btfValueTypeId: check(m.valueType, m.valueSize, 'value'),
    origin: 'btf',
  };
}

/**
 * A collection spec for tsbpf programs and maps: program types from section
 * names, func_info/line_info from source positions, BTF for typed maps.
 * Load it with lib/kernel's `Collection`, or write it with `writeCollectionSpec`.
 */
export function collectionSpec(input: CollectionInput): CollectionSpec {
  const b = input.btf ?? new BtfBuilder(new Btf());
  const license = input.license ?? 'GPL';
  const programs = new Map<string, CollectionProgramSpec>();
  for (const p of input.programs) {
    if (programs.has(p.name)) throw new ElfError(`two programs named ${p.name}`);
    const spec = programSpec({ license, ...p });
    if (input.lineInfo !== false) {
      const info = programLineInfo(b, spec.insns, spec.functions, input.sourceLine, spec.type);
      spec.funcInfo = info.funcInfo;
      spec.lineInfo = info.lineInfo;
    }
    programs.set(p.name, spec);
  }
  const maps = new Map<string, CollectionMapSpec>();
  for (const m of input.maps ?? []) {
    if (maps.has(m.name)) throw new ElfError(`two maps named ${m.name}`);
    maps.set(m.name, mapSpec(m, b));
  }
  return { maps, programs, license, kernelVersion: 0, btf: b.btf };
}
