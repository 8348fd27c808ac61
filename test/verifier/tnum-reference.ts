/**
 * Test oracle: the kernel's tnum_mul walked on bigints (the formulation
 * lib/verifier/tnum.ts replaced with a walk on 32-bit halves).
 */
import { type Tnum, U64_MAX, tnumConst, tnumAdd } from '../../lib/verifier/tnum.js';

/**
 * Reference multiplication (the kernel's `tnum_mul`: exact product of the known parts
 * plus the accumulated uncertainty). `bits` (64 or 32) bounds the work: bits
 * above it are discarded by the caller.
 */
export function referenceTnumMul(a: Tnum, b: Tnum, bits = 64): Tnum {
  if (a.mask === 0n && b.mask === 0n) return tnumConst(a.value * b.value);
  const accV = (a.value * b.value) & U64_MAX;
  const all = bits >= 64 ? U64_MAX : (1n << BigInt(bits)) - 1n;
  // Walk the operand with fewer uncertain bits (a constant multiplier ends the walk quickly).
  let x = a;
  let y = b;
  if (b.mask === 0n && a.mask !== 0n) {
    x = b;
    y = a;
  }
  // The accumulated uncertainty is (0; accM): adding (0; m) to it gives
  // (0; ((accM + m) mod 2^64) | accM | m) (tnumAdd with both values 0), so
  // it is kept as one bigint, without allocating tnums in the loop.
  let accM = 0n;
  let xv = x.value;
  let xm = x.mask;
  let yv = y.value;
  let ym = y.mask;
  for (let i = 0; i < bits && (xv !== 0n || xm !== 0n); i++) {
    if ((xv & 1n) !== 0n) accM = ((accM + ym) & U64_MAX) | accM | ym;
    else if ((xm & 1n) !== 0n) {
      const m = (yv | ym) & U64_MAX;
      accM = ((accM + m) & U64_MAX) | accM | m;
    }
    if ((accM & all) === all) break; // nothing more can be learned in the low bits
    xv >>= 1n;
    xm >>= 1n;
    yv = (yv << 1n) & U64_MAX;
    ym = (ym << 1n) & U64_MAX;
  }
  return tnumAdd({ value: accV, mask: 0n }, { value: 0n, mask: accM });
}

