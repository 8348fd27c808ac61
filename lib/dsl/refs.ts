/**
 * Typed views of memory the program can address: packet headers, map values,
 * stack structs and the context. Reading a field emits a load (dead loads are
 * removed later); scalar fields have `set()`, map-value fields also the
 * atomic operations. A view stays usable only while the scope that made it
 * valid (a bounds check, a null check) is open, and, for packet views, until a
 * helper changes the packet.
 */
import type { AtomicOpName } from '../isa/insn.js';
import type { SizeName } from '../isa/opcodes.js';
import type { AnyLayout } from '../layout/index.js';
import type { AddrLayout, ArrayLayout, BytesLayout, PadLayout, StructLayout, Fields } from '../layout/index.js';
import { DslError } from './errors.js';
import type { Fn, Scope } from './fn.js';
import { type VReg, FP } from './ir.js';
import { type ScalarName, scalarInfo, scalarOf } from './types.js';
import { type Val, type ValArg, V } from './value.js';

/** What kind of memory a view addresses. */
export type MemKind = 'pkt' | 'map' | 'stack' | 'ctx';

/** Where a view points: a base register plus a constant offset. */
export interface Loc {
  fn: Fn;
  base: VReg;
  off: number;
  kind: MemKind;
  scope: Scope;
  /** Packet generation the view was checked in (packet views only). */
  gen?: number;
  /** Returns the current packet generation (packet views only). */
  pktGen?: () => number;
  /** What to call the view in messages. */
  what: string;
}

function checkLoc(loc: Loc, field: string): void {
  const fn = loc.fn;
  if (!loc.scope.open) {
    throw fn.error(`${loc.what}.${field} is used after the ${loc.scope.what} that made it valid ended`);
  }
  if (loc.kind === 'pkt' && loc.gen !== undefined && loc.pktGen && loc.pktGen() !== loc.gen) {
    throw fn.error(`${loc.what}.${field} is used after a helper that changes packet data; read the header again with b.header()`);
  }
}

const SIZE: Record<number, SizeName> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };

/** Emits a load of scalar `t` at `loc + off`; sign-extends small signed types. */
export function loadScalar(loc: Loc, off: number, t: ScalarName, accessSize?: number): V {
  const fn = loc.fn;
  const info = scalarInfo(t);
  const size = accessSize ?? info.size;
  const r = fn.reg();
  fn.emit({ op: 'ld', size: SIZE[size]!, dst: r, base: loc.base, off: loc.off + off });
  if (info.signed && info.size < 4) {
    const sh = 32 - info.size * 8;
    fn.emit({ op: 'alu', w: 32, aop: 'lsh', dst: r, a: r, b: { imm: sh } });
    fn.emit({ op: 'alu', w: 32, aop: 'arsh', dst: r, a: r, b: { imm: sh } });
  }
  return V.inReg(fn, t, r);
}

/** Converts `x` for a store into a field of type `t`. */
export function storable(fn: Fn, t: ScalarName, x: unknown, what: string): V {
  const info = scalarInfo(t);
  if (x instanceof V) {
    const xi = scalarInfo(x.type);
    if (info.net !== xi.net) throw fn.error(`${what}: cannot store ${x.type} into a ${t} field; convert with toNet()/toHost()`);
    if (info.net && info.size !== xi.size) throw fn.error(`${what}: cannot store ${x.type} into a ${t} field`);
    if (info.w === 64 && xi.w === 32 && xi.signed) return x.as(info.signed ? 's64' : 'u64');
    return x;
  }
  if (typeof x === 'number' || typeof x === 'bigint') {
    if (info.net) throw fn.error(`${what}: a ${t} field takes a ${t} value: use htons()/htonl() for literals`);
    return V.konst(t, x);
  }
  throw fn.error(`${what}: expected a DSL value or a number, got ${x === null ? 'null' : typeof x}`);
}

/** Emits a store of `v` (already converted) at `loc + off`. */
export function storeScalar(loc: Loc, off: number, size: number, v: V): void {
  const fn = loc.fn;
  v.check(fn);
  const sz = SIZE[size]!;
  if (v.k !== undefined && loc.kind !== 'ctx') {
    const s = BigInt.asIntN(64, v.k);
    const imm = size < 8 ? Number(BigInt.asIntN(32, v.k)) : s >= -0x80000000n && s <= 0x7fffffffn ? Number(s) : undefined;
    if (imm !== undefined) {
      fn.emit({ op: 'st', size: sz, base: loc.base, off: loc.off + off, src: { imm } });
      return;
    }
  }
  fn.emit({ op: 'st', size: sz, base: loc.base, off: loc.off + off, src: v.toReg(fn) });
}

/** A scalar field of a view: its value (loaded when the field is read) plus `set()`. */
export class FieldV extends V {
  constructor(
    v: V,
    readonly loc: Loc,
    readonly fieldOff: number,
    readonly fieldName: string,
    readonly accessSize: number,
    readonly writable: boolean,
  ) {
    super(v.fn, v.type, v.reg, v.k, v.scope);
  }

  /** Stores `x` into the field. */
  set(x: unknown): void {
    const fn = this.loc.fn;
    fn.at();
    checkLoc(this.loc, this.fieldName);
    if (!this.writable) throw fn.error(`${this.loc.what}.${this.fieldName} is read-only here`);
    storeScalar(this.loc, this.fieldOff, this.accessSize, storable(fn, this.type, x, `${this.loc.what}.${this.fieldName}.set()`));
  }

  private atomicOp(op: AtomicOpName, x: unknown): void {
    const fn = this.loc.fn;
    fn.at();
    checkLoc(this.loc, this.fieldName);
    if (this.loc.kind !== 'map' && this.loc.kind !== 'stack') throw fn.error(`atomic operations work on map values and the stack, not on ${this.loc.what}`);
    if (this.accessSize !== 4 && this.accessSize !== 8) throw fn.error(`atomic operations need a 32- or 64-bit field; ${this.fieldName} is ${this.type}`);
    const v = storable(fn, this.type, x, `${this.fieldName}.atomic`);
    fn.emit({ op: 'atomic', size: this.accessSize === 4 ? 'u32' : 'u64', aop: op, base: this.loc.base, off: this.loc.off + this.fieldOff, src: v.toReg(fn) });
  }

  /** `__sync_fetch_and_add(&field, x)` without fetching (`lock *(u64 *)(r + off) += x`). */
  atomicAdd(x: unknown): void {
    this.atomicOp('add', x);
  }
  /** Atomic or. */
  atomicOr(x: unknown): void {
    this.atomicOp('or', x);
  }
  /** Atomic and. */
  atomicAnd(x: unknown): void {
    this.atomicOp('and', x);
  }
  /** Atomic xor. */
  atomicXor(x: unknown): void {
    this.atomicOp('xor', x);
  }
}

/** An array field (`u8[6]`, `be32[4]`): elements by constant index, or by a run-time index with {@link ArrayView.at}. */
export class ArrayView {
  constructor(
    readonly loc: Loc,
    readonly off: number,
    readonly element: ScalarName,
    readonly length: number,
    readonly name: string,
    readonly writable: boolean,
  ) {}

  private idx(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) throw this.loc.fn.error(`${this.loc.what}.${this.name}[${i}]: index out of range 0..${this.length - 1}`);
    return this.off + i * scalarInfo(this.element).size;
  }

  /** Element `i` (a constant index). */
  get(i: number): FieldV {
    const fn = this.loc.fn;
    fn.at();
    checkLoc(this.loc, this.name);
    const o = this.idx(i);
    const v = loadScalar(this.loc, o, this.element);
    return new FieldV(v, this.loc, o, `${this.name}[${i}]`, scalarInfo(this.element).size, this.writable);
  }

  /** Stores element `i`. */
  set(i: number, x: unknown): void {
    this.get(i).set(x);
  }

  /**
   * Element `i` for an index known only at run time, in map values and stack structs:
   * checks `i < length` (unsigned, so a negative signed index is out of range too) and
   * otherwise runs `onOutOfRange`, which must end the program or loop iteration
   * (`() => b.return(XDP_PASS)`), as the verifier needs a bounded index. A constant
   * index takes the plain `get` path.
   */
  at(i: number | Val<ScalarName>, onOutOfRange: () => void): FieldV {
    const fn = this.loc.fn;
    fn.at();
    checkLoc(this.loc, this.name);
    if (typeof i === 'number') return this.get(i);
    if (!(i instanceof V)) throw fn.error(`${this.loc.what}.${this.name}.at(): the index must be a number or a DSL value`);
    const info = scalarInfo(i.type);
    if (!info || info.net) throw fn.error(`${this.loc.what}.${this.name}.at(): the index must be a host-order integer, not ${i.type}`);
    if (this.loc.kind !== 'map' && this.loc.kind !== 'stack') {
      throw fn.error(`${this.loc.what}.${this.name}.at(): a run-time index works in map values and stack structs; read packet bytes with b.header() at the offset`);
    }
    if (i.k !== undefined) return this.get(Number(i.k));
    const idx = i.as(info.signed ? 's64' : 'u64').as('u64');
    const inRange = fn.label('inrange');
    idx.lt(this.length).branch(fn, true, inRange);
    if (!fn.inScope('out-of-range branch', onOutOfRange)) {
      throw fn.error(`${this.loc.what}.${this.name}.at(): onOutOfRange must end the program (b.return) or leave the loop`);
    }
    fn.place(inRange);
    // element address: base + index * element size (pointer first, as clang emits it); the
    // fixed offsets stay in the access
    const size = scalarInfo(this.element).size;
    const scaled = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: scaled, src: idx.toReg(fn) });
    if (size > 1) fn.emit({ op: 'alu', w: 64, aop: 'lsh', dst: scaled, a: scaled, b: { imm: Math.log2(size) } });
    const addr = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: addr, src: this.loc.base });
    fn.emit({ op: 'alu', w: 64, aop: 'add', dst: addr, a: addr, b: scaled });
    const loc: Loc = { ...this.loc, base: addr };
    const v = loadScalar(loc, this.off, this.element);
    return new FieldV(v, loc, this.off, `${this.name}[i]`, size, this.writable);
  }

  /** Copies every element from another array view of the same shape (all loads first, so overlap is safe). */
  copyFrom(other: ArrayView): void {
    const fn = this.loc.fn;
    fn.at();
    if (other.length * scalarInfo(other.element).size !== this.length * scalarInfo(this.element).size) {
      throw fn.error(`copyFrom: ${other.name} and ${this.name} differ in size`);
    }
    checkLoc(this.loc, this.name);
    checkLoc(other.loc, other.name);
    if (!this.writable) throw fn.error(`${this.loc.what}.${this.name} is read-only here`);
    copyBytes(this.loc, this.off, other.loc, other.off, this.length * scalarInfo(this.element).size);
  }
}

/**
 * Copies `size` bytes from `src + srcOff` to `dst + dstOff` in the widest
 * chunks both offsets allow (the stack needs aligned accesses); every load
 * comes before the stores, so overlapping ranges copy correctly.
 */
export function copyBytes(dst: Loc, dstOff: number, src: Loc, srcOff: number, size: number): void {
  const chunks: Array<[number, number]> = [];
  const a = dst.off + dstOff;
  const b = src.off + srcOff;
  for (let p = 0; p < size; ) {
    let s = 8;
    while (s > 1 && (size - p < s || (a + p) % s !== 0 || (b + p) % s !== 0)) s >>= 1;
    chunks.push([p, s]);
    p += s;
  }
  const t: Record<number, ScalarName> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };
  const vals = chunks.map(([p, s]) => loadScalar(src, srcOff + p, t[s]!));
  chunks.forEach(([p, s], k) => storeScalar(dst, dstOff + p, s, vals[k]!));
}

/** Field views for one layout kind. */

/** The view of a scalar field: read-only, writable, or a map-value field with atomics. */
export type FieldOf<N extends ScalarName, M extends ViewMode> = M extends 'ro'
  ? Val<N>
  : M extends 'map'
    ? Val<N> & { set(x: ValArg<N>): void; atomicAdd(x: ValArg<N>): void; atomicOr(x: ValArg<N>): void; atomicAnd(x: ValArg<N>): void; atomicXor(x: ValArg<N>): void }
    : Val<N> & { set(x: ValArg<N>): void };

/** An array field's view. */
export interface ArrayOf<N extends ScalarName, M extends ViewMode> {
  readonly length: number;
  get(i: number): FieldOf<N, M>;
  /** Element `i` at a run-time index, bounds-checked (map values and stack structs; see `ArrayView.at`). */
  at(i: number | Val<ScalarName>, onOutOfRange: () => void): FieldOf<N, M>;
  set(i: number, x: ValArg<N>): void;
  copyFrom(other: ArrayOf<N, ViewMode>): void;
}

/** How a view may be used: read-only, read-write, or a map value (read-write plus atomics). */
export type ViewMode = 'ro' | 'rw' | 'map';

type ElemName<L> = L extends { kind: 'int'; typeName: infer N extends ScalarName } ? N : 'u8';

/** The view type of one field layout. */
export type ViewOf<L, M extends ViewMode> = L extends { kind: 'int'; typeName: infer N extends ScalarName }
  ? FieldOf<N, M>
  : L extends AddrLayout
    ? L['format'] extends 'ipv4'
      ? FieldOf<'be32', M>
      : L['format'] extends 'ipv6'
        ? ArrayOf<'be32', M>
        : ArrayOf<'u8', M>
    : L extends StructLayout<infer F>
      ? StructView<F, M>
      : L extends ArrayLayout<unknown>
        ? ArrayOf<ElemName<L['element']>, M>
        : L extends BytesLayout
          ? ArrayOf<'u8', M>
          : never;

/** A struct's view: one property per (non-padding) field. */
export type StructView<F extends Fields, M extends ViewMode> = {
  readonly [K in keyof F as F[K] extends PadLayout ? never : K]: ViewOf<F[K], M>;
};

/** Where each struct view points (for `b.copy()` and `b.after()`). */
export const viewInfo = new WeakMap<object, { loc: Loc; off: number; layout: AnyLayout; writable: boolean }>();

/** Builds the runtime view of a struct layout at `loc`. */
export function structView(loc: Loc, layout: StructLayout<Fields>, baseOff: number, writable: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  viewInfo.set(out, { loc, off: baseOff, layout, writable });
  for (const f of layout.fields) {
    if (f.type.kind === 'pad') continue;
    Object.defineProperty(out, f.name, {
      enumerable: true,
      get: () => fieldView(loc, f.type, baseOff + f.offset, f.name, writable),
    });
  }
  return out;
}

/** Builds the view of one field. */
export function fieldView(loc: Loc, t: AnyLayout, off: number, name: string, writable: boolean): unknown {
  const fn = loc.fn;
  const s = scalarOf(t);
  if (s) {
    fn.at();
    checkLoc(loc, name);
    const v = loadScalar(loc, off, s);
    return new FieldV(v, loc, off, name, scalarInfo(s).size, writable);
  }
  switch (t.kind) {
    case 'struct':
      return structView(loc, t as StructLayout<Fields>, off, writable);
    case 'addr':
      return t.typeName === 'ipv6' ? new ArrayView(loc, off, 'be32', 4, name, writable) : new ArrayView(loc, off, 'u8', t.size, name, writable);
    case 'bytes':
    case 'string':
      return new ArrayView(loc, off, 'u8', t.size, name, writable);
    case 'array': {
      const el = (t as ArrayLayout<unknown>).element;
      const es = scalarOf(el);
      if (!es) throw new DslError(`${name}: arrays of ${el.typeName} are not supported in views`, fn.pos);
      return new ArrayView(loc, off, es, (t as ArrayLayout<unknown>).length, name, writable);
    }
    default:
      throw new DslError(`${name}: a ${t.typeName} field cannot be read by the DSL`, fn.pos);
  }
}

/** A view of any layout at `loc`: scalars get a one-field view `{ value }`. */
export function layoutView(loc: Loc, layout: AnyLayout, writable: boolean): unknown {
  if (layout.kind === 'struct') return structView(loc, layout as StructLayout<Fields>, 0, writable);
  const out: Record<string, unknown> = {};
  Object.defineProperty(out, 'value', { enumerable: true, get: () => fieldView(loc, layout, 0, 'value', writable) });
  return out;
}

/** The view type of a whole layout (`{ value }` for scalars). */
export type LayoutView<L, M extends ViewMode> = L extends StructLayout<infer F> ? StructView<F, M> : { readonly value: ViewOf<L, M> };

/** A value for a layout, as a store source: a DSL value or literal for scalars, an object of them for structs. */
export type InitOf<L> = L extends StructLayout<infer F>
  ? { [K in keyof F as F[K] extends PadLayout ? never : K]?: InitOf<F[K]> } | StructView<F, ViewMode>
  : L extends { kind: 'int'; typeName: infer N extends ScalarName }
    ? ValArg<N>
    : L extends AddrLayout
      ? L['format'] extends 'ipv4'
        ? Val<'be32'>
        : L['format'] extends 'ipv6'
          ? ArrayOf<ScalarName, ViewMode> | ValArg<'be32'>[]
          : ArrayOf<ScalarName, ViewMode> | ValArg<'u8'>[]
      : L extends ArrayLayout<unknown>
        ? ArrayOf<ScalarName, ViewMode> | ValArg<ElemName<L['element']>>[]
        : L extends BytesLayout
          ? ArrayOf<ScalarName, ViewMode> | ValArg<'u8'>[]
          : never;

/**
 * Writes an initial value (scalar value/literal or an object of field values)
 * into `loc` for `layout`; bytes not covered are zeroed when `zeroRest`.
 */
export function storeInit(loc: Loc, layout: AnyLayout, init: unknown, zeroRest: boolean): void {
  const fn = loc.fn;
  const covered = new Uint8Array(layout.size);
  const walk = (t: AnyLayout, off: number, x: unknown, path: string) => {
    if (x === undefined) return;
    const s = scalarOf(t);
    if (s) {
      storeScalar(loc, off, scalarInfo(s).size, storable(fn, s, x, path));
      covered.fill(1, off, off + t.size);
      return;
    }
    if (x instanceof ArrayView || (x && typeof x === 'object' && viewInfo.has(x))) {
      const from = x instanceof ArrayView ? { loc: x.loc, off: x.off, size: x.length * scalarInfo(x.element).size } : (() => {
        const i = viewInfo.get(x)!;
        return { loc: i.loc, off: i.off, size: i.layout.size };
      })();
      if (from.size !== t.size) throw fn.error(`${path}: copying ${from.size} bytes into a ${t.size}-byte ${t.typeName}`);
      copyBytes(loc, off, from.loc, from.off, t.size);
      covered.fill(1, off, off + t.size);
      return;
    }
    if (Array.isArray(x) && (t.kind === 'array' || t.kind === 'bytes' || t.kind === 'addr')) {
      const el: ScalarName = t.kind === 'array' ? (scalarOf((t as ArrayLayout<unknown>).element) ?? 'u8') : t.typeName === 'ipv6' ? 'be32' : 'u8';
      const es = scalarInfo(el).size;
      if (x.length * es !== t.size) throw fn.error(`${path}: ${t.typeName} needs ${t.size / es} elements, got ${x.length}`);
      x.forEach((e, k) => {
        storeScalar(loc, off + k * es, es, storable(fn, el, e, `${path}[${k}]`));
      });
      covered.fill(1, off, off + t.size);
      return;
    }
    if (t.kind === 'struct' && typeof x === 'object' && x !== null && !(x instanceof V)) {
      const st = t as StructLayout<Fields>;
      for (const key of Object.keys(x)) {
        const f = st.fields.find((ff) => ff.name === key);
        if (!f) throw fn.error(`${path}: ${st.typeName} has no field '${key}'`);
        walk(f.type, off + f.offset, (x as Record<string, unknown>)[key], `${path}.${key}`);
      }
      return;
    }
    throw fn.error(`${path}: cannot initialise a ${t.typeName} from ${x instanceof V ? x.type : typeof x}`);
  };
  walk(layout, 0, init, loc.what);
  if (!zeroRest) return;
  for (let p = 0; p < layout.size; ) {
    if (covered[p]) {
      p++;
      continue;
    }
    let size = 8;
    while (size > 1 && (p % size !== 0 || p + size > layout.size || covered.subarray(p, p + size).some((c) => c))) size >>= 1;
    storeScalar(loc, p, size, V.konst('u64', 0));
    p += size;
  }
}

/** A struct (or scalar) on the stack: `b.stack(layout, init?)`. */
export class StackRef {
  constructor(
    readonly loc: Loc,
    readonly layout: AnyLayout,
  ) {}

  /** The offset from r10 (negative). */
  get offset(): number {
    return this.loc.off;
  }

  /** Typed field access. */
  get fields(): unknown {
    return layoutView(this.loc, this.layout, true);
  }
}

/** Registers used for stack addresses. */
export function stackLoc(fn: Fn, off: number, what: string): Loc {
  return { fn, base: FP, off, kind: 'stack', scope: fn.root, what };
}

