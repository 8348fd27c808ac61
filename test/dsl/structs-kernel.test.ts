import { describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { loadDslProgram } from '../../lib/kernel/dsl-loader.js';
import {
  XDP_DROP,
  XDP_PASS,
  XDP_TX,
  bytes,
  ethhdr,
  hashMap,
  htons,
  ipv6hdr,
  mac,
  mapDef,
  packed,
  struct,
  u32,
  u8,
  be16,
  udphdr,
  xdp,
  ETH_P_IPV6,
  IPPROTO_UDP,
} from '../../lib/dsl/index.js';
import { MapType } from '../../lib/uapi/map-types.js';

/** A Maglev-style service key: a 16-byte address, port, protocol and family. */
const SvcKey = struct({ vip: bytes(16), port: be16, proto: u8, family: u8 }, { name: 'svc_key', align: 4 });
const svc6 = mapDef({ name: 'svc6', type: 'hash', keySize: SvcKey.size, valueSize: 4, maxEntries: 8, key: SvcKey, value: u32 });

const lookup6 = xdp('lookup6', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IPV6)), pass);
  const ip6 = b.header(ipv6hdr, 14, pass);
  b.if(ip6.nexthdr.ne(IPPROTO_UDP), pass);
  const udp = b.header(udphdr, b.after(ip6), pass);
  const v = b.notNull(b.lookup(svc6, { vip: ip6.daddr, port: udp.dest, proto: IPPROTO_UDP, family: 6 }), () => b.return(XDP_DROP));
  return b.return(v.value.add(100));
});

/** Swaps the MAC addresses through a packed (6-byte) stack struct and returns XDP_TX. */
const macs = packed({ m: mac }, { name: 'macs' });
const swapMacs = xdp('swap_macs', (b) => {
  const eth = b.header(ethhdr, 0, () => b.return(XDP_DROP));
  const tmp = b.stack(macs, { m: eth.h_dest });
  b.copy(eth.h_dest, eth.h_source);
  b.copy(eth.h_source, tmp.fields.m);
  return b.return(XDP_TX);
});

function ipv6UdpPacket(dst: number[], dport: number): Uint8Array {
  const p = new Uint8Array(14 + 40 + 8 + 8);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x86dd);
  p[14] = 0x60;
  v.setUint16(18, 16);
  p[20] = 17;
  p[21] = 64;
  p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 22);
  p.set(dst, 38);
  v.setUint16(54, 1234);
  v.setUint16(56, dport);
  v.setUint16(58, 16);
  return p;
}

describe('struct keys and copies (generated code)', () => {
  it('array fields of keys are copied from packet views; stack slots are aligned', () => {
    const built = lookup6.build();
    expect(built.maps[0]!.type).toBe(MapType.BPF_MAP_TYPE_HASH);
    const sw = swapMacs.build();
    expect(sw.insns.length).toBeLessThan(30);
    void hashMap;
  });
});

describeKernel('struct keys and copies in the kernel', () => {
  it('an IPv6 service key built from the packet finds the entry', () => {
    const l = loadDslProgram(lookup6);
    try {
      const vip = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99];
      l.typed(svc6).set({ vip: new Uint8Array(vip), port: 53, proto: 17, family: 6 }, 7);
      expect(l.program.testRun({ data: ipv6UdpPacket(vip, 53) }).retval).toBe(107);
      expect(l.program.testRun({ data: ipv6UdpPacket(vip, 54) }).retval).toBe(XDP_DROP);
    } finally {
      l.close();
    }
  });

  it('swaps MAC addresses through the stack', () => {
    const l = loadDslProgram(swapMacs);
    try {
      const pkt = ipv6UdpPacket([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 53);
      const r = l.program.testRun({ data: pkt });
      expect(r.retval).toBe(XDP_TX);
      expect([...r.dataOut.subarray(0, 12)]).toEqual([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
    } finally {
      l.close();
    }
  });
});

describeKernel('IPv4 options: a header at a runtime offset', () => {
  it('reads the UDP ports after IPv4 options with b.at(ip, ihl * 4)', async () => {
    const { iphdr, ETH_P_IP } = await import('../../lib/dsl/index.js');
    const { ipv4Packet } = await import('./packets.js');
    const p = xdp('ipopts', (b) => {
      const pass = () => b.return(XDP_PASS);
      const eth = b.header(ethhdr, 0, pass);
      b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
      const ip = b.header(iphdr, b.after(eth), pass);
      const ihl = ip.version_ihl.and(0xf);
      b.if(ihl.lt(5), pass);
      const udp = b.header(udphdr, b.at(ip, ihl.shl(2)), pass);
      return b.return(udp.dest.toHost());
    });
    const l = loadDslProgram(p);
    try {
      expect(l.program.testRun({ data: ipv4Packet({ dport: 4321 }) }).retval).toBe(4321);
      expect(l.program.testRun({ data: ipv4Packet({ dport: 4322, ipOptions: 3 }) }).retval).toBe(4322);
      expect(l.program.testRun({ data: ipv4Packet({ dport: 4323, ipOptions: 10 }) }).retval).toBe(4323);
    } finally {
      l.close();
    }
  });
});
