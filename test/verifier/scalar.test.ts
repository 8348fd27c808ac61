/**
 * Soundness of the scalar domain (tnum + 64/32-bit bounds): for random
 * abstract operands and concrete values inside them, every ALU result and
 * every branch refinement must still contain the concrete outcome, and
 * decided branches must be decided correctly.
 */
import { describe, expect, it } from 'vitest';
import { aluScalar, branchTaken, refine, Op, J } from '../../lib/verifier/scalar-ops.js';
import { scalarFrom, constReg, type Reg } from '../../lib/verifier/reg.js';
import { tnumRange, tnumConst, tnumMul, tnumAdd, tnumIn, U64_MAX } from '../../lib/verifier/tnum.js';
import { rng } from '../../bench/verifier/corpus.js';

const rand = rng(99);
const r64 = (): bigint => {
  const k = rand();
  if (k < 0.3) return BigInt(Math.floor(rand() * 64));
  if (k < 0.5) return BigInt(Math.floor(rand() * 2 ** 32));
  if (k < 0.6) return U64_MAX - BigInt(Math.floor(rand() * 64));
  return (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
};

function abstract(): { reg: Reg; sample: () => bigint } {
  const a = r64();
  const b = rand() < 0.3 ? a : r64();
  const lo = a < b ? a : b;
  const hi = a < b ? b : a;
  if (lo === hi) return { reg: constReg(lo), sample: () => lo };
  const span = hi - lo;
  return {
    reg: scalarFrom({ umin: lo, umax: hi, vo: tnumRange(lo, hi) }),
    sample: () => {
      const k = rand();
      if (k < 0.2) return lo;
      if (k < 0.4) return hi;
      return lo + ((BigInt(Math.floor(rand() * 2 ** 32)) * (span + 1n)) >> 32n);
    },
  };
}

function contains(r: Reg, v: bigint): boolean {
  const u = BigInt.asUintN(64, v);
  const s = BigInt.asIntN(64, v);
  const lo = Number(u & 0xffffffffn);
  return (
    u >= r.umin && u <= r.umax && s >= r.smin && s <= r.smax && lo >= r.u32min && lo <= r.u32max &&
    (lo | 0) >= r.s32min && (lo | 0) <= r.s32max && tnumIn(r.vo, tnumConst(u))
  );
}

function concrete(op: Op, a: bigint, b: bigint, w: 32 | 64): bigint {
  const m = w === 64 ? U64_MAX : 0xffffffffn;
  const x = a & m;
  const y = b & m;
  const sx = (v: bigint) => (w === 64 ? BigInt.asIntN(64, v) : BigInt.asIntN(32, v));
  switch (op) {
    case Op.ADD: return (x + y) & m;
    case Op.SUB: return (x - y) & m;
    case Op.MUL: return (x * y) & m;
    case Op.AND: return x & y;
    case Op.OR: return x | y;
    case Op.XOR: return x ^ y;
    case Op.LSH: return (x << (y & BigInt(w - 1))) & m;
    case Op.RSH: return x >> (y & BigInt(w - 1));
    case Op.ARSH: return sx(x) >> (y & BigInt(w - 1)) & m;
    case Op.DIV: return y === 0n ? 0n : x / y;
    case Op.MOD: return y === 0n ? x : x % y;
    default: return 0n;
  }
}

function holds(op: J, a: bigint, b: bigint, w: 32 | 64): boolean {
  const m = w === 64 ? U64_MAX : 0xffffffffn;
  const x = a & m;
  const y = b & m;
  const s = (v: bigint) => (w === 64 ? BigInt.asIntN(64, v) : BigInt.asIntN(32, v));
  switch (op) {
    case J.JEQ: return x === y;
    case J.JNE: return x !== y;
    case J.JGT: return x > y;
    case J.JGE: return x >= y;
    case J.JLT: return x < y;
    case J.JLE: return x <= y;
    case J.JSGT: return s(x) > s(y);
    case J.JSGE: return s(x) >= s(y);
    case J.JSLT: return s(x) < s(y);
    case J.JSLE: return s(x) <= s(y);
    case J.JSET: return (x & y) !== 0n;
    default: return false;
  }
}

describe('scalar domain soundness', () => {
  it('ALU results contain every concrete result (64- and 32-bit)', () => {
    const ops = [Op.ADD, Op.SUB, Op.MUL, Op.AND, Op.OR, Op.XOR, Op.LSH, Op.RSH, Op.ARSH, Op.DIV, Op.MOD];
    let checked = 0;
    for (let k = 0; k < 3000; k++) {
      const A = abstract();
      const B = rand() < 0.5 ? abstract() : (() => { const c = BigInt(Math.floor(rand() * 70)); return { reg: constReg(c), sample: () => c }; })();
      const op = ops[k % ops.length]!;
      for (const w of [64, 32] as const) {
        if ((op === Op.LSH || op === Op.RSH || op === Op.ARSH) && B.reg.umax >= BigInt(w)) continue;
        const R = aluScalar(op, A.reg, B.reg, w);
        for (let j = 0; j < 8; j++) {
          const x = A.sample();
          const y = B.sample();
          const want = concrete(op, x, y, w);
          if (!contains(R, want)) throw new Error(`op ${op} w${w}: ${x} op ${y} = ${want} not in ${JSON.stringify(R, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('branch decisions are right and refinements keep every value that satisfies the branch', () => {
    const ops = [J.JEQ, J.JNE, J.JGT, J.JGE, J.JLT, J.JLE, J.JSGT, J.JSGE, J.JSLT, J.JSLE, J.JSET];
    for (let k = 0; k < 1200; k++) {
      const A = abstract();
      const B = rand() < 0.5 ? abstract() : (() => { const c = r64(); return { reg: constReg(c), sample: () => c }; })();
      const op = ops[k % ops.length]!;
      for (const w of [64, 32] as const) {
        const taken = branchTaken(op, A.reg, B.reg, w);
        const t = refine(op, A.reg, B.reg, w);
        const f = op === J.JSET ? refine(J.JSET, A.reg, B.reg, w, true) : refine(negateOp(op), A.reg, B.reg, w);
        for (let j = 0; j < 8; j++) {
          const x = A.sample();
          const y = B.sample();
          const h = holds(op, x, y, w);
          if (taken === 1) expect(h).toBe(true);
          if (taken === 0) expect(h).toBe(false);
          const side = h ? t : f;
          expect(side).not.toBeNull();
          expect(contains(side![0], x) && contains(side![1], y)).toBe(true);
        }
      }
    }
  });

  it('tnum multiplication and addition are exact on constants and sound on ranges', () => {
    expect(tnumMul(tnumConst(6n), tnumConst(7n))).toEqual(tnumConst(42n));
    expect(tnumAdd(tnumConst(U64_MAX), tnumConst(2n))).toEqual(tnumConst(1n));
    const t = tnumMul(tnumRange(0n, 3n), tnumConst(4n));
    for (const v of [0n, 4n, 8n, 12n]) expect(tnumIn(t, tnumConst(v))).toBe(true);
  });
});

function negateOp(op: J): J {
  const m: Partial<Record<J, J>> = {
    [J.JEQ]: J.JNE, [J.JNE]: J.JEQ, [J.JGT]: J.JLE, [J.JLE]: J.JGT, [J.JGE]: J.JLT, [J.JLT]: J.JGE,
    [J.JSGT]: J.JSLE, [J.JSLE]: J.JSGT, [J.JSGE]: J.JSLT, [J.JSLT]: J.JSGE,
  };
  return m[op]!;
}
