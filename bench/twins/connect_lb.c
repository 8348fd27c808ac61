// C twin of connectLb in bench/_dsl-programs.ts: connect-time load balancing.
#include <linux/bpf.h>
#include "twins.h"

struct svc_key { __be32 ip; __be16 port; __u16 pad; };
struct svc_val { __u32 count, first; };
struct backend { __be32 ip; __be16 port; __u16 pad; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct svc_key); __type(value, struct svc_val); __uint(max_entries, 64); } sock_svc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32); __type(value, struct backend); __uint(max_entries, 256); } sock_be SEC(".maps");

SEC("cgroup/connect4")
int connect_lb(struct bpf_sock_addr *ctx) {
  struct svc_key k = { .ip = ctx->user_ip4, .port = (__u16)ctx->user_port, .pad = 0 };
  struct svc_val *svc = bpf_map_lookup_elem(&sock_svc, &k);
  if (!svc) return 1;
  if (svc->count == 0) return 1;
  __u32 idx = bpf_get_prandom_u32() % svc->count + svc->first;
  struct backend *be = bpf_map_lookup_elem(&sock_be, &idx);
  if (!be) return 1;
  ctx->user_ip4 = be->ip;
  ctx->user_port = be->port;
  return 1;
}

char LICENSE[] SEC("license") = "GPL";
