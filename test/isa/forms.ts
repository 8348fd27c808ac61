/**
 * Every instruction form of the ISA, built with the constructors, with
 * representative operands (registers, negative and extreme offsets and
 * immediates). Shared by the round-trip tests.
 */
import * as isa from '../../lib/isa/index.js';
import type { Insn } from '../../lib/isa/index.js';

const aluOps: isa.AluOpName[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'];
const conds: isa.JmpCond[] = ['eq', 'gt', 'ge', 'set', 'ne', 'sgt', 'sge', 'lt', 'le', 'slt', 'sle'];
const atomics: isa.AtomicOpName[] = ['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'];
const sizes: isa.SizeName[] = ['u8', 'u16', 'u32', 'u64'];
const imms = [0, 1, -1, 0x7fffffff, -0x80000000, 0x1234];
const offs = [0, 8, -8, 0x7fff, -0x8000];

/** All forms; each entry is one instruction with canonical (kernel-valid) encoding. */
export function allForms(): Insn[] {
  const out: Insn[] = [];
  for (const op of aluOps) {
    for (const imm of imms) {
      out.push(isa.alu64Imm(op, 3, imm), isa.alu32Imm(op, 4, imm));
    }
    out.push(isa.alu64Reg(op, 1, 10), isa.alu32Reg(op, 0, 9));
  }
  out.push(isa.mov64Imm(0, 2), isa.mov64Reg(6, 1), isa.mov32Imm(1, -1), isa.mov32Reg(2, 3));
  for (const b of [8, 16, 32] as const) out.push(isa.movsx64(1, 2, b));
  for (const b of [8, 16] as const) out.push(isa.movsx32(1, 2, b));
  out.push(isa.neg64(5), isa.neg32(7));
  for (const b of [16, 32, 64] as const) out.push(isa.toLe(1, b), isa.toBe(2, b), isa.bswap(3, b));
  out.push(isa.addrSpaceCast(1, 2, 1, 0), isa.addrSpaceCast(3, 3, 0, 1));
  for (const off of offs) {
    out.push(isa.ja(off), isa.mayGoto(off));
    for (const c of conds) {
      out.push(isa.jmpImm(c, 1, -3, off), isa.jmpReg(c, 2, 3, off), isa.jmp32Imm(c, 4, 0x7fffffff, off), isa.jmp32Reg(c, 5, 6, off));
    }
  }
  out.push(isa.gotol(0), isa.gotol(-1), isa.gotol(0x7fffffff), isa.gotol(-0x80000000));
  out.push(isa.gotox(3), isa.callx(4), isa.call(1), isa.call(212), isa.callLocal(5), isa.callLocal(-1), isa.callKfunc(12345), isa.exit());
  for (const v of [0n, 1n, -1n, 0x123456789abcdef0n, -0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffffn, 0x80000000n]) {
    out.push(isa.ldImm64(1, v));
  }
  out.push(
    isa.ldMapFd(1, 7),
    isa.ldMapValue(2, 7, 16),
    isa.ldMapIdx(3, 0),
    isa.ldMapIdxValue(4, 1, 8),
    isa.ldBtfId(5, 77),
    isa.ldFunc(6, 3),
  );
  for (const s of sizes) {
    for (const off of offs) {
      out.push(isa.ldx(s, 1, 10, off), isa.stx(s, 10, 2, off), isa.st(s, 10, off, -5));
      if (s !== 'u64') out.push(isa.ldxsx(s, 3, 1, off));
      out.push(isa.loadAcquire(s, 1, 2, off), isa.storeRelease(s, 3, 4, off));
    }
  }
  for (const s of ['u32', 'u64'] as const) for (const a of atomics) out.push(isa.atomic(s, a, 1, a === 'cmpxchg' ? 3 : 2, -16));
  for (const s of ['u8', 'u16', 'u32'] as const) out.push(isa.ldAbs(s, 14), isa.ldInd(s, 7, 2), isa.ldInd(s, 6, 0));
  return out;
}
