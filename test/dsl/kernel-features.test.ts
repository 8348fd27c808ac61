import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel, testName } from '../helpers/env.js';
import { connectFromCgroup } from '../helpers/net.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { BpfMap } from '../../lib/kernel/map.js';
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { Link } from '../../lib/kernel/link.js';
import { ipv4ChecksumOk, ipv4Packet, l4ChecksumOk } from './packets.js';
import * as P from './programs.js';

describeKernel('DSL programs in the kernel (BPF_PROG_RUN)', () => {
  const open: LoadedDslProgram[] = [];
  const load = (p: Parameters<typeof loadDslProgram>[0], o?: Parameters<typeof loadDslProgram>[1]) => {
    const l = loadDslProgram(p, o);
    open.push(l);
    return l;
  };
  afterAll(() => open.forEach((p) => p.close()));

  it('tc: NAT with l3/l4_csum_replace and skb_store_bytes keeps checksums valid, sets skb->mark', () => {
    const p = load(P.natHelpers);
    const pkt = ipv4Packet({ dport: 53 });
    const r = p.program.testRun({ data: pkt, ctx: new Uint8Array(192) });
    expect(r.retval).toBe(0);
    const out = r.dataOut;
    expect([...out.subarray(30, 34)]).toEqual([10, 0, 0, 99]);
    expect(ipv4ChecksumOk(out)).toBe(true);
    expect(l4ChecksumOk(out)).toBe(true);
    expect(new DataView(r.ctxOut.buffer, r.ctxOut.byteOffset).getUint32(8, true)).toBe(42);
    // TCP packets are left alone
    const tcp = ipv4Packet({ proto: 6 });
    expect([...p.program.testRun({ data: tcp }).dataOut]).toEqual([...tcp]);
  });

  it('tc: NAT with in-program incremental checksums (RFC 1624) and header writes', () => {
    const p = load(P.natInline);
    const out = p.program.testRun({ data: ipv4Packet({ dport: 53 }) }).dataOut;
    expect([...out.subarray(30, 34)]).toEqual([10, 0, 0, 99]);
    expect(new DataView(out.buffer, out.byteOffset).getUint16(36)).toBe(5353);
    expect(ipv4ChecksumOk(out)).toBe(true);
    expect(l4ChecksumOk(out)).toBe(true);
  });

  it('tc: EDT pacing sets skb->tstamp from a per-destination map', () => {
    const p = load(P.edt);
    const pkt = ipv4Packet({ payload: 100 });
    const r1 = p.program.testRun({ data: pkt, ctx: new Uint8Array(192) });
    expect(r1.retval).toBe(0);
    const t1 = new DataView(r1.ctxOut.buffer, r1.ctxOut.byteOffset).getBigUint64(152, true);
    expect(t1).toBeGreaterThan(0n);
    const m = p.typed(P.edtState);
    const dstKey = new DataView(pkt.buffer).getUint32(30, true);
    const st = m.get(dstKey)!;
    expect(st - t1).toBe(BigInt(pkt.length) * 8000n);
    const r2 = p.program.testRun({ data: pkt, ctx: new Uint8Array(192) });
    const t2 = new DataView(r2.ctxOut.buffer, r2.ctxOut.byteOffset).getBigUint64(152, true);
    expect(t2 >= st).toBe(true); // max(now, last departure)
    expect(m.get(dstKey)! - t2).toBe(BigInt(pkt.length) * 8000n);
    // far in the future: dropped
    m.set(dstKey, st + 10_000_000_000n);
    expect(p.program.testRun({ data: pkt, ctx: new Uint8Array(192) }).retval).toBe(2);
  });

  it('xdp: bounded loop over variable packet offsets verifies the IPv4 checksum', () => {
    const p = load(P.ipCsumLoop);
    const good = ipv4Packet();
    expect(p.program.testRun({ data: good }).retval).toBe(2);
    const bad = ipv4Packet();
    bad[24] ^= 0xff;
    expect(p.program.testRun({ data: bad }).retval).toBe(1);
  });

  it('xdp: a bpf-to-bpf subprogram folds the checksum', () => {
    const p = load(P.csumCheck);
    expect(p.program.testRun({ data: ipv4Packet() }).retval).toBe(2);
    const bad = ipv4Packet();
    bad[25] ^= 0x10;
    expect(p.program.testRun({ data: bad }).retval).toBe(1);
  });

  it('xdp: loop of array map lookups', () => {
    const p = load(P.sumSlots);
    const m = p.typed(P.slots);
    for (let i = 0; i < 10; i++) m.set(i, BigInt(i * 10));
    expect(p.program.testRun({ data: ipv4Packet() }).retval).toBe(2);
    expect(m.get(8)).toBe(280n);
  });

  it('xdp: map-in-map lookups', () => {
    const inner = BpfMap.create(P.perPort.spec);
    try {
      const p = load(P.tenantCount);
      p.map(P.tenants).update(new Uint8Array([1, 0, 0, 0]), inner);
      for (let k = 0; k < 3; k++) p.program.testRun({ data: ipv4Packet({ dport: 4242 }) });
      const v = inner.lookup(P.perPort.key.encode(4242));
      expect(v && P.perPort.value.decode(v)).toBe(3n);
    } finally {
      inner.close();
    }
  });
});

describeKernel('DSL sock_addr programs on a test cgroup', () => {
  let cg: Cgroup;
  let server: Server;
  let port = 0;
  let accepted = 0;
  const open: Array<{ close(): void }> = [];
  beforeAll(async () => {
    cg = Cgroup.create(testName('dslcg'));
    server = createServer((s) => {
      accepted++;
      s.end('hi');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const o of open.reverse()) o.close();
    await new Promise<void>((res) => server.close(() => res()));
    cg.remove();
  });

  const connect = (host: string, p: number): Promise<string> => connectFromCgroup(cg, host, p);

  it('connect4 rewrites the destination from a map and denies a port', async () => {
    const p = loadDslProgram(P.connect4);
    open.push(p);
    const link = Link.cgroup(p.program, cg, P.connect4.expectedAttachType!);
    open.push(link);
    const be = p.typed(P.backends);
    be.set(7000, { ip: 0x7f000001, port: port, pad: 0 });
    const before = accepted;
    expect(await connect('127.0.0.1', 7000)).toBe('ok:hi');
    expect(accepted).toBe(before + 1);
    expect(await connect('127.0.0.1', 9)).toBe('err:EPERM');
  });

  it('connect6 and recvmsg4 programs load and attach', async () => {
    const p6 = loadDslProgram(P.connect6);
    open.push(p6);
    const pr = loadDslProgram(P.recvmsg4);
    open.push(pr);
    const l6 = Link.cgroup(p6.program, cg, P.connect6.expectedAttachType!);
    open.push(l6);
    const lr = Link.cgroup(pr.program, cg, P.recvmsg4.expectedAttachType!);
    open.push(lr);
    expect(await connect('::1', 9)).toBe('err:EPERM');
    expect(p6.typed(P.c6count).get(9)).toBeUndefined();
    await connect('::1', 1);
    expect(p6.typed(P.c6count).get(1)).toBe(1n);
  });
});

describe('loader', () => {
  it('exposes map specs from declarations', () => {
    expect(P.tenants.spec.innerMap?.keySize).toBe(2);
    expect(P.backends.spec.valueSize).toBe(8);
  });
});

describeKernel('DSL arithmetic checked against JavaScript in the kernel', () => {
  it('division and modulo by constants (multiply-shift) and by runtime values', async () => {
    const { xdp, packed, u32: U32 } = await import('../../lib/dsl/index.js');
    const lay = packed({ x: U32, y: U32 }, { name: 'xy' });
    const divisors = [3, 7, 10, 251, 1000, 65537, 0x7fffffff, 0xfffffffb];
    const progs = divisors.flatMap((d) => [
      xdp('div', (b) => {
        const h = b.header(lay, 0, () => b.return(0));
        b.return(h.x.div(d));
      }),
      xdp('mod', (b) => {
        const h = b.header(lay, 0, () => b.return(0));
        b.return(h.x.mod(d));
      }),
    ]);
    const rt = xdp('divrt', (b) => {
      const h = b.header(lay, 0, () => b.return(0));
      b.return(h.x.div(h.y).add(h.x.mod(h.y).mul(3)));
    });
    const loaded = [...progs, rt].map((p) => loadDslProgram(p));
    try {
      const xs = [0, 1, 2, 250, 251, 252, 1e6, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 123456789, 4000000000];
      for (const x of xs) {
        const pkt = new Uint8Array(64);
        new DataView(pkt.buffer).setUint32(0, x, true);
        new DataView(pkt.buffer).setUint32(4, 7, true);
        divisors.forEach((d, k) => {
          expect(loaded[2 * k]!.program.testRun({ data: pkt }).retval >>> 0).toBe(Math.floor(x / d));
          expect(loaded[2 * k + 1]!.program.testRun({ data: pkt }).retval >>> 0).toBe(x % d);
        });
        expect(loaded.at(-1)!.program.testRun({ data: pkt }).retval >>> 0).toBe((Math.floor(x / 7) + (x % 7) * 3) >>> 0);
      }
    } finally {
      loaded.forEach((l) => l.close());
    }
  });
});

describeKernel('register pressure and program variants in the kernel', () => {
  it('a program that spills computes what JavaScript computes', async () => {
    const { xdp, packed, u32: U32 } = await import('../../lib/dsl/index.js');
    const lay = packed({ x: U32 }, { name: 'x' });
    const p = xdp('spill_k', (b) => {
      const h = b.header(lay, 0, () => b.return(0));
      const x = h.x;
      const vals = Array.from({ length: 14 }, (_, k) => x.add(k * 3 + 1).mul(k + 3));
      let acc = vals[0]!;
      for (const v of vals.slice(1)) acc = acc.xor(v);
      let acc2 = vals[13]!;
      for (const v of vals) acc2 = acc2.add(v);
      b.return(acc.add(acc2));
    });
    expect(p.build().stats.spills).toBeGreaterThan(0);
    const js = (x: number) => {
      const vals = Array.from({ length: 14 }, (_, k) => Math.imul((x + k * 3 + 1) >>> 0, k + 3) >>> 0);
      let acc = vals[0]!;
      for (const v of vals.slice(1)) acc = (acc ^ v) >>> 0;
      let acc2 = vals[13]!;
      for (const v of vals) acc2 = (acc2 + v) >>> 0;
      return (acc + acc2) >>> 0;
    };
    const l = loadDslProgram(p);
    try {
      for (const x of [0, 1, 77, 0xdeadbeef, 0xffffffff]) {
        const pkt = new Uint8Array(64);
        new DataView(pkt.buffer).setUint32(0, x, true);
        expect(l.program.testRun({ data: pkt }).retval >>> 0).toBe(js(x));
      }
    } finally {
      l.close();
    }
  });

  it('devmap XDP programs may read egress_ifindex', async () => {
    const { xdp } = await import('../../lib/dsl/index.js');
    const p = xdp('devmap_prog', (b) => b.return(b.ctx.egress_ifindex.add(0).eq(0).constant() ? 1 : 2), { attach: 'devmap' });
    const q = xdp('devmap_prog2', (b) => {
      b.if(b.ctx.egress_ifindex.eq(7), () => b.return(1));
      return b.return(2);
    }, { attach: 'devmap' });
    expect(p.build().section).toBe('xdp/devmap');
    const l = loadDslProgram(q);
    l.close();
    expect(() => xdp('nodev', (b) => b.return((b.ctx as unknown as { egress_ifindex: { eq(x: number): unknown } }).egress_ifindex.eq(7) ? 1 : 2)).build()).toThrow(/egress_ifindex' is not accessible in xdp programs/);
  });
});

describeKernel('subprograms and loop control in the kernel', () => {
  it('subprograms with map lookups, nested calls, and loops with break/continue', async () => {
    const { xdp, subprog, arrayMap, packed, u32: U32, u64: U64 } = await import('../../lib/dsl/index.js');
    const table = arrayMap('sub_tab', { value: U64, maxEntries: 8 });
    const get = subprog('get', { args: [U32], ret: U64 }, (b, i) => {
      b.ifNotNull(b.lookup(table, i), (v) => b.return(v.value));
      b.return(0n);
    });
    const twice = subprog('twice', { args: [U32], ret: U64 }, (b, i) => b.return(b.call(get, i).mul(2n)));
    const lay = packed({ n: U32 }, { name: 'n' });
    const p = xdp('subloop', (b) => {
      const h = b.header(lay, 0, () => b.return(0));
      const n = h.n;
      const acc = b.let(U64, 0n);
      b.for(0, 8, (i, loop) => {
        b.if(i.eq(n), () => loop.break());
        b.if(i.and(1).eq(1), () => loop.continue());
        acc.set(acc.add(b.call(twice, i)));
      });
      b.return(acc.as(U32));
    });
    const l = loadDslProgram(p);
    try {
      const m = l.typed(table);
      for (let i = 0; i < 8; i++) m.set(i, BigInt(10 + i));
      const run = (n: number) => {
        const pkt = new Uint8Array(64);
        new DataView(pkt.buffer).setUint32(0, n, true);
        return l.program.testRun({ data: pkt }).retval;
      };
      const js = (n: number) => {
        let acc = 0;
        for (let i = 0; i < 8; i++) {
          if (i === n) break;
          if (i & 1) continue;
          acc += 2 * (10 + i);
        }
        return acc;
      };
      for (const n of [0, 1, 3, 5, 100]) expect(run(n)).toBe(js(n));
    } finally {
      l.close();
    }
  });
});

describeKernel('while loops in the kernel', () => {
  it('a bounded while loop (population count) matches JavaScript', async () => {
    const { xdp, packed, u32: U32 } = await import('../../lib/dsl/index.js');
    const lay = packed({ n: U32 }, { name: 'n' });
    const p = xdp('popcount', (b) => {
      const h = b.header(lay, 0, () => b.return(0));
      const x = b.let(U32, h.n);
      const bits = b.let(U32, 0);
      b.while(() => x.ne(0), () => {
        x.set(x.and(x.sub(1)));
        bits.set(bits.add(1));
      }, { max: 40 });
      b.return(bits);
    });
    expect(() => xdp('nomax', (b) => {
      b.while(() => b.ctx.rx_queue_index.gt(1), () => {}, undefined as never);
      b.return(0);
    }).build()).toThrow(/loop without a bound/);
    const l = loadDslProgram(p);
    try {
      const js = (n: number) => {
        let s = 0;
        for (; n !== 0; n = (n & (n - 1)) >>> 0) s++;
        return s;
      };
      for (const n of [0, 1, 6, 0xff00ff, 0xffffffff, 0x80000001]) {
        const pkt = new Uint8Array(64);
        new DataView(pkt.buffer).setUint32(0, n, true);
        expect(l.program.testRun({ data: pkt }).retval).toBe(js(n));
      }
    } finally {
      l.close();
    }
  });
});
