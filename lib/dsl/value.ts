/**
 * Values and conditions. A value is a virtual register or a constant with a
 * scalar type; operations on two constants fold at build time, operations
 * with one constant use immediates, and 8- to 32-bit types compute in 32-bit
 * subregisters (`w` registers), as clang does for BPF.
 *
 * Register invariant: a value of an 8/16/32-bit type sits zero-extended in
 * its register (signed ones as their 32-bit two's complement pattern); a
 * network-order value holds the raw bytes as loaded from memory.
 */
import type { AluOpName, JmpCond } from '../isa/insn.js';
import { DslError } from './errors.js';
import { Fn, Scope } from './fn.js';
import { type Operand, type VReg, type Width } from './ir.js';
import {
  type HostOf,
  type Int32Name,
  type IntName,
  type NetName,
  type NetOf,
  type ScalarName,
  type TypedScalar,
  type Wide,
  scalarInfo,
  wide,
} from './types.js';

/** A number or bigint literal. */
export type Literal = number | bigint;

const MASK64 = (1n << 64n) - 1n;

function bitsOf(t: ScalarName): bigint {
  return BigInt(scalarInfo(t).size * 8);
}

/** Normalises a JavaScript literal into the register pattern of type `t`. */
export function normalize(t: ScalarName, value: Literal): bigint {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw new DslError(`expected a number or bigint, got ${value === null ? 'null' : typeof value}`);
  if (typeof value === 'number' && !Number.isInteger(value)) throw new DslError(`${value} is not an integer`);
  const v = BigInt(value);
  const info = scalarInfo(t);
  const bits = BigInt(info.size * 8);
  let x = BigInt.asUintN(Number(bits), v);
  if (info.signed) {
    const s = BigInt.asIntN(Number(bits), v);
    x = info.w === 32 ? BigInt.asUintN(32, s) : BigInt.asUintN(64, s);
  }
  return x;
}

function byteSwap(v: bigint, bytes: number): bigint {
  let out = 0n;
  for (let i = 0; i < bytes; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The runtime class behind every DSL value (typed views: {@link IntVal}, {@link NetVal}). */
export class V {
  /** True for `b.let()` variables: their register changes, so conversions copy. */
  mutable = false;

  constructor(
    readonly fn: Fn | undefined,
    readonly type: ScalarName,
    readonly reg: VReg | undefined,
    readonly k: bigint | undefined,
    readonly scope: Scope | undefined,
  ) {}

  /** A constant of type `t` (no function: it is materialised where it is used). */
  static konst(t: ScalarName, value: Literal): V {
    return new V(undefined, t, undefined, normalize(t, value), undefined);
  }

  /** True for a build-time constant. */
  get isConst(): boolean {
    return this.k !== undefined;
  }

  /** The constant as a signed JavaScript value of the type (for messages and tests). */
  get constValue(): bigint | undefined {
    if (this.k === undefined) return undefined;
    const info = scalarInfo(this.type);
    return info.signed ? BigInt.asIntN(info.size * 8, this.k) : this.k;
  }

  private get w(): Width {
    return scalarInfo(this.type).w;
  }

  // ---- plumbing ------------------------------------------------------------

  /** The function to emit into: this value's, or the other operand's. */
  private fnWith(other?: V): Fn {
    const f = this.fn ?? other?.fn;
    if (!f) throw new DslError('internal: no function to emit into');
    return f;
  }

  /** Throws when this value may not be used here (its scope has closed). */
  check(fn: Fn): void {
    if (this.fn && this.fn !== fn) throw fn.error(`a value of another function (${this.fn.name}) is used in ${fn.name}; pass it as an argument`);
    if (this.scope && !this.scope.open) {
      throw fn.error(`a value created inside a ${this.scope.what} is used after it ended; declare it before with b.let() and set it inside`);
    }
  }

  /** The value in a register of `fn` (constants are materialised). */
  toReg(fn: Fn): VReg {
    this.check(fn);
    if (this.reg !== undefined) return this.reg;
    const r = fn.reg();
    const k = this.k!;
    const s = BigInt.asIntN(64, k);
    if (this.w === 32) fn.emit({ op: 'mov', w: 32, dst: r, src: { imm: Number(BigInt.asIntN(32, k)) } });
    else if (s >= -0x80000000n && s <= 0x7fffffffn) fn.emit({ op: 'mov', w: 64, dst: r, src: { imm: Number(s) } });
    else if (k <= 0xffffffffn) fn.emit({ op: 'mov', w: 32, dst: r, src: { imm: Number(BigInt.asIntN(32, k)) } });
    else fn.emit({ op: 'ldi64', dst: r, value: s });
    return r;
  }

  /** The value as an operand of a `w`-bit operation (an immediate when it fits). */
  operand(fn: Fn, w: Width): Operand {
    this.check(fn);
    if (this.k === undefined) return this.reg!;
    if (w === 32) return { imm: Number(BigInt.asIntN(32, this.k)) };
    const s = BigInt.asIntN(64, this.k);
    if (s >= -0x80000000n && s <= 0x7fffffffn) return { imm: Number(s) };
    return this.toReg(fn);
  }

  /** A fresh value in register `r` of `fn`. */
  static inReg(fn: Fn, t: ScalarName, r: VReg): V {
    return new V(fn, t, r, undefined, fn.scope);
  }

  /** Coerces an operand of an operation on this value. */
  private coerce(x: V | Literal, what: string): V {
    if (x instanceof V) return x;
    if (typeof x !== 'number' && typeof x !== 'bigint') throw new DslError(`${what}: expected a DSL value or a number, got ${typeof x}`, this.fn?.pos);
    if (scalarInfo(this.type).net) {
      throw new DslError(`${what}: ${this.type} values take ${this.type} operands: convert the literal with htons()/htonl() or n.toNet()`, this.fn?.pos);
    }
    return V.konst(wide(this.type as IntName), x);
  }

  /** Sign- or zero-extends a 32-bit-class value to 64 bits. */
  private to64(fn: Fn): V {
    const info = scalarInfo(this.type);
    if (info.w === 64) return this;
    const target = info.signed ? 's64' : 'u64';
    if (this.k !== undefined) return V.konst(target, info.signed ? BigInt.asIntN(32, this.k) : this.k);
    if (!info.signed) return new V(this.fn, target, this.reg, undefined, this.scope);
    const r = fn.reg();
    fn.emit({ op: 'alu', w: 64, aop: 'lsh', dst: r, a: this.toReg(fn), b: { imm: 32 } });
    fn.emit({ op: 'alu', w: 64, aop: 'arsh', dst: r, a: r, b: { imm: 32 } });
    return V.inReg(fn, target, r);
  }

  // ---- arithmetic -------------------------------------------------------------

  private binop(name: string, aop: AluOpName, xIn: V | Literal): V {
    const x = this.coerce(xIn, name);
    const mine = scalarInfo(this.type);
    const theirs = scalarInfo(x.type);
    if (mine.net !== theirs.net) throw new DslError(`${name}: cannot mix ${this.type} and ${x.type}; convert with toHost()/toNet()`, this.fn?.pos ?? x.fn?.pos);
    if (mine.net && this.type !== x.type) throw new DslError(`${name}: cannot mix ${this.type} and ${x.type}`, this.fn?.pos);
    if (mine.w === 32 && theirs.w === 64) {
      throw new DslError(`${name}: a 64-bit operand (${x.type}) on a 32-bit value (${this.type}): widen this value first with .as(u64)`, this.fn?.pos ?? x.fn?.pos);
    }
    const t: ScalarName = mine.net ? this.type : wide(this.type as IntName);
    const w = mine.w;
    const signed = mine.signed;
    let op = aop;
    if (signed && op === 'div') op = 'sdiv';
    if (signed && op === 'mod') op = 'smod';
    if (signed && op === 'rsh') op = 'arsh';
    // both constant: fold
    if (this.k !== undefined && x.k !== undefined) return V.konst(t, fold(op, w, this.k, x.k));
    const fn = this.fnWith(x);
    const y = w === 64 ? x.to64(fn) : x;
    // algebraic identities
    if (y.k !== undefined) {
      const c = y.k;
      const ones = w === 64 ? MASK64 : 0xffffffffn;
      if (c === 0n && (op === 'add' || op === 'sub' || op === 'or' || op === 'xor' || op === 'lsh' || op === 'rsh' || op === 'arsh')) return this.retype(fn, t);
      if (c === 1n && (op === 'mul' || op === 'div' || op === 'sdiv')) return this.retype(fn, t);
      if ((c & ones) === ones && op === 'and') return this.retype(fn, t);
      if (c === 0n && (op === 'mul' || op === 'and')) return V.konst(t, 0);
      if (w === 32 && !signed && (op === 'div' || op === 'mod') && c > 1n && (c & (c - 1n)) !== 0n) {
        const magic = magicU32(c);
        if (magic) return this.divByMagic(fn, op, t, c, magic.m, magic.shift);
      }
      if (c > 0n && (c & (c - 1n)) === 0n) {
        const sh = c.toString(2).length - 1;
        if (op === 'mul') return this.emitAlu(fn, 'lsh', w, t, V.konst('u32', sh));
        if (op === 'div') return this.emitAlu(fn, 'rsh', w, t, V.konst('u32', sh));
        if (op === 'mod') return this.emitAlu(fn, 'and', w, t, V.konst(t, c - 1n));
      }
    }
    if (this.k !== undefined && (op === 'add' || op === 'mul' || op === 'and' || op === 'or' || op === 'xor')) {
      // constant on the left of a commutative operation
      return y.emitAlu(fn, op, w, t, this);
    }
    return this.emitAlu(fn, op, w, t, y);
  }

  /** Unsigned 32-bit division (or modulo) by a constant through a multiply and a shift. */
  private divByMagic(fn: Fn, op: AluOpName, t: ScalarName, c: bigint, m: bigint, shift: number): V {
    const x = this.toReg(fn);
    const q = fn.reg();
    if (m <= 0x7fffffffn) {
      fn.emit({ op: 'alu', w: 64, aop: 'mul', dst: q, a: x, b: { imm: Number(m) } });
    } else {
      const mr = fn.reg();
      fn.emit({ op: 'ldi64', dst: mr, value: m });
      fn.emit({ op: 'alu', w: 64, aop: 'mul', dst: q, a: mr, b: x });
    }
    fn.emit({ op: 'alu', w: 64, aop: 'rsh', dst: q, a: q, b: { imm: shift } });
    if (op === 'div') return V.inReg(fn, t, q);
    const p = fn.reg();
    fn.emit({ op: 'alu', w: 32, aop: 'mul', dst: p, a: q, b: { imm: Number(BigInt.asIntN(32, c)) } });
    const r = fn.reg();
    fn.emit({ op: 'alu', w: 32, aop: 'sub', dst: r, a: x, b: p });
    return V.inReg(fn, t, r);
  }

  /** @internal The same register or constant seen as type `t` (no conversion). */
  reinterpret(t: ScalarName): V {
    if (this.k !== undefined) return V.konst(t, this.k);
    if (this.mutable) return this.retype(this.fn!, t);
    return new V(this.fn, t, this.reg, undefined, this.scope);
  }

  private emitAlu(fn: Fn, op: AluOpName, w: Width, t: ScalarName, y: V): V {
    const a = this.toReg(fn);
    const b = y.operand(fn, w);
    const r = fn.reg();
    fn.emit({ op: 'alu', w, aop: op, dst: r, a, b });
    return V.inReg(fn, t, r);
  }

  /** This value with another type and the same bits (copies a mutable variable). */
  private retype(fn: Fn, t: ScalarName): V {
    if (this.k !== undefined) return V.konst(t, this.k);
    if (!this.mutable && t === this.type) return this;
    if (!this.mutable) return new V(this.fn, t, this.reg, undefined, this.scope);
    const r = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: r, src: this.toReg(fn) });
    return V.inReg(fn, t, r);
  }

  /** `this + x`. */
  add(x: V | Literal): V {
    this.fn?.at();
    return this.binop('add', 'add', x);
  }
  /** `this - x`. */
  sub(x: V | Literal): V {
    this.fn?.at();
    return this.binop('sub', 'sub', x);
  }
  /** `this * x`. */
  mul(x: V | Literal): V {
    this.fn?.at();
    return this.binop('mul', 'mul', x);
  }
  /** `this / x` (unsigned, or signed `sdiv` for signed types; division by zero gives 0). */
  div(x: V | Literal): V {
    this.fn?.at();
    return this.binop('div', 'div', x);
  }
  /** `this % x` (modulo by zero gives `this`). */
  mod(x: V | Literal): V {
    this.fn?.at();
    return this.binop('mod', 'mod', x);
  }
  /** `this & x`. */
  and(x: V | Literal): V {
    this.fn?.at();
    return this.binop('and', 'and', x);
  }
  /** `this | x`. */
  or(x: V | Literal): V {
    this.fn?.at();
    return this.binop('or', 'or', x);
  }
  /** `this ^ x`. */
  xor(x: V | Literal): V {
    this.fn?.at();
    return this.binop('xor', 'xor', x);
  }
  /** `this << x`. */
  shl(x: V | Literal): V {
    this.fn?.at();
    return this.binop('shl', 'lsh', x);
  }
  /** `this >> x` (arithmetic for signed types). */
  shr(x: V | Literal): V {
    this.fn?.at();
    return this.binop('shr', 'rsh', x);
  }
  /** `-this`. */
  neg(): V {
    const fn = this.fn;
    fn?.at();
    const t = wide(this.type as IntName);
    if (this.k !== undefined || !fn) return V.konst(t, -BigInt.asIntN(Number(bitsOf(t)), this.k!));
    const r = fn.reg();
    fn.emit({ op: 'neg', w: this.w, dst: r, a: this.toReg(fn) });
    return V.inReg(fn, t, r);
  }
  /** `~this`. */
  not(): V {
    this.fn?.at();
    return this.binop('not', 'xor', scalarInfo(this.type).w === 64 ? -1n : 0xffffffff);
  }

  // ---- conversions --------------------------------------------------------------

  /** Converts to another integer type (truncating, zero- or sign-extending as C does). */
  as(to: ScalarName | { typeName: string }): V {
    const fn = this.fn;
    fn?.at();
    const t = (typeof to === 'string' ? to : to.typeName) as ScalarName;
    const src = scalarInfo(this.type);
    const dst = scalarInfo(t);
    if (!dst) throw new DslError(`as(): unknown type ${String(t)}`, fn?.pos);
    if (src.net || dst.net) {
      if (src.size === dst.size) {
        if (this.k !== undefined) return V.konst(t, this.k);
        return this.retype(fn!, t);
      }
      throw new DslError(`as(): convert ${this.type} with toHost()/toNet() (explicit byte order)`, fn?.pos);
    }
    if (this.k !== undefined) return V.konst(t, src.signed ? BigInt.asIntN(src.size * 8, this.k) : this.k);
    const f = fn!;
    if (dst.w === 64) {
      if (src.w === 64) return this.retype(f, t);
      const x = this.to64(f);
      return x.retype(f, t);
    }
    let r = this.toReg(f);
    if (src.w === 64) {
      const n = f.reg();
      f.emit({ op: 'mov', w: 32, dst: n, src: r });
      r = n;
      if (dst.size === 4) return V.inReg(f, t, r);
    } else if (dst.size >= src.size && (dst.signed === src.signed || dst.size > src.size || dst.size === 4)) {
      return this.retype(f, t);
    }
    if (dst.size === 4) return src.w === 64 ? V.inReg(f, t, r) : this.retype(f, t);
    const n = f.reg();
    if (dst.signed) {
      const sh = 32 - dst.size * 8;
      f.emit({ op: 'alu', w: 32, aop: 'lsh', dst: n, a: r, b: { imm: sh } });
      f.emit({ op: 'alu', w: 32, aop: 'arsh', dst: n, a: n, b: { imm: sh } });
    } else {
      f.emit({ op: 'alu', w: 32, aop: 'and', dst: n, a: r, b: { imm: dst.size === 1 ? 0xff : 0xffff } });
    }
    return V.inReg(f, t, n);
  }

  /** Byte-swaps between host and network order (`bpf_ntohs` / `bpf_htons` and the 32/64-bit forms). */
  private swapTo(t: ScalarName): V {
    const fn = this.fn;
    const size = scalarInfo(this.type).size;
    if (this.k !== undefined || !fn) return V.konst(t, byteSwap(this.k!, size));
    fn.at();
    const r = fn.reg();
    fn.emit({ op: 'swap', dst: r, a: this.toReg(fn), bits: (size * 8) as 16 | 32 | 64 });
    return V.inReg(fn, t, r);
  }

  /** Network to host order (`be16` -> `u16`, `be32` -> `u32`, `be64` -> `u64`). */
  toHost(): V {
    const map: Record<string, ScalarName> = { be16: 'u16', be32: 'u32', be64: 'u64' };
    const t = map[this.type];
    if (!t) throw new DslError(`toHost(): ${this.type} is not a network-order type`, this.fn?.pos);
    return this.swapTo(t);
  }

  /** Host to network order (`u16` -> `be16`, `u32` -> `be32`, `u64` -> `be64`). */
  toNet(): V {
    const map: Record<string, ScalarName> = { u16: 'be16', u32: 'be32', u64: 'be64' };
    const t = map[this.type];
    if (!t) throw new DslError(`toNet(): convert ${this.type} to u16, u32 or u64 first with .as()`, this.fn?.pos);
    return this.swapTo(t);
  }

  /** The raw bits of a network-order value as the same-sized host integer (no byte swap). */
  raw(): V {
    const map: Record<string, ScalarName> = { be16: 'u16', be32: 'u32', be64: 'u64' };
    const t = map[this.type] ?? this.type;
    if (this.k !== undefined) return V.konst(t, this.k);
    return this.retype(this.fn!, t);
  }

  // ---- comparisons -----------------------------------------------------------------

  private cmp(name: string, cond: JmpCond, xIn: V | Literal): Cond {
    this.fn?.at();
    const x = this.coerce(xIn, name);
    const mine = scalarInfo(this.type);
    const theirs = scalarInfo(x.type);
    if (mine.net !== theirs.net || (mine.net && this.type !== x.type)) {
      throw new DslError(`${name}: cannot compare ${this.type} with ${x.type}; convert with toHost()/toNet() or htons()/htonl()`, this.fn?.pos ?? x.fn?.pos);
    }
    if (mine.net && cond !== 'eq' && cond !== 'ne') throw new DslError(`${name}: network-order values only compare for equality; convert with toHost()`, this.fn?.pos);
    let w: Width = mine.w;
    let a: V = this;
    let b: V = x;
    if (mine.w !== theirs.w) {
      w = 64;
      const fn = this.fnWith(x);
      a = this.to64(fn);
      b = x.to64(fn);
    }
    let c = cond;
    if (mine.signed) c = ({ lt: 'slt', le: 'sle', gt: 'sgt', ge: 'sge' } as Record<string, JmpCond>)[c] ?? c;
    return new Cond({ kind: 'cmp', cond: c, w, a, b });
  }

  /** `this == x`. */
  eq(x: V | Literal): Cond {
    return this.cmp('eq', 'eq', x);
  }
  /** `this != x`. */
  ne(x: V | Literal): Cond {
    return this.cmp('ne', 'ne', x);
  }
  /** `this < x` (signed for signed types). */
  lt(x: V | Literal): Cond {
    return this.cmp('lt', 'lt', x);
  }
  /** `this <= x`. */
  le(x: V | Literal): Cond {
    return this.cmp('le', 'le', x);
  }
  /** `this > x`. */
  gt(x: V | Literal): Cond {
    return this.cmp('gt', 'gt', x);
  }
  /** `this >= x`. */
  ge(x: V | Literal): Cond {
    return this.cmp('ge', 'ge', x);
  }
  /** `(this & x) != 0` (one `jset`). */
  test(x: V | Literal): Cond {
    return this.cmp('test', 'set', x);
  }
}

/**
 * The multiplier and shift that divide any 32-bit unsigned value by `d` with
 * one 64-bit multiplication: `x / d == (x * m) >> shift` (Granlund-Montgomery),
 * or undefined when `m` would need more than 32 bits.
 */
export function magicU32(d: bigint): { m: bigint; shift: number } | undefined {
  for (let s = 0; s < 32; s++) {
    const p = 1n << BigInt(32 + s);
    const m = (p + d - 1n) / d;
    if (m * d - p <= 1n << BigInt(s)) return m < 1n << 32n ? { m, shift: 32 + s } : undefined;
  }
  return undefined;
}

function fold(op: AluOpName, w: Width, a: bigint, b: bigint): bigint {
  const bits = w;
  const m = (1n << BigInt(bits)) - 1n;
  const sa = BigInt.asIntN(bits, a);
  const sb = BigInt.asIntN(bits, b);
  let r: bigint;
  switch (op) {
    case 'add':
      r = a + b;
      break;
    case 'sub':
      r = a - b;
      break;
    case 'mul':
      r = a * b;
      break;
    case 'div':
      r = b === 0n ? 0n : (a & m) / (b & m);
      break;
    case 'sdiv':
      r = sb === 0n ? 0n : sa / sb;
      break;
    case 'mod':
      r = b === 0n ? a : (a & m) % (b & m);
      break;
    case 'smod':
      r = sb === 0n ? sa : sa % sb;
      break;
    case 'and':
      r = a & b;
      break;
    case 'or':
      r = a | b;
      break;
    case 'xor':
      r = a ^ b;
      break;
    case 'lsh':
      r = a << (b & BigInt(bits - 1));
      break;
    case 'rsh':
      r = (a & m) >> (b & BigInt(bits - 1));
      break;
    case 'arsh':
      r = sa >> (b & BigInt(bits - 1));
      break;
    default:
      throw new DslError(`internal: cannot fold ${op}`);
  }
  return r & m;
}

/** The shape of a condition. */
export type CondNode =
  | { kind: 'cmp'; cond: JmpCond; w: Width; a: V; b: V }
  | { kind: 'and' | 'or'; l: Cond; r: Cond }
  | { kind: 'not'; c: Cond }
  | { kind: 'const'; value: boolean };

const SWAP: Record<JmpCond, JmpCond> = {
  eq: 'eq',
  ne: 'ne',
  gt: 'lt',
  lt: 'gt',
  ge: 'le',
  le: 'ge',
  sgt: 'slt',
  slt: 'sgt',
  sge: 'sle',
  sle: 'sge',
  set: 'set',
};

function evalCmp(cond: JmpCond, w: Width, a: bigint, b: bigint): boolean {
  const ua = BigInt.asUintN(w, a);
  const ub = BigInt.asUintN(w, b);
  const sa = BigInt.asIntN(w, a);
  const sb = BigInt.asIntN(w, b);
  switch (cond) {
    case 'eq':
      return ua === ub;
    case 'ne':
      return ua !== ub;
    case 'gt':
      return ua > ub;
    case 'ge':
      return ua >= ub;
    case 'lt':
      return ua < ub;
    case 'le':
      return ua <= ub;
    case 'sgt':
      return sa > sb;
    case 'sge':
      return sa >= sb;
    case 'slt':
      return sa < sb;
    case 'sle':
      return sa <= sb;
    case 'set':
      return (ua & ub) !== 0n;
  }
}

/** A condition for `b.if`, loops and checks: comparisons combined with `and`, `or`, `not`. */
export class Cond {
  constructor(readonly node: CondNode) {}

  /** A constant condition. */
  static of(value: boolean): Cond {
    return new Cond({ kind: 'const', value });
  }

  /** Both (short-circuit). */
  and(other: Cond): Cond {
    return new Cond({ kind: 'and', l: this, r: other });
  }
  /** Either (short-circuit). */
  or(other: Cond): Cond {
    return new Cond({ kind: 'or', l: this, r: other });
  }
  /** The negation. */
  not(): Cond {
    return new Cond({ kind: 'not', c: this });
  }

  /** The value at build time, when both sides are constants. */
  constant(): boolean | undefined {
    const n = this.node;
    switch (n.kind) {
      case 'const':
        return n.value;
      case 'cmp':
        return n.a.k !== undefined && n.b.k !== undefined ? evalCmp(n.cond, n.w, n.a.k, n.b.k) : undefined;
      case 'not': {
        const c = n.c.constant();
        return c === undefined ? undefined : !c;
      }
      case 'and': {
        const l = n.l.constant();
        const r = n.r.constant();
        if (l === false || r === false) return false;
        return l === true && r === true ? true : undefined;
      }
      case 'or': {
        const l = n.l.constant();
        const r = n.r.constant();
        if (l === true || r === true) return true;
        return l === false && r === false ? false : undefined;
      }
    }
  }

  /** Emits jumps to `target` when the condition is `when`; falls through otherwise. */
  branch(fn: Fn, when: boolean, target: string): void {
    const n = this.node;
    switch (n.kind) {
      case 'const':
        if (n.value === when) fn.emit({ op: 'ja', target });
        return;
      case 'not':
        n.c.branch(fn, !when, target);
        return;
      case 'and':
      case 'or': {
        // jump-if-true of `and` / jump-if-false of `or` need a skip label
        const conj = n.kind === 'and';
        if (conj !== when) {
          // and, false: either false -> target; or, true: either true -> target
          n.l.branch(fn, when, target);
          n.r.branch(fn, when, target);
        } else {
          const skip = fn.label('c');
          n.l.branch(fn, !when, skip);
          n.r.branch(fn, when, target);
          fn.emit({ op: 'label', name: skip });
        }
        return;
      }
      case 'cmp': {
        const k = this.constant();
        if (k !== undefined) {
          if (k === when) fn.emit({ op: 'ja', target });
          return;
        }
        let { cond } = n;
        let a = n.a;
        let b = n.b;
        if (a.k !== undefined) {
          [a, b] = [b, a];
          cond = SWAP[cond];
        }
        if (!when) {
          if (cond === 'set') {
            const skip = fn.label('c');
            fn.jump('set', n.w, a.toReg(fn), b.operand(fn, n.w), skip);
            fn.emit({ op: 'ja', target });
            fn.emit({ op: 'label', name: skip });
            return;
          }
          cond = fn.invert(cond);
        }
        fn.jump(cond, n.w, a.toReg(fn), b.operand(fn, n.w), target);
        return;
      }
    }
  }
}

// ---- typed views -------------------------------------------------------------------

/** What an integer operation of type `T` accepts: a value of a compatible width or a literal. */
export type IntArg<T extends IntName> = T extends 'u64' | 's64' ? IntVal<IntName> | Literal : IntVal<Int32Name> | number;

/** A host-order integer value of type `T`. */
export interface IntVal<T extends IntName> {
  /** The scalar type name. */
  readonly type: T;
  /** True for a build-time constant. */
  readonly isConst: boolean;
  add(x: IntArg<T>): IntVal<Wide<T>>;
  sub(x: IntArg<T>): IntVal<Wide<T>>;
  mul(x: IntArg<T>): IntVal<Wide<T>>;
  div(x: IntArg<T>): IntVal<Wide<T>>;
  mod(x: IntArg<T>): IntVal<Wide<T>>;
  and(x: IntArg<T>): IntVal<Wide<T>>;
  or(x: IntArg<T>): IntVal<Wide<T>>;
  xor(x: IntArg<T>): IntVal<Wide<T>>;
  shl(x: IntArg<T>): IntVal<Wide<T>>;
  shr(x: IntArg<T>): IntVal<Wide<T>>;
  neg(): IntVal<Wide<T>>;
  not(): IntVal<Wide<T>>;
  eq(x: IntArg<T>): Cond;
  ne(x: IntArg<T>): Cond;
  lt(x: IntArg<T>): Cond;
  le(x: IntArg<T>): Cond;
  gt(x: IntArg<T>): Cond;
  ge(x: IntArg<T>): Cond;
  test(x: IntArg<T>): Cond;
  /** Converts to another integer type (C conversion rules). */
  as<U extends IntName>(to: U | TypedScalar<U>): IntVal<U>;
  /** Host to network order. */
  toNet(): NetVal<NetOf<T>>;
}

/** A network-order value of type `T`: only equality, bit operations and explicit conversion. */
export interface NetVal<T extends NetName> {
  readonly type: T;
  readonly isConst: boolean;
  eq(x: NetVal<T>): Cond;
  ne(x: NetVal<T>): Cond;
  and(x: NetVal<T>): NetVal<T>;
  or(x: NetVal<T>): NetVal<T>;
  xor(x: NetVal<T>): NetVal<T>;
  /** Network to host order (`bpf_ntohs`/`bpf_ntohl`). */
  toHost(): IntVal<HostOf<T>>;
  /** The raw bits as a host integer of the same size (no swap). */
  raw(): IntVal<HostOf<T>>;
  /** Reinterprets as the other network type of the same size (identity). */
  as<U extends T>(to: U | TypedScalar<U>): NetVal<U>;
}

/** A DSL value of scalar type `T`. */
export type Val<T extends ScalarName = ScalarName> = T extends NetName ? NetVal<T> : T extends IntName ? IntVal<T> : never;

/** A value or a plain literal where a `T` is expected. */
export type ValArg<T extends ScalarName> = T extends NetName ? Val<T> : Val<IntName> | Literal;

/** Unwraps a typed value to its runtime class. */
export function rt(v: unknown): V {
  if (!(v instanceof V)) throw new DslError(`expected a DSL value, got ${v === null ? 'null' : typeof v}`);
  return v;
}

/** A constant of type `t`: `konst(u32, 5)`. */
export function konst<T extends ScalarName>(t: TypedScalar<T> | T, value: Literal): Val<T> {
  const name = (typeof t === 'string' ? t : t.typeName) as T;
  return V.konst(name, value) as unknown as Val<T>;
}

/** `bpf_htons(n)` at build time: a `be16` constant holding the 16-bit host value `n`. */
export function htons(n: number): Val<'be16'> {
  return V.konst('u16', n).toNet() as unknown as Val<'be16'>;
}

/** `bpf_htonl(n)` at build time: a `be32` constant holding the 32-bit host value `n`. */
export function htonl(n: number): Val<'be32'> {
  return V.konst('u32', n).toNet() as unknown as Val<'be32'>;
}
