/**
 * The DSL's intermediate representation: three-address instructions over
 * virtual registers, close to eBPF so that code generation is nearly one to
 * one. Registers are mutable variables (not SSA). Ids 0-10 are the physical
 * registers r0-r10 (pre-coloured); larger ids are virtual registers that the
 * allocator maps onto r0-r9 or stack slots.
 */
import type { AluOpName, AtomicOpName, JmpCond, SourcePos } from '../isa/insn.js';
import type { SizeName } from '../isa/opcodes.js';

/** A register id: 0-10 are r0-r10, larger ids are virtual. */
export type VReg = number;

/** The frame pointer r10. */
export const FP: VReg = 10;
/** The first virtual register id. */
export const FIRST_VREG = 16;

/** An immediate operand (a signed 32-bit value). */
export interface Imm {
  readonly imm: number;
}

/** A register or an immediate. */
export type Operand = VReg | Imm;

/** True when the operand is an immediate. */
export function isImm(o: Operand): o is Imm {
  return typeof o !== 'number';
}

/** ALU width: 64-bit (`r`) or 32-bit subregister (`w`) operations. */
export type Width = 32 | 64;

/** One IR instruction. `pos` is the TypeScript position of the DSL call that produced it. */
export type IrInsn = { pos?: SourcePos } & (
  | { op: 'mov'; w: Width; dst: VReg; src: Operand }
  | { op: 'ldi64'; dst: VReg; value: bigint }
  | { op: 'ldmap'; dst: VReg; map: string; valueOff?: number }
  | { op: 'alu'; w: Width; aop: AluOpName; dst: VReg; a: VReg; b: Operand }
  | { op: 'neg'; w: Width; dst: VReg; a: VReg }
  | { op: 'swap'; dst: VReg; a: VReg; bits: 16 | 32 | 64 }
  | { op: 'ld'; size: SizeName; dst: VReg; base: VReg; off: number }
  | { op: 'st'; size: SizeName; base: VReg; off: number; src: Operand }
  | { op: 'atomic'; size: 'u32' | 'u64'; aop: AtomicOpName; base: VReg; off: number; src: VReg }
  | { op: 'call'; helper: number; nargs: number }
  | { op: 'callsub'; name: string; nargs: number }
  | { op: 'jcc'; w: Width; cond: JmpCond; a: VReg; b: Operand; target: string }
  | { op: 'ja'; target: string }
  | { op: 'label'; name: string }
  | { op: 'ret'; src: Operand }
  | { op: 'exit' }
  | { op: 'entry'; nargs: number }
);

/** Registers a call clobbers: r0-r5. */
export const CALLER_SAVED: readonly VReg[] = [0, 1, 2, 3, 4, 5];

/** Registers an instruction reads. */
export function uses(i: IrInsn): VReg[] {
  switch (i.op) {
    case 'mov':
      return isImm(i.src) ? [] : [i.src];
    case 'alu':
      return isImm(i.b) ? [i.a] : [i.a, i.b];
    case 'neg':
    case 'swap':
      return [i.a];
    case 'ld':
      return [i.base];
    case 'st':
      return isImm(i.src) ? [i.base] : [i.base, i.src];
    case 'atomic':
      return [i.base, i.src];
    case 'call':
    case 'callsub': {
      const out: VReg[] = [];
      for (let k = 1; k <= i.nargs; k++) out.push(k);
      return out;
    }
    case 'jcc':
      return isImm(i.b) ? [i.a] : [i.a, i.b];
    case 'ret':
      return isImm(i.src) ? [] : [i.src];
    case 'exit':
      return [0];
    default:
      return [];
  }
}

/** Registers an instruction writes. */
export function defs(i: IrInsn): VReg[] {
  switch (i.op) {
    case 'mov':
    case 'ldi64':
    case 'ldmap':
    case 'alu':
    case 'neg':
    case 'swap':
    case 'ld':
      return [i.dst];
    case 'atomic':
      return i.aop.startsWith('fetch_') || i.aop === 'xchg' ? [i.src] : [];
    case 'call':
    case 'callsub':
      return [0, 1, 2, 3, 4, 5];
    case 'entry': {
      const out: VReg[] = [];
      for (let k = 1; k <= i.nargs; k++) out.push(k);
      return out;
    }
    default:
      return [];
  }
}

/** True when removing the instruction (its results unused) changes nothing. */
export function isPure(i: IrInsn): boolean {
  switch (i.op) {
    case 'mov':
    case 'ldi64':
    case 'ldmap':
    case 'alu':
    case 'neg':
    case 'swap':
    case 'ld':
      return true;
    default:
      return false;
  }
}

/** True for instructions that end a basic block. */
export function isTerminator(i: IrInsn): boolean {
  return i.op === 'ja' || i.op === 'exit' || i.op === 'ret';
}

/** A human-readable line for one IR instruction (for debugging and tests). */
export function formatIr(i: IrInsn): string {
  const r = (v: VReg) => (v < FIRST_VREG ? `r${v}` : `v${v}`);
  const o = (x: Operand) => (isImm(x) ? String(x.imm) : r(x));
  switch (i.op) {
    case 'mov':
      return `${r(i.dst)} =${i.w === 32 ? '32' : ''} ${o(i.src)}`;
    case 'ldi64':
      return `${r(i.dst)} = ${i.value} ll`;
    case 'ldmap':
      return `${r(i.dst)} = map ${i.map}${i.valueOff !== undefined ? ` value+${i.valueOff}` : ''}`;
    case 'alu':
      return `${r(i.dst)} = ${r(i.a)} ${i.aop}${i.w === 32 ? '32' : ''} ${o(i.b)}`;
    case 'neg':
      return `${r(i.dst)} = -${r(i.a)}`;
    case 'swap':
      return `${r(i.dst)} = bswap${i.bits} ${r(i.a)}`;
    case 'ld':
      return `${r(i.dst)} = *(${i.size} *)(${r(i.base)} + ${i.off})`;
    case 'st':
      return `*(${i.size} *)(${r(i.base)} + ${i.off}) = ${o(i.src)}`;
    case 'atomic':
      return `atomic ${i.aop} *(${i.size} *)(${r(i.base)} + ${i.off}), ${r(i.src)}`;
    case 'call':
      return `call ${i.helper} (${i.nargs} args)`;
    case 'callsub':
      return `call ${i.name} (${i.nargs} args)`;
    case 'jcc':
      return `if ${r(i.a)} ${i.cond}${i.w === 32 ? '32' : ''} ${o(i.b)} goto ${i.target}`;
    case 'ja':
      return `goto ${i.target}`;
    case 'label':
      return `${i.name}:`;
    case 'ret':
      return `return ${o(i.src)}`;
    case 'exit':
      return 'exit';
    case 'entry':
      return `entry (${i.nargs} args)`;
  }
}
