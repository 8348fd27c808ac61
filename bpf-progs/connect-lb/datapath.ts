/**
 * The connect-time load balancer's datapath in the tsbpf DSL: eight cgroup
 * sock_addr programs (Calico's connect-time load balancer, Cilium's socket
 * LB). Its C twin, bench/twins/sock_lb.c, does the same instruction for
 * instruction in spirit; both pass test/connect-lb/conformance.ts.
 *
 * - `connect4/6`, `sendmsg4/6`: a destination that is a service {VIP, port,
 *   protocol} becomes one of its backends: TCP picks a random backend, UDP
 *   one derived from the socket cookie (so a socket always talks to the same
 *   backend while the service's backend count stays); the socket's
 *   {cookie, backend, port} -> {service, revision} goes into `lb_rev`. A
 *   service without backends makes connect()/sendmsg() fail with
 *   EHOSTUNREACH (`bpf_set_retval`, Linux 5.18). Other destinations, and
 *   protocols other than TCP and UDP, pass untouched.
 * - `recvmsg4/6`, `getpeername4/6`: a peer found in `lb_rev` whose service
 *   still exists with the same revision is reported as the service address;
 *   a stale entry is deleted. These always return 1 (the verifier accepts
 *   nothing else for them).
 *
 * IPv4 addresses are looked up IPv4-mapped (maps.ts), so the IPv6 hooks of an
 * AF_INET6 socket using `::ffff:a.b.c.d` find the IPv4 services.
 *
 * @module
 */
import { hashMap, htonl, lruHashMap, sockAddr, u8, u32, u64, type DslProgram, type Val } from '../../lib/dsl/index.js';
import { Program } from '../../lib/kernel/program.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { MapFlags } from '../../lib/uapi/map-types.js';
import { HOOKS, type DatapathImpl, type Hook, type LoadedDatapath } from './attach.js';
import type { ConnectLbMaps } from './control-plane.js';
import { BackendKey, BackendValue, MAX_BACKENDS, MAX_REV, MAX_SERVICES, MapNames, RevKey, RevValue, SvcKey, SvcValue } from './maps.js';

/** `-EHOSTUNREACH`, what connect()/sendmsg() to a service without backends return. */
export const EHOSTUNREACH_RETVAL = -113;
const TCP = 6;
const UDP = 17;

/** `lb_svc` as the DSL declares it. */
export const svcMap = hashMap(MapNames.services, { key: SvcKey, value: SvcValue, maxEntries: MAX_SERVICES, flags: MapFlags.BPF_F_NO_PREALLOC });
/** `lb_backends` as the DSL declares it. */
export const backendsMap = hashMap(MapNames.backends, { key: BackendKey, value: BackendValue, maxEntries: MAX_BACKENDS, flags: MapFlags.BPF_F_NO_PREALLOC });
/** `lb_rev` as the DSL declares it. */
export const revMap = lruHashMap(MapNames.rev, { key: RevKey, value: RevValue, maxEntries: MAX_REV });

// The hooks' contexts differ only in user_ip4 vs user_ip6; one body serves both families.
/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyB = any;

/** The destination address as 4 big-endian words, IPv4 mapped. */
function ctxAddr(b: AnyB, v6: boolean): unknown[] {
  if (!v6) return [htonl(0), htonl(0), htonl(0xffff), b.ctx.user_ip4];
  const a = b.ctx.user_ip6;
  return [a.get(0), a.get(1), a.get(2), a.get(3)];
}

/** Writes 4 address words (a map value's `addr`) into the context. */
function setCtxAddr(b: AnyB, v6: boolean, addr: { get(i: number): unknown }): void {
  if (!v6) b.ctx.user_ip4.set(addr.get(3));
  else for (let i = 0; i < 4; i++) b.ctx.user_ip6.set(i, addr.get(i));
}

function forward(hook: 'connect4' | 'connect6' | 'sendmsg4' | 'sendmsg6'): DslProgram<never> {
  const v6 = hook.endsWith('6');
  return sockAddr(hook, `lb_${hook}`, (b: AnyB) => {
    const pass = () => b.return(1);
    const proto: Val<'u32'> = b.ctx.protocol;
    b.if(proto.ne(TCP).and(proto.ne(UDP)), pass);
    const key = b.stack(SvcKey, { addr: ctxAddr(b, v6), port: b.ctx.user_port, proto: proto.as(u8) });
    const svc = b.notNull(b.lookup(svcMap, key), pass);
    const fail = () => {
      b.setRetval(EHOSTUNREACH_RETVAL);
      b.return(0);
    };
    const count: Val<'u32'> = svc.count;
    b.if(count.eq(0), fail);
    const cookie: Val<'u64'> = b.socketCookie();
    const h = b.let(u32, 0);
    b.if(
      proto.eq(TCP),
      () => h.set(b.prandomU32()),
      () => h.set(cookie.as(u32).xor(cookie.shr(32).as(u32)).mul(0x9e3779b1)),
    );
    // Multiply-shift range reduction: (h * count) >> 32, no division.
    const slot = h.as(u64).mul(count.as(u64)).shr(32).as(u32);
    const be = b.notNull(b.lookup(backendsMap, { id: svc.id, slot }), fail);
    b.update(revMap, { cookie, addr: be.addr, port: be.port }, { addr: key.fields.addr, port: key.fields.port, proto: key.fields.proto, revision: svc.revision });
    setCtxAddr(b, v6, be.addr);
    b.ctx.user_port.set(be.port);
    return b.return(1);
  }) as DslProgram<never>;
}

function reverse(hook: 'recvmsg4' | 'recvmsg6' | 'getpeername4' | 'getpeername6'): DslProgram<never> {
  const v6 = hook.endsWith('6');
  return sockAddr(hook, `lb_${hook}`, (b: AnyB) => {
    const done = () => b.return(1);
    const rk = b.stack(RevKey, { cookie: b.socketCookie(), addr: ctxAddr(b, v6), port: b.ctx.user_port });
    const rv = b.notNull(b.lookup(revMap, rk), done);
    const stale = () => {
      b.delete(revMap, rk);
      b.return(1);
    };
    const svc = b.notNull(b.lookup(svcMap, { addr: rv.addr, port: rv.port, proto: rv.proto }), stale);
    b.if(svc.revision.ne(rv.revision), stale);
    setCtxAddr(b, v6, rv.addr);
    b.ctx.user_port.set(rv.port);
    return b.return(1);
  }) as DslProgram<never>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The eight DSL programs by hook (built lazily by the loader). */
export const datapathPrograms: Readonly<Record<Hook, DslProgram<never>>> = {
  connect4: forward('connect4'),
  connect6: forward('connect6'),
  sendmsg4: forward('sendmsg4'),
  sendmsg6: forward('sendmsg6'),
  recvmsg4: reverse('recvmsg4'),
  recvmsg6: reverse('recvmsg6'),
  getpeername4: reverse('getpeername4'),
  getpeername6: reverse('getpeername6'),
};

/** The DSL datapath as a {@link DatapathImpl}: its programs loaded over the control plane's maps. */
export function dslDatapath(): DatapathImpl {
  return {
    name: 'dsl',
    load(maps: ConnectLbMaps): LoadedDatapath {
      const loaded: LoadedDslProgram[] = [];
      const out = {} as Record<Hook, Program>;
      try {
        for (const h of HOOKS) {
          const l = loadDslProgram(datapathPrograms[h], { maps: { [MapNames.services]: maps.services, [MapNames.backends]: maps.backends, [MapNames.rev]: maps.rev } });
          loaded.push(l);
          out[h] = l.program;
        }
      } catch (e) {
        for (const l of loaded) l.close();
        throw e;
      }
      return { programs: out, close: () => loaded.forEach((l) => l.close()) };
    },
  };
}
