/**
 * Binary encoding of instructions: 8-byte little-endian slots
 * (`code`, `dst` in the low and `src` in the high nibble, `off` 16 bits,
 * `imm` 32 bits). `lddw` takes two slots: the second carries the high 32
 * bits of `imm64` and has every other field zero.
 */
import { DecodeError, EncodeError } from './errors.js';
import { slotCount, type Insn } from './insn.js';
import { LDDW } from './opcodes.js';

function fail(i: Insn, k: number, what: string): never {
  throw new EncodeError(`instruction ${k} (code 0x${(i.code >>> 0).toString(16)}): ${what}`, k);
}

const TWO32 = 0x100000000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/**
 * Scratch space to split and join 64-bit immediates without BigInt arithmetic: one 64-bit
 * element and its two 32-bit halves (V8 compiles these typed-array accesses inline, several
 * times faster than a DataView's BigInt methods).
 */
const scratch64 = new BigInt64Array(1);
const scratch32 = new Int32Array(scratch64.buffer);
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;
const INT64_MIN = -0x8000000000000000n;
const UINT64_MAX = 0xffffffffffffffffn;

function checkImm(i: Insn, k: number, imm: number): void {
  if (!(imm >= -0x80000000 && imm < TWO32 && Math.floor(imm) === imm)) fail(i, k, `immediate ${imm} does not fit 32 bits`);
}

/** Writes the 64-bit immediate of an lddw into `scratch32` (halves at `LO` and `HI`). */
function splitImm64(i: Insn, k: number): void {
  const v = i.imm64;
  if (v === undefined) {
    checkImm(i, k, i.imm);
    scratch32[LO] = i.imm;
    scratch32[HI] = 0;
    return;
  }
  if (typeof v !== 'bigint') fail(i, k, 'imm64 is not a bigint');
  if (v < INT64_MIN || v > UINT64_MAX) fail(i, k, `imm64 ${v} does not fit 64 bits`);
  scratch64[0] = v; // wraps unsigned values above 2^63 to the same 64 bits
}

/**
 * Output words of {@link encode}, reused between calls: writing into memory that is already in
 * the cache and copying once at the end beats writing a fresh buffer, and it saves a counting
 * pass over the instructions. Programs above `REUSE_MAX_INSNS` get a buffer of their own.
 */
let reuse = new Int32Array(0);
let reuseBusy = false;
const REUSE_MAX_INSNS = 1 << 16;

/**
 * Encodes instructions into bytes. Throws `EncodeError` when a field is out of
 * range (registers 0-15, `off` -32768..65535, `imm` -2^31..2^32-1, `imm64`
 * within 64 bits). Unresolved `ref`s are encoded as their current fields; link first.
 */
export function encode(insns: readonly Insn[]): Uint8Array {
  const count = insns.length;
  if (!LITTLE_ENDIAN) return encodeBytes(insns, slotCount(insns));
  // Two 32-bit words per slot, written directly (the host is little-endian, as the encoding).
  // Room for the worst case (every instruction an lddw) when the reusable buffer serves.
  const shared = count <= REUSE_MAX_INSNS && !reuseBusy;
  let out32: Int32Array;
  if (shared) {
    if (reuse.length < count * 4) reuse = new Int32Array(Math.max(count * 4, 1024));
    out32 = reuse;
    reuseBusy = true;
  } else {
    out32 = new Int32Array(slotCount(insns) * 2);
  }
  try {
    const w = encodeWords(insns, out32);
    return new Uint8Array(shared ? out32.slice(0, w).buffer : out32.buffer);
  } finally {
    if (shared) reuseBusy = false;
  }
}

/** Writes the words of `insns` into `out32` (little-endian host); returns the word count. */
function encodeWords(insns: readonly Insn[], out32: Int32Array): number {
  const count = insns.length;
  let w = 0;
  for (let k = 0; k < count; k++) {
    const i = insns[k]!;
    const code = i.code;
    const dst = i.dst;
    const src = i.src;
    const off = i.off;
    if ((code & 0xff) !== code || (dst & 0xf) !== dst || (src & 0xf) !== src || !(off >= -0x8000 && off <= 0xffff && (off | 0) === off)) {
      checkFields(i, k);
    }
    out32[w] = code | (dst << 8) | (src << 12) | (off << 16);
    if (code !== LDDW) {
      const imm = i.imm;
      // an integer in -2^31..2^32-1 (either an int32 or a uint32)
      if ((imm | 0) !== imm && imm >>> 0 !== imm) fail(i, k, `immediate ${imm} does not fit 32 bits`);
      out32[w + 1] = imm;
      w += 2;
    } else {
      splitImm64(i, k);
      out32[w + 1] = scratch32[LO]!;
      out32[w + 2] = 0; // second slot: code, registers and offset are zero
      out32[w + 3] = scratch32[HI]!;
      w += 4;
    }
  }
  return w;
}

/** Throws the `EncodeError` for the first bad field among code, dst, src and off. */
function checkFields(i: Insn, k: number): void {
  const { code, dst, src, off } = i;
  if ((code & 0xff) !== code) fail(i, k, 'opcode is not a byte');
  if ((dst & 0xf) !== dst) fail(i, k, `dst register ${dst} not in 0..15`);
  if ((src & 0xf) !== src) fail(i, k, `src register ${src} not in 0..15`);
  if (!(off >= -0x8000 && off <= 0xffff && (off | 0) === off)) fail(i, k, `offset ${off} does not fit 16 bits`);
}

/** {@link encode} on a big-endian host: byte by byte. */
function encodeBytes(insns: readonly Insn[], n: number): Uint8Array {
  const out = new Uint8Array(n * 8);
  let p = 0;
  for (let k = 0; k < insns.length; k++) {
    const i = insns[k]!;
    checkFields(i, k);
    writeLe32(out, p, i.code | (i.dst << 8) | (i.src << 12) | (i.off << 16));
    if (i.code === LDDW) {
      splitImm64(i, k);
      writeLe32(out, p + 4, scratch32[LO]!);
      writeLe32(out, p + 12, scratch32[HI]!);
      p += 16;
    } else {
      checkImm(i, k, i.imm);
      writeLe32(out, p + 4, i.imm | 0);
      p += 8;
    }
  }
  return out;
}

function writeLe32(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
}

/**
 * The objects {@link decode} returns: plain {@link Insn} fields, set by a constructor (V8
 * allocates these markedly faster than object literals).
 */
class DecodedInsn implements Insn {
  declare code: number;
  declare dst: number;
  declare src: number;
  declare off: number;
  declare imm: number;
  constructor(code: number, dst: number, src: number, off: number, imm: number) {
    this.code = code;
    this.dst = dst;
    this.src = src;
    this.off = off;
    this.imm = imm;
  }
}

/**
 * A decoded `lddw`: its own class, so `imm64` is set in the constructor instead of being added
 * afterwards (which would move every such object to a slower, out-of-object property layout).
 */
class DecodedLddw implements Insn {
  declare code: number;
  declare dst: number;
  declare src: number;
  declare off: number;
  declare imm: number;
  declare imm64: bigint;
  constructor(dst: number, src: number, off: number, lo: number, hi: number) {
    this.code = LDDW;
    this.dst = dst;
    this.src = src;
    this.off = off;
    this.imm = lo;
    scratch32[LO] = lo;
    scratch32[HI] = hi;
    this.imm64 = scratch64[0]!;
  }
}

/** Options of {@link decode}. */
export interface DecodeOptions {
  /**
   * Accept an `lddw` whose second slot has non-zero code, registers or offset
   * (the kernel rejects those); by default that is a `DecodeError`.
   */
  lenient?: boolean;
}

/**
 * Decodes bytes (a multiple of 8) into instructions; `lddw` becomes one
 * instruction with `imm64`. Any opcode byte is accepted (the model is raw
 * fields; the disassembler and verifier judge validity). Throws `DecodeError`
 * for a length that is not a multiple of 8, a truncated `lddw`, or a malformed
 * second `lddw` slot.
 */
export function decode(bytes: Uint8Array, options?: DecodeOptions): Insn[] {
  const len = bytes.length;
  if (len % 8 !== 0) throw new DecodeError(`length ${len} is not a multiple of 8`, len - (len % 8));
  const lenient = options?.lenient === true;
  const words = len >> 2;
  // Aligned little-endian input is read as 32-bit words; anything else byte by byte.
  const in32 =
    LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, words) : undefined;
  // One slot per instruction at most: allocated once, trimmed to the real count at the end
  // (cheaper than a counting pass over the input).
  const out: Insn[] = new Array<Insn>(len >> 3);
  if (in32 && !lenient) return decodeWords(in32, out);
  let o = 0;
  for (let w = 0; w < words; w += 2) {
    const w0 = in32 ? in32[w]! : readLe32(bytes, w * 4);
    const imm = in32 ? in32[w + 1]! : readLe32(bytes, w * 4 + 4);
    const code = w0 & 0xff;
    if (code === LDDW) {
      const p = w * 4;
      if (w + 4 > words) throw new DecodeError(`lddw at byte ${p} is truncated (needs a second slot)`, p);
      const w2 = in32 ? in32[w + 2]! : readLe32(bytes, p + 8);
      if (!lenient && w2 !== 0) {
        throw new DecodeError(`lddw at byte ${p} has a second slot with non-zero code, registers or offset`, p);
      }
      const hi = in32 ? in32[w + 3]! : readLe32(bytes, p + 12);
      out[o++] = new DecodedLddw((w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm, hi);
      w += 2;
    } else {
      out[o++] = new DecodedInsn(code, (w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm);
    }
  }
  out.length = o;
  return out;
}

/** {@link decode} of aligned words on a little-endian host, into `out` (one entry per slot, trimmed here). */
function decodeWords(in32: Int32Array, out: Insn[]): Insn[] {
  const words = in32.length;
  let o = 0;
  for (let w = 0; w < words; w += 2) {
    const w0 = in32[w]!;
    const imm = in32[w + 1]!;
    const code = w0 & 0xff;
    if (code !== LDDW) {
      out[o++] = new DecodedInsn(code, (w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm);
      continue;
    }
    const p = w * 4;
    if (w + 4 > words) throw new DecodeError(`lddw at byte ${p} is truncated (needs a second slot)`, p);
    if (in32[w + 2] !== 0) throw new DecodeError(`lddw at byte ${p} has a second slot with non-zero code, registers or offset`, p);
    out[o++] = new DecodedLddw((w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm, in32[w + 3]!);
    w += 2;
  }
  out.length = o;
  return out;
}

function readLe32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** Decodes one instruction (or `lddw`) at a slot index; returns the instruction and its slot count. */
export function decodeAt(bytes: Uint8Array, slot: number): { insn: Insn; slots: number } {
  const p = slot * 8;
  if (p < 0 || p + 8 > bytes.length) throw new DecodeError(`slot ${slot} is out of range`, p);
  const end = bytes[p] === LDDW ? Math.min(p + 16, bytes.length) : p + 8;
  const [i] = decode(bytes.subarray(p, end));
  return { insn: i!, slots: i!.code === LDDW ? 2 : 1 };
}
