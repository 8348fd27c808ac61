/**
 * Test oracle: the bounds part of `reg_bounds_sync` written directly on bigints
 * (the formulation lib/verifier/bounds-sync.ts replaced for speed). Slow and
 * obviously equal to the kernel's C; the tests check the fast version against it.
 */
import { type Tnum, tnumRange, tnumIntersect, tnumSubreg, tnumWithSubreg, s64, u64 } from '../../lib/verifier/tnum.js';
import type { Bounds } from '../../lib/verifier/bounds-sync.js';

const S64_MAX = (1n << 63n) - 1n;
const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const M32 = 0xffffffffn;
const SIGN64 = 1n << 63n;
const s32 = (v: bigint) => Number(v & M32) | 0;
const u32 = (v: bigint) => Number(v & M32);

/** `reg_bounds_sync` on bigints, for a register whose known bits are not constant. */
export function referenceSync(r0: Bounds): Bounds {
  let vo: Tnum = r0.vo;
  let { smin, smax, umin, umax, s32min, s32max, u32min, u32max } = r0;
  // __update_reg32_bounds / __update_reg64_bounds: from known bits (written
  // out twice rather than as a closure, which would keep these variables in
  // a heap context).
  {
    const sub = tnumSubreg(vo);
    s32min = Math.max(s32min, s32(sub.value | (sub.mask & 0x80000000n)));
    s32max = Math.min(s32max, s32(sub.value | (sub.mask & 0x7fffffffn)));
    u32min = Math.max(u32min, u32(sub.value));
    u32max = Math.min(u32max, u32(sub.value | sub.mask));
    smin = max(smin, s64(vo.value | (vo.mask & SIGN64)));
    smax = min(smax, s64(vo.value | (vo.mask & S64_MAX)));
    umin = max(umin, vo.value);
    umax = min(umax, vo.value | vo.mask);
  }
  for (let round = 0; round < 2; round++) {
    // __reg32_deduce_bounds: 64-bit range with a fixed upper half gives 32-bit bounds.
    if (umin >> 32n === umax >> 32n) {
      u32min = Math.max(u32min, u32(umin));
      u32max = Math.min(u32max, u32(umax));
      if (s32(umin) <= s32(umax)) {
        s32min = Math.max(s32min, s32(umin));
        s32max = Math.min(s32max, s32(umax));
      }
    }
    if (smin >> 32n === smax >> 32n) {
      if (s32(smin) <= s32(smax)) {
        s32min = Math.max(s32min, s32(smin));
        s32max = Math.min(s32max, s32(smax));
      }
      if (u32(smin) <= u32(smax)) {
        u32min = Math.max(u32min, u32(smin));
        u32max = Math.min(u32max, u32(smax));
      }
    }
    // 32-bit signed <-> unsigned.
    if ((u32min | 0) <= (u32max | 0)) {
      s32min = Math.max(s32min, u32min | 0);
      s32max = Math.min(s32max, u32max | 0);
    }
    if (s32min >= 0 || s32max < 0) {
      u32min = Math.max(u32min, s32min >>> 0);
      u32max = Math.min(u32max, s32max >>> 0);
    }
    // __reg64_deduce_bounds: signed <-> unsigned.
    if (s64(umin) <= s64(umax)) {
      smin = max(smin, s64(umin));
      smax = min(smax, s64(umax));
    }
    if (smin >= 0n || smax < 0n) {
      umin = max(umin, u64(smin));
      umax = min(umax, u64(smax));
    }
    // __reg_deduce_mixed_bounds: 32-bit bounds refine 64-bit ones with a fixed upper half.
    if (umin >> 32n === umax >> 32n) {
      const hi = umin & ~0xffffffffn;
      umin = max(umin, hi | BigInt(u32min));
      umax = min(umax, hi | BigInt(u32max));
    }
    if (round === 0 && umin === r0.umin && umax === r0.umax && smin === r0.smin && smax === r0.smax) break;
  }
  // __reg_bound_offset: known bits from ranges, then bounds from the new bits.
  const v64 = tnumIntersect(vo, tnumRange(umin, umax));
  const v32 = tnumIntersect(tnumSubreg(v64), tnumRange(BigInt(u32min), BigInt(u32max)));
  vo = tnumWithSubreg(v64, v32);
  {
    const sub = tnumSubreg(vo);
    s32min = Math.max(s32min, s32(sub.value | (sub.mask & 0x80000000n)));
    s32max = Math.min(s32max, s32(sub.value | (sub.mask & 0x7fffffffn)));
    u32min = Math.max(u32min, u32(sub.value));
    u32max = Math.min(u32max, u32(sub.value | sub.mask));
    smin = max(smin, s64(vo.value | (vo.mask & SIGN64)));
    smax = min(smax, s64(vo.value | (vo.mask & S64_MAX)));
    umin = max(umin, vo.value);
    umax = min(umax, vo.value | vo.mask);
  }
  return { vo, smin, smax, umin, umax, s32min, s32max, u32min, u32max };
}
