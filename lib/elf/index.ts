/**
 * ELF64 objects for BPF (pure: no kernel access).
 *
 * - {@link readElf} parses a little-endian ELF64 object (by default `EM_BPF`)
 *   into an {@link ElfFile}: header, sections with their bytes, symbols and
 *   relocations, validated as it goes (`ElfError` with the offending offset).
 *   `ElfFile.executableSections()` and `ElfFile.symbolsIn(index)` list code
 *   sections and the functions in them (what `tsbpf disasm` needs).
 * - {@link writeElf} lays out a relocatable object from sections, symbols and
 *   relocations, adding `.rel*`, `.symtab` and `.strtab` itself.
 *
 * - {@link readCollectionSpec} reads a clang object as libbpf does into a
 *   {@link CollectionSpec}: programs by section name (several per section,
 *   `.text` subprograms appended, callbacks), BTF-defined maps (map-in-map
 *   `values`, `pinning`), legacy `maps`, global data as array maps reached by
 *   map-value loads, license, BTF with func_info/line_info.
 * - {@link writeCollectionSpec} writes a spec back as an object that libbpf
 *   (`bpftool prog loadall`, `ip link ... xdp obj`) and this reader load.
 * - {@link collectionSpec} builds a spec from tsbpf's own programs (ISA
 *   instructions with source positions) and maps, generating BTF so verifier
 *   logs show TypeScript lines and `bpftool map dump` prints typed values.
 * - {@link sectionProgramType} maps libbpf section names to program and
 *   expected attach types.
 *
 * Loading a spec into the kernel is lib/kernel's `Collection`.
 *
 * @module
 */
export * from './constants.js';
export { ElfError } from './error.js';
export {
  ElfFile,
  readElf,
  readCString,
  type ElfHeader,
  type ElfSection,
  type ElfSymbol,
  type ElfRelocation,
  type ElfRelocationSection,
  type ReadElfOptions,
} from './reader.js';
export {
  writeElf,
  type ElfSectionSpec,
  type ElfSymbolSpec,
  type ElfRelocationSpec,
  type ElfWriteInput,
} from './writer.js';
export { sectionProgramType, sectionNameFor, type SectionProgramType } from './section-names.js';
export {
  PinType,
  type CollectionSpec,
  type CollectionMapSpec,
  type CollectionProgramSpec,
  type MapSlotInit,
  type MapOrigin,
} from './collection-spec.js';
export { readCollectionSpec, isDataSection } from './object-reader.js';
export { writeCollectionSpec, type WriteCollectionOptions } from './object-writer.js';
export {
  collectionSpec,
  programSpec,
  programLineInfo,
  readSourceLine,
  type CollectionInput,
  type ProgramInput,
  type MapInput,
  type SourceLineReader,
} from './build-spec.js';
