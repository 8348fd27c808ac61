/**
 * `.BTF.ext`: per-section func_info, line_info and CO-RE relocation records
 * (decode and encode), and the kernel's `bpf_func_info`/`bpf_line_info`
 * arrays passed to `BPF_PROG_LOAD`.
 */
import type { BtfStrings } from './decode.js';
import { BTF_MAGIC, BTF_VERSION } from './decode.js';
import { BtfError } from './error.js';
import { BtfStringTable } from './strings.js';

/** A function's BTF: the instruction (byte offset in its ELF section, or instruction index once linked) and its FUNC type id. */
export interface FuncInfo {
  /** Byte offset in the section (in `.BTF.ext`); instruction index in kernel records. */
  insnOff: number;
  /** BTF id of the FUNC. */
  typeId: number;
}

/** A source line for an instruction. */
export interface LineInfo {
  /** Byte offset in the section (in `.BTF.ext`); instruction index in kernel records. */
  insnOff: number;
  /** Source file name. */
  fileName: string;
  /** The source line's text. */
  line: string;
  /** Line number (1-based; 22 bits). */
  lineNumber: number;
  /** Column (1-based, 0 if unknown; 10 bits). */
  column: number;
}

/**
 * A CO-RE relocation record (`struct bpf_core_relo`), as read from `.BTF.ext`.
 * `applyCoreRelocations` (lib/btf/core.ts) resolves it against a target
 * BTF and patches the instruction; `Collection.load` does so against the
 * running kernel's BTF before programs load.
 */
export interface CoreRelo {
  /** The instruction: byte offset in the section (in `.BTF.ext`); slot index once linked into a program. */
  insnOff: number;
  /** The local root type (an id in the object's `.BTF`). */
  typeId: number;
  /** The access string, `0:1:2...` (see {@link CoreReloKind}). */
  accessStr: string;
  /** A {@link CoreReloKind}. */
  kind: number;
}

/** `enum bpf_core_relo_kind` (include/uapi/linux/bpf.h): what a CO-RE relocation asks for. */
export const CoreReloKind = {
  /** Byte offset of a field. */
  FIELD_BYTE_OFFSET: 0,
  /** Byte size of a field. */
  FIELD_BYTE_SIZE: 1,
  /** 1 if the field exists in the target, else 0. */
  FIELD_EXISTS: 2,
  /** 1 if the field is signed (int or signed enum). */
  FIELD_SIGNED: 3,
  /** Left shift that brings a bitfield to the top of a u64. */
  FIELD_LSHIFT_U64: 4,
  /** Right shift that then brings it down (logical or arithmetic). */
  FIELD_RSHIFT_U64: 5,
  /** The type's id in the program's own BTF. */
  TYPE_ID_LOCAL: 6,
  /** The matching type's id in the target BTF. */
  TYPE_ID_TARGET: 7,
  /** 1 if a compatible type exists in the target, else 0. */
  TYPE_EXISTS: 8,
  /** The matching type's size in the target. */
  TYPE_SIZE: 9,
  /** 1 if the enumerator exists in the target, else 0. */
  ENUMVAL_EXISTS: 10,
  /** The enumerator's value in the target. */
  ENUMVAL_VALUE: 11,
  /** 1 if a type of the same shape (stricter than TYPE_EXISTS) exists, else 0. */
  TYPE_MATCHES: 12,
} as const;

/** The name of a CO-RE relocation kind (`'FIELD_BYTE_OFFSET'`, ...). */
export type CoreReloKindName = keyof typeof CoreReloKind;

/** The contents of a `.BTF.ext` section, keyed by ELF section name. */
export interface BtfExt {
  funcInfo: Map<string, FuncInfo[]>;
  lineInfo: Map<string, LineInfo[]>;
  coreRelos: Map<string, CoreRelo[]>;
}

/** Size of a func_info record. */
export const FUNC_INFO_SIZE = 8;
/** Size of a line_info record. */
export const LINE_INFO_SIZE = 16;
/** Size of a CO-RE relocation record. */
export const CORE_RELO_SIZE = 16;

/** An empty `.BTF.ext`. */
export function emptyBtfExt(): BtfExt {
  return { funcInfo: new Map(), lineInfo: new Map(), coreRelos: new Map() };
}

/** Decodes `.BTF.ext`; strings come from the object's `.BTF` string section. Throws `BtfError` with the offset. */
export function decodeBtfExt(bytes: Uint8Array, strings: BtfStrings): BtfExt {
  if (bytes.length < 8) throw new BtfError(`.BTF.ext too short (${bytes.length} bytes)`, { offset: 0 });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(0, true) !== BTF_MAGIC) throw new BtfError('bad .BTF.ext magic', { offset: 0 });
  if (bytes[2] !== BTF_VERSION) throw new BtfError(`unsupported .BTF.ext version ${bytes[2]}`, { offset: 2 });
  const hdrLen = dv.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > bytes.length) throw new BtfError(`bad .BTF.ext header length ${hdrLen}`, { offset: 4 });
  const ext = emptyBtfExt();
  const block = <T>(
    offField: number,
    what: string,
    minRec: number,
    read: (at: number, sec: string) => T,
    into: Map<string, T[]>,
  ) => {
    if (offField + 8 > hdrLen) return;
    const off = dv.getUint32(offField, true);
    const len = dv.getUint32(offField + 4, true);
    if (len === 0) return;
    const start = hdrLen + off;
    const end = start + len;
    if (end > bytes.length || end < start) throw new BtfError(`${what} (offset ${off}, length ${len}) exceeds .BTF.ext`, { offset: offField });
    if (len < 4) throw new BtfError(`${what} too short`, { offset: start });
    const recSize = dv.getUint32(start, true);
    if (recSize < minRec || recSize % 4 !== 0 || recSize > 1024) throw new BtfError(`${what} record size ${recSize}`, { offset: start });
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) throw new BtfError(`${what} section header truncated`, { offset: p });
      const sec = strings.at(dv.getUint32(p, true), p);
      const num = dv.getUint32(p + 4, true);
      p += 8;
      if (num === 0) throw new BtfError(`${what} for section ${sec} has no records`, { offset: p - 4 });
      if (num * recSize > end - p) throw new BtfError(`${what} for section ${sec}: ${num} records exceed the block`, { offset: p - 4 });
      const list = into.get(sec) ?? [];
      for (let i = 0; i < num; i++, p += recSize) list.push(read(p, sec));
      into.set(sec, list);
    }
  };
  block(8, 'func_info', FUNC_INFO_SIZE, (at) => ({ insnOff: dv.getUint32(at, true), typeId: dv.getUint32(at + 4, true) }), ext.funcInfo);
  block(
    16,
    'line_info',
    LINE_INFO_SIZE,
    (at) => {
      const lc = dv.getUint32(at + 12, true);
      return {
        insnOff: dv.getUint32(at, true),
        fileName: strings.at(dv.getUint32(at + 4, true), at + 4),
        line: strings.at(dv.getUint32(at + 8, true), at + 8),
        lineNumber: lc >>> 10,
        column: lc & 0x3ff,
      };
    },
    ext.lineInfo,
  );
  if (hdrLen >= 32) {
    block(
      24,
      'core_relo',
      CORE_RELO_SIZE,
      (at) => ({
        insnOff: dv.getUint32(at, true),
        typeId: dv.getUint32(at + 4, true),
        accessStr: strings.at(dv.getUint32(at + 8, true), at + 8),
        kind: dv.getUint32(at + 12, true),
      }),
      ext.coreRelos,
    );
  }
  return ext;
}

/**
 * Encodes `.BTF.ext`. Its strings are added to `strings`, which must then be the
 * string table the `.BTF` is encoded with (see `encodeBtfAndExt`).
 */
export function encodeBtfExt(ext: BtfExt, strings: BtfStringTable): Uint8Array {
  const parts: Array<{ recSize: number; secs: Array<[string, Uint8Array[]]> }> = [];
  const rec = (size: number, fill: (dv: DataView) => void) => {
    const b = new Uint8Array(size);
    fill(new DataView(b.buffer));
    return b;
  };
  parts.push({
    recSize: FUNC_INFO_SIZE,
    secs: [...ext.funcInfo].map(([s, l]) => [
      s,
      l.map((f) =>
        rec(FUNC_INFO_SIZE, (d) => {
          d.setUint32(0, f.insnOff, true);
          d.setUint32(4, f.typeId, true);
        }),
      ),
    ]),
  });
  parts.push({
    recSize: LINE_INFO_SIZE,
    secs: [...ext.lineInfo].map(([s, l]) => [
      s,
      l.map((li) => rec(LINE_INFO_SIZE, (d) => writeLineInfo(d, 0, li, li.insnOff, strings))),
    ]),
  });
  parts.push({
    recSize: CORE_RELO_SIZE,
    secs: [...ext.coreRelos].map(([s, l]) => [
      s,
      l.map((c) =>
        rec(CORE_RELO_SIZE, (d) => {
          d.setUint32(0, c.insnOff, true);
          d.setUint32(4, c.typeId, true);
          d.setUint32(8, strings.add(c.accessStr), true);
          d.setUint32(12, c.kind, true);
        }),
      ),
    ]),
  });
  const blocks = parts.map((p) => {
    const nonEmpty = p.secs.filter(([, l]) => l.length > 0);
    if (nonEmpty.length === 0) return new Uint8Array(0);
    const size = 4 + nonEmpty.reduce((n, [, l]) => n + 8 + l.length * p.recSize, 0);
    const b = new Uint8Array(size);
    const d = new DataView(b.buffer);
    d.setUint32(0, p.recSize, true);
    let o = 4;
    for (const [sec, l] of nonEmpty) {
      d.setUint32(o, strings.add(sec), true);
      d.setUint32(o + 4, l.length, true);
      o += 8;
      for (const r of l) {
        b.set(r, o);
        o += r.length;
      }
    }
    return b;
  });
  const hdrLen = 32;
  const out = new Uint8Array(hdrLen + blocks.reduce((n, b) => n + b.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, true);
  out[2] = BTF_VERSION;
  dv.setUint32(4, hdrLen, true);
  let off = 0;
  blocks.forEach((b, i) => {
    dv.setUint32(8 + i * 8, b.length ? off : 0, true);
    dv.setUint32(12 + i * 8, b.length, true);
    out.set(b, hdrLen + off);
    off += b.length;
  });
  return out;
}

function writeLineInfo(d: DataView, at: number, li: LineInfo, insnOff: number, strings: BtfStringTable) {
  d.setUint32(at, insnOff, true);
  d.setUint32(at + 4, strings.add(li.fileName), true);
  d.setUint32(at + 8, strings.add(li.line), true);
  d.setUint32(at + 12, ((Math.min(li.lineNumber, 0x3fffff) << 10) | Math.min(li.column, 0x3ff)) >>> 0, true);
}

/**
 * The kernel's `bpf_func_info` array for `BPF_PROG_LOAD`: `insnOff` must already be
 * an instruction index in the final program.
 */
export function funcInfoRecords(infos: FuncInfo[]): Uint8Array {
  const out = new Uint8Array(infos.length * FUNC_INFO_SIZE);
  const d = new DataView(out.buffer);
  infos.forEach((f, i) => {
    d.setUint32(i * FUNC_INFO_SIZE, f.insnOff, true);
    d.setUint32(i * FUNC_INFO_SIZE + 4, f.typeId, true);
  });
  return out;
}

/**
 * The kernel's `bpf_line_info` array: `insnOff` an instruction index; file and
 * line strings are looked up (or added) in `strings`, the table of the BTF loaded
 * with the program (add them before encoding that BTF).
 */
export function lineInfoRecords(lines: LineInfo[], strings: BtfStringTable): Uint8Array {
  const out = new Uint8Array(lines.length * LINE_INFO_SIZE);
  const d = new DataView(out.buffer);
  lines.forEach((l, i) => writeLineInfo(d, i * LINE_INFO_SIZE, l, l.insnOff, strings));
  return out;
}
