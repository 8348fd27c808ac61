/**
 * Conformance tests of a connect-time LB datapath with real sockets: a
 * client process in a test cgroup and namespace, three backend namespaces
 * with servers (bpf-progs/connect-lb/lab.ts), the datapath attached to the
 * cgroup and driven by the control plane. This program type has no
 * BPF_PROG_RUN, so everything is observed through sockets. Run for the C twin
 * in twin.test.ts and for the DSL datapath in dsl.test.ts.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ConnectLb, type DatapathImpl } from '../../bpf-progs/connect-lb/attach.js';
import type { ServiceId } from '../../bpf-progs/connect-lb/control-plane.js';
import { BACKEND_PORT, Lab } from '../../bpf-progs/connect-lb/lab.js';
import { runProbe, startProbe, type ProbeOp, type ProbeResult } from '../../bpf-progs/connect-lb/probe.js';
import { describeKernel, testName } from '../helpers/env.js';

const VIP = '10.96.0.10';
const VIP6 = 'fd96::10';
const MAPPED = `::ffff:${VIP}`;
const web: ServiceId = { vip: VIP, port: 80, proto: 'tcp' };
const dns: ServiceId = { vip: VIP, port: 53, proto: 'udp' };
const web6: ServiceId = { vip: VIP6, port: 80, proto: 'tcp' };
const dns6: ServiceId = { vip: VIP6, port: 53, proto: 'udp' };
const empty: ServiceId = { vip: '10.96.0.20', port: 80, proto: 'tcp' };
const emptyUdp: ServiceId = { vip: '10.96.0.20', port: 53, proto: 'udp' };
const empty6: ServiceId = { vip: 'fd96::20', port: 80, proto: 'tcp' };

/** Runs the conformance suite against datapath `impl()`. */
export function connectLbConformance(name: string, impl: () => DatapathImpl): void {
  describeKernel(`connect-time LB conformance: ${name}`, () => {
    let lab: Lab;
    let lb: ConnectLb;
    const v4 = () => lab.backends.map((b) => ({ address: b.v4, port: BACKEND_PORT }));
    const v6 = () => lab.backends.map((b) => ({ address: b.v6, port: BACKEND_PORT }));
    const probe = (ops: ProbeOp[]) => runProbe(lab.cgroup, lab.clientPath, ops);
    const names = () => new Set(lab.backends.map((b) => b.name));
    const replyName = (r: ProbeResult) => r.reply!.split(' ')[0]!;

    beforeAll(async () => {
      lab = await Lab.create({ name: (t) => testName(t) });
      try {
        lb = ConnectLb.attach({ datapath: impl(), cgroup: lab.cgroup, sizes: { maxServices: 1024, maxBackends: 4096, maxRev: 4096 } });
      } catch (e) {
        await lab.close();
        throw e;
      }
    });
    afterAll(async () => {
      try {
        lb?.close();
      } finally {
        await lab?.close();
      }
    });
    beforeEach(() => {
      lb.controlPlane.clear();
      lb.controlPlane.addServices([
        { service: web, backends: v4() },
        { service: dns, backends: v4() },
        { service: web6, backends: v6() },
        { service: dns6, backends: v6() },
        { service: empty, backends: [] },
        { service: emptyUdp, backends: [] },
        { service: empty6, backends: [] },
      ]);
      lab.resetCounts();
    });

    it('attaches all eight programs to the cgroup', () => {
      expect(Object.keys(lb.programs).sort()).toEqual(['connect4', 'connect6', 'getpeername4', 'getpeername6', 'recvmsg4', 'recvmsg6', 'sendmsg4', 'sendmsg6']);
      expect(lb.cgroup.path).toBe(lab.cgroup.path);
    });

    it('TCP connect to the VIP reaches a backend, getpeername reports the VIP, no packet carries the VIP', async () => {
      const before = lab.vipPacketsSeen();
      const [r] = await probe([{ kind: 'tcp', host: VIP, port: 80 }]);
      expect(r!.ok, r!.code).toBe(true);
      const [who, local] = r!.reply!.split(' ');
      expect(names()).toContain(who);
      const backend = lab.backends.find((b) => b.name === who)!;
      // The server accepted on its own address (the SYN was addressed to it), not the VIP.
      expect(local).toBe(`::ffff:${backend.v4}`);
      expect(r!.peer).toEqual({ address: VIP, port: 80 });
      expect(r!.local!.address).toBe(`10.77.${lab.backends.indexOf(backend) + 1}.1`);
      expect(lab.vipPacketsSeen()).toEqual(before);
    });

    it('non-service traffic is untouched', async () => {
      const before = lab.vipPacketsSeen();
      const b2 = lab.backends[1]!;
      const [direct, udpOther, tcpOther] = await probe([
        { kind: 'tcp', host: b2.v4, port: BACKEND_PORT },
        // The VIP on a port that is no service: sent as is (routed to backend 1, which owns no such address).
        { kind: 'udp', host: VIP, port: 54, timeoutMs: 300 },
        { kind: 'tcp', host: b2.v6, port: BACKEND_PORT },
      ]);
      expect(direct!.reply).toBe(`${b2.name} ::ffff:${b2.v4}`);
      expect(direct!.peer).toEqual({ address: b2.v4, port: BACKEND_PORT });
      expect(udpOther!.ok).toBe(false);
      expect(tcpOther!.reply).toBe(`${b2.name} ${b2.v6}`);
      expect(tcpOther!.peer).toEqual({ address: b2.v6, port: BACKEND_PORT });
      // The positive control of the "no packet carries the VIP" check.
      expect(lab.vipPacketsSeen().v4).toBeGreaterThan(before.v4);
    });

    it('unconnected UDP sendto/recvfrom works and recvfrom reports the VIP', async () => {
      const before = lab.vipPacketsSeen();
      const [r] = await probe([{ kind: 'udp', host: VIP, port: 53, sends: 3 }]);
      expect(r!.ok, r!.code).toBe(true);
      expect(r!.replies).toHaveLength(3);
      for (const x of r!.replies!) {
        expect(names()).toContain(x.reply);
        expect(x.from).toEqual({ address: VIP, port: 53 });
      }
      expect(lab.vipPacketsSeen()).toEqual(before);
      expect(lab.backends.reduce((s, b) => s + b.udpDatagrams, 0)).toBe(3);
    });

    it('connected UDP: getpeername reports the VIP', async () => {
      const [r] = await probe([{ kind: 'udp', host: VIP, port: 53, sends: 2, connect: true }]);
      expect(r!.ok, r!.code).toBe(true);
      expect(r!.peer).toEqual({ address: VIP, port: 53 });
      expect(new Set(r!.replies!.map((x) => x.reply)).size).toBe(1);
    });

    it('one UDP socket always reaches the same backend; different sockets spread', async () => {
      const ops: ProbeOp[] = Array.from({ length: 24 }, () => ({ kind: 'udp', host: VIP, port: 53, sends: 6 }));
      const rs = await probe(ops);
      const chosen = new Set<string>();
      for (const r of rs) {
        expect(r.ok, r.code).toBe(true);
        const set = new Set(r.replies!.map((x) => x.reply));
        expect(set.size).toBe(1);
        chosen.add([...set][0]!);
      }
      expect(chosen.size).toBeGreaterThanOrEqual(2);
    });

    it('10,000 TCP connects spread across three backends within +-5%', async () => {
      const n = 10_000;
      const [r] = await probe([{ kind: 'tcpMany', host: VIP, port: 80, n, parallel: 16 }]);
      expect(r!.errors).toBe(0);
      // The servers may still be accepting the last ones.
      for (let i = 0; i < 100 && lab.backends.reduce((s, b) => s + b.tcpConnections, 0) < n; i++) await new Promise((res) => setTimeout(res, 20));
      const counts = lab.backends.map((b) => b.tcpConnections);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
      for (const c of counts) expect(Math.abs(c - n / 3)).toBeLessThanOrEqual((0.05 * n) / 3);
    });

    it('a service with zero backends fails connect() and sendmsg() with EHOSTUNREACH', async () => {
      const rs = await probe([
        { kind: 'tcp', host: empty.vip, port: 80 },
        { kind: 'udp', host: emptyUdp.vip, port: 53 },
        { kind: 'tcp', host: empty6.vip, port: 80 },
        { kind: 'udp', host: emptyUdp.vip, port: 53, connect: true },
      ]);
      for (const r of rs) expect(r.code).toBe('EHOSTUNREACH');
    });

    it('after the service is deleted (or re-created, or given a new revision) recvmsg stops rewriting', async () => {
      for (const change of ['delete', 'recreate', 'newRevision'] as const) {
        const p = startProbe(lab.cgroup, lab.clientPath, [{ kind: 'udpWait', host: VIP, port: 53 }]);
        try {
          const first = await p.next();
          expect(first.replies![0]!.from).toEqual({ address: VIP, port: 53 });
          const who = lab.backends.find((b) => b.name === first.replies![0]!.reply)!;
          if (change === 'newRevision') lb.controlPlane.updateService(dns, v4(), { newRevision: true });
          else lb.controlPlane.removeService(dns);
          if (change === 'recreate') lb.controlPlane.addService(dns, v4());
          expect(lab.sendSecondReply()).toBe(1);
          const second = await p.next();
          expect(second.ok, second.code).toBe(true);
          expect(second.replies![1]!.from).toEqual({ address: who.v4, port: BACKEND_PORT });
        } finally {
          p.kill();
        }
        if (change === 'delete') lb.controlPlane.addService(dns, v4());
      }
    });

    it('a backend change keeps the reverse translation of the remaining backends', async () => {
      const p = startProbe(lab.cgroup, lab.clientPath, [{ kind: 'udpWait', host: VIP, port: 53 }]);
      try {
        const first = await p.next();
        const who = first.replies![0]!.reply;
        const other = lab.backends.find((b) => b.name !== who)!;
        lb.controlPlane.removeBackend(dns, { address: other.v4, port: BACKEND_PORT });
        lab.sendSecondReply();
        const second = await p.next();
        expect(second.replies![1]!.from).toEqual({ address: VIP, port: 53 });
      } finally {
        p.kill();
      }
    });

    it('services and backends change at run time', async () => {
      const [b1, b2, b3] = lab.backends;
      lb.controlPlane.updateService(web, [{ address: b2!.v4, port: BACKEND_PORT }]);
      let rs = await probe(Array.from({ length: 6 }, () => ({ kind: 'tcp', host: VIP, port: 80 }) as ProbeOp));
      expect(new Set(rs.map(replyName))).toEqual(new Set([b2!.name]));
      lb.controlPlane.addBackend(web, { address: b3!.v4, port: BACKEND_PORT });
      lb.controlPlane.removeBackend(web, { address: b2!.v4, port: BACKEND_PORT });
      rs = await probe(Array.from({ length: 6 }, () => ({ kind: 'tcp', host: VIP, port: 80 }) as ProbeOp));
      expect(new Set(rs.map(replyName))).toEqual(new Set([b3!.name]));
      // A new service appears; a removed one is ordinary traffic again.
      const svc: ServiceId = { vip: '10.96.1.1', port: 443, proto: 'tcp' };
      lb.controlPlane.addService(svc, [{ address: b1!.v4, port: BACKEND_PORT }]);
      rs = await probe([{ kind: 'tcp', host: '10.96.1.1', port: 443 }]);
      expect(rs[0]!.reply!.startsWith(b1!.name)).toBe(true);
      expect(rs[0]!.peer).toEqual({ address: '10.96.1.1', port: 443 });
      lb.controlPlane.removeService(svc);
      rs = await probe([{ kind: 'tcp', host: '10.96.1.1', port: 443, timeoutMs: 300 }]);
      expect(rs[0]!.ok).toBe(false);
    });

    it('IPv6: TCP and UDP to an IPv6 VIP', async () => {
      const before = lab.vipPacketsSeen();
      const [t, u] = await probe([
        { kind: 'tcp', host: VIP6, port: 80 },
        { kind: 'udp', host: VIP6, port: 53, sends: 2 },
      ]);
      expect(t!.ok, t!.code).toBe(true);
      const who = lab.backends.find((b) => b.name === replyName(t!))!;
      expect(t!.reply).toBe(`${who.name} ${who.v6}`);
      expect(t!.peer).toEqual({ address: VIP6, port: 80 });
      expect(u!.ok, u!.code).toBe(true);
      for (const x of u!.replies!) expect(x.from).toEqual({ address: VIP6, port: 53 });
      expect(lab.vipPacketsSeen()).toEqual(before);
    });

    it('IPv4-mapped VIPs on AF_INET6 sockets use the IPv4 service', async () => {
      const before = lab.vipPacketsSeen();
      const [t, u, e] = await probe([
        { kind: 'tcp', host: MAPPED, port: 80 },
        { kind: 'udp', host: MAPPED, port: 53, sends: 2 },
        { kind: 'tcp', host: `::ffff:${empty.vip}`, port: 80 },
      ]);
      expect(t!.ok, t!.code).toBe(true);
      const who = lab.backends.find((b) => b.name === replyName(t!))!;
      expect(t!.reply).toBe(`${who.name} ::ffff:${who.v4}`);
      expect(t!.peer).toEqual({ address: MAPPED, port: 80 });
      expect(u!.ok, u!.code).toBe(true);
      for (const x of u!.replies!) expect(x.from).toEqual({ address: MAPPED, port: 53 });
      expect(e!.code).toBe('EHOSTUNREACH');
      expect(lab.vipPacketsSeen()).toEqual(before);
    });
  });
}
