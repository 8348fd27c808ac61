import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectLbControlPlane, type ServiceId } from '../../bpf-progs/connect-lb/control-plane.js';
import {
  BackendKey,
  BackendValue,
  ConnectLbError,
  RevKey,
  SvcKey,
  SvcValue,
  addr16,
  addrText,
  cookieSlot,
  mappedAddress,
  revKeyBytes,
  svcKeyBytes,
} from '../../bpf-progs/connect-lb/maps.js';
import { formatIpv6 } from '../../lib/layout/index.js';
import { describeKernel } from '../helpers/env.js';

/** How the layout decodes an IPv4 address stored IPv4-mapped. */
const m = (a: string) => formatIpv6(addr16(a).bytes);

describe('connect-time LB maps (pure)', () => {
  it('lays out keys and values as the C twin declares them', () => {
    expect([SvcKey.size, SvcValue.size, BackendKey.size, BackendValue.size, RevKey.size]).toEqual([20, 12, 8, 20, 32]);
    expect(SvcKey.offsetOf('port')).toBe(16);
    expect(RevKey.offsetOf('addr')).toBe(8);
  });

  it('stores IPv4 IPv4-mapped, so both spellings are the same service', () => {
    const a = svcKeyBytes('10.96.0.10', 80, 'tcp');
    expect(Array.from(a.subarray(0, 16))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 96, 0, 10]);
    expect(Array.from(a.subarray(16))).toEqual([0, 80, 6, 0]);
    expect(svcKeyBytes('::ffff:10.96.0.10', 80, 6)).toEqual(a);
    expect(SvcKey.decode(a)).toEqual({ addr: m('10.96.0.10'), port: 80, proto: 6 });
    expect(addr16('::ffff:10.0.0.1').family).toBe(4);
    expect(addr16('fd00::1').family).toBe(6);
    expect(addrText(addr16('::ffff:10.0.0.1').bytes)).toBe('10.0.0.1');
    expect(mappedAddress('10.0.0.1')).toBe('::ffff:10.0.0.1');
    expect(RevKey.decode(revKeyBytes(7n, '10.0.0.1', 8080))).toEqual({ cookie: 7n, addr: m('10.0.0.1'), port: 8080 });
  });

  it('rejects malformed addresses, ports and protocols', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', 'fd00:::1', 'x']) expect(() => addr16(bad)).toThrow(ConnectLbError);
    expect(() => svcKeyBytes('10.0.0.1', 70000, 'tcp')).toThrow(/port/);
    expect(() => svcKeyBytes('10.0.0.1', 80, 1)).toThrow(/protocol/);
  });

  it('cookieSlot is a multiply-shift reduction in range', () => {
    const counts = [0, 0, 0];
    for (let c = 1n; c <= 3000n; c++) counts[cookieSlot(c, 3)]!++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
    expect(cookieSlot(0xffffffffffffffffn, 5)).toBeLessThan(5);
  });
});

describeKernel('connect-time LB control plane', () => {
  let cp: ConnectLbControlPlane;
  const web: ServiceId = { vip: '10.96.0.10', port: 80, proto: 'tcp' };
  const web6: ServiceId = { vip: 'fd96::10', port: 80, proto: 'tcp' };
  beforeAll(() => {
    cp = ConnectLbControlPlane.create({ maxServices: 20_000, maxBackends: 65_536, maxRev: 1024 });
  });
  afterAll(() => cp?.close());

  const svcEntry = (id: ServiceId) => {
    const v = cp.maps.services.lookup(svcKeyBytes(id.vip, id.port, id.proto));
    return v && SvcValue.decode(v);
  };
  const slot = (id: number, s: number) => {
    const v = cp.maps.backends.lookup(BackendKey.encode({ id, slot: s }));
    return v && BackendValue.decode(v);
  };

  it('adds, updates and removes services and backends in the maps', () => {
    cp.clear();
    const st = cp.addService(web, [
      { address: '10.77.1.2', port: 8080 },
      { address: '10.77.2.2', port: 8081 },
    ]);
    expect(svcEntry(web)).toEqual({ id: st.id, count: 2, revision: st.revision });
    expect(slot(st.id, 0)).toEqual({ addr: m('10.77.1.2'), port: 8080 });
    expect(slot(st.id, 1)).toEqual({ addr: m('10.77.2.2'), port: 8081 });
    expect(() => cp.addService(web)).toThrow(/already exists/);
    expect(() => cp.addService({ ...web, vip: '::ffff:10.96.0.10' })).toThrow(/already exists/);

    cp.addBackend(web, { address: '10.77.3.2', port: 8080 });
    expect(svcEntry(web)!.count).toBe(3);
    expect(cp.removeBackend(web, { address: '10.77.1.2', port: 8080 })).toBe(true);
    // The last backend took the removed one's slot; the old last slot is gone.
    expect(svcEntry(web)).toEqual({ id: st.id, count: 2, revision: st.revision });
    expect(slot(st.id, 0)).toEqual({ addr: m('10.77.3.2'), port: 8080 });
    expect(slot(st.id, 2)).toBeUndefined();
    expect(cp.removeBackend(web, { address: '10.77.1.2', port: 8080 })).toBe(false);

    cp.updateService(web, []);
    expect(svcEntry(web)!.count).toBe(0);
    expect(slot(st.id, 0)).toBeUndefined();

    expect(cp.removeService(web)).toBe(true);
    expect(svcEntry(web)).toBeUndefined();
    expect(cp.removeService(web)).toBe(false);
    expect(cp.size).toBe(0);
  });

  it('gives a re-created service a new revision and reuses ids', () => {
    cp.clear();
    const a = cp.addService(web, [{ address: '10.77.1.2', port: 8080 }]);
    cp.removeService(web);
    const b = cp.addService(web, [{ address: '10.77.1.2', port: 8080 }]);
    expect(b.revision).not.toBe(a.revision);
    expect(b.id).toBe(a.id);
    const c = cp.updateService(web, [{ address: '10.77.2.2', port: 8080 }]);
    expect(c.revision).toBe(b.revision);
    const d = cp.updateService(web, [{ address: '10.77.2.2', port: 8080 }], { newRevision: true });
    expect(d.revision).not.toBe(c.revision);
    expect(svcEntry(web)!.revision).toBe(d.revision);
    expect(cp.setService(web6, [{ address: 'fd77:1::2', port: 8080 }]).service).toEqual({ vip: 'fd96::10', port: 80, proto: 'tcp' });
    expect(cp.services().map((s) => s.service.vip).sort()).toEqual(['10.96.0.10', 'fd96::10']);
  });

  it('checks families, duplicates and capacity', () => {
    cp.clear();
    expect(() => cp.addService(web, [{ address: 'fd77:1::2', port: 8080 }])).toThrow(/family/);
    expect(() => cp.addService(web6, [{ address: '10.0.0.1', port: 8080 }])).toThrow(/family/);
    expect(() => cp.addService(web, [{ address: '10.0.0.1', port: 1 }, { address: '10.0.0.1', port: 1 }])).toThrow(/twice/);
    expect(() => cp.addServices([{ service: web, backends: [] }, { service: web, backends: [] }])).toThrow(/already exists/);
    expect(cp.size).toBe(0);
    expect(() => cp.addBackend(web, { address: '10.0.0.1', port: 1 })).toThrow(/no service/);
  });

  it('programs 10,000 services in one batch, and removes them', () => {
    cp.clear();
    const specs = Array.from({ length: 10_000 }, (_, i) => ({
      service: { vip: `10.96.${(i + 1) >> 8}.${(i + 1) & 255}`, port: 80, proto: 'tcp' as const },
      backends: [
        { address: `10.89.${i >> 8}.${i & 255}`, port: 8080 },
        { address: `10.90.${i >> 8}.${i & 255}`, port: 8080 },
      ],
    }));
    const t0 = performance.now();
    expect(cp.addServices(specs)).toBe(10_000);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(5000);
    expect(cp.maps.services.lookupBatch().count).toBe(10_000);
    expect(cp.maps.backends.lookupBatch().count).toBe(20_000);
    const last = cp.service(specs[9999]!.service)!;
    expect(slot(last.id, 1)).toEqual({ addr: m('10.90.39.15'), port: 8080 });
    cp.clear();
    expect(cp.maps.services.lookupBatch().count).toBe(0);
    expect(cp.maps.backends.lookupBatch().count).toBe(0);
  });

  it('close() is harmless twice and later use is an error', () => {
    const x = ConnectLbControlPlane.create({ maxServices: 16, maxBackends: 16, maxRev: 16 });
    x.close();
    x.close();
    expect(() => x.addService(web)).toThrow(/closed/);
  });
});
