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
  type Tnum, TNUM_UNKNOWN, U64_MAX, tnumConst, tnumSubreg, tnumCast,
  tnumIsConst, tnumIn, tnumStr, u64, s64, sN,
} from './tnum.js';
import { syncBoundsSplit } from './bounds-sync.js';

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

/**
 * Builds a register from every field. All registers come from here (or
 * {@link withBounds} / {@link withFields}), so they share one object shape:
 * V8 then reads their fields with monomorphic loads, whereas object spreads
 * of registers from many origins fall back to a slow runtime copy.
 */
export function makeReg(
  t: RT, vo: Tnum, smin: bigint, smax: bigint, umin: bigint, umax: bigint, s32min: number, s32max: number,
  u32min: number, u32max: number, off: number, id: number, ref: number, range: number, map: number, frame: number,
): Reg {
  return { t, vo, smin, smax, umin, umax, s32min, s32max, u32min, u32max, off, id, ref, range, map, frame };
}

/** `r` with new value bounds; type, offset and identity kept. */
export function withBounds(
  r: Reg, vo: Tnum, smin: bigint, smax: bigint, umin: bigint, umax: bigint, s32min: number, s32max: number, u32min: number, u32max: number,
): Reg {
  return makeReg(r.t, vo, smin, smax, umin, umax, s32min, s32max, u32min, u32max, r.off, r.id, r.ref, r.range, r.map, r.frame);
}

/**
 * `r` with the fields of `p` replaced (`p` holds register fields only, none of them
 * undefined). The copy keeps the shared shape, since every key already exists.
 */
export function withFields(r: Reg, p: Partial<Reg>): Reg {
  return Object.assign(
    makeReg(r.t, r.vo, r.smin, r.smax, r.umin, r.umax, r.s32min, r.s32max, r.u32min, r.u32max, r.off, r.id, r.ref, r.range, r.map, r.frame),
    p,
  );
}

/** `r` with another id (link between scalars, or pointer identity). */
export function withId(r: Reg, id: number): Reg {
  return makeReg(r.t, r.vo, r.smin, r.smax, r.umin, r.umax, r.s32min, r.s32max, r.u32min, r.u32max, r.off, id, r.ref, r.range, r.map, r.frame);
}

const base: Reg = makeReg(RT.SCALAR, TNUM_UNKNOWN, S64_MIN, S64_MAX, 0n, U64_MAX, S32_MIN, S32_MAX, 0, U32_MAX, 0, 0, 0, 0, -1, 0);

/** An unknown scalar. */
export const UNKNOWN: Reg = Object.freeze(withFields(base, {}));
/** An uninitialised register. */
export const NOT_INIT: Reg = Object.freeze(withFields(base, { t: RT.NOT_INIT }));
/** The opaque value. */
export const OPAQUE_REG: Reg = Object.freeze(withFields(base, { t: RT.OPAQUE }));

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
  return withBounds(base, tnumConst(u), s, s, u, u, lo | 0, lo | 0, lo, lo);
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
export function ptrReg(t: RT, fields?: Partial<Reg>): Reg {
  zeroReg ??= constReg(0n);
  const z = zeroReg;
  return Object.assign(makeReg(t, z.vo, z.smin, z.smax, z.umin, z.umax, z.s32min, z.s32max, z.u32min, z.u32max, 0, 0, 0, 0, -1, 0), fields);
}

/** Whether the value (or a pointer's variable offset) is known exactly. */
export function isConst(r: Reg): boolean {
  return tnumIsConst(r.vo);
}

/** A scalar from the given pieces, bounds synced. */
export function scalarFrom(p: Partial<Reg>): Reg {
  return sync(withFields(base, p));
}

/** {@link scalarFrom} with every bound given (the fast form for hot paths). */
export function scalarOf(
  vo: Tnum, smin: bigint, smax: bigint, umin: bigint, umax: bigint, s32min: number, s32max: number, u32min: number, u32max: number,
): Reg {
  return sync(withBounds(base, vo, smin, smax, umin, umax, s32min, s32max, u32min, u32max));
}

/** `reg_bounds_sync`: tighten every bound from every other one. */
export function sync(r0: Reg): Reg {
  const vo = r0.vo;
  if (vo.mask === 0n) {
    // A known value: every bound is that value (or the bounds contradict it).
    const v = vo.value;
    const sv = s64(v);
    const lo = Number(v & 0xffffffffn);
    const lo32 = lo | 0;
    if (v < r0.umin || v > r0.umax || sv < r0.smin || sv > r0.smax || lo < r0.u32min || lo > r0.u32max || lo32 < r0.s32min || lo32 > r0.s32max) {
      return withBounds(r0, vo, r0.smin, r0.smax, 1n, 0n, r0.s32min, r0.s32max, r0.u32min, r0.u32max);
    }
    return withBounds(r0, vo, sv, sv, v, v, lo32, lo32, lo, lo);
  }
  if (
    vo.mask === U64_MAX && r0.umin === 0n && r0.umax === U64_MAX && r0.smin === S64_MIN && r0.smax === S64_MAX &&
    r0.u32min === 0 && r0.u32max === U32_MAX && r0.s32min === S32_MIN && r0.s32max === S32_MAX
  ) {
    return r0;
  }
  const b = syncBoundsSplit(r0);
  return withBounds(r0, b.vo, b.smin, b.smax, b.umin, b.umax, b.s32min, b.s32max, b.u32min, b.u32max);
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
    return r.id === 0 ? r : withId(r, 0);
  }
  const mask = (1n << BigInt(size * 8)) - 1n;
  const vo = tnumCast(r.vo, size);
  let umin = 0n;
  let umax = mask;
  if (r.umax - r.umin <= mask && (r.umin & ~mask) === (r.umax & ~mask)) {
    umin = r.umin & mask;
    umax = r.umax & mask;
  }
  const out = scalarOf(vo, umin, umax, umin, umax, S32_MIN, S32_MAX, 0, U32_MAX);
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
  const umin = BigInt(r.u32min);
  const umax = BigInt(r.u32max);
  return scalarOf(tnumSubreg(r.vo), umin, umax, umin, umax, r.s32min, r.s32max, r.u32min, r.u32max);
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
