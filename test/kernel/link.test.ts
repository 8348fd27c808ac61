import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Program } from '../../lib/kernel/program.js';
import { Link, encodeLinkCreateAttr } from '../../lib/kernel/link.js';
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { ensureBpffs } from '../../lib/kernel/bpffs.js';
import { BpfMap } from '../../lib/kernel/map.js';
import { BpfError } from '../../lib/kernel/errors.js';
import { BpfAttr } from '../../lib/uapi/bpf-attr.js';
import { offsetOf } from '../../lib/uapi/layout.js';
import { MapType } from '../../lib/uapi/map-types.js';
import { ProgType, AttachType, LinkType, XdpAction, XdpFlags, AttachFlags } from '../../lib/uapi/prog-types.js';
import { BpfSockAddr } from '../../lib/uapi/context.js';
import { ProgramBuilder, exit, jmpImm, ldx, mov64Imm, st } from '../../lib/isa/index.js';
import { protocolCounter, PROTOCOLS } from '../../examples/protocol-counter.js';
import { describeKernel, testName } from '../helpers/env.js';
import { sendUdp, until, vethTopology, type VethTopology } from '../helpers/net.js';

/** An array of u64 counters, one per protocol. */
class Counters {
  readonly map = BpfMap.create({ type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: PROTOCOLS.length });
  get fd() {
    return this.map.fd;
  }
  counts(): Record<string, number> {
    return Object.fromEntries(
      PROTOCOLS.map((p, i) => [p, Number(new DataView(this.map.lookup(new Uint8Array(new Uint32Array([i]).buffer))!.buffer).getBigUint64(0, true))]),
    );
  }
  close() {
    this.map.close();
  }
}

const LC = BpfAttr.linkCreate;

describe('link-create attr encoding', () => {
  it('encodes XDP, tcx and cgroup links', () => {
    const x = encodeLinkCreateAttr({ prog: 5, attachType: AttachType.BPF_XDP, target: 7, flags: XdpFlags.XDP_FLAGS_SKB_MODE });
    expect(x.readU32(offsetOf(LC, 'prog_fd'))).toBe(5);
    expect(x.readU32(offsetOf(LC, 'target_ifindex'))).toBe(7);
    expect(x.readU32(offsetOf(LC, 'attach_type'))).toBe(37);
    expect(x.readU32(offsetOf(LC, 'flags'))).toBe(2);
    expect(Array.from(x.bytes.subarray(16))).toEqual(Array(x.bytes.length - 16).fill(0));
    const t = encodeLinkCreateAttr({
      prog: 5,
      attachType: AttachType.BPF_TCX_EGRESS,
      target: 9,
      flags: AttachFlags.BPF_F_BEFORE,
      relativeFdOrId: 11,
      expectedRevision: 3n,
    });
    expect(t.readU32(8)).toBe(47);
    expect(t.readU32(12)).toBe(1 << 3);
    expect(t.readU32(offsetOf(LC, 'tcx.relative_fd'))).toBe(11);
    expect(t.readU64(offsetOf(LC, 'tcx.expected_revision'))).toBe(3n);
    const c = encodeLinkCreateAttr({ prog: 5, attachType: AttachType.BPF_CGROUP_INET4_CONNECT, target: 12 });
    expect([c.readU32(0), c.readU32(4), c.readU32(8), c.readU32(12)]).toEqual([5, 12, 10, 0]);
    expect(c.pointers).toEqual([]);
  });
});

/** A UDP frame (Ethernet + IPv4 + UDP) for test runs; checksums are not checked on the way. */
function udpFrame(): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 231, 0, 1, 10, 231, 0, 2], 14);
  f.set([0x30, 0x39, 0x30, 0x39, 0, 26, 0, 0], 34);
  return f;
}

describeKernel('links on veth between namespaces', () => {
  let t: VethTopology;
  let pinDir: string;
  beforeAll(() => {
    t = vethTopology('l');
    pinDir = `${ensureBpffs()}/${testName('pin')}`;
    mkdirSync(pinDir);
  });
  afterAll(() => {
    try {
      rmSync(pinDir, { recursive: true, force: true });
    } finally {
      t?.remove();
    }
  });

  it('counts packets per protocol in the XDP program of a bpf_link and test-runs it', async () => {
    const counters = new Counters();
    using prog = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: protocolCounter(counters.fd, 'xdp'), name: 'xdp_count' });
    expect(prog.info().mapIds).toHaveLength(1);
    // A test run counts too and passes the frame.
    const r = prog.testRun({ data: udpFrame() });
    expect(r.retval).toBe(XdpAction.XDP_PASS);
    expect(counters.counts().udp).toBe(1);

    const link = t.b.run(() => Link.xdp(prog, t.ifindexB));
    try {
      const info = link.info();
      expect(info.type).toBe(LinkType.BPF_LINK_TYPE_XDP);
      expect(info.ifindex).toBe(t.ifindexB);
      expect(info.progId).toBe(prog.info().id);

      await sendUdp(t.a, t.addrA, t.addrB, 9999, 5);
      expect((await until(() => counters.counts(), (c) => c.udp >= 6)).udp).toBe(1 + 5);
      expect(counters.counts().tcp).toBe(0);
      expect(counters.counts().other).toBeGreaterThan(0); // ARP

      // Pinned, the link survives closing its descriptor.
      link.pin(`${pinDir}/xdp`);
      link.close();
      const again = Link.openPinned(`${pinDir}/xdp`);
      expect(again.info().id).toBe(info.id);
      const byId = Link.fromId(info.id);
      expect(byId.info().progId).toBe(info.progId);
      byId.close();
      rmSync(`${pinDir}/xdp`);

      // Detached, it stops counting although the descriptor is open.
      again.detach();
      await sendUdp(t.a, t.addrA, t.addrB, 9999, 3);
      await new Promise((res) => setTimeout(res, 200));
      expect(counters.counts().udp).toBe(6);
      again.close();
    } finally {
      link.close();
      counters.close();
    }
  });

  it('attaches in generic mode, refuses a second XDP link and a wrong program type', () => {
    using prog = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, XdpAction.XDP_PASS), exit()], name: 'xdp_skb' });
    using tc = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: [mov64Imm(0, 0), exit()], name: 'tc_pass' });
    t.a.run(() => {
      using link = Link.xdp(prog, t.ifindexA, { flags: XdpFlags.XDP_FLAGS_SKB_MODE });
      expect(link.info().ifindex).toBe(t.ifindexA);
      expect(() => Link.xdp(prog, t.ifindexA)).toThrow(BpfError);
      try {
        Link.xdp(prog, t.ifindexA);
      } catch (e) {
        // EBUSY in the same mode, EEXIST when a link holds the device in another mode.
        expect(['EBUSY', 'EEXIST']).toContain((e as BpfError).code);
        expect((e as BpfError).command).toBe('BPF_LINK_CREATE');
      }
      expect(() => Link.tcx(prog, t.ifindexA, 'ingress')).toThrow(BpfError);
      expect(() => Link.xdp(tc, t.ifindexA)).toThrow(BpfError);
    });
  });

  it('orders tcx programs with BPF_F_BEFORE relative to a link', async () => {
    const first = new Counters();
    const second = new Counters();
    using p1 = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: protocolCounter(first.fd, 'tc'), name: 'tcx_one' });
    using p2 = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: protocolCounter(second.fd, 'tc'), name: 'tcx_two' });
    try {
      using l1 = t.b.run(() => Link.tcx(p1, t.ifindexB, 'ingress'));
      // TCX_PASS ends the chain: only the program in front counts.
      using l2 = t.b.run(() =>
        Link.tcx(p2, t.ifindexB, 'ingress', { flags: AttachFlags.BPF_F_BEFORE | AttachFlags.BPF_F_LINK, relativeFdOrId: l1.fd }),
      );
      await sendUdp(t.a, t.addrA, t.addrB, 9999, 3);
      expect((await until(() => second.counts(), (c) => c.udp >= 3)).udp).toBe(3);
      expect(first.counts().udp).toBe(0);
      expect(l2.info().attachType).toBe(AttachType.BPF_TCX_INGRESS);
    } finally {
      first.close();
      second.close();
    }
  });

  it('replaces the program of a link atomically', () => {
    using p1 = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, XdpAction.XDP_PASS), exit()], name: 'xdp_one' });
    using p2 = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, XdpAction.XDP_PASS), exit()], name: 'xdp_two' });
    using link = t.a.run(() => Link.xdp(p1, t.ifindexA));
    link.update(p2);
    expect(link.info().progId).toBe(p2.info().id);
    expect(() => link.update(p1, { expected: p1 })).toThrow(BpfError);
    link.update(p1, { expected: p2 });
    expect(link.info().progId).toBe(p1.info().id);
  });

  it('drives an XDP program in live-frames mode into the peer', async () => {
    const counters = new Counters();
    using counter = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: protocolCounter(counters.fd, 'xdp'), name: 'xdp_peer' });
    using tx = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, XdpAction.XDP_TX), exit()], name: 'xdp_tx' });
    // XDP_TX into a veth delivers only when the peer runs XDP: the counter on vethB.
    using link = t.b.run(() => Link.xdp(counter, t.ifindexB));
    t.a.run(() => tx.testRun({ data: udpFrame(), repeat: 10, xdpLiveFrames: { ingressIfindex: t.ifindexA } }));
    expect((await until(() => counters.counts(), (c) => c.udp >= 10)).udp).toBe(10);
    expect(link.info().type).toBe(LinkType.BPF_LINK_TYPE_XDP);
    counters.close();
  });

  it('attaches tcx egress and ingress programs that see the same traffic', async () => {
    const egress = new Counters();
    const ingress = new Counters();
    using pe = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: protocolCounter(egress.fd, 'tc'), name: 'tcx_eg' });
    using pi = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: protocolCounter(ingress.fd, 'tc'), name: 'tcx_in' });
    const le = t.a.run(() => Link.tcx(pe, t.ifindexA, 'egress'));
    const li = t.b.run(() => Link.tcx(pi, t.ifindexB, 'ingress'));
    try {
      expect(le.info()).toMatchObject({ type: LinkType.BPF_LINK_TYPE_TCX, ifindex: t.ifindexA, attachType: AttachType.BPF_TCX_EGRESS });
      expect(li.info()).toMatchObject({ type: LinkType.BPF_LINK_TYPE_TCX, ifindex: t.ifindexB, attachType: AttachType.BPF_TCX_INGRESS });
      await sendUdp(t.a, t.addrA, t.addrB, 9999, 4);
      expect((await until(() => egress.counts(), (c) => c.udp >= 4)).udp).toBe(4);
      expect((await until(() => ingress.counts(), (c) => c.udp >= 4)).udp).toBe(4);
      // A TCP connection attempt (refused: nobody listens) shows up as TCP both ways.
      await t.a.run(async () => {
        const s = net.connect({ host: t.addrB, port: 9 });
        await once(s, 'error').catch(() => {});
        s.destroy();
      });
      expect((await until(() => egress.counts(), (c) => c.tcp > 0)).tcp).toBeGreaterThan(0);
      expect((await until(() => ingress.counts(), (c) => c.tcp > 0)).tcp).toBeGreaterThan(0);
    } finally {
      le.close();
      li.close();
      egress.close();
      ingress.close();
    }
  });
});

/** bpf_sock_addr program: if user_port == from, set it to `to`; always allow (return 1). */
function rewritePort(from: number, to: number) {
  const be = (p: number) => ((p & 0xff) << 8) | (p >> 8); // network order in the low 16 bits
  const port = offsetOf(BpfSockAddr, 'user_port');
  const b = new ProgramBuilder();
  b.emit(ldx('u32', 2, 1, port), jmpImm('ne', 2, be(from), 'out'), st('u32', 1, port, be(to)));
  b.label('out').emit(mov64Imm(0, 1), exit());
  return b.link().insns;
}

async function listen(server: net.Server | dgram.Socket, host = '127.0.0.1'): Promise<number> {
  if (server instanceof net.Server) {
    server.listen(0, host);
    await once(server, 'listening');
    return (server.address() as net.AddressInfo).port;
  }
  server.bind(0, host);
  await once(server, 'listening');
  return server.address().port;
}

async function runChild(cg: Cgroup, script: string): Promise<string> {
  const child = cg.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`child failed (${code}): ${err}`);
  return out.trim();
}

describeKernel('cgroup sock_addr links', () => {
  let cg: Cgroup;
  beforeAll(() => {
    cg = Cgroup.create(testName('cgl'));
  });
  afterAll(() => cg?.remove());

  const families = [
    { v: 4, host: '127.0.0.1', connect: AttachType.BPF_CGROUP_INET4_CONNECT, peer: AttachType.BPF_CGROUP_INET4_GETPEERNAME },
    { v: 6, host: '::1', connect: AttachType.BPF_CGROUP_INET6_CONNECT, peer: AttachType.BPF_CGROUP_INET6_GETPEERNAME },
  ];
  it.each(families)('connect$v rewrites the destination of a process in the cgroup; getpeername$v hides it', async ({ v, host, connect: connectType, peer: peerType }) => {
    const mk = (id: string) => net.createServer((s) => s.end(id));
    const a = mk('A');
    const b = mk('B');
    const portA = await listen(a, host);
    const portB = await listen(b, host);
    try {
      using connect = Program.load({
        type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
        insns: rewritePort(portA, portB),
        name: `connect${v}`,
        expectedAttachType: connectType,
      });
      using peer = Program.load({
        type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
        insns: rewritePort(portB, portA),
        name: `getpeername${v}`,
        expectedAttachType: peerType,
      });
      const script = `const s=require('net').connect(${portA},'${host}');let d='';s.on('data',x=>d+=x);s.on('end',()=>{console.log(d+':'+s.remotePort)})`;
      expect(await runChild(cg, script)).toBe(`A:${portA}`);
      using l1 = Link.cgroup(connect, cg, connectType);
      expect(await runChild(cg, script)).toBe(`B:${portB}`);
      using l2 = Link.cgroup(peer, cg, peerType);
      expect(await runChild(cg, script)).toBe(`B:${portA}`);
      const info = l1.info();
      expect(info.type).toBe(LinkType.BPF_LINK_TYPE_CGROUP);
      expect(info.attachType).toBe(connectType);
      expect(info.cgroupId).toBeGreaterThan(0n);
      expect(l2.info().attachType).toBe(peerType);
      // This process is outside the cgroup: untouched.
      const s = net.connect(portA, host);
      let d = '';
      s.on('data', (x) => (d += x));
      await once(s, 'end');
      expect(d).toBe('A');
    } finally {
      a.close();
      b.close();
    }
  });

  const udpFamilies = [
    { v: 4, host: '127.0.0.1', send: AttachType.BPF_CGROUP_UDP4_SENDMSG, recv: AttachType.BPF_CGROUP_UDP4_RECVMSG },
    { v: 6, host: '::1', send: AttachType.BPF_CGROUP_UDP6_SENDMSG, recv: AttachType.BPF_CGROUP_UDP6_RECVMSG },
  ];
  it.each(udpFamilies)('sendmsg$v redirects UDP and recvmsg$v restores the source the sender expects', async ({ v, host, send: sendType, recv: recvType }) => {
    const type = v === 4 ? 'udp4' : 'udp6';
    const a = dgram.createSocket(type);
    const b = dgram.createSocket(type);
    a.on('message', (m, r) => a.send(`A:${m}`, r.port, r.address));
    b.on('message', (m, r) => b.send(`B:${m}`, r.port, r.address));
    const portA = await listen(a, host);
    const portB = await listen(b, host);
    try {
      const load = (name: string, attach: number, from: number, to: number) =>
        Program.load({ type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, insns: rewritePort(from, to), name, expectedAttachType: attach });
      using send = load(`sendmsg${v}`, sendType, portA, portB);
      using recv = load(`recvmsg${v}`, recvType, portB, portA);
      const script = `const s=require('dgram').createSocket('${type}');s.on('message',(m,r)=>{console.log(m+'@'+r.port);s.close()});s.send('hi',${portA},'${host}')`;
      expect(await runChild(cg, script)).toBe(`A:hi@${portA}`);
      using l1 = Link.cgroup(send, cg, sendType);
      expect(await runChild(cg, script)).toBe(`B:hi@${portB}`);
      using l2 = Link.cgroup(recv, cg, recvType);
      expect(await runChild(cg, script)).toBe(`B:hi@${portA}`);
      expect(l1.info().attachType).toBe(sendType);
      expect(l2.info().attachType).toBe(recvType);
    } finally {
      a.close();
      b.close();
    }
  });
});
