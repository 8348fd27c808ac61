/**
 * Writes a {@link CollectionSpec} as a BPF ELF object in clang's layout, so
 * that libbpf (bpftool, iproute2) and tsbpf's own reader load it: each
 * program's entry function in its section (global FUNC symbol), subprograms
 * in `.text` reached through `R_BPF_64_32` call relocations, maps in `.maps`
 * (BTF-defined, with the `__uint`/`__type` struct libbpf parses) or `maps`
 * (legacy), global data in `.data`/`.rodata`/`.bss`, `license`, `.BTF` and
 * `.BTF.ext` (func_info and line_info).
 */
import {
  Btf,
  BtfBuilder,
  BtfStringTable,
  encodeBtf,
  encodeBtfExt,
  emptyBtfExt,
  type BtfExt,
  type BtfType,
} from '../btf/index.js';
import { CALL, CallSrc, encode, LDDW, PseudoSrc, type Insn } from '../isa/index.js';
import type { CollectionSpec, CollectionMapSpec, CollectionProgramSpec } from './collection-spec.js';
import { R_BPF, SHF, SHT, STB, STT } from './constants.js';
import { ElfError } from './error.js';
import { isDataSection } from './object-reader.js';
import { type ElfRelocationSpec, type ElfSectionSpec, type ElfSymbolSpec, writeElf } from './writer.js';
import { MapType } from '../uapi/map-types.js';

/** Options of {@link writeCollectionSpec}. */
export interface WriteCollectionOptions {
  /** Omit `.BTF`/`.BTF.ext` (only possible without BTF-defined maps). Default false. */
  noBtf?: boolean;
  /**
   * Map references to maps the spec does not define become relocations against
   * undefined symbols (as `llvm-mc` emits for hand-written assembly) instead of
   * an error. Default false.
   */
  externMaps?: boolean;
}

interface Piece {
  /** Function name. */
  name: string;
  /** The program it was taken from. */
  prog: CollectionProgramSpec;
  /** Index range in prog.insns. */
  from: number;
  to: number;
  /** Slot range in the program. */
  slotFrom: number;
  slotTo: number;
}

interface Placement {
  section: string;
  /** Slot of the function's start in its section. */
  slot: number;
}

const cloneType = (t: BtfType): BtfType => structuredClone(t);

/**
 * Writes the collection as a relocatable ELF object. Throws `ElfError` for specs
 * it cannot express (a program in `.text`, map-value loads of non-data maps,
 * calls into the middle of nowhere).
 */
export function writeCollectionSpec(spec: CollectionSpec, options: WriteCollectionOptions = {}): Uint8Array {
  const sections: ElfSectionSpec[] = [];
  const symbols: ElfSymbolSpec[] = [];
  const relocations: ElfRelocationSpec[] = [];
  const ext: BtfExt = emptyBtfExt();

  // ---- code layout -------------------------------------------------------
  const progSections = new Map<string, CollectionProgramSpec[]>();
  for (const p of spec.programs.values()) {
    if (p.section === '.text' || p.section === '') throw new ElfError(`program ${p.name}: cannot be written into section '${p.section}'`);
    if (!progSections.has(p.section)) progSections.set(p.section, []);
    progSections.get(p.section)!.push(p);
  }
  const pieces = new Map<CollectionProgramSpec, Piece[]>();
  for (const p of spec.programs.values()) pieces.set(p, splitFunctions(p));

  // Which piece goes where: entry functions into their section; subprograms into .text, one copy per name.
  const placement = new Map<Piece, Placement>();
  const sectionInsns = new Map<string, Insn[]>();
  const sectionSlots = new Map<string, number>();
  const textByName = new Map<string, { piece: Piece; slot: number; bytes: string }>();
  const addTo = (section: string, piece: Piece) => {
    const list = sectionInsns.get(section) ?? [];
    const slot = sectionSlots.get(section) ?? 0;
    sectionInsns.set(section, list);
    placement.set(piece, { section, slot });
    const insns = piece.prog.insns.slice(piece.from, piece.to).map((i) => ({ ...i }));
    list.push(...insns);
    sectionSlots.set(section, slot + (piece.slotTo - piece.slotFrom));
    return slot;
  };
  for (const [section, progs] of progSections) {
    for (const p of progs) {
      const main = pieces.get(p)![0]!;
      const slot = addTo(section, main);
      symbols.push({ name: p.name, section, type: STT.FUNC, bind: STB.GLOBAL, value: BigInt(slot * 8), size: BigInt((main.slotTo - main.slotFrom) * 8) });
    }
  }
  for (const p of spec.programs.values()) {
    for (const piece of pieces.get(p)!.slice(1)) {
      const key = shapeKey(piece);
      const known = textByName.get(piece.name);
      if (known && known.bytes === key) {
        placement.set(piece, { section: '.text', slot: known.slot });
        continue;
      }
      const name = known ? `${piece.name}__${p.name}` : piece.name;
      const slot = addTo('.text', piece);
      textByName.set(name, { piece, slot, bytes: key });
      symbols.push({ name, section: '.text', type: STT.FUNC, bind: STB.LOCAL, value: BigInt(slot * 8), size: BigInt((piece.slotTo - piece.slotFrom) * 8) });
    }
  }

  // ---- maps ----------------------------------------------------------------
  // Maps named in other maps' initial slots come first: libbpf creates maps in section order.
  const btfMaps = slotOrder([...spec.maps.values()].filter((m) => m.origin === 'btf'));
  const legacyMaps = [...spec.maps.values()].filter((m) => m.origin === 'legacy');
  const dataMaps = [...spec.maps.values()].filter((m) => m.origin === 'data');
  for (const m of dataMaps) {
    if (!isDataSection(m.name)) throw new ElfError(`global data map ${m.name} must be named after its section (.data, .rodata, .bss, ...)`);
  }

  // BTF: keep the spec's, or build one describing the maps.
  let btf: Btf | undefined;
  const mapDefType = new Map<string, number>();
  const wantBtf = !options.noBtf;
  if (!wantBtf && btfMaps.length > 0) throw new ElfError(`BTF-defined maps (${btfMaps[0]!.name}) cannot be written without BTF`);
  if (wantBtf || btfMaps.length > 0) {
    btf = new Btf((spec.btf?.types ?? []).map(cloneType));
    const existing = btf.types.find((t) => t.kind === 'DATASEC' && t.name === '.maps');
    const varType = (name: string) => {
      if (!existing || existing.kind !== 'DATASEC') return undefined;
      for (const v of existing.vars) {
        const t = btf!.type(v.type);
        if (t?.kind === 'VAR' && t.name === name) return t.type;
      }
      return undefined;
    };
    if (btfMaps.every((m) => varType(m.name) !== undefined)) {
      for (const m of btfMaps) mapDefType.set(m.name, varType(m.name)!);
    } else {
      if (existing) throw new ElfError("the spec's BTF has a '.maps' section that does not describe every map");
      const b = new BtfBuilder(btf);
      const defOf = (m: CollectionMapSpec, depth: number): number => {
        if (depth > 4) throw new ElfError(`map ${m.name}: inner maps nested too deeply`);
        return b.mapDefinition({
          type: m.type,
          maxEntries: m.maxEntries,
          flags: m.flags,
          ...(m.btfKeyTypeId ? { key: m.btfKeyTypeId } : { keySize: m.keySize }),
          ...(m.innerMap
            ? { innerMap: defOf(m.innerMap, depth + 1) }
            : m.btfValueTypeId
              ? { value: m.btfValueTypeId }
              : { valueSize: m.valueSize }),
          ...(m.pinning ? { pinning: m.pinning } : {}),
          ...(m.type === MapType.BPF_MAP_TYPE_PROG_ARRAY && m.slots?.length ? { programValues: true } : {}),
          ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
          ...(m.mapExtra !== undefined ? { mapExtra: Number(m.mapExtra) } : {}),
        });
      };
      const vars: Array<{ type: number; offset: number; size: number }> = [];
      for (const m of btfMaps) {
        const def = defOf(m, 0);
        mapDefType.set(m.name, def);
        vars.push({ type: b.variable(m.name, def), offset: 0, size: 0 });
      }
      if (btfMaps.length > 0) b.datasec('.maps', vars, 0);
    }
  }

  // .maps contents: one zeroed definition per map, plus the `values` slots of map-in-map.
  const mapSymbol = new Map<string, number>();
  if (btfMaps.length > 0) {
    let off = 0;
    const layout: Array<{ m: CollectionMapSpec; off: number; size: number }> = [];
    for (const m of btfMaps) {
      const def = btf!.get(btf!.skipModifiers(mapDefType.get(m.name)!));
      const defSize = def.kind === 'STRUCT' ? def.size : 0;
      const values = def.kind === 'STRUCT' ? def.members.find((x) => x.name === 'values') : undefined;
      const nslots = m.slots?.length ? Math.max(...m.slots.map((s) => s.key)) + 1 : 0;
      const size = Math.max(defSize, values ? values.bitOffset / 8 + nslots * 8 : 0);
      layout.push({ m, off, size });
      mapSymbol.set(m.name, symbols.length);
      symbols.push({ name: m.name, section: '.maps', type: STT.OBJECT, bind: STB.GLOBAL, value: BigInt(off), size: BigInt(size) });
      for (const s of m.slots ?? []) {
        if (!values) throw new ElfError(`map ${m.name}: initial slots need a 'values' member`);
        relocations.push({ section: '.maps', offset: off + values.bitOffset / 8 + s.key * 8, symbol: s.value, type: R_BPF.R_BPF_64_ABS64 });
      }
      off += Math.ceil(size / 8) * 8;
    }
    sections.push({ name: '.maps', flags: SHF.WRITE | SHF.ALLOC, data: new Uint8Array(off), addralign: 8 });
    // DATASEC offsets and sizes follow this layout.
    const ds = btf!.types.find((t) => t.kind === 'DATASEC' && t.name === '.maps');
    if (ds && ds.kind === 'DATASEC') {
      ds.size = off;
      for (const v of ds.vars) {
        const vt = btf!.type(v.type);
        const l = layout.find((x) => vt?.kind === 'VAR' && x.m.name === vt.name);
        if (l) {
          v.offset = l.off;
          v.size = l.size;
        }
      }
      ds.vars.sort((a, b) => a.offset - b.offset);
    }
  }
  if (legacyMaps.length > 0) {
    const data = new Uint8Array(legacyMaps.length * 20);
    const dv = new DataView(data.buffer);
    legacyMaps.forEach((m, i) => {
      [m.type, m.keySize, m.valueSize, m.maxEntries, m.flags].forEach((v, k) => dv.setUint32(i * 20 + k * 4, v >>> 0, true));
      mapSymbol.set(m.name, symbols.length);
      symbols.push({ name: m.name, section: 'maps', type: STT.OBJECT, bind: STB.GLOBAL, value: BigInt(i * 20), size: 20n });
    });
    sections.push({ name: 'maps', flags: SHF.WRITE | SHF.ALLOC, data, addralign: 4 });
  }
  const dataSymbol = new Map<string, number>();
  for (const m of dataMaps) {
    const bss = m.name.startsWith('.bss');
    const ro = m.name.startsWith('.rodata');
    const init = m.initialValue ?? new Uint8Array(m.valueSize);
    sections.push({
      name: m.name,
      type: bss ? SHT.NOBITS : SHT.PROGBITS,
      flags: ro ? SHF.ALLOC : SHF.ALLOC | SHF.WRITE,
      ...(bss ? { size: m.valueSize } : { data: init }),
      addralign: 8,
    });
    dataSymbol.set(m.name, symbols.length);
    symbols.push({ name: m.name, section: m.name, type: STT.SECTION, bind: STB.LOCAL });
    // Variables of its DATASEC, as symbols (clang's layout; the reader takes offsets from them).
    const ds = btf?.types.find((t) => t.kind === 'DATASEC' && t.name === m.name);
    if (ds && ds.kind === 'DATASEC') {
      ds.size = m.valueSize;
      for (const v of ds.vars) {
        const vt = btf!.type(v.type);
        if (vt?.kind === 'VAR') symbols.push({ name: vt.name, section: m.name, type: STT.OBJECT, bind: vt.linkage === 0 ? STB.LOCAL : STB.GLOBAL, value: BigInt(v.offset), size: BigInt(v.size) });
      }
    }
  }

  // ---- code sections, relocations, func/line info ---------------------------
  const textSym = sectionInsns.has('.text') ? symbols.length : -1;
  if (textSym >= 0) symbols.push({ name: '.text', section: '.text', type: STT.SECTION, bind: STB.LOCAL });
  const codeOrder = [...(sectionInsns.has('.text') ? ['.text'] : []), ...progSections.keys()];
  for (const p of spec.programs.values()) {
    for (const piece of pieces.get(p)!) {
      const place = placement.get(piece)!;
      if (place.section === '.text' && !isOwner(textByName, piece)) continue;
      const list = sectionInsns.get(place.section)!;
      // Index of this piece's first instruction in its section list.
      const baseIndex = indexOfSlot(list, place.slot);
      let slot = place.slot;
      for (let k = piece.from; k < piece.to; k++) {
        const orig = p.insns[k]!;
        const out = list[baseIndex + (k - piece.from)]!;
        const progSlot = piece.slotFrom + (slot - place.slot);
        if (orig.code === CALL && orig.src === CallSrc.LOCAL) {
          const target = progSlot + orig.imm + 1;
          const { piece: tp, offset } = pieceAt(pieces.get(p)!, target, p);
          if (tp.slotFrom === 0) throw new ElfError(`program ${p.name}: a call back into the entry function cannot be written`);
          const tplace = placement.get(tp)!;
          out.imm = tplace.slot + offset - 1;
          relocations.push({ section: place.section, offset: slot * 8, symbol: textSym, type: R_BPF.R_BPF_64_32 });
        } else if (orig.code === LDDW && orig.src === PseudoSrc.FUNC) {
          const target = progSlot + orig.imm + 1;
          const { piece: tp, offset } = pieceAt(pieces.get(p)!, target, p);
          if (tp.slotFrom === 0) throw new ElfError(`program ${p.name}: a function pointer to the entry function cannot be written`);
          const tplace = placement.get(tp)!;
          out.imm = (tplace.slot + offset) * 8;
          out.imm64 = BigInt(out.imm);
          relocations.push({ section: place.section, offset: slot * 8, symbol: textSym, type: R_BPF.R_BPF_64_64 });
        } else if (orig.code === LDDW && orig.ref?.kind === 'map') {
          let si = mapSymbol.get(orig.ref.name);
          if (si === undefined && options.externMaps) {
            si = symbols.length;
            mapSymbol.set(orig.ref.name, si);
            symbols.push({ name: orig.ref.name, bind: STB.GLOBAL, type: STT.NOTYPE });
          }
          if (si === undefined) throw new ElfError(`program ${p.name}: reference to unknown map ${orig.ref.name}`, { symbol: orig.ref.name });
          delete out.ref;
          out.src = 0;
          out.imm = 0;
          out.imm64 = 0n;
          relocations.push({ section: place.section, offset: slot * 8, symbol: si, type: R_BPF.R_BPF_64_64 });
        } else if (orig.code === LDDW && orig.ref?.kind === 'map_value') {
          const si = dataSymbol.get(orig.ref.name);
          if (si === undefined) throw new ElfError(`program ${p.name}: map-value load of ${orig.ref.name}, which is not a global data section`, { symbol: orig.ref.name });
          const offset = Number(BigInt.asUintN(64, orig.imm64 ?? 0n) >> 32n);
          delete out.ref;
          out.src = 0;
          out.imm = offset | 0;
          out.imm64 = BigInt(offset);
          relocations.push({ section: place.section, offset: slot * 8, symbol: si, type: R_BPF.R_BPF_64_64 });
        } else if (orig.ref) {
          throw new ElfError(`program ${p.name}: unresolved ${orig.ref.kind} reference ${orig.ref.name} cannot be written`, { symbol: orig.ref.name });
        }
        delete out.source;
        slot += orig.code === LDDW ? 2 : 1;
      }
      // func_info / line_info of this piece, in section byte offsets.
      const move = (insnOff: number) => (place.slot + (insnOff - piece.slotFrom)) * 8;
      const inPiece = (insnOff: number) => insnOff >= piece.slotFrom && insnOff < piece.slotTo;
      const fi = p.funcInfo.filter((r) => inPiece(r.insnOff)).map((r) => ({ ...r, insnOff: move(r.insnOff) }));
      const li = p.lineInfo.filter((r) => inPiece(r.insnOff)).map((r) => ({ ...r, insnOff: move(r.insnOff) }));
      const cr = p.coreRelos.filter((r) => inPiece(r.insnOff)).map((r) => ({ ...r, insnOff: move(r.insnOff) }));
      if (fi.length) ext.funcInfo.set(place.section, [...(ext.funcInfo.get(place.section) ?? []), ...fi]);
      if (li.length) ext.lineInfo.set(place.section, [...(ext.lineInfo.get(place.section) ?? []), ...li]);
      if (cr.length) ext.coreRelos.set(place.section, [...(ext.coreRelos.get(place.section) ?? []), ...cr]);
    }
  }
  const codeSections: ElfSectionSpec[] = codeOrder.map((name) => ({
    name,
    flags: SHF.ALLOC | SHF.EXECINSTR,
    data: encode(sectionInsns.get(name)!),
    addralign: 8,
  }));
  sections.unshift(...codeSections);

  // license, version
  const license = spec.license || [...spec.programs.values()].find((p) => p.license)?.license || '';
  if (license) {
    const data = new TextEncoder().encode(license + '\0');
    sections.push({ name: 'license', flags: SHF.WRITE | SHF.ALLOC, data, addralign: 1 });
    symbols.push({ name: '_license', section: 'license', type: STT.OBJECT, bind: STB.GLOBAL, value: 0n, size: BigInt(data.length) });
  }
  if (spec.kernelVersion) {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, spec.kernelVersion, true);
    sections.push({ name: 'version', flags: SHF.WRITE | SHF.ALLOC, data, addralign: 4 });
    symbols.push({ name: '_version', section: 'version', type: STT.OBJECT, bind: STB.GLOBAL, value: 0n, size: 4n });
  }

  if (btf && wantBtf) {
    for (const l of ext.funcInfo.values()) l.sort((a, b) => a.insnOff - b.insnOff);
    for (const l of ext.lineInfo.values()) l.sort((a, b) => a.insnOff - b.insnOff);
    btf.validate();
    const strings = new BtfStringTable();
    const hasExt = ext.funcInfo.size + ext.lineInfo.size + ext.coreRelos.size > 0;
    const extBytes = hasExt ? encodeBtfExt(ext, strings) : undefined;
    sections.push({ name: '.BTF', data: encodeBtf(btf, strings), addralign: 4 });
    if (extBytes) sections.push({ name: '.BTF.ext', data: extBytes, addralign: 4 });
  }

  return writeElf({ sections, symbols, relocations });
}

function isOwner(textByName: Map<string, { piece: Piece }>, piece: Piece): boolean {
  for (const v of textByName.values()) if (v.piece === piece) return true;
  return false;
}

/** Index in `list` of the instruction starting at `slot`. */
function indexOfSlot(list: Insn[], slot: number): number {
  let s = 0;
  for (let i = 0; i < list.length; i++) {
    if (s === slot) return i;
    s += list[i]!.code === LDDW ? 2 : 1;
  }
  if (s === slot) return list.length;
  throw new ElfError(`internal: no instruction at slot ${slot}`);
}

/** The function pieces of a linked program: its `functions`, or the entry plus every call target. */
function splitFunctions(p: CollectionProgramSpec): Piece[] {
  const slotOf: number[] = [];
  let s = 0;
  for (const i of p.insns) {
    slotOf.push(s);
    s += i.code === LDDW ? 2 : 1;
  }
  const total = s;
  const starts = new Map<number, string>();
  for (const f of p.functions ?? []) starts.set(f.slot, f.name);
  if (!starts.has(0)) starts.set(0, p.name);
  p.insns.forEach((i, k) => {
    const isCall = i.code === CALL && i.src === CallSrc.LOCAL;
    const isFunc = i.code === LDDW && i.src === PseudoSrc.FUNC;
    if (!isCall && !isFunc) return;
    const t = slotOf[k]! + i.imm + 1;
    if (t < 0 || t >= total) throw new ElfError(`program ${p.name}: call at instruction ${k} leaves the program (slot ${t})`);
    if (!starts.has(t)) starts.set(t, `${p.name}__sub${starts.size}`);
  });
  const sorted = [...starts.entries()].sort((a, b) => a[0] - b[0]);
  const indexOf = (slot: number) => {
    const k = slotOf.indexOf(slot);
    if (k < 0) throw new ElfError(`program ${p.name}: function start at slot ${slot} is inside an lddw`);
    return k;
  };
  return sorted.map(([slot, name], n) => {
    const next = n + 1 < sorted.length ? sorted[n + 1]![0] : total;
    return {
      name,
      prog: p,
      from: indexOf(slot),
      to: next === total ? p.insns.length : indexOf(next),
      slotFrom: slot,
      slotTo: next,
    };
  });
}

function pieceAt(pieces: Piece[], slot: number, p: CollectionProgramSpec): { piece: Piece; offset: number } {
  const piece = pieces.find((x) => slot >= x.slotFrom && slot < x.slotTo);
  if (!piece) throw new ElfError(`program ${p.name}: no function at slot ${slot}`);
  return { piece, offset: slot - piece.slotFrom };
}

/** A key identifying a subprogram's code, ignoring relative offsets of calls (which depend on placement). */
function shapeKey(piece: Piece): string {
  return piece.prog.insns
    .slice(piece.from, piece.to)
    .map((i) => {
      const local = (i.code === CALL && i.src === CallSrc.LOCAL) || (i.code === LDDW && i.src === PseudoSrc.FUNC);
      return `${i.code},${i.dst},${i.src},${i.off},${local ? '*' : i.imm},${local ? '' : (i.imm64 ?? '')},${i.ref ? `${i.ref.kind}:${i.ref.name}` : ''}`;
    })
    .join(';');
}

/** Stable order in which every map comes after the maps its `slots` name. */
function slotOrder(maps: CollectionMapSpec[]): CollectionMapSpec[] {
  const byName = new Map(maps.map((m) => [m.name, m]));
  const out: CollectionMapSpec[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (m: CollectionMapSpec) => {
    const st = state.get(m.name);
    if (st === 2) return;
    if (st === 1) throw new ElfError(`maps ${m.name}: initial slots refer to each other in a cycle`, { symbol: m.name });
    state.set(m.name, 1);
    for (const s of m.slots ?? []) {
      const dep = s.kind === 'map' ? byName.get(s.value) : undefined;
      if (dep) visit(dep);
    }
    state.set(m.name, 2);
    out.push(m);
  };
  maps.forEach(visit);
  return out;
}
