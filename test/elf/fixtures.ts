/**
 * BPF C sources shared by the ELF and BTF tests (compiled with clang-22 -O2 -g).
 */

/** Every reader feature: several programs per section, .text subprograms, callbacks,
 * BTF maps (map-in-map with initial values, pinning), legacy maps, global data. */
export const FEATURES_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_def { unsigned int type, key_size, value_size, max_entries, map_flags; };

struct inner_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} inner1 SEC(".maps"), inner2 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct inner_map);
} outer SEC(".maps") = { .values = { [0] = &inner1, [1] = &inner2 } };

struct point { __u32 x; __u16 y; __u8 tag[2]; };

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct point);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} pinned_hash SEC(".maps");

struct legacy_def SEC("maps") legacy = { .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2 };

__u64 counter = 3;
const volatile __u32 factor = 7;
__u64 zeroed;

static __attribute__((noinline)) __u64 add_factor(__u64 x) { return x * factor + counter; }

static long loop_cb(__u32 idx, void *data) { *(__u64 *)data += idx; return 0; }

SEC("xdp") int xdp_a(struct xdp_md *ctx) {
  __u32 k = 1;
  struct point p = { .x = (__u32)add_factor(2), .y = 5, .tag = { 'o', 'k' } };
  bpf_map_update_elem(&pinned_hash, &k, &p, BPF_ANY);
  __u32 zero = 0;
  void *inner = bpf_map_lookup_elem(&outer, &zero);
  if (inner) { __u64 v = 42; bpf_map_update_elem(inner, &zero, &v, BPF_ANY); }
  zeroed++;
  return XDP_PASS;
}

SEC("xdp") int xdp_b(struct xdp_md *ctx) {
  return add_factor(1) == 10 ? XDP_DROP : XDP_ABORTED;
}

SEC("tc") int tc_prog(struct __sk_buff *skb) {
  __u32 k = 1;
  __u64 sum = 0;
  bpf_loop(4, loop_cb, &sum, 0);
  __u64 *v = bpf_map_lookup_elem(&legacy, &k);
  if (v) *v = sum + add_factor(0);
  return 0;
}

/* A global function: the kernel verifies it on its own, from its BTF. */
__attribute__((noinline)) int global_len(__u32 len) { return len & 0xffff; }

SEC("socket") int sock_prog(struct __sk_buff *skb) { return global_len(skb->len); }

SEC("cgroup/connect4") int conn4(struct bpf_sock_addr *ctx) { return 1; }

/* A string literal: .rodata.str1.1, reached through a map-value load. */
SEC("xdp.frags") int xdp_str(struct xdp_md *ctx) {
  const char *volatile m = "hello world";
  return m[4];
}

char LICENSE[] SEC("license") = "GPL";
`;

/** An object libbpf (bpftool, iproute2) loads: BTF maps and global data only. */
export const LIBBPF_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} hits SEC(".maps");

__u64 seen;
const volatile __u32 verdict = XDP_PASS;

static __attribute__((noinline)) int bump(__u32 slot) {
  __u64 *v = bpf_map_lookup_elem(&hits, &slot);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

SEC("xdp") int xdp_count(struct xdp_md *ctx) { bump(0); seen++; return verdict; }
SEC("xdp") int xdp_drop(struct xdp_md *ctx) { bump(1); return XDP_DROP; }
SEC("tc") int tc_count(struct __sk_buff *skb) { bump(2); return 0; }

char LICENSE[] SEC("license") = "GPL";
`;
