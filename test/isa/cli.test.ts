import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLlvm } from '../helpers/env.js';
import { disasmCommand } from '../../lib/cli/disasm.js';
import { asmCommand } from '../../lib/cli/asm.js';
import { UsageError, type CommandIO } from '../../lib/cli/command.js';
import { readElf, R_BPF } from '../../lib/elf/index.js';
import { clang, norm, tempDir } from './llvm-tools.js';
import { execFileSync } from 'node:child_process';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const x: CommandIO = { out: (t) => out.push(t), err: (t) => err.push(t) };
  return { io: x, out: () => out.join(''), err: () => err.join('') };
}

const program = `
  .section xdp,"ax",@progbits
  .globl prog
  .type prog,@function
prog:
  r6 = r1
  r1 = counters ll
  call helper_fn
  call sub
  if r0 == 0 goto .Lout
  r0 = 2
.Lout:
  exit
sub:
  r0 = 1
  exit
`;

describe('tsbpf asm and disasm', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t?.cleanup());

  it('asm writes raw bytes and ELF objects that disasm reads back', async () => {
    const src = join(t.dir, 'p.s');
    writeFileSync(src, program);
    const raw = join(t.dir, 'p.bin');
    const c1 = io();
    expect(await asmCommand.run([src, '-o', raw], c1.io)).toBe(0);
    const bytes = readFileSync(raw);
    expect(bytes.length).toBe(10 * 8);
    expect(c1.err()).toMatch(/undefined symbols/);

    const obj = join(t.dir, 'p.o');
    expect(await asmCommand.run([src, '-o', obj], io().io)).toBe(0);
    const elf = readElf(new Uint8Array(readFileSync(obj)));
    const sec = elf.section('xdp')!;
    expect(Buffer.from(sec.data)).toEqual(bytes);
    const rels = elf.relocationsFor(sec.index).map((r) => [r.offset, elf.symbolOf(r).name, r.type]);
    expect(rels).toEqual([
      [8, 'counters', R_BPF.R_BPF_64_64],
      [24, 'helper_fn', R_BPF.R_BPF_64_32],
    ]);
    expect(elf.symbolsIn(sec.index).map((s) => s.name)).toEqual(['prog', 'sub']);

    const c2 = io();
    expect(await disasmCommand.run(['--json', obj], c2.io)).toBe(0);
    const doc = JSON.parse(c2.out());
    expect(doc).toHaveLength(1);
    expect(doc[0].file).toBe(obj);
    expect(doc[0].sections.map((s: { name: string }) => s.name)).toEqual(['xdp']);
    const insns = doc[0].sections[0].insns;
    expect(insns[0]).toEqual({ index: 0, text: 'r6 = r1', bytes: 'bf16000000000000' });
    expect(insns[1]).toEqual({ index: 1, text: 'r1 = 0x0 ll', bytes: '18010000000000000000000000000000' });
    expect(insns[3]).toEqual({ index: 4, text: 'call 0x3', bytes: '8510000003000000' });
    expect(insns[4].text).toBe('if r0 == 0x0 goto +0x1 <prog+0x38>');

    const c3 = io();
    expect(await disasmCommand.run([obj], c3.io)).toBe(0);
    expect(c3.out()).toContain('Disassembly of section xdp:');
    expect(c3.out()).toContain('0000000000000000 <prog>:');
    expect(c3.out()).toContain('0000000000000040 <sub>:');
    expect(c3.out()).toContain('       3:\t85 10 00 00 ff ff ff ff\tcall -0x1');
  });

  it('reports assembler errors with file, line and column and exits 1', async () => {
    const src = join(t.dir, 'bad.s');
    writeFileSync(src, 'r0 = 0\nr0 ~ 1\n');
    const c = io();
    expect(await asmCommand.run([src, '-o', join(t.dir, 'bad.bin')], c.io)).toBe(1);
    expect(c.err()).toContain(`${src}:2:4: expected an operator, found '~'`);
  });

  it('reports unreadable objects and keeps going', async () => {
    const junk = join(t.dir, 'junk.o');
    writeFileSync(junk, 'not an elf file at all, really');
    const c = io();
    expect(await disasmCommand.run(['--json', junk], c.io)).toBe(1);
    const doc = JSON.parse(c.out());
    expect(doc[0].file).toBe(junk);
    expect(typeof doc[0].error).toBe('string');
    const c2 = io();
    expect(await disasmCommand.run([junk, join(t.dir, 'missing.o')], c2.io)).toBe(1);
    expect(c2.err().split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('rejects usage errors', async () => {
    await expect(disasmCommand.run([], io().io)).rejects.toThrow(UsageError);
    await expect(asmCommand.run(['x.s'], io().io)).rejects.toThrow(UsageError);
    await expect(disasmCommand.run(['--bogus', 'x.o'], io().io)).rejects.toThrow(UsageError);
  });
});

describeLlvm('tsbpf disasm vs llvm-objdump-22 output', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t?.cleanup());

  it('prints what llvm-objdump -d prints for a clang object', async () => {
    const c = readFileSync(join(import.meta.dirname, 'c', 'basic.c'), 'utf8');
    const obj = clang(t.dir, 'basic', c, 'v3');
    const cap = io();
    expect(await disasmCommand.run([obj], cap.io)).toBe(0);
    const theirs = execFileSync('llvm-objdump-22', ['-d', obj], { encoding: 'utf8' });
    const lines = (s: string) => s.split('\n').map(norm).filter(Boolean);
    expect(lines(cap.out())).toEqual(lines(theirs));
  });

  it('interleaves source lines from .BTF.ext with --source', async () => {
    const c = readFileSync(join(import.meta.dirname, 'c', 'basic.c'), 'utf8');
    const obj = clang(t.dir, 'basic-src', c, 'v3');
    const cap = io();
    expect(await disasmCommand.run(['--source', obj], cap.io)).toBe(0);
    expect(cap.out()).toMatch(/^; .*basic-src\.c:\d+:\d+ {2}.*bpf_map_lookup_elem/m);
    const j = io();
    expect(await disasmCommand.run(['--json', '--source', obj], j.io)).toBe(0);
    const doc = JSON.parse(j.out());
    const withSrc = doc[0].sections.flatMap((s: { insns: { source?: string }[] }) => s.insns).filter((i: { source?: string }) => i.source);
    expect(withSrc.length).toBeGreaterThan(5);
  });

  it('writes objects llvm-objdump reads, with relocations', async () => {
    const src = join(t.dir, 'p.s');
    writeFileSync(src, program);
    const obj = join(t.dir, 'p.o');
    expect(await asmCommand.run([src, '-o', obj], io().io)).toBe(0);
    const dump = execFileSync('llvm-objdump-22', ['-dr', obj], { encoding: 'utf8' });
    expect(dump).toMatch(/R_BPF_64_64\s+counters/);
    expect(dump).toMatch(/R_BPF_64_32\s+helper_fn/);
    expect(dump).toContain('call 0x3');
  });
});
