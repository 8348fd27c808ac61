/**
 * BTF decoder: the `.BTF` blob (header, type records, string section) into a
 * {@link Btf}. Checks every length and offset as it reads, then validates the
 * type graph; errors are `BtfError`s naming the offset.
 */
import { Btf } from './btf.js';
import { BtfError } from './error.js';
import { BtfKind, type BtfType } from './types.js';

/** BTF magic number (`0xeB9F`, little-endian bytes `9f eb`). */
export const BTF_MAGIC = 0xeb9f;
/** The only BTF version. */
export const BTF_VERSION = 1;
/** Size of `struct btf_header`. */
export const BTF_HEADER_SIZE = 24;

const KIND_NAMES: Record<number, BtfType['kind']> = Object.fromEntries(
  Object.entries(BtfKind).map(([k, v]) => [v, k as BtfType['kind']]),
);

const decoder = new TextDecoder('utf-8', { fatal: false });

/** A string section: look up NUL-terminated strings by offset, with bounds checks. */
export class BtfStrings {
  readonly bytes: Uint8Array;
  /** Offset of the section in the enclosing blob, for messages. */
  readonly base: number;
  private readonly cache = new Map<number, string>();
  constructor(bytes: Uint8Array, base = 0) {
    this.bytes = bytes;
    this.base = base;
  }
  /** The string at `off`; throws `BtfError` if out of range or unterminated. */
  at(off: number, where?: number): string {
    const c = this.cache.get(off);
    if (c !== undefined) return c;
    if (off === 0) return '';
    if (off >= this.bytes.length) {
      throw new BtfError(`string offset ${off} outside string section of ${this.bytes.length} bytes`, { offset: where ?? this.base });
    }
    let end = off;
    while (end < this.bytes.length && this.bytes[end] !== 0) end++;
    if (end >= this.bytes.length) throw new BtfError(`string at ${off} is not NUL-terminated`, { offset: this.base + off });
    const s = decoder.decode(this.bytes.subarray(off, end));
    this.cache.set(off, s);
    return s;
  }
}

/** The result of {@link decodeBtf}: the types, the string section, and each type's record offset. */
export interface DecodedBtf {
  btf: Btf;
  strings: BtfStrings;
  /** Byte offset (in the blob) of each type's record: `offsets[id - 1]`. */
  offsets: number[];
}

/** Decodes a `.BTF` blob into a {@link Btf} (validated). Throws `BtfError` with the offset of the problem. */
export function decodeBtf(bytes: Uint8Array): Btf {
  return decodeBtfDetailed(bytes).btf;
}

/** Like {@link decodeBtf}, also returning the string section and record offsets. */
export function decodeBtfDetailed(bytes: Uint8Array): DecodedBtf {
  if (bytes.length < BTF_HEADER_SIZE) throw new BtfError(`BTF too short for a header (${bytes.length} bytes)`, { offset: 0 });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    if (magic === 0x9feb) throw new BtfError('big-endian BTF is not supported', { offset: 0 });
    throw new BtfError(`bad BTF magic 0x${magic.toString(16)}`, { offset: 0 });
  }
  if (bytes[2] !== BTF_VERSION) throw new BtfError(`unsupported BTF version ${bytes[2]}`, { offset: 2 });
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < BTF_HEADER_SIZE || hdrLen > bytes.length) throw new BtfError(`bad BTF header length ${hdrLen}`, { offset: 4 });
  const typeOff = dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  const body = bytes.length - hdrLen;
  if (typeOff % 4 !== 0) throw new BtfError(`type section offset ${typeOff} is not 4-byte aligned`, { offset: 8 });
  if (typeOff + typeLen > body || typeOff + typeLen < typeOff) {
    throw new BtfError(`type section (offset ${typeOff}, length ${typeLen}) exceeds the BTF (${body} bytes after the header)`, { offset: 8 });
  }
  if (strOff + strLen > body || strOff + strLen < strOff) {
    throw new BtfError(`string section (offset ${strOff}, length ${strLen}) exceeds the BTF (${body} bytes after the header)`, { offset: 16 });
  }
  if (typeOff < strOff + strLen && strOff < typeOff + typeLen) throw new BtfError('type and string sections overlap', { offset: 8 });
  const strBase = hdrLen + strOff;
  const strBytes = bytes.subarray(strBase, strBase + strLen);
  if (strLen > 0 && (strBytes[0] !== 0 || strBytes[strLen - 1] !== 0)) {
    throw new BtfError('string section must start and end with a NUL byte', { offset: strBase });
  }
  const strings = new BtfStrings(strBytes, strBase);

  const types: BtfType[] = [];
  const offsets: number[] = [];
  const start = hdrLen + typeOff;
  const end = start + typeLen;
  let p = start;
  const need = (n: number, what: string) => {
    if (p + n > end) throw new BtfError(`${what} truncated: needs ${n} bytes, ${end - p} left in the type section`, { offset: p, typeId: types.length + 1 });
  };
  const u32 = () => {
    const v = dv.getUint32(p, true);
    p += 4;
    return v;
  };
  const i32 = () => {
    const v = dv.getInt32(p, true);
    p += 4;
    return v;
  };
  const name = (off: number, at: number) => strings.at(off, at);
  while (p < end) {
    const recAt = p;
    const id = types.length + 1;
    need(12, 'type record');
    const nameOff = u32();
    const info = u32();
    const sizeOrType = u32();
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kindFlag = info >>> 31 === 1;
    const kind = KIND_NAMES[kindNum];
    if (!kind) throw new BtfError(`unknown BTF kind ${kindNum}`, { offset: recAt + 4, typeId: id });
    const n = name(nameOff, recAt);
    let t: BtfType;
    switch (kind) {
      case 'INT': {
        need(4, 'INT');
        const v = u32();
        t = { kind, name: n, size: sizeOrType, encoding: v >>> 24, bitOffset: (v >>> 16) & 0xff, bits: v & 0xff };
        break;
      }
      case 'PTR':
      case 'TYPEDEF':
      case 'VOLATILE':
      case 'CONST':
      case 'RESTRICT':
      case 'TYPE_TAG':
        t = { kind, name: n, type: sizeOrType };
        break;
      case 'ARRAY': {
        need(12, 'ARRAY');
        t = { kind, name: n, type: u32(), indexType: u32(), nelems: u32() };
        break;
      }
      case 'STRUCT':
      case 'UNION': {
        need(12 * vlen, kind);
        const members = [];
        for (let i = 0; i < vlen; i++) {
          const mAt = p;
          const mName = name(u32(), mAt);
          const type = u32();
          const off = u32();
          members.push({
            name: mName,
            type,
            bitOffset: kindFlag ? off & 0xffffff : off,
            bitfieldSize: kindFlag ? off >>> 24 : 0,
          });
        }
        t = { kind, name: n, size: sizeOrType, members, kindFlag };
        break;
      }
      case 'ENUM': {
        need(8 * vlen, kind);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const vAt = p;
          const vName = name(u32(), vAt);
          const raw = i32();
          values.push({ name: vName, value: kindFlag ? BigInt(raw) : BigInt(raw >>> 0) });
        }
        t = { kind, name: n, size: sizeOrType, signed: kindFlag, values };
        break;
      }
      case 'ENUM64': {
        need(12 * vlen, kind);
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const vAt = p;
          const vName = name(u32(), vAt);
          const lo = BigInt(u32());
          const hi = BigInt(u32());
          const u = (hi << 32n) | lo;
          values.push({ name: vName, value: kindFlag ? BigInt.asIntN(64, u) : u });
        }
        t = { kind, name: n, size: sizeOrType, signed: kindFlag, values };
        break;
      }
      case 'FWD':
        t = { kind, name: n, union: kindFlag };
        break;
      case 'FUNC':
        t = { kind, name: n, type: sizeOrType, linkage: vlen };
        break;
      case 'FUNC_PROTO': {
        need(8 * vlen, kind);
        const params = [];
        for (let i = 0; i < vlen; i++) {
          const pAt = p;
          params.push({ name: name(u32(), pAt), type: u32() });
        }
        t = { kind, name: n, returnType: sizeOrType, params };
        break;
      }
      case 'VAR':
        need(4, 'VAR');
        t = { kind, name: n, type: sizeOrType, linkage: u32() };
        break;
      case 'DATASEC': {
        need(12 * vlen, kind);
        const vars = [];
        for (let i = 0; i < vlen; i++) vars.push({ type: u32(), offset: u32(), size: u32() });
        t = { kind, name: n, size: sizeOrType, vars };
        break;
      }
      case 'FLOAT':
        t = { kind, name: n, size: sizeOrType };
        break;
      case 'DECL_TAG':
        need(4, 'DECL_TAG');
        t = { kind, name: n, type: sizeOrType, componentIdx: i32() };
        break;
    }
    types.push(t);
    offsets.push(recAt);
  }
  const btf = new Btf(types);
  btf.validate(offsets);
  return { btf, strings, offsets };
}
