/**
 * Reads a BPF ELF object (as clang emits it) into a {@link CollectionSpec},
 * following libbpf's conventions: programs are the global functions of
 * executable sections (several per section allowed), `.text` holds
 * subprograms, which are appended to every program that calls them;
 * BTF-defined maps in `.maps` (including map-in-map `values` and `pinning`),
 * legacy `maps`, global data (`.data`, `.rodata`, `.bss`, and their `.*`
 * variants) as single-element array maps reached through map-value loads.
 */
import { Btf, BtfStrings, decodeBtfDetailed, decodeBtfExt, emptyBtfExt, type BtfExt, type CoreRelo, type FuncInfo, type LineInfo } from '../btf/index.js';
import { CALL, CallSrc, decode, LDDW, PseudoSrc, type Insn } from '../isa/index.js';
import { MapFlags, MapType } from '../uapi/index.js';
import type { CollectionSpec, MapSlotInit, CollectionMapSpec, CollectionProgramSpec } from './collection-spec.js';
import { R_BPF, SHF, SHN, SHT, STB, STT } from './constants.js';
import { ElfError } from './error.js';
import { type ElfFile, type ElfRelocation, type ElfSection, type ElfSymbol, readElf } from './reader.js';
import { sectionProgramType } from './section-names.js';

/** Is this the name of a global data section (`.data`, `.rodata`, `.bss` or a `.`-suffixed variant)? */
export function isDataSection(name: string): boolean {
  return /^\.(data|rodata|bss)(\..*)?$/.test(name);
}

interface Func {
  name: string;
  section: ElfSection;
  /** First slot in the section. */
  start: number;
  /** One past the last slot. */
  end: number;
  global: boolean;
}

interface SectionCode {
  section: ElfSection;
  /** Instruction starting at each slot (undefined for the second slot of `lddw`). */
  slots: Array<Insn | undefined>;
  relocs: Map<number, ElfRelocation>;
  funcs: Func[];
}

const MAX_INNER_DEPTH = 4;
/** Largest global data section accepted (the kernel's map value limit is far below). */
const MAX_DATA_SECTION = 1 << 26;

/**
 * Reads a BPF object into a collection spec. Throws `ElfError` for malformed
 * ELF, unsupported relocations and relocations to unknown or undefined symbols
 * (naming the symbol), and `BtfError` for malformed `.BTF`/`.BTF.ext`.
 */
export function readCollectionSpec(input: Uint8Array | ElfFile): CollectionSpec {
  const elf = input instanceof Uint8Array ? readElf(input) : input;

  const licSec = elf.section('license');
  const license = licSec ? readLicense(licSec) : '';
  const verSec = elf.section('version');
  const kernelVersion =
    verSec && verSec.data.length >= 4 ? new DataView(verSec.data.buffer, verSec.data.byteOffset, 4).getUint32(0, true) : 0;

  // BTF and .BTF.ext.
  let btf: Btf | undefined;
  let ext: BtfExt = emptyBtfExt();
  const btfSec = elf.section('.BTF');
  if (btfSec) {
    const d = decodeBtfDetailed(btfSec.data);
    btf = d.btf;
    const extSec = elf.section('.BTF.ext');
    if (extSec) ext = decodeBtfExt(extSec.data, new BtfStrings(d.strings.bytes));
    fixupDatasecs(btf, elf);
  }

  const maps = new Map<string, CollectionMapSpec>();
  /** Map name for a symbol in a maps section, keyed by `sectionIndex:offset`. */
  const mapAt = new Map<string, string>();

  // Legacy `maps` section: struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }.
  const legacy = elf.section('maps');
  if (legacy) {
    const syms = elf.symbolsIn(legacy.index).filter((s) => s.type !== STT.NOTYPE || s.name !== '');
    if (syms.length > 0) {
      const defSize = Math.floor(legacy.size / syms.length);
      if (defSize < 20) throw new ElfError(`legacy maps section: definitions of ${defSize} bytes are too small`, { offset: legacy.offset });
      for (const s of syms) {
        const off = Number(s.value);
        if (off + 20 > legacy.data.length) throw new ElfError(`legacy map ${s.name} lies outside the maps section`, { offset: legacy.offset, symbol: s.name });
        const dv = new DataView(legacy.data.buffer, legacy.data.byteOffset + off, 20);
        const u = (i: number) => dv.getUint32(i * 4, true);
        maps.set(s.name, {
          name: s.name,
          type: u(0),
          keySize: u(1),
          valueSize: u(2),
          maxEntries: u(3),
          flags: u(4),
          pinning: 0,
          btfKeyTypeId: 0,
          btfValueTypeId: 0,
          origin: 'legacy',
        });
        mapAt.set(`${legacy.index}:${off}`, s.name);
      }
    }
  }

  // BTF-defined maps.
  const btfMaps = elf.section('.maps');
  if (btfMaps) {
    if (!btf) throw new ElfError("'.maps' section but no .BTF to describe it", { offset: btfMaps.offset });
    const ds = btf.types.find((t) => t.kind === 'DATASEC' && t.name === '.maps');
    const syms = new Map(elf.symbolsIn(btfMaps.index).map((s) => [s.name, s]));
    if (ds && ds.kind === 'DATASEC') {
      for (const v of ds.vars) {
        const vt = btf.get(v.type);
        if (vt.kind !== 'VAR') continue;
        const sym = syms.get(vt.name);
        if (!sym) throw new ElfError(`BTF map ${vt.name} has no symbol in .maps`, { symbol: vt.name });
        const spec = parseBtfMap(btf, vt.name, vt.type, 0);
        const off = Number(sym.value);
        spec.slots = mapSlots(elf, btf, btfMaps, sym, vt.type);
        maps.set(vt.name, spec);
        mapAt.set(`${btfMaps.index}:${off}`, vt.name);
      }
    }
  }

  // Global data.
  for (const s of elf.sections) {
    if (!isDataSection(s.name) || (s.flags & SHF.ALLOC) === 0n || s.size === 0) continue;
    if (s.type !== SHT.PROGBITS && s.type !== SHT.NOBITS) continue;
    if (s.size > MAX_DATA_SECTION) throw new ElfError(`global data section ${s.name} is too large (${s.size} bytes)`, { offset: s.offset });
    const ro = s.name.startsWith('.rodata');
    const dsId = btf?.find(s.name, 'DATASEC') ?? 0;
    maps.set(s.name, {
      name: s.name,
      type: MapType.BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags: ro ? MapFlags.BPF_F_RDONLY_PROG : 0,
      pinning: 0,
      initialValue: s.type === SHT.NOBITS ? new Uint8Array(s.size) : Uint8Array.from(s.data),
      ...(ro ? { freeze: true } : {}),
      btfKeyTypeId: 0,
      btfValueTypeId: dsId,
      origin: 'data',
    });
  }

  // Code.
  const code = new Map<number, SectionCode>();
  for (const s of elf.executableSections()) {
    if (s.size % 8 !== 0) throw new ElfError(`code section ${s.name} size ${s.size} is not a multiple of 8`, { offset: s.offset });
    let insns: Insn[];
    try {
      insns = decode(s.data, { lenient: true });
    } catch (e) {
      throw new ElfError(`code section ${s.name}: ${(e as Error).message}`, { offset: s.offset }, { cause: e });
    }
    const slots: Array<Insn | undefined> = new Array(s.size / 8);
    let k = 0;
    for (const i of insns) {
      slots[k] = i;
      k += i.code === LDDW ? 2 : 1;
    }
    const relocs = new Map<number, ElfRelocation>();
    for (const r of elf.relocationsFor(s.index)) relocs.set(r.offset, r);
    const nslots = s.size / 8;
    const fsyms = elf.symbolsIn(s.index).filter((x) => x.type === STT.FUNC);
    const funcs: Func[] = [];
    fsyms.forEach((f, i) => {
      if (Number(f.value) % 8 !== 0) throw new ElfError(`function ${f.name} is not 8-byte aligned`, { symbol: f.name });
      const start = Number(f.value) / 8;
      const next = i + 1 < fsyms.length ? Number(fsyms[i + 1]!.value) / 8 : nslots;
      const end = f.size > 0n ? Math.min(nslots, start + Math.ceil(Number(f.size) / 8)) : next;
      if (start >= nslots) throw new ElfError(`function ${f.name} starts beyond its section ${s.name}`, { symbol: f.name });
      funcs.push({ name: f.name, section: s, start, end, global: f.bind !== STB.LOCAL });
    });
    if (funcs.length === 0 && nslots > 0) {
      // Hand-written code without symbols: the whole section is one function.
      funcs.push({ name: s.name.replace(/[^A-Za-z0-9_]/g, '_'), section: s, start: 0, end: nslots, global: s.name !== '.text' });
    }
    code.set(s.index, { section: s, slots, relocs, funcs });
  }

  const programs = new Map<string, CollectionProgramSpec>();
  for (const sc of code.values()) {
    if (sc.section.name === '.text') continue;
    const st = sectionProgramType(sc.section.name);
    for (const f of sc.funcs) {
      if (!f.global) continue;
      const linked = linkProgram(elf, code, f, maps, mapAt, ext);
      programs.set(f.name, {
        name: f.name,
        section: sc.section.name,
        type: st?.progType ?? 0,
        expectedAttachType: st?.expectedAttachType ?? 0,
        ...(st?.attachTo !== undefined ? { attachTo: st.attachTo } : {}),
        flags: st?.flags ?? 0,
        license,
        kernelVersion,
        ...linked,
      });
    }
  }

  return { maps, programs, license, kernelVersion, ...(btf ? { btf } : {}) };
}

function readLicense(s: ElfSection): string {
  const end = s.data.indexOf(0);
  return new TextDecoder().decode(s.data.subarray(0, end < 0 ? s.data.length : end));
}

/** libbpf's BTF fix-ups: DATASEC sizes from the ELF section, variable offsets from symbols. */
function fixupDatasecs(btf: Btf, elf: ElfFile): void {
  for (const t of btf.types) {
    if (t.kind !== 'DATASEC') continue;
    const sec = elf.section(t.name);
    if (!sec) continue;
    t.size = sec.size;
    const syms = new Map(elf.symbolsIn(sec.index).map((s) => [s.name, s]));
    for (const v of t.vars) {
      const vt = btf.type(v.type);
      if (!vt || vt.kind !== 'VAR') continue;
      const sym = syms.get(vt.name);
      if (sym) v.offset = Number(sym.value);
    }
    t.vars.sort((a, b) => a.offset - b.offset);
  }
}

/** Reads `int (*name)[N]`: N. */
function uintField(btf: Btf, mapName: string, field: string, type: number): number {
  const p = btf.get(btf.skipModifiers(type));
  const a = p.kind === 'PTR' ? btf.type(btf.skipModifiers(p.type)) : undefined;
  if (!a || a.kind !== 'ARRAY') throw new ElfError(`map ${mapName}: field ${field} is not __uint(...)`, { symbol: mapName });
  return a.nelems;
}

function typeField(btf: Btf, mapName: string, field: string, type: number): number {
  const p = btf.get(btf.skipModifiers(type));
  if (p.kind !== 'PTR') throw new ElfError(`map ${mapName}: field ${field} is not __type(...)`, { symbol: mapName });
  return p.type;
}

/** Parses a BTF map definition struct (libbpf's `parse_btf_map_def`). */
function parseBtfMap(btf: Btf, name: string, type: number, depth: number): CollectionMapSpec {
  const def = btf.get(btf.skipModifiers(type));
  if (def.kind !== 'STRUCT') throw new ElfError(`map ${name}: definition is a ${def.kind}, not a struct`, { symbol: name });
  const spec: CollectionMapSpec = {
    name,
    type: 0,
    keySize: 0,
    valueSize: 0,
    maxEntries: 0,
    flags: 0,
    pinning: 0,
    btfKeyTypeId: 0,
    btfValueTypeId: 0,
    origin: 'btf',
  };
  for (const m of def.members) {
    switch (m.name) {
      case 'type':
        spec.type = uintField(btf, name, m.name, m.type);
        break;
      case 'max_entries':
        spec.maxEntries = uintField(btf, name, m.name, m.type);
        break;
      case 'map_flags':
        spec.flags = uintField(btf, name, m.name, m.type);
        break;
      case 'numa_node':
        spec.numaNode = uintField(btf, name, m.name, m.type);
        break;
      case 'map_extra':
        spec.mapExtra = BigInt(uintField(btf, name, m.name, m.type));
        break;
      case 'pinning':
        spec.pinning = uintField(btf, name, m.name, m.type);
        if (spec.pinning > 1) throw new ElfError(`map ${name}: unsupported pinning ${spec.pinning}`, { symbol: name });
        break;
      case 'key_size':
        spec.keySize = uintField(btf, name, m.name, m.type);
        break;
      case 'value_size':
        spec.valueSize = uintField(btf, name, m.name, m.type);
        break;
      case 'key': {
        const t = typeField(btf, name, m.name, m.type);
        spec.keySize = btf.sizeOf(t);
        spec.btfKeyTypeId = t;
        break;
      }
      case 'value': {
        const t = typeField(btf, name, m.name, m.type);
        spec.valueSize = btf.sizeOf(t);
        spec.btfValueTypeId = t;
        break;
      }
      case 'values': {
        const arr = btf.get(btf.skipModifiers(m.type));
        if (arr.kind !== 'ARRAY') throw new ElfError(`map ${name}: values is not an array`, { symbol: name });
        const p = btf.get(btf.skipModifiers(arr.type));
        if (p.kind !== 'PTR') throw new ElfError(`map ${name}: values is not an array of pointers`, { symbol: name });
        const inner = btf.get(btf.skipModifiers(p.type));
        if (inner.kind === 'FUNC_PROTO') {
          // Program array: `__array(values, int (void *))`.
          spec.keySize ||= 4;
          spec.valueSize = 4;
          break;
        }
        if (depth >= MAX_INNER_DEPTH) throw new ElfError(`map ${name}: inner maps nested too deeply`, { symbol: name });
        spec.innerMap = parseBtfMap(btf, `${name}.inner`, p.type, depth + 1);
        spec.keySize ||= 4;
        spec.valueSize = 4;
        break;
      }
      default:
      // Unknown fields are ignored, as libbpf does in non-strict mode.
    }
  }
  if (spec.type === 0) throw new ElfError(`map ${name}: no type`, { symbol: name });
  return spec;
}

/** Initial `values` of map-in-map and program arrays, from `.rel.maps`. */
function mapSlots(elf: ElfFile, btf: Btf, maps: ElfSection, sym: ElfSymbol, type: number): MapSlotInit[] | undefined {
  const def = btf.get(btf.skipModifiers(type));
  if (def.kind !== 'STRUCT') return undefined;
  const values = def.members.find((m) => m.name === 'values');
  if (!values) return undefined;
  const base = Number(sym.value) + values.bitOffset / 8;
  const end = Number(sym.value) + Math.max(def.size, sym.size > 0n ? Number(sym.size) : 0);
  const out: MapSlotInit[] = [];
  for (const r of elf.relocationsFor(maps.index)) {
    if (r.offset < base || r.offset >= end) continue;
    if ((r.offset - base) % 8 !== 0) throw new ElfError(`map ${sym.name}: misaligned values relocation`, { symbol: sym.name });
    const target = elf.symbolOf(r);
    if (target.shndx === SHN.UNDEF) throw new ElfError(`map ${sym.name}: values refers to undefined symbol ${target.name}`, { symbol: target.name });
    const kind = target.type === STT.FUNC ? 'program' : 'map';
    out.push({ key: (r.offset - base) / 8, value: target.name, kind });
  }
  return out.length > 0 ? out : undefined;
}

interface Fixup {
  outIndex: number;
  outSlot: number;
  target: Func;
  targetSlot: number;
}

function funcAt(code: Map<number, SectionCode>, sectionIndex: number, slot: number): Func | undefined {
  const sc = code.get(sectionIndex);
  return sc?.funcs.find((f) => slot >= f.start && slot < f.end);
}

/** Links one program: the entry function, then every function it reaches, appended in order of first reference. */
function linkProgram(
  elf: ElfFile,
  code: Map<number, SectionCode>,
  entry: Func,
  maps: Map<string, CollectionMapSpec>,
  mapAt: Map<string, string>,
  ext: BtfExt,
): Pick<CollectionProgramSpec, 'insns' | 'functions' | 'funcInfo' | 'lineInfo' | 'coreRelos'> {
  const insns: Insn[] = [];
  const functions: Array<{ name: string; slot: number }> = [];
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: CoreRelo[] = [];
  const placed = new Map<Func, number>();
  const fixups: Fixup[] = [];
  let slot = 0;

  const emit = (f: Func) => {
    const sc = code.get(f.section.index)!;
    const base = slot;
    placed.set(f, base);
    functions.push({ name: f.name, slot: base });
    const secName = f.section.name;
    const inRange = (off: number) => off % 8 === 0 && off / 8 >= f.start && off / 8 < f.end;
    const move = (off: number) => base + (off / 8 - f.start);
    for (const r of ext.funcInfo.get(secName) ?? []) if (inRange(r.insnOff)) funcInfo.push({ ...r, insnOff: move(r.insnOff) });
    for (const r of ext.lineInfo.get(secName) ?? []) if (inRange(r.insnOff)) lineInfo.push({ ...r, insnOff: move(r.insnOff) });
    for (const r of ext.coreRelos.get(secName) ?? []) if (inRange(r.insnOff)) coreRelos.push({ ...r, insnOff: move(r.insnOff) });

    for (let s = f.start; s < f.end; s++) {
      const orig = sc.slots[s];
      if (!orig) continue;
      if (orig.code === LDDW && s + 1 >= f.end) {
        throw new ElfError(`lddw at the end of function ${f.name} is truncated`, { offset: f.section.offset + s * 8 });
      }
      const insn: Insn = { ...orig };
      const outSlot = slot;
      const rel = sc.relocs.get(s * 8);
      if (insn.code === CALL && insn.src === CallSrc.LOCAL) {
        let tsec = f.section.index;
        let tslot = s + insn.imm + 1;
        if (rel) {
          const sym = symbolFor(elf, rel, f, s);
          if (rel.type !== R_BPF.R_BPF_64_32) throw new ElfError(`call in ${f.name} has relocation type ${rel.type}`, { symbol: sym.name, offset: f.section.offset + s * 8 });
          if (!code.has(sym.shndx)) throw new ElfError(`call in ${f.name} to ${sym.name}, which is not code`, { symbol: sym.name });
          tsec = sym.shndx;
          tslot = Number(sym.value) / 8 + insn.imm + 1;
        }
        const target = funcAt(code, tsec, tslot);
        if (!target) throw new ElfError(`call in ${f.name} (slot ${s}) to slot ${tslot} of ${elf.sections[tsec]!.name}, which is no function`, { offset: f.section.offset + s * 8 });
        fixups.push({ outIndex: insns.length, outSlot, target, targetSlot: tslot });
      } else if (insn.code === LDDW && rel) {
        const sym = symbolFor(elf, rel, f, s);
        if (rel.type !== R_BPF.R_BPF_64_64) throw new ElfError(`lddw in ${f.name} has relocation type ${rel.type}`, { symbol: sym.name, offset: f.section.offset + s * 8 });
        const sec = elf.sections[sym.shndx]!;
        if (sec.name === '.maps' || sec.name === 'maps') {
          const off = Number(sym.value) + (sym.type === STT.SECTION ? insn.imm : 0);
          const name = mapAt.get(`${sec.index}:${off}`);
          if (!name) throw new ElfError(`reference to unknown map ${sym.name} in ${f.name}`, { symbol: sym.name });
          insn.src = PseudoSrc.MAP_FD;
          insn.imm = 0;
          insn.imm64 = 0n;
          insn.ref = { kind: 'map', name };
        } else if (code.has(sec.index)) {
          // Address of a function (callbacks): BPF_PSEUDO_FUNC.
          const tslot = (Number(sym.value) + insn.imm) / 8;
          const target = funcAt(code, sec.index, tslot);
          if (!target || !Number.isInteger(tslot)) throw new ElfError(`function pointer in ${f.name} to ${sym.name}, which is no function`, { symbol: sym.name });
          insn.src = PseudoSrc.FUNC;
          fixups.push({ outIndex: insns.length, outSlot, target, targetSlot: tslot });
        } else if (maps.has(sec.name) && maps.get(sec.name)!.origin === 'data') {
          const off = Number(sym.value) + insn.imm;
          insn.src = PseudoSrc.MAP_VALUE;
          insn.imm = 0;
          insn.imm64 = BigInt(off >>> 0) << 32n;
          insn.ref = { kind: 'map_value', name: sec.name };
        } else {
          throw new ElfError(`lddw in ${f.name} refers to ${sym.name} in section ${sec.name}, which is neither a map nor global data`, { symbol: sym.name });
        }
      } else if (rel) {
        const sym = elf.symbols[rel.symbol];
        throw new ElfError(`unsupported relocation (type ${rel.type}) on instruction ${s} of ${f.name}`, { symbol: sym?.name ?? `#${rel.symbol}`, offset: f.section.offset + s * 8 });
      }
      insns.push(insn);
      slot += insn.code === LDDW ? 2 : 1;
    }
  };

  emit(entry);
  for (let i = 0; i < fixups.length; i++) {
    const fx = fixups[i]!;
    if (!placed.has(fx.target)) emit(fx.target);
  }
  for (const fx of fixups) {
    const at = placed.get(fx.target)! + (fx.targetSlot - fx.target.start);
    const insn = insns[fx.outIndex]!;
    const rel = at - fx.outSlot - 1;
    insn.imm = rel;
    if (insn.code === LDDW) insn.imm64 = BigInt(rel);
  }
  const bySlot = <T extends { insnOff: number }>(a: T, b: T) => a.insnOff - b.insnOff;
  funcInfo.sort(bySlot);
  lineInfo.sort(bySlot);
  coreRelos.sort(bySlot);
  // Source positions from line_info, so errors can name the C line of an instruction.
  let li = 0;
  let cur: LineInfo | undefined;
  let s = 0;
  for (const insn of insns) {
    while (li < lineInfo.length && lineInfo[li]!.insnOff <= s) cur = lineInfo[li++];
    if (cur && cur.fileName) insn.source = { file: cur.fileName, line: cur.lineNumber, column: cur.column };
    s += insn.code === LDDW ? 2 : 1;
  }
  return { insns, functions, funcInfo, lineInfo, coreRelos };
}

function symbolFor(elf: ElfFile, rel: ElfRelocation, f: Func, s: number): ElfSymbol {
  const sym = elf.symbols[rel.symbol];
  if (!sym) throw new ElfError(`relocation in ${f.name} (slot ${s}) refers to unknown symbol #${rel.symbol}`, { symbol: `#${rel.symbol}` });
  if (sym.shndx === SHN.UNDEF) {
    throw new ElfError(`relocation in ${f.name} (slot ${s}) refers to undefined symbol ${sym.name} (externs are not supported)`, { symbol: sym.name });
  }
  if (sym.shndx >= elf.sections.length) throw new ElfError(`symbol ${sym.name} is in no section`, { symbol: sym.name });
  return sym;
}

