/**
 * 32-bit ALU on scalars (`BPF_ALU`, the `w` registers) computed in plain
 * numbers: every 32-bit quantity fits a JavaScript number, so the known bits
 * and bounds of the low half need no bigint arithmetic. The rules are those of
 * scalar-ops.ts `aluView` at width 32 (the kernel's `scalar32_min_max_*`),
 * which the tests keep as the oracle; the result is zero-extended into 64 bits
 * and its bounds synced.
 *
 * @module
 */
import { Op } from './scalar-ops.js';
import { type Reg, scalarOf } from './reg.js';
import { u64 as split, halves, LO } from './halves.js';

/** The low 32 bits of a 64-bit value, unsigned. */
function low32(v: bigint): number {
  split[0] = v;
  return halves[LO]!;
}

const U32 = 0xffffffff;
const S32_MIN = -0x80000000;
const S32_MAX = 0x7fffffff;

// The result of one operation (module-level: numbers only, read right after each call).
let rv = 0;
let rm = 0;
let rumin = 0;
let rumax = 0;
let rsmin = 0;
let rsmax = 0;

function unknown(): void {
  rv = 0;
  rm = U32;
  rumin = 0;
  rumax = U32;
  rsmin = S32_MIN;
  rsmax = S32_MAX;
}

/** The value of `op` on two known 32-bit operands (the kernel's semantics; shifts in range). */
function concrete32(op: Op, a: number, b: number): number {
  switch (op) {
    case Op.ADD: return (a + b) >>> 0;
    case Op.SUB: return (a - b) >>> 0;
    case Op.MUL: return Math.imul(a, b) >>> 0;
    case Op.OR: return (a | b) >>> 0;
    case Op.AND: return (a & b) >>> 0;
    case Op.XOR: return (a ^ b) >>> 0;
    case Op.LSH: return (a << b) >>> 0;
    case Op.RSH: return a >>> b;
    case Op.ARSH: return (a >> b) >>> 0;
    default: return 0;
  }
}

/** tnum_mul of the low 32 bits, as tnum.ts `tnumMul(a, b, 32)` walks it. */
function tnumMul32(av: number, am: number, bv: number, bm: number): void {
  if (am === 0 && bm === 0) {
    rv = Math.imul(av, bv) >>> 0;
    rm = 0;
    return;
  }
  const accV = Math.imul(av, bv) >>> 0;
  // walk the operand with fewer uncertain bits, as the 64-bit version does
  let xv = av, xm = am, yv = bv, ym = bm;
  if (bm === 0 && am !== 0) {
    xv = bv; xm = bm; yv = av; ym = am;
  }
  let acc = 0;
  for (let i = 0; i < 32 && (xv !== 0 || xm !== 0); i++) {
    if (xv & 1) acc = (((acc + ym) >>> 0) | acc | ym) >>> 0;
    else if (xm & 1) {
      const m = (yv | ym) >>> 0;
      acc = (((acc + m) >>> 0) | acc | m) >>> 0;
    }
    if (acc === U32) break;
    xv >>>= 1;
    xm >>>= 1;
    yv = (yv << 1) >>> 0;
    ym = (ym << 1) >>> 0;
  }
  tnumAdd32(accV, 0, 0, acc);
}

function tnumAdd32(av: number, am: number, bv: number, bm: number): void {
  const sm = (am + bm) >>> 0;
  const sv = (av + bv) >>> 0;
  const sigma = (sm + sv) >>> 0;
  const chi = (sigma ^ sv) >>> 0;
  const mu = (chi | am | bm) >>> 0;
  rv = (sv & ~mu) >>> 0;
  rm = mu;
}

function tnumSub32(av: number, am: number, bv: number, bm: number): void {
  const dv = (av - bv) >>> 0;
  const alpha = (dv + am) >>> 0;
  const beta = (dv - bm) >>> 0;
  const chi = (alpha ^ beta) >>> 0;
  const mu = (chi | am | bm) >>> 0;
  rv = (dv & ~mu) >>> 0;
  rm = mu;
}

let unknown32: Reg | undefined;

/**
 * `dst op= src` for ALU32 (`op` not MOV; `sdiv`/`smod` give unknown like `div`/`mod`): the zero-extended result. Same results as
 * scalar-ops.ts `aluView(op, view(dst, 32), view(src, 32), 32)` followed by its 32-bit
 * `fromView`, without bigint arithmetic.
 */
export function alu32(op: Op, dst: Reg, src: Reg): Reg {
  const av = low32(dst.vo.value), am = low32(dst.vo.mask);
  const bv = low32(src.vo.value), bm = low32(src.vo.mask);
  compute(op, av, am, dst.u32min, dst.u32max, dst.s32min, dst.s32max, bv, bm, src.u32min, src.u32max, src.s32min, src.s32max);
  if (rv === 0 && rm === U32 && rumin === 0 && rumax === U32 && rsmin === S32_MIN && rsmax === S32_MAX) {
    return (unknown32 ??= scalarOf({ value: 0n, mask: 0xffffffffn }, 0n, 0xffffffffn, 0n, 0xffffffffn, S32_MIN, S32_MAX, 0, U32));
  }
  const umin = BigInt(rumin);
  const umax = BigInt(rumax);
  const vo = { value: BigInt(rv), mask: BigInt(rm) };
  return scalarOf(vo, umin, umax, umin, umax, rsmin, rsmax, rumin, rumax);
}

function compute(
  op: Op,
  av: number, am: number, aumin: number, aumax: number, asmin: number, asmax: number,
  bv: number, bm: number, bumin: number, bumax: number, bsmin: number, bsmax: number,
): void {
  unknown();
  if (op === Op.DIV || op === Op.MOD) return;
  const bConst = bm === 0;
  if (am === 0 && bConst && !((op === Op.LSH || op === Op.RSH || op === Op.ARSH) && bv >= 32)) {
    // `signed` only changes DIV and MOD, which never fold
    const r = concrete32(op, av, bv);
    rv = r;
    rm = 0;
    rumin = rumax = r;
    rsmin = rsmax = r | 0;
    return;
  }
  switch (op) {
    case Op.ADD: {
      tnumAdd32(av, am, bv, bm);
      const smin = asmin + bsmin;
      const smax = asmax + bsmax;
      if (smin >= S32_MIN && smax <= S32_MAX) { rsmin = smin; rsmax = smax; }
      const umax = aumax + bumax;
      if (umax <= U32) { rumin = aumin + bumin; rumax = umax; }
      break;
    }
    case Op.SUB: {
      tnumSub32(av, am, bv, bm);
      const smin = asmin - bsmax;
      const smax = asmax - bsmin;
      if (smin >= S32_MIN && smax <= S32_MAX) { rsmin = smin; rsmax = smax; }
      if (aumin >= bumax) { rumin = aumin - bumax; rumax = aumax - bumin; }
      break;
    }
    case Op.MUL: {
      tnumMul32(av, am, bv, bm);
      // the product as a double is exact below 2^53, and compares right against 2^32 above it
      const umax = aumax * bumax;
      if (umax <= U32) {
        rumin = aumin * bumin;
        rumax = umax;
        if (umax <= S32_MAX) { rsmin = rumin; rsmax = umax; }
      }
      break;
    }
    case Op.AND: {
      rv = (av & bv) >>> 0;
      rm = ((av | am) & (bv | bm) & ~rv) >>> 0;
      rumin = rv;
      rumax = aumax < bumax ? aumax : bumax;
      if (asmin >= 0 && bsmin >= 0) { rsmin = rumin; rsmax = rumax; }
      break;
    }
    case Op.OR: {
      rv = (av | bv) >>> 0;
      rm = ((am | bm) & ~rv) >>> 0;
      rumin = aumin > bumin ? aumin : bumin;
      rumax = (rv | rm) >>> 0;
      if (asmin >= 0 && bsmin >= 0) { rsmin = rumin; rsmax = rumax; }
      break;
    }
    case Op.XOR: {
      const mu = (am | bm) >>> 0;
      rv = ((av ^ bv) & ~mu) >>> 0;
      rm = mu;
      rumin = rv;
      rumax = (rv | rm) >>> 0;
      if (asmin >= 0 && bsmin >= 0) { rsmin = rumin; rsmax = rumax; }
      break;
    }
    case Op.LSH: {
      if (!bConst || bv >= 32) break;
      rv = (av << bv) >>> 0;
      rm = (am << bv) >>> 0;
      if (bv === 0 || Math.floor(aumax / 2 ** (32 - bv)) === 0) {
        rumin = aumin * 2 ** bv;
        rumax = aumax * 2 ** bv;
      }
      break;
    }
    case Op.RSH: {
      if (!bConst || bv >= 32) break;
      rv = av >>> bv;
      rm = am >>> bv;
      rumin = aumin >>> bv;
      rumax = aumax >>> bv;
      break;
    }
    case Op.ARSH: {
      if (!bConst || bv >= 32) break;
      rv = ((av | 0) >> bv) >>> 0;
      rm = ((am | 0) >> bv) >>> 0;
      rsmin = asmin >> bv;
      rsmax = asmax >> bv;
      break;
    }
    default:
      break;
  }
}
