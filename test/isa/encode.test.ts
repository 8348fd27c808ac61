import { describe, expect, it } from 'vitest';
import * as isa from '../../lib/isa/index.js';
import { allForms } from './forms.js';
import { prng } from './llvm-tools.js';

describe('encode/decode', () => {
  it('round-trips every instruction form: decode(encode(x)) == x and encode(decode(b)) == b', () => {
    const forms = allForms();
    expect(forms.length).toBeGreaterThan(600);
    const bytes = isa.encode(forms);
    expect(bytes.length).toBe(isa.slotCount(forms) * 8);
    const back = isa.decode(bytes);
    expect(back.length).toBe(forms.length);
    for (let k = 0; k < forms.length; k++) {
      const f = forms[k]!;
      const b = back[k]!;
      expect({ code: b.code, dst: b.dst, src: b.src, off: b.off, imm: b.imm }).toEqual({
        code: f.code,
        dst: f.dst,
        src: f.src,
        off: f.off,
        imm: f.imm,
      });
      if (f.code === isa.LDDW) expect(b.imm64).toBe(f.imm64);
    }
    expect(isa.encode(back)).toEqual(bytes);
  });

  it('round-trips random bytes of every opcode byte', () => {
    const r = prng(7);
    for (let code = 0; code < 256; code++) {
      const slots: number[] = [];
      for (let k = 0; k < 16; k++) {
        const s = Array.from({ length: 8 }, () => Math.floor(r() * 256));
        s[0] = code;
        slots.push(...s);
        if (code === isa.LDDW) slots.push(0, 0, 0, 0, ...Array.from({ length: 4 }, () => Math.floor(r() * 256)));
      }
      const bytes = new Uint8Array(slots);
      expect(isa.encode(isa.decode(bytes))).toEqual(bytes);
    }
  });

  it('encodes known bytes', () => {
    expect(Array.from(isa.encode([isa.mov64Imm(0, 2)]))).toEqual([0xb7, 0, 0, 0, 2, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.ldx('u32', 1, 1, 4)]))).toEqual([0x61, 0x11, 4, 0, 0, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.stx('u64', 10, 1, -8)]))).toEqual([0x7b, 0x1a, 0xf8, 0xff, 0, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.atomic('u64', 'fetch_add', 0, 1, 0)]))).toEqual([0xdb, 0x10, 0, 0, 1, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.ldImm64(1, -2n)]))).toEqual([
      0x18, 1, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]);
    expect(Array.from(isa.encode([isa.ldMapValue(2, 5, 16)]))).toEqual([0x18, 0x22, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.gotol(-3)]))).toEqual([0x06, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff]);
    expect(Array.from(isa.encode([isa.bswap(3, 32)]))).toEqual([0xd7, 3, 0, 0, 32, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.alu64Reg('sdiv', 2, 3)]))).toEqual([0x3f, 0x32, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.movsx64(1, 2, 16)]))).toEqual([0xbf, 0x21, 16, 0, 0, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.ldxsx('u8', 1, 2, 1)]))).toEqual([0x91, 0x21, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(isa.encode([isa.loadAcquire('u8', 1, 2, 0)]))).toEqual([0xd3, 0x21, 0, 0, 0, 1, 0, 0]);
    expect(Array.from(isa.encode([isa.storeRelease('u64', 1, 2, 0)]))).toEqual([0xdb, 0x21, 0, 0, 0x10, 1, 0, 0]);
    expect(Array.from(isa.encode([isa.ldInd('u16', 3, 4)]))).toEqual([0x48, 0x30, 0, 0, 4, 0, 0, 0]);
  });

  it('accepts unsigned 32-bit immediates and encodes them as two\'s complement', () => {
    expect(isa.decode(isa.encode([isa.mov64Imm(0, 0xffffffff)]))[0]!.imm).toBe(-1);
  });

  it('rejects fields that do not fit', () => {
    expect(() => isa.encode([isa.mov64Imm(16, 0)])).toThrow(isa.EncodeError);
    expect(() => isa.encode([isa.mov64Reg(0, -1)])).toThrow(isa.EncodeError);
    expect(() => isa.encode([isa.ldx('u8', 0, 1, 0x10000)])).toThrow(/offset 65536/);
    expect(() => isa.encode([isa.mov64Imm(0, 2 ** 32)])).toThrow(isa.EncodeError);
    expect(() => isa.encode([isa.mov64Imm(0, 1.5)])).toThrow(isa.EncodeError);
    expect(() => isa.encode([{ ...isa.ldImm64(0, 0n), imm64: 1n << 64n }])).toThrow(/64 bits/);
    expect(() => isa.encode([isa.exit(), { code: 256, dst: 0, src: 0, off: 0, imm: 0 }])).toThrow(
      expect.objectContaining({ index: 1 }),
    );
  });

  it('encodes 64-bit immediates across the whole signed and unsigned range', () => {
    const bytes = (v: bigint) => Array.from(isa.encode([{ ...isa.ldImm64(1, 0n), imm64: v }]));
    expect(bytes(0xffffffffffffffffn)).toEqual(bytes(-1n));
    expect(bytes(0x8000000000000000n)).toEqual(bytes(-0x8000000000000000n));
    expect(bytes(0x123456789abcdef0n)).toEqual([0x18, 0x01, 0, 0, 0xf0, 0xde, 0xbc, 0x9a, 0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]);
    // an lddw without imm64 takes its 32-bit imm, zero-extended
    expect(isa.decode(isa.encode([{ code: 0x18, dst: 2, src: 0, off: 0, imm: 7 }]))[0]!.imm64).toBe(7n);
    expect(() => isa.encode([{ ...isa.ldImm64(0, 0n), imm64: -(1n << 63n) - 1n }])).toThrow(/64 bits/);
  });

  it('returns a buffer of its own, exactly sized, for small and large programs', () => {
    for (const count of [1, 3000, 70_000]) {
      const prog = Array.from({ length: count }, (_, k) => (k % 7 === 0 ? isa.ldImm64(k % 10, BigInt(k) << 33n) : isa.mov64Imm(k % 10, k)));
      const a = isa.encode(prog);
      const b = isa.encode(prog.slice().reverse());
      expect(a.byteOffset).toBe(0);
      expect(a.byteLength).toBe(a.buffer.byteLength);
      expect(a.byteLength).toBe(isa.slotCount(prog) * 8);
      // a later call does not overwrite an earlier result
      expect(isa.decode(a)).toEqual(prog);
      expect(isa.decode(b)).toEqual(prog.slice().reverse());
    }
  });

  it('stays correct when a field getter re-enters encode', () => {
    const inner = [isa.mov64Imm(3, 42), isa.exit()];
    let nested: Uint8Array | undefined;
    const tricky = {
      get code() {
        nested ??= isa.encode(inner);
        return 0xb7;
      },
      dst: 1,
      src: 0,
      off: 0,
      imm: 9,
    };
    const out = isa.encode([isa.mov64Imm(0, 1), tricky, isa.exit()]);
    expect(isa.decode(out)).toEqual([isa.mov64Imm(0, 1), isa.mov64Imm(1, 9), isa.exit()]);
    expect(isa.decode(nested!)).toEqual(inner);
  });

  it('rejects malformed byte sequences with DecodeError', () => {
    expect(() => isa.decode(new Uint8Array(7))).toThrow(isa.DecodeError);
    expect(() => isa.decode(new Uint8Array([0x18, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/truncated/);
    const bad = new Uint8Array(16);
    bad[0] = 0x18;
    bad[8] = 0x95;
    expect(() => isa.decode(bad)).toThrow(/second slot/);
    expect(isa.decode(bad, { lenient: true })).toHaveLength(1);
  });

  it('counts slots and maps between slots and instructions', () => {
    const p = [isa.mov64Imm(0, 0), isa.ldImm64(1, 5n), isa.exit()];
    expect(isa.slotCount(p)).toBe(4);
    expect(Array.from(isa.slotIndices(p))).toEqual([0, 1, 3, 4]);
    expect(Array.from(isa.insnIndexBySlot(p))).toEqual([0, 1, -1, 2]);
    expect(isa.insnSlots(p[1]!)).toBe(2);
    expect(isa.decodeAt(isa.encode(p), 1).insn.imm64).toBe(5n);
  });
});
