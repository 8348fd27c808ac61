/**
 * The kernel's `reg_bounds_sync` (`__update_reg_bounds`, `__reg_deduce_bounds`,
 * `__reg_bound_offset` in kernel/bpf/verifier.c, Linux 6.18) computed on
 * 32-bit halves held in plain numbers.
 *
 * Registers keep their 64-bit bounds as bigints; every bigint operation
 * allocates, and the sync runs after nearly every ALU operation and branch.
 * Here each 64-bit quantity is split once into a high and a low half
 * (through a typed array, which V8 compiles inline), the deduction runs on
 * numbers, and only the results that changed are joined back into bigints.
 * The result is identical to the bigint formulation, which the tests keep
 * as an oracle.
 *
 * Conventions: an unsigned 64-bit value is `(hi, lo)` with both halves in
 * 0..2^32-1; a signed one has `hi` in -2^31..2^31-1 and `lo` unsigned.
 *
 * @module
 */
import type { Tnum } from './tnum.js';
import { s64 as b64, u64 as u64a, halves, LO, HI } from './halves.js';

/** The 64-bit fields `sync` reads and writes (the rest of a register passes through). */
export interface Bounds {
  vo: Tnum;
  smin: bigint;
  smax: bigint;
  umin: bigint;
  umax: bigint;
  s32min: number;
  s32max: number;
  u32min: number;
  u32max: number;
}

/** `a < b` on halves: the high halves compare as given (both signed or both unsigned), the low ones unsigned. */
function lt(ah: number, al: number, bh: number, bl: number): boolean {
  return ah < bh || (ah === bh && al < bl);
}

/** 2^bits - 1 for bits in 0..32, as an unsigned number. */
function lowMask(bits: number): number {
  return bits >= 32 ? 0xffffffff : 2 ** bits - 1;
}

/**
 * `reg_bounds_sync` on the bounds of `r` (a register whose known bits are not constant).
 * Returns the new values of the fields in {@link Bounds}, reusing `r`'s bigints where
 * they did not change; the caller merges them into a register.
 *
 * One function with local variables on purpose: numbers kept in module or closure
 * variables would be boxed on every write, which costs more than the bigints saved.
 */
export function syncBoundsSplit(r: Bounds): Bounds {
  b64[0] = r.vo.value;
  let vh = halves[HI]!, vl = halves[LO]!;
  b64[0] = r.vo.mask;
  let mh = halves[HI]!, ml = halves[LO]!;
  u64a[0] = r.umin;
  let uminH = halves[HI]!, uminL = halves[LO]!;
  u64a[0] = r.umax;
  let umaxH = halves[HI]!, umaxL = halves[LO]!;
  b64[0] = r.smin;
  let sminH = halves[HI]! | 0, sminL = halves[LO]!;
  b64[0] = r.smax;
  let smaxH = halves[HI]! | 0, smaxL = halves[LO]!;
  let s32min = r.s32min, s32max = r.s32max, u32min = r.u32min, u32max = r.u32max;
  const v0h = vh, v0l = vl, m0h = mh, m0l = ml;
  const umin0H = uminH, umin0L = uminL, umax0H = umaxH, umax0L = umaxL;
  const smin0H = sminH, smin0L = sminL, smax0H = smaxH, smax0L = smaxL;

  for (let pass = 0; pass < 2; pass++) {
    if (pass === 1) {
      // __reg_bound_offset: intersect the known bits with tnum_range(umin, umax), and
      // their low half with tnum_range(u32min, u32max); then bounds from bits once more.
      const chiH = (uminH ^ umaxH) >>> 0;
      const chiL = (uminL ^ umaxL) >>> 0;
      let rvh: number, rvl: number, rmh: number, rml: number;
      if (chiH === 0 && chiL === 0) {
        rvh = uminH; rvl = uminL; rmh = 0; rml = 0;
      } else if (chiH >= 0x80000000) {
        rvh = 0; rvl = 0; rmh = 0xffffffff; rml = 0xffffffff;
      } else if (chiH !== 0) {
        rmh = lowMask(32 - Math.clz32(chiH));
        rml = 0xffffffff;
        rvh = (uminH & ~rmh) >>> 0;
        rvl = 0;
      } else {
        rmh = 0;
        rml = lowMask(32 - Math.clz32(chiL));
        rvh = uminH;
        rvl = (uminL & ~rml) >>> 0;
      }
      mh = (mh & rmh) >>> 0;
      ml = (ml & rml) >>> 0;
      vh = ((vh | rvh) & ~mh) >>> 0;
      vl = ((vl | rvl) & ~ml) >>> 0;
      const chi32 = (u32min ^ u32max) >>> 0;
      const r32m = chi32 === 0 ? 0 : lowMask(32 - Math.clz32(chi32));
      ml = (ml & r32m) >>> 0;
      vl = ((vl | ((u32min & ~r32m) >>> 0)) & ~ml) >>> 0;
    }
    // __update_reg32_bounds and __update_reg64_bounds: bounds from the known bits.
    s32min = Math.max(s32min, (vl | (ml & 0x80000000)) | 0);
    s32max = Math.min(s32max, (vl | (ml & 0x7fffffff)) | 0);
    u32min = Math.max(u32min, vl);
    u32max = Math.min(u32max, (vl | ml) >>> 0);
    let h = (vh | (mh & 0x80000000)) | 0;
    if (lt(sminH, sminL, h, vl)) { sminH = h; sminL = vl; }
    h = (vh | (mh & 0x7fffffff)) | 0;
    let l = (vl | ml) >>> 0;
    if (lt(h, l, smaxH, smaxL)) { smaxH = h; smaxL = l; }
    if (lt(uminH, uminL, vh, vl)) { uminH = vh; uminL = vl; }
    h = (vh | mh) >>> 0;
    if (lt(h, l, umaxH, umaxL)) { umaxH = h; umaxL = l; }
    if (pass === 1) break;

    for (let round = 0; round < 2; round++) {
      // __reg32_deduce_bounds: a 64-bit range with a fixed upper half bounds the low half.
      if (uminH === umaxH) {
        u32min = Math.max(u32min, uminL);
        u32max = Math.min(u32max, umaxL);
        if ((uminL | 0) <= (umaxL | 0)) {
          s32min = Math.max(s32min, uminL | 0);
          s32max = Math.min(s32max, umaxL | 0);
        }
      }
      if (sminH === smaxH) {
        if ((sminL | 0) <= (smaxL | 0)) {
          s32min = Math.max(s32min, sminL | 0);
          s32max = Math.min(s32max, smaxL | 0);
        }
        if (sminL <= smaxL) {
          u32min = Math.max(u32min, sminL);
          u32max = Math.min(u32max, smaxL);
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
      // __reg64_deduce_bounds: signed <-> unsigned (the unsigned range read as signed).
      if (!lt(umaxH | 0, umaxL, uminH | 0, uminL)) {
        h = uminH | 0;
        if (lt(sminH, sminL, h, uminL)) { sminH = h; sminL = uminL; }
        h = umaxH | 0;
        if (lt(h, umaxL, smaxH, smaxL)) { smaxH = h; smaxL = umaxL; }
      }
      if (sminH >= 0 || smaxH < 0) {
        h = sminH >>> 0;
        if (lt(uminH, uminL, h, sminL)) { uminH = h; uminL = sminL; }
        h = smaxH >>> 0;
        if (lt(h, smaxL, umaxH, umaxL)) { umaxH = h; umaxL = smaxL; }
      }
      // __reg_deduce_mixed_bounds: 32-bit bounds refine 64-bit ones with a fixed upper half.
      if (uminH === umaxH) {
        if (uminL < u32min) uminL = u32min;
        if (u32max < umaxL) umaxL = u32max;
      }
      if (
        // as the bigint formulation: one round when the 64-bit bounds equal the input's
        round === 0 && uminH === umin0H && uminL === umin0L && umaxH === umax0H && umaxL === umax0L &&
        sminH === smin0H && sminL === smin0L && smaxH === smax0H && smaxL === smax0L
      ) {
        break;
      }
    }
  }

  const vo = vh === v0h && vl === v0l && mh === m0h && ml === m0l ? r.vo : { value: joinU(vh, vl), mask: joinU(mh, ml) };
  return {
    vo,
    umin: uminH === umin0H && uminL === umin0L ? r.umin : joinU(uminH, uminL),
    umax: umaxH === umax0H && umaxL === umax0L ? r.umax : joinU(umaxH, umaxL),
    smin: sminH === smin0H && sminL === smin0L ? r.smin : joinS(sminH, sminL),
    smax: smaxH === smax0H && smaxL === smax0L ? r.smax : joinS(smaxH, smaxL),
    s32min, s32max, u32min, u32max,
  };
}

/** The unsigned bigint with halves (h, l). */
function joinU(h: number, l: number): bigint {
  halves[HI] = h;
  halves[LO] = l;
  return u64a[0]!;
}

/** The signed bigint with halves (h, l). */
function joinS(h: number, l: number): bigint {
  halves[HI] = h;
  halves[LO] = l;
  return b64[0]!;
}
