/**
 * The Maglev XDP datapath in the DSL (bpf-progs/maglev/datapath.ts): the
 * conformance suite the C twin passes (every variant: plain, BENCH_RESTORE +
 * COUNT_ACTIONS with the atomic table swaps, CONN_TABLE), its maps against
 * maps.ts's specs, and byte-identical output to the C twin on random packets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XdpAction } from '../../lib/uapi/prog-types.js';
import { MapType, MapFlags } from '../../lib/uapi/map-types.js';
import { MaglevControlPlane } from '../../bpf-progs/maglev/control-plane.js';
import { maglevDecap } from '../../bpf-progs/maglev/decap.js';
import { MAC_A, MAC_B, packet } from '../../bpf-progs/maglev/packet.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { backendsMapSpec, configMapSpec, connsMapSpec, servicesMapSpec, tableMapSpec } from '../../bpf-progs/maglev/maps.js';
import { loadMaglevDatapath, maglevDatapath, type LoadedMaglevDatapath } from '../../bpf-progs/maglev/datapath.js';
import { describeKernel, describeLlvm } from '../helpers/env.js';
import { compileTwin, loadObject, type LoadedTwin } from './twin.js';
import { compareDatapaths, configureDiff, randomPackets } from './differential.js';
import { maglevConformance, type DatapathVariant } from './conformance.js';

describe('Maglev DSL datapath: build', () => {
  it('builds every variant; its maps have the types, sizes and flags of maps.ts', () => {
    for (const o of [{}, { restore: true }, { connTable: true }, { restore: true, countActions: true, connTable: true }]) {
      const built = maglevDatapath(o).build();
      expect(built.insns.length).toBeGreaterThan(50);
      const byName = new Map(built.maps.map((m) => [m.name, m.spec]));
      for (const want of [servicesMapSpec(), backendsMapSpec(), configMapSpec(), ...('connTable' in o ? [connsMapSpec()] : [])]) {
        const got = byName.get(want.name!)!;
        expect(got, want.name).toBeDefined();
        expect([got.type, got.keySize, got.valueSize, got.maxEntries, got.flags ?? 0]).toEqual([
          MapType[`BPF_MAP_TYPE_${String(want.type).toUpperCase()}` as keyof typeof MapType],
          want.keySize,
          want.valueSize,
          want.maxEntries,
          want.flags ?? 0,
        ]);
      }
      const inner = byName.get('services')!.innerMap!;
      const t = tableMapSpec();
      expect([inner.keySize, inner.valueSize, inner.maxEntries, (inner.flags ?? 0) & MapFlags.BPF_F_INNER_MAP]).toEqual([t.keySize, t.valueSize, t.maxEntries, MapFlags.BPF_F_INNER_MAP]);
    }
  });
});

/** Loads the DSL datapath built with the options of a variant. */
function loadDsl(v: DatapathVariant): LoadedMaglevDatapath {
  return loadMaglevDatapath({ restore: !!v.restore, countActions: !!v.countActions, connTable: !!v.connTable });
}

maglevConformance('Maglev XDP DSL datapath', loadDsl, { restoreAndCount: true, connTable: true });

describeLlvm('Maglev DSL datapath vs the C twin', () => {
  describeKernel('in the kernel', () => {
    let c: LoadedTwin;
    let d: LoadedMaglevDatapath;
    const lbs: MaglevControlPlane[] = [];
    beforeAll(() => {
      c = loadObject(compileTwin());
      d = loadMaglevDatapath();
      lbs.push(configureDiff({ program: c.program, maps: { services: c.maps.get('services')!, backends: c.maps.get('backends')!, config: c.maps.get('config')! } }));
      lbs.push(configureDiff(d));
    });
    afterAll(() => {
      for (const lb of lbs) lb.close();
      c?.close();
      d?.close();
    });

    it('gives the same verdicts and byte-identical packets on 5,000 random packets', () => {
      const { mismatches, verdicts } = compareDatapaths(d.program, c.program, randomPackets(5000, 2026));
      expect(mismatches.slice(0, 3)).toEqual([]);
      expect(verdicts.get(XdpAction.XDP_TX)).toBeGreaterThan(2500);
      expect(verdicts.get(XdpAction.XDP_PASS)).toBeGreaterThan(150);
      expect(verdicts.get(XdpAction.XDP_DROP)).toBeGreaterThan(80);
    });
  });
});

describeKernel('Maglev decapsulation (bpf-progs/maglev/decap.ts)', () => {
  let d: LoadedMaglevDatapath;
  let decap: LoadedDslProgram;
  let lb: MaglevControlPlane;
  beforeAll(() => {
    d = loadMaglevDatapath();
    decap = loadDslProgram(maglevDecap());
    lb = new MaglevControlPlane(d.maps, { seed: 7, src4: '192.0.2.1', src6: '2001:db8:ff::1' });
    lb.addService({ vip: '198.51.100.10', port: 80, proto: 'tcp' }, [{ address: '10.0.0.1' }], { tableSize: 251 });
    lb.addService({ vip: '198.51.100.11', port: 80, proto: 'tcp' }, [{ address: 'fd00::1' }], { tableSize: 251 });
    lb.addService({ vip: '2001:db8:1::10', port: 80, proto: 'udp' }, [{ address: '10.0.0.2' }], { tableSize: 251 });
    lb.addService({ vip: '2001:db8:1::11', port: 80, proto: 'udp' }, [{ address: 'fd00::2' }], { tableSize: 251 });
  });
  afterAll(() => {
    lb?.close();
    decap?.close();
    d?.close();
  });

  it('restores what the balancer encapsulated (4in4, 4in6, 6in4, 6in6); passes everything else', () => {
    for (const [src, dst, proto] of [
      ['203.0.113.1', '198.51.100.10', 6],
      ['203.0.113.1', '198.51.100.11', 6],
      ['2001:db8:2::1', '2001:db8:1::10', 17],
      ['2001:db8:2::1', '2001:db8:1::11', 17],
    ] as const) {
      const pkt = packet({ src, dst, srcPort: 1234, dstPort: 80, proto });
      const enc = d.program.testRun({ data: pkt });
      expect(enc.retval).toBe(XdpAction.XDP_TX);
      const out = decap.program.testRun({ data: enc.dataOut });
      expect(out.retval).toBe(XdpAction.XDP_PASS);
      expect([...out.dataOut.subarray(0, 12)]).toEqual([...MAC_A, ...MAC_B]); // the balancer swapped them
      expect(out.dataOut.subarray(12)).toEqual(pkt.subarray(12));
      // A plain packet passes unchanged.
      const plain = decap.program.testRun({ data: pkt });
      expect(plain.retval).toBe(XdpAction.XDP_PASS);
      expect(plain.dataOut).toEqual(pkt);
    }
  });
});
