/**
 * Labels and linking. {@link ProgramBuilder} collects instructions and labels;
 * {@link link} resolves jump, bpf-to-bpf call and function-pointer references
 * into offsets, and lists the references left for the loader (maps, kfuncs,
 * kernel variables).
 */
import { LinkError } from './errors.js';
import { type Insn, type InsnRef, type SourcePos, slotIndices } from './insn.js';
import { Class, GOTOL, JA, JmpOp, LDDW, Src } from './opcodes.js';

/** Options of {@link link}. */
export interface LinkOptions {
  /**
   * Allow `gotol` (ISA v4, kernel 6.6) for jumps beyond the 16-bit offset
   * field: `goto` becomes `gotol`; a conditional jump becomes the inverted
   * condition over a `gotol`. Without it such a jump is a `LinkError`. Default false.
   */
  gotol?: boolean;
  /**
   * Reuse the input instruction objects in the output (resolved references are
   * written into them) instead of copying: faster, for callers that own the list. Default false.
   */
  inPlace?: boolean;
}

/** A reference the loader must patch: a map fd, a kfunc or a kernel variable's BTF id. */
export interface LoaderRef {
  /** Index of the instruction in {@link LinkedProgram.insns}. */
  insn: number;
  /** Its slot index (byte offset / 8). */
  slot: number;
  /** What to patch: `map` (imm = fd), `map_value` (low half of imm64 = fd), `kfunc` / `btf_id` (imm = BTF id). */
  kind: 'map' | 'map_value' | 'kfunc' | 'btf_id';
  /** The map, kfunc or variable name. */
  name: string;
}

/** The result of linking. */
export interface LinkedProgram {
  /** Instructions with jumps and local calls resolved (references for the loader keep their `ref`). */
  insns: Insn[];
  /** Slot index of every label. */
  labels: Map<string, number>;
  /** References the loader must patch, in instruction order. */
  loaderRefs: LoaderRef[];
  /** Slot indices of the targets of bpf-to-bpf calls and function pointers (subprogram starts), sorted. */
  functions: number[];
  /**
   * For each input instruction, the index of its (first) output instruction:
   * they differ after a long jump was expanded into several instructions.
   */
  indexMap: Int32Array;
}

/** A label definition: name and instruction index (in the unlinked list). */
export interface LabelDef {
  name: string;
  index: number;
}

const INVERT: Record<number, number> = {
  [JmpOp.JEQ]: JmpOp.JNE,
  [JmpOp.JNE]: JmpOp.JEQ,
  [JmpOp.JGT]: JmpOp.JLE,
  [JmpOp.JLE]: JmpOp.JGT,
  [JmpOp.JGE]: JmpOp.JLT,
  [JmpOp.JLT]: JmpOp.JGE,
  [JmpOp.JSGT]: JmpOp.JSLE,
  [JmpOp.JSLE]: JmpOp.JSGT,
  [JmpOp.JSGE]: JmpOp.JSLT,
  [JmpOp.JSLT]: JmpOp.JSGE,
};

function isCondJump(code: number): boolean {
  const cls = code & 7;
  const op = code & 0xf0;
  return (cls === Class.JMP || cls === Class.JMP32) && op !== JmpOp.JA && op !== JmpOp.CALL && op !== JmpOp.EXIT && op !== JmpOp.JCOND;
}

function describe(insns: readonly Insn[], k: number, slot: number): string {
  const s = insns[k]?.source;
  return `instruction ${k} (slot ${slot}${s ? `, ${fmtPos(s)}` : ''})`;
}

function withoutRef(i: Insn): Insn {
  const o = { ...i };
  delete o.ref;
  return o;
}

/** Drops a resolved reference: in place, or on a copy. */
function resolved(i: Insn, inPlace: boolean): Insn {
  if (!inPlace) return withoutRef(i);
  delete i.ref;
  return i;
}

function fmtPos(s: SourcePos): string {
  return `${s.file}:${s.line}:${s.column}`;
}

/**
 * Resolves label references. `labels` maps each label to the index of the
 * instruction it precedes (`insns.length` for a label at the end). Throws
 * `LinkError` for unknown labels and for jumps that do not fit (naming both ends).
 */
export function link(insns: readonly Insn[], labels: ReadonlyMap<string, number>, options?: LinkOptions): LinkedProgram {
  const allowGotol = options?.gotol === true;
  const inPlace = options?.inPlace === true;
  // How each instruction is expanded: 0 = as is, 1 = goto -> gotol, 2 = cond -> inverted cond + gotol,
  // 3 = jset -> jset +1; goto +1; gotol.
  const expand = new Uint8Array(insns.length);
  for (const [name, idx] of labels) {
    if (!(idx >= 0 && idx <= insns.length)) throw new LinkError(`label '${name}' points outside the program (index ${idx})`, undefined, name);
  }
  const targetIndex = (k: number, ref: InsnRef): number => {
    const t = labels.get(ref.name);
    if (t === undefined) {
      const src = insns[k]!.source;
      throw new LinkError(`instruction ${k}${src ? ` (${fmtPos(src)})` : ''} refers to undefined label '${ref.name}'`, k, ref.name);
    }
    return t;
  };
  // Slot positions under the current expansion, iterated to a fixed point (expansions only grow).
  let slots = new Int32Array(0);
  for (let round = 0; ; round++) {
    slots = new Int32Array(insns.length + 1);
    let s = 0;
    for (let k = 0; k < insns.length; k++) {
      slots[k] = s;
      const e = expand[k]!;
      s += insns[k]!.code === LDDW ? 2 : e === 2 ? 2 : e === 3 ? 3 : 1;
    }
    slots[insns.length] = s;
    let changed = false;
    for (let k = 0; k < insns.length; k++) {
      const i = insns[k]!;
      if (i.ref?.kind !== 'jump' || expand[k] !== 0) continue;
      const t = targetIndex(k, i.ref);
      const off = slots[t]! - (slots[k]! + 1);
      if (off >= -0x8000 && off <= 0x7fff) continue;
      const op = i.code & 0xf0;
      const cls = i.code & 7;
      const what = () =>
        `${describe(insns, k, slots[k]!)} jumps to label '${i.ref!.name}' at instruction ${t} (slot ${slots[t]}): offset ${off} does not fit the 16-bit offset field`;
      if (i.code === GOTOL) continue;
      if (!allowGotol) throw new LinkError(`${what()}; link with { gotol: true } (ISA v4, kernel 6.6) to use gotol`, k, i.ref.name);
      if (cls === Class.JMP && op === JmpOp.JA) expand[k] = 1;
      else if (isCondJump(i.code)) expand[k] = INVERT[op] !== undefined ? 2 : 3;
      else throw new LinkError(`${what()} and this instruction has no long form`, k, i.ref.name);
      changed = true;
    }
    if (!changed) break;
    if (round > insns.length + 2) throw new LinkError('jump relaxation did not converge');
  }

  // In place and without expansions, the input list is the output list.
  let expanded = false;
  for (let k = 0; k < expand.length; k++) if (expand[k] !== 0) expanded = true;
  const direct = inPlace && !expanded;
  const out: Insn[] = direct ? (insns as Insn[]) : [];
  const loaderRefs: LoaderRef[] = [];
  const functions = new Set<number>();
  let slot = 0;
  const push = direct
    ? (i: Insn) => {
        slot += i.code === LDDW ? 2 : 1;
      }
    : (i: Insn) => {
        out.push(i);
        slot += i.code === LDDW ? 2 : 1;
      };
  const indexMap = new Int32Array(insns.length);
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k]!;
    const ref = i.ref;
    if (direct) {
      indexMap[k] = k;
      if (!ref) {
        slot += i.code === LDDW ? 2 : 1;
        continue;
      }
    } else {
      indexMap[k] = out.length;
      if (!ref) {
        push(inPlace ? i : { ...i });
        continue;
      }
    }
    switch (ref.kind) {
      case 'jump': {
        const t = slots[targetIndex(k, ref)]!;
        const e = expand[k]!;
        if (e === 0) {
          const off = t - (slots[k]! + 1);
          const o = resolved(i, inPlace);
          if (i.code === GOTOL) {
            o.off = 0;
            o.imm = off;
          } else {
            o.off = off;
          }
          push(o);
        } else if (e === 1) {
          push({ ...withoutRef(i), code: GOTOL, off: 0, imm: t - (slots[k]! + 1) });
        } else if (e === 2) {
          const inv = (i.code & 0x0f) | INVERT[i.code & 0xf0]!;
          push({ ...withoutRef(i), code: inv, off: 1 });
          push({ code: GOTOL, dst: 0, src: 0, off: 0, imm: t - (slots[k]! + 2), ...(i.source ? { source: i.source } : {}) });
        } else {
          push({ ...withoutRef(i), off: 1 });
          push({ code: JA, dst: 0, src: 0, off: 1, imm: 0, ...(i.source ? { source: i.source } : {}) });
          push({ code: GOTOL, dst: 0, src: 0, off: 0, imm: t - (slots[k]! + 3), ...(i.source ? { source: i.source } : {}) });
        }
        break;
      }
      case 'call':
      case 'func': {
        const t = slots[targetIndex(k, ref)]!;
        functions.add(t);
        const rel = t - (slots[k]! + 1);
        const o = resolved(i, inPlace);
        o.imm = rel;
        if (i.code === LDDW) o.imm64 = BigInt(rel >>> 0);
        push(o);
        break;
      }
      case 'map':
      case 'map_value':
      case 'kfunc':
      case 'btf_id':
        loaderRefs.push({ insn: direct ? k : out.length, slot, kind: ref.kind, name: ref.name });
        push(inPlace ? i : { ...i });
        break;
      default:
        throw new LinkError(`instruction ${k} has an unknown reference kind '${(ref as InsnRef).kind}'`, k);
    }
  }
  const labelSlots = new Map<string, number>();
  for (const [name, idx] of labels) labelSlots.set(name, slots[idx]!);
  return { insns: out, labels: labelSlots, loaderRefs, functions: [...functions].sort((a, b) => a - b), indexMap };
}

/**
 * Collects instructions and labels, then links them:
 *
 * ```ts
 * const b = new ProgramBuilder();
 * b.emit(mov64Imm(0, 0), jmpImm('eq', 1, 0, 'out'), mov64Imm(0, 1));
 * b.label('out').emit(exit());
 * const { insns } = b.link();
 * ```
 */
export class ProgramBuilder {
  /** The instructions emitted so far (unlinked). */
  readonly insns: Insn[] = [];
  /** Label name to the index of the instruction it precedes. */
  readonly labels = new Map<string, number>();
  /** Source position given to emitted instructions that carry none (see {@link at}). */
  private pos: SourcePos | undefined;

  /** Defines a label at the current position; defining a name twice is a `LinkError`. */
  label(name: string): this {
    if (this.labels.has(name)) throw new LinkError(`label '${name}' is defined twice`, undefined, name);
    this.labels.set(name, this.insns.length);
    return this;
  }

  /** True when `name` is defined. */
  hasLabel(name: string): boolean {
    return this.labels.has(name);
  }

  /** Appends instructions (not copied: later edits to them show). */
  emit(...insns: Insn[]): this {
    for (const i of insns) {
      if (this.pos && !i.source) i.source = this.pos;
      this.insns.push(i);
    }
    return this;
  }

  /** Sets the source position attached to subsequently emitted instructions (undefined to stop). */
  at(pos: SourcePos | undefined): this {
    this.pos = pos;
    return this;
  }

  /** Number of instructions emitted so far. */
  get length(): number {
    return this.insns.length;
  }

  /** Number of slots emitted so far (before any gotol relaxation). */
  get slots(): number {
    return slotIndices(this.insns)[this.insns.length]!;
  }

  /** Resolves labels; see {@link link}. */
  link(options?: LinkOptions): LinkedProgram {
    return link(this.insns, this.labels, options);
  }
}

/** True when the opcode is a conditional jump (JMP/JMP32 other than ja, call, exit, may_goto). */
export function isConditionalJump(code: number): boolean {
  return isCondJump(code);
}

/** True when the instruction reads a register operand (source bit X) for ALU and JMP classes. */
export function usesSrcReg(code: number): boolean {
  const cls = code & 7;
  return (cls === Class.ALU || cls === Class.ALU64 || cls === Class.JMP || cls === Class.JMP32) && (code & Src.X) !== 0;
}
