/**
 * BTF encoder: a {@link Btf} into the `.BTF` wire format (header, type records,
 * string section), the format both ELF objects and `BPF_BTF_LOAD` use.
 */
import type { Btf } from './btf.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_VERSION } from './decode.js';
import { BtfError } from './error.js';
import { BtfStringTable } from './strings.js';
import { BtfKind, type BtfType } from './types.js';

function recordSize(t: BtfType): number {
  switch (t.kind) {
    case 'INT':
    case 'VAR':
    case 'DECL_TAG':
      return 16;
    case 'ARRAY':
      return 24;
    case 'STRUCT':
    case 'UNION':
      return 12 + 12 * t.members.length;
    case 'ENUM':
      return 12 + 8 * t.values.length;
    case 'ENUM64':
      return 12 + 12 * t.values.length;
    case 'FUNC_PROTO':
      return 12 + 8 * t.params.length;
    case 'DATASEC':
      return 12 + 12 * t.vars.length;
    default:
      return 12;
  }
}

function vlenOf(t: BtfType): number {
  switch (t.kind) {
    case 'STRUCT':
    case 'UNION':
      return t.members.length;
    case 'ENUM':
    case 'ENUM64':
      return t.values.length;
    case 'FUNC_PROTO':
      return t.params.length;
    case 'DATASEC':
      return t.vars.length;
    case 'FUNC':
      return t.linkage;
    default:
      return 0;
  }
}

/**
 * Encodes the types into a `.BTF` blob. Strings go into `strings` (a fresh table
 * by default); pass a shared table when other data (line info) refers to the
 * same string section: add those strings before calling this.
 */
export function encodeBtf(btf: Btf, strings: BtfStringTable = new BtfStringTable()): Uint8Array {
  // Names first, so the string table is complete before layout.
  for (const t of btf.types) {
    strings.add(t.name);
    if (t.kind === 'STRUCT' || t.kind === 'UNION') t.members.forEach((m) => strings.add(m.name));
    else if (t.kind === 'ENUM' || t.kind === 'ENUM64') t.values.forEach((v) => strings.add(v.name));
    else if (t.kind === 'FUNC_PROTO') t.params.forEach((p) => strings.add(p.name));
  }
  const typeLen = btf.types.reduce((n, t) => n + recordSize(t), 0);
  const strBytes = strings.bytes();
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strBytes.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, true);
  out[2] = BTF_VERSION;
  out[3] = 0;
  dv.setUint32(4, BTF_HEADER_SIZE, true);
  dv.setUint32(8, 0, true);
  dv.setUint32(12, typeLen, true);
  dv.setUint32(16, typeLen, true);
  dv.setUint32(20, strBytes.length, true);
  let p = BTF_HEADER_SIZE;
  const u32 = (v: number) => {
    dv.setUint32(p, v >>> 0, true);
    p += 4;
  };
  const s = (n: string) => strings.get(n)!;
  btf.types.forEach((t, i) => {
    const vlen = vlenOf(t);
    if (vlen > 0xffff) throw new BtfError(`${t.kind} '${t.name}' has ${vlen} entries (max 65535)`, { typeId: i + 1 });
    let kindFlag = false;
    if (t.kind === 'STRUCT' || t.kind === 'UNION') kindFlag = t.kindFlag || t.members.some((m) => m.bitfieldSize !== 0);
    else if (t.kind === 'ENUM' || t.kind === 'ENUM64') kindFlag = t.signed;
    else if (t.kind === 'FWD') kindFlag = t.union;
    u32(s(t.name));
    u32(((kindFlag ? 1 : 0) << 31) | (BtfKind[t.kind] << 24) | vlen);
    switch (t.kind) {
      case 'INT':
        u32(t.size);
        u32(((t.encoding & 0xf) << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff));
        break;
      case 'PTR':
      case 'TYPEDEF':
      case 'VOLATILE':
      case 'CONST':
      case 'RESTRICT':
      case 'TYPE_TAG':
      case 'FUNC':
        u32(t.type);
        break;
      case 'ARRAY':
        u32(0);
        u32(t.type);
        u32(t.indexType);
        u32(t.nelems);
        break;
      case 'STRUCT':
      case 'UNION':
        u32(t.size);
        for (const m of t.members) {
          u32(s(m.name));
          u32(m.type);
          u32(kindFlag ? ((m.bitfieldSize & 0xff) << 24) | (m.bitOffset & 0xffffff) : m.bitOffset);
        }
        break;
      case 'ENUM':
        u32(t.size);
        for (const v of t.values) {
          u32(s(v.name));
          u32(Number(BigInt.asUintN(32, v.value)));
        }
        break;
      case 'ENUM64':
        u32(t.size);
        for (const v of t.values) {
          const u = BigInt.asUintN(64, v.value);
          u32(s(v.name));
          u32(Number(u & 0xffffffffn));
          u32(Number(u >> 32n));
        }
        break;
      case 'FWD':
        u32(0);
        break;
      case 'FUNC_PROTO':
        u32(t.returnType);
        for (const q of t.params) {
          u32(s(q.name));
          u32(q.type);
        }
        break;
      case 'VAR':
        u32(t.type);
        u32(t.linkage);
        break;
      case 'DATASEC':
        u32(t.size);
        for (const v of t.vars) {
          u32(v.type);
          u32(v.offset);
          u32(v.size);
        }
        break;
      case 'FLOAT':
        u32(t.size);
        break;
      case 'DECL_TAG':
        u32(t.type);
        u32(t.componentIdx);
        break;
    }
  });
  out.set(strBytes, p);
  return out;
}
