import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { ElfError, EM_BPF, R_BPF, SHF, SHT, STB, STT, readElf, writeElf, type ElfWriteInput } from '../../lib/elf/index.js';
import { describeLlvm } from '../helpers/env.js';
import { compileC, tempPath } from './clang.js';

const sample: ElfWriteInput = {
  sections: [
    { name: 'xdp', flags: SHF.ALLOC | SHF.EXECINSTR, data: new Uint8Array(32).fill(7) },
    { name: '.data', flags: SHF.ALLOC | SHF.WRITE, data: new Uint8Array([1, 2, 3, 4]), addralign: 4 },
    { name: '.bss', type: SHT.NOBITS, flags: SHF.ALLOC | SHF.WRITE, size: 16, addralign: 8 },
    { name: 'license', flags: SHF.ALLOC | SHF.WRITE, data: new TextEncoder().encode('GPL\0') },
  ],
  symbols: [
    { name: 'prog', section: 'xdp', type: STT.FUNC, size: 32n },
    { name: 'local_var', section: '.data', type: STT.OBJECT, bind: STB.LOCAL, size: 4n },
    { name: '.bss', section: '.bss', type: STT.SECTION, bind: STB.LOCAL },
    { name: 'LICENSE', section: 'license', type: STT.OBJECT, size: 4n },
  ],
  relocations: [
    { section: 'xdp', offset: 0, symbol: 'local_var', type: R_BPF.R_BPF_64_64 },
    { section: 'xdp', offset: 16, symbol: 2, type: R_BPF.R_BPF_64_64 },
  ],
};

describe('ELF64 writer and reader', () => {
  it('round-trips sections, symbols and relocations', () => {
    const f = readElf(writeElf(sample));
    expect(f.header.machine).toBe(EM_BPF);
    expect(f.header.type).toBe(1);
    const xdp = f.section('xdp')!;
    expect(xdp.data).toEqual(new Uint8Array(32).fill(7));
    expect(xdp.flags).toBe(SHF.ALLOC | SHF.EXECINSTR);
    expect(xdp.addralign).toBe(8);
    expect(f.section('.data')!.data).toEqual(new Uint8Array([1, 2, 3, 4]));
    const bss = f.section('.bss')!;
    expect(bss.type).toBe(SHT.NOBITS);
    expect(bss.size).toBe(16);
    expect(bss.data.length).toBe(0);
    expect(f.executableSections().map((s) => s.name)).toEqual(['xdp']);
    // Locals come first.
    expect(f.symbols.map((s) => s.name)).toEqual(['', 'local_var', '.bss', 'prog', 'LICENSE']);
    expect(f.symbolsIn(xdp.index).map((s) => s.name)).toEqual(['prog']);
    const rels = f.relocationsFor(xdp.index);
    expect(rels.map((r) => [r.offset, f.symbolOf(r).name, r.type])).toEqual([
      [0, 'local_var', 1],
      [16, '.bss', 1],
    ]);
    expect(f.relocations.get(xdp.index)!.section.name).toBe('.relxdp');
  });

  it('writes the same bytes for the same input', () => {
    const a = writeElf(sample);
    const b = writeElf(sample);
    expect(a).toEqual(b);
  });

  it('rejects unknown symbols and sections when writing', () => {
    expect(() => writeElf({ ...sample, relocations: [{ section: 'xdp', offset: 0, symbol: 'nope', type: 1 }] })).toThrow(
      /unknown symbol "nope"/,
    );
    expect(() => writeElf({ ...sample, symbols: [{ name: 'x', section: '.nosuch' }] })).toThrow(ElfError);
  });
});

describe('ELF64 reader: bad input', () => {
  const good = writeElf(sample);
  const patch = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = good.slice();
    f(new DataView(b.buffer), b);
    return b;
  };
  const shoff = Number(new DataView(good.buffer).getBigUint64(40, true));
  const err = (b: Uint8Array) => {
    try {
      readElf(b);
    } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      return e as ElfError;
    }
    throw new Error('expected ElfError');
  };

  it('names the problem and the offset', () => {
    expect(err(good.subarray(0, 10)).message).toMatch(/too short/);
    expect(err(patch((_, b) => (b[0] = 0))).message).toMatch(/bad magic/);
    expect(err(patch((_, b) => (b[4] = 1))).message).toMatch(/class 1/);
    expect(err(patch((_, b) => (b[5] = 2))).message).toMatch(/big-endian/);
    const m = err(patch((dv) => dv.setUint16(18, 62, true)));
    expect(m.message).toMatch(/wrong machine 62/);
    expect(m.offset).toBe(18);
    expect(err(good.subarray(0, good.length - 10)).message).toMatch(/beyond the end/);
    expect(err(patch((dv) => dv.setUint16(62, 99, true))).message).toMatch(/name table index 99/);
    // Section 1's offset points past the end.
    const e = err(patch((dv) => dv.setBigUint64(shoff + 64 + 24, 1n << 40n, true)));
    expect(e.message).toMatch(/section 1 .* past the end/);
    expect(e.offset).toBe(shoff + 64 + 24);
  });

  it('reports relocations to unknown symbols and bad symbol section indexes', () => {
    const f = readElf(good);
    const rel = f.relocations.get(f.section('xdp')!.index)!.section;
    const e = err(patch((dv) => dv.setBigUint64(rel.offset + 8, (77n << 32n) | 1n, true)));
    expect(e.message).toMatch(/unknown symbol #77/);
    expect(e.symbol).toBe('#77');
    const symtab = f.section('.symtab')!;
    expect(err(patch((dv) => dv.setUint16(symtab.offset + 24 + 6, 500, true))).message).toMatch(/section 500, out of range/);
    expect(err(patch((dv) => dv.setUint32(symtab.offset + 24, 1e6, true))).message).toMatch(/outside string table/);
    expect(err(patch((dv) => dv.setBigUint64(rel.offset, 4096n, true))).message).toMatch(/outside xdp/);
  });

  it('accepts other machines when asked', () => {
    const b = patch((dv) => dv.setUint16(18, 62, true));
    expect(readElf(b, { machine: 'any' }).header.machine).toBe(62);
  });
});

describeLlvm('ELF64 reader against llvm-readelf', () => {
  it('lists the same sections, symbols and relocations as llvm-readelf-22', () => {
    const { path, bytes } = compileC(
      'readelf',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");
int g = 5; int zz;
static __attribute__((noinline)) int sub(int x) { return x * 2 + g; }
SEC("xdp") int prog1(struct xdp_md *ctx) { __u32 k = 0; __u64 *v = bpf_map_lookup_elem(&counts, &k); if (v) *v += 1; zz++; return sub(ctx->ingress_ifindex) ? XDP_PASS : XDP_DROP; }
char LICENSE[] SEC("license") = "GPL";
`,
    );
    const f = readElf(bytes);
    const json = JSON.parse(
      execFileSync('llvm-readelf-22', ['--elf-output-style=JSON', '-S', '-s', '-r', path], { encoding: 'utf8' }),
    )[0];
    const secs = json.Sections.map((s: any) => s.Section);
    expect(f.sections.map((s) => s.name)).toEqual(secs.map((s: any) => s.Name.Name));
    expect(f.sections.map((s) => s.size)).toEqual(secs.map((s: any) => s.Size));
    expect(f.sections.map((s) => s.offset)).toEqual(secs.map((s: any) => s.Offset));
    const syms = json.Symbols.map((s: any) => s.Symbol);
    expect(f.symbols.map((s) => s.name)).toEqual(syms.map((s: any) => s.Name.Name));
    expect(f.symbols.map((s) => Number(s.value))).toEqual(syms.map((s: any) => s.Value));
    const rels = json.Relocations.flatMap((r: any) => r.Relocs.map((x: any) => x.Relocation));
    const ours = [...f.relocations.values()].flatMap((r) => r.relocations);
    expect(ours.map((r) => [r.offset, r.type, r.symbol])).toEqual(rels.map((r: any) => [r.Offset, r.Type.Value, r.Symbol.Value]));
    const text = f.section('.text')!;
    expect(f.symbolsIn(text.index).map((s) => s.name)).toEqual(['sub']);
    writeFileSync(tempPath('x.bin'), text.data);
  });

  it('writes objects llvm-readelf-22 accepts', () => {
    const p = tempPath('written.o');
    writeFileSync(p, writeElf(sample));
    const out = execFileSync('llvm-readelf-22', ['-S', '-s', '-r', p], { encoding: 'utf8' });
    expect(out).toMatch(/\.relxdp/);
    expect(out).toMatch(/R_BPF_64_64 .* local_var/);
    expect(out).not.toMatch(/warning/i);
  });
});
