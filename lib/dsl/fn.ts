/**
 * One function under construction (the program's main function or a
 * subprogram): its IR, virtual registers, stack frame, labels, scopes and the
 * current source position. The public builder (builder.ts) and values
 * (value.ts) are thin, typed layers over it.
 */
import type { JmpCond, SourcePos } from '../isa/insn.js';
import { DslError } from './errors.js';
import { type IrInsn, type Operand, type VReg, type Width, FIRST_VREG } from './ir.js';
import { invertCond } from './opt.js';
import { callerPos } from './source.js';

/**
 * A lexical region of the program (a branch, a loop body, a null check).
 * Values created inside a scope may only be used while it is open: once the
 * closure that built it returns, its values no longer dominate the code that
 * follows.
 */
export class Scope {
  open = true;
  constructor(
    readonly parent: Scope | undefined,
    readonly what: string,
  ) {}
}

/** Operations a value or condition needs from the function it belongs to. */
export class Fn {
  readonly ir: IrInsn[] = [];
  private nextReg = FIRST_VREG;
  private nextLabel = 0;
  /** Bytes of stack used by the function's own slots. */
  frame = 0;
  /** True after a return or jump: the following code is unreachable until a label. */
  dead = false;
  scope: Scope;
  readonly root: Scope;
  /** The current source position (of the DSL call being executed). */
  pos: SourcePos | undefined;

  constructor(readonly name: string) {
    this.root = this.scope = new Scope(undefined, 'function');
  }

  /** A fresh virtual register. */
  reg(): VReg {
    return this.nextReg++;
  }

  /** A fresh label name, unique in the program. */
  label(hint = 'L'): string {
    return `${this.name}.${hint}${this.nextLabel++}`;
  }

  /** Appends an instruction at the current source position. */
  emit(i: IrInsn): void {
    if (!i.pos && this.pos) i.pos = this.pos;
    this.ir.push(i);
  }

  /** Places a label: code after it is reachable again. */
  place(name: string): void {
    this.emit({ op: 'label', name });
    this.dead = false;
  }

  /** Records the caller's source position for the instructions that follow. */
  at(): SourcePos | undefined {
    const p = callerPos();
    if (p) this.pos = p;
    return this.pos;
  }

  /** A `DslError` at the current position. */
  error(message: string): DslError {
    return new DslError(message, this.pos);
  }

  /** Reserves `size` bytes of stack aligned to `align`; returns the offset from r10 (negative). */
  alloc(size: number, align = 8): number {
    const a = Math.max(1, Math.min(8, align));
    this.frame = Math.ceil((this.frame + size) / a) * a;
    if (this.frame > 512) throw this.error(`the function '${this.name}' needs more than 512 bytes of stack`);
    return -this.frame;
  }

  /** Runs `body` in a new scope; returns true when the scope's end is unreachable. */
  inScope(what: string, body: () => void): boolean {
    const outer = this.scope;
    const pos = this.pos;
    const s = new Scope(outer, what);
    this.scope = s;
    try {
      body();
    } finally {
      s.open = false;
      this.scope = outer;
      this.pos = pos;
    }
    return this.dead;
  }

  /** Emits `if a <cond> b goto target`. */
  jump(cond: JmpCond, w: Width, a: VReg, b: Operand, target: string): void {
    this.emit({ op: 'jcc', w, cond, a, b, target });
  }

  /** Emits an unconditional jump and marks what follows unreachable. */
  goto(target: string): void {
    this.emit({ op: 'ja', target });
    this.dead = true;
  }

  /** The inverse of `cond`. */
  invert(cond: JmpCond): JmpCond {
    const c = invertCond(cond);
    if (!c) throw this.error(`internal: condition '${cond}' has no inverse`);
    return c;
  }
}
