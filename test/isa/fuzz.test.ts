/**
 * Property tests: random bytes into the decoder and disassembler, random text
 * into the assembler. They may only succeed or raise tsbpf's typed errors,
 * and must finish quickly (bounded loops, seeded PRNG: a failure names its seed).
 */
import { describe, expect, it } from 'vitest';
import { TsbpfError } from '../../lib/errors.js';
import { AsmError, DecodeError, assemble, decode, disassemble, disassembleBytes, encode, formatInsn } from '../../lib/isa/index.js';
import { allForms } from './forms.js';
import { prng } from './llvm-tools.js';

const ITERATIONS = 3000;

function expectOnly<E extends Error>(fn: () => unknown, type: new (...a: never[]) => E, what: string): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof type) || !(e instanceof TsbpfError)) throw new Error(`${what}: unexpected ${String(e)}`, { cause: e });
    return false;
  }
}

describe('property tests', () => {
  it('random bytes: decode raises only DecodeError; the disassembler never throws', () => {
    const r = prng(0x5eed);
    let ok = 0;
    for (let n = 0; n < ITERATIONS; n++) {
      const len = Math.floor(r() * 80);
      const bytes = new Uint8Array(len);
      for (let k = 0; k < len; k++) bytes[k] = Math.floor(r() * 256);
      // bias towards lddw so its checks are exercised
      if (len >= 8 && r() < 0.3) bytes[len - (len % 8 || 8)] = 0x18;
      const what = `seed 0x5eed iteration ${n}`;
      if (expectOnly(() => encode(decode(bytes)), DecodeError, what)) ok++;
      const lines = disassembleBytes(bytes);
      expect(lines.reduce((s, l) => s + l.slots, 0)).toBe(Math.floor(len / 8));
      if (len % 8 === 0) {
        try {
          disassemble(decode(bytes, { lenient: true }));
        } catch (e) {
          expect(e, what).toBeInstanceOf(DecodeError);
        }
      }
    }
    expect(ok).toBeGreaterThan(100);
  });

  it('random text: the assembler raises only AsmError and stays fast', () => {
    const r = prng(0xa55);
    const pick = <T>(a: readonly T[]) => a[Math.floor(r() * a.length)]!;
    const words = [
      ...allForms().slice(0, 400).map((f) => formatInsn(f)),
      'r1', 'w2', 'r11', 'r12', '=', '+=', 's>>=', '*', '(', ')', '[', ']', 'u32', 's8', 'skb', 'goto', 'gotol', 'if',
      'call', 'exit', 'lock', 'll', ':', ';', ',', '+', '-', '0x', '0x7fffffff', '99999999999999999999', '-0', 'lbl',
      'lbl:', '.Lx:', '.section', '.text', '.globl', '//', '#', '/*', '*/', '\n', '\t', ' ', '<', '>', 'atomic_fetch_add',
      'load_acquire', 'store_release', 'cmpxchg_64', 'xchg32_32', 'addr_space_cast', 'ld_pseudo', '12:', 'b7 00',
      '0000000000000000 <f>:', 'Disassembly of section', 'é', '\u{1F600}', '"', '\\',
    ];
    let ok = 0;
    let worst = 0;
    for (let n = 0; n < ITERATIONS; n++) {
      const parts: string[] = [];
      const count = 1 + Math.floor(r() * 12);
      for (let k = 0; k < count; k++) {
        if (r() < 0.15) parts.push(String.fromCharCode(Math.floor(r() * 128)));
        else parts.push(pick(words));
      }
      const text = parts.join(r() < 0.5 ? ' ' : '');
      const t0 = performance.now();
      if (expectOnly(() => assemble(text), AsmError, `seed 0xa55 iteration ${n}: ${JSON.stringify(text)}`)) ok++;
      worst = Math.max(worst, performance.now() - t0);
    }
    expect(ok).toBeGreaterThan(50);
    expect(worst).toBeLessThan(250);
  });

  it('mutated valid programs: the assembler raises only AsmError', () => {
    const r = prng(0xbeef);
    const base = allForms().map((f) => formatInsn(f)).join('\n');
    for (let n = 0; n < 300; n++) {
      const chars = base.slice(0, 2000).split('');
      for (let k = 0; k < 5; k++) {
        const at = Math.floor(r() * chars.length);
        const op = r();
        if (op < 0.33) chars.splice(at, 1);
        else if (op < 0.66) chars.splice(at, 0, String.fromCharCode(32 + Math.floor(r() * 95)));
        else chars[at] = String.fromCharCode(32 + Math.floor(r() * 95));
      }
      expectOnly(() => assemble(chars.join('')), AsmError, `seed 0xbeef iteration ${n}`);
    }
  });

  it('deeply repeated prefixes and labels neither recurse nor hang', () => {
    const many = '1: '.repeat(100000);
    expect(() => assemble(many)).toThrow(AsmError);
    const labels = Array.from({ length: 50000 }, (_, k) => `l${k}:`).join(' ');
    expect(assemble(labels).sections[0]!.labels.size).toBe(50000);
    expect(() => assemble('('.repeat(100000))).toThrow(AsmError);
    expect(() => assemble('/*'.repeat(100000))).toThrow(AsmError);
  });
});
