/**
 * Disassembly of every opcode byte with many field combinations, compared
 * with llvm-objdump-22 instruction by instruction (raw bytes assembled with
 * llvm-mc `.byte` directives so LLVM sees exactly these encodings).
 */
import { expect, it } from 'vitest';
import { describeLlvm } from '../helpers/env.js';
import { disassembleBytes, symbolizer } from '../../lib/isa/index.js';
import { readElf, STT } from '../../lib/elf/index.js';
import { llvmMc, objdump, prng, readBytes, tempDir } from './llvm-tools.js';

const special = [0, 1, 8, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x100, 0x110, -1, -8, 0x7fffffff, -0x80000000];

function slotBytes(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [code, dst | (src << 4), off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, (imm >>> 24) & 0xff];
}

/** Encodings: for each opcode, canonical-looking fields and random ones. */
function encodings(seed: number, perCode: number): number[][] {
  const r = prng(seed);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
  const out: number[][] = [];
  for (let code = 0; code < 256; code++) {
    for (let k = 0; k < perCode; k++) {
      const wild = k % 4 === 3;
      const dst = wild ? Math.floor(r() * 16) : Math.floor(r() * 11);
      const src = wild ? Math.floor(r() * 16) : k % 2 ? 0 : Math.floor(r() * 11);
      const off = wild ? (Math.floor(r() * 65536) << 16) >> 16 : pick([0, 0, 0, 1, 8, 16, 32, -8, 0x7fff, -0x8000, 3]);
      const imm = wild ? Math.floor(r() * 2 ** 32) | 0 : pick(special);
      const s = slotBytes(code, dst, src, off, imm);
      if (code === 0x18) s.push(0, 0, 0, 0, ...slotBytes(0, 0, 0, 0, wild ? Math.floor(r() * 2 ** 32) | 0 : pick([0, -1, 1]) ).slice(4));
      out.push(s);
    }
  }
  return out;
}

describeLlvm('disassembly of raw encodings vs llvm-objdump-22', () => {
  it('prints every opcode byte exactly as llvm-objdump does', () => {
    const t = tempDir();
    try {
      const encs = encodings(12345, 48);
      const text = ['.text', '.globl f', 'f:', ...encs.map((b) => '.byte ' + b.join(','))].join('\n') + '\n';
      const obj = llvmMc(t.dir, 'grid', text);
      const expected = objdump(obj).get('.text')!;
      const elf = readElf(readBytes(obj));
      const sec = elf.section('.text')!;
      const syms = elf.symbols
        .filter((s) => s.shndx === sec.index && s.type !== STT.FILE && s.index !== 0)
        .map((s) => ({ name: s.name, value: Number(s.value), isSection: s.type === STT.SECTION }));
      const got = disassembleBytes(sec.data, { symbolize: symbolizer(syms, sec.name) });
      const mismatches: string[] = [];
      const bySlot = new Map(got.map((l) => [l.slot, l.text.replace(/\s+/g, ' ')]));
      for (const e of expected) {
        const g = bySlot.get(e.slot);
        if (g !== e.text) {
          const b = Array.from(sec.data.subarray(e.slot * 8, e.slot * 8 + 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
          mismatches.push(`slot ${e.slot} [${b}]: llvm '${e.text}' tsbpf '${g}'`);
        }
      }
      expect(got.length).toBe(expected.length);
      expect(mismatches.slice(0, 40)).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
});
