/**
 * IR optimisations run before register allocation: unreachable-code removal,
 * jump threading, sharing of `return <constant>` blocks (so an early
 * `if (...) return XDP_PASS` costs one conditional jump, as with clang),
 * dead-code elimination over liveness, and small peepholes.
 */
import type { JmpCond } from '../isa/insn.js';
import { buildCfg, liveness } from './cfg.js';
import { type IrInsn, FP, defs, isImm, isPure, isTerminator, uses } from './ir.js';

const INVERT: Partial<Record<JmpCond, JmpCond>> = {
  eq: 'ne',
  ne: 'eq',
  gt: 'le',
  le: 'gt',
  ge: 'lt',
  lt: 'ge',
  sgt: 'sle',
  sle: 'sgt',
  sge: 'slt',
  slt: 'sge',
};

/** The inverse of a jump condition, or undefined (`set` has none). */
export function invertCond(c: JmpCond): JmpCond | undefined {
  return INVERT[c];
}

function referencedLabels(ir: readonly IrInsn[]): Set<string> {
  const s = new Set<string>();
  for (const i of ir) if (i.op === 'jcc' || i.op === 'ja') s.add(i.target);
  return s;
}

/** Drops code after a terminator up to the next referenced label, and unreferenced labels. */
function removeUnreachable(ir: IrInsn[]): IrInsn[] {
  for (;;) {
    const refs = referencedLabels(ir);
    const out: IrInsn[] = [];
    let dead = false;
    for (const i of ir) {
      if (i.op === 'label') {
        if (!refs.has(i.name)) continue;
        dead = false;
        out.push(i);
        continue;
      }
      if (dead) continue;
      out.push(i);
      if (isTerminator(i)) dead = true;
    }
    if (out.length === ir.length) return out;
    ir = out;
  }
}

/** Index of the first non-label instruction at or after label `name`. */
function labelTargets(ir: readonly IrInsn[]): Map<string, number> {
  const m = new Map<string, number>();
  const pending: string[] = [];
  for (let k = 0; k < ir.length; k++) {
    const i = ir[k]!;
    if (i.op === 'label') pending.push(i.name);
    else {
      for (const p of pending) m.set(p, k);
      pending.length = 0;
    }
  }
  for (const p of pending) m.set(p, ir.length);
  return m;
}

/** Jump threading and removal of jumps to the next instruction. */
function threadJumps(ir: IrInsn[]): IrInsn[] {
  const at = labelTargets(ir);
  const final = (name: string): string => {
    const seen = new Set<string>();
    let n = name;
    for (;;) {
      if (seen.has(n)) return n;
      seen.add(n);
      const k = at.get(n);
      const i = k !== undefined ? ir[k] : undefined;
      if (i && i.op === 'ja') n = i.target;
      else return n;
    }
  };
  for (const i of ir) if (i.op === 'jcc' || i.op === 'ja') i.target = final(i.target);
  // jumps to the immediately following label
  const out: IrInsn[] = [];
  for (let k = 0; k < ir.length; k++) {
    const i = ir[k]!;
    if (i.op === 'jcc' || i.op === 'ja') {
      let j = k + 1;
      let next = false;
      while (j < ir.length && ir[j]!.op === 'label') {
        if ((ir[j] as { name: string }).name === i.target) next = true;
        j++;
      }
      if (next) continue;
    }
    out.push(i);
  }
  return out;
}

/**
 * `if (c) goto skip; return K; skip:` becomes `if (!c) goto ret_K; skip:` with
 * one shared `ret_K: return K` block per constant.
 */
function shareReturns(ir: IrInsn[], prefix: string): IrInsn[] {
  const shared = new Map<number, string>();
  const posOf = new Map<number, IrInsn['pos']>();
  const out: IrInsn[] = [];
  for (let k = 0; k < ir.length; k++) {
    const i = ir[k]!;
    const prev = out[out.length - 1];
    const next = ir[k + 1];
    if (
      i.op === 'ret' &&
      isImm(i.src) &&
      prev?.op === 'jcc' &&
      next?.op === 'label' &&
      next.name === prev.target &&
      invertCond(prev.cond) !== undefined
    ) {
      const K = i.src.imm;
      let name = shared.get(K);
      if (!name) {
        name = `${prefix}ret_${K < 0 ? 'm' + -K : K}`;
        shared.set(K, name);
        posOf.set(K, i.pos);
      }
      prev.cond = invertCond(prev.cond)!;
      prev.target = name;
      prev.pos ??= i.pos;
      continue;
    }
    out.push(i);
  }
  if (shared.size === 0) return out;
  for (const [K, name] of shared) {
    // Reuse a trailing `return K` (reached by fall-through) when there is one.
    const last = out[out.length - 1];
    if (last?.op === 'ret' && isImm(last.src) && last.src.imm === K && !out.some((x) => x.op === 'label' && x.name === name)) {
      let j = out.length - 1;
      while (j > 0 && out[j - 1]!.op === 'label') j--;
      out.splice(j, 0, { op: 'label', name });
      continue;
    }
    out.push({ op: 'label', name }, { op: 'ret', src: { imm: K }, pos: posOf.get(K) });
  }
  return out;
}

/** Removes pure instructions whose results are never used (iterated to a fixed point). */
export function eliminateDeadCode(ir: IrInsn[]): IrInsn[] {
  for (;;) {
    const blocks = buildCfg(ir);
    liveness(ir, blocks);
    const remove = new Set<number>();
    for (const b of blocks) {
      const live = new Set(b.liveOut);
      for (let k = b.end - 1; k >= b.start; k--) {
        const i = ir[k]!;
        const d = defs(i);
        if (isPure(i) && d.every((v) => !live.has(v) && v !== FP)) {
          remove.add(k);
          continue;
        }
        for (const v of d) live.delete(v);
        for (const v of uses(i)) live.add(v);
      }
    }
    // self moves
    ir.forEach((i, k) => {
      if (i.op === 'mov' && i.w === 64 && !isImm(i.src) && i.src === i.dst) remove.add(k);
    });
    if (remove.size === 0) return ir;
    ir = ir.filter((_, k) => !remove.has(k));
  }
}

function touchesSlot(x: IrInsn, off: number, size: number): boolean {
  const overlap = (o: number, sz: number) => o < off + size && off < o + sz;
  const bytes = (n: string) => (n === 'u8' ? 1 : n === 'u16' ? 2 : n === 'u32' ? 4 : 8);
  switch (x.op) {
    case 'ld':
      return x.base === FP && overlap(x.off, bytes(x.size));
    case 'st':
      return x.base === FP && overlap(x.off, bytes(x.size));
    case 'atomic':
      return x.base === FP;
    default:
      // any other use of r10 takes a stack address (a helper argument, a pointer)
      return uses(x).includes(FP);
  }
}

/**
 * Moves a store of a value to the stack up to right after the value is
 * computed (within a basic block, when nothing in between can see the
 * slot), so the value need not stay in a register across helper calls.
 */
export function hoistStackStores(ir: IrInsn[]): IrInsn[] {
  const out = ir.slice();
  for (let k = 0; k < out.length; k++) {
    const i = out[k]!;
    if (i.op !== 'st' || i.base !== FP || isImm(i.src)) continue;
    const v = i.src;
    const size = i.size === 'u8' ? 1 : i.size === 'u16' ? 2 : i.size === 'u32' ? 4 : 8;
    let j = k - 1;
    let found = -1;
    for (; j >= 0; j--) {
      const x = out[j]!;
      if (x.op === 'label' || x.op === 'jcc' || x.op === 'ja' || x.op === 'exit' || x.op === 'ret' || x.op === 'entry') break;
      if (defs(x).includes(v)) {
        found = j;
        break;
      }
      if (touchesSlot(x, i.off, size)) break;
    }
    if (found >= 0 && found < k - 1) {
      out.splice(k, 1);
      out.splice(found + 1, 0, i);
    }
  }
  return out;
}

/** Runs the control-flow clean-ups (before lowering `ret`). */
export function optimizeControlFlow(ir: IrInsn[], prefix: string): IrInsn[] {
  ir = removeUnreachable(ir);
  ir = threadJumps(ir);
  ir = removeUnreachable(ir);
  ir = shareReturns(ir, prefix);
  ir = threadJumps(ir);
  ir = removeUnreachable(ir);
  return ir;
}

/** Lowers `ret x` into `r0 = x; exit`. */
export function lowerReturns(ir: IrInsn[]): IrInsn[] {
  const out: IrInsn[] = [];
  for (const i of ir) {
    if (i.op === 'ret') {
      out.push({ op: 'mov', w: 64, dst: 0, src: i.src, pos: i.pos }, { op: 'exit', pos: i.pos });
    } else out.push(i);
  }
  return out;
}
