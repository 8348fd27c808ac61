import { describe, expect, it } from 'vitest';
import * as isa from '../../lib/isa/index.js';
import { AsmError, assemble, assembleInsns, encode, formatInsn } from '../../lib/isa/index.js';
import { allForms } from './forms.js';

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Forms whose LLVM text carries every encoded field (LLVM prints `skb[r2]` without imm, `call` without src, ...). */
function textual(i: isa.Insn): boolean {
  if ((i.code === 0x40 || i.code === 0x48 || i.code === 0x50) && i.imm !== 0) return false;
  if (i.code === 0x85 && (i.src !== 0) !== (i.imm < 0)) return false;
  if (i.code === 0x18 && i.src !== 0 && i.imm64! >> 32n !== 0n) return false;
  return true;
}

describe('assembler', () => {
  it('assembles the disassembly of every instruction form back to the same bytes', () => {
    const forms = allForms().filter(textual);
    const text = forms.map((f) => formatInsn(f)).join('\n');
    const back = assembleInsns(text);
    expect(back.length).toBe(forms.length);
    for (let k = 0; k < forms.length; k++) {
      expect([formatInsn(forms[k]!), hexOf(encode([back[k]!]))]).toEqual([formatInsn(forms[k]!), hexOf(encode([forms[k]!]))]);
    }
  });

  it('parses the syntax of the issue examples', () => {
    const insns = assembleInsns(`
      r0 = 0x2
      w1 = *(u32 *)(r1 + 0x4)
      if r3 > r2 goto +0x11
      r1 = atomic_fetch_add((u64 *)(r0 + 0x0), r1)
      call 0x1
      r1 = 0x0 ll
      exit`);
    expect(insns).toEqual([
      isa.mov64Imm(0, 2),
      isa.ldx('u32', 1, 1, 4),
      isa.jmpReg('gt', 3, 2, 0x11),
      isa.atomic('u64', 'fetch_add', 0, 1, 0),
      isa.call(1),
      isa.ldImm64(1, 0n),
      isa.exit(),
    ]);
  });

  it('resolves labels, accepts decimal and hex, comments and statement separators', () => {
    const insns = assembleInsns(`
    prog:                 // entry
      r0 = 0              # decimal
      if r1 == 0 goto LBB0_2 ; r0 = -1
      /* a block
         comment */ goto .Lout
    LBB0_2:
      r0 = 0x10
    .Lout:
      exit`);
    expect(insns).toEqual([
      isa.mov64Imm(0, 0),
      isa.jmpImm('eq', 1, 0, 2),
      isa.mov64Imm(0, -1),
      isa.ja(1),
      isa.mov64Imm(0, 16),
      isa.exit(),
    ]);
  });

  it('resolves bpf-to-bpf calls and keeps unresolved calls and symbol loads as relocations', () => {
    const r = assemble(`
      .section xdp,"ax",@progbits
      .globl prog
      .type prog,@function
    prog:
      call sub
      call other
      r1 = my_map ll
      exit
    sub:
      r0 = 1
      exit
      .text
    other:
      exit`);
    expect(r.sections.map((s) => s.name)).toEqual(['xdp', '.text']);
    const xdp = r.sections[0]!;
    expect(xdp.insns[0]).toEqual({ code: 0x85, dst: 0, src: 1, off: 0, imm: 4 });
    expect(xdp.insns[1]).toEqual({ code: 0x85, dst: 0, src: 1, off: 0, imm: -1 });
    expect(xdp.relocations).toEqual([
      { slot: 1, symbol: 'other', kind: 'call' },
      { slot: 2, symbol: 'my_map', kind: 'ld_imm64' },
    ]);
    expect(xdp.labels.get('sub')).toBe(5);
    expect([...r.globals]).toEqual(['prog']);
    expect([...r.functions]).toEqual(['prog']);
  });

  it('accepts llvm-objdump output verbatim', () => {
    const dump = `
a.o:\tfile format elf64-bpf

Disassembly of section xdp:

0000000000000000 <prog>:
       0:\tb7 00 00 00 01 00 00 00\tr0 = 0x1
       1:\t18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x0 ll
\t\t0000000000000008:  R_BPF_64_64\tm
       3:\t15 00 01 00 00 00 00 00\tif r0 == 0x0 goto +0x1 <prog+0x28>
       4:\t85 00 00 00 01 00 00 00\tcall 0x1
       5:\t95 00 00 00 00 00 00 00\texit
`;
    const r = assemble(dump);
    expect(r.sections.map((s) => s.name)).toEqual(['xdp']);
    expect(hexOf(encode(r.sections[0]!.insns))).toBe(
      'b700000001000000' + '18010000000000000000000000000000' + '1500010000000000' + '8500000001000000' + '9500000000000000',
    );
    expect(r.sections[0]!.labels.get('prog')).toBe(0);
  });

  it('assembles 64-bit immediates and pseudo loads', () => {
    expect(assembleInsns('r1 = -0x1 ll')[0]!.imm64).toBe(-1n);
    expect(assembleInsns('r1 = 0xffffffffffffffff ll')[0]!.imm64).toBe(-1n);
    expect(assembleInsns('r1 = 0x123456789abcdef0 ll')[0]!.imm64).toBe(0x123456789abcdef0n);
    expect(assembleInsns('r1 = 18446744073709551615 ll')[0]!.imm64).toBe(-1n);
    expect(assembleInsns('ld_pseudo r1, 2, 5')[0]).toMatchObject({ code: 0x18, dst: 1, src: 2, imm: 5 });
  });

  it('reads common statements the same with and without comments (fast path and general parser)', () => {
    // A trailing comment sends a statement through the general parser; without it the fast path reads it.
    const lines = [
      'r1 = -0x80000000', 'r1 = 0xffffffff', 'w3 = -0x1', 'r1 =-1', 'r1 = +5', 'r2 = r3', 'w2 = w3', 'r11 = r10',
      'r1 = 0x100000000 ll', 'r1 = -0x1 ll', 'r1 = -0x100000001 ll', 'r1 = 0x1fffffffffffff ll', 'r1 = -9007199254740991 ll',
      'r1 = 18446744073709551615 ll', 'r1 = 0x123456789abcdef0 ll', 'r1 = 0 ll',
      'r1 += -5', 'w1 s/= 3', 'w1 s%= w3', 'r1 s>>= 3', 'r1 >>= r2', 'r1 <<= 0x3f', 'r1 ^= r1', 'w6 |= 0x2a2', 'r1 *= 7', 'r1 &= r2', 'r1 %= 3', 'r1 -= r9',
      'r1 = *(u64 *)(r2 + 0x10)', 'w1 = *(u32 *)(r2 - 0x8000)', 'w1 = *(u16 *)(r2 + 0x7fff)', 'r1 = *(u8 *)(r2)', 'r1 = *(u32 *)(r2 + -1)',
      '*(u64 *)(r10 - 0x8) = r1', '*(u32 *)(r10 - 0x8) = w1', '*(u32 *)(r10 - 4) = 0x3e8', '*(u8 *)(r10 - 4) = -5', '*(u16 *)(r1 + 2) = r3',
      'if r1 > r2 goto +3', 'if r1 > r2 goto -0x8000', 'if w1 s> w2 goto -5', 'if r1 s>= 5 goto +1', 'if r1 s<= 5 goto +1', 'if r1 s< 5 goto +1',
      'if r1 < 5 goto +1', 'if r1 <= 5 goto +1', 'if r1 & 5 goto +1', 'if r1 != 5 goto +1', 'if r1 == 5 goto +1', 'if r1 >= -5 goto +1',
      'if w1 > 0xffffffff goto +0', 'if r1 == r2 goto end',
      'call 0x1', 'call -0x1', 'call 0x7fffffff', 'exit',
      'r8 = be16 r8', 'r8 = le32 r8', 'r8 = bswap64 r8', 'r8 = be64 r8',
      'r5 = atomic_fetch_add((u64 *)(r8 + 0x0), r5)', 'w5 = atomic_fetch_or((u32 *)(r8 - 0x8), w5)',
      'r5 = atomic_fetch_and((u64 *)(r8), r5)', 'w0 = atomic_fetch_xor((u32 *)(r1 + 0x4), w0)',
    ];
    const fast = assemble(lines.join('\n') + '\nend:\n');
    const general = assemble(lines.map((l) => `${l} /* general parser */`).join('\n') + '\nend: // label\n');
    expect(hexOf(fast.sections[0]!.bytes)).toBe(hexOf(general.sections[0]!.bytes));
    expect(fast.sections[0]!.labels.get('end')).toBe(general.sections[0]!.labels.get('end'));
    const imm64 = assembleInsns(lines.filter((l) => l.endsWith(' ll')).join('\n')).map((i) => i.imm64);
    expect(imm64).toEqual([0x100000000n, -1n, -0x100000001n, 0x1fffffffffffffn, -9007199254740991n, -1n, 0x123456789abcdef0n, 0n]);

    // statements the fast path leaves alone fail with the general parser's message and position
    for (const bad of ['w1 = 5 ll', 'r1 = 0x100000000', 'w1 = *(u64 *)(r2 + 0)', '*(u64 *)(r10 - 8) = w1', 'if w1 > r2 goto +1',
      'r1 = *(u32 *)(r2 + 0x8000)', 'if r1 > 2 goto +0x8000', 'r8 = be16 r7', 'r5 = atomic_fetch_add((u64 *)(r8 + 0), r6)', 'call 0x100000000']) {
      const err = (t: string) => {
        try {
          assemble(t);
        } catch (e) {
          expect(e).toBeInstanceOf(AsmError);
          return `${(e as AsmError).message} @${(e as AsmError).line}:${(e as AsmError).column}`;
        }
        throw new Error(`no error for ${t}`);
      };
      expect(err(`exit\n  ${bad}`)).toBe(err(`exit\n  ${bad} // c`));
    }
  });

  it('makes gotol out of far jumps only when allowed', () => {
    const body = Array.from({ length: 40000 }, () => 'r0 += 1').join('\n');
    const text = `goto far\n${body}\nfar:\nexit`;
    expect(() => assembleInsns(text)).toThrow(AsmError);
    expect(() => assembleInsns(text)).toThrow(/label 'far'.*does not fit/);
    const insns = assembleInsns(text, { gotol: true });
    expect(insns[0]).toMatchObject({ code: 0x06, imm: 40000 });
    // expansions move code: calls and gotol offsets are re-resolved
    const text2 = `call f\ngotol end\nif r1 > 2 goto far\n${body}\nfar:\ncall f\nend:\nexit\nf:\nexit`;
    const out = assembleInsns(text2, { gotol: true });
    const n = out.length;
    expect(out[2]).toMatchObject({ code: 0xb5, off: 1 }); // if r1 <= 2 goto +1
    expect(out[3]).toMatchObject({ code: 0x06, imm: 40000 }); // gotol far
    expect(out[0]).toMatchObject({ code: 0x85, src: 1, imm: n - 2 }); // call f (f is the last instruction)
    expect(out[1]).toMatchObject({ code: 0x06, imm: n - 4 }); // gotol end
    expect(out[n - 3]).toMatchObject({ code: 0x85, src: 1, imm: 1 });
  });

  it('reports errors with line, column and what was expected', () => {
    const cases: [string, number, number, RegExp][] = [
      ['r0 = 1\nr1 +=', 2, 6, /expected an r register, found end of line/],
      ['  w1 = *(u33 *)(r1 + 0)', 1, 10, /expected u8, u16, u32, u64, s8, s16 or s32, found 'u33'/],
      ['if r1 ~ r2 goto +1', 1, 7, /expected an operator/],
      ['r1 = w2', 1, 6, /expected an r register, found 'w2'/],
      ['frobnicate r1', 1, 1, /unknown instruction 'frobnicate'/],
      ['goto nowhere', 1, 1, /undefined label 'nowhere'/],
      ['r0 = 0x1ffffffff', 1, 6, /does not fit 32 bits/],
      ['*(u64 *)(r1 + 40000) = r2', 1, 15, /offset 40000 does not fit 16 bits/],
      ['exit 5', 1, 6, /expected end of statement, found '5'/],
      ['x:\nx:', 2, 1, /defined twice/],
      ['r1 = /* open', 1, 6, /unterminated block comment/],
    ];
    for (const [text, line, column, re] of cases) {
      let err: unknown;
      try {
        assembleInsns(text, { file: 't.s' });
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(AsmError);
      const a = err as AsmError;
      expect([text, a.line, a.column]).toEqual([text, line, column]);
      expect(a.message).toMatch(re);
      expect(a.message.startsWith(`t.s:${line}:${column}: `)).toBe(true);
    }
  });

  it('prints a listing interleaved with source positions', () => {
    const insns = assembleInsns('r0 = 0\nif r1 == 0 goto +1\n  r0 = 1\nexit', { file: 'p.s', sourcePositions: true });
    const text = isa.listing(insns, { sourceLine: (p) => ['r0 = 0', 'if r1 == 0 goto +1', '  r0 = 1', 'exit'][p.line - 1] });
    expect(text.split('\n')).toEqual([
      '; p.s:1:1 r0 = 0',
      '       0:\tr0 = 0x0',
      '; p.s:2:1 if r1 == 0 goto +1',
      '       1:\tif r1 == 0x0 goto +0x1',
      '; p.s:3:3 r0 = 1',
      '       2:\tr0 = 0x1',
      '; p.s:4:1 exit',
      '       3:\texit',
      '',
    ]);
    expect(isa.listing(insns, { source: false })).not.toContain(';');
  });

  it('prints unsigned immediates and offsets of the model as LLVM does (signed)', () => {
    expect(formatInsn(isa.mov64Imm(1, 0xffffffff))).toBe('r1 = -0x1');
    expect(formatInsn(isa.ldx('u64', 1, 2, 0xfff8))).toBe('r1 = *(u64 *)(r2 - 0x8)');
  });

  it('attaches source positions on request', () => {
    const [a, b] = assembleInsns('r0 = 0\n  exit', { file: 'p.s', sourcePositions: true });
    expect(a!.source).toEqual({ file: 'p.s', line: 1, column: 1 });
    expect(b!.source).toEqual({ file: 'p.s', line: 2, column: 3 });
  });
});
