// C twin of the connect-time load balancer (bpf-progs/connect-lb): the
// reference its DSL datapath must match, and the datapath the tests and
// `tsbpf bench connect-lb` run when the DSL one is not chosen.
//
// Eight cgroup sock_addr programs: connect4/6 and sendmsg4/6 rewrite a
// service destination {VIP, port, protocol} to one of its backends (TCP: a
// random backend; UDP: chosen by the socket cookie, so one socket always
// talks to the same backend) and record {cookie, backend, port} -> service
// in lb_rev; recvmsg4/6 and getpeername4/6 rewrite the backend address back
// to the service while that service still exists with the same revision.
// A service without backends fails connect()/sendmsg() with EHOSTUNREACH.
//
// Map layouts: bpf-progs/connect-lb/maps.ts (addresses are 16 bytes, IPv4
// stored IPv4-mapped, so AF_INET6 sockets using ::ffff:a.b.c.d share the
// IPv4 services). Needs Linux 5.18 (bpf_set_retval in sock_addr programs).
#include <linux/bpf.h>
#include "twins.h"

#define EHOSTUNREACH 113
#define PROTO_TCP 6
#define PROTO_UDP 17
#define NO_PREALLOC 1 /* BPF_F_NO_PREALLOC */

static long (*bpf_set_retval)(int retval) = (void *)187;

struct svc_key { __be32 addr[4]; __be16 port; __u8 proto; __u8 pad; };
struct svc_value { __u32 id; __u32 count; __u32 revision; };
struct backend_key { __u32 id; __u32 slot; };
struct backend_value { __be32 addr[4]; __be16 port; __u16 pad; };
struct rev_key { __u64 cookie; __be32 addr[4]; __be16 port; __u16 pad[3]; };
struct rev_value { __be32 addr[4]; __be16 port; __u8 proto; __u8 pad; __u32 revision; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct svc_key); __type(value, struct svc_value); __uint(max_entries, 65536); __uint(map_flags, NO_PREALLOC); } lb_svc SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct backend_key); __type(value, struct backend_value); __uint(max_entries, 262144); __uint(map_flags, NO_PREALLOC); } lb_backends SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __type(key, struct rev_key); __type(value, struct rev_value); __uint(max_entries, 131072); } lb_rev SEC(".maps");

// Picks the backend of service `key`: 0 not a service, 1 picked (*out), -1 none to pick.
static inline __attribute__((always_inline)) int pick(struct bpf_sock_addr *ctx, struct svc_key *key, struct backend_value **out) {
  struct svc_value *svc = bpf_map_lookup_elem(&lb_svc, key);
  if (!svc) return 0;
  __u32 count = svc->count;
  if (count == 0) return -1;
  __u64 cookie = bpf_get_socket_cookie(ctx);
  __u32 h;
  if (key->proto == PROTO_TCP) h = bpf_get_prandom_u32();
  else h = ((__u32)cookie ^ (__u32)(cookie >> 32)) * 0x9e3779b1u;
  struct backend_key bk = { .id = svc->id, .slot = (__u32)(((__u64)h * count) >> 32) };
  struct backend_value *be = bpf_map_lookup_elem(&lb_backends, &bk);
  if (!be) return -1;
  struct rev_key rk = { .cookie = cookie, .port = be->port };
  struct rev_value rv = { .port = key->port, .proto = key->proto, .revision = svc->revision };
  for (int i = 0; i < 4; i++) {
    rk.addr[i] = be->addr[i];
    rv.addr[i] = key->addr[i];
  }
  bpf_map_update_elem(&lb_rev, &rk, &rv, BPF_ANY);
  *out = be;
  return 1;
}

static inline __attribute__((always_inline)) int fwd4(struct bpf_sock_addr *ctx) {
  __u32 proto = ctx->protocol;
  if (proto != PROTO_TCP && proto != PROTO_UDP) return 1;
  struct svc_key key = { .port = (__u16)ctx->user_port, .proto = proto };
  key.addr[2] = bpf_htonl(0xffff);
  key.addr[3] = ctx->user_ip4;
  struct backend_value *be;
  int r = pick(ctx, &key, &be);
  if (r == 0) return 1;
  if (r < 0) {
    bpf_set_retval(-EHOSTUNREACH);
    return 0;
  }
  ctx->user_ip4 = be->addr[3];
  ctx->user_port = be->port;
  return 1;
}

static inline __attribute__((always_inline)) int fwd6(struct bpf_sock_addr *ctx) {
  __u32 proto = ctx->protocol;
  if (proto != PROTO_TCP && proto != PROTO_UDP) return 1;
  struct svc_key key = { .port = (__u16)ctx->user_port, .proto = proto };
  key.addr[0] = ctx->user_ip6[0];
  key.addr[1] = ctx->user_ip6[1];
  key.addr[2] = ctx->user_ip6[2];
  key.addr[3] = ctx->user_ip6[3];
  struct backend_value *be;
  int r = pick(ctx, &key, &be);
  if (r == 0) return 1;
  if (r < 0) {
    bpf_set_retval(-EHOSTUNREACH);
    return 0;
  }
  ctx->user_ip6[0] = be->addr[0];
  ctx->user_ip6[1] = be->addr[1];
  ctx->user_ip6[2] = be->addr[2];
  ctx->user_ip6[3] = be->addr[3];
  ctx->user_port = be->port;
  return 1;
}

// The service a socket's peer {cookie, addr, port} stands for, if still current (stale entries are deleted).
static inline __attribute__((always_inline)) struct rev_value *rev(struct rev_key *rk) {
  struct rev_value *rv = bpf_map_lookup_elem(&lb_rev, rk);
  if (!rv) return 0;
  struct svc_key key = { .port = rv->port, .proto = rv->proto };
  for (int i = 0; i < 4; i++) key.addr[i] = rv->addr[i];
  struct svc_value *svc = bpf_map_lookup_elem(&lb_svc, &key);
  if (!svc || svc->revision != rv->revision) {
    bpf_map_delete_elem(&lb_rev, rk);
    return 0;
  }
  return rv;
}

static inline __attribute__((always_inline)) int back4(struct bpf_sock_addr *ctx) {
  struct rev_key rk = { .cookie = bpf_get_socket_cookie(ctx), .port = (__u16)ctx->user_port };
  rk.addr[2] = bpf_htonl(0xffff);
  rk.addr[3] = ctx->user_ip4;
  struct rev_value *rv = rev(&rk);
  if (!rv) return 1;
  ctx->user_ip4 = rv->addr[3];
  ctx->user_port = rv->port;
  return 1;
}

static inline __attribute__((always_inline)) int back6(struct bpf_sock_addr *ctx) {
  struct rev_key rk = { .cookie = bpf_get_socket_cookie(ctx), .port = (__u16)ctx->user_port };
  rk.addr[0] = ctx->user_ip6[0];
  rk.addr[1] = ctx->user_ip6[1];
  rk.addr[2] = ctx->user_ip6[2];
  rk.addr[3] = ctx->user_ip6[3];
  struct rev_value *rv = rev(&rk);
  if (!rv) return 1;
  ctx->user_ip6[0] = rv->addr[0];
  ctx->user_ip6[1] = rv->addr[1];
  ctx->user_ip6[2] = rv->addr[2];
  ctx->user_ip6[3] = rv->addr[3];
  ctx->user_port = rv->port;
  return 1;
}

SEC("cgroup/connect4") int lb_connect4(struct bpf_sock_addr *ctx) { return fwd4(ctx); }
SEC("cgroup/connect6") int lb_connect6(struct bpf_sock_addr *ctx) { return fwd6(ctx); }
SEC("cgroup/sendmsg4") int lb_sendmsg4(struct bpf_sock_addr *ctx) { return fwd4(ctx); }
SEC("cgroup/sendmsg6") int lb_sendmsg6(struct bpf_sock_addr *ctx) { return fwd6(ctx); }
SEC("cgroup/recvmsg4") int lb_recvmsg4(struct bpf_sock_addr *ctx) { return back4(ctx); }
SEC("cgroup/recvmsg6") int lb_recvmsg6(struct bpf_sock_addr *ctx) { return back6(ctx); }
SEC("cgroup/getpeername4") int lb_getpeername4(struct bpf_sock_addr *ctx) { return back4(ctx); }
SEC("cgroup/getpeername6") int lb_getpeername6(struct bpf_sock_addr *ctx) { return back6(ctx); }

char LICENSE[] SEC("license") = "GPL";
