/**
 * CO-RE against the running kernel: clang-22 objects whose local types differ
 * from the kernel's, loaded with `Collection` (relocations applied against
 * /sys/kernel/btf/vmlinux) and run with BPF_PROG_TEST_RUN. The kernel's own
 * `struct __sk_buff` is the oracle: `mark` is at offset 8 there, at 0 locally.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfBuilder, CORE_POISON_HELPER, CoreReloKind, CoreRelocationError } from '../../lib/btf/index.js';
import { readCollectionSpec, type CollectionProgramSpec, type CollectionSpec } from '../../lib/elf/index.js';
import { Collection, VerifierError } from '../../lib/kernel/index.js';
import { readKernelBtfFile, vmlinuxBtf, VmlinuxBtfError } from '../../lib/kernel/vmlinux.js';
import { SkBuff } from '../../lib/uapi/context.js';
import { describeKernel, describeLlvm, kernelUnavailable } from '../helpers/env.js';
import { compileC } from './clang.js';

/** Needs the kernel and clang: skips (with the reason) when either is missing. */
const describeBoth = kernelUnavailable ? describeKernel : describeLlvm;

const CORE_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* A local flavor of the kernel's __sk_buff with only 'mark', at offset 0 (the kernel's 'len'). */
struct __sk_buff___mine { __u32 mark; } __attribute__((preserve_access_index));
/* A flavor with a field the kernel does not have. */
struct __sk_buff___extra { __u32 no_such_field; __u32 mark; } __attribute__((preserve_access_index));
struct tsbpf_made_up_type { int a; };
enum bpf_map_type___mine { BPF_MAP_TYPE_ARRAY___mine = 99, BPF_MAP_TYPE_MADE_UP___mine = 98 };

SEC("tc")
int mark_prog(struct __sk_buff *ctx) {
  return ((struct __sk_buff___mine *)ctx)->mark;
}

SEC("tc")
int exists_prog(struct __sk_buff *ctx) {
  struct __sk_buff___extra *s = (void *)ctx;
  return bpf_core_field_exists(s->no_such_field) * 10 + bpf_core_field_exists(s->mark);
}

SEC("tc")
int type_prog(struct __sk_buff *ctx) {
  return bpf_core_type_exists(struct tsbpf_made_up_type) * 10 + bpf_core_type_exists(struct __sk_buff___mine);
}

SEC("tc")
int type_size_prog(struct __sk_buff *ctx) {
  return bpf_core_type_size(struct __sk_buff___mine);
}

SEC("tc")
int enum_prog(struct __sk_buff *ctx) {
  return bpf_core_enum_value(enum bpf_map_type___mine, BPF_MAP_TYPE_ARRAY___mine);
}

SEC("tc")
int enum_exists_prog(struct __sk_buff *ctx) {
  return bpf_core_enum_value_exists(enum bpf_map_type___mine, BPF_MAP_TYPE_MADE_UP___mine) * 10 +
         bpf_core_enum_value_exists(enum bpf_map_type___mine, BPF_MAP_TYPE_ARRAY___mine);
}

struct __sk_buff___wide { __u64 mark; };
SEC("tc")
int type_matches_prog(struct __sk_buff *ctx) {
  return bpf_core_type_matches(struct __sk_buff___wide) * 10 + bpf_core_type_matches(struct __sk_buff___mine);
}

/* A relocation in a .text subprogram, after an lddw in the caller. */
static __attribute__((noinline)) int sub_mark(struct __sk_buff *ctx) {
  return ((struct __sk_buff___mine *)ctx)->mark;
}
SEC("tc")
int sub_prog(struct __sk_buff *ctx) {
  long v = bpf_core_enum_value(enum bpf_map_type___mine, BPF_MAP_TYPE_ARRAY___mine);
  return sub_mark(ctx) + v;
}

/* The read of the missing field is poisoned, but unreachable: the program loads. */
SEC("tc")
int guarded_prog(struct __sk_buff *ctx) {
  struct __sk_buff___extra *s = (void *)ctx;
  if (bpf_core_field_exists(s->no_such_field))
    return s->no_such_field;
  return s->mark + 1;
}

char _license[] SEC("license") = "GPL";
`;

/* Reads a field the kernel does not have, unguarded: the poisoned call is reached. */
const UNGUARDED_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct __sk_buff___extra { __u32 no_such_field; __u32 mark; } __attribute__((preserve_access_index));
SEC("tc")
int unguarded_prog(struct __sk_buff *ctx) {
  return ((struct __sk_buff___extra *)ctx)->no_such_field;
}
char _license[] SEC("license") = "GPL";
`;

const PACKET_LENGTH = 64;
const packet = () => {
  const p = new Uint8Array(PACKET_LENGTH);
  p.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  return p;
};
/** A `struct __sk_buff` for `ctx_in` with only `mark` set (the kernel takes mark from it). */
const skbWithMark = (mark: number) => {
  const ctx = new Uint8Array(SkBuff.size);
  const markField = SkBuff.fields.find((f) => f.name === 'mark')!;
  new DataView(ctx.buffer).setUint32(markField.offset, mark, true);
  return ctx;
};
const MARK = 0x1234;
const openFds = () => readdirSync('/proc/self/fd').length;

/** A copy of `spec` with one program changed (the BTF stays the same object). */
const withProgram = (spec: CollectionSpec, name: string, change: (p: CollectionProgramSpec) => CollectionProgramSpec): CollectionSpec => {
  const programs = new Map(spec.programs);
  programs.set(name, change(spec.programs.get(name)!));
  return { ...spec, programs };
};

let cached: CollectionSpec | undefined;
const coreSpec = () => (cached ??= readCollectionSpec(compileC('core-kernel', CORE_C).bytes));

describe('kernel BTF file', () => {
  it('a missing file is a VmlinuxBtfError naming the path and errno', () => {
    let err: unknown;
    try {
      readKernelBtfFile('/nonexistent/tsbpf-vmlinux');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VmlinuxBtfError);
    expect((err as VmlinuxBtfError).code).toBe('ENOENT');
    expect((err as Error).message).toContain('/nonexistent/tsbpf-vmlinux');
  });
});

describeKernel('vmlinux BTF', () => {
  it('is decoded once and cached', () => {
    const btf = vmlinuxBtf();
    expect(vmlinuxBtf()).toBe(btf);
    expect(btf.find('__sk_buff', 'STRUCT')).toBeGreaterThan(0);
  });
});

describeBoth('CO-RE relocations against the running kernel', () => {
  it('the object carries CO-RE relocations for every program', () => {
    const spec = coreSpec();
    const mark = spec.programs.get('mark_prog')!;
    expect(mark.coreRelos).toEqual([{ insnOff: 0, typeId: expect.any(Number), accessStr: '0:0', kind: CoreReloKind.FIELD_BYTE_OFFSET }]);
    // The local offset of 'mark' is 0 (where the kernel has 'len').
    expect(mark.insns[0]!.off).toBe(0);
    for (const p of spec.programs.values()) expect(p.coreRelos.length).toBeGreaterThan(0);
  });

  it('relocates a field read to the kernel offset of __sk_buff.mark', () => {
    using col = Collection.load(coreSpec(), { programs: ['mark_prog'] });
    const r = col.program('mark_prog').testRun({ data: packet(), ctx: skbWithMark(MARK) });
    expect(r.retval).toBe(MARK);
    // The spec itself is unchanged (relocations are applied to a copy).
    expect(coreSpec().programs.get('mark_prog')!.insns[0]!.off).toBe(0);
  });

  it('control: without relocation the same program reads the packet length', () => {
    const spec = withProgram(coreSpec(), 'mark_prog', (p) => ({ ...p, coreRelos: [] }));
    using col = Collection.load(spec, { programs: ['mark_prog'] });
    const r = col.program('mark_prog').testRun({ data: packet(), ctx: skbWithMark(MARK) });
    expect(r.retval).toBe(PACKET_LENGTH);
  });

  it('bpf_core_field_exists: 0 for a field the kernel lacks, 1 for one it has', () => {
    using col = Collection.load(coreSpec(), { programs: ['exists_prog'] });
    expect(col.program('exists_prog').testRun({ data: packet() }).retval).toBe(0 * 10 + 1);
  });

  it('bpf_core_type_exists: 0 for a made-up type, 1 for __sk_buff', () => {
    using col = Collection.load(coreSpec(), { programs: ['type_prog'] });
    expect(col.program('type_prog').testRun({ data: packet() }).retval).toBe(0 * 10 + 1);
  });

  it('bpf_core_type_size: the kernel size of __sk_buff, not the local 4 bytes', () => {
    using col = Collection.load(coreSpec(), { programs: ['type_size_prog'] });
    const kernel = vmlinuxBtf();
    expect(col.program('type_size_prog').testRun({ data: packet() }).retval).toBe(kernel.sizeOf(kernel.find('__sk_buff', 'STRUCT')!));
    expect(col.program('type_size_prog').testRun({ data: packet() }).retval).toBe(SkBuff.size);
  });

  it("bpf_core_enum_value: the kernel's BPF_MAP_TYPE_ARRAY (2), not the local 99", () => {
    using col = Collection.load(coreSpec(), { programs: ['enum_prog'] });
    expect(col.program('enum_prog').testRun({ data: packet() }).retval).toBe(2);
  });

  it('bpf_core_enum_value_exists: 0 for a made-up enumerator, 1 for a real one', () => {
    using col = Collection.load(coreSpec(), { programs: ['enum_exists_prog'] });
    expect(col.program('enum_exists_prog').testRun({ data: packet() }).retval).toBe(0 * 10 + 1);
  });

  it('relocates inside a subprogram appended to the program (slots after an lddw)', () => {
    const p = coreSpec().programs.get('sub_prog')!;
    expect(p.functions.map((f) => f.name)).toEqual(['sub_prog', 'sub_mark']);
    expect(p.coreRelos.map((r) => r.kind).sort()).toEqual([CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.ENUMVAL_VALUE]);
    using col = Collection.load(coreSpec(), { programs: ['sub_prog'] });
    expect(col.program('sub_prog').testRun({ data: packet(), ctx: skbWithMark(MARK) }).retval).toBe(MARK + 2);
  });

  it('bpf_core_type_matches: 0 for a 64-bit mark, 1 for the 32-bit one', () => {
    using col = Collection.load(coreSpec(), { programs: ['type_matches_prog'] });
    expect(col.program('type_matches_prog').testRun({ data: packet() }).retval).toBe(0 * 10 + 1);
  });

  it('a poisoned read behind bpf_core_field_exists loads (dead code) and the live path runs', () => {
    using col = Collection.load(coreSpec(), { programs: ['guarded_prog'] });
    expect(col.program('guarded_prog').testRun({ data: packet(), ctx: skbWithMark(MARK) }).retval).toBe(MARK + 1);
  });

  it('loads every program of the object together', () => {
    using col = Collection.load(coreSpec());
    expect(col.programs.size).toBe(coreSpec().programs.size);
  });

  it('a reachable poisoned read is rejected by the verifier at the poisoned call', () => {
    const spec = readCollectionSpec(compileC('core-unguarded', UNGUARDED_C).bytes);
    let err: unknown;
    try {
      Collection.load(spec).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).log).toContain(`${CORE_POISON_HELPER}`);
  });

  it('a relocation that cannot be resolved fails the load with CoreRelocationError', () => {
    // The instruction holds another value than the local offset clang recorded.
    const spec = withProgram(coreSpec(), 'mark_prog', (p) => ({ ...p, insns: [{ ...p.insns[0]!, off: 4 }, ...p.insns.slice(1)] }));
    const fdsBefore = openFds();
    expect(() => Collection.load(spec, { programs: ['mark_prog'] })).toThrow(CoreRelocationError);
    // The BTF (and any map) created before the failure was closed again.
    expect(openFds()).toBe(fdsBefore);
    expect(() => Collection.load(spec, { programs: ['mark_prog'] })).toThrow(/__sk_buff___mine\.mark/);
    // keepGoing: the error is recorded and the other programs load.
    using col = Collection.load(spec, { keepGoing: true, programs: ['mark_prog', 'enum_prog'] });
    expect(col.programErrors.get('mark_prog')).toBeInstanceOf(CoreRelocationError);
    expect(col.program('enum_prog').testRun({ data: packet() }).retval).toBe(2);
  });

  it('targetBtf replaces the kernel BTF as the relocation target', () => {
    // A made-up target whose __sk_buff has 'mark' at offset 32 (the real 'priority').
    const b = new BtfBuilder();
    const u32 = b.uint(4);
    b.struct('__sk_buff', [
      { name: 'pad', type: b.array(u32, 8) },
      { name: 'mark', type: u32 },
    ]);
    using col = Collection.load(coreSpec(), { programs: ['mark_prog'], targetBtf: b.btf });
    const ctx = skbWithMark(MARK);
    new DataView(ctx.buffer).setUint32(SkBuff.fields.find((f) => f.name === 'priority')!.offset, 0x77, true);
    expect(col.program('mark_prog').testRun({ data: packet(), ctx }).retval).toBe(0x77);
    // The object's own BTF as target: three flavors of __sk_buff match with different offsets.
    expect(() => Collection.load(coreSpec(), { programs: ['mark_prog'], targetBtf: coreSpec().btf! })).toThrow(/ambiguous/);
  });
});
