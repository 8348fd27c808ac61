/**
 * The backends' side of the Maglev balancer's direct server return, in the
 * DSL: an XDP program that strips the outer header the balancer added
 * (IPv4 protocol 4/41 without options, or IPv6 next header 4/41), keeps the
 * Ethernet addresses and sets the EtherType of the inner packet, which the
 * backend's stack then delivers to the VIP (configured on its loopback).
 * Everything else passes untouched.
 *
 * It stands in for an `ipip` / `ip6tnl` tunnel device on kernels built
 * without them (CONFIG_NET_IPIP, CONFIG_IPV6_TUNNEL). Attached in generic
 * (SKB) mode it keeps the skb's checksum state, so TCP from a veth client
 * (checksum offloaded, CHECKSUM_PARTIAL) stays valid through the tunnel.
 *
 * @module
 */
import { XDP_DROP, XDP_PASS, ethhdr, htons, iphdr, ipv6hdr, packed, u16, u32, xdp, type DslProgram } from '../../lib/dsl/index.js';

/** The Ethernet addresses as words and the EtherType (raw). */
const ethWords = packed({ d0: u32, d1: u16, s0: u16, s1: u32, proto: u16 }, { name: 'eth' });

/** Builds the decapsulation program (`maglev_decap`). */
export function maglevDecap(): DslProgram<never> {
  return xdp('maglev_decap', (b) => {
    const pass = () => b.return(XDP_PASS);
    const eth = b.header(ethhdr, 0, pass);
    const ethProto = eth.h_proto;
    const hdrlen = b.let(u32, 0);
    const inner = b.let(u32, 0);
    b.if(
      ethProto.eq(htons(0x0800)),
      () => {
        const ip = b.header(iphdr, 14, pass);
        b.if(ip.version_ihl.ne(0x45), pass);
        const p = ip.protocol;
        b.if(p.eq(4), () => inner.set(0x0800));
        b.if(p.eq(41), () => inner.set(0x86dd));
        hdrlen.set(20);
      },
      () => {
        b.if(ethProto.ne(htons(0x86dd)), pass);
        const ip6 = b.header(ipv6hdr, 14, pass);
        const p = ip6.nexthdr;
        b.if(p.eq(4), () => inner.set(0x0800));
        b.if(p.eq(41), () => inner.set(0x86dd));
        hdrlen.set(40);
      },
    );
    b.if(inner.eq(0), pass);
    const old = b.header(ethWords, 0, pass);
    const d0 = old.d0;
    const d1 = old.d1;
    const s0 = old.s0;
    const s1 = old.s1;
    b.if(b.adjustHead(hdrlen.as('s32')).ne(0), () => b.return(XDP_DROP));
    const e = b.header(ethWords, 0, () => b.return(XDP_DROP));
    e.d0.set(d0);
    e.d1.set(d1);
    e.s0.set(s0);
    e.s1.set(s1);
    e.proto.set(inner.as(u16).toNet().raw());
    return b.return(XDP_PASS);
  }) as unknown as DslProgram<never>;
}
