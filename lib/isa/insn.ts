/**
 * The instruction model: {@link Insn} holds the raw fields of one eBPF
 * instruction, and the constructor functions below build every form.
 *
 * Constructors that take a jump `target` accept either a label name (a string,
 * resolved by {@link ProgramBuilder.link}) or a raw offset in slots (a number).
 */
import {
  AluOp,
  AtomicOp,
  CallSrc,
  Class,
  JmpOp,
  LDDW,
  Mode,
  PseudoSrc,
  Size,
  type SizeName,
  Src,
  sizeCode,
} from './opcodes.js';
import { IsaError } from './errors.js';

/** Where an instruction came from in source code (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

/**
 * What a symbolic reference points at:
 * - `jump`: a label; resolved into `off` (or `imm` of `gotol`).
 * - `call`: a function label of a bpf-to-bpf call; resolved into `imm`.
 * - `func`: a function label loaded by `lddw` with src=BPF_PSEUDO_FUNC; resolved into `imm`.
 * - `map`: a map by name, `lddw` with src=BPF_PSEUDO_MAP_FD; the loader patches `imm` with the fd.
 * - `map_value`: a map by name, `lddw` with src=BPF_PSEUDO_MAP_VALUE; the loader patches
 *   the low 32 bits of `imm64` with the fd (the high 32 bits keep the offset).
 * - `kfunc`: a kernel function by name; the loader patches `imm` with its BTF id.
 * - `btf_id`: a kernel variable by name (`lddw` src=BPF_PSEUDO_BTF_ID); the loader patches `imm`.
 */
export type RefKind = 'jump' | 'call' | 'func' | 'map' | 'map_value' | 'kfunc' | 'btf_id';

/** A symbolic reference carried by an instruction until it is linked or loaded. */
export interface InsnRef {
  kind: RefKind;
  name: string;
}

/**
 * One eBPF instruction, as its raw fields. `lddw` (code 0x18) occupies two
 * 8-byte slots and carries the full 64-bit immediate in `imm64`; its `imm` is
 * the low 32 bits (signed). All other instructions occupy one slot.
 */
export interface Insn {
  /** Opcode byte. */
  code: number;
  /** Destination register, 0-10 (4 bits in the encoding). */
  dst: number;
  /** Source register, 0-10, or a pseudo source (4 bits). */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate. */
  imm: number;
  /** The 64-bit immediate of `lddw` (signed two's complement); authoritative for code 0x18. */
  imm64?: bigint;
  /** Source position of the code that produced this instruction. */
  source?: SourcePos;
  /** An unresolved symbolic reference (label, function, map, kfunc). */
  ref?: InsnRef;
}

/** A register number 0-10. */
export type Reg = number;

/** A jump target: a label name, or a raw offset in slots relative to the next instruction. */
export type Target = string | number;

/** ALU operations by name (`sdiv`/`smod` are the signed forms of ISA v4, kernel 6.6). */
export type AluOpName =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sdiv'
  | 'or'
  | 'and'
  | 'lsh'
  | 'rsh'
  | 'mod'
  | 'smod'
  | 'xor'
  | 'mov'
  | 'arsh';

/** Jump conditions by name (the `s` forms are signed). */
export type JmpCond = 'eq' | 'gt' | 'ge' | 'set' | 'ne' | 'sgt' | 'sge' | 'lt' | 'le' | 'slt' | 'sle';

/** Atomic read-modify-write operations by name. */
export type AtomicOpName =
  | 'add'
  | 'or'
  | 'and'
  | 'xor'
  | 'fetch_add'
  | 'fetch_or'
  | 'fetch_and'
  | 'fetch_xor'
  | 'xchg'
  | 'cmpxchg';

/** ALU opcode bits and `off` for each operation name. */
export const aluOps: Readonly<Record<AluOpName, { op: number; off: number }>> = {
  add: { op: AluOp.ADD, off: 0 },
  sub: { op: AluOp.SUB, off: 0 },
  mul: { op: AluOp.MUL, off: 0 },
  div: { op: AluOp.DIV, off: 0 },
  sdiv: { op: AluOp.DIV, off: 1 },
  or: { op: AluOp.OR, off: 0 },
  and: { op: AluOp.AND, off: 0 },
  lsh: { op: AluOp.LSH, off: 0 },
  rsh: { op: AluOp.RSH, off: 0 },
  mod: { op: AluOp.MOD, off: 0 },
  smod: { op: AluOp.MOD, off: 1 },
  xor: { op: AluOp.XOR, off: 0 },
  mov: { op: AluOp.MOV, off: 0 },
  arsh: { op: AluOp.ARSH, off: 0 },
};

/** JMP opcode bits for each condition name. */
export const jmpConds: Readonly<Record<JmpCond, number>> = {
  eq: JmpOp.JEQ,
  gt: JmpOp.JGT,
  ge: JmpOp.JGE,
  set: JmpOp.JSET,
  ne: JmpOp.JNE,
  sgt: JmpOp.JSGT,
  sge: JmpOp.JSGE,
  lt: JmpOp.JLT,
  le: JmpOp.JLE,
  slt: JmpOp.JSLT,
  sle: JmpOp.JSLE,
};

/** The `imm` of each atomic operation name. */
export const atomicOps: Readonly<Record<AtomicOpName, number>> = {
  add: AtomicOp.ADD,
  or: AtomicOp.OR,
  and: AtomicOp.AND,
  xor: AtomicOp.XOR,
  fetch_add: AtomicOp.ADD | AtomicOp.FETCH,
  fetch_or: AtomicOp.OR | AtomicOp.FETCH,
  fetch_and: AtomicOp.AND | AtomicOp.FETCH,
  fetch_xor: AtomicOp.XOR | AtomicOp.FETCH,
  xchg: AtomicOp.XCHG,
  cmpxchg: AtomicOp.CMPXCHG,
};

/** Builds an instruction from raw fields (no checks; `encode` checks ranges). */
export function insn(code: number, dst: Reg, src: Reg, off: number, imm: number): Insn {
  return { code, dst, src, off, imm };
}

function withTarget(i: Insn, target: Target, field: 'off' | 'imm'): Insn {
  if (typeof target === 'string') i.ref = { kind: 'jump', name: target };
  else i[field] = target;
  return i;
}

// ---- ALU ----------------------------------------------------------------

/** 64-bit ALU with an immediate: `dst op= imm` (`dst = imm` for mov). */
export function alu64Imm(op: AluOpName, dst: Reg, imm: number): Insn {
  const o = aluOps[op];
  if (!o) throw new IsaError(`unknown ALU operation '${op}'`);
  return insn(Class.ALU64 | o.op | Src.K, dst, 0, o.off, imm);
}

/** 64-bit ALU with a register: `dst op= src`. */
export function alu64Reg(op: AluOpName, dst: Reg, src: Reg): Insn {
  const o = aluOps[op];
  if (!o) throw new IsaError(`unknown ALU operation '${op}'`);
  return insn(Class.ALU64 | o.op | Src.X, dst, src, o.off, 0);
}

/** 32-bit ALU with an immediate: `wdst op= imm` (zero-extends into the upper half). */
export function alu32Imm(op: AluOpName, dst: Reg, imm: number): Insn {
  const o = aluOps[op];
  if (!o) throw new IsaError(`unknown ALU operation '${op}'`);
  return insn(Class.ALU | o.op | Src.K, dst, 0, o.off, imm);
}

/** 32-bit ALU with a register: `wdst op= wsrc`. */
export function alu32Reg(op: AluOpName, dst: Reg, src: Reg): Insn {
  const o = aluOps[op];
  if (!o) throw new IsaError(`unknown ALU operation '${op}'`);
  return insn(Class.ALU | o.op | Src.X, dst, src, o.off, 0);
}

/** `rdst = imm` (sign-extended to 64 bits). */
export function mov64Imm(dst: Reg, imm: number): Insn {
  return insn(Class.ALU64 | AluOp.MOV | Src.K, dst, 0, 0, imm);
}

/** `rdst = rsrc`. */
export function mov64Reg(dst: Reg, src: Reg): Insn {
  return insn(Class.ALU64 | AluOp.MOV | Src.X, dst, src, 0, 0);
}

/** `wdst = imm`. */
export function mov32Imm(dst: Reg, imm: number): Insn {
  return insn(Class.ALU | AluOp.MOV | Src.K, dst, 0, 0, imm);
}

/** `wdst = wsrc`. */
export function mov32Reg(dst: Reg, src: Reg): Insn {
  return insn(Class.ALU | AluOp.MOV | Src.X, dst, src, 0, 0);
}

/** Sign-extending move `rdst = (s8|s16|s32)rsrc` (ISA v4, kernel 6.6). */
export function movsx64(dst: Reg, src: Reg, bits: 8 | 16 | 32): Insn {
  return insn(Class.ALU64 | AluOp.MOV | Src.X, dst, src, bits, 0);
}

/** Sign-extending move `wdst = (s8|s16)wsrc` (ISA v4, kernel 6.6). */
export function movsx32(dst: Reg, src: Reg, bits: 8 | 16): Insn {
  return insn(Class.ALU | AluOp.MOV | Src.X, dst, src, bits, 0);
}

/** `rdst = -rdst`. */
export function neg64(dst: Reg): Insn {
  return insn(Class.ALU64 | AluOp.NEG | Src.K, dst, 0, 0, 0);
}

/** `wdst = -wdst`. */
export function neg32(dst: Reg): Insn {
  return insn(Class.ALU | AluOp.NEG | Src.K, dst, 0, 0, 0);
}

/** Byte swap to little endian: `rdst = le16|le32|le64 rdst`. */
export function toLe(dst: Reg, bits: 16 | 32 | 64): Insn {
  return insn(Class.ALU | AluOp.END | Src.K, dst, 0, 0, bits);
}

/** Byte swap to big endian: `rdst = be16|be32|be64 rdst`. */
export function toBe(dst: Reg, bits: 16 | 32 | 64): Insn {
  return insn(Class.ALU | AluOp.END | Src.X, dst, 0, 0, bits);
}

/** Unconditional byte swap `rdst = bswap16|32|64 rdst` (ISA v4, kernel 6.6). */
export function bswap(dst: Reg, bits: 16 | 32 | 64): Insn {
  return insn(Class.ALU64 | AluOp.END | Src.K, dst, 0, 0, bits);
}

/** `rdst = addr_space_cast(rsrc, dstAs, srcAs)` (arena pointers, kernel 6.9). */
export function addrSpaceCast(dst: Reg, src: Reg, dstAs: number, srcAs: number): Insn {
  return insn(Class.ALU64 | AluOp.MOV | Src.X, dst, src, 1, ((dstAs & 0xffff) << 16) | (srcAs & 0xffff));
}

// ---- jumps and calls ------------------------------------------------------

/** `goto target` (16-bit offset). */
export function ja(target: Target): Insn {
  return withTarget(insn(Class.JMP | JmpOp.JA, 0, 0, 0, 0), target, 'off');
}

/** `gotol target` with a 32-bit offset in `imm` (ISA v4, kernel 6.6). */
export function gotol(target: Target): Insn {
  return withTarget(insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, 0), target, 'imm');
}

/**
 * Indirect jump `gotox rdst` (JMP | JA | X): jumps to the instruction address held in a
 * register loaded from a jump table. Only the newest kernels accept it (indirect-jump support).
 */
export function gotox(dst: Reg): Insn {
  return insn(Class.JMP | JmpOp.JA | Src.X, dst, 0, 0, 0);
}

/** Indirect call `callx rdst` (JMP | CALL | X), as LLVM encodes it; the kernel does not accept it. */
export function callx(dst: Reg): Insn {
  return insn(Class.JMP | JmpOp.CALL | Src.X, dst, 0, 0, 0);
}

/** `may_goto target` (JMP | JCOND, kernel 6.9). */
export function mayGoto(target: Target): Insn {
  return withTarget(insn(Class.JMP | JmpOp.JCOND, 0, 0, 0, 0), target, 'off');
}

function cond(c: JmpCond): number {
  const op = jmpConds[c];
  if (op === undefined) throw new IsaError(`unknown jump condition '${c}'`);
  return op;
}

/** `if rdst <cond> imm goto target`. */
export function jmpImm(c: JmpCond, dst: Reg, imm: number, target: Target): Insn {
  return withTarget(insn(Class.JMP | cond(c) | Src.K, dst, 0, 0, imm), target, 'off');
}

/** `if rdst <cond> rsrc goto target`. */
export function jmpReg(c: JmpCond, dst: Reg, src: Reg, target: Target): Insn {
  return withTarget(insn(Class.JMP | cond(c) | Src.X, dst, src, 0, 0), target, 'off');
}

/** `if wdst <cond> imm goto target` (JMP32, ISA v3, kernel 5.1). */
export function jmp32Imm(c: JmpCond, dst: Reg, imm: number, target: Target): Insn {
  return withTarget(insn(Class.JMP32 | cond(c) | Src.K, dst, 0, 0, imm), target, 'off');
}

/** `if wdst <cond> wsrc goto target` (JMP32, ISA v3, kernel 5.1). */
export function jmp32Reg(c: JmpCond, dst: Reg, src: Reg, target: Target): Insn {
  return withTarget(insn(Class.JMP32 | cond(c) | Src.X, dst, src, 0, 0), target, 'off');
}

/**
 * A 64-bit conditional jump: `operand` is an immediate (number) or a register
 * given as `{ reg: n }`.
 */
export function jmp(c: JmpCond, dst: Reg, operand: number | { reg: Reg }, target: Target): Insn {
  return typeof operand === 'number' ? jmpImm(c, dst, operand, target) : jmpReg(c, dst, operand.reg, target);
}

/** A 32-bit conditional jump (JMP32): `operand` is an immediate or `{ reg: n }`. */
export function jmp32(c: JmpCond, dst: Reg, operand: number | { reg: Reg }, target: Target): Insn {
  return typeof operand === 'number' ? jmp32Imm(c, dst, operand, target) : jmp32Reg(c, dst, operand.reg, target);
}

/** Call a helper by id (`call 0x1`). */
export function call(helperId: number): Insn {
  return insn(Class.JMP | JmpOp.CALL, 0, CallSrc.HELPER, 0, helperId);
}

/** bpf-to-bpf call of a function label, or a raw relative offset in slots (kernel 4.16). */
export function callLocal(target: Target): Insn {
  const i = insn(Class.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, 0);
  if (typeof target === 'string') i.ref = { kind: 'call', name: target };
  else i.imm = target;
  return i;
}

/**
 * Call a kfunc (kernel 5.13): by BTF id (a number), or by name (a string, the
 * loader patches in the BTF id). `btfObjFd` goes to `off` (0 = vmlinux).
 */
export function callKfunc(kfunc: number | string, btfObjFd = 0): Insn {
  const i = insn(Class.JMP | JmpOp.CALL, 0, CallSrc.KFUNC, btfObjFd, 0);
  if (typeof kfunc === 'string') i.ref = { kind: 'kfunc', name: kfunc };
  else i.imm = kfunc;
  return i;
}

/** `exit`: return r0. */
export function exit(): Insn {
  return insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0);
}

// ---- 64-bit immediates ------------------------------------------------------

/** Builds an `lddw` with a pseudo source and a full 64-bit immediate. */
export function lddw(dst: Reg, src: number, imm64: bigint): Insn {
  const v = BigInt.asIntN(64, imm64);
  return { code: LDDW, dst, src, off: 0, imm: Number(BigInt.asIntN(32, v)), imm64: v };
}

/** `rdst = imm64 ll`. */
export function ldImm64(dst: Reg, imm64: bigint): Insn {
  return lddw(dst, PseudoSrc.NONE, imm64);
}

/** Load a map's fd by map name (`lddw` src=BPF_PSEUDO_MAP_FD); the loader patches the fd. */
export function ldMapFd(dst: Reg, map: string | number): Insn {
  if (typeof map === 'number') return lddw(dst, PseudoSrc.MAP_FD, BigInt(map));
  const i = lddw(dst, PseudoSrc.MAP_FD, 0n);
  i.ref = { kind: 'map', name: map };
  return i;
}

/**
 * Load the address of `offset` bytes into a map's value (array maps;
 * `lddw` src=BPF_PSEUDO_MAP_VALUE, kernel 5.2). `map` is a name (patched by the
 * loader) or an fd.
 */
export function ldMapValue(dst: Reg, map: string | number, offset: number): Insn {
  const fd = typeof map === 'number' ? BigInt(map >>> 0) : 0n;
  const i = lddw(dst, PseudoSrc.MAP_VALUE, (BigInt(offset >>> 0) << 32n) | fd);
  if (typeof map === 'string') i.ref = { kind: 'map_value', name: map };
  return i;
}

/** Load a map by its index in the fd_array (`lddw` src=BPF_PSEUDO_MAP_IDX, kernel 5.14). */
export function ldMapIdx(dst: Reg, index: number): Insn {
  return lddw(dst, PseudoSrc.MAP_IDX, BigInt(index >>> 0));
}

/** Address into the value of the map at fd_array index `index` (BPF_PSEUDO_MAP_IDX_VALUE, kernel 5.14). */
export function ldMapIdxValue(dst: Reg, index: number, offset: number): Insn {
  return lddw(dst, PseudoSrc.MAP_IDX_VALUE, (BigInt(offset >>> 0) << 32n) | BigInt(index >>> 0));
}

/** Address of a kernel variable by BTF id or by name (BPF_PSEUDO_BTF_ID, kernel 5.10). */
export function ldBtfId(dst: Reg, btf: number | string): Insn {
  if (typeof btf === 'number') return lddw(dst, PseudoSrc.BTF_ID, BigInt(btf >>> 0));
  const i = lddw(dst, PseudoSrc.BTF_ID, 0n);
  i.ref = { kind: 'btf_id', name: btf };
  return i;
}

/** Address of a local function, for callbacks (BPF_PSEUDO_FUNC, kernel 5.13). */
export function ldFunc(dst: Reg, target: Target): Insn {
  if (typeof target === 'number') return lddw(dst, PseudoSrc.FUNC, BigInt(target >>> 0));
  const i = lddw(dst, PseudoSrc.FUNC, 0n);
  i.ref = { kind: 'func', name: target };
  return i;
}

// ---- memory ----------------------------------------------------------------

/** `rdst = *(size *)(rsrc + off)` (BPF_LDX_MEM). */
export function ldx(size: SizeName, dst: Reg, src: Reg, off: number): Insn {
  return insn(Class.LDX | Mode.MEM | sizeCode(size), dst, src, off, 0);
}

/** Sign-extending load `rdst = *(s8|s16|s32 *)(rsrc + off)` (ISA v4, kernel 6.6). */
export function ldxsx(size: 'u8' | 'u16' | 'u32', dst: Reg, src: Reg, off: number): Insn {
  return insn(Class.LDX | Mode.MEMSX | sizeCode(size), dst, src, off, 0);
}

/** `*(size *)(rdst + off) = rsrc` (BPF_STX_MEM). */
export function stx(size: SizeName, dst: Reg, src: Reg, off: number): Insn {
  return insn(Class.STX | Mode.MEM | sizeCode(size), dst, src, off, 0);
}

/** `*(size *)(rdst + off) = imm` (BPF_ST_MEM). */
export function st(size: SizeName, dst: Reg, off: number, imm: number): Insn {
  return insn(Class.ST | Mode.MEM | sizeCode(size), dst, 0, off, imm);
}

/**
 * Atomic operation on `*(size *)(rdst + off)` with `rsrc` (kernel 5.12 for all
 * but 64/32-bit `add`). Fetching forms return the old value in `rsrc`;
 * `cmpxchg` compares with and returns into r0.
 */
export function atomic(size: 'u32' | 'u64', op: AtomicOpName, dst: Reg, src: Reg, off: number): Insn {
  const imm = atomicOps[op];
  if (imm === undefined) throw new IsaError(`unknown atomic operation '${op}'`);
  return insn(Class.STX | Mode.ATOMIC | sizeCode(size), dst, src, off, imm);
}

/** `rdst = load_acquire((size *)(rsrc + off))` (kernel 6.15). */
export function loadAcquire(size: SizeName, dst: Reg, src: Reg, off: number): Insn {
  return insn(Class.STX | Mode.ATOMIC | sizeCode(size), dst, src, off, AtomicOp.LOAD_ACQ);
}

/** `store_release((size *)(rdst + off), rsrc)` (kernel 6.15). */
export function storeRelease(size: SizeName, dst: Reg, src: Reg, off: number): Insn {
  return insn(Class.STX | Mode.ATOMIC | sizeCode(size), dst, src, off, AtomicOp.STORE_REL);
}

/** Legacy packet load `r0 = *(size *)skb[imm]` (socket filters; u64 not allowed). */
export function ldAbs(size: 'u8' | 'u16' | 'u32', imm: number): Insn {
  return insn(Class.LD | Mode.ABS | sizeCode(size), 0, 0, 0, imm);
}

/** Legacy packet load `r0 = *(size *)skb[rsrc + imm]`. */
export function ldInd(size: 'u8' | 'u16' | 'u32', src: Reg, imm: number): Insn {
  return insn(Class.LD | Mode.IND | sizeCode(size), 0, src, 0, imm);
}

// ---- queries -----------------------------------------------------------------

/** True for the two-slot `lddw`. */
export function isLddw(i: Insn): boolean {
  return i.code === LDDW;
}

/** Number of 8-byte slots an instruction occupies (2 for `lddw`, else 1). */
export function insnSlots(i: Insn): number {
  return i.code === LDDW ? 2 : 1;
}

/** Total number of 8-byte slots of a program. */
export function slotCount(insns: readonly Insn[]): number {
  let n = insns.length;
  for (let k = 0; k < insns.length; k++) if (insns[k]!.code === LDDW) n++;
  return n;
}

/**
 * The slot index of each instruction, plus one final entry with the total slot
 * count (so `slots[insns.length]` is where a label after the last instruction sits).
 */
export function slotIndices(insns: readonly Insn[]): Int32Array {
  const out = new Int32Array(insns.length + 1);
  let s = 0;
  for (let k = 0; k < insns.length; k++) {
    out[k] = s;
    s += insns[k]!.code === LDDW ? 2 : 1;
  }
  out[insns.length] = s;
  return out;
}

/**
 * Maps slot indices back to instruction indices: element `s` is the index of
 * the instruction starting at slot `s`, or -1 for the second slot of an `lddw`.
 */
export function insnIndexBySlot(insns: readonly Insn[]): Int32Array {
  const out = new Int32Array(slotCount(insns));
  let s = 0;
  for (let k = 0; k < insns.length; k++) {
    out[s++] = k;
    if (insns[k]!.code === LDDW) out[s++] = -1;
  }
  return out;
}

/** Size name of a load/store opcode. */
export function sizeName(code: number): SizeName {
  const s = code & 0x18;
  return s === Size.B ? 'u8' : s === Size.H ? 'u16' : s === Size.W ? 'u32' : 'u64';
}
