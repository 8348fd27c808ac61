/**
 * The DSL side of `tsbpf bench dsl`: programs written both in the DSL (here)
 * and in C (bench/twins/*.c), with the same semantics, for instruction
 * counts and BPF_PROG_RUN timings side by side.
 */
import {
  ETH_P_IP,
  IPPROTO_UDP,
  TC_ACT_OK,
  TC_ACT_SHOT,
  XDP_PASS,
  XDP_TX,
  arrayMap,
  be16,
  be32,
  ethhdr,
  hashMap,
  htons,
  iphdr,
  mac,
  struct,
  tc,
  u16,
  u32,
  u64,
  u8,
  udphdr,
  xdp,
} from '../lib/dsl/index.js';
import { datapathPrograms } from '../bpf-progs/connect-lb/datapath.js';

export { countUdp, counts } from '../examples/count-udp-ports.js';

// ---- XDP load balancer (Maglev-style consistent hashing) -----------------------

/** Maglev ring size (prime). */
export const RING = 251;
export const lbServices = hashMap('lb_services', {
  key: struct({ port: be16, proto: u8, pad: u8 }),
  value: struct({ ring_off: u32, flags: u32 }),
  maxEntries: 64,
});
export const lbRing = arrayMap('lb_ring', { value: u32, maxEntries: RING * 4 });
export const lbBackends = arrayMap('lb_backends', { value: struct({ ip: be32, mac, pad: u16 }), maxEntries: 64 });

export const xdpLb = xdp('xdp_lb', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const ip = b.header(iphdr, 14, pass);
  b.if(ip.version_ihl.ne(0x45), pass);
  b.if(ip.protocol.ne(IPPROTO_UDP), pass);
  const udp = b.header(udphdr, 34, pass);
  const svc = b.notNull(b.lookup(lbServices, { port: udp.dest, proto: ip.protocol }), pass);
  // hash of the flow without the destination address (so a rewritten packet hashes the same)
  let h = ip.saddr.raw().xor(udp.source.raw().shl(16)).xor(udp.dest.raw());
  h = h.xor(h.shr(15)).mul(0x2c1b3c6d);
  h = h.xor(h.shr(12));
  const slot = h.mod(RING).add(svc.ring_off);
  const id = b.notNull(b.lookup(lbRing, slot), pass);
  const be = b.notNull(b.lookup(lbBackends, id.value), pass);
  const nw = be.ip;
  const old = ip.daddr;
  const delta = b.csumDelta(old, nw);
  ip.check.set(b.csumApply(ip.check, delta));
  udp.check.set(b.csumApply(udp.check, delta));
  ip.daddr.set(nw);
  eth.h_source.copyFrom(eth.h_dest);
  eth.h_dest.copyFrom(be.mac);
  return b.return(XDP_TX);
});

// ---- tc fast path: conntrack hit -> counters, mark, redirect ----------------------

export const ctKey = struct({ saddr: be32, daddr: be32, sport: be16, dport: be16, proto: u8, pad1: u8, pad2: u16 });
export const ctTable = hashMap('ct_table', {
  key: ctKey,
  value: struct({ ifindex: u32, mark: u32, packets: u64, bytes: u64 }),
  maxEntries: 1024,
});

export const tcFast = tc('tc_fast', (b) => {
  const ok = () => b.return(TC_ACT_OK);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  b.if(ip.version_ihl.ne(0x45), ok);
  b.if(ip.protocol.ne(IPPROTO_UDP), ok);
  const udp = b.header(udphdr, 34, ok);
  const ct = b.notNull(
    b.lookup(ctTable, { saddr: ip.saddr, daddr: ip.daddr, sport: udp.source, dport: udp.dest, proto: ip.protocol }),
    ok,
  );
  ct.packets.atomicAdd(1n);
  ct.bytes.atomicAdd(b.ctx.len.as(u64));
  b.ctx.mark.set(ct.mark);
  return b.return(b.redirect(ct.ifindex, 0));
});

// ---- EDT rate limiter -------------------------------------------------------------

export const edtConfig = arrayMap('edt_config', { value: struct({ ns_per_byte: u64, horizon_ns: u64 }), maxEntries: 1 });
export const edtFlows = hashMap('edt_flows', { key: u32, value: u64, maxEntries: 1024 });

export const edtLimiter = tc('edt_limiter', (b) => {
  const ok = () => b.return(TC_ACT_OK);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  const cfg = b.notNull(b.lookup(edtConfig, 0), ok);
  const key = ip.daddr.raw();
  const now = b.ktimeGetNs();
  const delay = b.ctx.len.as(u64).mul(cfg.ns_per_byte);
  const st = b.notNull(b.lookup(edtFlows, key), () => {
    b.update(edtFlows, key, now.add(delay));
    b.return(TC_ACT_OK);
  });
  const next = b.let(u64, st.value);
  b.if(next.lt(now), () => next.set(now));
  b.if(next.sub(now).gt(cfg.horizon_ns), () => b.return(TC_ACT_SHOT));
  st.value.set(next.add(delay));
  b.setTstamp(next);
  return b.return(TC_ACT_OK);
});

// ---- connect-time load balancer -------------------------------------------------------

/**
 * The reference datapath's forward and reverse hooks (bpf-progs/connect-lb), against
 * their C twin bench/twins/sock_lb.c.
 */
export const connectLb4 = datapathPrograms.connect4;
export const recvmsgLb4 = datapathPrograms.recvmsg4;

