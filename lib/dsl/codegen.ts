/**
 * Code generation: allocated IR to eBPF instructions. Three-address IR
 * instructions become one instruction when the allocator gave the result the
 * register of the first operand (the usual case) and a move plus the
 * operation otherwise; self-moves disappear; every instruction carries the
 * source position of its IR instruction.
 */
import {
  type AluOpName,
  type Insn,
  alu32Imm,
  alu32Reg,
  alu64Imm,
  alu64Reg,
  atomic,
  call,
  callLocal,
  exit,
  ja,
  jmp32Imm,
  jmp32Reg,
  jmpImm,
  jmpReg,
  ldImm64,
  ldMapFd,
  ldMapValue,
  ldx,
  mov32Imm,
  mov32Reg,
  mov64Imm,
  mov64Reg,
  neg32,
  neg64,
  st,
  stx,
  toBe,
} from '../isa/insn.js';
import type { ProgramBuilder } from '../isa/link.js';
import { DslError } from './errors.js';
import { type IrInsn, type VReg, isImm } from './ir.js';

const COMMUTATIVE = new Set<AluOpName>(['add', 'mul', 'and', 'or', 'xor']);

/** Emits one allocated function into `out`; labels are used as they are (callers make them unique). */
export function emitFunction(ir: readonly IrInsn[], color: ReadonlyMap<VReg, number>, out: ProgramBuilder): void {
  const r = (v: VReg): number => {
    const c = color.get(v);
    if (c === undefined) throw new DslError(`internal: virtual register v${v} has no register`);
    return c;
  };
  for (const i of ir) {
    const emitted: Insn[] = [];
    const e = (x: Insn) => emitted.push(x);
    switch (i.op) {
      case 'entry':
        break;
      case 'label':
        out.label(i.name);
        break;
      case 'mov': {
        const d = r(i.dst);
        if (isImm(i.src)) e(i.w === 64 ? mov64Imm(d, i.src.imm) : mov32Imm(d, i.src.imm));
        else {
          const s = r(i.src);
          if (i.w === 64) {
            if (s !== d) e(mov64Reg(d, s));
          } else e(mov32Reg(d, s));
        }
        break;
      }
      case 'ldi64':
        e(ldImm64(r(i.dst), i.value));
        break;
      case 'ldmap':
        e(i.valueOff !== undefined ? ldMapValue(r(i.dst), i.map, i.valueOff) : ldMapFd(r(i.dst), i.map));
        break;
      case 'alu': {
        const d = r(i.dst);
        let a = r(i.a);
        let b: number | { imm: number } = isImm(i.b) ? i.b : r(i.b);
        if (a !== d && typeof b === 'number' && b === d && COMMUTATIVE.has(i.aop)) {
          const t = a;
          a = b;
          b = t;
        }
        if (a !== d) e(i.w === 64 ? mov64Reg(d, a) : mov32Reg(d, a));
        if (typeof b === 'number') e(i.w === 64 ? alu64Reg(i.aop, d, b) : alu32Reg(i.aop, d, b));
        else {
          const noop = b.imm === 0 && (i.aop === 'add' || i.aop === 'sub' || i.aop === 'or' || i.aop === 'xor' || i.aop === 'lsh' || i.aop === 'rsh' || i.aop === 'arsh');
          if (!noop || (i.w === 32 && a !== d)) e(i.w === 64 ? alu64Imm(i.aop, d, b.imm) : alu32Imm(i.aop, d, b.imm));
          else if (noop && i.w === 32 && a === d) {
            /* a 32-bit no-op on an already zero-extended value */
          }
        }
        break;
      }
      case 'neg': {
        const d = r(i.dst);
        const a = r(i.a);
        if (a !== d) e(mov64Reg(d, a));
        e(i.w === 64 ? neg64(d) : neg32(d));
        break;
      }
      case 'swap': {
        const d = r(i.dst);
        const a = r(i.a);
        if (a !== d) e(mov64Reg(d, a));
        e(toBe(d, i.bits));
        break;
      }
      case 'ld':
        e(ldx(i.size, r(i.dst), r(i.base), i.off));
        break;
      case 'st':
        if (isImm(i.src)) e(st(i.size, r(i.base), i.off, i.src.imm));
        else e(stx(i.size, r(i.base), r(i.src), i.off));
        break;
      case 'atomic':
        e(atomic(i.size, i.aop, r(i.base), r(i.src), i.off));
        break;
      case 'call':
        e(call(i.helper));
        break;
      case 'callsub':
        e(callLocal(i.name));
        break;
      case 'jcc': {
        const a = r(i.a);
        if (isImm(i.b)) e(i.w === 64 ? jmpImm(i.cond, a, i.b.imm, i.target) : jmp32Imm(i.cond, a, i.b.imm, i.target));
        else e(i.w === 64 ? jmpReg(i.cond, a, r(i.b), i.target) : jmp32Reg(i.cond, a, r(i.b), i.target));
        break;
      }
      case 'ja':
        e(ja(i.target));
        break;
      case 'exit':
        e(exit());
        break;
      case 'ret':
        throw new DslError('internal: return not lowered', i.pos);
    }
    for (const x of emitted) {
      if (i.pos) x.source = i.pos;
      out.emit(x);
    }
  }
}
