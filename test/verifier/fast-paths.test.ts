import { describe, expect, it } from 'vitest';
import { syncBoundsSplit, type Bounds } from '../../lib/verifier/bounds-sync.js';
import { tnumRange, tnumMul, U64_MAX, s64, u64 } from '../../lib/verifier/tnum.js';
import { mulberry32 } from '../helpers/prng.js';
import { referenceSync } from './sync-reference.js';
import { referenceTnumMul } from './tnum-reference.js';

const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

/** Random 64-bit values biased to the edges the bounds logic cares about. */
function valueGen(rnd: () => number): () => bigint {
  const edges = [0n, 1n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, S64_MAX, 1n << 63n, U64_MAX, U64_MAX - 1n];
  const word = () => BigInt(Math.floor(rnd() * 2 ** 32));
  return () => {
    const k = rnd();
    if (k < 0.3) return edges[Math.floor(rnd() * edges.length)]!;
    if (k < 0.5) return word() & ((1n << BigInt(1 + Math.floor(rnd() * 32))) - 1n);
    if (k < 0.7) return u64(-(word() & 0xffffn));
    return (word() << 32n) | word();
  };
}

function sorted(a: bigint, b: bigint): [bigint, bigint] {
  return a <= b ? [a, b] : [b, a];
}

/** Registers as the walk produces them: bounds of a set of concrete values, some loosened, some contradictory. */
function randomBounds(rnd: () => number, val: () => bigint): Bounds {
  const [umin, umax] = sorted(val(), val());
  const [smin, smax] = sorted(s64(val()), s64(val()));
  const a = Math.floor(rnd() * 2 ** 32);
  const b = Math.floor(rnd() * 2 ** 32);
  const [u32min, u32max] = a <= b ? [a, b] : [b, a];
  const [s32min, s32max] = (a | 0) <= (b | 0) ? [a | 0, b | 0] : [b | 0, a | 0];
  const kind = rnd();
  const vo =
    kind < 0.3 ? { value: 0n, mask: U64_MAX } : kind < 0.7 ? tnumRange(umin, umax) : (() => {
      const mask = val() | 1n; // never constant
      return { value: val() & ~mask & U64_MAX, mask };
    })();
  const loose = rnd();
  return {
    vo,
    umin: loose < 0.2 ? 0n : umin,
    umax: loose < 0.3 ? U64_MAX : umax,
    smin: loose < 0.4 ? S64_MIN : smin,
    smax: loose < 0.5 ? S64_MAX : smax,
    u32min: loose < 0.6 ? 0 : u32min,
    u32max: loose < 0.65 ? 0xffffffff : u32max,
    s32min: loose < 0.7 ? -0x80000000 : s32min,
    s32max: loose < 0.75 ? 0x7fffffff : s32max,
  };
}

/** Bounds of an actual set of values (what ALU results and branch refinements look like). */
function boundsOfValues(values: bigint[]): Bounds {
  let umin = U64_MAX, umax = 0n, smin = S64_MAX, smax = S64_MIN;
  let u32min = 0xffffffff, u32max = 0, s32min = 0x7fffffff, s32max = -0x80000000;
  for (const v of values) {
    umin = v < umin ? v : umin;
    umax = v > umax ? v : umax;
    const s = s64(v);
    smin = s < smin ? s : smin;
    smax = s > smax ? s : smax;
    const lo = Number(v & 0xffffffffn);
    u32min = Math.min(u32min, lo);
    u32max = Math.max(u32max, lo);
    s32min = Math.min(s32min, lo | 0);
    s32max = Math.max(s32max, lo | 0);
  }
  const vo = tnumRange(umin, umax);
  return { vo: vo.mask === 0n ? { value: vo.value & ~1n, mask: 1n } : vo, umin, umax, smin, smax, u32min, u32max, s32min, s32max };
}

function same(a: Bounds, b: Bounds): boolean {
  return (
    a.vo.value === b.vo.value && a.vo.mask === b.vo.mask && a.umin === b.umin && a.umax === b.umax && a.smin === b.smin &&
    a.smax === b.smax && a.u32min === b.u32min && a.u32max === b.u32max && a.s32min === b.s32min && a.s32max === b.s32max
  );
}

describe('reg_bounds_sync on 32-bit halves', () => {
  it('equals the bigint formulation on 200,000 random registers', () => {
    for (const seed of [1, 2, 3, 4]) {
      const rnd = mulberry32(seed);
      const val = valueGen(rnd);
      for (let k = 0; k < 50_000; k++) {
        const r = k % 2 ? randomBounds(rnd, val) : boundsOfValues(Array.from({ length: 1 + Math.floor(rnd() * 4) }, val));
        const fast = syncBoundsSplit(r);
        const slow = referenceSync(r);
        if (!same(fast, slow)) {
          // one readable failure instead of 200,000 assertions
          expect({ seed, k, fast }).toEqual({ seed, k, fast: slow });
        }
      }
    }
  });

  it('keeps the input bigints when nothing changes', () => {
    const r: Bounds = {
      vo: { value: 0n, mask: 0xffn }, umin: 0n, umax: 0xffn, smin: 0n, smax: 0xffn, u32min: 0, u32max: 0xff, s32min: 0, s32max: 0xff,
    };
    const out = syncBoundsSplit(r);
    expect(out.vo).toBe(r.vo);
    expect(out).toEqual(r);
  });

  it('narrows the classic cases like the kernel', () => {
    // a u32 load: 64-bit bounds follow from the known-zero upper half
    const load = syncBoundsSplit({
      vo: { value: 0n, mask: 0xffffffffn }, umin: 0n, umax: U64_MAX, smin: S64_MIN, smax: S64_MAX,
      u32min: 0, u32max: 0xffffffff, s32min: -0x80000000, s32max: 0x7fffffff,
    });
    expect([load.umin, load.umax, load.smin, load.smax]).toEqual([0n, 0xffffffffn, 0n, 0xffffffffn]);
    // `if r > 10` fall-through on an unknown: umax 10 gives known bits and signed bounds
    const le10 = syncBoundsSplit({
      vo: { value: 0n, mask: U64_MAX }, umin: 0n, umax: 10n, smin: S64_MIN, smax: S64_MAX,
      u32min: 0, u32max: 0xffffffff, s32min: -0x80000000, s32max: 0x7fffffff,
    });
    expect(le10).toEqual({
      vo: { value: 0n, mask: 0xfn }, umin: 0n, umax: 10n, smin: 0n, smax: 10n, u32min: 0, u32max: 10, s32min: 0, s32max: 10,
    });
  });
});

describe('tnum_mul on 32-bit halves', () => {
  it('equals the bigint walk on 100,000 random operand pairs, 64- and 32-bit', () => {
    const rnd = mulberry32(7);
    const val = valueGen(rnd);
    const tnum = () => {
      const k = rnd();
      if (k < 0.25) return { value: val(), mask: 0n };
      if (k < 0.6) {
        const [lo, hi] = sorted(val(), val());
        return tnumRange(lo, hi);
      }
      const mask = val();
      return { value: val() & ~mask & U64_MAX, mask };
    };
    for (let k = 0; k < 100_000; k++) {
      const a = tnum();
      const b = tnum();
      const bits = k % 3 === 0 ? 32 : 64;
      const fast = tnumMul(a, b, bits);
      const slow = referenceTnumMul(a, b, bits);
      if (fast.value !== slow.value || fast.mask !== slow.mask) expect({ k, a, b, bits, fast }).toEqual({ k, a, b, bits, fast: slow });
    }
  });
});

describe('ALU32 on numbers', () => {
  it('equals the bigint views for every operation on 100,000 random operand pairs', async () => {
    const { aluScalar, aluScalarViews, Op } = await import('../../lib/verifier/scalar-ops.js');
    const { scalarFrom, constReg, UNKNOWN } = await import('../../lib/verifier/reg.js');
    const rnd = mulberry32(11);
    const val = valueGen(rnd);
    const reg = () => {
      const k = rnd();
      if (k < 0.25) return constReg(k < 0.1 ? BigInt(Math.floor(rnd() * 40)) : val());
      if (k < 0.3) return UNKNOWN;
      const b = boundsOfValues(Array.from({ length: 1 + Math.floor(rnd() * 4) }, val));
      return scalarFrom(b);
    };
    const ops = [Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.OR, Op.AND, Op.LSH, Op.RSH, Op.MOD, Op.XOR, Op.ARSH];
    const fields = (r: ReturnType<typeof reg>) => [r.t, r.vo.value, r.vo.mask, r.umin, r.umax, r.smin, r.smax, r.u32min, r.u32max, r.s32min, r.s32max];
    for (let k = 0; k < 100_000; k++) {
      const a = reg();
      const b = reg();
      const op = ops[k % ops.length]!;
      const fast = fields(aluScalar(op, a, b, 32));
      const slow = fields(aluScalarViews(op, a, b, 32));
      if (fast.some((x, i) => x !== slow[i])) expect({ k, op, a: fields(a), b: fields(b), fast }).toEqual({ k, op, a: fields(a), b: fields(b), fast: slow });
    }
  });
});
