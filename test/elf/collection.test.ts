import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { BpfMap, Collection, KernelBtf, pinDirectory, removePinDirectory, VerifierError } from '../../lib/kernel/index.js';
import { collectionSpec, readCollectionSpec, writeCollectionSpec } from '../../lib/elf/index.js';
import { exit, ldx, mov64Imm } from '../../lib/isa/index.js';
import { encodeBtf } from '../../lib/btf/index.js';
import { describeKernel, describeLlvm, kernelUnavailable, testName } from '../helpers/env.js';
import { compileC } from './clang.js';
import { FEATURES_C } from './fixtures.js';
import { dslLikeSpec } from './dsl-like.js';

/** Needs the kernel and clang: skips (with the reason) when either is missing. */
const describeBoth = kernelUnavailable ? describeKernel : describeLlvm;

const packet = () => {
  const p = new Uint8Array(64);
  p.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  return p;
};
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (b: Uint8Array | undefined) => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : undefined);

describeBoth('collections from clang objects (kernel)', () => {
  let pins: string;
  beforeAll(() => {
    pins = pinDirectory(testName('col'));
  });
  afterAll(() => {
    removePinDirectory(pins);
  });

  it('loads every feature and runs it with BPF_PROG_RUN', () => {
    const spec = readCollectionSpec(compileC('features-k', FEATURES_C).bytes);
    using col = Collection.load(spec, { pinPath: pins });
    expect(col.btf).toBeDefined();
    expect([...col.programs.keys()]).toEqual(['xdp_a', 'xdp_b', 'tc_prog', 'sock_prog', 'conn4', 'xdp_str']);
    // xdp_a: typed hash update via a .text subprogram reading .rodata and .data, map-in-map, .bss.
    expect(col.program('xdp_a').testRun({ data: packet() }).retval).toBe(2);
    const point = col.map('pinned_hash').lookup(u32(1))!;
    const dv = new DataView(point.buffer, point.byteOffset);
    expect(dv.getUint32(0, true)).toBe(2 * 7 + 3);
    expect(dv.getUint16(4, true)).toBe(5);
    expect(String.fromCharCode(point[6]!, point[7]!)).toBe('ok');
    expect(u64(col.map('inner1').lookup(u32(0)))).toBe(42n);
    expect(u64(col.map('.bss').lookup(u32(0)))).toBe(1n);
    // xdp_b: same subprogram; 1*7+3 == 10 -> XDP_DROP.
    expect(col.program('xdp_b').testRun({ data: packet() }).retval).toBe(1);
    // tc_prog: bpf_loop callback (BPF_PSEUDO_FUNC) + legacy map: 0+1+2+3 + (0*7+3).
    expect(col.program('tc_prog').testRun({ data: packet() }).retval).toBe(0);
    expect(u64(col.map('legacy').lookup(u32(1)))).toBe(6n + 3n);
    // The socket filter sees the packet after the Ethernet header.
    expect(col.program('sock_prog').testRun({ data: packet() }).retval).toBe(64 - 14);
    // A string literal in .rodata.str1.1.
    expect(col.program('xdp_str').testRun({ data: packet() }).retval).toBe('o'.charCodeAt(0));
    // .rodata is frozen; the pinned map is pinned.
    expect(() => col.map('.rodata').update(u32(0), u32(1))).toThrow();
    expect(existsSync(`${pins}/pinned_hash`)).toBe(true);
    expect(col.program('xdp_a').info().btfId).toBeGreaterThan(0);
  });

  it('reuses pinned maps and checks their shape', () => {
    const spec = readCollectionSpec(compileC('features-k2', FEATURES_C).bytes);
    {
      using a = Collection.load(spec, { pinPath: pins, programs: ['xdp_a'] });
      a.program('xdp_a').testRun({ data: packet() });
    }
    using b = Collection.load(spec, { pinPath: pins, programs: [] });
    expect(b.map('pinned_hash').lookup(u32(1))).toBeDefined();
    const wrong = structuredClone(spec);
    wrong.maps.get('pinned_hash')!.maxEntries = 99;
    expect(() => Collection.load(wrong, { pinPath: pins })).toThrow(/does not match/);
  });

  it('loads what it writes: read(write(read(x)))', () => {
    const spec = readCollectionSpec(writeCollectionSpec(readCollectionSpec(compileC('features-k3', FEATURES_C).bytes)));
    using col = Collection.load(spec, { pinPath: pins });
    expect(col.program('xdp_b').testRun({ data: packet() }).retval).toBe(1);
  });

  it('fills program arrays from `__array(values, ...)` and tail-calls through them', () => {
    const src = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int target(struct xdp_md *ctx) { return XDP_DROP; }
struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, int (void *));
} jumps SEC(".maps") = { .values = { [1] = (void *)&target } };
SEC("xdp") int entry(struct xdp_md *ctx) { bpf_tail_call(ctx, &jumps, 1); return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";`;
    const spec = readCollectionSpec(compileC('tailcall', src).bytes);
    expect(spec.maps.get('jumps')!.slots).toEqual([{ key: 1, value: 'target', kind: 'program' }]);
    for (const s of [spec, readCollectionSpec(writeCollectionSpec(spec))]) {
      using col = Collection.load(s);
      expect(col.program('entry').testRun({ data: packet() }).retval).toBe(1);
      expect(col.map('jumps').lookupId(u32(1))).toBe(col.program('target').info().id);
    }
  });

  it('loads objects without BTF (legacy maps, no -g)', () => {
    const { bytes } = compileC(
      'nobtf',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct legacy_def { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct legacy_def SEC("maps") counts = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1 };
SEC("xdp") int count(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) *v += 5;
  return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";`,
      [],
      false,
    );
    const spec = readCollectionSpec(bytes);
    expect(spec.btf).toBeUndefined();
    using col = Collection.load(spec);
    expect(col.btf).toBeUndefined();
    expect(col.program('count').testRun({ data: packet() }).retval).toBe(2);
    expect(u64(col.map('counts').lookup(u32(0)))).toBe(5n);
  });

  it('shows C source lines in the verifier log', () => {
    const { bytes } = compileC(
      'bad',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int bad(struct xdp_md *ctx) {
  int *p = (int *)(long)ctx->data;
  return *p; /* unchecked packet access */
}
char LICENSE[] SEC("license") = "GPL";`,
    );
    try {
      Collection.load(readCollectionSpec(bytes));
      throw new Error('expected a VerifierError');
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      expect((e as VerifierError).log).toMatch(/unchecked packet access/);
      expect((e as VerifierError).source).toMatchObject({ line: 5 });
      expect((e as VerifierError).source!.file).toMatch(/bad\.c$/);
    }
  });
});

describeKernel('collections from DSL-like specs (kernel)', () => {
  it('loads BTF, func_info, line_info and typed maps', () => {
    const spec = dslLikeSpec();
    spec.maps.get('stats')!.pinning = 0;
    using col = Collection.load(spec, { requireBtf: true });
    expect(col.program('count_a').testRun({ data: packet() }).retval).toBe(2);
    expect(col.map('stats').info().btfValueTypeId).toBeGreaterThan(0);
  });

  it('shows TypeScript source lines in the verifier log', () => {
    const spec = collectionSpec({
      programs: [
        {
          name: 'reads_r2',
          section: 'xdp',
          insns: [
            { ...mov64Imm(0, 0), source: { file: '/src/prog.ts', line: 41, column: 3 } },
            { ...ldx('u64', 0, 2, 0), source: { file: '/src/prog.ts', line: 42, column: 7 } },
            exit(),
          ],
        },
      ],
      sourceLine: (file, line) => (file === '/src/prog.ts' ? `source text of line ${line};` : undefined),
    });
    try {
      Collection.load(spec, { requireBtf: true });
      throw new Error('expected a VerifierError');
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      const v = e as VerifierError;
      expect(v.log).toMatch(/; source text of line 42; @ prog\.ts:42/);
      // the entry function is typed int reads_r2(struct xdp_md *ctx): no complaint about arg#0 (a void * entry gets one)
      expect(v.log).not.toMatch(/arg#0 reference type\('UNKNOWN/);
      expect(v.insn).toBe(1);
      expect(v.source).toEqual({ file: '/src/prog.ts', line: 42, column: 7 });
    }
  });

  it('uses replacement maps and closes everything together', () => {
    const spec = dslLikeSpec();
    for (const m of spec.maps.values()) m.pinning = 0;
    using shared = BpfMap.create({ name: 'shared', type: 'hash', keySize: 4, valueSize: 16, maxEntries: 64 });
    const col = Collection.load(spec, { replaceMaps: { stats: shared } });
    expect(col.map('stats')).toBe(shared);
    const value = new Uint8Array(16).fill(1);
    shared.update(u32(0), value);
    expect(col.program('count_a').testRun({ data: packet() }).retval).toBe(1);
    const wrong = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64 });
    expect(() => Collection.load(spec, { replaceMaps: { stats: wrong } })).toThrow(/does not match/);
    wrong.close();
    col.close();
    expect(col.closed).toBe(true);
    expect(col.program('count_a').closed).toBe(true);
    expect(col.map('.data').closed).toBe(true);
    expect(() => col.close()).not.toThrow();
  });

  it('loads raw BTF', () => {
    using b = KernelBtf.load(encodeBtf(dslLikeSpec().btf!));
    expect(b.fd).toBeGreaterThan(0);
  });
});
