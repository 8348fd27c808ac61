/**
 * The text assembler for LLVM's BPF syntax, as llvm-objdump prints it and as
 * inline asm and llvm-mc accept it:
 *
 * ```
 * prog:                              // a label (`.L` labels stay local to the file)
 *   r0 = 0x2
 *   w1 = *(u32 *)(r1 + 0x4)
 *   if r3 > r2 goto +0x11            // or: goto LBB0_2
 *   r1 = atomic_fetch_add((u64 *)(r0 + 0x0), r1)
 *   call 0x1
 *   r1 = 0x0 ll                      # comments: //, #, block comments
 *   exit
 * ```
 *
 * Statements end at a newline or `;` (as in llvm-mc). Lines copied from
 * llvm-objdump output (`  12:\t61 21 ...\tw1 = ...`, `0000000000000000 <prog>:`,
 * relocation lines and `<sym+0x18>` branch annotations) are accepted too.
 * `call N` with a negative N is a bpf-to-bpf call (src=1), as clang leaves
 * relocated calls, so llvm-objdump's text of an object reassembles to the same bytes.
 * Directives: `.text`, `.section NAME`, `.globl NAME`, `.type NAME,@function`;
 * other directives are ignored. Errors are `AsmError` with line and column.
 *
 * The scanner is hand-written (no regular expressions on the hot path).
 */
import { AsmError, LinkError } from './errors.js';
import { type Insn, type SourcePos, insnIndexBySlot, slotIndices } from './insn.js';
import { decode, encode } from './encode.js';
import { link } from './link.js';

/** Options of {@link assemble}. */
export interface AsmOptions {
  /** File name for error messages and source positions. */
  file?: string;
  /** Attach `source` (file, line, column) to each instruction. Default false. */
  sourcePositions?: boolean;
  /** Allow jumps beyond 16 bits to become `gotol` (ISA v4); see `LinkOptions.gotol`. Default false. */
  gotol?: boolean;
}

/** A relocation the assembled code needs in an object file. */
export interface AsmRelocation {
  /** Slot index of the instruction in its section. */
  slot: number;
  /** The referenced symbol. */
  symbol: string;
  /** `call` (R_BPF_64_32 on a call) or `ld_imm64` (R_BPF_64_64 on an `lddw`). */
  kind: 'call' | 'ld_imm64';
}

/** One assembled section. */
export interface AsmSection {
  /** Section name (`.text` unless set with `.section`). */
  readonly name: string;
  /** The encoded instructions. */
  readonly bytes: Uint8Array;
  /** The instructions (decoded from `bytes` on first use, with `source` when asked for). */
  readonly insns: Insn[];
  /** Slot index of every label defined in this section. */
  labels: Map<string, number>;
  /** References to symbols this section cannot resolve itself. */
  relocations: AsmRelocation[];
}

/** The result of {@link assemble}. */
export interface AsmResult {
  /** Sections in order of first appearance (sections without instructions or labels are dropped). */
  sections: AsmSection[];
  /** Names declared `.globl`. */
  globals: Set<string>;
  /** Names declared `.type NAME,@function`. */
  functions: Set<string>;
}

// ---- character classes ----------------------------------------------------------

const C_NL = 10;
const C_SEMI = 59;

const IDENT_START = new Uint8Array(128);
const IDENT_PART = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_.$]/.test(ch)) IDENT_START[c] = 1;
  if (/[A-Za-z0-9_.$]/.test(ch)) IDENT_PART[c] = 1;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const ALU_ASSIGN: Record<string, number> = {
  '+=': 0x00,
  '-=': 0x10,
  '*=': 0x20,
  '/=': 0x30,
  '|=': 0x40,
  '&=': 0x50,
  '<<=': 0x60,
  '>>=': 0x70,
  '%=': 0x90,
  '^=': 0xa0,
  '=': 0xb0,
  's>>=': 0xc0,
  's/=': 0x130, // DIV with off=1
  's%=': 0x190, // MOD with off=1
};
const JMP_COND: Record<string, number> = {
  '==': 0x10,
  '>': 0x20,
  '>=': 0x30,
  '&': 0x40,
  '!=': 0x50,
  's>': 0x60,
  's>=': 0x70,
  '<': 0xa0,
  '<=': 0xb0,
  's<': 0xc0,
  's<=': 0xd0,
};
const FETCH_OPS: Record<string, number> = {
  atomic_fetch_add: 0x01,
  atomic_fetch_or: 0x41,
  atomic_fetch_and: 0x51,
  atomic_fetch_xor: 0xa1,
};
const FETCH_NAMES = Object.keys(FETCH_OPS);
const LOCK_OPS: Record<string, number> = { '+=': 0x00, '|=': 0x40, '&=': 0x50, '^=': 0xa0 };

/** Position after blanks (space, tab, CR, FF, VT) from `p`, as `skipWs` but without comments. */
function blanks(b: Uint8Array, p: number): number {
  for (;;) {
    const c = b[p];
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) p++;
    else return p;
  }
}

/** Characters that `operator()` reads as part of an operator. */
function isOpChar(c: number): boolean {
  return c === 61 || c === 60 || c === 62 || c === 33 || c === 38 || c === 124 || c === 94 || c === 43 || c === 45 || c === 42 || c === 47 || c === 37;
}

/** The ALU_ASSIGN value of the operator text `s[start, end)`, or -1 (read by char codes). */
function aluAssign(s: Uint8Array, start: number, end: number): number {
  const n = end - start;
  const a = s[start];
  if (n === 1) return a === 61 ? 0xb0 : -1;
  const b = s[start + 1];
  if (n === 2) {
    if (b !== 61) return -1;
    switch (a) {
      case 43: return 0x00;
      case 45: return 0x10;
      case 42: return 0x20;
      case 47: return 0x30;
      case 124: return 0x40;
      case 38: return 0x50;
      case 37: return 0x90;
      case 94: return 0xa0;
    }
    return -1;
  }
  const c = s[start + 2];
  if (n === 3) {
    if (c !== 61) return -1;
    if (a === 60 && b === 60) return 0x60;
    if (a === 62 && b === 62) return 0x70;
    if (a === 115 && b === 47) return 0x130;
    if (a === 115 && b === 37) return 0x190;
    return -1;
  }
  if (n === 4 && a === 115 && b === 62 && c === 62 && s[start + 3] === 61) return 0xc0;
  return -1;
}

/** The char codes of `s` as bytes (every non-ASCII character as 0x80, which nothing matches), plus 8 zero bytes. */
function codes(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 8);
  const r = new TextEncoder().encodeInto(s, b);
  if (r.read === s.length && r.written === s.length) return b;
  for (let p = 0; p < s.length; p++) {
    const c = s.charCodeAt(p);
    b[p] = c < 128 ? c : 0x80;
  }
  b.fill(0, s.length);
  return b;
}

interface Reg {
  readonly n: number;
  /** true for wN */
  readonly w: boolean;
}

/** r0..r11 then w0..w11: shared, so parsing a register allocates nothing. */
const REGS: readonly Reg[] = [
  ...Array.from({ length: 12 }, (_, n) => Object.freeze({ n, w: false })),
  ...Array.from({ length: 12 }, (_, n) => Object.freeze({ n, w: true })),
];

/** What an operator means in each position (undefined where it is not valid). */
interface OpInfo {
  text: string;
  alu: number | undefined;
  jmp: number | undefined;
  lock: number | undefined;
}

/** Operators by a numeric key of their characters (see `opKey`), so reading one allocates nothing. */
const OPS_BY_KEY = new Map<number, OpInfo>();
function opKey(s: string, start: number, end: number): number {
  let k = 0;
  for (let p = start; p < end; p++) k = k * 131 + s.charCodeAt(p);
  return k;
}
for (const op of [...Object.keys(ALU_ASSIGN), ...Object.keys(JMP_COND)]) {
  OPS_BY_KEY.set(opKey(op, 0, op.length), { text: op, alu: ALU_ASSIGN[op], jmp: JMP_COND[op], lock: LOCK_OPS[op] });
}

/** Statement keywords, by length. */
const MNEMONICS: (readonly string[] | undefined)[] = [];
for (const w of ['if', 'goto', 'gotol', 'may_goto', 'gotox', 'callx', 'call', 'exit', 'lock', 'ld_pseudo', 'store_release']) {
  (MNEMONICS[w.length] ??= []) as string[];
  (MNEMONICS[w.length] as string[]).push(w);
}

/** A reference to a name, resolved after parsing. */
interface Fixup {
  /** Slot index of the instruction. */
  slot: number;
  name: string;
  /** Text offset of the statement (for errors). */
  start: number;
  /** `off` or `imm` for jumps. */
  field?: 'off' | 'imm';
}

interface SectionState {
  name: string;
  /** Encoded instructions, two 32-bit words per slot (little-endian fields as in the encoding). */
  words: Int32Array;
  /** Words used. */
  nw: number;
  /** Source position of each instruction, when asked for. */
  sources: SourcePos[] | undefined;
  /** Label name to slot index. */
  labels: Map<string, number>;
  jumps: Fixup[];
  calls: Fixup[];
  loads: Fixup[];
}

/** The scanner and parser; one instance per `assemble` call. */
class Parser {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private readonly len: number;
  private readonly sections = new Map<string, SectionState>();
  private curState: SectionState | undefined;
  private readonly globals = new Set<string>();
  private readonly functions = new Set<string>();
  private readonly labelSection = new Map<string, SectionState>();
  private readonly withSource: boolean;

  constructor(
    private readonly src: string,
    private readonly opts: AsmOptions,
  ) {
    this.len = src.length;
    this.withSource = opts.sourcePositions === true;
    this.b = codes(src);
  }

  /** The current section (`.text` until a directive says otherwise). */
  private get cur(): SectionState {
    return (this.curState ??= this.section('.text'));
  }

  private set cur(s: SectionState) {
    this.curState = s;
  }

  private section(name: string): SectionState {
    let s = this.sections.get(name);
    if (!s) {
      s = {
        name,
        // the first section gets room for about one instruction per 16 characters of text
        words: new Int32Array(this.sections.size === 0 ? Math.max(1024, (this.len >> 3) & ~1) : 1024),
        nw: 0,
        sources: this.withSource ? [] : undefined,
        labels: new Map(),
        jumps: [],
        calls: [],
        loads: [],
      };
      this.sections.set(name, s);
    }
    return s;
  }

  // ---- errors -------------------------------------------------------------

  private col(pos = this.pos): number {
    return pos - this.lineStart + 1;
  }

  private fail(reason: string, pos = this.pos): never {
    throw new AsmError(reason, this.line, this.col(pos), this.opts.file);
  }

  private describeHere(): string {
    this.skipWs();
    const c = this.peek();
    if (c < 0 || c === C_NL) return 'end of line';
    if (c === C_SEMI) return "';'";
    let end = this.pos + 1;
    if (c < 128 && IDENT_PART[c]) while (end < this.len && this.src.charCodeAt(end) < 128 && IDENT_PART[this.src.charCodeAt(end)]) end++;
    return `'${this.src.slice(this.pos, Math.min(end, this.pos + 24))}'`;
  }

  private expected(what: string): never {
    const found = this.describeHere();
    this.fail(`expected ${what}, found ${found}`);
  }

  // ---- scanning -----------------------------------------------------------

  private peek(): number {
    return this.pos < this.len ? this.src.charCodeAt(this.pos) : -1;
  }

  /** Skips blanks and comments, not newlines. */
  private skipWs(): void {
    const s = this.src;
    for (;;) {
      if (this.pos >= this.len) return;
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
        this.pos++;
      } else if (c === 35 /* # */) {
        this.skipToEol();
      } else if (c === 47 /* / */) {
        const d = s.charCodeAt(this.pos + 1);
        if (d === 47) this.skipToEol();
        else if (d === 42) {
          const startLine = this.line;
          const startCol = this.col();
          let p = this.pos + 2;
          for (;;) {
            if (p >= this.len) throw new AsmError('unterminated block comment', startLine, startCol, this.opts.file);
            const e = s.charCodeAt(p);
            if (e === 42 && s.charCodeAt(p + 1) === 47) {
              p += 2;
              break;
            }
            if (e === C_NL) {
              this.line++;
              this.lineStart = p + 1;
            }
            p++;
          }
          this.pos = p;
        } else return;
      } else return;
    }
  }

  private skipToEol(): void {
    const nl = this.src.indexOf('\n', this.pos);
    this.pos = nl < 0 ? this.len : nl;
  }

  /** True at the end of a statement (newline, `;`, end of input), after blanks. */
  private atEnd(): boolean {
    this.skipWs();
    const c = this.peek();
    return c < 0 || c === C_NL || c === C_SEMI;
  }

  private endStatement(): void {
    this.skipWs();
    const c = this.peek();
    // llvm-objdump suffixes: `<sym+0x10>` after branch targets
    if (c === 60 /* < */) {
      const close = this.src.indexOf('>', this.pos);
      const nl = this.src.indexOf('\n', this.pos);
      if (close > 0 && (nl < 0 || close < nl)) {
        this.pos = close + 1;
        this.skipWs();
      }
    }
    if (!this.atEnd()) this.expected('end of statement');
  }

  private tryChar(ch: number): boolean {
    this.skipWs();
    if (this.peek() === ch) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expectChar(ch: number): void {
    if (!this.tryChar(ch)) this.expected(`'${String.fromCharCode(ch)}'`);
  }

  /** Reads an identifier at the cursor (after blanks), or returns '' without moving. */
  private ident(): string {
    this.skipWs();
    const s = this.src;
    const start = this.pos;
    const c = s.charCodeAt(start);
    if (!(c < 128 && IDENT_START[c])) return '';
    let p = start + 1;
    while (p < this.len) {
      const d = s.charCodeAt(p);
      if (d < 128 && IDENT_PART[d]) p++;
      else break;
    }
    this.pos = p;
    return s.slice(start, p);
  }

  private expectIdent(word: string): void {
    if (!this.word(word)) this.expected(`'${word}'`);
  }

  /** Parses a register name `rN`/`wN` from an identifier, or undefined. */
  private static regOf(id: string): Reg | undefined {
    const l = id.length;
    if (l < 2 || l > 3) return undefined;
    const c = id.charCodeAt(0);
    if (c !== 114 && c !== 119) return undefined;
    const d1 = id.charCodeAt(1) - 48;
    if (d1 < 0 || d1 > 9) return undefined;
    let n = d1;
    if (l === 3) {
      const d2 = id.charCodeAt(2) - 48;
      if (d1 !== 1 || d2 < 0 || d2 > 1) return undefined;
      n = 10 + d2;
    }
    return REGS[c === 119 ? n + 12 : n];
  }

  /** End of the identifier starting at `p` (p itself when there is none). */
  private identEnd(p: number): number {
    const s = this.src;
    const c = s.charCodeAt(p);
    if (!(c < 128 && IDENT_START[c])) return p;
    p++;
    while (p < this.len) {
      const d = s.charCodeAt(p);
      if (d < 128 && IDENT_PART[d]) p++;
      else break;
    }
    return p;
  }

  /** A register at the cursor (after blanks), without allocating; undefined (cursor unmoved) if none. */
  private regAt(): Reg | undefined {
    this.skipWs();
    const s = this.src;
    const p = this.pos;
    const c = s.charCodeAt(p);
    if (c !== 114 && c !== 119) return undefined;
    const d1 = s.charCodeAt(p + 1) - 48;
    if (d1 < 0 || d1 > 9) return undefined;
    let n = d1;
    let q = p + 2;
    const d2 = s.charCodeAt(q) - 48;
    if (d2 >= 0 && d2 <= 9) {
      if (d1 !== 1 || d2 > 1) return undefined;
      n = 10 + d2;
      q++;
    }
    const e = s.charCodeAt(q);
    if (q < this.len && e < 128 && IDENT_PART[e]) return undefined;
    this.pos = q;
    return REGS[c === 119 ? n + 12 : n];
  }

  /** Consumes the identifier `lit` at the cursor (after blanks) if it is exactly there. */
  private word(lit: string): boolean {
    this.skipWs();
    const p = this.pos;
    if (!this.src.startsWith(lit, p)) return false;
    const e = this.src.charCodeAt(p + lit.length);
    if (p + lit.length < this.len && e < 128 && IDENT_PART[e]) return false;
    this.pos = p + lit.length;
    return true;
  }

  private reg(what = 'a register'): Reg {
    const r = this.regAt();
    if (!r) this.expected(what);
    return r;
  }

  private regOfKind(w: boolean): number {
    const start = this.pos;
    const r = this.reg(w ? 'a w register' : 'an r register');
    if (r.w !== w) this.fail(`expected ${w ? 'a w' : 'an r'} register, found '${r.w ? 'w' : 'r'}${r.n}'`, start + this.leadingWs(start));
    return r.n;
  }

  private leadingWs(from: number): number {
    let p = from;
    while (p < this.len && (this.src.charCodeAt(p) === 32 || this.src.charCodeAt(p) === 9)) p++;
    return p - from;
  }

  /** True if the next token is a number (optionally signed). */
  private atNumber(): boolean {
    this.skipWs();
    const c = this.peek();
    if (isDigit(c)) return true;
    if (c === 45 || c === 43) return isDigit(this.src.charCodeAt(this.pos + 1));
    return false;
  }

  /** Reads an unsigned decimal or hex literal; returns a number or, when too large, a bigint. */
  private unsigned(): number | bigint {
    this.skipWs();
    const s = this.src;
    let p = this.pos;
    const start = p;
    if (!isDigit(s.charCodeAt(p))) this.expected('a number');
    let v = 0;
    let big = false;
    if (s.charCodeAt(p) === 48 && (s.charCodeAt(p + 1) | 32) === 120) {
      p += 2;
      const digits = p;
      while (p < this.len) {
        const h = hexVal(s.charCodeAt(p));
        if (h < 0) break;
        v = v * 16 + h;
        p++;
      }
      if (p === digits) this.fail('expected hex digits after 0x', p);
      if (p - digits > 13) big = true;
    } else {
      while (p < this.len) {
        const d = s.charCodeAt(p) - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
        p++;
      }
      if (p - start > 15) big = true;
    }
    const c = s.charCodeAt(p);
    if (p < this.len && c < 128 && IDENT_PART[c]) this.fail(`invalid number '${s.slice(start, p + 1)}'`, start);
    this.pos = p;
    return big ? BigInt(s.slice(start, p)) : v;
  }

  /** A signed integer that must fit a JS number. */
  private int(what: string): number {
    this.skipWs();
    const start = this.pos;
    let neg = false;
    const c = this.peek();
    if (c === 45 || c === 43) {
      neg = c === 45;
      this.pos++;
      this.skipWs();
    }
    if (!isDigit(this.peek())) {
      this.pos = start;
      this.expected(what);
    }
    const v = this.unsigned();
    if (typeof v === 'bigint') this.fail(`${what} out of range`, start);
    return neg ? -v : v;
  }

  /** A 32-bit immediate: -2^31 .. 2^32-1, returned as a signed 32-bit value. */
  private imm32(what = 'an immediate'): number {
    const start = this.pos + this.leadingWs(this.pos);
    const v = this.int(what);
    if (v < -0x80000000 || v > 0xffffffff) this.fail(`${what} ${v} does not fit 32 bits`, start);
    return v | 0;
  }

  private off16(v: number, start: number): number {
    if (v < -0x8000 || v > 0x7fff) this.fail(`offset ${v} does not fit 16 bits`, start);
    return v;
  }

  // ---- emitting -----------------------------------------------------------

  /** Makes room for `n` more words in the current section and returns it. */
  private room(n: number): SectionState {
    const st = this.curState ?? this.cur;
    if (st.nw + n > st.words.length) {
      const w = new Int32Array(Math.max(st.words.length * 2, st.nw + n));
      w.set(st.words.subarray(0, st.nw));
      st.words = w;
    }
    return st;
  }

  private source(st: SectionState, start: number): void {
    st.sources!.push({ file: this.opts.file ?? '<asm>', line: this.line, column: start - this.lineStart + 1 });
  }

  /** Appends one instruction (fields already range-checked by the parser). */
  private emit(code: number, dst: number, src: number, off: number, imm: number, start: number): void {
    const st = this.room(2);
    st.words[st.nw] = code | (dst << 8) | (src << 12) | (off << 16);
    st.words[st.nw + 1] = imm;
    st.nw += 2;
    if (st.sources) this.source(st, start);
  }

  /** Appends an `lddw` with the low and high halves of its immediate. */
  private emitLd(dst: number, src: number, lo: number, hi: number, start: number): void {
    const st = this.room(4);
    st.words[st.nw] = 0x18 | (dst << 8) | (src << 12);
    st.words[st.nw + 1] = lo;
    st.words[st.nw + 2] = 0;
    st.words[st.nw + 3] = hi;
    st.nw += 4;
    if (st.sources) this.source(st, start);
  }

  /** Appends a jump; `target` comes from {@link jumpTarget}. */
  private emitJump(code: number, dst: number, src: number, imm: number, field: 'off' | 'imm', start: number): void {
    const t = this.target;
    const label = this.targetLabel;
    if (label !== undefined) {
      this.cur.jumps.push({ slot: this.cur.nw >> 1, name: label, start, field });
      this.emit(code, dst, src, 0, field === 'imm' ? 0 : imm, start);
    } else if (field === 'off') this.emit(code, dst, src, t, imm, start);
    else this.emit(code, dst, src, 0, t, start);
  }

  /** Line and column of a text offset (for errors found after parsing). */
  private positionOf(offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let p = this.src.indexOf('\n'); p >= 0 && p < offset; p = this.src.indexOf('\n', p + 1)) {
      line++;
      lineStart = p + 1;
    }
    return { line, column: offset - lineStart + 1 };
  }

  // ---- statements ---------------------------------------------------------

  parse(): AsmResult {
    const b = this.b;
    const len = this.len;
    while (this.pos < len) {
      const p = blanks(b, this.pos);
      const c = b[p];
      if (c === C_NL) {
        this.pos = p + 1;
        this.line++;
        this.lineStart = p + 1;
        continue;
      }
      this.pos = p;
      if (c === 35 /* # */ || c === 47 /* / */) {
        // a comment (skipWs reads it and counts the lines of block comments)
        this.skipWs();
        if (this.pos !== p) continue;
      }
      if (p >= len) break;
      if (c === C_SEMI) {
        this.pos++;
        continue;
      }
      if (!this.fast()) this.statement();
    }
    return this.finish();
  }

  private statement(): void {
    const start = this.pos;
    const c = this.peek();
    if (isDigit(c)) return this.objdumpPrefix(start);
    if (c === 42 /* * */) {
      this.pos++;
      return this.store(start);
    }
    // fast paths without allocating: a register, or a mnemonic
    const r0 = this.regAt();
    if (r0) {
      this.skipWs();
      if (this.peek() !== 58 /* : */) return this.assign(r0, start);
      this.pos = start;
    }
    const end = this.identEnd(start);
    let after = end;
    while (after < this.len && (this.src.charCodeAt(after) === 32 || this.src.charCodeAt(after) === 9)) after++;
    if (this.src.charCodeAt(after) !== 58 /* : */) {
      const m = MNEMONICS[end - start];
      if (m) {
        for (const w of m) {
          if (this.src.startsWith(w, start)) {
            this.pos = end;
            return this.mnemonic(w, start);
          }
        }
      }
    }
    const id = this.ident();
    if (!id) this.expected('an instruction, label or directive');
    // label?
    this.skipWs();
    if (this.peek() === 58 /* : */) {
      this.pos++;
      this.defineLabel(id, start);
      return;
    }
    const r = Parser.regOf(id);
    if (r) return this.assign(r, start);
    if (id === 'Disassembly') return this.objdumpSectionLine();
    if (id.charCodeAt(0) === 46 /* . */) return this.directive(id);
    // `a.o:\tfile format elf64-bpf` was handled as a label; anything else is unknown.
    this.fail(`unknown instruction '${id}'`, start);
  }

  private mnemonic(id: string, start: number): void {
    switch (id) {
      case 'if':
        return this.condJump(start);
      case 'goto': {
        this.jumpTarget('off');
        this.emitJump(0x05, 0, 0, 0, 'off', start);
        return this.endStatement();
      }
      case 'gotol': {
        this.jumpTarget('imm');
        this.emitJump(0x06, 0, 0, 0, 'imm', start);
        return this.endStatement();
      }
      case 'may_goto': {
        this.jumpTarget('off');
        this.emitJump(0xe5, 0, 0, 0, 'off', start);
        return this.endStatement();
      }
      case 'gotox':
        this.emit(0x0d, this.regOfKind(false), 0, 0, 0, start);
        return this.endStatement();
      case 'callx':
        this.emit(0x8d, this.regOfKind(false), 0, 0, 0, start);
        return this.endStatement();
      case 'call':
        return this.call(start);
      case 'exit':
        this.emit(0x95, 0, 0, 0, 0, start);
        return this.endStatement();
      case 'lock':
        return this.lock(start);
      case 'ld_pseudo':
        return this.ldPseudo(start);
      case 'store_release':
        return this.storeRelease(start);
    }
  }

  private defineLabel(name: string, start: number): void {
    if (this.labelSection.has(name)) this.fail(`label '${name}' is defined twice`, start);
    this.labelSection.set(name, this.cur);
    this.cur.labels.set(name, this.cur.nw >> 1);
    // `a.o:  file format elf64-bpf` (llvm-objdump header): skip the rest of the line
    if (!this.atEnd()) {
      const save = this.pos;
      const w = this.ident();
      if (w === 'file') {
        this.cur.labels.delete(name);
        this.labelSection.delete(name);
        this.skipToEol();
        return;
      }
      this.pos = save;
    }
  }

  /** `Disassembly of section NAME:` from llvm-objdump. */
  private objdumpSectionLine(): void {
    this.expectIdent('of');
    this.expectIdent('section');
    this.skipWs();
    const nl = this.src.indexOf('\n', this.pos);
    const end = nl < 0 ? this.len : nl;
    let text = this.src.slice(this.pos, end).trim();
    if (text.endsWith(':')) text = text.slice(0, -1);
    this.cur = this.section(text);
    this.pos = end;
  }

  /** `  12:\t61 21 00 00 ...\tINSN` or `0000000000000000 <prog>:` or relocation lines from llvm-objdump. */
  private objdumpPrefix(start: number): void {
    const s = this.src;
    let p = this.pos;
    while (p < this.len && hexVal(s.charCodeAt(p)) >= 0) p++;
    const word = s.slice(this.pos, p);
    if (s.charCodeAt(p) === 58 /* : */) {
      // relocation line: `0000000000000038:  R_BPF_64_64  baz`
      let q = p + 1;
      while (q < this.len && (s.charCodeAt(q) === 32 || s.charCodeAt(q) === 9)) q++;
      if (s.startsWith('R_', q)) {
        this.pos = q;
        this.skipToEol();
        return;
      }
      if (!/^\d+$/.test(word)) this.fail(`expected an instruction, found '${word}:'`, start);
      this.pos = p + 1;
      // raw bytes: pairs of hex digits followed by a blank
      for (;;) {
        this.skipWs();
        const q0 = this.pos;
        if (hexVal(s.charCodeAt(q0)) >= 0 && hexVal(s.charCodeAt(q0 + 1)) >= 0) {
          const after = s.charCodeAt(q0 + 2);
          if (after === 32 || after === 9 || after === C_NL || q0 + 2 >= this.len) {
            this.pos = q0 + 2;
            continue;
          }
        }
        break;
      }
      if (this.atEnd()) return;
      if (isDigit(this.peek())) this.expected('an instruction');
      return this.statement();
    }
    if (word.length === 16) {
      this.pos = p;
      this.skipWs();
      if (this.peek() === 60 /* < */) {
        const close = s.indexOf('>', this.pos);
        const nl = s.indexOf('\n', this.pos);
        if (close > 0 && (nl < 0 || close < nl) && s.charCodeAt(close + 1) === 58) {
          const name = s.slice(this.pos + 1, close);
          this.pos = close + 2;
          if (!this.labelSection.has(name)) this.defineLabel(name, start);
          return this.endStatement();
        }
      }
    }
    this.pos = start;
    this.expected('an instruction, label or directive');
  }

  private directive(id: string): void {
    switch (id) {
      case '.text':
        this.cur = this.section('.text');
        break;
      case '.section': {
        this.skipWs();
        let name: string;
        if (this.peek() === 34 /* " */) {
          const close = this.src.indexOf('"', this.pos + 1);
          if (close < 0) this.fail('unterminated string');
          name = this.src.slice(this.pos + 1, close);
          this.pos = close + 1;
        } else {
          const p0 = this.pos;
          let p = p0;
          while (p < this.len) {
            const c = this.src.charCodeAt(p);
            if (c === 44 || c === 32 || c === 9 || c === C_NL || c === C_SEMI || c === 13) break;
            p++;
          }
          name = this.src.slice(p0, p);
          this.pos = p;
        }
        if (!name) this.expected('a section name');
        this.cur = this.section(name);
        break;
      }
      case '.globl':
      case '.global': {
        const n = this.ident();
        if (!n) this.expected('a symbol name');
        this.globals.add(n);
        break;
      }
      case '.type': {
        const n = this.ident();
        if (!n) this.expected('a symbol name');
        this.skipWs();
        const rest = this.src.slice(this.pos, this.lineEnd());
        if (/function/.test(rest)) this.functions.add(n);
        break;
      }
    }
    this.pos = this.lineEnd();
  }

  private lineEnd(): number {
    const nl = this.src.indexOf('\n', this.pos);
    return nl < 0 ? this.len : nl;
  }

  /** The last jump target read: a number, or a label name. */
  private target = 0;
  private targetLabel: string | undefined;

  /** `+N`, `-N`, `N` or a label; range-checked for `off` (16 bits) or `imm` (32 bits). */
  private jumpTarget(field: 'off' | 'imm'): void {
    this.skipWs();
    const start = this.pos;
    this.targetLabel = undefined;
    if (this.atNumber()) {
      const v = this.int('a jump offset');
      if (field === 'off') this.target = this.off16(v, start);
      else {
        if (v < -0x80000000 || v > 0x7fffffff) this.fail(`jump offset ${v} does not fit 32 bits`, start);
        this.target = v;
      }
      return;
    }
    const name = this.ident();
    if (!name) this.expected('a jump target (offset or label)');
    this.targetLabel = name;
  }

  private condJump(start: number): void {
    const d = this.reg();
    const cond = this.operator();
    const op = cond.jmp;
    if (op === undefined) this.fail(`expected a comparison (==, !=, >, >=, <, <=, &, s>, s>=, s<, s<=), found '${cond.text}'`);
    const cls = d.w ? 0x06 : 0x05;
    let code = cls | op;
    let src = 0;
    let imm = 0;
    if (this.atNumber()) imm = this.imm32();
    else {
      code |= 0x08;
      src = this.regOfKind(d.w);
    }
    this.expectIdent('goto');
    this.jumpTarget('off');
    this.emitJump(code, d.n, src, imm, 'off', start);
    this.endStatement();
  }

  /** Reads an operator token made of `=<>!&|^+-*\/%` characters, with an optional leading `s`. */
  private operator(): OpInfo {
    this.skipWs();
    const s = this.src;
    const start = this.pos;
    let p = start;
    if (s.charCodeAt(p) === 115 /* s */) {
      const n = s.charCodeAt(p + 1);
      if (n === 60 || n === 62 || n === 47 || n === 37) p++;
      else this.expected('an operator');
    }
    while (p < this.len) {
      const c = s.charCodeAt(p);
      if (c === 61 || c === 60 || c === 62 || c === 33 || c === 38 || c === 124 || c === 94 || c === 43 || c === 45 || c === 42 || c === 47 || c === 37)
        p++;
      else break;
    }
    if (p === start) this.expected('an operator');
    // `r0 =-1`: give back trailing characters that belong to the operand
    for (let q = p; q > start; q--) {
      const op = OPS_BY_KEY.get(opKey(s, start, q));
      if (op !== undefined && op.text.length === q - start) {
        this.pos = q;
        return op;
      }
    }
    this.pos = p;
    return { text: s.slice(start, p), alu: undefined, jmp: undefined, lock: undefined };
  }

  private call(start: number): void {
    this.skipWs();
    if (this.atNumber()) {
      // Helper ids are positive: a negative immediate is a relative bpf-to-bpf call, the form
      // clang leaves for relocated calls (`call -0x1`, src=1). llvm-mc would set src=0 here.
      const imm = this.imm32('a helper id');
      this.emit(0x85, 0, imm < 0 ? 1 : 0, 0, imm, start);
      return this.endStatement();
    }
    const name = this.ident();
    if (!name) this.expected('a helper id or function name');
    this.cur.calls.push({ slot: this.cur.nw >> 1, name, start });
    this.emit(0x85, 0, 1, 0, -1, start);
    this.endStatement();
  }

  /** `(rN + off)` / `(rN - off)` / `rN + off` (without parentheses when `paren` is false). */
  /** Base register and offset of the last {@link memOperand} (fields, so parsing allocates nothing). */
  private memBase = 0;
  private memOff = 0;

  private memOperand(paren: boolean): void {
    if (paren) this.expectChar(40);
    const base = this.regOfKind(false);
    this.skipWs();
    let off = 0;
    const c = this.peek();
    if (c === 43 || c === 45) {
      this.pos++;
      const start = this.pos + this.leadingWs(this.pos);
      const v = this.int('an offset');
      off = this.off16(c === 45 ? -v : v, start);
    }
    if (paren) this.expectChar(41);
    this.memBase = base;
    this.memOff = off;
  }

  /**
   * A type name at the cursor: `u8`..`u64` (kind 'u') or `s8`..`s32` (kind 's'), read without
   * allocating; returns the size field, or -1 (cursor unmoved) for anything else.
   */
  private typeAt(kind: number): number {
    this.skipWs();
    const s = this.src;
    const p = this.pos;
    if (s.charCodeAt(p) !== kind) return -1;
    const e = this.identEnd(p);
    let bits = 0;
    for (let q = p + 1; q < e; q++) {
      const d = s.charCodeAt(q) - 48;
      if (d < 0 || d > 9 || bits > 64) return -1;
      bits = bits * 10 + d;
    }
    const size = bits === 8 ? 0x10 : bits === 16 ? 0x08 : bits === 32 ? 0x00 : bits === 64 && kind === 117 ? 0x18 : -1;
    if (size >= 0) this.pos = e;
    return size;
  }

  /** `(u32 *)` after the `*` or `(` that opens it; returns the size code. */
  private typeCast(what: string): number {
    this.expectChar(40);
    const size = this.typeAt(117 /* u */);
    if (size < 0) this.expected(what);
    this.expectChar(42);
    this.expectChar(41);
    return size;
  }

  private store(start: number): void {
    const size = this.typeCast('u8, u16, u32 or u64');
    this.memOperand(true);
    this.expectChar(61);
    if (this.atNumber()) {
      this.emit(0x62 | size, this.memBase, 0, this.memOff, this.imm32(), start);
    } else {
      const at = this.pos + this.leadingWs(this.pos);
      const r = this.reg('a register or an immediate');
      if (size === 0x18 && r.w) this.fail(`a 64-bit store takes an r register, found 'w${r.n}'`, at);
      this.emit(0x63 | size, this.memBase, r.n, this.memOff, 0, start);
    }
    this.endStatement();
  }

  private lock(start: number): void {
    this.expectChar(42);
    const size = this.typeCast('u32 or u64');
    if (size !== 0x00 && size !== 0x18) this.fail('atomic operations take u32 or u64');
    this.memOperand(true);
    const op = this.operator();
    const imm = op.lock;
    if (imm === undefined) this.fail(`expected +=, |=, &= or ^=, found '${op.text}'`);
    const s = this.regOfKind(size !== 0x18);
    this.emit(0xc3 | size, this.memBase, s, this.memOff, imm, start);
    this.endStatement();
  }

  private storeRelease(start: number): void {
    this.expectChar(40);
    const size = this.typeCast('u8, u16, u32 or u64');
    this.memOperand(true);
    this.expectChar(44);
    const s = this.regOfKind(size !== 0x18);
    this.expectChar(41);
    this.emit(0xc3 | size, this.memBase, s, this.memOff, 0x110, start);
    this.endStatement();
  }

  private ldPseudo(start: number): void {
    const d = this.regOfKind(false);
    this.expectChar(44);
    const at = this.pos + this.leadingWs(this.pos);
    const src = this.int('a pseudo source');
    if (src < 0 || src > 15) this.fail(`pseudo source ${src} does not fit 4 bits`, at);
    this.expectChar(44);
    const imm = this.imm32();
    this.emitLd(d, src, imm, 0, start);
    this.endStatement();
  }

  /** Statements starting with a register. */
  private assign(d: Reg, start: number): void {
    const opStart = this.pos + this.leadingWs(this.pos);
    const op = this.operator();
    const alu = op.alu;
    if (alu === undefined) this.fail(`expected an assignment operator (=, +=, -=, ...), found '${op.text}'`, opStart);
    const cls = d.w ? 0x04 : 0x07;
    const code = (alu & 0xf0) | cls;
    const off = alu > 0xff ? 1 : 0;
    if (alu !== 0xb0) {
      // compound assignment: register or immediate
      if (this.atNumber()) {
        this.emit(code, d.n, 0, off, this.imm32(), start);
      } else {
        this.emit(code | 0x08, d.n, this.regOfKind(d.w), off, 0, start);
      }
      return this.endStatement();
    }
    // plain `=`
    this.skipWs();
    const c = this.peek();
    if (isDigit(c) || c === 45 || c === 43) {
      if (c === 45 && !isDigit(this.src.charCodeAt(this.pos + 1 + this.leadingWs(this.pos + 1)))) {
        // `rN = -rN`
        this.pos++;
        const at = this.pos + this.leadingWs(this.pos);
        const r = this.reg();
        if (r.n !== d.n || r.w !== d.w) this.fail(`negation must use the destination register ${d.w ? 'w' : 'r'}${d.n}`, at);
        this.emit(0x80 | cls, d.n, 0, 0, 0, start);
        return this.endStatement();
      }
      return this.movImm(d, start);
    }
    if (c === 42 /* * */) {
      this.pos++;
      return this.load(d, start);
    }
    if (c === 40 /* ( */) {
      // sign-extending move `(s8)r2`
      this.pos++;
      const save = this.pos;
      const t = this.ident();
      const bits = t === 's8' ? 8 : t === 's16' ? 16 : t === 's32' ? 32 : 0;
      if (!bits) {
        this.pos = save;
        this.expected('s8, s16 or s32');
      }
      if (bits === 32 && d.w) this.fail('(s32) needs an r register destination', save);
      this.expectChar(41);
      const s = this.regOfKind(d.w);
      this.emit(0xb8 | cls, d.n, s, bits, 0, start);
      return this.endStatement();
    }
    const save = this.pos;
    const r = this.regAt();
    if (r) {
      if (r.w !== d.w) this.fail(`expected ${d.w ? 'a w' : 'an r'} register, found '${r.w ? 'w' : 'r'}${r.n}'`, save);
      this.emit(0xb8 | cls, d.n, r.n, 0, 0, start);
      return this.endStatement();
    }
    // atomic_fetch_* without allocating its name
    if (this.src.startsWith('atomic_fetch_', save)) {
      const e = this.identEnd(save);
      for (const name of FETCH_NAMES) {
        if (e - save === name.length && this.src.startsWith(name, save)) {
          this.pos = e;
          return this.atomicFetch(d, name, FETCH_OPS[name]!, save, start);
        }
      }
    }
    const id = this.ident();
    if (!id) this.expected('a register, number, memory operand or function');
    switch (id) {
      case 'le16':
      case 'le32':
      case 'le64':
      case 'be16':
      case 'be32':
      case 'be64':
      case 'bswap16':
      case 'bswap32':
      case 'bswap64': {
        const bits = Number(id.slice(-2));
        const base = id[0] === 'l' ? 0xd4 : id[0] === 'b' && id[1] === 'e' ? 0xdc : 0xd7;
        const at = this.pos + this.leadingWs(this.pos);
        const r2 = this.reg();
        if (r2.n !== d.n || r2.w || d.w) this.fail(`byte swap must read its destination r${d.n}`, at);
        this.emit(base, d.n, 0, 0, bits, start);
        return this.endStatement();
      }
      case 'addr_space_cast': {
        if (d.w) this.fail('addr_space_cast needs an r register', save);
        this.expectChar(40);
        const s = this.regOfKind(false);
        this.expectChar(44);
        const a = this.int('an address space');
        this.expectChar(44);
        const b = this.int('an address space');
        this.expectChar(41);
        this.emit(0xbf, d.n, s, 1, ((a & 0xffff) << 16) | (b & 0xffff), start);
        return this.endStatement();
      }
      case 'load_acquire': {
        this.expectChar(40);
        const size = this.typeCast('u8, u16, u32 or u64');
        if (size === 0x18 && d.w) this.fail('a 64-bit load-acquire needs an r register', save);
        this.memOperand(true);
        this.expectChar(41);
        this.emit(0xc3 | size, d.n, this.memBase, this.memOff, 0x100, start);
        return this.endStatement();
      }
      case 'xchg_64':
      case 'xchg32_32':
      case 'cmpxchg_64':
      case 'cmpxchg32_32': {
        const is64 = id.endsWith('_64');
        if (d.w === is64) this.fail(`${id} needs ${is64 ? 'an r' : 'a w'} register`, save);
        this.expectChar(40);
        this.memOperand(false);
        this.expectChar(44);
        const cmp = id.startsWith('cmp');
        if (cmp) {
          const at = this.pos + this.leadingWs(this.pos);
          const r0 = this.regOfKind(d.w);
          if (r0 !== 0 || d.n !== 0) this.fail('cmpxchg compares with and returns into r0', at);
          this.expectChar(44);
        }
        const at = this.pos + this.leadingWs(this.pos);
        const s = this.regOfKind(d.w);
        if (!cmp && s !== d.n) this.fail(`xchg must return into its source register (${d.w ? 'w' : 'r'}${s})`, at);
        this.expectChar(41);
        this.emit(0xc3 | (is64 ? 0x18 : 0), this.memBase, s, this.memOff, cmp ? 0xf1 : 0xe1, start);
        return this.endStatement();
      }
    }
    const fetch = FETCH_OPS[id];
    if (fetch !== undefined) return this.atomicFetch(d, id, fetch, save, start);
    // `rN = symbol ll`
    if (!this.word('ll')) {
      this.pos = save;
      this.expected('a register, number, memory operand or atomic function');
    }
    if (d.w) this.fail('a 64-bit immediate load needs an r register', start);
    this.cur.loads.push({ slot: this.cur.nw >> 1, name: id, start: save });
    this.emitLd(d.n, 0, 0, 0, start);
    this.endStatement();
  }

  /** `rS = atomic_fetch_OP((u64 *)(rD + off), rS)`, after the function name. */
  private atomicFetch(d: Reg, id: string, fetch: number, save: number, start: number): void {
    this.expectChar(40);
    const size = this.typeCast('u32 or u64');
    if (size !== 0 && size !== 0x18) this.fail('atomic operations take u32 or u64', save);
    if ((size === 0x18) === d.w) this.fail(`${id} on ${size === 0x18 ? 'u64 needs an r' : 'u32 needs a w'} register`, save);
    this.memOperand(true);
    this.expectChar(44);
    const at = this.pos + this.leadingWs(this.pos);
    const s = this.regOfKind(d.w);
    if (s !== d.n) this.fail(`${id} must return into its source register`, at);
    this.expectChar(41);
    this.emit(0xc3 | size, this.memBase, s, this.memOff, fetch, start);
    this.endStatement();
  }

  private movImm(d: Reg, start: number): void {
    this.skipWs();
    const at = this.pos;
    let neg = false;
    const c = this.peek();
    if (c === 45 || c === 43) {
      neg = c === 45;
      this.pos++;
      this.skipWs();
    }
    const v = this.unsigned();
    // `ll` suffix: 64-bit immediate
    if (this.word('ll')) {
      if (d.w) this.fail('a 64-bit immediate load needs an r register', start);
      let b = typeof v === 'bigint' ? v : BigInt(v);
      if (neg) b = -b;
      if (b < -0x8000000000000000n || b > 0xffffffffffffffffn) this.fail(`immediate ${b} does not fit 64 bits`, at);
      b = BigInt.asIntN(64, b);
      this.emitLd(d.n, 0, Number(BigInt.asIntN(32, b)), Number(BigInt.asIntN(32, b >> 32n)), start);
      return this.endStatement();
    }
    if (typeof v === 'bigint') this.fail(`immediate ${neg ? '-' : ''}${v} does not fit 32 bits (use 'll' for 64 bits)`, at);
    const n = neg ? -v : v;
    if (n < -0x80000000 || n > 0xffffffff) this.fail(`immediate ${n} does not fit 32 bits (use 'll' for 64 bits)`, at);
    this.emit(d.w ? 0xb4 : 0xb7, d.n, 0, 0, n | 0, start);
    this.endStatement();
  }

  private load(d: Reg, start: number): void {
    this.expectChar(40);
    const save = this.pos;
    let code: number;
    const u = this.typeAt(117 /* u */);
    const sx = u < 0 ? this.typeAt(115 /* s */) : -1;
    if (u >= 0) code = 0x61 | u;
    else if (sx >= 0) {
      if (d.w) this.fail('sign-extending loads need an r register', save);
      code = 0x81 | sx;
    } else {
      this.expected('u8, u16, u32, u64, s8, s16 or s32');
    }
    if (u === 0x18 && d.w) this.fail('a 64-bit load needs an r register', start);
    this.expectChar(42);
    this.expectChar(41);
    this.skipWs();
    if (this.peek() !== 40) {
      // legacy packet access: r0 = *(u32 *)skb[imm] / skb[rN]
      if (!this.word('skb')) this.expected("'(' or 'skb'");
      if (u < 0 || u === 0x18) this.fail('packet loads take u8, u16 or u32', save);
      if (d.n !== 0 || d.w) this.fail('packet loads write r0', start);
      this.expectChar(91);
      let code = 0x20 | u;
      let src = 0;
      let imm = 0;
      if (this.atNumber()) imm = this.imm32();
      else {
        const r = this.regOfKind(false);
        this.skipWs();
        const c = this.peek();
        if (c === 43 || c === 45) {
          this.pos++;
          const v = this.imm32();
          imm = c === 45 ? -v | 0 : v;
        }
        code = 0x40 | u;
        src = r;
      }
      this.expectChar(93);
      this.emit(code, 0, src, 0, imm, start);
      return this.endStatement();
    }
    this.memOperand(true);
    this.emit(code, d.n, this.memBase, this.memOff, 0, start);
    this.endStatement();
  }

  // ---- fast path ------------------------------------------------------------
  //
  // The common statement forms (ALU, loads, stores, conditional jumps, calls, exit, byte swaps,
  // `atomic_fetch_*`, `lddw` of a number, labels) are read here in one pass over char codes, with
  // no allocation. The fast path emits only once the whole statement has been recognised up to its
  // end; on anything else (comments, directives, objdump prefixes, blanks inside tokens,
  // out-of-range values, errors) it returns false without side effects and `statement()` parses
  // the text again, so results and error messages are those of the general parser.

  /** The text as char codes (non-ASCII as 0x80), zero-padded: typed-array reads are cheaper than `charCodeAt`. */
  private readonly b: Uint8Array;

  /** Value read by the last `fNum`/`fImm32`/`fReg`/`fCast`/`fMem` (`fv`), and the base register of `fMem` (`fb`). */
  private fv = 0;
  private fb = 0;

  /** An unsigned literal at `p` (at most 13 hex or 15 decimal digits), into `fv`; returns its end or -1. */
  private fNum(p: number): number {
    const b = this.b;
    let c = b[p];
    if (!(c >= 48 && c <= 57)) return -1;
    let v = 0;
    if (c === 48 && (b[p + 1] | 32) === 120) {
      const d0 = p + 2;
      p = d0;
      for (;;) {
        c = b[p];
        if (c >= 48 && c <= 57) v = v * 16 + (c - 48);
        else if (c >= 97 && c <= 102) v = v * 16 + (c - 87);
        else if (c >= 65 && c <= 70) v = v * 16 + (c - 55);
        else break;
        p++;
      }
      if (p === d0 || p - d0 > 13) return -1;
    } else {
      const d0 = p;
      while (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        c = b[++p];
      }
      if (p - d0 > 15) return -1;
    }
    if (c < 128 && IDENT_PART[c]) return -1;
    this.fv = v;
    return p;
  }

  /** A signed literal (sign directly before the digits) within -2^31..2^32-1, into `fv` as int32. */
  private fImm32(p: number): number {
    const c = this.b[p];
    const neg = c === 45;
    if (neg || c === 43) p++;
    p = this.fNum(p);
    if (p < 0) return -1;
    const v = neg ? -this.fv : this.fv;
    if (v < -0x80000000 || v > 0xffffffff) return -1;
    this.fv = v | 0;
    return p;
  }

  /** A register at `p` (not followed by an identifier character): index into REGS in `fv`, or -1. */
  private fReg(p: number): number {
    const b = this.b;
    const c = b[p];
    if (c !== 114 && c !== 119) return -1;
    let n = b[p + 1] - 48;
    if (!(n >= 0 && n <= 9)) return -1;
    p += 2;
    const d2 = b[p] - 48;
    if (d2 >= 0 && d2 <= 9) {
      if (n !== 1 || d2 > 1) return -1;
      n = 10 + d2;
      p++;
    }
    const e = b[p];
    if (e < 128 && IDENT_PART[e]) return -1;
    this.fv = c === 119 ? n + 12 : n;
    return p;
  }

  /** `(uN *)` at `p` (after blanks); the size field in `fv`. */
  private fCast(p: number): number {
    const b = this.b;
    if (b[p] !== 40) return -1;
    p = blanks(b, p + 1);
    if (b[p] !== 117 /* u */) return -1;
    const c1 = b[p + 1];
    const c2 = b[p + 2];
    let size: number;
    if (c1 === 56 /* 8 */) {
      size = 0x10;
      p += 2;
    } else if (c1 === 49 && c2 === 54) {
      size = 0x08;
      p += 3;
    } else if (c1 === 51 && c2 === 50) {
      size = 0x00;
      p += 3;
    } else if (c1 === 54 && c2 === 52) {
      size = 0x18;
      p += 3;
    } else return -1;
    const e = b[p];
    if (e < 128 && IDENT_PART[e]) return -1;
    p = blanks(b, p);
    if (b[p] !== 42) return -1;
    p = blanks(b, p + 1);
    if (b[p] !== 41) return -1;
    this.fv = size;
    return p + 1;
  }

  /** `(rN + off)` at `p` (after blanks): base in `fb`, offset in `fv`. */
  private fMem(p: number): number {
    const b = this.b;
    if (b[p] !== 40) return -1;
    p = this.fReg(blanks(b, p + 1));
    if (p < 0 || this.fv >= 12) return -1;
    const base = this.fv;
    p = blanks(b, p);
    let off = 0;
    const c = b[p];
    if (c === 43 || c === 45) {
      p = this.fNum(blanks(b, p + 1));
      if (p < 0) return -1;
      off = c === 45 ? -this.fv : this.fv;
      if (off < -0x8000 || off > 0x7fff) return -1;
      p = blanks(b, p);
    }
    if (b[p] !== 41) return -1;
    this.fb = base;
    this.fv = off;
    return p + 1;
  }

  /** True when `p`, after blanks, is the end of a statement (newline, `;`, end of input). */
  private fEnd(p: number): boolean {
    p = blanks(this.b, p);
    if (p >= this.len) {
      this.pos = p;
      return true;
    }
    const c = this.b[p];
    if (c !== C_NL && c !== C_SEMI) return false;
    this.pos = p;
    return true;
  }

  /** Tries the fast path at the cursor (start of a statement); see above. */
  private fast(): boolean {
    const s = this.src;
    const b = this.b;
    const start = this.pos;
    const c = b[start];
    if (c === 114 || c === 119) return this.fAssign(start);
    if (c === 42) {
      // store: *(uN *)(rD + off) = rS | imm
      let p = this.fCast(blanks(b, start + 1));
      if (p < 0) return false;
      const size = this.fv;
      p = this.fMem(blanks(b, p));
      if (p < 0) return false;
      const base = this.fb;
      const off = this.fv;
      p = blanks(b, p);
      if (b[p] !== 61) return false;
      p = blanks(b, p + 1);
      const q = this.fReg(p);
      if (q >= 0) {
        const r = this.fv;
        if (size === 0x18 && r >= 12) return false;
        if (!this.fEnd(q)) return false;
        this.emit(0x63 | size, base, r % 12, off, 0, start);
        return true;
      }
      p = this.fImm32(p);
      if (p < 0 || !this.fEnd(p)) return false;
      this.emit(0x62 | size, base, 0, off, this.fv, start);
      return true;
    }
    if (c === 105 /* i */ && b[start + 1] === 102 /* f */) return this.fIf(start);
    if (c === 99 /* c */ && s.startsWith('call', start)) {
      const p = blanks(b, start + 4);
      if (p === start + 4) return false;
      const q = this.fImm32(p);
      if (q < 0 || !this.fEnd(q)) return false;
      const imm = this.fv;
      this.emit(0x85, 0, imm < 0 ? 1 : 0, 0, imm, start);
      return true;
    }
    if (c === 101 /* e */ && s.startsWith('exit', start)) {
      const e = b[start + 4];
      if ((e < 128 && IDENT_PART[e]) || !this.fEnd(start + 4)) return false;
      this.emit(0x95, 0, 0, 0, 0, start);
      return true;
    }
    if (c < 128 && IDENT_START[c]) {
      // a label: `name:` (what follows is up to defineLabel, as in statement())
      let e = start + 1;
      while (b[e]! < 128 && IDENT_PART[b[e]!]) e++;
      const colon = blanks(b, e);
      if (b[colon] !== 58) return false;
      this.pos = colon + 1;
      this.defineLabel(s.slice(start, e), start);
      return true;
    }
    return false;
  }

  /** `if rD <cond> rS|imm goto target`. */
  private fIf(start: number): boolean {
    const s = this.src;
    const b = this.b;
    let p = blanks(b, start + 2);
    if (p === start + 2) return false;
    p = this.fReg(p);
    if (p < 0) return false;
    const d = this.fv;
    const w = d >= 12;
    p = blanks(b, p);
    // comparison operator
    let op: number;
    const c0 = b[p];
    const c1 = b[p + 1];
    if (c0 === 61 && c1 === 61) {
      op = 0x10;
      p += 2;
    } else if (c0 === 33 && c1 === 61) {
      op = 0x50;
      p += 2;
    } else if (c0 === 62) {
      if (c1 === 61) {
        op = 0x30;
        p += 2;
      } else {
        op = 0x20;
        p++;
      }
    } else if (c0 === 60) {
      if (c1 === 61) {
        op = 0xb0;
        p += 2;
      } else {
        op = 0xa0;
        p++;
      }
    } else if (c0 === 38) {
      op = 0x40;
      p++;
    } else if (c0 === 115 /* s */ && (c1 === 62 || c1 === 60)) {
      const eq = b[p + 2] === 61;
      op = c1 === 62 ? (eq ? 0x70 : 0x60) : eq ? 0xd0 : 0xc0;
      p += eq ? 3 : 2;
    } else return false;
    if (isOpChar(b[p])) return false;
    p = blanks(b, p);
    let code = (w ? 0x06 : 0x05) | op;
    let src = 0;
    let imm = 0;
    const q = this.fReg(p);
    if (q >= 0) {
      if (this.fv >= 12 !== w) return false;
      src = this.fv % 12;
      code |= 0x08;
      p = q;
    } else {
      p = this.fImm32(p);
      if (p < 0) return false;
      imm = this.fv;
    }
    const g = blanks(b, p);
    if (g === p || !s.startsWith('goto', g)) return false;
    p = g + 4;
    const t = blanks(b, p);
    if (t === p) return false;
    p = t;
    const tc = b[p];
    if (tc === 43 || tc === 45 || (tc >= 48 && tc <= 57)) {
      p = this.fImm32(p);
      if (p < 0) return false;
      const off = this.fv;
      if (off < -0x8000 || off > 0x7fff || !this.fEnd(p)) return false;
      this.emit(code, d % 12, src, off, imm, start);
      return true;
    }
    if (!(tc < 128 && IDENT_START[tc])) return false;
    const e = this.identEnd(p);
    if (!this.fEnd(e)) return false;
    const st = this.cur;
    st.jumps.push({ slot: st.nw >> 1, name: s.slice(p, e), start, field: 'off' });
    this.emit(code, d % 12, src, 0, imm, start);
    return true;
  }

  /** Statements that start with a register. */
  private fAssign(start: number): boolean {
    const s = this.src;
    const b = this.b;
    let p = this.fReg(start);
    if (p < 0) return false;
    const d = this.fv;
    const w = d >= 12;
    const dn = d % 12;
    const cls = w ? 0x04 : 0x07;
    p = blanks(b, p);
    // assignment operator, read whole
    const o = p;
    if (b[p] === 115 /* s */) p++;
    while (isOpChar(b[p])) p++;
    const alu = aluAssign(b, o, p);
    if (alu < 0) return false;
    p = blanks(b, p);
    const c = b[p];
    if (alu !== 0xb0) {
      const code = (alu & 0xf0) | cls;
      const off = alu > 0xff ? 1 : 0;
      const q = this.fReg(p);
      if (q >= 0) {
        if (this.fv >= 12 !== w || !this.fEnd(q)) return false;
        this.emit(code | 0x08, dn, this.fv % 12, off, 0, start);
        return true;
      }
      p = this.fImm32(p);
      if (p < 0 || !this.fEnd(p)) return false;
      this.emit(code, dn, 0, off, this.fv, start);
      return true;
    }
    // plain `=`
    if (c === 45 || c === 43 || (c >= 48 && c <= 57)) {
      const neg = c === 45;
      const q = this.fNum(neg || c === 43 ? p + 1 : p);
      if (q < 0) return false;
      const v = this.fv;
      const l = blanks(b, q);
      if (b[l] === 108 && b[l + 1] === 108 /* ll */) {
        const e = b[l + 2];
        if (w || l === q || (e < 128 && IDENT_PART[e]) || !this.fEnd(l + 2)) return false;
        // |v| < 2^53: the 64-bit two's complement halves without BigInt
        const x = neg ? -v : v;
        this.emitLd(dn, 0, x | 0, Math.floor(x / 0x100000000) | 0, start);
        return true;
      }
      const n = neg ? -v : v;
      if (n < -0x80000000 || n > 0xffffffff || !this.fEnd(q)) return false;
      this.emit(w ? 0xb4 : 0xb7, dn, 0, 0, n | 0, start);
      return true;
    }
    if (c === 42 /* * */) {
      p = this.fCast(blanks(b, p + 1));
      if (p < 0) return false;
      const size = this.fv;
      if (size === 0x18 && w) return false;
      p = this.fMem(blanks(b, p));
      if (p < 0 || !this.fEnd(p)) return false;
      this.emit(0x61 | size, dn, this.fb, this.fv, 0, start);
      return true;
    }
    const q = this.fReg(p);
    if (q >= 0) {
      if (this.fv >= 12 !== w || !this.fEnd(q)) return false;
      this.emit(0xb8 | cls, dn, this.fv % 12, 0, 0, start);
      return true;
    }
    if (!(c < 128 && IDENT_START[c])) return false;
    const e = this.identEnd(p);
    const len = e - p;
    if ((len === 4 || len === 7) && !w) {
      // le16 .. be64, bswap16 .. bswap64
      let base = -1;
      if (len === 4) {
        const x = b[p];
        const y = b[p + 1];
        if (x === 108 && y === 101) base = 0xd4;
        else if (x === 98 && y === 101) base = 0xdc;
      } else if (s.startsWith('bswap', p)) base = 0xd7;
      if (base < 0) return false;
      const b1 = b[e - 2];
      const b2 = b[e - 1];
      const bits = b1 === 49 && b2 === 54 ? 16 : b1 === 51 && b2 === 50 ? 32 : b1 === 54 && b2 === 52 ? 64 : 0;
      if (bits === 0) return false;
      const r = this.fReg(blanks(b, e));
      if (r < 0 || this.fv !== dn || !this.fEnd(r)) return false;
      this.emit(base, dn, 0, 0, bits, start);
      return true;
    }
    if (len >= 15 && len <= 16 && s.startsWith('atomic_fetch_', p)) {
      let imm = -1;
      for (const name of FETCH_NAMES) {
        if (len === name.length && s.startsWith(name, p)) imm = FETCH_OPS[name]!;
      }
      if (imm < 0) return false;
      p = blanks(b, e);
      if (b[p] !== 40) return false;
      p = this.fCast(blanks(b, p + 1));
      if (p < 0) return false;
      const size = this.fv;
      if ((size !== 0 && size !== 0x18) || (size === 0x18) === w) return false;
      p = this.fMem(blanks(b, p));
      if (p < 0) return false;
      const base = this.fb;
      const off = this.fv;
      p = blanks(b, p);
      if (b[p] !== 44) return false;
      p = this.fReg(blanks(b, p + 1));
      if (p < 0 || this.fv !== d) return false;
      p = blanks(b, p);
      if (b[p] !== 41 || !this.fEnd(p + 1)) return false;
      this.emit(0xc3 | size, base, dn, off, imm, start);
      return true;
    }
    return false;
  }

  // ---- linking ------------------------------------------------------------

  private finish(): AsmResult {
    const sections: AsmSection[] = [];
    for (const st of this.sections.values()) {
      if (st.nw === 0 && st.labels.size === 0) continue;
      const w = st.words;
      const relocations: AsmRelocation[] = [];
      for (const c of st.calls) {
        const t = st.labels.get(c.name);
        if (t !== undefined) w[c.slot * 2 + 1] = t - (c.slot + 1);
        else relocations.push({ slot: c.slot, symbol: c.name, kind: 'call' });
      }
      for (const l of st.loads) relocations.push({ slot: l.slot, symbol: l.name, kind: 'ld_imm64' });
      relocations.sort((a, b) => a.slot - b.slot);
      let far: Fixup | undefined;
      for (const j of st.jumps) {
        const t = st.labels.get(j.name);
        if (t === undefined) {
          const at = this.positionOf(j.start);
          throw new AsmError(`jump to undefined label '${j.name}'`, at.line, at.column, this.opts.file);
        }
        const rel = t - (j.slot + 1);
        if (j.field === 'imm') w[j.slot * 2 + 1] = rel;
        else if (rel >= -0x8000 && rel <= 0x7fff) w[j.slot * 2] = (w[j.slot * 2]! & 0xffff) | (rel << 16);
        else far ??= j;
      }
      let bytes = new Uint8Array(w.buffer, 0, st.nw * 4);
      let labels = st.labels;
      if (far) {
        if (this.opts.gotol !== true) {
          const at = this.positionOf(far.start);
          throw new AsmError(
            `jump at slot ${far.slot} to label '${far.name}' at slot ${st.labels.get(far.name)} does not fit the 16-bit offset field; ` +
              'assemble with { gotol: true } (ISA v4, kernel 6.6) to use gotol',
            at.line,
            at.column,
            this.opts.file,
          );
        }
        ({ bytes, labels } = this.relax(st, relocations));
      }
      sections.push(new Section(st.name, bytes.slice(), labels, relocations, st.sources));
    }
    return { sections, globals: this.globals, functions: this.functions };
  }

  /** The slow path for jumps beyond 16 bits: link through the instruction model, with gotol. */
  private relax(st: SectionState, relocations: AsmRelocation[]): { bytes: Uint8Array; labels: Map<string, number> } {
    const insns = decode(new Uint8Array(st.words.buffer, 0, st.nw * 4));
    const bySlot = insnIndexBySlot(insns);
    const labelIdx = new Map<string, number>();
    for (const [name, slot] of st.labels) labelIdx.set(name, slot < bySlot.length ? bySlot[slot]! : insns.length);
    const startOf = new Map<number, number>();
    // every label reference is re-resolved, since expansions move code
    for (const j of st.jumps) {
      const k = bySlot[j.slot]!;
      insns[k]!.ref = { kind: 'jump', name: j.name };
      startOf.set(k, j.start);
    }
    for (const c of st.calls) {
      if (!st.labels.has(c.name)) continue;
      const k = bySlot[c.slot]!;
      insns[k]!.ref = { kind: 'call', name: c.name };
      startOf.set(k, c.start);
    }
    let linked;
    try {
      linked = link(insns, labelIdx, { gotol: true, inPlace: true });
    } catch (e) {
      if (!(e instanceof LinkError)) throw e;
      const at = this.positionOf(startOf.get(e.index ?? -1) ?? 0);
      throw new AsmError(e.message, at.line, at.column, this.opts.file);
    }
    const slots = slotIndices(linked.insns);
    for (const r of relocations) r.slot = slots[linked.indexMap[bySlot[r.slot]!]!]!;
    if (st.sources) {
      // expanded jumps repeat their statement's position
      const srcs: SourcePos[] = [];
      for (let k = 0; k < insns.length; k++) {
        const n = (k + 1 < insns.length ? linked.indexMap[k + 1]! : linked.insns.length) - linked.indexMap[k]!;
        for (let m = 0; m < n; m++) srcs.push(st.sources[k]!);
      }
      st.sources = srcs;
    }
    return { bytes: encode(linked.insns), labels: linked.labels };
  }
}

/** An assembled section; `insns` is decoded from `bytes` on first use. */
class Section implements AsmSection {
  private decoded: Insn[] | undefined;
  constructor(
    readonly name: string,
    readonly bytes: Uint8Array,
    readonly labels: Map<string, number>,
    readonly relocations: AsmRelocation[],
    private readonly sources: SourcePos[] | undefined,
  ) {}

  get insns(): Insn[] {
    if (!this.decoded) {
      const insns = decode(this.bytes);
      if (this.sources) for (let k = 0; k < insns.length; k++) insns[k]!.source = this.sources[k]!;
      this.decoded = insns;
    }
    return this.decoded;
  }
}

/**
 * Assembles LLVM-syntax text into linked sections. Throws `AsmError` (line,
 * column, what was expected) for syntax errors, unknown labels and jumps
 * out of range.
 */
export function assemble(text: string, options: AsmOptions = {}): AsmResult {
  return new Parser(text, options).parse();
}

/**
 * Assembles text that holds one section and returns its instructions.
 * Calls to functions not defined in the text stay as `call -0x1` (src=1, as
 * LLVM emits them for a relocation); use {@link assemble} to see them.
 */
export function assembleInsns(text: string, options: AsmOptions = {}): Insn[] {
  const r = assemble(text, options);
  if (r.sections.length > 1) {
    throw new AsmError(`text has ${r.sections.length} sections (${r.sections.map((s) => s.name).join(', ')}); use assemble()`, 1, 1, options.file);
  }
  return r.sections[0]?.insns ?? [];
}
