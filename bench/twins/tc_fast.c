// C twin of tcFast in bench/_dsl-programs.ts: conntrack hit -> counters, mark, redirect.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include "twins.h"

struct ct_key { __be32 saddr, daddr; __be16 sport, dport; __u8 proto, pad1; __u16 pad2; };
struct ct_val { __u32 ifindex, mark; __u64 packets, bytes; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct ct_key); __type(value, struct ct_val); __uint(max_entries, 1024); } ct_table SEC(".maps");

SEC("tc")
int tc_fast(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return TC_ACT_OK;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return TC_ACT_OK;
  if (*(__u8 *)ip != 0x45) return TC_ACT_OK;
  if (ip->protocol != IPPROTO_UDP) return TC_ACT_OK;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > end) return TC_ACT_OK;
  struct ct_key k = { .saddr = ip->saddr, .daddr = ip->daddr, .sport = udp->source, .dport = udp->dest, .proto = ip->protocol };
  struct ct_val *ct = bpf_map_lookup_elem(&ct_table, &k);
  if (!ct) return TC_ACT_OK;
  __sync_fetch_and_add(&ct->packets, 1);
  __sync_fetch_and_add(&ct->bytes, skb->len);
  skb->mark = ct->mark;
  return bpf_redirect(ct->ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
