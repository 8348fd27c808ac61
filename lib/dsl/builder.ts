/**
 * The builder handed to a program's closure (`xdp('name', (b) => ...)`): control
 * flow, variables, loops, packet headers with bounds checks, maps, helpers
 * and subprogram calls. Program-type-specific views of it (XdpBuilder,
 * TcBuilder, SockAddrBuilder, SubBuilder) only show what that program type
 * may use; the runtime checks the same rules and names the source position.
 */
import type { AnyLayout, StructLayout, Fields } from '../layout/index.js';
import { Helper, helperName } from '../uapi/helpers.js';
import { MapType } from '../uapi/map-types.js';
import { helperProto } from '../verifier/helper-protos.js';
import { contextTable } from './context.js';
import { Fn } from './fn.js';
import { type VReg, FP } from './ir.js';
import { type MapDef } from './maps.js';
import {
  ArrayView,
  FieldV,
  copyBytes,
  viewInfo,
  type InitOf,
  type LayoutView,
  type Loc,
  StackRef,
  type StructView,
  layoutView,
  loadScalar,
  stackLoc,
  storeInit,
  storeScalar,
  storable,
  structView,
} from './refs.js';
import { type IntName, type ScalarName, type TypedScalar, requireScalar, scalarInfo } from './types.js';
import { Cond, type Literal, V, type Val, type ValArg, rt } from './value.js';


/** The kind of program a builder builds. */
export type ProgKind = 'xdp' | 'tc' | 'sock_addr';

/** Program-wide state shared by the main function and its subprograms. */
export interface ProgState {
  name: string;
  kind: ProgKind;
  progType: number;
  attachType: number | undefined;
  section: string;
  allowed: ReadonlySet<number> | undefined;
  maps: Map<string, MapDef>;
  subs: Map<Subprog, SubFn>;
  building: Set<Subprog>;
}

/** A built subprogram. */
export interface SubFn {
  fn: Fn;
  label: string;
  changesPkt: boolean;
}

/** A position in the packet: a base register plus a constant offset (from `b.after()`). */
export interface PktPos {
  readonly __pkt: true;
  base: VReg | 'data';
  off: number;
  gen: number;
  scope: import('./fn.js').Scope;
}

/** A checked range of the packet, to skip repeated bounds checks. */
interface Checked {
  base: VReg | 'data';
  end: number;
  gen: number;
  scope: import('./fn.js').Scope;
}

/** A map lookup result: must pass a null check before use (`b.ifNotNull`, `b.notNull`). */
export class Nullable<R> {
  /** @internal */
  declare readonly __ref: R;
  constructor(
    /** @internal */ readonly reg: VReg,
    /** @internal */ readonly map: MapDef,
    /** @internal */ readonly fn: Fn,
    /** @internal */ readonly scope: import('./fn.js').Scope,
  ) {}
}

/** An inner map obtained from a map-in-map lookup; usable with `b.lookup` and friends. */
export class InnerMap<M extends MapDef> {
  constructor(
    /** @internal */ readonly reg: VReg,
    readonly def: M,
    /** @internal */ readonly scope: import('./fn.js').Scope,
  ) {}
}

/** The reference a lookup in `M` yields after its null check. */
export type RefOf<M> = M extends MapDef<AnyLayout, infer Vl, infer Kind, infer I>
  ? Kind extends 'map'
    ? InnerMap<I extends MapDef ? I : MapDef>
    : LayoutView<Vl, 'map'>
  : never;

/** A map key (or value) argument: a value/literal for scalar layouts, an object of fields, or a stack struct. */
export type KeyArg<L> = InitOf<L> | StackStruct<L>;

/** A stack-allocated struct: `b.stack(layout, init?)`. */
export interface StackStruct<L> {
  /** Typed fields. */
  readonly fields: LayoutView<L, 'map'>;
  /** Offset from r10. */
  readonly offset: number;
  readonly layout: L;
}

/** The loop control handed to a loop body. */
export interface LoopCtl {
  /** Leaves the loop. */
  break(): void;
  /** Goes to the next iteration. */
  continue(): void;
}

/** Options of `b.for`. */
export interface ForOptions {
  /** The step (default 1). */
  step?: number;
  /** An upper bound on iterations when `to` is a runtime value (required then: the verifier needs bounded loops). */
  max?: number;
  /** Unroll at build time (needs constant bounds). */
  unroll?: boolean;
}

/** A bpf-to-bpf subprogram: `subprog('fold', { args: [u32], ret: u32 }, (b, x) => ...)`. */
export class Subprog<A extends ScalarName[] = ScalarName[], R extends ScalarName = ScalarName> {
  constructor(
    readonly name: string,
    readonly args: { [K in keyof A]: TypedScalar<A[K]> },
    readonly ret: TypedScalar<R>,
    readonly body: (b: SubBuilder, ...args: { [K in keyof A]: Val<A[K]> }) => void,
  ) {
    if (args.length > 5) throw new Error(`subprogram '${name}': at most 5 arguments`);
  }
}

/**
 * Declares a subprogram compiled as a bpf-to-bpf call (kernel 4.16): scalar
 * arguments (at most five) and a scalar result.
 */
export function subprog<const A extends ScalarName[], R extends ScalarName>(
  name: string,
  sig: { args: { [K in keyof A]: TypedScalar<A[K]> }; ret: TypedScalar<R> },
  body: (b: SubBuilder, ...args: { [K in keyof A]: Val<A[K]> }) => void,
): Subprog<A, R> {
  return new Subprog<A, R>(name, sig.args, sig.ret, body);
}

/** Helpers that invalidate packet pointers (the kernel's `bpf_helper_changes_pkt_data`). */
const PKT_CHANGING = new Set<number>([
  Helper.skb_store_bytes,
  Helper.l3_csum_replace,
  Helper.l4_csum_replace,
  Helper.clone_redirect,
  Helper.skb_vlan_push,
  Helper.skb_vlan_pop,
  Helper.skb_change_proto,
  Helper.skb_change_tail,
  Helper.skb_pull_data,
  Helper.skb_change_head,
  Helper.skb_adjust_room,
  Helper.xdp_adjust_head,
  Helper.xdp_adjust_meta,
  Helper.xdp_adjust_tail,
  Helper.msg_pull_data,
  Helper.msg_push_data,
  Helper.msg_pop_data,
  Helper.lwt_push_encap,
  Helper.lwt_seg6_store_bytes,
  Helper.lwt_seg6_adjust_srh,
  Helper.lwt_seg6_action,
]);

/** A helper argument. */
type Arg = V | Literal | { ptr: number } | { regPtr: VReg; off: number } | { map: MapDef | InnerMap<MapDef> } | { ctx: true } | null;

/** The runtime builder (see the typed views for what each program type exposes). */
export class Builder {
  /** @internal */ readonly fn: Fn;
  /** @internal */ readonly prog: ProgState;
  /** @internal */ readonly isSub: boolean;
  /** @internal */ changesPkt = false;
  private ctxReg: VReg | undefined;
  private pkt: { data: VReg; end: VReg } | undefined;
  private pktGen = 0;
  private lastPktChange: string | undefined;
  private checked: Checked[] = [];
  private entryAt = 0;
  private keySlots = new WeakMap<V, { off: number; size: number; scope: import('./fn.js').Scope }>();
  /** Stack slots for helper arguments: reusable once the call that read them is emitted. */
  private tempFree: Array<{ off: number; size: number }> = [];
  private tempPending: Array<{ off: number; size: number }> = [];
  private slotOwner = new Map<number, unknown>();
  private ctxView: unknown;
  private headerInfo = new WeakMap<object, { base: VReg | 'data'; off: number; size: number; gen: number; scope: import('./fn.js').Scope }>();

  constructor(fn: Fn, prog: ProgState, isSub: boolean) {
    this.fn = fn;
    this.prog = prog;
    this.isSub = isSub;
  }

  /** @internal Emits the entry of the main function: the context pointer from r1. */
  enterMain(): void {
    this.fn.emit({ op: 'entry', nargs: 1 });
    this.ctxReg = this.fn.reg();
    this.fn.emit({ op: 'mov', w: 64, dst: this.ctxReg, src: 1 });
    this.entryAt = this.fn.ir.length;
  }

  // ---- context ----------------------------------------------------------------

  /** The typed context (`xdp_md`, `__sk_buff`, `bpf_sock_addr`). */
  get ctx(): unknown {
    if (this.ctxView) return this.ctxView;
    const fn = this.fn;
    if (this.isSub || this.ctxReg === undefined) throw fn.error('the context is only available in the main function; pass values to subprograms as arguments');
    const table = contextTable(this.prog.progType, this.prog.attachType);
    const loc: Loc = { fn, base: this.ctxReg, off: 0, kind: 'ctx', scope: fn.root, what: `ctx(${table.struct})` };
    this.ctxView = new Proxy(
      {},
      {
        get: (_t, name) => {
          if (typeof name !== 'string') return undefined;
          fn.at();
          const d = table.fields.get(name);
          if (!d || !d.read) {
            const why = table.all.has(name)
              ? `is not accessible in ${this.prog.section} programs`
              : `does not exist in ${table.struct}`;
            throw fn.error(`context field '${name}' ${why}`);
          }
          if (d.count) return new ArrayView(loc, d.off, d.type, d.count, name, d.write);
          const v = loadScalar(loc, 0 + d.off, d.type, d.size);
          return new FieldV(v, loc, d.off, name, d.size, d.write);
        },
        set: (_t, name) => {
          fn.at();
          throw fn.error(`assign context fields with ctx.${String(name)}.set(value)`);
        },
      },
    );
    return this.ctxView;
  }

  // ---- control flow --------------------------------------------------------------

  private cond(c: Cond | Val): Cond {
    if (c instanceof Cond) return c;
    const v = rt(c);
    return v.ne(0);
  }

  /** `if (cond) then() else otherwise()`; a value as condition means `!= 0`. */
  if(cond: Cond | Val, then: () => void, otherwise?: () => void): void {
    const fn = this.fn;
    fn.at();
    const c = this.cond(cond);
    const k = c.constant();
    if (k !== undefined) {
      const body = k ? then : otherwise;
      if (body) fn.inScope(k ? 'then branch' : 'else branch', body);
      return;
    }
    const elseL = fn.label('else');
    c.branch(fn, false, elseL);
    const thenDead = fn.inScope('then branch', then);
    if (otherwise) {
      const endL = fn.label('endif');
      if (!thenDead) fn.goto(endL);
      fn.place(elseL);
      const elseDead = fn.inScope('else branch', otherwise);
      fn.place(endL);
      fn.dead = thenDead && elseDead;
      if (fn.dead) fn.emit({ op: 'label', name: fn.label('unreach') });
    } else {
      fn.place(elseL);
    }
  }

  /** Returns `value` from the program (or subprogram). */
  return(value: Val | Literal): void {
    const fn = this.fn;
    fn.at();
    if (!(value instanceof V) && typeof value !== 'number' && typeof value !== 'bigint') {
      throw fn.error(
        value instanceof Nullable
          ? 'b.return: a lookup result is a nullable pointer; use it only after b.ifNotNull()/b.notNull()'
          : `b.return: expected a DSL value or a number, got ${value === null ? 'null' : typeof value}`,
      );
    }
    const v = value instanceof V ? value : V.konst('s64', value as Literal);
    fn.emit({ op: 'ret', src: v.operand(fn, 64) });
    fn.dead = true;
  }

  /** A mutable variable of type `t`, initialised to `init`: read it as a value, change it with `set()`. */
  let<T extends ScalarName>(t: TypedScalar<T> | T, init: ValArg<T>): Val<T> & { set(x: ValArg<T>): void } {
    const fn = this.fn;
    fn.at();
    const name = (typeof t === 'string' ? t : t.typeName) as ScalarName;
    const r = fn.reg();
    const v = new VarV(fn, name, r, fn.scope);
    v.set(init as unknown);
    return v as unknown as Val<T> & { set(x: ValArg<T>): void };
  }

  /**
   * A bounded loop `for (i = from; i < to; i += step) body(i)`. `to` is a
   * constant, or a runtime value with `max` (a loop without a bound is a
   * `DslError`). `unroll` repeats the body at build time.
   */
  for(from: number, to: number | Val<IntName>, body: (i: Val<'u32'>, loop: LoopCtl) => void, options: ForOptions = {}): void {
    const fn = this.fn;
    fn.at();
    const step = options.step ?? 1;
    if (!Number.isInteger(step) || step <= 0) throw fn.error('b.for: step must be a positive integer');
    const toV = typeof to === 'number' ? undefined : rt(to);
    const toK = typeof to === 'number' ? to : toV!.isConst ? Number(toV!.constValue) : undefined;
    if (toK === undefined && options.max === undefined) {
      throw fn.error('b.for: a loop without a bound: `to` is a runtime value, so give { max: N } (the verifier only accepts bounded loops)');
    }
    const endL = fn.label('loopend');
    if (options.unroll) {
      if (toK === undefined) throw fn.error('b.for: unroll needs a constant bound');
      for (let i = from; i < toK; i += step) {
        const nextL = fn.label('next');
        const ctl: LoopCtl = {
          break: () => fn.goto(endL),
          continue: () => fn.goto(nextL),
        };
        fn.inScope('loop body', () => body(V.konst('u32', i) as unknown as Val<'u32'>, ctl));
        fn.place(nextL);
      }
      fn.place(endL);
      return;
    }
    const i = new VarV(fn, 'u32', fn.reg(), fn.scope);
    i.set(from);
    const headL = fn.label('loop');
    const contL = fn.label('cont');
    if (toK === undefined || from >= toK) {
      if (toV && !toV.isConst) i.lt(toV).branch(fn, false, endL);
      else if (toK !== undefined && from >= toK) fn.goto(endL);
    }
    fn.place(headL);
    const ctl: LoopCtl = { break: () => fn.goto(endL), continue: () => fn.goto(contL) };
    fn.inScope('loop body', () => body(i as unknown as Val<'u32'>, ctl));
    fn.place(contL);
    i.set(i.add(step));
    if (toK !== undefined && (toV === undefined || toV.isConst)) {
      i.lt(toK).branch(fn, true, headL);
    } else {
      i.lt(options.max!).and(i.lt(toV!)).branch(fn, true, headL);
    }
    fn.place(endL);
  }

  /**
   * `while (cond()) body()`, bounded: `max` caps the iterations (the verifier
   * only accepts bounded loops; a `while` without `max` is a `DslError`).
   * `cond` is re-evaluated before every iteration.
   */
  while(cond: () => Cond | Val, body: (loop: LoopCtl) => void, options: { max: number }): void {
    const fn = this.fn;
    fn.at();
    if (!options || !Number.isInteger(options.max) || options.max <= 0) {
      throw fn.error('b.while: a loop without a bound: give { max: N } (the verifier only accepts bounded loops)');
    }
    const n = new VarV(fn, 'u32', fn.reg(), fn.scope);
    n.set(0);
    const headL = fn.label('while');
    const endL = fn.label('wend');
    fn.place(headL);
    fn.inScope('loop condition', () => {
      n.lt(options.max).branch(fn, false, endL);
      this.cond(cond()).branch(fn, false, endL);
    });
    const contL = fn.label('wcont');
    fn.inScope('loop body', () => body({ break: () => fn.goto(endL), continue: () => fn.goto(contL) }));
    fn.place(contL);
    n.set(n.add(1));
    fn.goto(headL);
    fn.place(endL);
  }

  // ---- stack --------------------------------------------------------------------

  /** A struct (or scalar) on the stack, optionally initialised (uncovered bytes are zeroed). */
  stack<L extends AnyLayout>(layout: L, init?: InitOf<L>): StackStruct<L> {
    const fn = this.fn;
    fn.at();
    const off = fn.alloc(layout.size, 8);
    const loc = stackLoc(fn, off, `stack(${layout.typeName})`);
    if (init !== undefined) storeInit(loc, layout, init, true);
    const ref = new StackRef(loc, layout);
    return { get fields() { return layoutView(loc, layout, true) as LayoutView<L, 'map'>; }, offset: off, layout, __ref: ref } as unknown as StackStruct<L>;
  }

  /**
   * A pointer argument to memory holding `x` for `layout`: the field itself
   * when `x` is a field of a packet header, map value or stack struct of the
   * same size (no copy), else a stack slot it is stored into.
   */
  private keyArg(layout: AnyLayout, x: unknown, what: string): Arg {
    if (x instanceof FieldV && x.loc.kind !== 'ctx' && x.accessSize === layout.size && layout.kind !== 'struct') {
      x.check(this.fn);
      if (!x.loc.scope.open) throw this.fn.error(`${what}: the field's ${x.loc.scope.what} has ended`);
      return { regPtr: x.loc.base, off: x.loc.off + x.fieldOff };
    }
    return { ptr: this.toStack(layout, x, what) };
  }

  /** The stack offset holding `x` for `layout` (stores it when needed). */
  private toStack(layout: AnyLayout, x: unknown, what: string): number {
    const fn = this.fn;
    if (x && typeof x === 'object' && '__ref' in x && (x as { __ref: unknown }).__ref instanceof StackRef) {
      const ref = (x as { __ref: StackRef }).__ref;
      if (ref.layout.size !== layout.size) throw fn.error(`${what}: a ${ref.layout.typeName} is not a ${layout.typeName}`);
      return ref.loc.off;
    }
    if (x instanceof V && !x.mutable && !x.isConst) {
      const c = this.keySlots.get(x);
      if (c && c.scope.open && c.size === layout.size && this.slotOwner.get(c.off) === x) {
        const k = this.tempFree.findIndex((t) => t.off === c.off);
        if (k >= 0) this.tempPending.push(...this.tempFree.splice(k, 1));
        return c.off;
      }
    }
    const size = Math.ceil(layout.size / 8) * 8;
    const k = this.tempFree.findIndex((t) => t.size === size);
    const off = k >= 0 ? this.tempFree.splice(k, 1)[0]!.off : fn.alloc(size, 8);
    this.tempPending.push({ off, size });
    this.slotOwner.set(off, x);
    const loc = stackLoc(fn, off, what);
    storeInit(loc, layout, x, true);
    if (x instanceof V && !x.mutable && !x.isConst) this.keySlots.set(x, { off, size: layout.size, scope: fn.scope });
    return off;
  }

  // ---- helper calls -------------------------------------------------------------------

  private checkHelper(id: number): void {
    const allowed = this.prog.allowed;
    if (allowed && !allowed.has(id)) {
      throw this.fn.error(`helper bpf_${helperName(id) ?? id} is not allowed in ${this.prog.section} programs`);
    }
  }

  /** @internal Emits a helper call with arguments in r1-r5; returns r0 as type `ret`. */
  callHelper(id: number, args: Arg[], ret: ScalarName): V {
    const fn = this.fn;
    this.checkHelper(id);
    args.forEach((a, k) => this.argTo(k + 1, a));
    fn.emit({ op: 'call', helper: id, nargs: args.length });
    this.tempFree.push(...this.tempPending);
    this.tempPending = [];
    const r = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: r, src: 0 });
    if (helperProto(id)?.changesPkt || PKT_CHANGING.has(id)) this.packetChanged(`bpf_${helperName(id)}`);
    return V.inReg(fn, ret, r);
  }

  private argTo(reg: VReg, a: Arg): void {
    const fn = this.fn;
    if (a === null) {
      fn.emit({ op: 'mov', w: 64, dst: reg, src: { imm: 0 } });
    } else if (a instanceof V) {
      a.check(fn);
      if (a.isConst) {
        const s = BigInt.asIntN(64, a.k!);
        if (s >= -0x80000000n && s <= 0x7fffffffn) fn.emit({ op: 'mov', w: 64, dst: reg, src: { imm: Number(s) } });
        else fn.emit({ op: 'ldi64', dst: reg, value: s });
      } else fn.emit({ op: 'mov', w: 64, dst: reg, src: a.reg! });
    } else if (typeof a === 'number' || typeof a === 'bigint') {
      const s = BigInt.asIntN(64, BigInt(a));
      if (s >= -0x80000000n && s <= 0x7fffffffn) fn.emit({ op: 'mov', w: 64, dst: reg, src: { imm: Number(s) } });
      else fn.emit({ op: 'ldi64', dst: reg, value: s });
    } else if ('ptr' in a) {
      fn.emit({ op: 'mov', w: 64, dst: reg, src: FP });
      fn.emit({ op: 'alu', w: 64, aop: 'add', dst: reg, a: reg, b: { imm: a.ptr } });
    } else if ('regPtr' in a) {
      if (a.regPtr === FP) {
        fn.emit({ op: 'mov', w: 64, dst: reg, src: FP });
        fn.emit({ op: 'alu', w: 64, aop: 'add', dst: reg, a: reg, b: { imm: a.off } });
      } else {
        fn.emit({ op: 'mov', w: 64, dst: reg, src: a.regPtr });
        if (a.off !== 0) fn.emit({ op: 'alu', w: 64, aop: 'add', dst: reg, a: reg, b: { imm: a.off } });
      }
    } else if ('map' in a) {
      const m = a.map;
      if (m instanceof InnerMap) {
        if (!m.scope.open) throw fn.error(`inner map '${m.def.name}' is used after the null check that made it valid ended`);
        fn.emit({ op: 'mov', w: 64, dst: reg, src: m.reg });
      } else {
        this.useMap(m);
        fn.emit({ op: 'ldmap', dst: reg, map: m.name });
      }
    } else if ('ctx' in a) {
      if (this.ctxReg === undefined) throw fn.error('this helper needs the context, which only the main function has');
      fn.emit({ op: 'mov', w: 64, dst: reg, src: this.ctxReg });
    }
  }

  private useMap(m: MapDef): void {
    const have = this.prog.maps.get(m.name);
    if (have && have !== m) throw this.fn.error(`two different maps are called '${m.name}'`);
    this.prog.maps.set(m.name, m);
  }

  /** Packet pointers are invalid from here on: reload data/data_end and invalidate views. */
  private packetChanged(by: string): void {
    this.pktGen++;
    this.lastPktChange = by;
    this.checked = [];
    if (this.isSub) {
      this.changesPkt = true;
      return;
    }
    if (this.ctxReg === undefined || this.prog.kind === 'sock_addr') return;
    // Packet pointers are reloaded right after the change (created with entry loads for the other paths).
    if (!this.pkt) {
      this.pkt = { data: this.fn.reg(), end: this.fn.reg() };
      this.loadPkt(true);
    }
    this.loadPkt(false);
  }

  // ---- packet ----------------------------------------------------------------------

  private pktOffsets(): { data: number; end: number } {
    return this.prog.kind === 'xdp' ? { data: 0, end: 4 } : { data: 76, end: 80 };
  }

  private loadPkt(atEntry: boolean): void {
    const fn = this.fn;
    const { data, end } = this.pktOffsets();
    const p = this.pkt!;
    const ins = [
      { op: 'ld' as const, size: 'u32' as const, dst: p.data, base: this.ctxReg!, off: data, pos: fn.pos },
      { op: 'ld' as const, size: 'u32' as const, dst: p.end, base: this.ctxReg!, off: end, pos: fn.pos },
    ];
    if (atEntry) fn.ir.splice(this.entryAt, 0, ...ins);
    else for (const i of ins) fn.emit(i);
  }

  private ensurePkt(): { data: VReg; end: VReg } {
    const fn = this.fn;
    if (this.isSub || this.ctxReg === undefined) throw fn.error('packet access is only available in the main function of an XDP or tc program');
    if (this.prog.kind === 'sock_addr') throw fn.error('sock_addr programs have no packet');
    if (!this.pkt) {
      // At the top level before any packet change the loads dominate all later code; elsewhere they go to the entry.
      this.pkt = { data: fn.reg(), end: fn.reg() };
      this.loadPkt(!(fn.scope === fn.root && !fn.dead && this.pktGen === 0));
    }
    return this.pkt;
  }

  private baseReg(base: VReg | 'data'): VReg {
    return base === 'data' ? this.ensurePkt().data : base;
  }

  private checkPos(p: PktPos): void {
    const fn = this.fn;
    if (!p.scope.open) throw fn.error('a packet position is used after the branch that computed it ended');
    if (p.gen !== this.pktGen) throw fn.error(`a packet position is used after ${this.lastPktChange ?? 'a helper'} changed the packet; read the headers again`);
  }

  /**
   * Reads a header of `layout` at `at` (a byte offset from the packet start,
   * or a position from `b.after()`): emits the bounds check against
   * `data_end` the verifier needs; when the packet is too short `onFail` runs
   * and must return (`() => b.return(XDP_PASS)`).
   */
  header<L extends StructLayout<Fields>>(layout: L, at: number | PktPos, onFail: () => void): L extends StructLayout<infer F> ? StructView<F, 'rw'> : never {
    const fn = this.fn;
    fn.at();
    if (!layout || typeof layout !== 'object' || !('kind' in layout) || layout.kind !== 'struct') {
      throw fn.error('b.header: reading the packet needs a struct layout (for example ethhdr, iphdr or packed({...}))');
    }
    const pkt = this.ensurePkt();
    let base: VReg | 'data' = 'data';
    let off = 0;
    if (typeof at === 'number') {
      if (!Number.isInteger(at) || at < 0) throw fn.error('b.header: the offset must be a non-negative integer');
      off = at;
    } else {
      if (!at || (at as PktPos).__pkt !== true) throw fn.error('b.header: `at` must be a byte offset or a position from b.after()');
      this.checkPos(at);
      base = at.base;
      off = at.off;
    }
    const end = off + layout.size;
    if (end > 0xffff) throw fn.error('b.header: offset too large');
    const covered = this.checked.some((c) => c.base === base && c.end >= end && c.gen === this.pktGen && c.scope.open);
    if (!covered) {
      const t = fn.reg();
      fn.emit({ op: 'mov', w: 64, dst: t, src: this.baseReg(base) });
      fn.emit({ op: 'alu', w: 64, aop: 'add', dst: t, a: t, b: { imm: end } });
      const ok = fn.label('hdr_ok');
      fn.jump('le', 64, t, pkt.end, ok);
      const dead = fn.inScope('bounds check failure branch', onFail);
      if (!dead) throw fn.error('b.header: the failure branch must end with b.return(...)');
      fn.place(ok);
      this.checked.push({ base, end, gen: this.pktGen, scope: fn.scope });
    }
    const gen = this.pktGen;
    const loc: Loc = {
      fn,
      base: this.baseReg(base),
      off,
      kind: 'pkt',
      scope: fn.scope,
      gen,
      pktGen: () => this.pktGen,
      what: layout.name ?? 'header',
    };
    const view = structView(loc, layout as StructLayout<Fields>, 0, true);
    this.headerInfo.set(view, { base, off, size: layout.size, gen, scope: fn.scope });
    return view as never;
  }

  /**
   * The packet position right after header `hdr`, plus `extra` bytes (a
   * constant, or a bounded runtime value).
   */
  after(hdr: object, extra: number | Val<IntName> = 0): PktPos {
    this.fn.at();
    return this.position(hdr, true, extra, 'b.after');
  }

  /**
   * The packet position `offset` bytes from the start of header `hdr`: a
   * constant, or a bounded runtime value such as the IPv4 header length
   * (`b.at(ip, ip.version_ihl.and(0xf).shl(2))`, after checking it is at least 20).
   */
  at(hdr: object, offset: number | Val<IntName>): PktPos {
    this.fn.at();
    return this.position(hdr, false, offset, 'b.at');
  }

  private position(hdr: object, afterEnd: boolean, extra: number | Val<IntName>, what: string): PktPos {
    const fn = this.fn;
    const h = this.headerInfo.get(hdr);
    if (!h) throw fn.error(`${what}: not a header from b.header()`);
    const pos: PktPos = { __pkt: true, base: h.base, off: h.off + (afterEnd ? h.size : 0), gen: h.gen, scope: h.scope };
    this.checkPos(pos);
    if (typeof extra === 'number') return { ...pos, off: pos.off + extra };
    const x = rt(extra);
    if (x.isConst) return { ...pos, off: pos.off + Number(x.constValue) };
    if (scalarInfo(x.type).signed) throw fn.error(`${what}: a packet offset must be unsigned (the verifier rejects negative offsets)`);
    const p = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: p, src: this.baseReg(h.base) });
    if (pos.off) fn.emit({ op: 'alu', w: 64, aop: 'add', dst: p, a: p, b: { imm: pos.off } });
    fn.emit({ op: 'alu', w: 64, aop: 'add', dst: p, a: p, b: x.toReg(fn) });
    return { __pkt: true, base: p, off: 0, gen: this.pktGen, scope: fn.scope };
  }

  /**
   * Copies a struct view or array field into another of the same size (packet
   * headers, map values, stack structs): `b.copy(eth.h_dest, backend.mac)`.
   */
  copy(dst: object, src: object): void {
    const fn = this.fn;
    fn.at();
    const where = (x: object, what: string) => {
      if (x instanceof ArrayView) return { loc: x.loc, off: x.off, size: x.length * scalarInfo(x.element).size, writable: x.writable };
      const i = viewInfo.get(x);
      if (!i) throw fn.error(`b.copy: the ${what} is not a struct view or array field`);
      return { loc: i.loc, off: i.off, size: i.layout.size, writable: i.writable };
    };
    const d = where(dst, 'destination');
    const s = where(src, 'source');
    if (d.size !== s.size) throw fn.error(`b.copy: ${s.size} bytes into ${d.size}`);
    if (!d.writable) throw fn.error('b.copy: the destination is read-only');
    for (const l of [d.loc, s.loc]) {
      if (!l.scope.open) throw fn.error(`b.copy: ${l.what} is used after the ${l.scope.what} that made it valid ended`);
      if (l.kind === 'pkt' && l.gen !== undefined && l.pktGen && l.pktGen() !== l.gen) throw fn.error(`b.copy: ${l.what} is used after a helper changed the packet`);
    }
    copyBytes(d.loc, d.off, s.loc, s.off, d.size);
  }

  /** The packet length `data_end - data` (u32). */
  pktLen(): Val<'u32'> {
    const fn = this.fn;
    fn.at();
    const p = this.ensurePkt();
    const r = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: r, src: p.end });
    fn.emit({ op: 'alu', w: 64, aop: 'sub', dst: r, a: r, b: p.data });
    return V.inReg(fn, 'u32', r) as unknown as Val<'u32'>;
  }

  // ---- maps -----------------------------------------------------------------------------

  /** `bpf_map_lookup_elem(map, &key)`: a nullable reference to the value (or inner map). */
  lookup<M extends MapDef>(map: M | InnerMap<M>, key: KeyArg<M['key']>): Nullable<RefOf<M>> {
    const fn = this.fn;
    fn.at();
    const def = map instanceof InnerMap ? map.def : map;
    if (def.valueKind === 'none') {
      const use = def.type === MapType.BPF_MAP_TYPE_PROG_ARRAY ? 'a program array; use b.tailCall()' : 'a devmap; use b.redirectMap()';
      throw fn.error(`map '${def.name}' cannot be read by the program (${use})`);
    }
    const k = this.keyArg(def.key, key, `key of ${def.name}`);
    const r = this.callHelper(Helper.map_lookup_elem, [{ map }, k], 'u64');
    return new Nullable<RefOf<M>>(r.reg!, def, fn, fn.scope);
  }

  /** `bpf_map_update_elem(map, &key, &value, flags)`; returns 0 or a negative error. */
  update<M extends MapDef>(map: M | InnerMap<M>, key: KeyArg<M['key']>, value: KeyArg<M['value']>, flags: number = 0): Val<'s64'> {
    const fn = this.fn;
    fn.at();
    const def = map instanceof InnerMap ? map.def : map;
    const k = this.keyArg(def.key, key, `key of ${def.name}`);
    const v = this.keyArg(def.value, value, `value of ${def.name}`);
    return this.callHelper(Helper.map_update_elem, [{ map }, k, v, flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_map_delete_elem(map, &key)`. */
  delete<M extends MapDef>(map: M | InnerMap<M>, key: KeyArg<M['key']>): Val<'s64'> {
    const fn = this.fn;
    fn.at();
    const def = map instanceof InnerMap ? map.def : map;
    const k = this.keyArg(def.key, key, `key of ${def.name}`);
    return this.callHelper(Helper.map_delete_elem, [{ map }, k], 's64') as unknown as Val<'s64'>;
  }

  private refFor(n: Nullable<unknown>): unknown {
    const fn = this.fn;
    if (n.map.valueKind === 'map') return new InnerMap(n.reg, n.map.inner as MapDef, fn.scope);
    const loc: Loc = { fn, base: n.reg, off: 0, kind: 'map', scope: fn.scope, what: `${n.map.name} value` };
    return layoutView(loc, n.map.value, true);
  }

  private checkNullable(n: Nullable<unknown>): void {
    const fn = this.fn;
    if (!(n instanceof Nullable)) throw fn.error('expected the result of b.lookup()');
    if (n.fn !== fn) throw fn.error('a lookup result of another function');
    if (!n.scope.open) throw fn.error('a lookup result is used after the branch that made it ended');
  }

  /** Runs `then(ref)` when the lookup found something, else `otherwise()`. */
  ifNotNull<R>(n: Nullable<R>, then: (ref: R) => void, otherwise?: () => void): void {
    const fn = this.fn;
    fn.at();
    this.checkNullable(n);
    const elseL = fn.label('null');
    fn.jump('eq', 64, n.reg, { imm: 0 }, elseL);
    const thenDead = fn.inScope('null check', () => then(this.refFor(n) as R));
    if (otherwise) {
      const endL = fn.label('endnull');
      if (!thenDead) fn.goto(endL);
      fn.place(elseL);
      const elseDead = fn.inScope('else branch', otherwise);
      fn.place(endL);
      fn.dead = thenDead && elseDead;
      if (fn.dead) fn.emit({ op: 'label', name: fn.label('unreach') });
    } else fn.place(elseL);
  }

  /** Returns the reference, running `onNull` (which must return) when the lookup found nothing. */
  notNull<R>(n: Nullable<R>, onNull: () => void): R {
    const fn = this.fn;
    fn.at();
    this.checkNullable(n);
    const ok = fn.label('nonnull');
    fn.jump('ne', 64, n.reg, { imm: 0 }, ok);
    const dead = fn.inScope('null branch', onNull);
    if (!dead) throw fn.error('b.notNull: the null branch must end with b.return(...)');
    fn.place(ok);
    return this.refFor(n) as R;
  }

  // ---- subprograms --------------------------------------------------------------------

  /** Calls a subprogram (a bpf-to-bpf call); returns its result. */
  call<A extends ScalarName[], R extends ScalarName>(sub: Subprog<A, R>, ...args: { [K in keyof A]: ValArg<A[K]> }): Val<R> {
    const fn = this.fn;
    fn.at();
    if (!(sub instanceof Subprog)) throw fn.error('b.call: not a subprogram');
    if (args.length !== sub.args.length) throw fn.error(`b.call: ${sub.name} takes ${sub.args.length} arguments, got ${args.length}`);
    const built = buildSub(this.prog, sub as unknown as Subprog, fn);
    const vals = (args as unknown[]).map((a, k) => storable(fn, requireScalar(sub.args[k]!, `argument ${k + 1} of ${sub.name}`), a, `argument ${k + 1} of ${sub.name}`));
    vals.forEach((v, k) => this.argTo(k + 1, v));
    fn.emit({ op: 'callsub', name: built.label, nargs: args.length });
    const r = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: r, src: 0 });
    if (built.changesPkt) this.packetChanged(`subprogram ${sub.name}`);
    return V.inReg(fn, requireScalar(sub.ret, `result of ${sub.name}`), r) as unknown as Val<R>;
  }

  // ---- helpers ----------------------------------------------------------------------

  /**
   * Calls any helper by id: arguments are values, literals, `null`, `{ ctx: true }`,
   * `{ map }`, `{ ptr: stackOffset }`, stack structs, struct views or array
   * fields (passed as pointers); `ret` is the result type.
   */
  helper<T extends ScalarName = 'u64'>(id: number, args: unknown[], ret: T = 'u64' as T): Val<T> {
    const fn = this.fn;
    fn.at();
    const conv = (a: unknown): Arg => {
      if (a === null || a instanceof V || typeof a === 'number' || typeof a === 'bigint') return a as Arg;
      if (a instanceof ArrayView) return { regPtr: a.loc.base, off: a.loc.off + a.off };
      if (a && typeof a === 'object') {
        if ('__ref' in a && (a as { __ref: unknown }).__ref instanceof StackRef) return { ptr: (a as unknown as { offset: number }).offset };
        const i = viewInfo.get(a);
        if (i) return { regPtr: i.loc.base, off: i.loc.off + i.off };
        if ('ptr' in a || 'ctx' in a || 'map' in a || 'regPtr' in a) return a as Arg;
      }
      throw fn.error(`b.helper: cannot pass ${typeof a} as a helper argument`);
    };
    return this.callHelper(id, args.map(conv), ret) as unknown as Val<T>;
  }

  /** `bpf_ktime_get_ns()`. */
  ktimeGetNs(): Val<'u64'> {
    this.fn.at();
    return this.callHelper(Helper.ktime_get_ns, [], 'u64') as unknown as Val<'u64'>;
  }

  /** `bpf_get_prandom_u32()`. */
  prandomU32(): Val<'u32'> {
    this.fn.at();
    return this.callHelper(Helper.get_prandom_u32, [], 'u32') as unknown as Val<'u32'>;
  }

  /** `bpf_get_socket_cookie(ctx)`. */
  socketCookie(): Val<'u64'> {
    this.fn.at();
    return this.callHelper(Helper.get_socket_cookie, [{ ctx: true }], 'u64') as unknown as Val<'u64'>;
  }

  /** `bpf_redirect(ifindex, flags)`: returns the verdict to return (XDP_REDIRECT / TC_ACT_REDIRECT, or drop). */
  redirect(ifindex: ValArg<'u32'>, flags: number = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.redirect, [this.arg(ifindex), flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_redirect_map(map, key, flags)` (XDP; devmap, cpumap, xskmap). */
  redirectMap(map: MapDef, key: ValArg<'u32'>, flags: number = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.redirect_map, [{ map }, this.arg(key), flags], 's64') as unknown as Val<'s64'>;
  }

  /**
   * `bpf_tail_call(ctx, map, index)` (kernel 4.2): continues in the program at `index` of a
   * {@link progArray} and never comes back. When the slot is empty or out of range the
   * call does nothing and the program goes on after it.
   */
  tailCall(map: MapDef, index: ValArg<'u32'>): void {
    const fn = this.fn;
    fn.at();
    if (map.type !== MapType.BPF_MAP_TYPE_PROG_ARRAY) throw fn.error(`b.tailCall needs a progArray; map '${map.name}' is not one`);
    this.callHelper(Helper.tail_call, [{ ctx: true }, { map }, this.arg(index)], 's64');
  }

  /** `bpf_redirect_peer(ifindex, flags)` (tc ingress, kernel 5.10). */
  redirectPeer(ifindex: ValArg<'u32'>, flags: number = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.redirect_peer, [this.arg(ifindex), flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_redirect_neigh(ifindex, NULL, 0, flags)` (tc, kernel 5.10). */
  redirectNeigh(ifindex: ValArg<'u32'>, flags: number = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.redirect_neigh, [this.arg(ifindex), null, 0, flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_fib_lookup(ctx, &params, sizeof(params), flags)` with a `bpf_fib_lookup` stack struct. */
  fibLookup(params: StackStruct<AnyLayout>, flags: number = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.fib_lookup, [{ ctx: true }, { ptr: params.offset }, params.layout.size, flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_xdp_adjust_head(ctx, delta)`: invalidates every header view (read them again). */
  adjustHead(delta: ValArg<'s32'>): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.xdp_adjust_head, [{ ctx: true }, this.arg(delta)], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_skb_store_bytes(skb, offset, &from, len, flags)` from a stack struct or a scalar value. */
  skbStoreBytes(offset: ValArg<'u32'>, from: StackStruct<AnyLayout> | Val, flags: number = 0): Val<'s64'> {
    const fn = this.fn;
    fn.at();
    let ptr: number;
    let len: number;
    if ((from as unknown) instanceof V) {
      const fv = from as unknown as V;
      const t = fv.type;
      const lay = { size: scalarInfo(t).size, align: scalarInfo(t).size, kind: 'int', typeName: t } as unknown as AnyLayout;
      ptr = fn.alloc(lay.size, 8);
      storeScalar(stackLoc(fn, ptr, 'bytes'), 0, lay.size, fv);
      len = lay.size;
    } else {
      const st = from as StackStruct<AnyLayout>;
      ptr = st.offset;
      len = st.layout.size;
    }
    return this.callHelper(Helper.skb_store_bytes, [{ ctx: true }, this.arg(offset), { ptr }, len, flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_l3_csum_replace(skb, offset, from, to, flags)`; `flags` holds the field size (2 or 4). */
  l3CsumReplace(offset: ValArg<'u32'>, from: Val | Literal, to: Val | Literal, flags: number): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.l3_csum_replace, [{ ctx: true }, this.arg(offset), this.raw(from), this.raw(to), flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_l4_csum_replace(skb, offset, from, to, flags)` (`BPF_F_PSEUDO_HDR` for addresses, size in the low bits). */
  l4CsumReplace(offset: ValArg<'u32'>, from: Val | Literal, to: Val | Literal, flags: number): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.l4_csum_replace, [{ ctx: true }, this.arg(offset), this.raw(from), this.raw(to), flags], 's64') as unknown as Val<'s64'>;
  }

  /** `bpf_csum_diff(from, from_size, to, to_size, seed)` over stack structs (null for none). */
  csumDiff(from: StackStruct<AnyLayout> | null, to: StackStruct<AnyLayout> | null, seed: ValArg<'u32'> = 0): Val<'s64'> {
    this.fn.at();
    return this.callHelper(
      Helper.csum_diff,
      [from ? { ptr: from.offset } : null, from ? from.layout.size : 0, to ? { ptr: to.offset } : null, to ? to.layout.size : 0, this.arg(seed)],
      's64',
    ) as unknown as Val<'s64'>;
  }

  /** `bpf_set_retval(retval)` (cgroup hooks, kernel 5.18). */
  setRetval(retval: ValArg<'s32'>): Val<'s64'> {
    this.fn.at();
    return this.callHelper(Helper.set_retval, [this.arg(retval)], 's64') as unknown as Val<'s64'>;
  }

  /** Sets `skb->tstamp` (the earliest departure time, for EDT pacing with the fq qdisc). */
  setTstamp(ns: ValArg<'u64'>): void {
    const fn = this.fn;
    fn.at();
    (this.ctx as { tstamp: { set(x: unknown): void } }).tstamp.set(ns);
  }

  // ---- checksums in the program ----------------------------------------------------

  /**
   * The one's-complement difference (RFC 1624) of a 16- or 32-bit field
   * changing from `from` to `to` (network-order values as read from the
   * packet): a partial sum for {@link csumApply}, computed once when the same
   * change updates several checksums (IPv4 header and UDP/TCP).
   */
  csumDelta(from: Val<'be16'> | Val<'be32'>, to: Val<'be16'> | Val<'be32'>): Val<'u32'> {
    const fn = this.fn;
    fn.at();
    const f = rt(from);
    const t = rt(to);
    if (f.type !== t.type) throw fn.error(`csum: from is ${f.type} but to is ${t.type}`);
    let s: V;
    if (scalarInfo(f.type).size === 4) {
      const nf = f.raw().not();
      s = nf.and(0xffff).add(nf.shr(16));
      const nt = t.raw();
      s = s.add(nt.and(0xffff)).add(nt.shr(16));
    } else {
      s = f.raw().xor(0xffff).add(t.raw());
    }
    return s as unknown as Val<'u32'>;
  }

  /** Applies a {@link csumDelta} to a checksum: the new checksum to store. */
  csumApply(csum: Val<'be16'>, delta: Val<'u32'>): Val<'be16'> {
    const fn = this.fn;
    fn.at();
    return this.fold(rt(csum).raw().xor(0xffff).add(rt(delta)));
  }

  /**
   * Incremental checksum update (RFC 1624): the new checksum when a 16- or
   * 32-bit field changes from `from` to `to` (network-order values); the
   * result is a `be16` to store back.
   */
  csumReplace(csum: Val<'be16'>, from: Val<'be16'> | Val<'be32'>, to: Val<'be16'> | Val<'be32'>): Val<'be16'> {
    this.fn.at();
    return this.csumApply(csum, this.csumDelta(from, to));
  }

  /** Folds a 32-bit one's-complement sum to 16 bits and complements it (a `be16` checksum). */
  csumFold(sum: Val<'u32'> | Val<'u64'> | Val<'s64'>): Val<'be16'> {
    const fn = this.fn;
    fn.at();
    let s = rt(sum);
    if (scalarInfo(s.type).w === 64) s = s.and(0xffff).add(s.shr(16)).as('u32');
    return this.fold(s);
  }

  private fold(s: V): Val<'be16'> {
    s = s.and(0xffff).add(s.shr(16));
    s = s.add(s.shr(16));
    return s.not().and(0xffff).reinterpret('be16') as unknown as Val<'be16'>;
  }

  private arg(x: unknown): V | Literal {
    if (x instanceof V) return x;
    if (typeof x === 'number' || typeof x === 'bigint') return x;
    throw this.fn.error(`expected a DSL value or a number, got ${x === null ? 'null' : typeof x}`);
  }

  private raw(x: unknown): V | Literal {
    const v = this.arg(x);
    return v instanceof V && scalarInfo(v.type).net ? v.raw() : v;
  }
}

/** A `b.let()` variable: a register that `set()` assigns. */
export class VarV extends V {
  constructor(fn: Fn, t: ScalarName, r: VReg, scope: import('./fn.js').Scope) {
    super(fn, t, r, undefined, scope);
    this.mutable = true;
  }

  /** Assigns the variable. */
  set(x: unknown): void {
    const fn = this.fn!;
    fn.at();
    this.check(fn);
    const v = storable(fn, this.type, x, 'set()');
    const info = scalarInfo(this.type);
    let src = v;
    if (info.w === 32 && scalarInfo(v.type).w === 64) src = v.as(info.signed ? 's32' : 'u32');
    if (!info.net && info.w === 32 && info.size < 4 && !src.isConst && scalarInfo(src.type).size > info.size) src = src.as(this.type);
    if (src.isConst) {
      const k = src.k!;
      const s = BigInt.asIntN(64, k);
      if (info.w === 32) fn.emit({ op: 'mov', w: 32, dst: this.reg!, src: { imm: Number(BigInt.asIntN(32, k)) } });
      else if (s >= -0x80000000n && s <= 0x7fffffffn) fn.emit({ op: 'mov', w: 64, dst: this.reg!, src: { imm: Number(s) } });
      else fn.emit({ op: 'ldi64', dst: this.reg!, value: s });
    } else fn.emit({ op: 'mov', w: 64, dst: this.reg!, src: src.toReg(fn) });
  }
}

/** Builds (once per program) the function of a subprogram. */
function buildSub(prog: ProgState, sub: Subprog, caller: Fn): SubFn {
  const have = prog.subs.get(sub);
  if (have) return have;
  if (prog.building.has(sub)) throw caller.error(`subprogram '${sub.name}' calls itself (recursion is not allowed in BPF)`);
  prog.building.add(sub);
  const fn = new Fn(`sub_${sub.name}`);
  fn.pos = caller.pos;
  const b = new Builder(fn, prog, true);
  fn.emit({ op: 'entry', nargs: sub.args.length });
  const args = sub.args.map((t, k) => {
    const r = fn.reg();
    fn.emit({ op: 'mov', w: 64, dst: r, src: k + 1 });
    return V.inReg(fn, requireScalar(t, `argument ${k + 1} of ${sub.name}`), r);
  });
  (sub.body as (b: unknown, ...a: unknown[]) => void)(b, ...args);
  if (!fn.dead) throw fn.error(`subprogram '${sub.name}' can reach its end without b.return()`);
  prog.building.delete(sub);
  const built: SubFn = { fn, label: fn.name, changesPkt: b.changesPkt };
  prog.subs.set(sub, built);
  return built;
}

// ---- typed views per program type ---------------------------------------------------------

type Common = 'if' | 'return' | 'let' | 'for' | 'while' | 'stack' | 'copy' | 'lookup' | 'update' | 'delete' | 'ifNotNull' | 'notNull' | 'call' | 'helper' | 'ktimeGetNs' | 'prandomU32' | 'csumReplace' | 'csumDelta' | 'csumApply' | 'csumFold';
type Packet = 'header' | 'after' | 'at' | 'pktLen';

/** The builder of a subprogram: no context, no packet. */
export type SubBuilder = Pick<Builder, Common>;
/** The builder of an XDP program. */
export type XdpBuilder<C = import('./context.js').XdpCtx> = Pick<Builder, Common | Packet | 'redirect' | 'redirectMap' | 'fibLookup' | 'adjustHead' | 'csumDiff' | 'tailCall'> & { readonly ctx: C };
/** The builder of a tc (sched_cls / tcx) program. */
export type TcBuilder = Pick<
  Builder,
  Common | Packet | 'redirect' | 'redirectPeer' | 'redirectNeigh' | 'fibLookup' | 'skbStoreBytes' | 'l3CsumReplace' | 'l4CsumReplace' | 'csumDiff' | 'socketCookie' | 'setTstamp' | 'tailCall'
> & { readonly ctx: import('./context.js').TcCtx };
/** The builder of a cgroup sock_addr program; `setRetval` exists for connect, bind and sendmsg hooks (kernel 5.18). */
export type SockAddrBuilder<C, H extends string = string> = Pick<Builder, Common | 'socketCookie' | 'tailCall'> & { readonly ctx: C } & (H extends `connect${string}` | `bind${string}` | `sendmsg${string}` ? Pick<Builder, 'setRetval'> : unknown);

