/**
 * Scalar arithmetic and conditional-jump refinement on abstract registers:
 * the kernel's `scalar_min_max_*` / `scalar32_min_max_*` ALU rules,
 * `is_branch_taken` and `regs_refine_cond_op` (kernel/bpf/verifier.c, Linux
 * 6.18), over 64-bit and 32-bit views. Where verifier-lite is coarser than
 * the kernel it only ever loses precision (every result contains every
 * concrete outcome).
 *
 * @module
 */
import {
  type Tnum, U64_MAX, TNUM_UNKNOWN, tnumAdd, tnumSub, tnumMul, tnumAnd, tnumOr, tnumXor, tnumLshift, tnumRshift,
  tnumArshift, tnumConst, tnumSubreg, tnumIntersect, tnumIsConst, tnumWithSubreg, u64, s64, u32b, s32b,
} from './tnum.js';
import {
  type Reg, UNKNOWN, scalarFrom, scalarOf, sync, zext32, constReg, isInvalid, withBounds, S64_MIN, S64_MAX, S32_MIN, S32_MAX, U32_MAX,
} from './reg.js';
import { alu32 } from './alu32.js';

/** A value in one width: known bits and bounds, all as bigints of that width. */
interface View {
  vo: Tnum;
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}

const PARAMS64 = { umaxAll: U64_MAX, sminAll: S64_MIN, smaxAll: S64_MAX };
const PARAMS32 = { umaxAll: 0xffffffffn, sminAll: -0x80000000n, smaxAll: 0x7fffffffn };

function widthParams(w: 32 | 64) {
  return w === 64 ? PARAMS64 : PARAMS32;
}

function view(r: Reg, w: 32 | 64): View {
  if (w === 64) return { vo: r.vo, umin: r.umin, umax: r.umax, smin: r.smin, smax: r.smax };
  return { vo: tnumSubreg(r.vo), umin: BigInt(r.u32min), umax: BigInt(r.u32max), smin: BigInt(r.s32min), smax: BigInt(r.s32max) };
}

/** Whether `v` equals `view(r, w)` (without building that view). */
function sameView(v: View, r: Reg, w: 32 | 64): boolean {
  if (w === 64) {
    return v.umin === r.umin && v.umax === r.umax && v.smin === r.smin && v.smax === r.smax && v.vo.value === r.vo.value && v.vo.mask === r.vo.mask;
  }
  return (
    v.umin === BigInt(r.u32min) && v.umax === BigInt(r.u32max) && v.smin === BigInt(r.s32min) && v.smax === BigInt(r.s32max) &&
    v.vo.value === (r.vo.value & 0xffffffffn) && v.vo.mask === (r.vo.mask & 0xffffffffn)
  );
}

function unknownView(w: 32 | 64): View {
  const p = widthParams(w);
  return { vo: w === 64 ? TNUM_UNKNOWN : { value: 0n, mask: p.umaxAll }, umin: 0n, umax: p.umaxAll, smin: p.sminAll, smax: p.smaxAll };
}

function constOf(v: View): bigint | undefined {
  return tnumIsConst(v.vo) ? v.vo.value : undefined;
}

const asU = (v: bigint, w: 32 | 64) => (w === 64 ? u64 : u32b)(v);
const asS = (v: bigint, w: 32 | 64) => (w === 64 ? s64 : s32b)(v);

// fromView of the fully unknown view of each width, built once (the common
// result of arithmetic on unknown operands).
let unknown32: Reg | undefined;

function isUnknownView(v: View, w: 32 | 64): boolean {
  const P = widthParams(w);
  return v.vo.value === 0n && v.vo.mask === P.umaxAll && v.umin === 0n && v.umax === P.umaxAll && v.smin === P.sminAll && v.smax === P.smaxAll;
}

/** Builds a register from a result view of width w (a 32-bit result is zero-extended). */
function fromView(v: View, w: 32 | 64): Reg {
  if (isUnknownView(v, w)) {
    if (w === 64) return UNKNOWN;
    return (unknown32 ??= fromViewSlow(v, 32));
  }
  return fromViewSlow(v, w);
}

function fromViewSlow(v: View, w: 32 | 64): Reg {
  if (w === 64) return scalarOf(v.vo, v.smin, v.smax, v.umin, v.umax, S32_MIN, S32_MAX, 0, U32_MAX);
  // A 32-bit result zero-extended: one bounds sync.
  return scalarOf(tnumSubreg(v.vo), v.umin, v.umax, v.umin, v.umax, Number(v.smin), Number(v.smax), Number(v.umin), Number(v.umax));
}

/** ALU operation numbers (BPF_OP >> 4). */
export const enum Op {
  ADD = 0, SUB = 1, MUL = 2, DIV = 3, OR = 4, AND = 5, LSH = 6, RSH = 7, NEG = 8, MOD = 9, XOR = 10, MOV = 11,
  ARSH = 12, END = 13,
}

function concrete(op: Op, a: bigint, b: bigint, w: 32 | 64, signed: boolean): bigint {
  const ua = asU(a, w);
  const ub = asU(b, w);
  switch (op) {
    case Op.ADD: return asU(ua + ub, w);
    case Op.SUB: return asU(ua - ub, w);
    case Op.MUL: return asU(ua * ub, w);
    case Op.OR: return ua | ub;
    case Op.AND: return ua & ub;
    case Op.XOR: return ua ^ ub;
    case Op.LSH: return asU(ua << (ub & BigInt(w - 1)), w);
    case Op.RSH: return ua >> (ub & BigInt(w - 1));
    case Op.ARSH: return asU(asS(ua, w) >> (ub & BigInt(w - 1)), w);
    case Op.DIV:
      if (ub === 0n) return 0n;
      if (signed) {
        const q = asS(ua, w) / asS(ub, w);
        return asU(q, w);
      }
      return ua / ub;
    case Op.MOD:
      if (ub === 0n) return ua;
      if (signed) return asU(asS(ua, w) % asS(ub, w), w);
      return ua % ub;
    default: return 0n;
  }
}

function aluView(op: Op, a: View, b: View, w: 32 | 64, signed: boolean): View {
  const P = widthParams(w);
  const ca = constOf(a);
  const cb = constOf(b);
  if (op === Op.DIV || op === Op.MOD) return unknownView(w);
  if (ca !== undefined && cb !== undefined && !((op === Op.LSH || op === Op.RSH || op === Op.ARSH) && cb >= BigInt(w))) {
    const r = concrete(op, ca, cb, w, signed);
    return { vo: tnumConst(r), umin: r, umax: r, smin: asS(r, w), smax: asS(r, w) };
  }
  const out = unknownView(w);
  const cut = (t: Tnum): Tnum => (w === 32 ? tnumSubreg(t) : t);
  switch (op) {
    case Op.ADD: {
      out.vo = cut(tnumAdd(a.vo, b.vo));
      const smin = a.smin + b.smin;
      const smax = a.smax + b.smax;
      if (smin >= P.sminAll && smax <= P.smaxAll) { out.smin = smin; out.smax = smax; }
      const umin = a.umin + b.umin;
      const umax = a.umax + b.umax;
      if (umax <= P.umaxAll) { out.umin = umin; out.umax = umax; }
      break;
    }
    case Op.SUB: {
      out.vo = cut(tnumSub(a.vo, b.vo));
      const smin = a.smin - b.smax;
      const smax = a.smax - b.smin;
      if (smin >= P.sminAll && smax <= P.smaxAll) { out.smin = smin; out.smax = smax; }
      if (a.umin >= b.umax) { out.umin = a.umin - b.umax; out.umax = a.umax - b.umin; }
      break;
    }
    case Op.MUL: {
      out.vo = cut(tnumMul(a.vo, b.vo, w));
      const umax = a.umax * b.umax;
      if (umax <= P.umaxAll) {
        out.umin = a.umin * b.umin;
        out.umax = umax;
        if (umax <= P.smaxAll) { out.smin = out.umin; out.smax = umax; }
      }
      break;
    }
    case Op.AND: {
      out.vo = tnumAnd(a.vo, b.vo);
      out.umin = out.vo.value;
      out.umax = a.umax < b.umax ? a.umax : b.umax;
      if (a.smin >= 0n && b.smin >= 0n) { out.smin = out.umin; out.smax = out.umax; }
      break;
    }
    case Op.OR: {
      out.vo = tnumOr(a.vo, b.vo);
      out.umin = a.umin > b.umin ? a.umin : b.umin;
      out.umax = out.vo.value | out.vo.mask;
      if (a.smin >= 0n && b.smin >= 0n) { out.smin = out.umin; out.smax = out.umax; }
      break;
    }
    case Op.XOR: {
      out.vo = tnumXor(a.vo, b.vo);
      out.umin = out.vo.value;
      out.umax = out.vo.value | out.vo.mask;
      if (a.smin >= 0n && b.smin >= 0n) { out.smin = out.umin; out.smax = out.umax; }
      break;
    }
    case Op.LSH: {
      // Shifts are computed only by a constant in range (is_safe_to_compute_dst_reg_range).
      if (cb === undefined || cb >= BigInt(w)) break;
      const sh = Number(cb);
      out.vo = cut(tnumLshift(a.vo, sh));
      if (sh === 0 || a.umax >> BigInt(w - sh) === 0n) {
        out.umin = a.umin << cb;
        out.umax = a.umax << cb;
      }
      break;
    }
    case Op.RSH: {
      if (cb === undefined || cb >= BigInt(w)) break;
      const sh = Number(cb);
      out.vo = tnumRshift(a.vo, sh);
      out.umin = a.umin >> cb;
      out.umax = a.umax >> cb;
      break;
    }
    case Op.ARSH: {
      if (cb === undefined || cb >= BigInt(w)) break;
      const sh = Number(cb);
      out.vo = tnumArshift(a.vo, sh, w);
      out.smin = a.smin >> cb;
      out.smax = a.smax >> cb;
      break;
    }
    // DIV and MOD: Linux 6.18 tracks no range (the result is unknown, even for constants).
    default:
      break;
  }
  return out;
}

/** `dst op= src` on two scalars; `w` is 64 for ALU64, 32 for ALU. `signed` selects sdiv/smod (off=1). */
export function aluScalar(op: Op, dst: Reg, src: Reg, w: 32 | 64, signed = false): Reg {
  if (op === Op.MOV) return w === 64 ? src : zext32(src);
  if (w === 32) return alu32(op, dst, src);
  return aluScalarViews(op, dst, src, w, signed);
}

/**
 * {@link aluScalar} through the bigint views, at either width (the 64-bit path, and the
 * oracle the tests hold lib/verifier/alu32.ts to). @internal
 */
export function aluScalarViews(op: Op, dst: Reg, src: Reg, w: 32 | 64, signed = false): Reg {
  if (op === Op.MOV) return w === 64 ? src : zext32(src);
  if (w === 64 && dst.vo.mask === 0n && src.vo.mask === 0n && op !== Op.DIV && op !== Op.MOD && op <= Op.ARSH && op !== Op.NEG) {
    // Both known: fold.
    const b = src.vo.value;
    if (!((op === Op.LSH || op === Op.RSH || op === Op.ARSH) && b >= 64n)) return constReg(concrete(op, dst.vo.value, b, 64, signed));
  }
  const r = aluView(op, view(dst, w), view(src, w), w, signed);
  return fromView(r, w);
}

/** Byte swap / endianness conversion (`BPF_END`): `bits` 16, 32 or 64; `swap` for to_be and bswap. */
export function endScalar(dst: Reg, bits: number, swap: boolean): Reg {
  const size = bits / 8;
  if (!tnumIsConst(dst.vo)) {
    if (!swap) {
      if (bits === 64) return dst;
      return scalarFrom({ vo: { value: 0n, mask: (1n << BigInt(bits)) - 1n }, umin: 0n, umax: (1n << BigInt(bits)) - 1n });
    }
    return bits === 64 ? UNKNOWN : scalarFrom({ umin: 0n, umax: (1n << BigInt(bits)) - 1n, smin: 0n, smax: (1n << BigInt(bits)) - 1n });
  }
  let v = dst.vo.value & ((1n << BigInt(bits)) - 1n);
  if (swap) {
    let out = 0n;
    for (let i = 0; i < size; i++) {
      out = (out << 8n) | (v & 0xffn);
      v >>= 8n;
    }
    v = out;
  }
  return constReg(v);
}

/** Jump operation numbers (BPF_OP >> 4). */
export const enum J {
  JA = 0, JEQ = 1, JGT = 2, JGE = 3, JSET = 4, JNE = 5, JSGT = 6, JSGE = 7, CALL = 8, EXIT = 9, JLT = 10, JLE = 11,
  JSLT = 12, JSLE = 13, JCOND = 14,
}

/** The condition that holds when `op` is not taken. */
export function negate(op: J): J {
  switch (op) {
    case J.JEQ: return J.JNE;
    case J.JNE: return J.JEQ;
    case J.JGT: return J.JLE;
    case J.JLE: return J.JGT;
    case J.JGE: return J.JLT;
    case J.JLT: return J.JGE;
    case J.JSGT: return J.JSLE;
    case J.JSLE: return J.JSGT;
    case J.JSGE: return J.JSLT;
    case J.JSLT: return J.JSGE;
    default: return op; // JSET handled by the caller
  }
}

/** `a op b` with the operands swapped (`b op' a`). */
function flip(op: J): J {
  switch (op) {
    case J.JGT: return J.JLT;
    case J.JLT: return J.JGT;
    case J.JGE: return J.JLE;
    case J.JLE: return J.JGE;
    case J.JSGT: return J.JSLT;
    case J.JSLT: return J.JSGT;
    case J.JSGE: return J.JSLE;
    case J.JSLE: return J.JSGE;
    default: return op;
  }
}

/** `is_branch_taken` for two scalars: 1 always taken, 0 never, -1 unknown. `jset false` is passed as op JSET with negated=true by the caller. */
export function branchTaken(op: J, ra: Reg, rb: Reg, w: 32 | 64): 1 | 0 | -1 {
  const a = view(ra, w);
  const b = view(rb, w);
  switch (op) {
    case J.JEQ:
    case J.JNE: {
      let r: 1 | 0 | -1 = -1;
      const ca = constOf(a);
      const cb = constOf(b);
      if (ca !== undefined && cb !== undefined) r = ca === cb ? 1 : 0;
      else if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin) r = 0;
      else if (((a.vo.value ^ b.vo.value) & ~(a.vo.mask | b.vo.mask) & U64_MAX) !== 0n) r = 0;
      if (r === -1) return -1;
      return op === J.JEQ ? r : ((1 - r) as 1 | 0);
    }
    case J.JSET:
      if ((a.vo.value & b.vo.value) !== 0n) return 1;
      if (((a.vo.value | a.vo.mask) & (b.vo.value | b.vo.mask)) === 0n) return 0;
      return -1;
    case J.JGT:
      if (a.umin > b.umax) return 1;
      if (a.umax <= b.umin) return 0;
      return -1;
    case J.JGE:
      if (a.umin >= b.umax) return 1;
      if (a.umax < b.umin) return 0;
      return -1;
    case J.JLT:
      if (a.umax < b.umin) return 1;
      if (a.umin >= b.umax) return 0;
      return -1;
    case J.JLE:
      if (a.umax <= b.umin) return 1;
      if (a.umin > b.umax) return 0;
      return -1;
    case J.JSGT:
      if (a.smin > b.smax) return 1;
      if (a.smax <= b.smin) return 0;
      return -1;
    case J.JSGE:
      if (a.smin >= b.smax) return 1;
      if (a.smax < b.smin) return 0;
      return -1;
    case J.JSLT:
      if (a.smax < b.smin) return 1;
      if (a.smin >= b.smax) return 0;
      return -1;
    case J.JSLE:
      if (a.smax <= b.smin) return 1;
      if (a.smin > b.smax) return 0;
      return -1;
    default:
      return -1;
  }
}

/** Applies a refined view back to a register (64-bit, or the low 32 bits). */
function applyView(r: Reg, v: View, w: 32 | 64): Reg {
  if (w === 64) return sync(withBounds(r, v.vo, v.smin, v.smax, v.umin, v.umax, r.s32min, r.s32max, r.u32min, r.u32max));
  return sync(withBounds(r, tnumWithSubreg(r.vo, v.vo), r.smin, r.smax, r.umin, r.umax, Number(v.smin), Number(v.smax), Number(v.umin), Number(v.umax)));
}

const bmax = (a: bigint, b: bigint) => (a > b ? a : b);
const bmin = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * `regs_refine_cond_op`: narrows two scalars given that `a op b` holds
 * (`jsetFalse` for the fall-through of JSET). Returns null when that is
 * impossible.
 */
export function refine(op: J, ra: Reg, rb: Reg, w: 32 | 64, jsetFalse = false): [Reg, Reg] | null {
  const a = view(ra, w);
  const b = view(rb, w);
  switch (op) {
    case J.JEQ: {
      const lo = bmax(a.umin, b.umin);
      const hi = bmin(a.umax, b.umax);
      const slo = bmax(a.smin, b.smin);
      const shi = bmin(a.smax, b.smax);
      const vo = tnumIntersect(a.vo, b.vo);
      a.umin = b.umin = lo; a.umax = b.umax = hi; a.smin = b.smin = slo; a.smax = b.smax = shi;
      a.vo = b.vo = vo;
      break;
    }
    case J.JNE: {
      const cb = constOf(b);
      const ca = constOf(a);
      if (cb !== undefined) {
        if (a.umin === cb) a.umin++;
        if (a.umax === cb) a.umax--;
        if (a.smin === asS(cb, w)) a.smin++;
        if (a.smax === asS(cb, w)) a.smax--;
      } else if (ca !== undefined) {
        if (b.umin === ca) b.umin++;
        if (b.umax === ca) b.umax--;
        if (b.smin === asS(ca, w)) b.smin++;
        if (b.smax === asS(ca, w)) b.smax--;
      }
      break;
    }
    case J.JSET: {
      const cb = constOf(b);
      if (cb === undefined) break;
      const mask = w === 64 ? U64_MAX : 0xffffffffn;
      if (jsetFalse) a.vo = tnumAnd(a.vo, tnumConst(~cb & mask));
      else if (cb !== 0n && (cb & (cb - 1n)) === 0n) a.vo = tnumOr(a.vo, tnumConst(cb));
      break;
    }
    case J.JGT:
    case J.JLT:
    case J.JGE:
    case J.JLE:
    case J.JSGT:
    case J.JSLT:
    case J.JSGE:
    case J.JSLE: {
      // Normalise to a (>, >=) b.
      let x = a;
      let y = b;
      let o: J = op;
      if (op === J.JLT || op === J.JLE || op === J.JSLT || op === J.JSLE) {
        x = b;
        y = a;
        o = flip(op);
      }
      switch (o) {
        case J.JGT:
          x.umin = bmax(x.umin, y.umin + 1n);
          y.umax = bmin(y.umax, x.umax - 1n);
          break;
        case J.JGE:
          x.umin = bmax(x.umin, y.umin);
          y.umax = bmin(y.umax, x.umax);
          break;
        case J.JSGT:
          x.smin = bmax(x.smin, y.smin + 1n);
          y.smax = bmin(y.smax, x.smax - 1n);
          break;
        case J.JSGE:
          x.smin = bmax(x.smin, y.smin);
          y.smax = bmin(y.smax, x.smax);
          break;
        default:
          break;
      }
      break;
    }
    default:
      break;
  }
  if (a.umin > a.umax || a.smin > a.smax || b.umin > b.umax || b.smin > b.smax) return null;
  // Skip the (costly) bounds sync for an operand nothing was learned about.
  const na = sameView(a, ra, w) ? ra : applyView(ra, a, w);
  const nb = sameView(b, rb, w) ? rb : applyView(rb, b, w);
  if (isInvalid(na) || isInvalid(nb)) return null;
  return [na, nb];
}
