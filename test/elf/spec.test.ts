import { describe, expect, it } from 'vitest';
import { callLocal, exit, mov64Imm } from '../../lib/isa/index.js';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { formatBtf } from '../../lib/btf/index.js';
import {
  collectionSpec,
  ElfError,
  PinType,
  readCollectionSpec,
  readElf,
  sectionNameFor,
  sectionProgramType,
  writeCollectionSpec,
  type CollectionSpec,
} from '../../lib/elf/index.js';
import { AttachType, MapType, ProgType } from '../../lib/uapi/index.js';
import { describeLlvm } from '../helpers/env.js';
import { compileC, tempPath } from './clang.js';
import { dslLikeSpec } from './dsl-like.js';
import { FEATURES_C } from './fixtures.js';

describe('section names', () => {
  it('follows libbpf conventions', () => {
    const t = (s: string) => sectionProgramType(s);
    expect(t('xdp')).toEqual({ progType: ProgType.BPF_PROG_TYPE_XDP, expectedAttachType: AttachType.BPF_XDP, flags: 0 });
    expect(t('xdp.frags')!.flags).toBe(32);
    expect(t('tc')!.progType).toBe(ProgType.BPF_PROG_TYPE_SCHED_CLS);
    expect(t('classifier')!.progType).toBe(ProgType.BPF_PROG_TYPE_SCHED_CLS);
    expect(t('tcx/ingress')!.expectedAttachType).toBe(AttachType.BPF_TCX_INGRESS);
    expect(t('tcx/egress')!.expectedAttachType).toBe(AttachType.BPF_TCX_EGRESS);
    expect(t('socket')!.progType).toBe(ProgType.BPF_PROG_TYPE_SOCKET_FILTER);
    for (const [s, a] of [
      ['cgroup/connect4', 'BPF_CGROUP_INET4_CONNECT'],
      ['cgroup/connect6', 'BPF_CGROUP_INET6_CONNECT'],
      ['cgroup/sendmsg4', 'BPF_CGROUP_UDP4_SENDMSG'],
      ['cgroup/sendmsg6', 'BPF_CGROUP_UDP6_SENDMSG'],
      ['cgroup/recvmsg4', 'BPF_CGROUP_UDP4_RECVMSG'],
      ['cgroup/recvmsg6', 'BPF_CGROUP_UDP6_RECVMSG'],
      ['cgroup/getpeername4', 'BPF_CGROUP_INET4_GETPEERNAME'],
      ['cgroup/getpeername6', 'BPF_CGROUP_INET6_GETPEERNAME'],
    ] as const) {
      expect(t(s)).toEqual({ progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, expectedAttachType: AttachType[a], flags: 0 });
    }
    expect(t('fentry/tcp_connect')).toMatchObject({ attachTo: 'tcp_connect', expectedAttachType: AttachType.BPF_TRACE_FENTRY });
    expect(t('kprobe/do_sys_open')!.attachTo).toBe('do_sys_open');
    expect(t('xdp/foo')).toBeUndefined();
    expect(t('nonsense')).toBeUndefined();
    expect(sectionNameFor(ProgType.BPF_PROG_TYPE_XDP, AttachType.BPF_XDP)).toBe('xdp');
    expect(sectionNameFor(ProgType.BPF_PROG_TYPE_SCHED_CLS)).toBe('tc');
  });
});

describe('collection specs: write and read back', () => {
  it('reads back what it writes, identically', () => {
    const spec = dslLikeSpec();
    const bytes = writeCollectionSpec(spec);
    const back = readCollectionSpec(bytes);
    for (const [name, p] of spec.programs) {
      const q = back.programs.get(name)!;
      const strip = (i: Insn) => {
        const { source: _s, ...rest } = i;
        return rest;
      };
      expect(q.insns.map(strip)).toEqual(p.insns.map(strip));
      // Sources come back from line_info: every instruction that had one keeps it.
      p.insns.forEach((i, k) => i.source && expect(q.insns[k]!.source).toEqual(i.source));
      expect(q.functions).toEqual(p.functions);
      expect(q.funcInfo).toEqual(p.funcInfo);
      expect(q.lineInfo).toEqual(p.lineInfo);
      expect({ ...q, insns: [], funcInfo: [], lineInfo: [] }).toEqual({ ...p, insns: [], funcInfo: [], lineInfo: [] });
    }
    expect([...back.maps.keys()]).toEqual(['stats', 'slot1', 'outer', '.data']);
    expect(back.maps.get('stats')).toEqual(spec.maps.get('stats'));
    expect(back.maps.get('outer')).toMatchObject({ type: 12, slots: [{ key: 1, value: 'slot1', kind: 'map' }], innerMap: { name: 'outer.inner', valueSize: 8 } });
    expect(back.maps.get('.data')!.initialValue).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(back.license).toBe('GPL');
    // Written twice, the same bytes; and write(read(write(x))) is stable.
    expect(writeCollectionSpec(spec)).toEqual(bytes);
    expect(writeCollectionSpec(back)).toEqual(bytes);
  });

  it('shares one copy of a subprogram between programs in .text', () => {
    const elf = readElf(writeCollectionSpec(dslLikeSpec()));
    const text = elf.section('.text')!;
    expect(elf.symbolsIn(text.index).map((s) => s.name)).toEqual(['helper']);
    expect(elf.symbolsIn(elf.section('xdp')!.index).map((s) => s.name)).toEqual(['count_a']);
    expect(elf.section('.BTF')).toBeDefined();
    expect(elf.section('.BTF.ext')).toBeDefined();
  });

  it('writes references to undefined maps as undefined symbols when asked, which the reader names', () => {
    const spec = dslLikeSpec();
    spec.maps.delete('stats');
    const bytes = writeCollectionSpec(spec, { externMaps: true });
    const elf = readElf(bytes);
    expect(elf.symbols.find((s) => s.name === 'stats')).toMatchObject({ shndx: 0 });
    try {
      readCollectionSpec(bytes);
      throw new Error('expected ElfError');
    } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      expect((e as ElfError).symbol).toBe('stats');
      expect((e as ElfError).message).toMatch(/undefined symbol stats/);
    }
  });

  it('refuses specs it cannot express', () => {
    const spec = dslLikeSpec();
    spec.programs.get('count_a')!.section = '.text';
    expect(() => writeCollectionSpec(spec)).toThrow(ElfError);
    const s2 = dslLikeSpec();
    s2.maps.delete('stats');
    expect(() => writeCollectionSpec(s2)).toThrow(/unknown map stats|stats/);
  });
});

describeLlvm('collection specs from clang objects', () => {
  const obj = () => compileC('features', FEATURES_C);

  it('reads programs, maps, data, license and BTF as libbpf does', () => {
    const spec = readCollectionSpec(obj().bytes);
    expect(spec.license).toBe('GPL');
    expect([...spec.programs.keys()]).toEqual(['xdp_a', 'xdp_b', 'tc_prog', 'sock_prog', 'conn4', 'xdp_str']);
    const xa = spec.programs.get('xdp_a')!;
    expect(xa).toMatchObject({ section: 'xdp', type: ProgType.BPF_PROG_TYPE_XDP, expectedAttachType: AttachType.BPF_XDP, license: 'GPL' });
    expect(xa.functions.map((f) => f.name)).toEqual(['xdp_a', 'add_factor']);
    expect(spec.programs.get('tc_prog')!.functions.map((f) => f.name)).toEqual(['tc_prog', 'loop_cb', 'add_factor']);
    expect(spec.programs.get('conn4')).toMatchObject({ type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, expectedAttachType: AttachType.BPF_CGROUP_INET4_CONNECT });
    // func_info: one per function, at its start; line_info starts at 0.
    for (const p of spec.programs.values()) {
      expect(p.funcInfo.map((f) => f.insnOff)).toEqual(p.functions.map((f) => f.slot));
      expect(p.lineInfo[0]!.insnOff).toBe(0);
    }
    const refs = xa.insns.filter((i) => i.ref).map((i) => `${i.ref!.kind}:${i.ref!.name}`);
    expect(refs).toEqual(expect.arrayContaining(['map:pinned_hash', 'map:outer', 'map_value:.bss', 'map_value:.rodata', 'map_value:.data']));
    expect(spec.maps.get('pinned_hash')).toMatchObject({ type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 8, pinning: 1 });
    expect(spec.btf!.get(spec.maps.get('pinned_hash')!.btfValueTypeId).name).toBe('point');
    expect(spec.maps.get('outer')).toMatchObject({
      type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS,
      innerMap: { type: MapType.BPF_MAP_TYPE_ARRAY, valueSize: 8, maxEntries: 1 },
      slots: [
        { key: 0, value: 'inner1', kind: 'map' },
        { key: 1, value: 'inner2', kind: 'map' },
      ],
    });
    expect(spec.maps.get('legacy')).toMatchObject({ origin: 'legacy', type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(spec.maps.get('.data')).toMatchObject({ origin: 'data', valueSize: 8, initialValue: new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0]) });
    expect(spec.maps.get('.rodata')).toMatchObject({ freeze: true, flags: 128, initialValue: new Uint8Array([7, 0, 0, 0]) });
    expect(spec.maps.get('.bss')).toMatchObject({ valueSize: 8, initialValue: new Uint8Array(8) });
    expect(spec.maps.get('.rodata.str1.1')).toMatchObject({ origin: 'data', freeze: true, initialValue: new TextEncoder().encode('hello world\0') });
    expect(spec.programs.get('xdp_str')).toMatchObject({ section: 'xdp.frags', flags: 32, expectedAttachType: AttachType.BPF_XDP });
    expect(spec.programs.get('xdp_str')!.insns.some((i) => i.ref?.kind === 'map_value' && i.ref.name === '.rodata.str1.1')).toBe(true);
    const ds = spec.btf!.get(spec.maps.get('.data')!.btfValueTypeId);
    expect(ds).toMatchObject({ kind: 'DATASEC', name: '.data', size: 8 });
  });

  it('round-trips clang objects: read(write(read(x))) equals read(x)', () => {
    const spec = readCollectionSpec(obj().bytes);
    const bytes = writeCollectionSpec(spec);
    const back = readCollectionSpec(bytes);
    expect(back.programs).toEqual(spec.programs);
    expect(back.maps).toEqual(spec.maps);
    expect(formatBtf(back.btf!)).toBe(formatBtf(spec.btf!));
    // llvm-objdump reads our object too.
    const p = tempPath('features-rt.o');
    writeFileSync(p, bytes);
    const dis = execFileSync('llvm-objdump-22', ['-dr', p], { encoding: 'utf8' });
    expect(dis).toMatch(/<xdp_a>:/);
    expect(dis).toMatch(/R_BPF_64_32\s+\.text/);
    expect(dis).toMatch(/R_BPF_64_64\s+pinned_hash/);
  });

  it('rejects relocations to undefined symbols, naming them', () => {
    const { bytes } = compileC(
      'extern',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern int some_extern_var __attribute__((weak));
SEC("xdp") int x(struct xdp_md *ctx) { return some_extern_var; }
char LICENSE[] SEC("license") = "GPL";`,
    );
    try {
      readCollectionSpec(bytes);
      throw new Error('expected ElfError');
    } catch (e) {
      expect(e).toBeInstanceOf(ElfError);
      expect((e as ElfError).symbol).toBe('some_extern_var');
    }
  });
});

describe('collectionSpec entry prototypes', () => {
  it('types each entry function with its program type context, subprograms with void *', () => {
    const spec = collectionSpec({
      programs: [
        { name: 'on_tc', section: 'tc', insns: [callLocal('helper'), exit(), { ...mov64Imm(0, 0) }, exit()], functions: [{ name: 'on_tc', slot: 0 }, { name: 'helper', slot: 2 }] },
        { name: 'on_connect', section: 'cgroup/connect4', insns: [mov64Imm(0, 1), exit()] },
        { name: 'on_kprobe', section: 'kprobe/foo', insns: [mov64Imm(0, 0), exit()] },
      ],
    });
    const btf = spec.btf!;
    const argOf = (prog: string, k: number) => {
      const func = btf.get(spec.programs.get(prog)!.funcInfo[k]!.typeId);
      if (func.kind !== 'FUNC') throw new Error('not a FUNC');
      const proto = btf.get(func.type);
      if (proto.kind !== 'FUNC_PROTO') throw new Error('not a FUNC_PROTO');
      const ptr = btf.get(proto.params[0]!.type);
      if (ptr.kind !== 'PTR') throw new Error('not a PTR');
      return ptr.type === 0 ? 'void' : btf.get(ptr.type);
    };
    expect(argOf('on_tc', 0)).toMatchObject({ kind: 'STRUCT', name: '__sk_buff', size: 192 });
    expect(argOf('on_tc', 1)).toBe('void');
    expect(argOf('on_connect', 0)).toMatchObject({ kind: 'STRUCT', name: 'bpf_sock_addr', size: 72 });
    expect(argOf('on_kprobe', 0)).toBe('void');
  });
});
