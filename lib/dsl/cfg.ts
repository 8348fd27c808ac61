/**
 * Basic blocks and liveness over the IR: the shared analysis of dead-code
 * elimination and register allocation.
 */
import { type IrInsn, type VReg, FP, defs, uses } from './ir.js';

/** A basic block: instructions `[start, end)` of the IR list. */
export interface Block {
  start: number;
  end: number;
  succ: number[];
  liveIn: Set<VReg>;
  liveOut: Set<VReg>;
}

/** Splits the IR into basic blocks and links successors. */
export function buildCfg(ir: readonly IrInsn[]): Block[] {
  const blocks: Block[] = [];
  const labelBlock = new Map<string, number>();
  let start = 0;
  const close = (end: number) => {
    if (end > start) blocks.push({ start, end, succ: [], liveIn: new Set(), liveOut: new Set() });
    start = end;
  };
  for (let k = 0; k < ir.length; k++) {
    const i = ir[k]!;
    if (i.op === 'label') {
      close(k);
      labelBlock.set(i.name, blocks.length);
    } else if (i.op === 'jcc' || i.op === 'ja' || i.op === 'exit' || i.op === 'ret') {
      close(k + 1);
    }
  }
  close(ir.length);
  // labels at the very end point past the last block
  for (let b = 0; b < blocks.length; b++) {
    const blk = blocks[b]!;
    const last = ir[blk.end - 1]!;
    const target = (name: string) => {
      const t = labelBlock.get(name);
      return t !== undefined && t < blocks.length ? t : -1;
    };
    if (last.op === 'ja') {
      const t = target(last.target);
      if (t >= 0) blk.succ.push(t);
    } else if (last.op === 'exit' || last.op === 'ret') {
      // no successors
    } else {
      if (last.op === 'jcc') {
        const t = target(last.target);
        if (t >= 0) blk.succ.push(t);
      }
      if (b + 1 < blocks.length && !blk.succ.includes(b + 1)) blk.succ.push(b + 1);
    }
  }
  return blocks;
}

/** Registers treated as always live and never allocated (the frame pointer). */
function ignored(v: VReg): boolean {
  return v === FP;
}

/** Computes live-in and live-out sets of every block (iterative backward dataflow). */
export function liveness(ir: readonly IrInsn[], blocks: Block[]): void {
  const gen: Set<VReg>[] = [];
  const kill: Set<VReg>[] = [];
  for (const b of blocks) {
    const g = new Set<VReg>();
    const k = new Set<VReg>();
    for (let i = b.start; i < b.end; i++) {
      const insn = ir[i]!;
      for (const u of uses(insn)) if (!k.has(u) && !ignored(u)) g.add(u);
      for (const d of defs(insn)) k.add(d);
    }
    gen.push(g);
    kill.push(k);
    b.liveIn = new Set();
    b.liveOut = new Set();
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (let b = blocks.length - 1; b >= 0; b--) {
      const blk = blocks[b]!;
      const out = new Set<VReg>();
      for (const s of blk.succ) for (const v of blocks[s]!.liveIn) out.add(v);
      const inn = new Set<VReg>(gen[b]);
      for (const v of out) if (!kill[b]!.has(v)) inn.add(v);
      if (inn.size !== blk.liveIn.size || out.size !== blk.liveOut.size) changed = true;
      blk.liveIn = inn;
      blk.liveOut = out;
    }
  }
}
