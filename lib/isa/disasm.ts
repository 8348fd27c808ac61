/**
 * The disassembler: prints instructions exactly as llvm-objdump (LLVM 17 and
 * later) prints them for BPF, with hexadecimal immediates and the alu32
 * register names (`w1 = *(u32 *)(r2 + 0x4)`) that llvm-objdump uses since LLVM 20.
 *
 * Encodings LLVM cannot decode print as `<unknown>` and take one slot, as in
 * llvm-objdump. LLVM ignores most unused fields (registers, offsets or
 * immediates an instruction does not use), and so does this printer.
 */
import type { Insn, SourcePos } from './insn.js';
import { LDDW } from './opcodes.js';

/** Options of the disassembler. */
export interface DisasmOptions {
  /**
   * Names a branch target for the `<sym+0xoff>` suffix llvm-objdump prints
   * after jumps: receives the target's byte address (relative to the section
   * start, possibly negative or past the end) and returns the suffix text
   * without angle brackets, or undefined for none. Without it no suffix is printed.
   */
  symbolize?: (targetByte: number) => string | undefined;
}

/** One disassembled instruction. */
export interface DisasmLine {
  /** Slot index (byte offset / 8). */
  slot: number;
  /** Number of slots (2 for `lddw`, else 1; `<unknown>` takes 1). */
  slots: number;
  /** The LLVM text, e.g. `r0 = 0x2`. */
  text: string;
  /** Source position, when the instruction carries one. */
  source?: SourcePos;
}

const ALU_OPS = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', '', '%=', '^=', '=', 's>>=', '', '', ''];
const JMP_OPS = ['', '==', '>', '>=', '&', '!=', 's>', 's>=', '', '', '<', '<=', 's<', 's<=', '', ''];
const SIZES = ['u32', 'u16', 'u8', 'u64'];

/** Signed hexadecimal as LLVM prints immediates: `0x7`, `-0x3`. */
export function hex(v: number | bigint): string {
  if (typeof v === 'bigint') return v < 0n ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
  return v < 0 ? '-0x' + (-v).toString(16) : '0x' + v.toString(16);
}

function signedOff(v: number): string {
  return v < 0 ? '-0x' + (-v).toString(16) : '+0x' + v.toString(16);
}

function memRef(base: number, off: number): string {
  return off < 0 ? `r${base} - 0x${(-off).toString(16)}` : `r${base} + 0x${off.toString(16)}`;
}

function target(slot: number, rel: number, opts: DisasmOptions | undefined): string {
  const s = signedOff(rel);
  if (!opts?.symbolize) return s;
  const name = opts.symbolize((slot + 1 + rel) * 8);
  return name === undefined ? s : `${s} <${name}>`;
}

/** The text llvm-objdump prints for an instruction that LLVM cannot decode. */
export const UNKNOWN = '<unknown>';

/**
 * Formats one instruction at slot index `slot` (used for branch-target
 * suffixes). Returns {@link UNKNOWN} for encodings LLVM does not decode.
 */
export function formatInsn(i: Insn, slot = 0, opts?: DisasmOptions): string {
  const code = i.code;
  const cls = code & 7;
  const dst = i.dst;
  const src = i.src;
  const off = (i.off << 16) >> 16;
  const imm = i.imm | 0;
  switch (cls) {
    case 4:
    case 7: {
      const op = code >> 4;
      const x = (code & 8) !== 0;
      const p = cls === 7 ? 'r' : 'w';
      if (dst > 11) return UNKNOWN;
      if (op === 8) return x ? UNKNOWN : `${p}${dst} = -${p}${dst}`;
      if (op === 0xd) {
        if (cls === 7 && x) return UNKNOWN;
        if (imm !== 16 && imm !== 32 && imm !== 64) return UNKNOWN;
        const name = cls === 7 ? 'bswap' : x ? 'be' : 'le';
        return `r${dst} = ${name}${imm} r${dst}`;
      }
      const sym = ALU_OPS[op]!;
      if (sym === '' || (x && src > 11)) return UNKNOWN;
      const rhs = x ? `${p}${src}` : hex(imm);
      if (off === 0) return `${p}${dst} ${sym} ${rhs}`;
      if (off === 1 && (op === 3 || op === 9)) return `${p}${dst} s${sym} ${rhs}`;
      if (op === 0xb && x) {
        if (off === 8 || off === 16 || (off === 32 && cls === 7)) return `${p}${dst} = (s${off})${p}${src}`;
        if (off === 1 && cls === 7) return `r${dst} = addr_space_cast(r${src}, ${hex(imm >>> 16)}, ${hex(imm & 0xffff)})`;
      }
      return UNKNOWN;
    }
    case 5:
    case 6: {
      const op = code >> 4;
      const x = (code & 8) !== 0;
      if (op === 0) {
        if (cls === 5) return x ? (dst > 11 ? UNKNOWN : `gotox r${dst}`) : `goto ${target(slot, off, opts)}`;
        return x ? UNKNOWN : `gotol ${target(slot, imm, opts)}`;
      }
      const sym = JMP_OPS[op]!;
      if (sym !== '') {
        if (dst > 11 || (x && src > 11)) return UNKNOWN;
        const p = cls === 5 ? 'r' : 'w';
        return `if ${p}${dst} ${sym} ${x ? p + src : hex(imm)} goto ${target(slot, off, opts)}`;
      }
      if (cls === 6) return UNKNOWN;
      if (op === 8) return x ? (dst > 11 ? UNKNOWN : `callx r${dst}`) : `call ${hex(imm)}`;
      if (op === 9) return x || imm !== 0 ? UNKNOWN : 'exit';
      if (op === 0xe && !x) return `may_goto ${target(slot, off, opts)}`;
      return UNKNOWN;
    }
    case 0: {
      if (code === LDDW) {
        if (off !== 0 || dst > 11) return UNKNOWN;
        if (src !== 0) return `ld_pseudo\tr${dst}, ${hex(src)}, ${hex(imm >>> 0)}`;
        const v = i.imm64 ?? BigInt(imm >>> 0);
        return `r${dst} = ${hex(BigInt.asIntN(64, v))} ll`;
      }
      const mode = code & 0xe0;
      const size = (code >> 3) & 3;
      if (size === 3) return UNKNOWN;
      if (mode === 0x20) return `r0 = *(${SIZES[size]} *)skb[${hex(imm)}]`;
      if (mode === 0x40) return src > 11 ? UNKNOWN : `r0 = *(${SIZES[size]} *)skb[r${src}]`;
      return UNKNOWN;
    }
    case 1: {
      if (dst > 11 || src > 11) return UNKNOWN;
      const mode = code & 0xe0;
      const size = (code >> 3) & 3;
      if (mode === 0x60) return `${size === 3 ? 'r' : 'w'}${dst} = *(${SIZES[size]} *)(${memRef(src, off)})`;
      if (mode === 0x80 && size !== 3) return `r${dst} = *(s${SIZES[size]!.slice(1)} *)(${memRef(src, off)})`;
      return UNKNOWN;
    }
    case 2: {
      if ((code & 0xe0) !== 0x60 || dst > 11) return UNKNOWN;
      return `*(${SIZES[(code >> 3) & 3]} *)(${memRef(dst, off)}) = ${hex(imm)}`;
    }
    case 3: {
      if (dst > 11 || src > 11) return UNKNOWN;
      const mode = code & 0xe0;
      const size = (code >> 3) & 3;
      const p = size === 3 ? 'r' : 'w';
      const ty = SIZES[size]!;
      if (mode === 0x60) return `*(${ty} *)(${memRef(dst, off)}) = ${p}${src}`;
      if (mode !== 0xc0) return UNKNOWN;
      // LLVM decodes atomics from imm bits 0-8 only: bit 0 = fetch, bits 4-7 = operation, bit 8 = acquire/release.
      const fetch = (imm & 0xf) === 1;
      const aop = (imm >> 4) & 0xf;
      const b8 = (imm & 0x100) !== 0;
      const m = memRef(dst, off);
      if (b8 && aop === 1) return `store_release((${ty} *)(${m}), ${p}${src})`;
      if (b8 && aop === 0 && (!fetch || size === 1 || size === 2)) return `${p}${dst} = load_acquire((${ty} *)(${memRef(src, off)}))`;
      if (size !== 0 && size !== 3) return UNKNOWN;
      if (!fetch) {
        if (b8 && aop === 0) return UNKNOWN;
        const sym = aop === 0 ? '+=' : aop === 4 ? '|=' : aop === 5 ? '&=' : aop === 0xa ? '^=' : '';
        return sym === '' ? UNKNOWN : `lock *(${ty} *)(${m}) ${sym} ${p}${src}`;
      }
      switch (aop) {
        case 0:
        case 4:
        case 5:
        case 0xa: {
          const name = aop === 0 ? 'add' : aop === 4 ? 'or' : aop === 5 ? 'and' : 'xor';
          return `${p}${src} = atomic_fetch_${name}((${ty} *)(${m}), ${p}${src})`;
        }
        case 0xe:
          return size === 3 ? `r${src} = xchg_64(${m}, r${src})` : `w${src} = xchg32_32(${m}, w${src})`;
        case 0xf:
          return size === 3 ? `r0 = cmpxchg_64(${m}, r0, r${src})` : `w0 = cmpxchg32_32(${m}, w0, w${src})`;
        default:
          return UNKNOWN;
      }
    }
  }
  return UNKNOWN;
}

function readInsn(bytes: Uint8Array, p: number): Insn {
  return {
    code: bytes[p]!,
    dst: bytes[p + 1]! & 15,
    src: bytes[p + 1]! >> 4,
    off: ((bytes[p + 2]! | (bytes[p + 3]! << 8)) << 16) >> 16,
    imm: bytes[p + 4]! | (bytes[p + 5]! << 8) | (bytes[p + 6]! << 16) | (bytes[p + 7]! << 24),
  };
}

/**
 * Disassembles raw section bytes slot by slot, like llvm-objdump: a
 * well-formed `lddw` takes 16 bytes, anything LLVM cannot decode prints
 * `<unknown>` and takes 8. A trailing partial slot is ignored.
 */
export function disassembleBytes(bytes: Uint8Array, opts?: DisasmOptions): DisasmLine[] {
  const out: DisasmLine[] = [];
  const n = Math.floor(bytes.length / 8);
  for (let s = 0; s < n; ) {
    const i = readInsn(bytes, s * 8);
    if (i.code === LDDW) {
      if (s + 1 >= n || i.off !== 0) {
        out.push({ slot: s, slots: 1, text: UNKNOWN });
        s++;
        continue;
      }
      const p = s * 8 + 12;
      const hi = bytes[p]! | (bytes[p + 1]! << 8) | (bytes[p + 2]! << 16) | (bytes[p + 3]! << 24);
      i.imm64 = (BigInt(hi) << 32n) | BigInt(i.imm >>> 0);
      out.push({ slot: s, slots: 2, text: formatInsn(i, s, opts) });
      s += 2;
      continue;
    }
    out.push({ slot: s, slots: 1, text: formatInsn(i, s, opts) });
    s++;
  }
  return out;
}

/** Disassembles instructions of the model (e.g. from `decode` or a linked builder). */
export function disassemble(insns: readonly Insn[], opts?: DisasmOptions): DisasmLine[] {
  const out: DisasmLine[] = [];
  let s = 0;
  for (const i of insns) {
    const slots = i.code === LDDW ? 2 : 1;
    const line: DisasmLine = { slot: s, slots, text: formatInsn(i, s, opts) };
    if (i.source) line.source = i.source;
    out.push(line);
    s += slots;
  }
  return out;
}

/** Options of {@link listing}. */
export interface ListingOptions extends DisasmOptions {
  /** Print `; file:line:column` before the first instruction of each new source position. Default true. */
  source?: boolean;
  /** Read a source line's text for the interleaved comments (e.g. from the file); optional. */
  sourceLine?: (pos: SourcePos) => string | undefined;
}

/**
 * A text listing in llvm-objdump's layout (`  slot:\ttext`), interleaved
 * with source positions when the instructions carry them.
 */
export function listing(insns: readonly Insn[], opts?: ListingOptions): string {
  const lines: string[] = [];
  let last: SourcePos | undefined;
  const withSource = opts?.source !== false;
  for (const l of disassemble(insns, opts)) {
    const pos = l.source;
    if (withSource && pos && (!last || last.file !== pos.file || last.line !== pos.line || last.column !== pos.column)) {
      const text = opts?.sourceLine?.(pos);
      lines.push(`; ${pos.file}:${pos.line}:${pos.column}${text !== undefined ? ' ' + text.trim() : ''}`);
      last = pos;
    }
    lines.push(`${String(l.slot).padStart(8)}:\t${l.text}`);
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}

/** A symbol for {@link symbolizer}: name and byte offset in the section. */
export interface SectionSymbol {
  name: string;
  value: number;
  /** True for the section's own symbol (STT_SECTION): used only when no other symbol precedes. */
  isSection?: boolean;
}

/**
 * Builds a {@link DisasmOptions.symbolize} function that names branch targets
 * the way llvm-objdump does: the closest symbol at or before the target
 * (addresses compared as unsigned 64-bit, so a target before the section start
 * wraps around to the last symbol), printed as `sym` or `sym+0xoff`. With
 * `sectionName`, targets before any symbol are named after the section
 * (`.text+0x60`), as llvm-objdump does for sections without symbols.
 */
export function symbolizer(symbols: readonly SectionSymbol[], sectionName?: string): (targetByte: number) => string | undefined {
  const all = sectionName !== undefined ? [{ name: sectionName, value: 0, isSection: true }, ...symbols] : symbols;
  const sorted = [...all].sort((a, b) => a.value - b.value || Number(!!b.isSection) - Number(!!a.isSection));
  return (t) => {
    const ut = BigInt.asUintN(64, BigInt(t));
    let best: SectionSymbol | undefined;
    for (const s of sorted) {
      if (BigInt(s.value) > ut) break;
      if (!best || !s.isSection || best.isSection) {
        if (!(best && s.isSection && !best.isSection)) best = s;
      }
    }
    if (!best) return undefined;
    const d = ut - BigInt(best.value);
    return d === 0n ? best.name : `${best.name}+0x${d.toString(16)}`;
  };
}
