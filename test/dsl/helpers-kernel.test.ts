import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKernel, testName } from '../helpers/env.js';
import { connectFromCgroup } from '../helpers/net.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { Link } from '../../lib/kernel/link.js';
import {
  DslError,
  TC_ACT_OK,
  XDP_PASS,
  XDP_DROP,
  bpfFibLookup,
  devMap,
  ethhdr,
  hashMap,
  htons,
  iphdr,
  packed,
  sockAddr,
  tc,
  u32,
  u64,
  xdp,
  AF_INET,
} from '../../lib/dsl/index.js';
import { Helper } from '../../lib/uapi/helpers.js';
import { csum, ipv4Packet } from './packets.js';

const ip5 = packed({ w0: u32, w1: u32, w2: u32, w3: u32, w4: u32 }, { name: 'ip5' });

/** XDP: pops the Ethernet header with xdp_adjust_head and re-reads the new first bytes. */
const popEth = xdp('pop_eth', (b) => {
  const eth = b.header(ethhdr, 0, () => b.return(XDP_DROP));
  b.if(eth.h_proto.ne(htons(0x0800)), () => b.return(XDP_DROP));
  b.if(b.adjustHead(14).ne(0), () => b.return(XDP_DROP));
  const ip = b.header(iphdr, 0, () => b.return(XDP_DROP));
  b.if(ip.version_ihl.ne(0x45), () => b.return(XDP_DROP));
  return b.return(XDP_PASS);
});

/** XDP: bpf_csum_diff over a stack copy of the IPv4 header; returns the folded checksum. */
const csumDiffProg = xdp('csum_diff', (b) => {
  const h = b.header(ip5, 14, () => b.return(0));
  const copy = b.stack(ip5, { w0: h.w0, w1: h.w1, w2: h.w2, w3: h.w3, w4: h.w4 });
  const sum = b.csumDiff(null, copy, 0);
  return b.return(b.csumFold(sum).toHost());
});

/** XDP: bpf_fib_lookup with a stack bpf_fib_lookup struct; returns the helper's result code. */
const fib = xdp('fib', (b) => {
  const ip = b.header(iphdr, 14, () => b.return(XDP_DROP));
  const p = b.stack(bpfFibLookup, { family: AF_INET, ifindex: b.ctx.ingress_ifindex, ipv4_src: ip.saddr, ipv4_dst: ip.daddr });
  const r = b.fibLookup(p, 0);
  return b.return(r.as(u32).add(100));
});

/** XDP: bpf_redirect_map into an empty devmap with XDP_PASS as the fallback action. */
const devs = devMap('dsl_devs', { maxEntries: 4 });
const redirMap = xdp('redir_map', (b) => b.return(b.redirectMap(devs, 1, XDP_PASS)));

/** tc: bpf_redirect / redirect_peer / redirect_neigh (verdicts only; test runs do not transmit). */
const redirs = tc('redirs', (b) => {
  const q = b.ctx.mark;
  b.if(q.eq(1), () => b.return(b.redirect(1, 0)));
  b.if(q.eq(2), () => b.return(b.redirectPeer(1, 0)));
  b.if(q.eq(3), () => b.return(b.redirectNeigh(1, 0)));
  return b.return(TC_ACT_OK);
});

/** connect4: socket cookies into a map; set_retval(-EACCES) to deny port 9 with EACCES instead of EPERM. */
const cookies = hashMap('dsl_cookies', { key: u32, value: u64, maxEntries: 16 });
const cookieProg = sockAddr('connect4', 'cookie4', (b) => {
  const port = b.ctx.user_port.toHost();
  b.update(cookies, port, b.socketCookie());
  b.if(port.eq(9), () => {
    b.setRetval(-13);
    b.return(0);
  });
  return b.return(1);
});

describe('helpers offered per program type', () => {
  it('a helper the program type may not call is a DslError at the call', () => {
    const bad = xdp('badhelper', (b) => {
      b.helper(Helper.skb_store_bytes, [0, 0, 0, 0, 0]);
      return b.return(XDP_PASS);
    });
    expect(() => bad.build()).toThrow(DslError);
    expect(() => bad.rebuild()).toThrow(/bpf_skb_store_bytes is not allowed in xdp programs/);
  });

  it('build({ verify: true }) runs verifier-lite', () => {
    expect(popEth.build({ verify: true }).insns.length).toBeGreaterThan(5);
    const bad = xdp('badargs', (b) => b.return(b.helper(Helper.map_lookup_elem, [0, 0])));
    expect(() => bad.build({ verify: true })).toThrow(/verifier-lite/);
  });
});

describeKernel('DSL helpers in the kernel', () => {
  const open: LoadedDslProgram[] = [];
  const load = (p: Parameters<typeof loadDslProgram>[0]) => {
    const l = loadDslProgram(p);
    open.push(l);
    return l;
  };
  afterAll(() => open.forEach((p) => p.close()));

  it('xdp_adjust_head, then the header is read again', () => {
    const p = load(popEth);
    const pkt = ipv4Packet();
    const r = p.program.testRun({ data: pkt });
    expect(r.retval).toBe(XDP_PASS);
    expect(r.dataOut.length).toBe(pkt.length - 14);
    expect(r.dataOut[0]).toBe(0x45);
  });

  it('csum_diff over a stack struct', () => {
    const p = load(csumDiffProg);
    const pkt = ipv4Packet();
    // the folded complement of a valid header's sum is 0
    expect(p.program.testRun({ data: pkt }).retval).toBe(0);
    const view = new DataView(pkt.buffer);
    view.setUint16(24, 0);
    expect(p.program.testRun({ data: pkt }).retval).toBe(csum(pkt.subarray(14, 34)));
  });

  it('fib_lookup, redirect_map, redirect, redirect_peer, redirect_neigh load and run', () => {
    const f = load(fib);
    const r = f.program.testRun({ data: ipv4Packet() }).retval;
    expect(r).toBeGreaterThanOrEqual(100);
    expect(load(redirMap).program.testRun({ data: ipv4Packet() }).retval).toBe(XDP_PASS);
    const t = load(redirs);
    const ctx = (mark: number) => {
      const c = new Uint8Array(192);
      new DataView(c.buffer).setUint32(8, mark, true);
      return c;
    };
    expect(t.program.testRun({ data: ipv4Packet(), ctx: ctx(1) }).retval).toBe(7);
    expect(t.program.testRun({ data: ipv4Packet(), ctx: ctx(0) }).retval).toBe(TC_ACT_OK);
    expect([2, 7]).toContain(t.program.testRun({ data: ipv4Packet(), ctx: ctx(2) }).retval);
  });
});

describeKernel('sock_addr helpers on a test cgroup', () => {
  let cg: Cgroup;
  let server: Server;
  let port = 0;
  const open: Array<{ close(): void }> = [];
  beforeAll(async () => {
    cg = Cgroup.create(testName('dslck'));
    server = createServer((s) => s.end('hi'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const o of open.reverse()) o.close();
    await new Promise<void>((res) => server.close(() => res()));
    cg.remove();
  });
  const connect = (p: number): Promise<string> => connectFromCgroup(cg, '127.0.0.1', p);

  it('get_socket_cookie and set_retval', async () => {
    const p = loadDslProgram(cookieProg);
    open.push(p);
    open.push(Link.cgroup(p.program, cg, cookieProg.expectedAttachType!));
    expect(await connect(port)).toBe('ok:hi');
    expect(p.typed(cookies).get(port)).toBeGreaterThan(0n);
    expect(await connect(9)).toBe('err:EACCES');
  });
});

describeKernel('packet pointers after a packet-changing helper', () => {
  it('a header first read inside a branch after xdp_adjust_head uses the reloaded pointers', () => {
    const p = xdp('reload_br', (b) => {
      b.if(b.adjustHead(0).ne(0), () => b.return(XDP_DROP));
      b.if(b.ctx.rx_queue_index.eq(0), () => {
        const eth = b.header(ethhdr, 0, () => b.return(XDP_DROP));
        b.return(eth.h_proto.toHost().eq(0x0800).constant() ? 9 : eth.h_proto.toHost());
      });
      return b.return(XDP_PASS);
    });
    const l = loadDslProgram(p);
    try {
      expect(l.program.testRun({ data: ipv4Packet() }).retval).toBe(0x0800);
    } finally {
      l.close();
    }
  });
});

describe('raw helper calls', () => {
  it('invalidate header views when the helper changes packet data', () => {
    const p = tc('pull', (b) => {
      const eth = b.header(ethhdr, 0, () => b.return(TC_ACT_OK));
      b.helper(Helper.skb_pull_data, [{ ctx: true }, 0]);
      return b.return(eth.h_proto.toHost());
    });
    expect(() => p.build()).toThrow(/bpf_skb_pull_data|changes packet data/);
  });
});

describeKernel('raw helper calls in the kernel', () => {
  it('skb_load_bytes into a stack struct', () => {
    const addrs = packed({ src: u32, dst: u32 }, { name: 'addrs' });
    const p = tc('loadbytes', (b) => {
      const buf = b.stack(addrs);
      b.if(b.helper(Helper.skb_load_bytes, [{ ctx: true }, 26, buf, 8], 's64').ne(0), () => b.return(-1));
      return b.return(buf.fields.dst.and(0xff).add(buf.fields.dst.toNet().raw().and(0xff).shl(8)));
    });
    const l = loadDslProgram(p);
    try {
      expect(l.program.testRun({ data: ipv4Packet({ dst: [10, 0, 0, 77] }) }).retval).toBe(10 + (77 << 8));
    } finally {
      l.close();
    }
  });
});

describeKernel('kernel verifier errors point at the TypeScript source', () => {
  it('a rejected DSL program names the line of the offending DSL call', async () => {
    const { VerifierError } = await import('../../lib/kernel/verifier-log.js');
    const p = xdp('rejected', (b) => {
      const r = b.helper(Helper.map_lookup_elem, [0, 0]); // not a map: the kernel rejects this call
      return b.return(r);
    });
    try {
      loadDslProgram(p).close();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      const src = (e as InstanceType<typeof VerifierError>).source;
      expect(src?.file).toMatch(/helpers-kernel\.test\.ts$/);
      expect(src?.line).toBeGreaterThan(0);
    }
  });
});
