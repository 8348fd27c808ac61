// C twin of xdpLb in bench/_dsl-programs.ts: Maglev-style XDP load balancer.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include "twins.h"

#define RING 251

struct svc_key { __be16 port; __u8 proto; __u8 pad; };
struct svc_val { __u32 ring_off; __u32 flags; };
struct backend { __be32 ip; __u8 mac[6]; __u16 pad; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct svc_key); __type(value, struct svc_val); __uint(max_entries, 64); } lb_services SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, __u32); __uint(max_entries, RING * 4); } lb_ring SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, struct backend); __uint(max_entries, 64); } lb_backends SEC(".maps");

static __always_inline __u16 csum_replace4(__u16 check, __u32 from, __u32 to) {
  __u32 s = (~check & 0xffff);
  __u32 nf = ~from;
  s += (nf & 0xffff) + (nf >> 16);
  s += (to & 0xffff) + (to >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end) return XDP_PASS;
  if (*(__u8 *)ip != 0x45) return XDP_PASS;
  if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > end) return XDP_PASS;
  struct svc_key k = { .port = udp->dest, .proto = ip->protocol, .pad = 0 };
  struct svc_val *svc = bpf_map_lookup_elem(&lb_services, &k);
  if (!svc) return XDP_PASS;
  __u32 h = ip->saddr ^ ((__u32)udp->source << 16) ^ udp->dest;
  h = (h ^ (h >> 15)) * 0x2c1b3c6d;
  h = h ^ (h >> 12);
  __u32 slot = h % RING + svc->ring_off;
  __u32 *id = bpf_map_lookup_elem(&lb_ring, &slot);
  if (!id) return XDP_PASS;
  struct backend *be = bpf_map_lookup_elem(&lb_backends, id);
  if (!be) return XDP_PASS;
  __be32 nw = be->ip;
  __be32 old = ip->daddr;
  ip->check = csum_replace4(ip->check, old, nw);
  udp->check = csum_replace4(udp->check, old, nw);
  ip->daddr = nw;
  __builtin_memcpy(eth->h_source, eth->h_dest, 6);
  __builtin_memcpy(eth->h_dest, be->mac, 6);
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
