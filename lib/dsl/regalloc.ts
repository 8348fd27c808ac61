/**
 * Register allocation by graph colouring (Chaitin-Briggs simplify/select with
 * optimistic spilling and move-biased colour choice) over r0-r9. Physical
 * registers appear in the IR as pre-coloured nodes: call arguments (r1-r5),
 * results (r0) and the clobbers of a call (r0-r5), so a value that lives
 * across a call can only get a callee-saved register (r6-r9) or a stack slot.
 * Spilled values live in 8-byte slots below the frame of the function.
 */
import { buildCfg, liveness } from './cfg.js';
import { DslError } from './errors.js';
import { type IrInsn, type VReg, FIRST_VREG, FP, defs, isImm, uses } from './ir.js';

/** The number of allocatable registers (r0-r9). */
const K = 10;
/** The order free colours are tried in when no move partner suggests one. */
const ORDER = [1, 2, 3, 4, 5, 0, 6, 7, 8, 9];
/** The BPF stack limit. */
export const MAX_STACK = 512;

/** The result of allocation. */
export interface Allocation {
  /** The IR after spill rewriting. */
  ir: IrInsn[];
  /** The register of every virtual register (physical ones map to themselves). */
  color: Map<VReg, number>;
  /** The frame size in bytes (user slots plus spill slots). */
  frameSize: number;
  /** How many values were spilled. */
  spills: number;
}

/** Rewrites the registers of one instruction: `use` for operands read, `def` for results. */
export function mapRegs(i: IrInsn, use: (v: VReg) => VReg, def: (v: VReg) => VReg): IrInsn {
  const o = (x: IrInsn extends never ? never : VReg | { imm: number }) => (isImm(x) ? x : use(x));
  switch (i.op) {
    case 'mov':
      return { ...i, src: o(i.src), dst: def(i.dst) };
    case 'ldi64':
    case 'ldmap':
      return { ...i, dst: def(i.dst) };
    case 'alu':
      return { ...i, a: use(i.a), b: o(i.b), dst: def(i.dst) };
    case 'neg':
    case 'swap':
      return { ...i, a: use(i.a), dst: def(i.dst) };
    case 'ld':
      return { ...i, base: use(i.base), dst: def(i.dst) };
    case 'st':
      return { ...i, base: use(i.base), src: o(i.src) };
    case 'atomic':
      return { ...i, base: use(i.base), src: use(i.src) };
    case 'jcc':
      return { ...i, a: use(i.a), b: o(i.b) };
    case 'ret':
      return { ...i, src: o(i.src) };
    default:
      return i;
  }
}

function isCopy(i: IrInsn): i is Extract<IrInsn, { op: 'mov' }> & { src: VReg } {
  return i.op === 'mov' && i.w === 64 && !isImm(i.src);
}

interface Graph {
  adj: Map<VReg, Set<VReg>>;
  moves: Map<VReg, Set<VReg>>;
  useCount: Map<VReg, number>;
}

function buildGraph(ir: readonly IrInsn[]): Graph {
  const blocks = buildCfg(ir);
  liveness(ir, blocks);
  const adj = new Map<VReg, Set<VReg>>();
  const moves = new Map<VReg, Set<VReg>>();
  const useCount = new Map<VReg, number>();
  const node = (v: VReg) => {
    let s = adj.get(v);
    if (!s) adj.set(v, (s = new Set()));
    return s;
  };
  const edge = (a: VReg, b: VReg) => {
    if (a === b || a === FP || b === FP) return;
    if (a < FIRST_VREG && b < FIRST_VREG) return;
    node(a).add(b);
    node(b).add(a);
  };
  const move = (a: VReg, b: VReg) => {
    if (a === b) return;
    let s = moves.get(a);
    if (!s) moves.set(a, (s = new Set()));
    s.add(b);
    let t = moves.get(b);
    if (!t) moves.set(b, (t = new Set()));
    t.add(a);
  };
  for (const b of blocks) {
    const live = new Set(b.liveOut);
    for (let k = b.end - 1; k >= b.start; k--) {
      const i = ir[k]!;
      const d = defs(i);
      const u = uses(i);
      for (const v of [...d, ...u]) {
        if (v >= FIRST_VREG) {
          node(v);
          useCount.set(v, (useCount.get(v) ?? 0) + 1);
        }
      }
      if (isCopy(i)) {
        live.delete(i.src);
        move(i.dst, i.src);
      }
      for (const x of d) for (const l of live) edge(x, l);
      if (i.op === 'alu' && !isImm(i.b) && i.b !== i.a) edge(i.dst, i.b);
      // two-address forms: the result prefers the register of the first operand
      if (i.op === 'alu' || i.op === 'neg' || i.op === 'swap') move(i.dst, i.a);
      for (const x of d) live.delete(x);
      for (const x of u) if (x !== FP) live.add(x);
    }
  }
  return { adj, moves, useCount };
}

/**
 * Conservative (Briggs) coalescing of move-related virtual registers: merges
 * two non-interfering nodes when the merged node has fewer than K neighbours
 * of significant degree, so the merge can never make the graph harder to
 * colour. Returns the representative of every merged register.
 */
function coalesce(g: Graph, noSpill: Set<VReg>): Map<VReg, VReg> {
  const rep = new Map<VReg, VReg>();
  const find = (v: VReg): VReg => {
    let r = v;
    while (rep.has(r)) r = rep.get(r)!;
    return r;
  };
  const pairs: Array<[VReg, VReg]> = [];
  for (const [a, set] of g.moves) for (const b of set) if (a < b && a >= FIRST_VREG && b >= FIRST_VREG) pairs.push([a, b]);
  for (const [x, y] of pairs) {
    const a = find(x);
    const b = find(y);
    if (a === b) continue;
    const adjA = g.adj.get(a)!;
    const adjB = g.adj.get(b)!;
    if (adjA.has(b)) continue;
    const union = new Set([...adjA, ...adjB]);
    let significant = 0;
    for (const n of union) if (n < FIRST_VREG || g.adj.get(n)!.size >= K) significant++;
    if (significant >= K) continue;
    // merge b into a
    for (const n of adjB) {
      const an = g.adj.get(n)!;
      an.delete(b);
      an.add(a);
      adjA.add(n);
    }
    g.adj.delete(b);
    const mb = g.moves.get(b);
    if (mb) {
      let ma = g.moves.get(a);
      if (!ma) g.moves.set(a, (ma = new Set()));
      for (const m of mb) if (m !== a) ma.add(m);
      ma.delete(b);
      g.moves.delete(b);
      for (const m of mb) {
        const mm = g.moves.get(m);
        if (mm) {
          mm.delete(b);
          if (m !== a) mm.add(a);
        }
      }
    }
    g.useCount.set(a, (g.useCount.get(a) ?? 0) + (g.useCount.get(b) ?? 0));
    if (noSpill.has(b)) noSpill.add(a);
    rep.set(b, a);
  }
  return rep;
}

function colorGraph(g: Graph, noSpill: Set<VReg>): { color: Map<VReg, number>; spilled: VReg[] } {
  const virt = [...g.adj.keys()].filter((v) => v >= FIRST_VREG);
  const remaining = new Set(virt);
  const stack: VReg[] = [];
  const curDeg = (v: VReg) => {
    let n = 0;
    for (const w of g.adj.get(v)!) if (w < FIRST_VREG || remaining.has(w)) n++;
    return n;
  };
  while (remaining.size > 0) {
    let pick: VReg | undefined;
    for (const v of remaining) {
      if (curDeg(v) < K) {
        pick = v;
        break;
      }
    }
    if (pick === undefined) {
      let best = -1;
      for (const v of remaining) {
        const cost = noSpill.has(v) ? -1 : curDeg(v) / ((g.useCount.get(v) ?? 0) + 1);
        if (pick === undefined || cost > best) {
          best = cost;
          pick = v;
        }
      }
    }
    remaining.delete(pick!);
    stack.push(pick!);
  }
  const color = new Map<VReg, number>();
  for (let r = 0; r <= 10; r++) color.set(r, r);
  const spilled: VReg[] = [];
  while (stack.length > 0) {
    const v = stack.pop()!;
    const forbidden = new Set<number>();
    for (const w of g.adj.get(v)!) {
      const c = color.get(w);
      if (c !== undefined) forbidden.add(c);
    }
    let chosen: number | undefined;
    const partners = g.moves.get(v);
    if (partners) {
      for (const p of partners) {
        const c = color.get(p);
        if (c !== undefined && c < K && !forbidden.has(c)) {
          chosen = c;
          break;
        }
      }
      if (chosen === undefined) {
        // look one step further: a partner's partner that is already coloured
        outer: for (const p of partners) {
          for (const q of g.moves.get(p) ?? []) {
            const c = color.get(q);
            if (c !== undefined && c < K && !forbidden.has(c) && !(g.adj.get(p)?.has(q) ?? false)) {
              chosen = c;
              break outer;
            }
          }
        }
      }
    }
    if (chosen === undefined && partners) {
      // an uncoloured partner: take a colour its coloured neighbours leave free, so it can follow
      for (const p of partners) {
        if (color.has(p)) continue;
        const busy = new Set<number>();
        for (const w of g.adj.get(p) ?? []) {
          const c = color.get(w);
          if (c !== undefined) busy.add(c);
        }
        if (g.adj.get(p)?.has(v)) continue;
        chosen = ORDER.find((c) => !forbidden.has(c) && !busy.has(c));
        if (chosen !== undefined) break;
      }
    }
    if (chosen === undefined) chosen = ORDER.find((c) => !forbidden.has(c));
    if (chosen === undefined) spilled.push(v);
    else color.set(v, chosen);
  }
  return { color, spilled };
}

/**
 * Allocates registers for one function. `frameSize` is the stack already used
 * by the function's own slots; spill slots go below it.
 */
export function allocate(input: IrInsn[], frameSize: number): Allocation {
  let ir = input;
  let next = FIRST_VREG;
  for (const i of ir) for (const v of [...defs(i), ...uses(i)]) if (v >= next) next = v + 1;
  const noSpill = new Set<VReg>();
  let spills = 0;
  for (let round = 0; round < 50; round++) {
    const g = buildGraph(ir);
    const rep = coalesce(g, noSpill);
    const { color, spilled: spilledReps } = colorGraph(g, noSpill);
    const find = (v: VReg): VReg => {
      let r = v;
      while (rep.has(r)) r = rep.get(r)!;
      return r;
    };
    for (const v of rep.keys()) {
      const c = color.get(find(v));
      if (c !== undefined) color.set(v, c);
    }
    const spilledSet = new Set(spilledReps);
    const spilled = spilledReps.slice();
    for (const v of rep.keys()) if (spilledSet.has(find(v))) spilled.push(v);
    if (spilled.length === 0) return { ir, color, frameSize, spills };
    for (const s of spilled) {
      frameSize += 8;
      if (frameSize > MAX_STACK) {
        throw new DslError(`the program needs more than ${MAX_STACK} bytes of stack (spilling registers); simplify it or split it into subprograms`, ir[0]?.pos);
      }
      const off = -frameSize;
      spills++;
      const out: IrInsn[] = [];
      for (const i of ir) {
        const u = uses(i).includes(s);
        const d = defs(i).includes(s);
        if (!u && !d) {
          out.push(i);
          continue;
        }
        const t = next++;
        noSpill.add(t);
        if (u) out.push({ op: 'ld', size: 'u64', dst: t, base: FP, off, pos: i.pos });
        out.push(mapRegs(i, (v) => (v === s ? t : v), (v) => (v === s ? t : v)));
        if (d) out.push({ op: 'st', size: 'u64', base: FP, off, src: t, pos: i.pos });
      }
      ir = out;
    }
  }
  throw new DslError('register allocation did not converge', ir[0]?.pos);
}
