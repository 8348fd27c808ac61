/**
 * Tristate numbers (known bits): a 64-bit value where each bit is known 0,
 * known 1 or unknown. `value` holds the known 1 bits, `mask` the unknown
 * bits (`value & mask` is always 0).
 *
 * Mirrors kernel/bpf/tnum.c (Linux 6.18).
 *
 * @module
 */
import * as halfSlot from './halves.js';

/** 2^64 - 1. */
export const U64_MAX = (1n << 64n) - 1n;
const U32_MASK = 0xffffffffn;

/** A tristate number. */
export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

/** The fully unknown tnum. */
export const TNUM_UNKNOWN: Tnum = Object.freeze({ value: 0n, mask: U64_MAX });

/** A known constant (taken modulo 2^64). */
export function tnumConst(v: bigint): Tnum {
  return { value: u64(v), mask: 0n };
}

/** The smallest tnum that contains every value of [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  if (chi === 0n) return tnumConst(min);
  const bits = fls64(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: min & ~delta & U64_MAX, mask: delta };
}

// fls64 of a non-zero value below 2^64: the number of its significant bits.
function fls64(v: bigint): number {
  if (v <= 0xffffffffn) return 32 - Math.clz32(Number(v));
  const hi = Number(v >> 32n);
  return hi > 0xffffffff ? 65 : 64 - Math.clz32(hi);
}

/** Whether every bit is known. */
export function tnumIsConst(a: Tnum): boolean {
  return a.mask === 0n;
}

/** Left shift (bits shifted out are dropped). */
export function tnumLshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: (a.value << s) & U64_MAX, mask: (a.mask << s) & U64_MAX };
}

/** Logical right shift. */
export function tnumRshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: a.value >> s, mask: a.mask >> s };
}

/** Arithmetic right shift of the low `insnBitness` bits. */
export function tnumArshift(a: Tnum, shift: number, insnBitness: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (insnBitness === 32) {
    const v = u32b(s32b(a.value) >> s);
    const m = u32b(s32b(a.mask) >> s);
    return { value: v, mask: m };
  }
  return { value: u64(s64(a.value) >> s), mask: u64(s64(a.mask) >> s) };
}

/** Addition modulo 2^64. */
export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = (a.mask + b.mask) & U64_MAX;
  const sv = (a.value + b.value) & U64_MAX;
  const sigma = (sm + sv) & U64_MAX;
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64_MAX, mask: mu };
}

/** Subtraction modulo 2^64. */
export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = (a.value - b.value) & U64_MAX;
  const alpha = (dv + a.mask) & U64_MAX;
  const beta = (dv - b.mask) & U64_MAX;
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64_MAX, mask: mu };
}

/** Negation modulo 2^64. */
export function tnumNeg(a: Tnum): Tnum {
  return tnumSub(tnumConst(0n), a);
}

/** Bitwise and. */
export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64_MAX };
}

/** Bitwise or. */
export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64_MAX };
}

/** Bitwise xor. */
export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/**
 * Multiplication (the kernel's `tnum_mul`: exact product of the known parts
 * plus the accumulated uncertainty). `bits` (64 or 32) bounds the work: bits
 * above it are discarded by the caller.
 *
 * The bit walk runs on 32-bit halves in plain numbers (a bigint walk costs
 * about 64 x 10 allocations); test/verifier keeps the bigint walk as an oracle.
 */
export function tnumMul(a: Tnum, b: Tnum, bits = 64): Tnum {
  if (a.mask === 0n && b.mask === 0n) return tnumConst(a.value * b.value);
  const accV = (a.value * b.value) & U64_MAX;
  // Walk the operand with fewer uncertain bits (a constant multiplier ends the walk quickly).
  let x = a;
  let y = b;
  if (b.mask === 0n && a.mask !== 0n) {
    x = b;
    y = a;
  }
  halfSlot.u64[0] = x.value;
  let xvh = halfSlot.halves[halfSlot.HI]!, xvl = halfSlot.halves[halfSlot.LO]!;
  halfSlot.u64[0] = x.mask;
  let xmh = halfSlot.halves[halfSlot.HI]!, xml = halfSlot.halves[halfSlot.LO]!;
  halfSlot.u64[0] = y.value;
  let yvh = halfSlot.halves[halfSlot.HI]!, yvl = halfSlot.halves[halfSlot.LO]!;
  halfSlot.u64[0] = y.mask;
  let ymh = halfSlot.halves[halfSlot.HI]!, yml = halfSlot.halves[halfSlot.LO]!;
  // The accumulated uncertainty is (0; accM): adding (0; m) to it gives
  // (0; ((accM + m) mod 2^64) | accM | m) (tnumAdd with both values 0).
  let accH = 0, accL = 0;
  const allH = bits >= 64 ? 0xffffffff : bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  const allL = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  for (let i = 0; i < bits && (xvh | xvl | xmh | xml) !== 0; i++) {
    let add = true;
    let mH = 0, mL = 0;
    if (xvl & 1) {
      mH = ymh; mL = yml;
    } else if (xml & 1) {
      mH = (yvh | ymh) >>> 0; mL = (yvl | yml) >>> 0;
    } else {
      add = false;
    }
    if (add) {
      const lo = accL + mL;
      const sumL = lo >>> 0;
      const sumH = (accH + mH + (lo > 0xffffffff ? 1 : 0)) >>> 0;
      accH = (sumH | accH | mH) >>> 0;
      accL = (sumL | accL | mL) >>> 0;
    }
    if ((accH & allH) >>> 0 === allH && (accL & allL) >>> 0 === allL) break; // nothing more to learn in the low bits
    xvl = ((xvl >>> 1) | ((xvh & 1) << 31)) >>> 0;
    xvh >>>= 1;
    xml = ((xml >>> 1) | ((xmh & 1) << 31)) >>> 0;
    xmh >>>= 1;
    yvh = ((yvh << 1) | (yvl >>> 31)) >>> 0;
    yvl = (yvl << 1) >>> 0;
    ymh = ((ymh << 1) | (yml >>> 31)) >>> 0;
    yml = (yml << 1) >>> 0;
  }
  halfSlot.halves[halfSlot.HI] = accH;
  halfSlot.halves[halfSlot.LO] = accL;
  return tnumAdd({ value: accV, mask: 0n }, { value: 0n, mask: halfSlot.u64[0]! });
}

/** Bits known in either (both must agree). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/** Truncates to `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  const m = (1n << BigInt(size * 8)) - 1n;
  return { value: a.value & m, mask: a.mask & m };
}

/** Whether every value of `b` is a value of `a`. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if ((b.mask & ~a.mask & U64_MAX) !== 0n) return false;
  return a.value === (b.value & ~a.mask & U64_MAX);
}

/** Identical known bits and values. */
export function tnumEq(a: Tnum, b: Tnum): boolean {
  return a.value === b.value && a.mask === b.mask;
}

/** The low 32 bits. */
export function tnumSubreg(a: Tnum): Tnum {
  return tnumCast(a, 4);
}

/** The upper 32 bits kept, the low 32 cleared. */
export function tnumClearSubreg(a: Tnum): Tnum {
  return tnumLshift(tnumRshift(a, 32), 32);
}

/** The upper 32 bits of `a` with the low 32 bits of `b`. */
export function tnumWithSubreg(a: Tnum, b: Tnum): Tnum {
  return tnumOr(tnumClearSubreg(a), tnumSubreg(b));
}

/** `(value; mask)` as the kernel prints it. */
export function tnumStr(a: Tnum): string {
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}

/** 2^32 - 1 as a bigint. */
export const U32_MAX_BIG = U32_MASK;

const TWO64 = 1n << 64n;
const TWO63 = 1n << 63n;
const M32 = 0xffffffffn;

/** `v` modulo 2^64 (avoids BigInt.asUintN, which trips a V8 optimiser bug in Node 20). */
export function u64(v: bigint): bigint {
  return v & U64_MAX;
}

/** `v` as a signed 64-bit value. */
export function s64(v: bigint): bigint {
  const u = v & U64_MAX;
  return u >= TWO63 ? u - TWO64 : u;
}

/** `v` modulo 2^32. */
export function u32b(v: bigint): bigint {
  return v & M32;
}

/** `v` as a signed 32-bit value. */
export function s32b(v: bigint): bigint {
  const u = v & M32;
  return u >= 0x80000000n ? u - 0x100000000n : u;
}

/** `v` as a signed value of `bits` bits. */
export function sN(v: bigint, bits: number): bigint {
  const m = (1n << BigInt(bits)) - 1n;
  const u = v & m;
  return u >= 1n << BigInt(bits - 1) ? u - (1n << BigInt(bits)) : u;
}
