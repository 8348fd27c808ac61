/**
 * The program as verifier-lite reads it: one entry per 8-byte slot (the
 * kernel's instruction numbering, `lddw` taking two), decoded from bytes or
 * expanded from lib/isa instructions, plus the static checks the kernel runs
 * before walking paths: `add_subprog_and_kfunc`, `check_subprogs`,
 * `resolve_pseudo_ldimm64` and `check_cfg` in kernel/bpf/verifier.c (Linux
 * 6.18), in that order, with their messages.
 *
 * @module
 */
import type { Insn, SourcePos, InsnRef } from '../isa/insn.js';
import { u64, s32b } from './tnum.js';

/** One 8-byte instruction slot. */
export interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** For the first slot of `lddw`: the second slot's imm (high 32 bits). */
  hi?: number;
  ref?: InsnRef;
  source?: SourcePos;
}

/** A static error: message and the instruction it names (when the kernel names one). */
export interface StaticError {
  message: string;
  insn: number;
  rule: string;
}

/** Reads raw bytecode into slots (never throws; a trailing partial slot is reported by the caller). */
export function slotsFromBytes(bytes: Uint8Array): Slot[] {
  const n = Math.floor(bytes.length / 8);
  const out: Slot[] = new Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const p = i * 8;
    out[i] = {
      code: bytes[p]!,
      dst: bytes[p + 1]! & 0xf,
      src: bytes[p + 1]! >> 4,
      off: dv.getInt16(p + 2, true),
      imm: dv.getInt32(p + 4, true),
    };
  }
  for (let i = 0; i + 1 < n; i++) {
    if (out[i]!.code === 0x18) {
      out[i]!.hi = out[i + 1]!.imm;
      i++;
    }
  }
  return out;
}

/** Expands lib/isa instructions into slots (`lddw` into two). */
export function slotsFromInsns(insns: readonly Insn[]): Slot[] {
  const out: Slot[] = [];
  for (const i of insns) {
    const code = (i.code ?? 0) & 0xff;
    const s: Slot = { code, dst: (i.dst ?? 0) & 0xf, src: (i.src ?? 0) & 0xf, off: (i.off ?? 0) | 0, imm: (i.imm ?? 0) | 0, ref: i.ref, source: i.source };
    if (code === 0x18) {
      const v = typeof i.imm64 === 'bigint' ? u64(i.imm64) : BigInt(s.imm >>> 0);
      s.imm = Number(s32b(v & 0xffffffffn));
      s.hi = Number(s32b(v >> 32n));
      out.push(s, { code: 0, dst: 0, src: 0, off: 0, imm: s.hi, source: i.source });
    } else {
      out.push(s);
    }
  }
  return out;
}

const CLS = (c: number) => c & 7;
const LD = 0, LDX = 1, ST = 2, STX = 3, ALU = 4, JMP = 5, JMP32 = 6, ALU64 = 7;

/** `bpf_opcode_in_insntable`: opcodes the kernel knows (6.18). */
const VALID = (() => {
  const s = new Set<number>();
  for (const cls of [ALU, ALU64]) {
    for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]) {
      s.add(cls | op | 0x00);
      s.add(cls | op | 0x08);
    }
    s.add(cls | 0x80); // neg
  }
  s.add(ALU | 0xd0).add(ALU | 0xd8).add(ALU64 | 0xd0); // end, bswap
  s.add(0x18); // lddw
  for (const sz of [0x00, 0x08, 0x10]) {
    s.add(LD | 0x20 | sz).add(LD | 0x40 | sz); // abs, ind
    s.add(LDX | 0x80 | sz); // memsx
  }
  for (const sz of [0x00, 0x08, 0x10, 0x18]) {
    s.add(LDX | 0x60 | sz).add(ST | 0x60 | sz).add(STX | 0x60 | sz);
    s.add(STX | 0xc0 | sz); // atomic (b/h: load-acquire/store-release)
  }
  s.add(JMP | 0x00).add(JMP32 | 0x00); // ja, gotol
  for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) {
    for (const cls of [JMP, JMP32]) s.add(cls | op).add(cls | op | 0x08);
  }
  s.add(JMP | 0x80).add(JMP | 0x90).add(JMP | 0xe0); // call, exit, may_goto
  return s;
})();

/** {@link VALID} as a table indexed by opcode byte (a lookup per instruction). */
const VALID_TABLE = (() => {
  const t = new Uint8Array(256);
  for (const c of VALID) t[c] = 1;
  return t;
})();

/** Whether an opcode is in the kernel's instruction table. */
export function opcodeKnown(code: number): boolean {
  return VALID_TABLE[code & 0xff] === 1 && code >= 0 && code < 256;
}

/** Whether the slot is a bpf-to-bpf call. */
export function isPseudoCall(s: Slot): boolean {
  return s.code === 0x85 && s.src === 1;
}

/** Jump target of a jump slot (gotol uses imm). */
export function jumpTarget(s: Slot, i: number): number {
  return s.code === 0x06 ? i + s.imm + 1 : i + s.off + 1;
}

function isJumpLike(code: number): boolean {
  const c = CLS(code);
  if (c !== JMP && c !== JMP32) return false;
  const op = code & 0xf0;
  return op !== 0x80 && op !== 0x90;
}

/** Program structure found by the static checks. */
export interface Structure {
  /** Subprogram start slots, ascending, starting with 0. */
  subprogs: number[];
  /** Slots where paths may meet (states are compared there). */
  prunePoints: Uint8Array;
}

/**
 * Runs the kernel's static checks. Returns the structure, or the first error
 * in the kernel's order.
 */
export function checkStatic(slots: Slot[], resolveMap: (s: Slot, i: number) => string | undefined): Structure | StaticError {
  const n = slots.length;
  // add_subprog_and_kfunc
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    const pseudoFunc = s.code === 0x18 && s.src === 4;
    if (s.code === 0x85 && s.src === 2) {
      // Kernel function calls: module BTF needs an fd_array, which raw programs lack.
      if (s.off < 0) return { message: 'negative offset disallowed for kernel module function call', insn: i, rule: 'structure' };
      if (s.off > 0) return { message: 'kfunc offset > 0 without fd_array is invalid', insn: i, rule: 'structure' };
    }
    if (isPseudoCall(s) || pseudoFunc) {
      const t = i + s.imm + 1;
      if (t < 0 || t >= n) return { message: 'call to invalid destination', insn: i, rule: 'structure' };
      starts.add(t);
    }
    if (s.code === 0x18) i++;
  }
  const subprogs = [...starts].sort((a, b) => a - b);
  // check_subprogs: jumps stay inside their subprogram; each ends in exit or ja.
  let cur = 0;
  let start = subprogs[0]!;
  let end = subprogs.length > 1 ? subprogs[1]! : n;
  for (let i = 0; i < n; i++) {
    const code = slots[i]!.code;
    if (isJumpLike(code)) {
      const t = jumpTarget(slots[i]!, i);
      if (t < start || t >= end) return { message: `jump out of range from insn ${i} to ${t}`, insn: i, rule: 'structure' };
    }
    if (i === end - 1) {
      if (code !== 0x95 && code !== 0x06 && code !== 0x05) return { message: 'last insn is not an exit or jmp', insn: i, rule: 'structure' };
      start = end;
      cur++;
      end = cur + 1 < subprogs.length ? subprogs[cur + 1]! : n;
    }
  }
  // resolve_pseudo_ldimm64
  for (let i = 0; i < n; i++) {
    const s = slots[i]!;
    const mode = s.code & 0xe0;
    if (CLS(s.code) === LDX && ((mode !== 0x60 && mode !== 0x80) || s.imm !== 0)) {
      return { message: 'BPF_LDX uses reserved fields', insn: i, rule: 'structure' };
    }
    if (s.code === 0x18) {
      const nx = slots[i + 1];
      if (i === n - 1 || !nx || nx.code !== 0 || nx.dst !== 0 || nx.src !== 0 || nx.off !== 0) {
        return { message: 'invalid bpf_ld_imm64 insn', insn: i, rule: 'structure' };
      }
      if (s.src !== 0) {
        if (s.src === 3 || s.src === 4) {
          // BTF ids and function pointers: accepted as opaque.
        } else if (s.src === 1 || s.src === 2 || s.src === 5 || s.src === 6) {
          if (s.off !== 0) return { message: 'unrecognized bpf_ld_imm64 insn', insn: i, rule: 'structure' };
          const err = resolveMap(s, i);
          if (err) return { message: err, insn: i, rule: 'map' };
        } else {
          return { message: 'unrecognized bpf_ld_imm64 insn', insn: i, rule: 'structure' };
        }
      }
      i++;
      continue;
    }
    if (!VALID_TABLE[s.code]) return { message: `unknown opcode ${s.code.toString(16).padStart(2, '0')}`, insn: i, rule: 'structure' };
  }
  // check_cfg: every slot reachable, no jump into the middle of lddw.
  const seen = new Uint8Array(n);
  const prune = new Uint8Array(n);
  const isLddwTail = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (slots[i]!.code === 0x18) isLddwTail[++i] = 1;
  const stack: number[] = [0];
  seen[0] = 1;
  const push = (from: number, to: number): StaticError | undefined => {
    if (to < 0 || to >= n) return { message: `jump out of range from insn ${from} to ${to}`, insn: from, rule: 'structure' };
    if (isLddwTail[to]) return { message: `jump into the middle of ldimm64 insn ${to - 1}`, insn: from, rule: 'structure' };
    if (!seen[to]) {
      seen[to] = 1;
      stack.push(to);
    }
    return undefined;
  };
  while (stack.length) {
    const i = stack.pop()!;
    const s = slots[i]!;
    const c = CLS(s.code);
    const op = s.code & 0xf0;
    let e: StaticError | undefined;
    if ((c === JMP || c === JMP32) && op === 0x90) continue; // exit
    if ((c === JMP || c === JMP32) && op === 0x80) {
      prune[i] = 1;
      e = push(i, i + 1);
      if (!e && isPseudoCall(s)) e = push(i, i + s.imm + 1);
    } else if ((c === JMP || c === JMP32) && op === 0x00) {
      const t = jumpTarget(s, i);
      e = push(i, t);
      if (!e) prune[t] = 1;
    } else if (c === JMP || c === JMP32) {
      e = push(i, i + 1);
      const t = jumpTarget(s, i);
      if (!e) e = push(i, t);
      if (!e) {
        prune[i + 1] = 1;
        prune[t] = 1;
      }
    } else {
      e = push(i, s.code === 0x18 ? i + 2 : i + 1);
      if (!e && s.code === 0x18 && s.src === 4) e = push(i, i + s.imm + 1);
    }
    if (e) return e;
  }
  for (let i = 0; i < n; i++) {
    if (!seen[i] && !isLddwTail[i]) return { message: `unreachable insn ${i}`, insn: i, rule: 'structure' };
  }
  return { subprogs, prunePoints: prune };
}
