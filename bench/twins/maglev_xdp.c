// SPDX-License-Identifier: GPL-2.0
/*
 * C twin of the Maglev load balancer datapath (bpf-progs/maglev): the
 * reference the DSL version must match, packet for packet, and the baseline
 * of `tsbpf bench maglev`.
 *
 * Build: clang-22 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
 *          -c maglev_xdp.c -o maglev_xdp.o            (add -DBENCH_RESTORE for the bench variant)
 *
 * What it does, at the XDP driver hook:
 *  - parses Ethernet, IPv4 (any IHL; fragments pass) or IPv6 (TCP/UDP as the
 *    first next header; extension headers pass), TCP or UDP;
 *  - looks the service up by {VIP, destination port, protocol, family} in the
 *    hash-of-maps `services`; no service -> XDP_PASS;
 *  - hashes the flow (source address, source and destination ports, protocol,
 *    seed; the destination address deliberately excluded, as Cilium and Katran
 *    do, so a flow keeps its backend whichever VIP or node it reaches) and
 *    picks slot 1 + hash % M of the service's inner Maglev table;
 *  - looks the backend up in `backends` and encapsulates for direct server
 *    return: bpf_xdp_adjust_head() makes room for an outer IPv4 header (20
 *    bytes, protocol 4 for an inner IPv4 packet, 41 for inner IPv6) or IPv6
 *    header (40 bytes, next header 4 or 41), whichever family the backend
 *    has; the outer Ethernet header swaps the original MAC addresses (the
 *    packet goes back to the router it came from); XDP_TX;
 *  - an empty table (M = 0), a missing slot, backend id 0 or an unused backend
 *    -> XDP_DROP.
 *
 * Map layouts (little-endian host; "be" fields in network byte order). The
 * control plane (bpf-progs/maglev/control-plane.ts) declares the same layouts
 * with lib/layout:
 *
 *   services  HASH_OF_MAPS, key struct svc_key (20 bytes), max 1024 services:
 *     struct svc_key { __be32 vip[4]; __be16 port; __u8 proto; __u8 family; }
 *       vip:    IPv6 address, or IPv4 address in vip[0] and zeros after;
 *       port:   destination port, network byte order;
 *       proto:  IPPROTO_TCP (6) or IPPROTO_UDP (17);
 *       family: 4 or 6 (the IP version, not AF_*).
 *     inner maps: ARRAY, key __u32, value __u32, BPF_F_INNER_MAP (so each
 *     service's table has its own size), M + 1 entries:
 *       [0]      = M, the table size (0: empty table, drop);
 *       [1 + i]  = backend id owning Maglev slot i (0: none, drop).
 *
 *   backends  ARRAY, key __u32 backend id (0 is never used), 65536 entries:
 *     struct backend { __be32 addr[4]; __u8 family; __u8 pad[3]; }   (20 bytes)
 *       addr as in svc_key; family 4 or 6 (0: unused slot, drop).
 *
 *   config    ARRAY, key __u32 0, one entry:
 *     struct lb_config { __u32 seed; __be32 src4; __be32 src6[4]; }  (24 bytes)
 *       seed of the flow hash; outer source addresses for IPv4 / IPv6.
 *
 * Flow hash: MurmurHash3_x86_32 with seed `config.seed` over 32-bit words,
 * each a little-endian load of the packet bytes: the source address (1 word
 * for IPv4, 4 for IPv6), then the first 4 bytes of the L4 header (source and
 * destination port), then the protocol number; length (bytes) = 4 * words.
 *
 * Outer headers: IPv4 ihl 5, tos = the inner DSCP/ECN byte, total length =
 * inner length + 20, id 0, no fragment flags, ttl 64, header checksum;
 * IPv6 traffic class = the inner DSCP/ECN byte, flow label = hash & 0xfffff,
 * payload length = inner length, hop limit 64. Source: config.src4/src6;
 * destination: the backend address. The inner packet is not modified.
 *
 * CONN_TABLE: an LRU connection table `conns` keeps established flows on
 * their backend across table changes, as Katran does: a TCP packet without
 * SYN, or any UDP packet, first looks its connection up (and uses the cached
 * backend while that backend id still holds an address); a TCP SYN always
 * re-hashes; the backend chosen by the hash is then recorded.
 *   conns  LRU_HASH, 65536 entries, key struct conn_key (40 bytes), value __u32 backend id:
 *     struct conn_key { __be32 src[4]; __be32 vip[4]; __u32 ports; __u8 proto; __u8 family; __u16 pad; }
 *       src/vip as in svc_key; ports = the first 4 bytes of the L4 header as
 *       loaded (little-endian); pad zero.
 *
 * COUNT_ACTIONS (tests only): count every return value in the ARRAY map
 * `actions` (index = XDP action, value = __u64 count), so a test can check
 * what millions of BPF_PROG_RUN iterations returned.
 *
 * BENCH_RESTORE: after building the encapsulated packet, restore the original
 * Ethernet header and remove the outer header again before returning XDP_TX,
 * so that every BPF_PROG_RUN iteration (the kernel does not restore the packet
 * between iterations) runs the whole service path.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

/* The few libbpf macros used here, so the twin builds without libbpf headers. */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define bswap16(x) __builtin_bswap16(x)

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
__attribute__((unused)) static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_xdp_adjust_head)(struct xdp_md *ctx, int delta) = (void *)44;

#define MAX_SERVICES 1024
#define MAX_BACKENDS 65536
#define DEFAULT_TABLE_SIZE 16381

struct svc_key {
	__be32 vip[4];
	__be16 port;
	__u8 proto;
	__u8 family;
};

struct backend {
	__be32 addr[4];
	__u8 family;
	__u8 pad[3];
};

struct lb_config {
	__u32 seed;
	__be32 src4;
	__be32 src6[4];
};

struct maglev_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DEFAULT_TABLE_SIZE + 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, MAX_SERVICES);
	__type(key, struct svc_key);
	__array(values, struct maglev_table);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_config);
} config SEC(".maps");

#ifdef CONN_TABLE
struct conn_key {
	__be32 src[4];
	__be32 vip[4];
	__u32 ports;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, __u32);
} conns SEC(".maps");
#endif

#ifdef COUNT_ACTIONS
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} actions SEC(".maps");

static __always_inline int counted(int action)
{
	__u32 k = action;
	__u64 *c = bpf_map_lookup_elem(&actions, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
	return action;
}
#define RET(action) return counted(action)
#else
#define RET(action) return (action)
#endif

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* One MurmurHash3_x86_32 block. */
static __always_inline __u32 mm_block(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

/* MurmurHash3_x86_32 finalisation for a message of `len` bytes. */
static __always_inline __u32 mm_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Outer IPv4 header checksum (ones' complement sum of the 10 half-words). */
static __always_inline __u16 ipv4_csum(const struct iphdr *ip)
{
	const __u16 *p = (const __u16 *)ip;
	__u32 sum = 0;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += p[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum += sum >> 16;
	return (__u16)~sum;
}

SEC("xdp")
int maglev_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct svc_key key = {};
	__u32 zero = 0;
	__u32 h, words, inner_len, ports;
	__u8 tos, inner_family;
#ifdef CONN_TABLE
	struct conn_key ck = {};
	int syn = 0;
#endif

	if ((void *)(eth + 1) > data_end)
		RET(XDP_PASS);

	struct lb_config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		RET(XDP_PASS);
	h = cfg->seed;

	if (eth->h_proto == bswap16(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			RET(XDP_PASS);
		if (ip->ihl < 5 || (ip->frag_off & bswap16(0x3fff)))
			RET(XDP_PASS); /* bad header or a fragment */
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			RET(XDP_PASS);
		__u32 *l4 = (void *)ip + ip->ihl * 4;
		if ((void *)(l4 + 1) > data_end)
			RET(XDP_PASS);
		ports = *l4;
#ifdef CONN_TABLE
		if (ip->protocol == IPPROTO_TCP) {
			__u8 *t = (void *)l4;
			if ((void *)(t + 14) > data_end)
				RET(XDP_PASS);
			syn = t[13] & 0x02;
		}
		ck.src[0] = ip->saddr;
#endif
		key.vip[0] = ip->daddr;
		key.proto = ip->protocol;
		key.family = 4;
		h = mm_block(h, ip->saddr);
		words = 3;
		tos = ip->tos;
		inner_len = bswap16(ip->tot_len);
		inner_family = 4;
	} else if (eth->h_proto == bswap16(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			RET(XDP_PASS);
		if (ip6->nexthdr != IPPROTO_TCP && ip6->nexthdr != IPPROTO_UDP)
			RET(XDP_PASS);
		__u32 *l4 = (void *)(ip6 + 1);
		if ((void *)(l4 + 1) > data_end)
			RET(XDP_PASS);
		ports = *l4;
#ifdef CONN_TABLE
		if (ip6->nexthdr == IPPROTO_TCP) {
			__u8 *t = (void *)l4;
			if ((void *)(t + 14) > data_end)
				RET(XDP_PASS);
			syn = t[13] & 0x02;
		}
		__builtin_memcpy(ck.src, &ip6->saddr, 16);
#endif
		__builtin_memcpy(key.vip, &ip6->daddr, 16);
		key.proto = ip6->nexthdr;
		key.family = 6;
		h = mm_block(h, ip6->saddr.in6_u.u6_addr32[0]);
		h = mm_block(h, ip6->saddr.in6_u.u6_addr32[1]);
		h = mm_block(h, ip6->saddr.in6_u.u6_addr32[2]);
		h = mm_block(h, ip6->saddr.in6_u.u6_addr32[3]);
		words = 6;
		tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		inner_len = bswap16(ip6->payload_len) + sizeof(*ip6);
		inner_family = 6;
	} else {
		RET(XDP_PASS);
	}
	key.port = (__be16)(ports >> 16);

	void *table = bpf_map_lookup_elem(&services, &key);
	if (!table)
		RET(XDP_PASS);

	__u32 *size = bpf_map_lookup_elem(table, &zero);
	if (!size || *size == 0)
		RET(XDP_DROP);

	h = mm_block(h, ports);
	h = mm_block(h, key.proto);
	h = mm_final(h, words * 4);

	struct backend *be = 0;
#ifdef CONN_TABLE
	__builtin_memcpy(ck.vip, key.vip, 16);
	ck.ports = ports;
	ck.proto = key.proto;
	ck.family = key.family;
	if (!syn) {
		__u32 *cid = bpf_map_lookup_elem(&conns, &ck);
		if (cid) {
			be = bpf_map_lookup_elem(&backends, cid);
			if (be && be->family != 4 && be->family != 6)
				be = 0; /* the backend is gone: re-hash */
		}
	}
	if (!be) {
#endif
		__u32 slot = h % *size + 1;
		__u32 *id = bpf_map_lookup_elem(table, &slot);
		if (!id || *id == 0)
			RET(XDP_DROP);
		be = bpf_map_lookup_elem(&backends, id);
		if (!be || (be->family != 4 && be->family != 6))
			RET(XDP_DROP);
#ifdef CONN_TABLE
		bpf_map_update_elem(&conns, &ck, id, BPF_ANY);
	}
#endif

	/* Keep the original Ethernet header (7 half-words), then make room for the outer IP header. */
	__u16 *w = (void *)eth;
	__u16 d0 = w[0], d1 = w[1], d2 = w[2], s0 = w[3], s1 = w[4], s2 = w[5];
#ifdef BENCH_RESTORE
	__u16 eproto = w[6];
#endif
	int hdrlen = be->family == 4 ? (int)sizeof(struct iphdr) : (int)sizeof(struct ipv6hdr);
	if (bpf_xdp_adjust_head(ctx, -hdrlen))
		RET(XDP_DROP);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		RET(XDP_DROP);
	w = (void *)eth;
	w[0] = s0;
	w[1] = s1;
	w[2] = s2;
	w[3] = d0;
	w[4] = d1;
	w[5] = d2;

	if (be->family == 4) {
		struct iphdr *outer = (void *)(eth + 1);
		if ((void *)(outer + 1) > data_end)
			RET(XDP_DROP);
		eth->h_proto = bswap16(ETH_P_IP);
		struct iphdr o = {};
		o.version = 4;
		o.ihl = 5;
		o.tos = tos;
		o.tot_len = bswap16(inner_len + sizeof(struct iphdr));
		o.ttl = 64;
		o.protocol = inner_family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
		o.saddr = cfg->src4;
		o.daddr = be->addr[0];
		o.check = ipv4_csum(&o);
		__builtin_memcpy(outer, &o, sizeof(o));
	} else {
		struct ipv6hdr *outer = (void *)(eth + 1);
		if ((void *)(outer + 1) > data_end)
			RET(XDP_DROP);
		eth->h_proto = bswap16(ETH_P_IPV6);
		struct ipv6hdr o = {};
		o.version = 6;
		o.priority = tos >> 4;
		o.flow_lbl[0] = ((tos & 0xf) << 4) | ((h >> 16) & 0xf);
		o.flow_lbl[1] = (h >> 8) & 0xff;
		o.flow_lbl[2] = h & 0xff;
		o.payload_len = bswap16(inner_len);
		o.nexthdr = inner_family == 4 ? IPPROTO_IPIP : IPPROTO_IPV6;
		o.hop_limit = 64;
		__builtin_memcpy(&o.saddr, cfg->src6, 16);
		__builtin_memcpy(&o.daddr, be->addr, 16);
		__builtin_memcpy(outer, &o, sizeof(o));
	}

#ifdef BENCH_RESTORE
	/* Undo the encapsulation so that the next test-run iteration sees the original packet. */
	{
		__u16 *back = data + hdrlen;
		if ((void *)(back + 7) > data_end)
			RET(XDP_DROP);
		back[0] = d0;
		back[1] = d1;
		back[2] = d2;
		back[3] = s0;
		back[4] = s1;
		back[5] = s2;
		back[6] = eproto;
		if (bpf_xdp_adjust_head(ctx, hdrlen))
			RET(XDP_DROP);
	}
#endif
	RET(XDP_TX);
}

char _license[] SEC("license") = "GPL";
