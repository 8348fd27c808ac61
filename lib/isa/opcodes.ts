/**
 * Opcode fields of eBPF instructions, as in the kernel's
 * Documentation/bpf/standardization/instruction-set.rst and
 * include/uapi/linux/bpf.h (`BPF_*` macros).
 *
 * An opcode byte is `class | ...`: for ALU/JMP classes `op | source | class`,
 * for load/store classes `mode | size | class`.
 */

/** Instruction classes (low 3 bits of the opcode). */
export const Class = {
  /** Non-standard loads: `lddw` (BPF_IMM) and legacy packet loads (BPF_ABS, BPF_IND). */
  LD: 0x00,
  /** Loads into a register. */
  LDX: 0x01,
  /** Stores of an immediate. */
  ST: 0x02,
  /** Stores of a register, and atomics. */
  STX: 0x03,
  /** 32-bit arithmetic. */
  ALU: 0x04,
  /** 64-bit jumps, calls, exit. */
  JMP: 0x05,
  /** 32-bit jumps (ISA v3, kernel 5.1); `gotol` (ISA v4, kernel 6.6). */
  JMP32: 0x06,
  /** 64-bit arithmetic. */
  ALU64: 0x07,
} as const;

/** Access sizes of load/store instructions (bits 3-4). */
export const Size = {
  /** 32-bit word. */
  W: 0x00,
  /** 16-bit half word. */
  H: 0x08,
  /** 8-bit byte. */
  B: 0x10,
  /** 64-bit double word. */
  DW: 0x18,
} as const;

/** Modes of load/store instructions (bits 5-7). */
export const Mode = {
  /** 64-bit immediate (`lddw`, only with class LD and size DW). */
  IMM: 0x00,
  /** Legacy packet load at an absolute offset. */
  ABS: 0x20,
  /** Legacy packet load at a register-relative offset. */
  IND: 0x40,
  /** Regular memory access. */
  MEM: 0x60,
  /** Sign-extending load (ISA v4, kernel 6.6). */
  MEMSX: 0x80,
  /** Atomic operation (class STX). */
  ATOMIC: 0xc0,
} as const;

/** The source bit of ALU/JMP opcodes (bit 3). */
export const Src = {
  /** Operand is the 32-bit immediate. */
  K: 0x00,
  /** Operand is the source register. */
  X: 0x08,
} as const;

/** ALU/ALU64 operations (bits 4-7). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  /** Unsigned division; signed with off=1 (ISA v4). */
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  /** Unsigned modulo; signed with off=1 (ISA v4). */
  MOD: 0x90,
  XOR: 0xa0,
  /** Move; with off=8/16/32 a sign-extending move (ISA v4); ALU64 with off=1 is addr_space_cast. */
  MOV: 0xb0,
  ARSH: 0xc0,
  /** Byte swap: ALU with source K = to little endian, X = to big endian; ALU64 K = bswap (v4). */
  END: 0xd0,
} as const;

/** JMP/JMP32 operations (bits 4-7). */
export const JmpOp = {
  /** Unconditional jump (`goto`); in class JMP32 `gotol` with a 32-bit imm offset (v4). */
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  /** Call: helper (src=0), bpf-to-bpf (src=1), kfunc (src=2). */
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  /** Conditional pseudo jump (`may_goto`, kernel 6.9). */
  JCOND: 0xe0,
} as const;

/** Operations of atomic instructions (the `imm` field of STX|ATOMIC). */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  /** Flag: also return the old value in the source register (kernel 5.12). */
  FETCH: 0x01,
  /** Exchange (always fetches). */
  XCHG: 0xe1,
  /** Compare and exchange with r0 (always fetches). */
  CMPXCHG: 0xf1,
  /** Load-acquire (kernel 6.15). */
  LOAD_ACQ: 0x100,
  /** Store-release (kernel 6.15). */
  STORE_REL: 0x110,
} as const;

/** Pseudo source registers of `lddw` (`BPF_PSEUDO_*` in bpf.h). */
export const PseudoSrc = {
  /** Plain 64-bit immediate. */
  NONE: 0,
  /** imm is a map fd. */
  MAP_FD: 1,
  /** imm is a map fd, second imm an offset into its value (kernel 5.2). */
  MAP_VALUE: 2,
  /** imm is a BTF id of a kernel variable (kernel 5.10). */
  BTF_ID: 3,
  /** imm is a relative instruction offset of a function (kernel 5.13). */
  FUNC: 4,
  /** imm is an index into the fd_array (kernel 5.14). */
  MAP_IDX: 5,
  /** imm is an fd_array index, second imm an offset into its value (kernel 5.14). */
  MAP_IDX_VALUE: 6,
} as const;

/** Source register of a call instruction. */
export const CallSrc = {
  /** Helper call; imm is the helper id. */
  HELPER: 0,
  /** bpf-to-bpf call; imm is the relative offset of the callee (kernel 4.16). */
  LOCAL: 1,
  /** kfunc call; imm is a BTF id (kernel 5.13). */
  KFUNC: 2,
} as const;

/** The opcode of `lddw` (LD | IMM | DW), the only two-slot instruction. */
export const LDDW = 0x18;
/** The opcode of `call`. */
export const CALL = 0x85;
/** The opcode of `exit`. */
export const EXIT = 0x95;
/** The opcode of `goto` (JMP | JA). */
export const JA = 0x05;
/** The opcode of `gotol` (JMP32 | JA, ISA v4, kernel 6.6). */
export const GOTOL = 0x06;

/** The frame pointer register (read-only). */
export const R10 = 10;

/** Load/store sizes by name. */
export type SizeName = 'u8' | 'u16' | 'u32' | 'u64';

/** The opcode size field for a size name. */
export function sizeCode(size: SizeName): number {
  switch (size) {
    case 'u8':
      return Size.B;
    case 'u16':
      return Size.H;
    case 'u32':
      return Size.W;
    case 'u64':
      return Size.DW;
  }
}

/** Size in bytes for an opcode size field. */
export function sizeBytes(sizeField: number): number {
  return sizeField === Size.B ? 1 : sizeField === Size.H ? 2 : sizeField === Size.W ? 4 : 8;
}

/** The class of an opcode byte. */
export function classOf(code: number): number {
  return code & 0x07;
}
