/**
 * Differential testing of Maglev datapaths: the same services, the same
 * random packets, byte-identical verdicts and output packets. Used to check
 * the DSL datapath against the C twin (and, as a self-check of the harness,
 * the C twin against itself built at another optimisation level).
 */
import type { BpfMap } from '../../lib/kernel/map.js';
import type { Program } from '../../lib/kernel/program.js';
import { MaglevControlPlane, type ServiceId } from '../../bpf-progs/maglev/control-plane.js';
import { onesSum, packet, type PacketSpec } from '../../bpf-progs/maglev/packet.js';
import { mulberry32 } from '../helpers/prng.js';

/** What a datapath under test offers: its program and maps. */
export interface DatapathUnderTest {
  program: Program;
  maps: { services: BpfMap; backends: BpfMap; config: BpfMap; conns?: BpfMap };
}

/** Services of the differential run: IPv4 and IPv6, TCP and UDP, small and default tables, an empty one, mixed families. */
export const DIFF_SERVICES: Array<{ id: ServiceId; backends: string[]; tableSize?: number }> = [
  { id: { vip: '198.51.100.10', port: 80, proto: 'tcp' }, backends: Array.from({ length: 20 }, (_, i) => `10.0.0.${i + 1}`) },
  { id: { vip: '198.51.100.10', port: 53, proto: 'udp' }, backends: ['10.0.1.1', '10.0.1.2', '10.0.1.3'], tableSize: 251 },
  { id: { vip: '198.51.100.11', port: 443, proto: 'tcp' }, backends: ['fd00::1', '10.0.2.1', 'fd00::2'], tableSize: 1021 },
  { id: { vip: '198.51.100.12', port: 80, proto: 'tcp' }, backends: [] },
  { id: { vip: '2001:db8:1::10', port: 443, proto: 'tcp' }, backends: Array.from({ length: 9 }, (_, i) => `fd00::1:${i + 1}`), tableSize: 4093 },
  { id: { vip: '2001:db8:1::10', port: 53, proto: 'udp' }, backends: ['10.0.3.1', 'fd00::3:1'], tableSize: 509 },
];

/** Configures a datapath's maps with {@link DIFF_SERVICES}; returns the control plane (close it). */
export function configureDiff(d: DatapathUnderTest, seed = 0x5eed): MaglevControlPlane {
  const lb = new MaglevControlPlane(d.maps, { seed, src4: '192.0.2.1', src6: '2001:db8:ff::1' });
  for (const s of DIFF_SERVICES) lb.addService(s.id, s.backends.map((address) => ({ address })), s.tableSize ? { tableSize: s.tableSize } : {});
  return lb;
}

/**
 * `n` random packets: mostly to the services (so most take the service path),
 * some to other ports, VIPs and protocols, some mangled (truncated,
 * fragments, IPv4 options, IPv6 extension headers, odd EtherTypes).
 */
export function randomPackets(n: number, seed = 1): Uint8Array[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const svc = pick(DIFF_SERVICES).id;
    const v6 = svc.vip.includes(':');
    const src = v6 ? `2001:db8:${Math.floor(rnd() * 0xffff).toString(16)}::${Math.floor(rnd() * 0xffff).toString(16)}` : `203.0.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}`;
    const spec: PacketSpec = {
      src,
      dst: rnd() < 0.9 ? svc.vip : v6 ? '2001:db8:1::99' : '198.51.100.99',
      srcPort: Math.floor(rnd() * 65536),
      dstPort: rnd() < 0.85 ? svc.port : Math.floor(rnd() * 65536),
      proto: rnd() < 0.9 ? (svc.proto === 'tcp' ? 6 : 17) : svc.proto === 'tcp' ? 17 : 6,
      tos: Math.floor(rnd() * 256),
      tcpFlags: Math.floor(rnd() * 256),
      payload: new Uint8Array(Math.floor(rnd() * 64)).map(() => Math.floor(rnd() * 256)),
    };
    let p = packet(spec);
    const mangle = rnd();
    if (mangle < 0.04) p = p.slice(0, 14 + Math.floor(rnd() * (p.length - 14)));
    else if (mangle < 0.07) new DataView(p.buffer).setUint16(12, pick([0x0806, 0x8100, 0x88cc]));
    else if (mangle < 0.1 && !v6) new DataView(p.buffer).setUint16(20, pick([0x2000, 0x0001, 0x4000]));
    else if (mangle < 0.13 && v6) p[20] = pick([0, 43, 44, 60]);
    else if (mangle < 0.16 && !v6) p = withIpv4Options(p, 4 * (1 + Math.floor(rnd() * 10)));
    out.push(p);
  }
  return out;
}

/** The IPv4 packet with `len` bytes of NOP options inserted (IHL adjusted, checksum recomputed). */
export function withIpv4Options(p: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(p.length + len);
  out.set(p.subarray(0, 34), 0);
  out.fill(1, 34, 34 + len);
  out.set(p.subarray(34), 34 + len);
  const v = new DataView(out.buffer);
  out[14] = 0x40 | (5 + len / 4);
  v.setUint16(16, v.getUint16(16) + len);
  v.setUint16(24, 0);
  v.setUint16(24, ~onesSum(out.subarray(14, 34 + len)) & 0xffff);
  return out;
}

/** One packet on which two datapaths disagree. */
export interface Mismatch {
  index: number;
  packet: Uint8Array;
  a: { retval: number; out: Uint8Array };
  b: { retval: number; out: Uint8Array };
}

/** Runs every packet through both programs; returns the disagreements and the verdict counts of `a`. */
export function compareDatapaths(a: Program, b: Program, packets: readonly Uint8Array[]): { mismatches: Mismatch[]; verdicts: Map<number, number> } {
  const mismatches: Mismatch[] = [];
  const verdicts = new Map<number, number>();
  packets.forEach((p, index) => {
    const ra = a.testRun({ data: p });
    const rb = b.testRun({ data: p });
    verdicts.set(ra.retval, (verdicts.get(ra.retval) ?? 0) + 1);
    if (ra.retval !== rb.retval || Buffer.compare(ra.dataOut, rb.dataOut) !== 0) {
      mismatches.push({ index, packet: p, a: { retval: ra.retval, out: ra.dataOut }, b: { retval: rb.retval, out: rb.dataOut } });
    }
  });
  return { mismatches, verdicts };
}
