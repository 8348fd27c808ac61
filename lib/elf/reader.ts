/**
 * ELF64 reader: header, section headers and names, symbols, relocations and
 * string tables of a relocatable object, checked as it goes. Every malformed
 * input raises an `ElfError` naming the offset; nothing is read out of bounds.
 */
import { ElfError } from './error.js';
import {
  EHDR_SIZE,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  EM_BPF,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHN,
  SHT,
  SHF,
  STT,
  SYM_SIZE,
} from './constants.js';

/** The ELF64 file header (fields named as in `Elf64_Ehdr`, without the `e_` prefix). */
export interface ElfHeader {
  /** `EI_CLASS` (2 for 64-bit). */
  class: number;
  /** `EI_DATA` (1 little-endian). */
  data: number;
  /** `EI_OSABI`. */
  osabi: number;
  /** `e_type` (1 for relocatable objects). */
  type: number;
  /** `e_machine` (247 for BPF). */
  machine: number;
  /** `e_version`. */
  version: number;
  /** `e_entry`. */
  entry: bigint;
  /** `e_flags`. */
  flags: number;
  /** `e_shstrndx`, resolved through section 0 when it is `SHN_XINDEX`. */
  shstrndx: number;
}

/** One section: its header fields and its bytes (`data` is empty for `SHT_NOBITS`). */
export interface ElfSection {
  /** Index in the section header table. */
  index: number;
  /** Name from the section name string table. */
  name: string;
  /** `sh_type`. */
  type: number;
  /** `sh_flags`. */
  flags: bigint;
  /** `sh_addr`. */
  addr: bigint;
  /** `sh_offset` in the file. */
  offset: number;
  /** `sh_size` (for `SHT_NOBITS`, the size the section occupies in memory). */
  size: number;
  /** `sh_link`. */
  link: number;
  /** `sh_info`. */
  info: number;
  /** `sh_addralign`. */
  addralign: number;
  /** `sh_entsize`. */
  entsize: number;
  /** The section's contents (a view into the file's bytes; zero-length for `SHT_NOBITS`). */
  data: Uint8Array;
}

/** One symbol of the symbol table. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  index: number;
  /** Name from the symbol string table (for `STT_SECTION` symbols without a name, the section's name). */
  name: string;
  /** `st_value` (offset in its section for relocatable objects). */
  value: bigint;
  /** `st_size`. */
  size: bigint;
  /** Binding: `STB_LOCAL`, `STB_GLOBAL`, `STB_WEAK`. */
  bind: number;
  /** Type: `STT_NOTYPE`, `STT_OBJECT`, `STT_FUNC`, `STT_SECTION`, `STT_FILE`. */
  type: number;
  /** Visibility (`st_other & 3`). */
  visibility: number;
  /** Section index (`st_shndx`, or from `SHT_SYMTAB_SHNDX` for extended indexes). */
  shndx: number;
}

/** One relocation entry (REL or RELA). */
export interface ElfRelocation {
  /** Offset in the target section. */
  offset: number;
  /** Symbol table index. */
  symbol: number;
  /** Relocation type (`R_BPF_*`). */
  type: number;
  /** Explicit addend (RELA only; 0 for REL). */
  addend: bigint;
}

/** A relocation section resolved to the section it applies to. */
export interface ElfRelocationSection {
  /** The relocation section itself. */
  section: ElfSection;
  /** Index of the section the relocations apply to (`sh_info`). */
  target: number;
  /** The entries, in file order. */
  relocations: ElfRelocation[];
}

/** Options of {@link readElf}. */
export interface ReadElfOptions {
  /** Required `e_machine`; `'any'` accepts every machine. Default `EM_BPF` (247). */
  machine?: number | 'any';
}

/** A parsed ELF64 object. Build with {@link readElf}. */
export class ElfFile {
  /** The raw file. */
  readonly bytes: Uint8Array;
  /** The file header. */
  readonly header: ElfHeader;
  /** All sections, indexed by section header index (section 0 is the null section). */
  readonly sections: ElfSection[];
  /** All symbols, indexed by symbol table index (symbol 0 is the null symbol); empty without a symbol table. */
  readonly symbols: ElfSymbol[];
  /** Relocation sections, by the index of the section they apply to. */
  readonly relocations: Map<number, ElfRelocationSection>;

  /** @internal */
  constructor(
    bytes: Uint8Array,
    header: ElfHeader,
    sections: ElfSection[],
    symbols: ElfSymbol[],
    relocations: Map<number, ElfRelocationSection>,
  ) {
    this.bytes = bytes;
    this.header = header;
    this.sections = sections;
    this.symbols = symbols;
    this.relocations = relocations;
  }

  /** The first section with this name, or undefined. */
  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name && s.index !== 0);
  }

  /** The relocations that apply to a section (by index), in file order; empty if none. */
  relocationsFor(sectionIndex: number): ElfRelocation[] {
    return this.relocations.get(sectionIndex)?.relocations ?? [];
  }

  /** Symbols defined in a section (by index), sorted by value, excluding section and file symbols. */
  symbolsIn(sectionIndex: number): ElfSymbol[] {
    return this.symbols
      .filter((s) => s.index !== 0 && s.shndx === sectionIndex && s.type !== STT.SECTION && s.type !== STT.FILE)
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.index - b.index));
  }

  /** Sections holding code: `SHT_PROGBITS` with `SHF_EXECINSTR`, in file order. */
  executableSections(): ElfSection[] {
    return this.sections.filter((s) => s.type === SHT.PROGBITS && (s.flags & SHF.EXECINSTR) !== 0n);
  }

  /** The symbol a relocation refers to; throws `ElfError` if the index is out of range. */
  symbolOf(rel: ElfRelocation): ElfSymbol {
    const sym = this.symbols[rel.symbol];
    if (!sym) throw new ElfError(`relocation refers to unknown symbol #${rel.symbol}`, { symbol: `#${rel.symbol}` });
    return sym;
  }
}

/** Reads a NUL-terminated string at `off` in `table`; throws `ElfError` if it is out of range or unterminated. */
export function readCString(table: Uint8Array, off: number, fileOffset = 0, what = 'string'): string {
  if (off < 0 || off >= table.length) {
    if (off === 0 && table.length === 0) return '';
    throw new ElfError(`${what} offset ${off} outside string table of ${table.length} bytes`, { offset: fileOffset });
  }
  let end = off;
  while (end < table.length && table[end] !== 0) end++;
  if (end >= table.length) throw new ElfError(`${what} at ${off} is not NUL-terminated`, { offset: fileOffset + off });
  return decoder.decode(table.subarray(off, end));
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function toSafe(v: bigint, what: string, at: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} ${v} is too large`, { offset: at });
  return Number(v);
}

/**
 * Parses an ELF64 little-endian object (by default only `EM_BPF`).
 * Throws `ElfError` (with the offending file offset) on truncated or corrupt input,
 * a wrong class, byte order or machine, bad section or symbol indexes.
 */
export function readElf(input: Uint8Array, options: ReadElfOptions = {}): ElfFile {
  const bytes = input;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16) throw new ElfError(`file too short for an ELF header (${bytes.length} bytes)`, { offset: 0 });
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new ElfError('not an ELF file (bad magic)', { offset: 0 });
  }
  if (bytes[4] !== ELFCLASS64) throw new ElfError(`unsupported ELF class ${bytes[4]} (only ELFCLASS64)`, { offset: 4 });
  if (bytes[5] === ELFDATA2MSB) throw new ElfError('big-endian ELF objects are not supported', { offset: 5 });
  if (bytes[5] !== ELFDATA2LSB) throw new ElfError(`bad ELF data encoding ${bytes[5]}`, { offset: 5 });
  if (bytes.length < EHDR_SIZE) throw new ElfError(`file too short for an ELF64 header (${bytes.length} bytes)`, { offset: 0 });

  const u16 = (o: number) => view.getUint16(o, true);
  const u32 = (o: number) => view.getUint32(o, true);
  const u64 = (o: number) => view.getBigUint64(o, true);

  const machine = u16(18);
  const want = options.machine ?? EM_BPF;
  if (want !== 'any' && machine !== want) {
    throw new ElfError(`wrong machine ${machine} (expected ${want}${want === EM_BPF ? ', EM_BPF' : ''})`, { offset: 18 });
  }
  const shoff = toSafe(u64(40), 'section header offset', 40);
  const shentsize = u16(58);
  let shnum = u16(60);
  let shstrndx = u16(62);
  const header: ElfHeader = {
    class: bytes[4]!,
    data: bytes[5]!,
    osabi: bytes[7]!,
    type: u16(16),
    machine,
    version: u32(20),
    entry: u64(24),
    flags: u32(48),
    shstrndx,
  };
  if (shoff === 0) {
    // No section headers at all: a legal (if useless) object.
    return new ElfFile(bytes, header, [], [], new Map());
  }
  if (shentsize !== SHDR_SIZE) throw new ElfError(`bad section header size ${shentsize} (expected ${SHDR_SIZE})`, { offset: 58 });
  const shdrAt = (i: number) => shoff + i * SHDR_SIZE;
  const checkShdr = (i: number) => {
    if (shdrAt(i) + SHDR_SIZE > bytes.length) {
      throw new ElfError(`section header ${i} lies beyond the end of the file (${bytes.length} bytes)`, { offset: shdrAt(i) });
    }
  };
  if (shnum === 0 || shstrndx === SHN.XINDEX) {
    // Extended numbering: the real values live in section 0.
    checkShdr(0);
    if (shnum === 0) shnum = toSafe(u64(shdrAt(0) + 32), 'section count', shdrAt(0) + 32);
    if (shstrndx === SHN.XINDEX) shstrndx = u32(shdrAt(0) + 40);
    header.shstrndx = shstrndx;
  }
  if (shnum > 0) checkShdr(shnum - 1);
  if (shnum * SHDR_SIZE > bytes.length) throw new ElfError(`section count ${shnum} exceeds the file`, { offset: 60 });

  // Section headers.
  const raw: Array<Omit<ElfSection, 'name'> & { nameOff: number }> = [];
  for (let i = 0; i < shnum; i++) {
    const at = shdrAt(i);
    const type = u32(at + 4);
    const offset = toSafe(u64(at + 24), `section ${i} offset`, at + 24);
    const size = toSafe(u64(at + 32), `section ${i} size`, at + 32);
    const hasData = i !== 0 && type !== SHT.NOBITS && type !== SHT.NULL;
    if (hasData && offset + size > bytes.length) {
      throw new ElfError(`section ${i} (offset ${offset}, size ${size}) extends past the end of the file (${bytes.length} bytes)`, {
        offset: at + 24,
      });
    }
    raw.push({
      index: i,
      nameOff: u32(at),
      type,
      flags: u64(at + 8),
      addr: u64(at + 16),
      offset,
      size,
      link: u32(at + 40),
      info: u32(at + 44),
      addralign: toSafe(u64(at + 48), `section ${i} alignment`, at + 48),
      entsize: toSafe(u64(at + 56), `section ${i} entry size`, at + 56),
      data: hasData ? bytes.subarray(offset, offset + size) : new Uint8Array(0),
    });
  }
  if (shstrndx >= shnum) throw new ElfError(`section name table index ${shstrndx} out of range (${shnum} sections)`, { offset: 62 });
  const shstr = raw[shstrndx]!;
  if (shstrndx !== 0 && shstr.type !== SHT.STRTAB) {
    throw new ElfError(`section name table ${shstrndx} is not a string table (type ${shstr.type})`, { offset: shdrAt(shstrndx) + 4 });
  }
  const sections: ElfSection[] = raw.map((r) => {
    const { nameOff, ...rest } = r;
    const name = shstrndx === 0 || (r.index === 0 && nameOff === 0) ? '' : readCString(shstr.data, nameOff, shstr.offset, `section ${r.index} name`);
    return { ...rest, name };
  });

  const sectionRef = (i: number, what: string, at: number) => {
    if (i >= shnum) throw new ElfError(`${what} refers to section ${i}, out of range (${shnum} sections)`, { offset: at });
    return sections[i]!;
  };

  // Symbol table (at most one SHT_SYMTAB in a relocatable object).
  const symtabs = sections.filter((s) => s.type === SHT.SYMTAB);
  if (symtabs.length > 1) throw new ElfError(`${symtabs.length} symbol tables (expected at most one)`, { offset: shdrAt(symtabs[1]!.index) });
  const symbols: ElfSymbol[] = [];
  const symtab = symtabs[0];
  if (symtab) {
    const at = shdrAt(symtab.index);
    if (symtab.entsize !== SYM_SIZE) throw new ElfError(`symbol table entry size ${symtab.entsize} (expected ${SYM_SIZE})`, { offset: at + 56 });
    if (symtab.size % SYM_SIZE !== 0) throw new ElfError(`symbol table size ${symtab.size} is not a multiple of ${SYM_SIZE}`, { offset: at + 32 });
    const strtab = sectionRef(symtab.link, 'symbol table link', at + 40);
    if (strtab.type !== SHT.STRTAB) throw new ElfError(`symbol string table ${symtab.link} is not a string table`, { offset: at + 40 });
    const shndxSec = sections.find((s) => s.type === SHT.SYMTAB_SHNDX && s.link === symtab.index);
    const n = symtab.size / SYM_SIZE;
    for (let i = 0; i < n; i++) {
      const o = symtab.offset + i * SYM_SIZE;
      const info = bytes[o + 4]!;
      let shndx = u16(o + 6);
      if (shndx === SHN.XINDEX && shndxSec) {
        if ((i + 1) * 4 > shndxSec.size) throw new ElfError(`extended section index of symbol ${i} missing`, { offset: shndxSec.offset });
        shndx = u32(shndxSec.offset + i * 4);
      }
      if (shndx !== SHN.UNDEF && shndx < SHN.LORESERVE && shndx >= shnum) {
        throw new ElfError(`symbol ${i} refers to section ${shndx}, out of range (${shnum} sections)`, { offset: o + 6 });
      }
      const type = info & 0xf;
      let name = readCString(strtab.data, u32(o), strtab.offset, `symbol ${i} name`);
      if (name === '' && type === STT.SECTION && shndx < shnum) name = sections[shndx]!.name;
      symbols.push({
        index: i,
        name,
        value: u64(o + 8),
        size: u64(o + 16),
        bind: info >> 4,
        type,
        visibility: bytes[o + 5]! & 3,
        shndx,
      });
    }
  }

  // Relocation sections.
  const relocations = new Map<number, ElfRelocationSection>();
  for (const s of sections) {
    if (s.type !== SHT.REL && s.type !== SHT.RELA) continue;
    const at = shdrAt(s.index);
    const isRela = s.type === SHT.RELA;
    const esize = isRela ? RELA_SIZE : REL_SIZE;
    if (s.size % esize !== 0) throw new ElfError(`relocation section ${s.name} size ${s.size} is not a multiple of ${esize}`, { offset: at + 32 });
    if (!symtab || s.link !== symtab.index) {
      throw new ElfError(`relocation section ${s.name} links to section ${s.link}, not the symbol table`, { offset: at + 40 });
    }
    const target = sectionRef(s.info, `relocation section ${s.name}`, at + 44);
    if (s.info === 0) throw new ElfError(`relocation section ${s.name} applies to section 0`, { offset: at + 44 });
    const entries: ElfRelocation[] = [];
    const n = s.size / esize;
    for (let i = 0; i < n; i++) {
      const o = s.offset + i * esize;
      const offset = toSafe(u64(o), 'relocation offset', o);
      const info = u64(o + 8);
      const symbol = Number(info >> 32n);
      const type = Number(info & 0xffffffffn);
      if (symbol >= symbols.length) {
        throw new ElfError(`relocation ${i} in ${s.name} refers to unknown symbol #${symbol} (${symbols.length} symbols)`, {
          offset: o + 8,
          symbol: `#${symbol}`,
        });
      }
      const targetSize = target.type === SHT.NOBITS ? 0 : target.size;
      if (offset >= targetSize) {
        throw new ElfError(`relocation ${i} in ${s.name} at offset ${offset} lies outside ${target.name} (${targetSize} bytes)`, {
          offset: o,
          symbol: symbols[symbol]!.name,
        });
      }
      entries.push({ offset, symbol, type, addend: isRela ? view.getBigInt64(o + 16, true) : 0n });
    }
    if (relocations.has(s.info)) {
      // Several relocation sections for one target: merge them.
      relocations.get(s.info)!.relocations.push(...entries);
    } else {
      relocations.set(s.info, { section: s, target: s.info, relocations: entries });
    }
  }

  return new ElfFile(bytes, header, sections, symbols, relocations);
}
