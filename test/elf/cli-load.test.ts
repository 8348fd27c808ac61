import { expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { UsageError } from '../../lib/cli/command.js';
import { loadCommand, type LoadVerdict } from '../../lib/cli/load.js';
import { writeCollectionSpec } from '../../lib/elf/index.js';
import { describeKernel, llvmUnavailable } from '../helpers/env.js';
import { compileC, tempPath } from './clang.js';
import { dslLikeSpec } from './dsl-like.js';
import { FEATURES_C } from './fixtures.js';

/** Runs `tsbpf load ARGS` (the subcommand alone, as lib/cli/main.ts dispatches it). */
async function run(args: string[]) {
  let out = '';
  let err = '';
  const [name, ...rest] = args;
  expect(name).toBe('load');
  const code = await loadCommand.run(rest, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describeKernel('tsbpf load', () => {
  it('reports the kernel verdict of every program as JSON', async () => {
    const dsl = tempPath('cli-dsl.o');
    const spec = dslLikeSpec();
    for (const m of spec.maps.values()) m.pinning = 0;
    writeFileSync(dsl, writeCollectionSpec(spec));
    const r = await run(['load', '--json', dsl]);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out) as LoadVerdict[];
    expect(v.map((x) => [x.program, x.section, x.type, x.verdict])).toEqual([
      ['count_a', 'xdp', 'xdp', 'ok'],
      ['count_b', 'tc', 'sched_cls', 'ok'],
    ]);
    for (const x of v) {
      expect(Object.keys(x).sort()).toEqual(['errno', 'file', 'insn', 'message', 'program', 'section', 'type', 'verdict', 'verificationUs'].sort());
      expect(x.file).toBe(dsl);
      expect(x.verificationUs).toBeGreaterThanOrEqual(0);
    }
  });

  it.skipIf(llvmUnavailable)('loads clang objects and names rejected programs, errno and instruction', async () => {
    const good = compileC('cli-good', FEATURES_C).path;
    const bad = compileC(
      'cli-bad',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int fine(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int reads_packet(struct xdp_md *ctx) { return *(int *)(long)ctx->data; }
char LICENSE[] SEC("license") = "GPL";`,
    ).path;
    const r = await run(['load', '--json', good, bad]);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.out) as LoadVerdict[];
    expect(v.filter((x) => x.file === good).every((x) => x.verdict === 'ok')).toBe(true);
    expect(v.filter((x) => x.file === good).map((x) => x.program)).toEqual(['xdp_a', 'xdp_b', 'tc_prog', 'sock_prog', 'conn4', 'xdp_str']);
    const rejected = v.find((x) => x.program === 'reads_packet')!;
    expect(rejected).toMatchObject({ verdict: 'error', errno: 'EACCES', type: 'xdp' });
    expect(rejected.insn).toBeTypeOf('number');
    expect(rejected.message).toMatch(/packet/);
    expect(v.find((x) => x.program === 'fine')!.verdict).toBe('ok');
    const plain = await run(['load', bad]);
    expect(plain.out).toMatch(/reads_packet \(xdp, xdp\): error EACCES at insn \d+/);
  });

  it.skipIf(llvmUnavailable)('applies CO-RE relocations and reports one that cannot be applied, with its instruction', async () => {
    const obj = compileC(
      'cli-core',
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct __sk_buff___signed { __s64 mark; } __attribute__((preserve_access_index));
struct __sk_buff___plain { __u32 mark; } __attribute__((preserve_access_index));
SEC("tc") int signed_mark(struct __sk_buff *ctx) { return ((struct __sk_buff___signed *)ctx)->mark; }
SEC("tc") int plain_mark(struct __sk_buff *ctx) { return ((struct __sk_buff___plain *)ctx)->mark; }
char LICENSE[] SEC("license") = "GPL";`,
    ).path;
    const r = await run(['load', '--json', obj]);
    expect(r.code).toBe(1);
    const v = JSON.parse(r.out) as LoadVerdict[];
    // the kernel's mark is a u32: an 8-byte signed load cannot be narrowed safely
    expect(v.find((x) => x.program === 'signed_mark')).toMatchObject({ verdict: 'error', errno: null, insn: 0 });
    expect(v.find((x) => x.program === 'signed_mark')!.message).toMatch(/CO-RE FIELD_BYTE_OFFSET relocation of __sk_buff___signed\.mark .*not safe/);
    expect(v.find((x) => x.program === 'plain_mark')!.verdict).toBe('ok');
  });

  it('reports unreadable files and usage errors', async () => {
    const junk = tempPath('junk.o');
    writeFileSync(junk, 'this is not an ELF object at all');
    const r = await run(['load', '--json', junk]);
    expect(r.code).toBe(1);
    const [v] = JSON.parse(r.out) as LoadVerdict[];
    expect(v).toMatchObject({ file: junk, program: null, verdict: 'error' });
    expect(v!.message).toMatch(/bad magic/);
    // Usage errors: main() prints the usage and exits 2.
    await expect(run(['load'])).rejects.toThrow(UsageError);
    await expect(run(['load', '--bogus', junk])).rejects.toThrow(UsageError);
  });
});
