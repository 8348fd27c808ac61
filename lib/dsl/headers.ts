/**
 * Packet header layouts (packed, as on the wire) and the constants programs
 * compare them with. Multi-byte fields are network order (`be16`, `be32`):
 * compare with `htons()`/`htonl()` constants or convert with `toHost()`.
 */
import { array, mac, packed, struct } from '../layout/index.js';
import { TcAction, TcxAction, XdpAction } from '../uapi/prog-types.js';
import { be16, be32, u16, u32, u8 } from './types.js';

/** `struct ethhdr` (14 bytes). */
export const ethhdr = packed({ h_dest: mac, h_source: mac, h_proto: be16 }, { name: 'ethhdr' });

/**
 * `struct iphdr` (20 bytes without options). `version_ihl` holds the two
 * 4-bit fields: `ihl` in the low nibble (`version_ihl.and(0xf)`), `version`
 * in the high one.
 */
export const iphdr = packed(
  {
    version_ihl: u8,
    tos: u8,
    tot_len: be16,
    id: be16,
    frag_off: be16,
    ttl: u8,
    protocol: u8,
    check: be16,
    saddr: be32,
    daddr: be32,
  },
  { name: 'iphdr' },
);

/** `struct ipv6hdr` (40 bytes); addresses as four `be32` words. */
export const ipv6hdr = packed(
  {
    priority_version: u8,
    flow_lbl: array(u8, 3),
    payload_len: be16,
    nexthdr: u8,
    hop_limit: u8,
    saddr: array(be32, 4),
    daddr: array(be32, 4),
  },
  { name: 'ipv6hdr' },
);

/** `struct tcphdr` (20 bytes without options); `doff_res` has the data offset in its high nibble, `flags` the FIN..CWR bits. */
export const tcphdr = packed(
  {
    source: be16,
    dest: be16,
    seq: be32,
    ack_seq: be32,
    doff_res: u8,
    flags: u8,
    window: be16,
    check: be16,
    urg_ptr: be16,
  },
  { name: 'tcphdr' },
);

/** `struct udphdr` (8 bytes). */
export const udphdr = packed({ source: be16, dest: be16, len: be16, check: be16 }, { name: 'udphdr' });

/**
 * `struct bpf_fib_lookup` (64 bytes) for `b.fibLookup()`, with the unions
 * flattened to their IPv4 members (`ipv4_src`/`ipv4_dst`; the IPv6 address
 * continues in `*_rest`), `tot_len` (also `mtu_result`) and `flowinfo`
 * (also `tos`).
 */
export const bpfFibLookup = struct(
  {
    family: u8,
    l4_protocol: u8,
    sport: be16,
    dport: be16,
    tot_len: u16,
    ifindex: u32,
    flowinfo: be32,
    ipv4_src: be32,
    src_rest: array(u32, 3),
    ipv4_dst: be32,
    dst_rest: array(u32, 3),
    h_vlan_proto: be16,
    h_vlan_TCI: be16,
    smac: mac,
    dmac: mac,
  },
  { name: 'bpf_fib_lookup' },
);

/** EtherType of IPv4. */
export const ETH_P_IP = 0x0800;
/** EtherType of IPv6. */
export const ETH_P_IPV6 = 0x86dd;
/** EtherType of ARP. */
export const ETH_P_ARP = 0x0806;
/** EtherType of 802.1Q VLAN. */
export const ETH_P_8021Q = 0x8100;
/** IP protocol numbers. */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
/** `AF_INET`. */
export const AF_INET = 2;
/** `AF_INET6`. */
export const AF_INET6 = 10;

/** XDP verdicts. */
export const { XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT } = XdpAction;
/** tc verdicts. */
export const { TC_ACT_UNSPEC, TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT, TC_ACT_PIPE, TC_ACT_STOLEN } = TcAction;
/** tcx verdicts (kernel 6.6). */
export const { TCX_NEXT, TCX_PASS, TCX_DROP, TCX_REDIRECT } = TcxAction;
