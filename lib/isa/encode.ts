/**
 * Binary encoding of instructions: 8-byte little-endian slots
 * (`code`, `dst` in the low and `src` in the high nibble, `off` 16 bits,
 * `imm` 32 bits). `lddw` takes two slots: the second carries the high 32
 * bits of `imm64` and has every other field zero.
 */
import { DecodeError, EncodeError } from './errors.js';
import type { Insn } from './insn.js';
import { LDDW } from './opcodes.js';

function fail(i: Insn, k: number, what: string): never {
  throw new EncodeError(`instruction ${k} (code 0x${(i.code >>> 0).toString(16)}): ${what}`, k);
}

const TWO32 = 0x100000000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Scratch space to split and join 64-bit immediates without BigInt arithmetic. */
const scratch = new DataView(new ArrayBuffer(8));

function checkImm(i: Insn, k: number, imm: number): void {
  if (!(imm >= -0x80000000 && imm < TWO32 && Math.floor(imm) === imm)) fail(i, k, `immediate ${imm} does not fit 32 bits`);
}

/** Writes the 64-bit immediate of an lddw into `scratch` (low word at 0, high word at 4). */
function splitImm64(i: Insn, k: number): void {
  const v = i.imm64;
  if (v === undefined) {
    checkImm(i, k, i.imm);
    scratch.setInt32(0, i.imm | 0, true);
    scratch.setInt32(4, 0, true);
    return;
  }
  if (typeof v !== 'bigint') fail(i, k, 'imm64 is not a bigint');
  if (v < 0n) {
    if (v < -0x8000000000000000n) fail(i, k, `imm64 ${v} does not fit 64 bits`);
    scratch.setBigInt64(0, v, true);
  } else {
    if (v > 0xffffffffffffffffn) fail(i, k, `imm64 ${v} does not fit 64 bits`);
    scratch.setBigUint64(0, v, true);
  }
}

/**
 * Encodes instructions into bytes. Throws `EncodeError` when a field is out of
 * range (registers 0-15, `off` -32768..65535, `imm` -2^31..2^32-1, `imm64`
 * within 64 bits). Unresolved `ref`s are encoded as their current fields; link first.
 */
export function encode(insns: readonly Insn[]): Uint8Array {
  const count = insns.length;
  let n = count;
  for (let k = 0; k < count; k++) if (insns[k]!.code === LDDW) n++;
  if (!LITTLE_ENDIAN) return encodeBytes(insns, n);
  // Two 32-bit words per slot, written directly (the host is little-endian, as the encoding).
  const out32 = new Int32Array(n * 2);
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
      out32[w + 1] = scratch.getInt32(0, true);
      // word w+2 (second slot's code, registers, offset) stays zero
      out32[w + 3] = scratch.getInt32(4, true);
      w += 4;
    }
  }
  return new Uint8Array(out32.buffer);
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
      writeLe32(out, p + 4, scratch.getInt32(0, true));
      writeLe32(out, p + 12, scratch.getInt32(4, true));
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
 * allocates these markedly faster than object literals); `lddw` also gets `imm64`.
 */
class DecodedInsn implements Insn {
  declare code: number;
  declare dst: number;
  declare src: number;
  declare off: number;
  declare imm: number;
  declare imm64?: bigint;
  constructor(code: number, dst: number, src: number, off: number, imm: number) {
    this.code = code;
    this.dst = dst;
    this.src = src;
    this.off = off;
    this.imm = imm;
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
  // Count first so the result array is allocated once.
  let count = 0;
  for (let p = 0; p < len; p += 8) {
    count++;
    if (bytes[p] === LDDW) p += 8;
  }
  const out: Insn[] = new Array<Insn>(count);
  if (in32 && !lenient) {
    // fast path: aligned little-endian words
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
      scratch.setInt32(0, imm, true);
      scratch.setInt32(4, in32[w + 3]!, true);
      const i = new DecodedInsn(code, (w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm);
      i.imm64 = scratch.getBigInt64(0, true);
      out[o++] = i;
      w += 2;
    }
    return out;
  }
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
      scratch.setInt32(0, imm, true);
      scratch.setInt32(4, hi, true);
      const i = new DecodedInsn(code, (w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm);
      i.imm64 = scratch.getBigInt64(0, true);
      out[o++] = i;
      w += 2;
    } else {
      out[o++] = new DecodedInsn(code, (w0 >> 8) & 0xf, (w0 >> 12) & 0xf, w0 >> 16, imm);
    }
  }
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
