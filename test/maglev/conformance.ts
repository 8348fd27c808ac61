/**
 * Conformance tests of a Maglev XDP datapath: verdicts, outer headers,
 * backend choice (against the TypeScript table and flow hash), empty
 * services, IPv6 and mixed families, atomic table swaps under concurrent
 * BPF_PROG_RUN (BENCH_RESTORE + COUNT_ACTIONS variant) and the optional
 * connection table (CONN_TABLE). Run for the C twin in xdp-twin.test.ts;
 * the DSL datapath runs the same suite with its own loader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BpfMap } from '../../lib/kernel/map.js';
import type { Program } from '../../lib/kernel/program.js';
import { XdpAction } from '../../lib/uapi/prog-types.js';
import { MaglevControlPlane, type MaglevMaps, type ServiceId } from '../../bpf-progs/maglev/control-plane.js';
import { flowHash, type Flow } from '../../bpf-progs/maglev/flow-hash.js';
import { maglevTable } from '../../bpf-progs/maglev/table.js';
import { ConnKey, addrBytes, connKeyBytes } from '../../bpf-progs/maglev/maps.js';
import { MAC_A, MAC_B, onesSum, packet, type PacketSpec } from '../../bpf-progs/maglev/packet.js';
import { describeKernel } from '../helpers/env.js';

/** Which build of the datapath to load (the C twin's -D options). */
export interface DatapathVariant {
  /** Undo the encapsulation at the end (BENCH_RESTORE). */
  restore?: boolean;
  /** Count verdicts in an `actions` array map (COUNT_ACTIONS). */
  countActions?: boolean;
  /** With the LRU connection table `conns` (CONN_TABLE). */
  connTable?: boolean;
}

/** A loaded datapath: its XDP program and maps (`maps.conns` with connTable, `actions` with countActions). */
export interface DatapathUnderTestLoaded {
  program: Program;
  maps: MaglevMaps;
  /** ARRAY of u64 verdict counts by XDP action (countActions). */
  actions?: BpfMap;
  close(): void;
}

/** Which optional variants the datapath has (the plain one is required). */
export interface DatapathSupport {
  /** The `{ restore, countActions }` build exists (atomic-swap test). */
  restoreAndCount: boolean;
  /** The `{ connTable }` build exists. */
  connTable: boolean;
}

const SEED = 0x5eed1234;
const SRC4 = '192.0.2.100';
const SRC6 = '2001:db8:ff::100';

const web: ServiceId = { vip: '198.51.100.10', port: 80, proto: 'tcp' };
const web2: ServiceId = { vip: '198.51.100.11', port: 80, proto: 'tcp' };
const dns: ServiceId = { vip: '198.51.100.10', port: 53, proto: 'udp' };
const empty: ServiceId = { vip: '198.51.100.12', port: 80, proto: 'tcp' };
const web6: ServiceId = { vip: '2001:db8:1::10', port: 443, proto: 'tcp' };
const mixed4: ServiceId = { vip: '198.51.100.13', port: 8080, proto: 'tcp' };
const mixed6: ServiceId = { vip: '2001:db8:1::13', port: 8080, proto: 'udp' };

const v4Backends = Array.from({ length: 10 }, (_, i) => ({ address: `10.0.0.${i + 1}` }));
const v6Backends = Array.from({ length: 7 }, (_, i) => ({ address: `fd00::${(i + 1).toString(16)}` }));

const flowOf = (p: PacketSpec): Flow => ({ src: p.src, srcPort: p.srcPort, dstPort: p.dstPort, proto: p.proto });

/** Defines the conformance suite for one datapath implementation. */
export function maglevConformance(name: string, load: (variant: DatapathVariant) => DatapathUnderTestLoaded, supports: DatapathSupport): void {
  describeKernel(`${name}: verdicts and packets`, () => {
    let dp: DatapathUnderTestLoaded;
    let lb: MaglevControlPlane;

    beforeAll(() => {
      dp = load({});
      lb = new MaglevControlPlane(dp.maps, { seed: SEED, src4: SRC4, src6: SRC6 });
      lb.addService(web, v4Backends);
      lb.addService(web2, v4Backends);
      lb.addService(dns, v4Backends.slice(0, 3), { tableSize: 251 });
      lb.addService(empty, []);
      lb.addService(web6, v6Backends, { tableSize: 4093 });
      lb.addService(mixed4, [{ address: 'fd00::99' }], { tableSize: 251 });
      lb.addService(mixed6, [{ address: '10.9.9.9' }], { tableSize: 251 });
    });

    afterAll(() => {
      lb?.close();
      dp?.close();
    });

    const run = (pkt: Uint8Array) => dp.program.testRun({ data: pkt });

    /** The backend address the control plane's table gives this flow. */
    function expectedBackend(id: ServiceId, flow: Flow): string {
      const s = lb.service(id)!;
      const table = maglevTable(s.backends, s.tableSize);
      return s.backends[table[flowHash(flow, SEED) % s.tableSize]!]!.address;
    }

    it('passes traffic that is not for a service, unchanged', () => {
      const cases: PacketSpec[] = [
        { src: '203.0.113.5', dst: '198.51.100.10', srcPort: 40000, dstPort: 81, proto: 6 }, // other port
        { src: '203.0.113.5', dst: '198.51.100.10', srcPort: 40000, dstPort: 80, proto: 17 }, // other protocol
        { src: '203.0.113.5', dst: '198.51.100.99', srcPort: 40000, dstPort: 80, proto: 6 }, // other VIP
        { src: '2001:db8:2::5', dst: '2001:db8:1::10', srcPort: 40000, dstPort: 80, proto: 6 },
      ];
      for (const c of cases) {
        const pkt = packet(c);
        const r = run(pkt);
        expect(r.retval).toBe(XdpAction.XDP_PASS);
        expect(r.dataOut).toEqual(pkt);
      }
      // ARP, a truncated IPv4 header, ICMP.
      const arp = new Uint8Array(42);
      arp[12] = 0x08;
      arp[13] = 0x06;
      expect(run(arp).retval).toBe(XdpAction.XDP_PASS);
      expect(run(packet({ src: '203.0.113.5', dst: '198.51.100.10', srcPort: 1, dstPort: 80, proto: 6 }).subarray(0, 30)).retval).toBe(XdpAction.XDP_PASS);
      const icmp = packet({ src: '203.0.113.5', dst: '198.51.100.10', srcPort: 1, dstPort: 80, proto: 6 });
      icmp[23] = 1;
      expect(run(icmp).retval).toBe(XdpAction.XDP_PASS);
    });

    it('parses IPv4 options, passes fragments and IPv6 extension headers', () => {
      const spec: PacketSpec = { src: '203.0.113.7', dst: web.vip, srcPort: 51234, dstPort: 80, proto: 6 };
      const plain = packet(spec);
      // Insert 4 bytes of NOP options: IHL 6.
      const opt = new Uint8Array(plain.length + 4);
      opt.set(plain.subarray(0, 34), 0);
      opt.set([1, 1, 1, 1], 34);
      opt.set(plain.subarray(34), 38);
      const ov = new DataView(opt.buffer);
      opt[14] = 0x46;
      ov.setUint16(16, ov.getUint16(16) + 4);
      ov.setUint16(24, 0);
      ov.setUint16(24, ~onesSum(opt.subarray(14, 38)) & 0xffff);
      const r = run(opt);
      expect(r.retval).toBe(XdpAction.XDP_TX);
      expect(new DataView(r.dataOut.buffer, r.dataOut.byteOffset).getUint16(16)).toBe(opt.length - 14 + 20);
      expect([...r.dataOut.subarray(30, 34)].join('.')).toBe(expectedBackend(web, flowOf(spec)));
      expect(r.dataOut.subarray(34)).toEqual(opt.subarray(14));
      // A first fragment (MF) and a later fragment pass.
      for (const frag of [0x2000, 0x0010]) {
        const f = packet(spec);
        new DataView(f.buffer).setUint16(20, frag);
        expect(run(f).retval).toBe(XdpAction.XDP_PASS);
      }
      // IPv6 with a hop-by-hop header first passes.
      const e6 = packet({ src: '2001:db8:2::7', dst: web6.vip, srcPort: 40001, dstPort: 443, proto: 6 });
      e6[20] = 0;
      expect(run(e6).retval).toBe(XdpAction.XDP_PASS);
    });

    it('encapsulates IPv4 in IPv4 for a service: outer header, checksum, inner packet unchanged, backend from the table', () => {
      const spec: PacketSpec = { src: '203.0.113.7', dst: web.vip, srcPort: 51234, dstPort: 80, proto: 6, tos: 0xb8 };
      const pkt = packet(spec);
      const r = run(pkt);
      expect(r.retval).toBe(XdpAction.XDP_TX);
      const out = r.dataOut;
      expect(out.length).toBe(pkt.length + 20);
      const v = new DataView(out.buffer, out.byteOffset);
      expect([...out.subarray(0, 6)]).toEqual(MAC_A); // back to where it came from
      expect([...out.subarray(6, 12)]).toEqual(MAC_B);
      expect(v.getUint16(12)).toBe(0x0800);
      expect(out[14]).toBe(0x45);
      expect(out[15]).toBe(0xb8);
      expect(v.getUint16(16)).toBe(pkt.length - 14 + 20);
      expect(v.getUint16(18)).toBe(0); // id
      expect(v.getUint16(20)).toBe(0); // no fragment flags
      expect(out[22]).toBe(64);
      expect(out[23]).toBe(4); // IPIP
      expect(onesSum(out.subarray(14, 34))).toBe(0xffff);
      expect([...out.subarray(26, 30)].join('.')).toBe(SRC4);
      expect([...out.subarray(30, 34)].join('.')).toBe(expectedBackend(web, flowOf(spec)));
      expect(out.subarray(34)).toEqual(pkt.subarray(14));
    });

    it('sends each flow to the backend of its Maglev slot, the same every time, whatever the VIP', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const spec: PacketSpec = { src: `203.0.${113 + (i % 3)}.${(i * 7) % 250}`, dst: web.vip, srcPort: 1024 + i * 13, dstPort: 80, proto: 6 };
        const first = run(packet(spec));
        expect(first.retval).toBe(XdpAction.XDP_TX);
        const got = [...first.dataOut.subarray(30, 34)].join('.');
        expect(got).toBe(expectedBackend(web, flowOf(spec)));
        seen.add(got);
        // Same flow again: same backend.
        expect([...run(packet(spec)).dataOut.subarray(30, 34)].join('.')).toBe(got);
        // Same flow to another VIP with the same backends: same backend (destination not hashed).
        if (i % 10 === 0) expect([...run(packet({ ...spec, dst: web2.vip })).dataOut.subarray(30, 34)].join('.')).toBe(got);
      }
      expect(seen.size).toBe(10);
      // The kernel's table agrees with the control plane's.
      const spec: PacketSpec = { src: '203.0.113.9', dst: web.vip, srcPort: 3333, dstPort: 80, proto: 6 };
      const slot = flowHash(flowOf(spec), SEED) % 16381;
      const id = lb.readTable(web)[1 + slot]!;
      expect(lb.backendId([...run(packet(spec)).dataOut.subarray(30, 34)].join('.'))).toBe(id);
    });

    it('balances UDP with a small table', () => {
      const spec: PacketSpec = { src: '203.0.113.8', dst: dns.vip, srcPort: 5353, dstPort: 53, proto: 17 };
      const r = run(packet(spec));
      expect(r.retval).toBe(XdpAction.XDP_TX);
      expect([...r.dataOut.subarray(30, 34)].join('.')).toBe(expectedBackend(dns, flowOf(spec)));
    });

    it('drops traffic for a service with an empty table', () => {
      const r = run(packet({ src: '203.0.113.7', dst: empty.vip, srcPort: 1000, dstPort: 80, proto: 6 }));
      expect(r.retval).toBe(XdpAction.XDP_DROP);
    });

    it('encapsulates IPv6 in IPv6 (next header 41, flow label from the hash)', () => {
      const spec: PacketSpec = { src: '2001:db8:2::7', dst: web6.vip, srcPort: 40001, dstPort: 443, proto: 6, tos: 0x28 };
      const pkt = packet(spec);
      const r = run(pkt);
      expect(r.retval).toBe(XdpAction.XDP_TX);
      const out = r.dataOut;
      const v = new DataView(out.buffer, out.byteOffset);
      expect(out.length).toBe(pkt.length + 40);
      expect(v.getUint16(12)).toBe(0x86dd);
      const first = v.getUint32(14);
      expect(first >>> 28).toBe(6);
      expect((first >>> 20) & 0xff).toBe(0x28);
      expect(first & 0xfffff).toBe(flowHash(flowOf(spec), SEED) & 0xfffff);
      expect(v.getUint16(18)).toBe(pkt.length - 14);
      expect(out[20]).toBe(41);
      expect(out[21]).toBe(64);
      expect(out.subarray(22, 38)).toEqual(addrBytes(SRC6).bytes);
      expect(out.subarray(38, 54)).toEqual(addrBytes(expectedBackend(web6, flowOf(spec))).bytes);
      expect(out.subarray(54)).toEqual(pkt.subarray(14));
    });

    it('crosses families: IPv4 in IPv6 (next header 4) and IPv6 in IPv4 (protocol 41)', () => {
      const p4 = packet({ src: '203.0.113.7', dst: mixed4.vip, srcPort: 1000, dstPort: 8080, proto: 6 });
      const r4 = run(p4);
      expect(r4.retval).toBe(XdpAction.XDP_TX);
      expect(r4.dataOut[20]).toBe(4);
      expect(r4.dataOut.subarray(38, 54)).toEqual(addrBytes('fd00::99').bytes);
      expect(r4.dataOut.subarray(54)).toEqual(p4.subarray(14));
      const p6 = packet({ src: '2001:db8:2::7', dst: mixed6.vip, srcPort: 1000, dstPort: 8080, proto: 17 });
      const r6 = run(p6);
      expect(r6.retval).toBe(XdpAction.XDP_TX);
      expect(r6.dataOut[23]).toBe(41);
      expect([...r6.dataOut.subarray(30, 34)].join('.')).toBe('10.9.9.9');
      expect(onesSum(r6.dataOut.subarray(14, 34))).toBe(0xffff);
      expect(r6.dataOut.subarray(34)).toEqual(p6.subarray(14));
    });
  });

  (supports.restoreAndCount ? describeKernel : describe.skip)(`${name}: BENCH_RESTORE + COUNT_ACTIONS`, () => {
    let dp: DatapathUnderTestLoaded;
    let lb: MaglevControlPlane;
    beforeAll(() => {
      dp = load({ restore: true, countActions: true });
      lb = new MaglevControlPlane(dp.maps, { seed: SEED, src4: SRC4, src6: SRC6 });
      lb.addService(web, v4Backends);
      lb.addService(web6, v6Backends);
    });
    afterAll(() => {
      lb?.close();
      dp?.close();
    });

    it('restores the packet after the service path, so every iteration takes it', () => {
      for (const spec of [
        { src: '203.0.113.7', dst: web.vip, srcPort: 51234, dstPort: 80, proto: 6 },
        { src: '2001:db8:2::7', dst: web6.vip, srcPort: 40001, dstPort: 443, proto: 6 },
      ]) {
        const pkt = packet(spec);
        const one = dp.program.testRun({ data: pkt });
        expect(one.retval).toBe(XdpAction.XDP_TX);
        expect(one.dataOut).toEqual(pkt);
        const many = dp.program.testRun({ data: pkt, repeat: 1000 });
        expect(many.retval).toBe(XdpAction.XDP_TX);
        expect(many.dataOut).toEqual(pkt);
      }
    });

    /** Reads and clears the per-action counters. */
    function takeActions(): number[] {
      const m = dp.actions!;
      const out: number[] = [];
      for (let a = 0; a < 5; a++) {
        const k = new Uint8Array(new Uint32Array([a]).buffer);
        out.push(Number(new DataView(m.lookup(k)!.buffer).getBigUint64(0, true)));
        m.update(k, new Uint8Array(8));
      }
      return out;
    }

    it('never drops or passes a live service while its table is swapped again and again', async () => {
      takeActions();
      const pkt = packet({ src: '203.0.113.1', dst: web.vip, srcPort: 2000, dstPort: 80, proto: 6 });
      const REPEAT = 200_000;
      let runs = 0;
      const finals: number[] = [];
      let swaps = 0;
      let running = true;
      // Back-to-back test runs of REPEAT iterations each, off the main thread,
      // while the main thread swaps the service's table (9 or 10 backends,
      // 16381 or 4093 slots) as fast as it can.
      const runner = (async () => {
        const deadline = Date.now() + 1500;
        try {
          while (Date.now() < deadline) {
            const r = await dp.program.testRunAsync({ data: pkt, repeat: REPEAT });
            finals.push(r.retval);
            runs++;
          }
        } finally {
          running = false;
        }
      })();
      while (running) {
        const k = swaps % 4;
        lb.updateService(web, k % 2 ? v4Backends.slice(1) : v4Backends, { tableSize: k < 2 ? 16381 : 4093 });
        swaps++;
        await new Promise((r) => setImmediate(r));
      }
      await runner;
      lb.updateService(web, v4Backends, { tableSize: 16381 });
      const [aborted, drop, pass, tx, redirect] = takeActions();
      console.log(`maglev swap test: ${swaps} swaps during ${runs} x ${REPEAT} iterations`);
      expect(swaps).toBeGreaterThan(20);
      expect(runs).toBeGreaterThan(2);
      expect(finals.every((r) => r === XdpAction.XDP_TX)).toBe(true);
      expect({ aborted, drop, pass, redirect }).toEqual({ aborted: 0, drop: 0, pass: 0, redirect: 0 });
      expect(tx).toBe(runs * REPEAT);
    });
  });

  (supports.connTable ? describeKernel : describe.skip)(`${name}: CONN_TABLE`, () => {
    let dp: DatapathUnderTestLoaded;
    let lb: MaglevControlPlane;
    beforeAll(() => {
      dp = load({ connTable: true });
      lb = new MaglevControlPlane(dp.maps, { seed: SEED, src4: SRC4, src6: SRC6 });
      lb.addService(web, v4Backends);
      lb.addService(dns, v4Backends);
    });
    afterAll(() => {
      lb?.close();
      dp?.close();
    });

    const backendOf = (p: PacketSpec) => {
      const r = dp.program.testRun({ data: packet(p) });
      expect(r.retval).toBe(XdpAction.XDP_TX);
      return [...r.dataOut.subarray(30, 34)].join('.');
    };
    const SYN = 0x02;
    const ACK = 0x10;

    it('has the conns map of the documented layout', () => {
      const conns = dp.maps.conns!;
      expect(conns.keySize).toBe(ConnKey.size);
      expect(conns.valueSize).toBe(4);
    });

    it('keeps established flows on their backend across table changes; a SYN re-hashes', () => {
      lb.setConfig({ seed: SEED });
      // Find flows whose backend changes with the seed.
      const flows: PacketSpec[] = [];
      for (let i = 0; flows.length < 5 && i < 500; i++) {
        const f: PacketSpec = { src: `203.0.113.${1 + (i % 200)}`, dst: web.vip, srcPort: 10000 + i, dstPort: 80, proto: 6, tcpFlags: ACK };
        const s = lb.service(web)!;
        const t = maglevTable(s.backends, s.tableSize);
        const before = s.backends[t[flowHash(flowOf(f), SEED) % s.tableSize]!]!.address;
        const after = s.backends[t[flowHash(flowOf(f), SEED + 1) % s.tableSize]!]!.address;
        if (before !== after) flows.push(f);
      }
      expect(flows.length).toBe(5);
      const conns = dp.maps.conns!;
      const first = flows.map((f) => backendOf(f)); // establishes the connections (hash with SEED)
      for (const [i, f] of flows.entries()) {
        const id = conns.lookup(connKeyBytes(f.src, f.dst, f.srcPort, f.dstPort, 6));
        expect(id && new DataView(id.buffer).getUint32(0, true)).toBe(lb.backendId(first[i]!));
      }
      lb.setConfig({ seed: SEED + 1 }); // every flow now hashes elsewhere
      expect(flows.map((f) => backendOf(f))).toEqual(first); // established: same backend
      const resyn = flows.map((f) => backendOf({ ...f, tcpFlags: SYN })); // new connections re-hash
      for (const [i, b] of resyn.entries()) {
        expect(b).not.toBe(first[i]);
        expect(b).toBe(expectedBackend(web, flowOf(flows[i]!), SEED + 1));
      }
      expect(flows.map((f) => backendOf(f))).toEqual(resyn); // and stick to the new choice
      lb.setConfig({ seed: SEED });
    });

    it('re-hashes a connection whose backend was removed, and tracks UDP too', () => {
      const f: PacketSpec = { src: '203.0.113.250', dst: dns.vip, srcPort: 5353, dstPort: 53, proto: 17 };
      const b = backendOf(f);
      lb.removeBackend(dns, b); // only dns used it? no: web shares it, so its entry stays
      expect(backendOf(f)).toBe(b); // established UDP flow sticks
      lb.removeBackend(web, b); // last user gone: the entry is cleared
      const again = backendOf(f);
      expect(again).not.toBe(b);
      expect(again).toBe(expectedBackend(dns, flowOf(f), SEED));
      lb.addBackend(dns, { address: b });
      lb.addBackend(web, { address: b });
    });

    /** The backend the control plane's table gives this flow with `seed`. */
    function expectedBackend(id: ServiceId, flow: Flow, seed: number): string {
      const s = lb.service(id)!;
      const table = maglevTable(s.backends, s.tableSize);
      return s.backends[table[flowHash(flow, seed) % s.tableSize]!]!.address;
    }
  });
}
