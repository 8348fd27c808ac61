/**
 * Conformance against LLVM on real programs: C compiled with clang-22 at
 * -mcpu=v1..v4. For every executable section, tsbpf's disassembly must equal
 * llvm-objdump-22's instruction by instruction, and assembling
 * llvm-objdump's text must give back the section's bytes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLlvm } from '../helpers/env.js';
import { assemble, disassembleBytes, encode, symbolizer } from '../../lib/isa/index.js';
import { readElf, STT } from '../../lib/elf/index.js';
import { clang, norm, objdump, readBytes, tempDir } from './llvm-tools.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = (name: string) => readFileSync(join(here, 'c', name), 'utf8');

/** A function so large that clang must reach its end with gotol (ISA v4). */
function bigFunction(): string {
  const lines = ['#include <linux/bpf.h>', '#include <bpf/bpf_helpers.h>', 'volatile __u64 sink[16];'];
  lines.push('SEC("tc") int big(struct __sk_buff *skb) {', '  if (skb->len > 100) {');
  for (let k = 0; k < 8400; k++) lines.push(`    sink[${k % 16}] = sink[${(k * 7 + 3) % 16}] * ${k + 3} + ${k * 13};`);
  lines.push('  }', '  return sink[3];', '}', 'char LICENSE[] SEC("license") = "GPL";');
  return lines.join('\n');
}

const programs: { name: string; c: () => string; cpus: string[] }[] = [
  { name: 'basic', c: () => source('basic.c'), cpus: ['v1', 'v2', 'v3', 'v4'] },
  { name: 'callbacks', c: () => source('callbacks.c'), cpus: ['v1', 'v2', 'v3', 'v4'] },
  { name: 'atomics', c: () => source('atomics.c'), cpus: ['v3', 'v4'] },
  { name: 'v4', c: () => source('v4.c'), cpus: ['v4'] },
  { name: 'big', c: bigFunction, cpus: ['v4'] },
];

function compare(obj: string, seen: Set<string>): number {
  const expected = objdump(obj);
  const elf = readElf(readBytes(obj));
  let checked = 0;
  const sections = elf.executableSections().filter((s) => s.size > 0);
  expect([...expected.keys()].sort()).toEqual(sections.map((s) => s.name).sort());
  for (const sec of sections) {
    const syms = elf.symbols
      .filter((s) => s.index !== 0 && s.shndx === sec.index && s.type !== STT.FILE)
      .map((s) => ({ name: s.name, value: Number(s.value), isSection: s.type === STT.SECTION }));
    const got = disassembleBytes(sec.data, { symbolize: symbolizer(syms, sec.name) });
    const want = expected.get(sec.name)!;
    expect(got.map((l) => `${l.slot}: ${norm(l.text)}`)).toEqual(want.map((l) => `${l.slot}: ${l.text}`));
    // objdump's text assembles back to the same bytes
    const text = want.map((l) => l.text).join('\n');
    const asm = assemble(text);
    const bytes = asm.sections.length ? encode(asm.sections[0]!.insns) : new Uint8Array();
    // The text of a call does not show its src field: clang resolves calls between functions of
    // one section to `call 0x5` with src=1 (bpf-to-bpf), which reads the same as helper 5.
    // Such calls are compared without the src nibble; everything else byte for byte.
    const ours = Buffer.from(bytes);
    const theirs = Buffer.from(sec.data);
    for (const l of want) {
      const p = l.slot * 8;
      if (theirs[p] === 0x85 && theirs[p + 1] === 0x10 && ours[p + 1] === 0x00 && /^call 0x/.test(l.text)) ours[p + 1] = 0x10;
    }
    expect(ours.toString('hex')).toBe(theirs.toString('hex'));
    for (const l of want) seen.add(l.text);
    checked += want.length;
  }
  return checked;
}

describeLlvm('tsbpf vs clang-22 / llvm-objdump-22 on compiled programs', () => {
  let t: ReturnType<typeof tempDir>;
  const seen = new Set<string>();
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t?.cleanup());

  for (const p of programs) {
    for (const cpu of p.cpus) {
      it(`${p.name} at -mcpu=${cpu}`, () => {
        const obj = clang(t.dir, p.name, p.c(), cpu);
        expect(compare(obj, seen)).toBeGreaterThan(5);
      }, 120_000);
    }
  }

  it('covered the instructions the programs were written for', () => {
    const all = [...seen].join('\n');
    expect(seen.size).toBeGreaterThan(300);
    for (const w of ['atomic_fetch_add', 'atomic_fetch_or', 'atomic_fetch_and', 'atomic_fetch_xor', 'xchg_64', 'xchg32_32', 'cmpxchg_64', 'cmpxchg32_32', 'lock', 'bswap64', 'be16', 's/=', 's%=', '(s8', '*(s8', '*(s16', 'gotol', 'call']) {
      expect(all.includes(w), w).toBe(true);
    }
  });
});
