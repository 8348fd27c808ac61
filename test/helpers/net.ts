/**
 * Test topologies: two fresh network namespaces joined by a veth pair, and
 * sockets opened inside a namespace. Every name comes from testName(), and
 * `remove()` deletes everything (call it in finally/afterAll).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { NetNs } from '../../lib/kernel/netns.js';
import type { Cgroup } from '../../lib/kernel/cgroup.js';
import { createVethPair, ifIndex } from '../../lib/kernel/netdev.js';
import { testName } from './env.js';

/** Two namespaces `a` and `b`, veth `vethA` (in a, 10.231.0.1) to `vethB` (in b, 10.231.0.2). */
export interface VethTopology {
  a: NetNs;
  b: NetNs;
  vethA: string;
  vethB: string;
  addrA: string;
  addrB: string;
  /** ifindex of vethA inside a. */
  ifindexA: number;
  /** ifindex of vethB inside b. */
  ifindexB: number;
  /** Deletes both namespaces (and so the veth pair). */
  remove(): void;
}

/** Creates two namespaces joined by a veth pair with IPv4 addresses in 10.231.0.0/24 (only inside them). */
export function vethTopology(tag = 'v'): VethTopology {
  const made: NetNs[] = [];
  try {
    const a = NetNs.create(testName(`${tag}a`));
    made.push(a);
    const b = NetNs.create(testName(`${tag}b`));
    made.push(b);
    const vethA = testName(`${tag}A`);
    const vethB = testName(`${tag}B`);
    createVethPair({ name: vethA, ns: a, address: '10.231.0.1/24' }, { name: vethB, ns: b, address: '10.231.0.2/24' });
    return {
      a,
      b,
      vethA,
      vethB,
      addrA: '10.231.0.1',
      addrB: '10.231.0.2',
      ifindexA: ifIndex(vethA, a),
      ifindexB: ifIndex(vethB, b),
      remove: () => removeAll(made),
    };
  } catch (e) {
    removeAll(made);
    throw e;
  }
}

function removeAll(list: NetNs[]): void {
  const errors: unknown[] = [];
  for (const ns of list.reverse()) {
    try {
      ns.remove();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/** A UDP socket bound inside `ns` (it stays in that namespace once created). */
export async function udpSocketIn(ns: NetNs, address: string, type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  return ns.run(async () => {
    const s = dgram.createSocket(type);
    s.bind(0, address);
    await once(s, 'listening');
    return s;
  });
}

/** Sends `count` UDP datagrams from `ns` (bound to `from`) to `to:port`; resolves when all are sent. */
export async function sendUdp(ns: NetNs, from: string, to: string, port: number, count: number): Promise<void> {
  const s = await udpSocketIn(ns, from);
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((res, rej) => s.send(Buffer.from(`packet ${i}`), port, to, (err) => (err ? rej(err) : res())));
    }
  } finally {
    s.close();
  }
}

/** A TCP server listening inside `ns`. */
export async function tcpServerIn(ns: NetNs, address: string, port = 0): Promise<net.Server> {
  return ns.run(async () => {
    const server = net.createServer((sock) => sock.on('error', () => {}));
    server.listen(port, address);
    await once(server, 'listening');
    return server;
  });
}

/** Connects to `to:port` from inside `ns`; resolves with the connected socket. */
export async function tcpConnectIn(ns: NetNs, to: string, port: number): Promise<net.Socket> {
  return ns.run(async () => {
    const sock = net.connect({ host: to, port });
    await once(sock, 'connect');
    return sock;
  });
}

/**
 * Polls `read` until `done(value)` holds or `timeoutMs` passes; returns the last
 * value. Packets cross a veth in softirq context, which a loaded machine may defer.
 */
export async function until<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (done(v) || Date.now() >= end) return v;
    await new Promise((res) => setTimeout(res, 10));
  }
}

/**
 * Connects over TCP to `host`:`port` from a child process placed in `cg` (so
 * the cgroup's connect/sockopt programs apply). Resolves with `ok:<first data
 * received>` or `err:<error code>` (e.g. `err:EPERM` when a program denies it).
 */
export function connectFromCgroup(cg: Cgroup, host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const script = `const s=require('net').connect(${port},'${host}');s.on('data',d=>{process.stdout.write('ok:'+d);s.destroy()});s.on('error',e=>process.stdout.write('err:'+e.code));`;
    const child = cg.spawn(process.execPath, ['-e', script]);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out));
  });
}
