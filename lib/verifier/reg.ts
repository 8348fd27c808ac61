/**
 * Abstract register state: the type of a register and, for scalars (and the
 * variable part of pointer offsets), known bits plus unsigned/signed 64-bit
 * and 32-bit bounds kept consistent the way the kernel's `reg_bounds_sync`
 * does (`__update_reg_bounds`, `__reg_deduce_bounds`, `__reg_bound_offset`
 * in kernel/bpf/verifier.c, Linux 6.18).
 *
 * Registers are immutable values: every operation returns a new one, so a
 * verifier state is copied by copying references.
 *
 * @module
 */
import {
  type Tnum, TNUM_UNKNOWN, U64_MAX, tnumConst, tnumRange, tnumIntersect, tnumSubreg, tnumWithSubreg, tnumCast,
  tnumIsConst, tnumIn, tnumStr, u64, s64, sN,
} from './tnum.js';

/** Register types (`enum bpf_reg_type`, the subset verifier-lite models). */
export const enum RT {
  NOT_INIT = 0,
  SCALAR,
  CTX,
  MAP_PTR,
  MAP_VALUE,
  MAP_VALUE_OR_NULL,
  STACK,
  PKT,
  PKT_END,
  PKT_META,
  SOCK,
  SOCK_OR_NULL,
  SOCK_COMMON,
  SOCK_COMMON_OR_NULL,
  RINGBUF_MEM,
  RINGBUF_MEM_OR_NULL,
  /** Something verifier-lite does not model (an unmodelled helper's result): every use is accepted. */
  OPAQUE,
}

/** Names as the kernel's `reg_type_str` prints them. */
export const RT_NAME: readonly string[] = [
  '?', 'scalar', 'ctx', 'map_ptr', 'map_value', 'map_value_or_null', 'fp', 'pkt', 'pkt_end', 'pkt_meta', 'sock',
  'sock_or_null', 'sock_common', 'sock_common_or_null', 'ringbuf_mem', 'ringbuf_mem_or_null', 'opaque',
];

/** Smallest signed 64-bit value. */
export const S64_MIN = -(1n << 63n);
/** Largest signed 64-bit value. */
export const S64_MAX = (1n << 63n) - 1n;
/** Largest unsigned 32-bit value. */
export const U32_MAX = 0xffffffff;
/** Smallest signed 32-bit value. */
export const S32_MIN = -0x80000000;
/** Largest signed 32-bit value. */
export const S32_MAX = 0x7fffffff;

/** One register. Pointers keep their variable offset in the scalar fields. */
export interface Reg {
  readonly t: RT;
  readonly vo: Tnum;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly s32min: number;
  readonly s32max: number;
  readonly u32min: number;
  readonly u32max: number;
  /** Fixed offset of a pointer. */
  readonly off: number;
  /** Pointer identity (null checks, packet range sharing) or linked-scalar id. */
  readonly id: number;
  /** Reference id of an acquired object (socket, ringbuf record). */
  readonly ref: number;
  /** Packet range proven by a comparison with pkt_end. */
  readonly range: number;
  /** Map index (map pointers and values). */
  readonly map: number;
  /** Frame number of a stack pointer. */
  readonly frame: number;
}

const base: Reg = {
  t: RT.SCALAR, vo: TNUM_UNKNOWN, smin: S64_MIN, smax: S64_MAX, umin: 0n, umax: U64_MAX,
  s32min: S32_MIN, s32max: S32_MAX, u32min: 0, u32max: U32_MAX, off: 0, id: 0, ref: 0, range: 0, map: -1, frame: 0,
};

/** An unknown scalar. */
export const UNKNOWN: Reg = Object.freeze({ ...base });
/** An uninitialised register. */
export const NOT_INIT: Reg = Object.freeze({ ...base, t: RT.NOT_INIT });
/** The opaque value. */
export const OPAQUE_REG: Reg = Object.freeze({ ...base, t: RT.OPAQUE });

const smallConsts = new Map<bigint, Reg>();

/** A known 64-bit constant. */
export function constReg(v: bigint): Reg {
  const cached = smallConsts.get(v);
  if (cached) return cached;
  const r = makeConst(v);
  if (smallConsts.size < 4096) smallConsts.set(v, r);
  return r;
}

function makeConst(v: bigint): Reg {
  const u = u64(v);
  const s = s64(v);
  const lo = Number(u & 0xffffffffn);
  return {
    ...base, vo: tnumConst(u), smin: s, smax: s, umin: u, umax: u,
    s32min: lo | 0, s32max: lo | 0, u32min: lo, u32max: lo,
  };
}

const immConsts = new Map<number, Reg>();

/** `constReg(BigInt(imm))` for a 32-bit instruction immediate (sign-extended), cached by number. */
export function constRegImm(imm: number): Reg {
  let r = immConsts.get(imm);
  if (r === undefined) {
    r = constReg(BigInt(imm));
    if (immConsts.size < 4096) immConsts.set(imm, r);
  }
  return r;
}

let zeroReg: Reg | undefined;
/** A pointer of type `t` with a zero, known variable offset. */
export function ptrReg(t: RT, fields: Partial<Reg> = {}): Reg {
  zeroReg ??= constReg(0n);
  return { ...zeroReg, t, ...fields };
}

/** Whether the value (or a pointer's variable offset) is known exactly. */
export function isConst(r: Reg): boolean {
  return tnumIsConst(r.vo);
}

/** A scalar from the given pieces, bounds synced. */
export function scalarFrom(p: Partial<Reg>): Reg {
  return sync({ ...base, ...p });
}

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const M32 = 0xffffffffn;
const SIGN64 = 1n << 63n;
const s32 = (v: bigint) => Number(v & M32) | 0;
const u32 = (v: bigint) => Number(v & M32);

/** `reg_bounds_sync`: tighten every bound from every other one. */
export function sync(r0: Reg): Reg {
  let vo = r0.vo;
  if (vo.mask === 0n) {
    // A known value: every bound is that value (or the bounds contradict it).
    const v = vo.value;
    const sv = s64(v);
    const lo = Number(v & 0xffffffffn);
    const lo32 = lo | 0;
    if (v < r0.umin || v > r0.umax || sv < r0.smin || sv > r0.smax || lo < r0.u32min || lo > r0.u32max || lo32 < r0.s32min || lo32 > r0.s32max) {
      return { ...r0, umin: 1n, umax: 0n };
    }
    return { ...r0, smin: sv, smax: sv, umin: v, umax: v, s32min: lo32, s32max: lo32, u32min: lo, u32max: lo };
  }
  if (
    vo.mask === U64_MAX && r0.umin === 0n && r0.umax === U64_MAX && r0.smin === S64_MIN && r0.smax === S64_MAX &&
    r0.u32min === 0 && r0.u32max === U32_MAX && r0.s32min === S32_MIN && r0.s32max === S32_MAX
  ) {
    return r0;
  }
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
  return { ...r0, vo, smin, smax, umin, umax, s32min, s32max, u32min, u32max };
}

/** Whether the bounds are contradictory (the path is impossible). */
export function isInvalid(r: Reg): boolean {
  return r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max;
}

const truncatedUnknown: Reg[] = [];

/** Zero-extends the low `size` bytes (`coerce_reg_to_size`). */
export function truncate(r: Reg, size: number): Reg {
  if (size >= 8) return r;
  if (r === UNKNOWN) {
    const c = truncatedUnknown[size];
    if (c) return c;
  }
  // Already within `size` bytes (and non-negative): only the link id goes.
  if (r.t === RT.SCALAR && r.umax < 1n << BigInt(size * 8) && r.vo.value <= r.umax && (r.vo.mask >> BigInt(size * 8)) === 0n) {
    return r.id === 0 ? r : { ...r, id: 0 };
  }
  const mask = (1n << BigInt(size * 8)) - 1n;
  const vo = tnumCast(r.vo, size);
  let umin = 0n;
  let umax = mask;
  if (r.umax - r.umin <= mask && (r.umin & ~mask) === (r.umax & ~mask)) {
    umin = r.umin & mask;
    umax = r.umax & mask;
  }
  const out = scalarFrom({ vo, umin, umax, smin: umin, smax: umax, id: 0 });
  if (r === UNKNOWN) truncatedUnknown[size] = out;
  return out;
}

/** Sign-extends the low `size` bytes (`coerce_reg_to_size_sx`). */
export function signExtend(r: Reg, size: number): Reg {
  if (size >= 8) return r;
  const bits = BigInt(size * 8);
  if (isConst(r)) return constReg(sN(r.vo.value, Number(bits)));
  const t = truncate(r, size);
  const lo = -(1n << (bits - 1n));
  const hi = (1n << (bits - 1n)) - 1n;
  if (t.umax <= BigInt(hi)) return scalarFrom({ smin: t.umin, smax: t.umax, umin: t.umin, umax: t.umax });
  return scalarFrom({ smin: lo, smax: hi });
}

/** The 32-bit subregister zero-extended into 64 bits (after an ALU32 op). */
export function zext32(r: Reg): Reg {
  // Already a zero-extended 32-bit value: nothing changes.
  if (r.t === RT.SCALAR && r.umax <= 0xffffffffn && r.vo.value <= 0xffffffffn && r.vo.mask <= 0xffffffffn) return r;
  return scalarFrom({
    vo: tnumSubreg(r.vo), umin: BigInt(r.u32min), umax: BigInt(r.u32max), smin: BigInt(r.u32min), smax: BigInt(r.u32max),
    u32min: r.u32min, u32max: r.u32max, s32min: r.s32min, s32max: r.s32max,
  });
}

/** `range_within(old, cur) && tnum_in(old, cur)`: every value of `cur` is a value of `old`. */
export function scalarWithin(old: Reg, cur: Reg): boolean {
  return (
    old.umin <= cur.umin && old.umax >= cur.umax && old.smin <= cur.smin && old.smax >= cur.smax &&
    old.u32min <= cur.u32min && old.u32max >= cur.u32max && old.s32min <= cur.s32min && old.s32max >= cur.s32max &&
    tnumIn(old.vo, cur.vo)
  );
}

/** Exact equality of the value part. */
export function scalarEqual(a: Reg, b: Reg): boolean {
  return (
    a.umin === b.umin && a.umax === b.umax && a.smin === b.smin && a.smax === b.smax && a.u32min === b.u32min &&
    a.u32max === b.u32max && a.s32min === b.s32min && a.s32max === b.s32max && a.vo.value === b.vo.value &&
    a.vo.mask === b.vo.mask
  );
}

/** The register as the kernel's log prints it (`scalar(smin=0,smax=255)`, `pkt(r=14)`, `fp-8`, `42`). */
export function regStr(r: Reg, mapName?: (i: number) => string): string {
  if (r.t === RT.NOT_INIT) return '?';
  const rangeParts = (): string[] => {
    const parts: string[] = [];
    if (isConst(r)) return parts;
    if (r.smin !== S64_MIN) parts.push(`smin=${r.smin}`);
    if (r.smax !== S64_MAX) parts.push(`smax=${r.smax}`);
    if (r.umin !== 0n) parts.push(`umin=${r.umin}`);
    if (r.umax !== U64_MAX) parts.push(`umax=${r.umax}`);
    if (r.s32min !== S32_MIN) parts.push(`smin32=${r.s32min}`);
    if (r.s32max !== S32_MAX) parts.push(`smax32=${r.s32max}`);
    if (r.u32min !== 0) parts.push(`umin32=${r.u32min}`);
    if (r.u32max !== U32_MAX) parts.push(`umax32=${r.u32max}`);
    if (r.vo.mask !== U64_MAX) parts.push(`var_off=${tnumStr(r.vo)}`);
    return parts;
  };
  if (r.t === RT.SCALAR) {
    if (isConst(r)) return `${s64(r.vo.value)}`;
    const p = rangeParts();
    if (r.id) p.unshift(`id=${r.id}`);
    return `scalar(${p.join(',')})`;
  }
  if (r.t === RT.STACK && isConst(r)) return `fp${r.off + Number(s64(r.vo.value))}`;
  const p: string[] = [];
  if (r.id) p.push(`id=${r.id}`);
  if (r.ref) p.push(`ref_obj_id=${r.ref}`);
  if (r.off) p.push(`off=${r.off}`);
  if (r.t === RT.PKT || r.t === RT.PKT_META) p.push(`r=${r.range}`);
  if (r.map >= 0 && mapName) p.push(`map=${mapName(r.map)}`);
  p.push(...rangeParts());
  return `${RT_NAME[r.t]}(${p.join(',')})`;
}

/** The value of a known scalar as a bigint (signed). */
export function constValue(r: Reg): bigint {
  return s64(r.vo.value);
}

/** Re-exported for callers comparing known bits. */
export { tnumIn };
