/**
 * Collection specs: everything needed to create the maps and load the programs
 * of an object, before touching the kernel (cilium/ebpf's `CollectionSpec`).
 * Produced by reading a clang object (`readCollectionSpec`) or by the DSL;
 * loaded by lib/kernel/collection.ts; written by `writeCollectionSpec`.
 */
import type { Btf, CoreRelo, FuncInfo, LineInfo } from '../btf/index.js';
import type { Insn } from '../isa/index.js';

/** `pinning` of a BTF-defined map: 0 none, 1 `LIBBPF_PIN_BY_NAME` (pin at `<pin dir>/<map name>`). */
export const PinType = { NONE: 0, BY_NAME: 1 } as const;

/** An initial element of a map-in-map or program array: slot `key` holds the map or program named. */
export interface MapSlotInit {
  key: number;
  /** Name of an inner map (map-in-map) or of a program (program array). */
  value: string;
  kind: 'map' | 'program';
}

/** Where a map is defined: a BTF-defined map in `.maps` (also what the DSL produces), a legacy `maps` entry, or a global data section. */
export type MapOrigin = 'btf' | 'legacy' | 'data';

/** A map to create. */
export interface CollectionMapSpec {
  /** Name (symbol name; for global data, the section name: `.data`, `.rodata`, `.bss`, `.rodata.str1.1`). */
  name: string;
  /** `BPF_MAP_TYPE_*`. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `map_flags`. */
  flags: number;
  /** `numa_node`, if set. */
  numaNode?: number;
  /** `map_extra` (bloom filter hashes, arena address). */
  mapExtra?: bigint;
  /** {@link PinType}. */
  pinning: number;
  /** For map-in-map: the inner map's shape (name `<outer>.inner`). */
  innerMap?: CollectionMapSpec;
  /** Initial elements of map-in-map (`.values = { [0] = &inner }`) and program arrays. */
  slots?: MapSlotInit[];
  /** Initial value of element 0 (global data sections: the section's bytes; `.bss` zeros). */
  initialValue?: Uint8Array;
  /** Freeze after writing the initial value (`.rodata`: read-only for programs, kernel 5.2). */
  freeze?: boolean;
  /** BTF type id of the key, in the collection's BTF (0 = none). */
  btfKeyTypeId: number;
  /** BTF type id of the value (for global data, the DATASEC), in the collection's BTF (0 = none). */
  btfValueTypeId: number;
  /** Where it came from. */
  origin: MapOrigin;
}

/** A program to load: linked instructions whose map references are still names. */
export interface CollectionProgramSpec {
  /** Function name. */
  name: string;
  /** ELF section name (libbpf convention). */
  section: string;
  /** `BPF_PROG_TYPE_*` (0 if the section name follows no convention). */
  type: number;
  /** `expected_attach_type`. */
  expectedAttachType: number;
  /** Target named in the section (`fentry/<func>`), if any. */
  attachTo?: string;
  /** Load flags from the section name (`BPF_F_XDP_HAS_FRAGS`, `BPF_F_SLEEPABLE`). */
  flags: number;
  /** License string (from the object's `license` section). */
  license: string;
  /** Kernel version (legacy `version` section; 0 if none). */
  kernelVersion: number;
  /**
   * The program, with bpf-to-bpf calls resolved and subprograms appended after
   * the entry function (as libbpf lays them out). Map loads carry
   * `ref: { kind: 'map' | 'map_value', name }` (the map's name in the collection);
   * for `map_value` the high 32 bits of `imm64` hold the offset in the value.
   * Read from an object, each instruction's `source` comes from the line_info
   * covering it.
   */
  insns: Insn[];
  /** Entry function and appended subprograms: names and start slots (the first at 0). */
  functions: Array<{ name: string; slot: number }>;
  /** func_info, `insnOff` in slots of `insns`, sorted. */
  funcInfo: FuncInfo[];
  /** line_info, `insnOff` in slots of `insns`, sorted. */
  lineInfo: LineInfo[];
  /** CO-RE relocations, `insnOff` in slots (`Collection.load` applies them against the kernel BTF). */
  coreRelos: CoreRelo[];
}

/** Everything in an object: maps, programs, license and BTF. */
export interface CollectionSpec {
  /** Maps by name, in definition order. */
  maps: Map<string, CollectionMapSpec>;
  /** Programs by name, in section order. */
  programs: Map<string, CollectionProgramSpec>;
  /** The `license` section ('' if none). */
  license: string;
  /** The legacy `version` section (0 if none). */
  kernelVersion: number;
  /** The object's BTF (with DATASEC sizes and offsets filled in, as libbpf does), if any. */
  btf?: Btf;
}
