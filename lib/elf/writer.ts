/**
 * ELF64 writer: lays out a relocatable little-endian object from sections,
 * symbols and relocations. It builds the symbol table, one string table (for
 * section and symbol names, as LLVM does) and a `.rel<section>` table per
 * section with relocations; callers describe only their own sections.
 */
import { ElfError } from './error.js';
import { EHDR_SIZE, ELFCLASS64, ELFDATA2LSB, EM_BPF, ET_REL, REL_SIZE, SHDR_SIZE, SHF, SHN, SHT, STB, STT, SYM_SIZE } from './constants.js';

/** A section to write. */
export interface ElfSectionSpec {
  /** Section name. */
  name: string;
  /** `sh_type`; default `SHT_PROGBITS`. */
  type?: number;
  /** `sh_flags`; default 0. */
  flags?: bigint;
  /** Contents (ignored for `SHT_NOBITS`). */
  data?: Uint8Array;
  /** Size for `SHT_NOBITS` sections (others use `data.length`). */
  size?: number;
  /** `sh_addralign`; default 1 (8 for code). */
  addralign?: number;
  /** `sh_entsize`; default 0. */
  entsize?: number;
  /** `sh_link`, as a section name or a final index; default 0. */
  link?: string | number;
  /** `sh_info`, as a section name or a number; default 0. */
  info?: string | number;
}

/** A symbol to write. Local symbols are placed first, as ELF requires. */
export interface ElfSymbolSpec {
  /** Symbol name ('' for none). */
  name: string;
  /** Defining section (by name), a special index (`SHN_ABS`...), or undefined for an undefined symbol. */
  section?: string | number;
  /** `st_value`; default 0. */
  value?: bigint;
  /** `st_size`; default 0. */
  size?: bigint;
  /** Binding; default `STB_GLOBAL`. */
  bind?: number;
  /** Type; default `STT_NOTYPE`. */
  type?: number;
  /** Visibility; default `STV_DEFAULT`. */
  visibility?: number;
}

/** A relocation to write (as REL, in a `.rel<section>` section). */
export interface ElfRelocationSpec {
  /** Name of the section the relocation applies to. */
  section: string;
  /** Byte offset in that section. */
  offset: number;
  /** The symbol: its name (first symbol with that name) or its index in `symbols`. */
  symbol: string | number;
  /** Relocation type (`R_BPF_*`). */
  type: number;
}

/** Everything {@link writeElf} writes. */
export interface ElfWriteInput {
  /** `e_machine`; default `EM_BPF`. */
  machine?: number;
  /** `e_type`; default `ET_REL`. */
  type?: number;
  /** `e_flags`; default 0. */
  flags?: number;
  /** Sections, written in this order after the null section. */
  sections: ElfSectionSpec[];
  /** Symbols (the null symbol is added). */
  symbols?: ElfSymbolSpec[];
  /** Relocations, grouped by target section into REL sections. */
  relocations?: ElfRelocationSpec[];
}

const encoder = new TextEncoder();

class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private readonly offsets = new Map<string, number>();
  private size = 1;
  add(s: string): number {
    if (s === '') return 0;
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const b = encoder.encode(s);
    if (b.includes(0)) throw new ElfError(`name ${JSON.stringify(s)} contains a NUL byte`);
    const off = this.size;
    this.parts.push(b, new Uint8Array(1));
    this.size += b.length + 1;
    this.offsets.set(s, off);
    return off;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const align = (n: number, a: number) => (a > 1 ? Math.ceil(n / a) * a : n);

/**
 * Writes an ELF64 little-endian relocatable object. Adds the null section,
 * `.rel<name>` sections, `.symtab` and `.strtab` (which also holds section names).
 * Throws `ElfError` for references to unknown sections or symbols.
 */
export function writeElf(input: ElfWriteInput): Uint8Array {
  const strtab = new StringTable();
  const userSections = input.sections;
  const names = new Map<string, number>();
  userSections.forEach((s, i) => {
    if (!names.has(s.name)) names.set(s.name, i + 1);
  });
  const sectionIndex = (ref: string | number | undefined, what: string): number => {
    if (ref === undefined) return 0;
    if (typeof ref === 'number') return ref;
    const i = names.get(ref);
    if (i === undefined) throw new ElfError(`${what} refers to unknown section ${JSON.stringify(ref)}`);
    return i;
  };

  // Symbols: null, locals, then the rest; remember where each input symbol went.
  const inSyms = input.symbols ?? [];
  const order = [
    ...inSyms.map((s, i) => ({ s, i })).filter(({ s }) => (s.bind ?? STB.GLOBAL) === STB.LOCAL),
    ...inSyms.map((s, i) => ({ s, i })).filter(({ s }) => (s.bind ?? STB.GLOBAL) !== STB.LOCAL),
  ];
  const finalIndex = new Array<number>(inSyms.length);
  order.forEach(({ i }, k) => (finalIndex[i] = k + 1));
  const firstGlobal = 1 + order.filter(({ s }) => (s.bind ?? STB.GLOBAL) === STB.LOCAL).length;
  const byName = new Map<string, number>();
  inSyms.forEach((s, i) => {
    if (s.name !== '' && !byName.has(s.name)) byName.set(s.name, i);
  });

  // Relocation sections, one per target, in order of first appearance of targets in `sections`.
  const relsByTarget = new Map<number, ElfRelocationSpec[]>();
  for (const r of input.relocations ?? []) {
    const t = sectionIndex(r.section, 'relocation');
    if (!relsByTarget.has(t)) relsByTarget.set(t, []);
    relsByTarget.get(t)!.push(r);
  }
  const relTargets = [...relsByTarget.keys()].sort((a, b) => a - b);
  const nUser = userSections.length;
  const symtabIndex = 1 + nUser + relTargets.length;
  const strtabIndex = symtabIndex + 1;
  const shnum = strtabIndex + 1;

  interface Out {
    name: string;
    type: number;
    flags: bigint;
    data: Uint8Array;
    size: number;
    addralign: number;
    entsize: number;
    link: number;
    info: number;
  }
  const out: Out[] = [];
  for (const s of userSections) {
    const type = s.type ?? SHT.PROGBITS;
    const flags = s.flags ?? 0n;
    const data = type === SHT.NOBITS ? new Uint8Array(0) : (s.data ?? new Uint8Array(0));
    out.push({
      name: s.name,
      type,
      flags,
      data,
      size: type === SHT.NOBITS ? (s.size ?? s.data?.length ?? 0) : data.length,
      addralign: s.addralign ?? ((flags & SHF.EXECINSTR) !== 0n ? 8 : 1),
      entsize: s.entsize ?? 0,
      link: sectionIndex(s.link, `section ${s.name} link`),
      info: sectionIndex(s.info, `section ${s.name} info`),
    });
  }
  for (const t of relTargets) {
    const rels = relsByTarget.get(t)!;
    const data = new Uint8Array(rels.length * REL_SIZE);
    const dv = new DataView(data.buffer);
    rels.forEach((r, k) => {
      let si: number | undefined;
      if (typeof r.symbol === 'number') si = r.symbol;
      else si = byName.get(r.symbol);
      if (si === undefined || si < 0 || si >= inSyms.length) {
        throw new ElfError(`relocation in ${r.section} at ${r.offset} refers to unknown symbol ${JSON.stringify(r.symbol)}`, {
          symbol: String(r.symbol),
        });
      }
      dv.setBigUint64(k * REL_SIZE, BigInt(r.offset), true);
      dv.setBigUint64(k * REL_SIZE + 8, (BigInt(finalIndex[si]!) << 32n) | BigInt(r.type >>> 0), true);
    });
    out.push({
      name: '.rel' + userSections[t - 1]!.name,
      type: SHT.REL,
      flags: SHF.INFO_LINK,
      data,
      size: data.length,
      addralign: 8,
      entsize: REL_SIZE,
      link: symtabIndex,
      info: t,
    });
  }
  // Symbol table.
  const symData = new Uint8Array((1 + inSyms.length) * SYM_SIZE);
  const sv = new DataView(symData.buffer);
  order.forEach(({ s }, k) => {
    const o = (k + 1) * SYM_SIZE;
    const shndx = s.section === undefined ? SHN.UNDEF : sectionIndex(s.section, `symbol ${s.name}`);
    sv.setUint32(o, strtab.add(s.name), true);
    symData[o + 4] = (((s.bind ?? STB.GLOBAL) & 0xf) << 4) | ((s.type ?? STT.NOTYPE) & 0xf);
    symData[o + 5] = (s.visibility ?? 0) & 3;
    sv.setUint16(o + 6, shndx, true);
    sv.setBigUint64(o + 8, s.value ?? 0n, true);
    sv.setBigUint64(o + 16, s.size ?? 0n, true);
  });
  out.push({
    name: '.symtab',
    type: SHT.SYMTAB,
    flags: 0n,
    data: symData,
    size: symData.length,
    addralign: 8,
    entsize: SYM_SIZE,
    link: strtabIndex,
    info: firstGlobal,
  });
  // Section names go into the same table; add them before serialising it.
  const nameOffs = out.map((s) => strtab.add(s.name));
  const strtabNameOff = strtab.add('.strtab');
  const strData = strtab.bytes();
  out.push({ name: '.strtab', type: SHT.STRTAB, flags: 0n, data: strData, size: strData.length, addralign: 1, entsize: 0, link: 0, info: 0 });
  nameOffs.push(strtabNameOff);

  // Layout.
  let off = EHDR_SIZE;
  const offsets: number[] = [];
  for (const s of out) {
    off = align(off, Math.max(1, s.addralign));
    offsets.push(off);
    off += s.data.length;
  }
  const shoff = align(off, 8);
  const total = shoff + shnum * SHDR_SIZE;
  const file = new Uint8Array(total);
  const dv = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, ELFCLASS64, ELFDATA2LSB, 1, 0], 0);
  dv.setUint16(16, input.type ?? ET_REL, true);
  dv.setUint16(18, input.machine ?? EM_BPF, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, 0n, true);
  dv.setBigUint64(32, 0n, true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint32(48, input.flags ?? 0, true);
  dv.setUint16(52, EHDR_SIZE, true);
  dv.setUint16(54, 0, true);
  dv.setUint16(56, 0, true);
  dv.setUint16(58, SHDR_SIZE, true);
  dv.setUint16(60, shnum, true);
  dv.setUint16(62, strtabIndex, true);
  out.forEach((s, k) => {
    file.set(s.data, offsets[k]!);
    const h = shoff + (k + 1) * SHDR_SIZE;
    dv.setUint32(h, nameOffs[k]!, true);
    dv.setUint32(h + 4, s.type, true);
    dv.setBigUint64(h + 8, s.flags, true);
    dv.setBigUint64(h + 16, 0n, true);
    dv.setBigUint64(h + 24, BigInt(offsets[k]!), true);
    dv.setBigUint64(h + 32, BigInt(s.size), true);
    dv.setUint32(h + 40, s.link, true);
    dv.setUint32(h + 44, s.info, true);
    dv.setBigUint64(h + 48, BigInt(s.addralign), true);
    dv.setBigUint64(h + 56, BigInt(s.entsize), true);
  });
  return file;
}
