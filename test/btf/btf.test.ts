import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  Btf,
  BtfBuilder,
  BtfError,
  BtfStringTable,
  BtfStrings,
  decodeBtf,
  decodeBtfDetailed,
  decodeBtfExt,
  encodeBtf,
  encodeBtfExt,
  formatBtf,
  funcInfoRecords,
  lineInfoRecords,
  type BtfExt,
  type BtfType,
} from '../../lib/btf/index.js';
import { readElf } from '../../lib/elf/index.js';
import { describeKernel, describeLlvm } from '../helpers/env.js';
import { compileC, tempPath } from '../elf/clang.js';

/** One type of every kind. */
function everyKind(): Btf {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const u32 = b.uint(4);
  const u64 = b.uint(8);
  const chr = b.int('char', 1, { signed: true, char: true });
  const arr = b.array(chr, 6);
  const fwd = b.add({ kind: 'FWD', name: 'later', union: true });
  const st = b.struct('point', [
    { name: 'x', type: u32 },
    { name: 'y', type: int },
    { name: 'name', type: arr },
    { name: 'big', type: u64 },
    { name: 'p', type: b.ptr(fwd) },
  ]);
  b.add({
    kind: 'STRUCT',
    name: 'bits',
    size: 4,
    kindFlag: true,
    members: [
      { name: 'a', type: u32, bitOffset: 0, bitfieldSize: 3 },
      { name: 'b', type: u32, bitOffset: 3, bitfieldSize: 29 },
    ],
  });
  b.union('either', [
    { name: 'i', type: int },
    { name: 'c', type: chr },
  ]);
  b.enum('color', [
    { name: 'RED', value: 0n },
    { name: 'BLUE', value: -3n },
  ], 4, true);
  b.enum('wide', [{ name: 'HUGE', value: 0x123456789n }], 8);
  b.typedef('point_t', st);
  const cv = b.const(b.volatile(int));
  b.add({ kind: 'RESTRICT', name: '', type: b.ptr(cv) });
  const proto = b.funcProto(int, [
    { name: 'ctx', type: b.ptr(0) },
    { name: 'n', type: u32 },
  ]);
  const fn = b.func('main_fn', proto);
  const v = b.variable('global_var', u64);
  b.datasec('.data', [{ type: v, offset: 0, size: 8 }], 8);
  b.add({ kind: 'FLOAT', name: 'double', size: 8 });
  b.add({ kind: 'DECL_TAG', name: 'tagged', type: fn, componentIdx: -1 });
  b.add({ kind: 'DECL_TAG', name: 'param', type: fn, componentIdx: 1 });
  b.ptr(b.add({ kind: 'TYPE_TAG', name: 'user', type: int }));
  return b.btf;
}

describe('BTF encode/decode', () => {
  it('round-trips every kind', () => {
    const btf = everyKind();
    const kinds = new Set(btf.types.map((t) => t.kind));
    expect(kinds.size).toBe(19);
    const back = decodeBtf(encodeBtf(btf));
    expect(back.types).toEqual(btf.types);
    expect(encodeBtf(back)).toEqual(encodeBtf(btf));
  });

  it('computes sizes and resolves modifiers', () => {
    const btf = everyKind();
    const point = btf.find('point_t')!;
    expect(btf.sizeOf(point)).toBe(32);
    expect(btf.get(btf.skipModifiers(point)).name).toBe('point');
    const arr = btf.types.findIndex((t) => t.kind === 'ARRAY') + 1;
    expect(btf.sizeOf(arr)).toBe(6);
    expect(() => btf.sizeOf(btf.find('main_fn')!)).toThrow(BtfError);
  });

  it('lays out structs with natural alignment', () => {
    const b = new BtfBuilder();
    const s = b.struct('s', [
      { name: 'a', type: b.uint(1) },
      { name: 'b', type: b.uint(4) },
      { name: 'c', type: b.uint(2) },
      { name: 'd', type: b.uint(8) },
    ]);
    const t = b.btf.get(s);
    expect(t.kind === 'STRUCT' && t.members.map((m) => m.bitOffset / 8)).toEqual([0, 4, 8, 16]);
    expect(b.btf.sizeOf(s)).toBe(24);
  });

  it('builds the BTF-defined map struct libbpf expects', () => {
    const b = new BtfBuilder();
    const key = b.uint(4);
    const value = b.uint(8);
    const def = b.mapDefinition({ type: 1, maxEntries: 16, key, value, flags: 1, pinning: 1 });
    const t = b.btf.get(def);
    expect(t.kind).toBe('STRUCT');
    if (t.kind !== 'STRUCT') return;
    expect(t.members.map((m) => m.name)).toEqual(['type', 'key', 'value', 'max_entries', 'map_flags', 'pinning']);
    const nelems = (id: number) => {
      const p = b.btf.get(id);
      const a = p.kind === 'PTR' ? b.btf.get(p.type) : p;
      return a.kind === 'ARRAY' ? a.nelems : -1;
    };
    expect(nelems(t.members[0]!.type)).toBe(1);
    expect(nelems(t.members[3]!.type)).toBe(16);
    expect(t.size).toBe(48);
    const inner = b.mapDefinition({ type: 2, maxEntries: 1, keySize: 4, valueSize: 8 });
    const outer = b.btf.get(b.mapDefinition({ type: 12, maxEntries: 2, key, innerMap: inner }));
    expect(outer.kind === 'STRUCT' && outer.members.at(-1)!.name).toBe('values');
  });

  it('deduplicates identical types in the builder', () => {
    const b = new BtfBuilder();
    expect(b.uint(4)).toBe(b.uint(4));
    expect(b.ptr(b.uint(4))).toBe(b.ptr(b.uint(4)));
    expect(b.btf.count).toBe(3);
  });
});

describe('BTF: bad input', () => {
  const good = encodeBtf(everyKind());
  const err = (bytes: Uint8Array) => {
    try {
      decodeBtf(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(BtfError);
      return e as BtfError;
    }
    throw new Error('expected BtfError');
  };
  const patched = (f: (dv: DataView) => void, src = good) => {
    const b = src.slice();
    f(new DataView(b.buffer));
    return b;
  };

  it('rejects bad headers and sections with the offset', () => {
    expect(err(good.subarray(0, 10)).message).toMatch(/too short/);
    expect(err(patched((dv) => dv.setUint16(0, 0x1234, true))).message).toMatch(/bad BTF magic/);
    expect(err(patched((dv) => dv.setUint8(2, 2))).message).toMatch(/version 2/);
    const e = err(patched((dv) => dv.setUint32(12, 1 << 20, true)));
    expect(e.message).toMatch(/type section/);
    expect(e.offset).toBe(8);
    expect(err(patched((dv) => dv.setUint32(20, 1 << 20, true))).message).toMatch(/string section/);
    expect(err(good.subarray(0, good.length - 1)).message).toMatch(/exceeds/);
  });

  it('rejects unknown kinds, bad string offsets and unknown type ids', () => {
    // First record starts at 24: name_off, info, size_or_type.
    const k = err(patched((dv) => dv.setUint32(28, 25 << 24, true)));
    expect(k.message).toMatch(/unknown BTF kind 25/);
    expect(k.offset).toBe(28);
    expect(k.typeId).toBe(1);
    expect(err(patched((dv) => dv.setUint32(24, 1e6, true))).message).toMatch(/string offset 1000000/);
    const b = new Btf([{ kind: 'PTR', name: '', type: 7 }]);
    const e = err(encodeBtf(b));
    expect(e.message).toMatch(/unknown type id 7/);
    expect(e.typeId).toBe(1);
  });

  it('detects loops in the type graph', () => {
    const typedefLoop = new Btf([
      { kind: 'TYPEDEF', name: 'a', type: 2 },
      { kind: 'TYPEDEF', name: 'b', type: 1 },
    ]);
    expect(err(encodeBtf(typedefLoop)).message).toMatch(/loop/);
    const selfStruct = new Btf([
      { kind: 'STRUCT', name: 's', size: 4, kindFlag: false, members: [{ name: 'x', type: 2, bitOffset: 0, bitfieldSize: 0 }] },
      { kind: 'ARRAY', name: '', type: 1, indexType: 1, nelems: 1 },
    ]);
    expect(err(encodeBtf(selfStruct)).message).toMatch(/loop/);
    const ptrLoop = new Btf([
      { kind: 'PTR', name: '', type: 2 },
      { kind: 'CONST', name: '', type: 1 },
    ]);
    expect(err(encodeBtf(ptrLoop)).message).toMatch(/loop of pointers/);
    // A struct pointing to itself is fine.
    const list = new Btf([
      { kind: 'STRUCT', name: 'node', size: 8, kindFlag: false, members: [{ name: 'next', type: 2, bitOffset: 0, bitfieldSize: 0 }] },
      { kind: 'PTR', name: '', type: 1 },
    ]);
    expect(decodeBtf(encodeBtf(list)).count).toBe(2);
  });

  it('handles very long chains without overflowing the stack', () => {
    const types: BtfType[] = [{ kind: 'INT', name: 'int', size: 4, encoding: 1, bitOffset: 0, bits: 32 }];
    for (let i = 0; i < 20_000; i++) types.push({ kind: 'TYPEDEF', name: '', type: i + 1 });
    const btf = decodeBtf(encodeBtf(new Btf(types)));
    expect(btf.count).toBe(20_001);
    expect(() => btf.sizeOf(20_001)).toThrow(/too deep/);
  });
});

describe('.BTF.ext', () => {
  const ext: BtfExt = {
    funcInfo: new Map([
      ['xdp', [{ insnOff: 0, typeId: 3 }, { insnOff: 80, typeId: 4 }]],
      ['.text', [{ insnOff: 0, typeId: 5 }]],
    ]),
    lineInfo: new Map([['xdp', [{ insnOff: 0, fileName: 'prog.ts', line: 'return XDP_PASS;', lineNumber: 12, column: 5 }]]]),
    coreRelos: new Map([['xdp', [{ insnOff: 8, typeId: 2, accessStr: '0:1', kind: 0 }]]]),
  };

  it('round-trips func_info, line_info and CO-RE relocations through a shared string table', () => {
    const strings = new BtfStringTable();
    const extBytes = encodeBtfExt(ext, strings);
    const btfBytes = encodeBtf(everyKind(), strings);
    const d = decodeBtfDetailed(btfBytes);
    expect(decodeBtfExt(extBytes, d.strings)).toEqual(ext);
  });

  it('builds the kernel records', () => {
    const fi = funcInfoRecords([{ insnOff: 10, typeId: 3 }]);
    expect([...fi]).toEqual([10, 0, 0, 0, 3, 0, 0, 0]);
    const strings = new BtfStringTable();
    const li = lineInfoRecords(ext.lineInfo.get('xdp')!, strings);
    const dv = new DataView(li.buffer);
    expect(li.length).toBe(16);
    expect(dv.getUint32(4, true)).toBe(strings.get('prog.ts'));
    expect(dv.getUint32(8, true)).toBe(strings.get('return XDP_PASS;'));
    expect(dv.getUint32(12, true)).toBe((12 << 10) | 5);
  });

  it('rejects truncated blocks', () => {
    const strings = new BtfStringTable();
    const bytes = encodeBtfExt(ext, strings);
    const s = new BtfStrings(strings.bytes());
    expect(() => decodeBtfExt(bytes.subarray(0, bytes.length - 4), s)).toThrow(BtfError);
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(32, 3, true); // func_info record size
    expect(() => decodeBtfExt(bad, s)).toThrow(/record size 3/);
  });
});

describeLlvm('BTF against clang and bpftool', () => {
  const src = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
enum color { RED, GREEN = 5, BLUE = -3 };
enum big { SMALL = 1, HUGE = 0x123456789ULL };
struct fwd_only;
union u { int a; char b[3]; };
struct all {
  int x : 3; unsigned y : 5; long z;
  const volatile int cv;
  int *restrict rp;
  struct fwd_only *f;
  union u un;
  enum color c; enum big b;
  float fl; double d;
  int __attribute__((btf_type_tag("user"))) *tagged;
  char arr[4][2];
} __attribute__((btf_decl_tag("a_struct")));
typedef struct all all_t;
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, int); __type(value, all_t); } hm SEC(".maps");
__attribute__((noinline)) int helper(int a) { return a + 1; }
SEC("socket") int sock(struct __sk_buff *skb) {
  int k = 1;
  all_t *v = bpf_map_lookup_elem(&hm, &k);
  return v ? v->x + helper(skb->len) : 0;
}
char LICENSE[] SEC("license") = "GPL";
`;

  it('decodes every kind clang emits and prints what bpftool prints', () => {
    const { path, bytes } = compileC('btfkinds', src);
    const btf = decodeBtf(readElf(bytes).section('.BTF')!.data);
    const expected = execFileSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'raw'], { encoding: 'utf8' });
    expect(formatBtf(btf)).toBe(expected.endsWith('\n') ? expected : expected + '\n');
    for (const k of ['INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'ENUM64', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG']) {
      expect(btf.types.some((t) => t.kind === k), k).toBe(true);
    }
  });

  it('re-encodes BTF that bpftool dumps identically', () => {
    const { path, bytes } = compileC('btfkinds2', src);
    const raw = tempPath('btfkinds2.btf');
    writeFileSync(raw, encodeBtf(decodeBtf(readElf(bytes).section('.BTF')!.data)));
    const a = execFileSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'raw'], { encoding: 'utf8' });
    const b = execFileSync('bpftool', ['btf', 'dump', 'file', raw, 'format', 'raw'], { encoding: 'utf8' });
    expect(b).toBe(a);
    const c1 = execFileSync('bpftool', ['btf', 'dump', 'file', path, 'format', 'c'], { encoding: 'utf8' });
    const c2 = execFileSync('bpftool', ['btf', 'dump', 'file', raw, 'format', 'c'], { encoding: 'utf8' });
    expect(c2).toBe(c1);
  });

  it('reads line_info that points at the C source', () => {
    const { bytes } = compileC('btfkinds3', src);
    const elf = readElf(bytes);
    const d = decodeBtfDetailed(elf.section('.BTF')!.data);
    const ext = decodeBtfExt(elf.section('.BTF.ext')!.data, d.strings);
    const lines = ext.lineInfo.get('socket')!;
    expect(lines.length).toBeGreaterThan(1);
    expect(lines[0]!.insnOff).toBe(0);
    expect(lines.every((l) => l.fileName.endsWith('btfkinds3.c'))).toBe(true);
    expect(lines.some((l) => l.line.includes('bpf_map_lookup_elem(&hm, &k)'))).toBe(true);
    const fi = ext.funcInfo.get('socket')!;
    expect(d.btf.get(fi[0]!.typeId).name).toBe('sock');
    expect(d.btf.get(ext.funcInfo.get('.text')![0]!.typeId).name).toBe('helper');
  });
});

describeKernel('BTF of the running kernel', () => {
  it('decodes /sys/kernel/btf/vmlinux and prints exactly what bpftool prints', () => {
    const raw = new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'));
    const btf = decodeBtf(raw);
    expect(btf.count).toBeGreaterThan(10_000);
    const expected = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    expect(formatBtf(btf) === expected).toBe(true);
    expect(btf.get(btf.find('task_struct', 'STRUCT')!).kind).toBe('STRUCT');
  });
});
