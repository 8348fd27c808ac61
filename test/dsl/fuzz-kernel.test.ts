/**
 * Differential test: random straight-line and branching u32/u64 arithmetic
 * compiled by the DSL, run in the kernel with BPF_PROG_RUN and compared with
 * the same computation in JavaScript. Exercises constant folding, 32-bit
 * subregister code, magic-number division, register allocation and spilling.
 */
import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { mulberry32 as rng } from '../helpers/prng.js';
import { loadDslProgram } from '../../lib/kernel/dsl-loader.js';
import { packed, s32, u32, u64, xdp, type Val } from '../../lib/dsl/index.js';

type Expr =
  | { k: 'in'; i: number }
  | { k: 'var'; i: number }
  | { k: 'const'; v: number }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'shift'; op: 'shl' | 'shr'; a: Expr; s: number }
  | { k: 'divk'; op: 'div' | 'mod'; a: Expr; d: number }
  | { k: 'wide'; a: Expr; b: Expr }
  | { k: 'signed'; op: 'sar' | 'sdiv' | 'smod'; a: Expr; n: number };

const lay = packed({ x0: u32, x1: u32, x2: u32, x3: u32 }, { name: 'in4' });

function gen(r: () => number, depth: number, nvars: number): Expr {
  const pick = r();
  if (depth <= 0 || pick < 0.25) {
    const q = r();
    if (q < 0.45) return { k: 'in', i: Math.floor(r() * 4) };
    if (q < 0.75 && nvars > 0) return { k: 'var', i: Math.floor(r() * nvars) };
    const consts = [0, 1, 2, 7, 255, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 12345];
    return { k: 'const', v: consts[Math.floor(r() * consts.length)]! };
  }
  if (pick < 0.7) {
    const ops = ['add', 'sub', 'mul', 'and', 'or', 'xor'];
    return { k: 'bin', op: ops[Math.floor(r() * ops.length)]!, a: gen(r, depth - 1, nvars), b: gen(r, depth - 1, nvars) };
  }
  if (pick < 0.8) return { k: 'shift', op: r() < 0.5 ? 'shl' : 'shr', a: gen(r, depth - 1, nvars), s: Math.floor(r() * 32) };
  if (pick < 0.85) {
    const op = (['sar', 'sdiv', 'smod'] as const)[Math.floor(r() * 3)]!;
    return { k: 'signed', op, a: gen(r, depth - 1, nvars), n: op === 'sar' ? Math.floor(r() * 32) : [3, 7, 100, 65537][Math.floor(r() * 4)]! };
  }
  if (pick < 0.9) {
    const ds = [3, 7, 10, 251, 1000, 65537, 0x7fffffff];
    return { k: 'divk', op: r() < 0.5 ? 'div' : 'mod', a: gen(r, depth - 1, nvars), d: ds[Math.floor(r() * ds.length)]! };
  }
  return { k: 'wide', a: gen(r, depth - 1, nvars), b: gen(r, depth - 1, nvars) };
}

function evalJs(e: Expr, ins: number[], vars: number[]): number {
  switch (e.k) {
    case 'in':
      return ins[e.i]!;
    case 'var':
      return vars[e.i]!;
    case 'const':
      return e.v;
    case 'bin': {
      const a = evalJs(e.a, ins, vars);
      const b = evalJs(e.b, ins, vars);
      switch (e.op) {
        case 'add':
          return (a + b) >>> 0;
        case 'sub':
          return (a - b) >>> 0;
        case 'mul':
          return Math.imul(a, b) >>> 0;
        case 'and':
          return (a & b) >>> 0;
        case 'or':
          return (a | b) >>> 0;
        default:
          return (a ^ b) >>> 0;
      }
    }
    case 'shift': {
      const a = evalJs(e.a, ins, vars);
      return e.op === 'shl' ? (a << e.s) >>> 0 : a >>> e.s;
    }
    case 'divk': {
      const a = evalJs(e.a, ins, vars);
      return e.op === 'div' ? Math.floor(a / e.d) : a % e.d;
    }
    case 'signed': {
      const a = evalJs(e.a, ins, vars) | 0;
      if (e.op === 'sar') return (a >> e.n) >>> 0;
      if (e.op === 'sdiv') return Math.trunc(a / e.n) >>> 0;
      return (a % e.n) >>> 0;
    }
    case 'wide': {
      // (u64(a) * u64(b) + a) >> 7, truncated to u32
      const a = BigInt(evalJs(e.a, ins, vars));
      const b = BigInt(evalJs(e.b, ins, vars));
      return Number(BigInt.asUintN(32, BigInt.asUintN(64, a * b + a) >> 7n));
    }
  }
}

type V32 = Val<'u32'>;
function evalDsl(e: Expr, ins: V32[], vars: V32[], konst: (v: number) => V32): V32 {
  switch (e.k) {
    case 'in':
      return ins[e.i]!;
    case 'var':
      return vars[e.i]!;
    case 'const':
      return konst(e.v);
    case 'bin': {
      const a = evalDsl(e.a, ins, vars, konst);
      const b = evalDsl(e.b, ins, vars, konst);
      return (a as unknown as Record<string, (x: V32) => V32>)[e.op]!.call(a, b);
    }
    case 'shift':
      return e.op === 'shl' ? evalDsl(e.a, ins, vars, konst).shl(e.s) : evalDsl(e.a, ins, vars, konst).shr(e.s);
    case 'divk':
      return e.op === 'div' ? evalDsl(e.a, ins, vars, konst).div(e.d) : evalDsl(e.a, ins, vars, konst).mod(e.d);
    case 'signed': {
      const a = evalDsl(e.a, ins, vars, konst).as(s32);
      const r = e.op === 'sar' ? a.shr(e.n) : e.op === 'sdiv' ? a.div(e.n) : a.mod(e.n);
      return r.as(u32);
    }
    case 'wide': {
      const a = evalDsl(e.a, ins, vars, konst).as(u64);
      const b = evalDsl(e.b, ins, vars, konst).as(u64);
      return a.mul(b).add(a).shr(7).as(u32);
    }
  }
}

interface Stmt {
  expr: Expr;
  cond?: { a: Expr; b: Expr; op: 'lt' | 'eq' | 'gt' | 'slt' };
  target: number;
}

describeKernel('DSL differential fuzzing against JavaScript', () => {
  it('random arithmetic programs compute what JavaScript computes', async () => {
    const { konst } = await import('../../lib/dsl/index.js');
    const inputs = [
      [0, 0, 0, 0],
      [1, 2, 3, 4],
      [0xffffffff, 0x80000000, 0x7fffffff, 12345678],
      [0xdeadbeef, 0xcafebabe, 42, 0x10001],
      [255, 65535, 65536, 999999937],
    ];
    for (let seed = 1; seed <= Number(process.env.DSL_FUZZ_SEEDS ?? 24); seed++) {
      const r = rng(seed);
      const nvars = 3 + Math.floor(r() * 6);
      const stmts: Stmt[] = [];
      for (let s = 0; s < 10 + Math.floor(r() * 10); s++) {
        const target = Math.floor(r() * nvars);
        const st: Stmt = { expr: gen(r, 3, nvars), target };
        if (r() < 0.4) st.cond = { a: gen(r, 1, nvars), b: gen(r, 1, nvars), op: (['lt', 'eq', 'gt', 'slt'] as const)[Math.floor(r() * 4)]! };
        stmts.push(st);
      }
      const prog = xdp('fuzz', (b) => {
        const h = b.header(lay, 0, () => b.return(0));
        const ins = [h.x0, h.x1, h.x2, h.x3] as V32[];
        const vars = Array.from({ length: nvars }, (_, i) => b.let(u32, ins[i % 4]!.add(i)));
        const k = (v: number) => konst(u32, v) as V32;
        for (const st of stmts) {
          const assign = () => vars[st.target]!.set(evalDsl(st.expr, ins, vars, k));
          if (st.cond) {
            const a = evalDsl(st.cond.a, ins, vars, k);
            const c = evalDsl(st.cond.b, ins, vars, k);
            b.if(st.cond.op === 'slt' ? a.as(s32).lt(c.as(s32)) : a[st.cond.op](c), assign);
          } else assign();
        }
        let acc: V32 = k(0);
        vars.forEach((v, i) => (acc = acc.xor(v.shl(i))));
        b.return(acc);
      });
      const js = (x: number[]) => {
        const vars = Array.from({ length: nvars }, (_, i) => (x[i % 4]! + i) >>> 0);
        for (const st of stmts) {
          let take = true;
          if (st.cond) {
            const a = evalJs(st.cond.a, x, vars);
            const c = evalJs(st.cond.b, x, vars);
            take = st.cond.op === 'lt' ? a < c : st.cond.op === 'eq' ? a === c : st.cond.op === 'slt' ? (a | 0) < (c | 0) : a > c;
          }
          if (take) vars[st.target] = evalJs(st.expr, x, vars);
        }
        let acc = 0;
        vars.forEach((v, i) => (acc = (acc ^ (v << i)) >>> 0));
        return acc;
      };
      const l = loadDslProgram(prog);
      try {
        for (const x of inputs) {
          const pkt = new Uint8Array(64);
          const dv = new DataView(pkt.buffer);
          x.forEach((v, i) => dv.setUint32(i * 4, v, true));
          const got = l.program.testRun({ data: pkt }).retval >>> 0;
          expect({ seed, x, got }).toEqual({ seed, x, got: js(x) });
        }
      } finally {
        l.close();
      }
    }
  }, 120_000);
});
