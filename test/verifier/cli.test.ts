/**
 * `tsbpf verify` on clang-compiled objects: JSON shape, source positions, and
 * the same verdict as `tsbpf load` (the kernel) program by program.
 */
import { expect, it } from 'vitest';
import { describeKernel, describeLlvm } from '../helpers/env.js';
import { compileC } from '../elf/clang.js';
import { main } from '../../lib/cli/main.js';
import { verifyFile, type VerifyVerdict } from '../../lib/cli/verify.js';

const HEAD = `
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#define SEC(n) __attribute__((section(n), used))
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *t, __u32 n, __u64 ns, __u64 f) = (void *)84;
static long (*bpf_sk_release)(void *sk) = (void *)86;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to, __u32 len) = (void *)26;
struct { int (*type)[BPF_MAP_TYPE_HASH]; int (*max_entries)[64]; __u32 *key; __u64 *value; } counts SEC(".maps");
struct { int (*type)[BPF_MAP_TYPE_ARRAY]; int (*max_entries)[4]; __u32 *key; __u32 (*value)[4]; } table SEC(".maps");
char LICENSE[] SEC("license") = "GPL";
`;

const SOURCE = HEAD + `
SEC("xdp") int fw(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data; struct iphdr *ip = data + sizeof(*eth);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  if (eth->h_proto != __builtin_bswap16(ETH_P_IP)) return XDP_PASS;
  __u32 k = ip->saddr; __u64 *v = bpf_map_lookup_elem(&counts, &k);
  if (v) { __sync_fetch_and_add(v, 1); return XDP_DROP; }
  return XDP_PASS;
}
SEC("xdp") int past_end(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  struct iphdr *ip = data + sizeof(struct ethhdr);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  return ip->daddr + *(unsigned char *)(data + 40);
}
SEC("xdp") int no_null_check(struct xdp_md *ctx) {
  __u32 k = ctx->rx_queue_index; __u64 *v = bpf_map_lookup_elem(&counts, &k);
  return *v ? XDP_DROP : XDP_PASS;
}
SEC("xdp") int table_index(struct xdp_md *ctx) {
  __u32 k = 0; __u32 *v = bpf_map_lookup_elem(&table, &k);
  if (!v) return XDP_PASS;
  __u32 i = ctx->rx_queue_index & 3;
  return v[i] & 3;
}
SEC("xdp") int table_oob(struct xdp_md *ctx) {
  __u32 k = 0; __u32 *v = bpf_map_lookup_elem(&table, &k);
  if (!v) return XDP_PASS;
  __u32 i = ctx->rx_queue_index & 7;
  return v[i] & 3;
}
SEC("tc") int tc_mark(struct __sk_buff *skb) {
  skb->mark = skb->len > 100 ? 1 : 2; skb->cb[1] = skb->protocol;
  __u8 b[4]; if (bpf_skb_load_bytes(skb, 0, b, 4)) return 0;
  return b[0] == 0x45 ? bpf_redirect(skb->ifindex, 0) : 0;
}
SEC("tc") int tc_bad_write(struct __sk_buff *skb) { skb->len = 0; return 0; }
SEC("tc") int tc_lookup(struct __sk_buff *skb) {
  struct bpf_sock_tuple t = {}; t.ipv4.dport = __builtin_bswap16(80);
  struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
  if (!sk) return 0;
  int st = sk->state; bpf_sk_release(sk); return st == 1 ? 2 : 0;
}
SEC("tc") int tc_leak(struct __sk_buff *skb) {
  struct bpf_sock_tuple t = {};
  struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
  return sk ? 2 : 0;
}
SEC("cgroup/connect4") int c4(struct bpf_sock_addr *ctx) {
  if (ctx->user_port == __builtin_bswap16(80)) ctx->user_ip4 = 0x0100007f;
  return 1;
}
SEC("cgroup/connect4") int c4_ret2(struct bpf_sock_addr *ctx) { return ctx->user_port == 80 ? 2 : 1; }
SEC("cgroup/sendmsg4") int s4(struct bpf_sock_addr *ctx) { ctx->msg_src_ip4 = 0x0100007f; return 1; }
SEC("cgroup/connect4") int c4_msg_src(struct bpf_sock_addr *ctx) { ctx->msg_src_ip4 = 0x0100007f; return 1; }
SEC("cgroup/recvmsg4") int r4(struct bpf_sock_addr *ctx) { ctx->user_ip4 = 0x0100007f; return 1; }
SEC("cgroup/getpeername4") int gp4(struct bpf_sock_addr *ctx) { return 0; }
SEC("xdp") int loop(struct xdp_md *ctx) {
  __u32 s = 0;
  for (int i = 0; i < 64; i++) s += (s << 1) ^ i;
  return s & 3;
}
`;

const expected: Record<string, 'ok' | 'error'> = {
  fw: 'ok', past_end: 'error', no_null_check: 'error', table_index: 'ok', table_oob: 'error', tc_mark: 'ok',
  tc_bad_write: 'error', tc_lookup: 'ok', tc_leak: 'error', c4: 'ok', c4_ret2: 'error', s4: 'ok', c4_msg_src: 'error',
  r4: 'ok', gp4: 'error', loop: 'ok',
};

function runCli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  return main(args, { out: (t) => (out += t), err: (t) => (out += t) }).then((code) => ({ code, out }));
}

describeLlvm('tsbpf verify on clang objects', () => {
  it('prints one JSON element per program with verdicts, messages and source lines', async () => {
    const { path } = compileC('verify_cli', SOURCE);
    const { code, out } = await runCli(['verify', '--json', path]);
    expect(code).toBe(1);
    const all = JSON.parse(out) as VerifyVerdict[];
    expect(Object.fromEntries(all.map((v) => [v.program, v.verdict]))).toEqual(expected);
    for (const v of all) {
      expect(v).toMatchObject({ file: path, section: expect.any(String), type: expect.any(String) });
      expect(typeof v.durationUs).toBe('number');
    }
    const pe = all.find((v) => v.program === 'past_end')!;
    expect(pe.errors[0]!.message).toMatch(/^invalid access to packet, off=40 size=1/);
    expect(pe.errors[0]!.source).toMatchObject({ file: expect.stringContaining('verify_cli.c'), line: expect.any(Number) });
    expect(all.find((v) => v.program === 'c4_ret2')!.errors[0]!.message).toBe('At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]');
    expect(all.find((v) => v.program === 'tc_leak')!.errors[0]!.message).toMatch(/^Unreleased reference id=\d+ alloc_insn=\d+$/);
    const text = await runCli(['verify', path]);
    expect(text.out).toMatch(/fw \(xdp, xdp\): ok/);
    expect(text.out).toMatch(/past_end \(xdp, xdp\): error at insn \d+ \[.*verify_cli\.c:\d+:\d+\]: invalid access to packet/);
  });

  it('exits 2 without files and reports unreadable files as errors', async () => {
    expect((await runCli(['verify'])).code).toBe(2);
    const r = await runCli(['verify', '--json', '/nonexistent.o']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)[0]).toMatchObject({ program: null, verdict: 'error' });
  });
});

describeKernel('tsbpf verify agrees with tsbpf load', () => {
  it('gives the kernel verdict and failing instruction for every program', async () => {
    const { path } = compileC('verify_cli_k', SOURCE);
    const { loadFile } = await import('../../lib/cli/load.js');
    const lite = verifyFile(path);
    const kernel = loadFile(path);
    expect(lite.map((v) => v.program)).toEqual(kernel.map((v) => v.program));
    for (let i = 0; i < lite.length; i++) {
      const l = lite[i]!;
      const k = kernel[i]!;
      expect([l.program, l.verdict === 'error' ? 'error' : 'ok']).toEqual([k.program, k.verdict]);
      if (k.verdict === 'error' && k.insn !== null) expect([l.program, l.errors[0]!.insn]).toEqual([k.program, k.insn]);
    }
  });

  it('applies CO-RE relocations as load does, so both judge the same instructions', async () => {
    // Locally tstamp sits at offset 0 (len, 4 bytes: an 8-byte load there is invalid);
    // in the kernel's __sk_buff it is the u64 at 152. Only the relocated program is valid.
    const src = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct __sk_buff___ts { __u64 tstamp; } __attribute__((preserve_access_index));
SEC("tc") int read_tstamp(struct __sk_buff *ctx) { return ((struct __sk_buff___ts *)ctx)->tstamp != 0; }
struct __sk_buff___sm { __s64 mark; } __attribute__((preserve_access_index));
SEC("tc") int signed_mark(struct __sk_buff *ctx) { return ((struct __sk_buff___sm *)ctx)->mark; }
char LICENSE[] SEC("license") = "GPL";`;
    const { path } = compileC('verify_cli_core', src);
    const { loadFile } = await import('../../lib/cli/load.js');
    const lite = verifyFile(path);
    const kernel = loadFile(path);
    expect(lite.map((v) => [v.program, v.verdict])).toEqual([
      ['read_tstamp', 'ok'],
      ['signed_mark', 'error'],
    ]);
    expect(kernel.map((v) => [v.program, v.verdict])).toEqual([
      ['read_tstamp', 'ok'],
      ['signed_mark', 'error'],
    ]);
    expect(lite[1]!.errors[0]).toMatchObject({ insn: kernel[1]!.insn, message: kernel[1]!.message });
  });
});
