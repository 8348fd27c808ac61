// C twin of edtLimiter in bench/_dsl-programs.ts: EDT pacing with a drop horizon.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include "twins.h"

struct cfg { __u64 ns_per_byte, horizon_ns; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, struct cfg); __uint(max_entries, 1); } edt_config SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 1024); } edt_flows SEC(".maps");

SEC("tc")
int edt_limiter(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return TC_ACT_OK;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return TC_ACT_OK;
  __u32 zero = 0;
  struct cfg *cfg = bpf_map_lookup_elem(&edt_config, &zero);
  if (!cfg) return TC_ACT_OK;
  __u32 key = ip->daddr;
  __u64 now = bpf_ktime_get_ns();
  __u64 delay = (__u64)skb->len * cfg->ns_per_byte;
  __u64 *st = bpf_map_lookup_elem(&edt_flows, &key);
  if (!st) {
    __u64 v = now + delay;
    bpf_map_update_elem(&edt_flows, &key, &v, BPF_ANY);
    return TC_ACT_OK;
  }
  __u64 next = *st;
  if (next < now) next = now;
  if (next - now > cfg->horizon_ns) return TC_ACT_SHOT;
  *st = next + delay;
  skb->tstamp = next;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
