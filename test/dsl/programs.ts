/** DSL programs shared by the unit and kernel tests. */
import {
  ETH_P_IP,
  IPPROTO_UDP,
  TC_ACT_OK,
  TC_ACT_SHOT,
  XDP_DROP,
  XDP_PASS,
  arrayMap,
  arrayOfMaps,
  be16,
  ethhdr,
  hashMap,
  htonl,
  htons,
  iphdr,
  packed,
  sockAddr,
  struct,
  subprog,
  tc,
  u16,
  u32,
  u64,
  udphdr,
  xdp,
} from '../../lib/dsl/index.js';
import { CsumReplaceFlags } from '../../lib/uapi/helpers.js';

/** NAT of the IPv4 destination with the checksum helpers (l3/l4_csum_replace, skb_store_bytes). */
export const natHelpers = tc('nat_helpers', (b) => {
  const ok = () => b.return(TC_ACT_OK);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  b.if(ip.protocol.ne(IPPROTO_UDP), ok);
  const old = ip.daddr;
  const nw = htonl(0x0a000063);
  b.l4CsumReplace(14 + 20 + 6, old, nw, CsumReplaceFlags.BPF_F_PSEUDO_HDR | 4);
  b.l3CsumReplace(14 + 10, old, nw, 4);
  b.skbStoreBytes(14 + 16, nw);
  b.ctx.mark.set(42);
  return b.return(TC_ACT_OK);
});

/** The same NAT with in-program incremental checksums and header writes. */
export const natInline = tc('nat_inline', (b) => {
  const ok = () => b.return(TC_ACT_OK);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  b.if(ip.protocol.ne(IPPROTO_UDP), ok);
  const udp = b.header(udphdr, b.after(ip), ok);
  const old = ip.daddr;
  const nw = htonl(0x0a000063);
  ip.check.set(b.csumReplace(ip.check, old, nw));
  udp.check.set(b.csumReplace(udp.check, old, nw));
  ip.daddr.set(nw);
  udp.dest.set(htons(5353));
  udp.check.set(b.csumReplace(udp.check, htons(53), htons(5353)));
  return b.return(TC_ACT_OK);
});

/** EDT-style pacing: tstamp = max(now, last) + gap, per destination address, in a hash map. */
export const edtState = hashMap('edt_state', { key: u32, value: u64, maxEntries: 128 });
export const edt = tc('edt', (b) => {
  const ok = () => b.return(TC_ACT_OK);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  const dst = ip.daddr.raw();
  const now = b.ktimeGetNs();
  const gap = b.ctx.len.as(u64).mul(8000n);
  const next = b.let(u64, now);
  b.ifNotNull(
    b.lookup(edtState, dst),
    (st) => {
      const last = st.value;
      b.if(last.gt(now), () => next.set(last));
      b.if(next.sub(now).gt(1_000_000_000n), () => b.return(TC_ACT_SHOT));
      st.value.set(next.add(gap));
    },
    () => {
      b.update(edtState, dst, now.add(gap));
    },
  );
  b.setTstamp(next);
  return b.return(TC_ACT_OK);
});

/** Sums the 16-bit words of the IPv4 header with a bounded loop over packet reads; returns XDP_PASS when the checksum verifies. */
const word = packed({ w: be16 }, { name: 'word' });
export const ipCsumLoop = xdp('ip_csum_loop', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const sum = b.let(u32, 0);
  b.for(0, 10, (i) => {
    const w = b.header(word, b.after(eth, i.mul(2)), pass);
    sum.set(sum.add(w.w.toHost()));
  });
  b.if(b.csumFold(sum).raw().eq(0), pass);
  return b.return(XDP_DROP);
});

/** A subprogram called twice: folds a 32-bit sum to 16 bits. */
export const fold16 = subprog('fold16', { args: [u32], ret: u32 }, (b, x) => {
  const s = x.and(0xffff).add(x.shr(16));
  b.return(s.and(0xffff).add(s.shr(16)));
});
export const csumCheck = xdp('csum_check', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const ip = b.header(iphdr, 14, pass);
  const sum = b.let(u32, 0);
  const f = packed({ a: u32, c: u32, d: u32, e: u32, g: u32 }, { name: 'ip5' });
  const raw = b.header(f, 14, pass);
  for (const k of ['a', 'c', 'd', 'e', 'g'] as const) {
    const w = raw[k];
    sum.set(sum.add(w.and(0xffff)).add(w.shr(16)));
  }
  const folded = b.call(fold16, sum);
  void ip;
  b.if(folded.eq(0xffff), () => b.return(XDP_PASS));
  return b.return(XDP_DROP);
});

/** Array map totals: a loop of lookups summing slots 0..7 into slot 8. */
export const slots = arrayMap('slots', { value: u64, maxEntries: 16 });
export const sumSlots = xdp('sum_slots', (b) => {
  const total = b.let(u64, 0n);
  b.for(0, 8, (i) => {
    b.ifNotNull(b.lookup(slots, i), (v) => total.set(total.add(v.value)));
  });
  b.ifNotNull(b.lookup(slots, 8), (v) => v.value.set(total));
  return b.return(XDP_PASS);
});

/** Map-in-map: the outer array holds per-tenant hash maps of per-port counters. */
export const perPort = hashMap('per_port', { key: u16, value: u64, maxEntries: 64 });
export const tenants = arrayOfMaps('tenants', { maxEntries: 4, inner: perPort });
export const tenantCount = xdp('tenant_count', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const ip = b.header(iphdr, 14, pass);
  b.if(ip.protocol.ne(IPPROTO_UDP), pass);
  const udp = b.header(udphdr, 34, pass);
  const inner = b.notNull(b.lookup(tenants, 1), pass);
  const port = udp.dest.toHost();
  b.ifNotNull(b.lookup(inner, port), (v) => v.value.atomicAdd(1n), () => b.update(inner, port, 1n));
  return b.return(XDP_PASS);
});

/** connect4: rewrite connects to a virtual address/port to a backend from a map; deny a blocked port. */
export const svcKey = struct({ ip: be16, port: be16 }, { name: 'unused' });
void svcKey;
export const backends = hashMap('backends', { key: u16, value: struct({ ip: u32, port: be16, pad: u16 }), maxEntries: 8 });
export const connect4 = sockAddr('connect4', 'lb_connect4', (b) => {
  const port = b.ctx.user_port.toHost();
  b.if(port.eq(9), () => b.return(0));
  b.ifNotNull(b.lookup(backends, port), (be) => {
    b.ctx.user_ip4.set(be.ip.as(u32).toNet());
    b.ctx.user_port.set(be.port);
  });
  return b.return(1);
});

/** recvmsg4 / getpeername4 style rewrite (reads and writes the user address). */
export const recvmsg4 = sockAddr('recvmsg4', 'lb_recvmsg4', (b) => {
  b.if(b.ctx.user_port.eq(htons(7777)), () => b.ctx.user_port.set(htons(8888)));
  return b.return(1);
});

/** connect6: block one IPv6 port, count connects per port. */
export const c6count = hashMap('c6count', { key: u16, value: u64, maxEntries: 8 });
export const connect6 = sockAddr('connect6', 'lb_connect6', (b) => {
  const port = b.ctx.user_port.toHost();
  b.if(b.ctx.user_ip6.get(3).eq(htonl(1)).and(port.eq(9)), () => b.return(0));
  b.ifNotNull(b.lookup(c6count, port), (v) => v.value.atomicAdd(1n), () => b.update(c6count, port, 1n));
  return b.return(1);
});
