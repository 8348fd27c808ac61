/**
 * Numbers from the ELF64 specification (and the BPF psABI) that tsbpf uses.
 */

/** `e_ident[EI_CLASS]` for 64-bit objects. */
export const ELFCLASS64 = 2;
/** `e_ident[EI_DATA]` for little-endian objects. */
export const ELFDATA2LSB = 1;
/** `e_ident[EI_DATA]` for big-endian objects. */
export const ELFDATA2MSB = 2;
/** `e_type` of a relocatable object (what clang emits for BPF). */
export const ET_REL = 1;
/** `e_machine` for eBPF. */
export const EM_BPF = 247;

/** ELF64 header size. */
export const EHDR_SIZE = 64;
/** ELF64 section header size. */
export const SHDR_SIZE = 64;
/** ELF64 symbol size. */
export const SYM_SIZE = 24;
/** ELF64 REL entry size. */
export const REL_SIZE = 16;
/** ELF64 RELA entry size. */
export const RELA_SIZE = 24;

/** Section header types. */
export const SHT = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  SYMTAB_SHNDX: 18,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** Section header flags. */
export const SHF = {
  WRITE: 0x1n,
  ALLOC: 0x2n,
  EXECINSTR: 0x4n,
  MERGE: 0x10n,
  STRINGS: 0x20n,
  INFO_LINK: 0x40n,
  EXCLUDE: 0x80000000n,
} as const;

/** Special section indexes. */
export const SHN = {
  UNDEF: 0,
  LORESERVE: 0xff00,
  ABS: 0xfff1,
  COMMON: 0xfff2,
  XINDEX: 0xffff,
} as const;

/** Symbol binding (`st_info >> 4`). */
export const STB = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;
/** Symbol type (`st_info & 0xf`). */
export const STT = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4 } as const;
/** Symbol visibility (`st_other & 3`). */
export const STV = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** BPF relocation types (LLVM's BPF backend, documented in the kernel's llvm_reloc.rst). */
export const R_BPF = {
  NONE: 0,
  /** ld_imm64 of a map or global data: the 64-bit immediate spread over two slots. */
  R_BPF_64_64: 1,
  /** 64-bit data relocation (DWARF, .maps values). */
  R_BPF_64_ABS64: 2,
  /** 32-bit data relocation (DWARF, .BTF.ext). */
  R_BPF_64_ABS32: 3,
  /** 32-bit relocation not resolved by the dynamic linker (.BTF, .BTF.ext). */
  R_BPF_64_NODYLD32: 4,
  /** bpf-to-bpf call: the immediate of a call instruction. */
  R_BPF_64_32: 10,
} as const;
