// Helpers, bpf-to-bpf calls, map loads (relocated lddw), globals, jmp32, byte swaps.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} totals SEC(".maps");

volatile int threshold = 7;
const volatile __u32 salt = 0x9e3779b9;

static __attribute__((noinline)) __u32 mix(__u32 a, __u32 b) {
  a ^= b * salt;
  a = (a << 13) | (a >> 19);
  return a + threshold;
}

static __attribute__((noinline)) int classify(__u32 x, int y) {
  if ((int)x < y) return -1;
  if (x > 1000 && y != 3) return 2;
  if (x & 0x40) return 3;
  return mix(x, y) > 5000;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  if (data + 14 > end) return XDP_PASS;
  __u16 proto = *(__u16 *)(data + 12);
  __u32 key = bpf_ntohs(proto) & 63;
  __u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (v) {
    __sync_fetch_and_add(v, 1);
  } else {
    __u64 one = 1;
    bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
  }
  __u32 zero = 0;
  __u64 *t = bpf_map_lookup_elem(&totals, &zero);
  if (t) __sync_fetch_and_add((__u32 *)t, ctx->data_end - ctx->data);
  int c = classify(key, ctx->ingress_ifindex);
  if (c < 0) return XDP_DROP;
  return bpf_htonl(c) == 0x2000000 ? XDP_TX : XDP_PASS;
}

SEC("tc")
int tc_swap(struct __sk_buff *skb) {
  __u64 x = skb->hash;
  x = __builtin_bswap64(x | ((__u64)skb->mark << 32));
  __u32 y = __builtin_bswap32(skb->priority);
  __u16 z = __builtin_bswap16(skb->protocol);
  return (x >> 60) + (y & 3) + z + mix(y, z);
}

char LICENSE[] SEC("license") = "GPL";
