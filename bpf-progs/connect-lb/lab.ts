/**
 * A small lab for the connect-time load balancer (tests and example): a
 * client network namespace, `n` backend namespaces each joined to it by a
 * veth pair, a cgroup for the client process, and in each backend a TCP and
 * a UDP server (dual-stack, port {@link BACKEND_PORT}) run by this process.
 *
 * Addressing (private, used only inside these namespaces): link k (1-based)
 * is 10.77.k.0/24 and fd77:k::/64, client side .1 / ::1, backend .2 / ::2.
 * The client routes 10.96.0.0/16 and fd96::/64 (the VIP ranges) to backend
 * 1, so a packet that still carried a VIP would leave the client and be
 * counted by backend 1 as `InAddrErrors` (it owns no VIP and does not
 * forward): {@link Lab.vipPacketsSeen} reads those counters.
 *
 * TCP servers greet each connection with `<name> <local address>\n`; UDP
 * servers answer each datagram with `<name>`, twice for `twice` (the second
 * one when the caller says, {@link Lab.sendSecondReply}).
 *
 * @module
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { NetNs, withNetns } from '../../lib/kernel/netns.js';
import { createVethPair } from '../../lib/kernel/netdev.js';

/** The port every backend listens on (TCP and UDP). */
export const BACKEND_PORT = 8080;

/** One backend namespace. */
export interface LabBackend {
  name: string;
  ns: NetNs;
  v4: string;
  v6: string;
  /** TCP connections accepted. */
  tcpConnections: number;
  /** UDP datagrams received. */
  udpDatagrams: number;
}

/** Options of {@link Lab.create}. */
export interface LabOptions {
  /** Makes a unique name (namespaces, veths, cgroup) from a short tag; results at most 15 characters. */
  name: (tag: string) => string;
  /** Number of backends (1..9, default 3). */
  backends?: number;
  /** An existing cgroup for the client instead of a new one. */
  cgroup?: Cgroup;
}

/** Client namespace, backends with servers, client cgroup. */
export class Lab {
  readonly client: NetNs;
  readonly backends: LabBackend[];
  /** The cgroup client processes run in. */
  readonly cgroup: Cgroup;
  readonly #servers: Array<Server | UdpSocket> = [];
  readonly #sockets = new Set<Socket>();
  readonly #pending: Array<{ udp: UdpSocket; rinfo: RemoteInfo; backend: LabBackend }> = [];
  readonly #ownsCgroup: boolean;
  #closed = false;

  private constructor(client: NetNs, backends: LabBackend[], cgroup: Cgroup, ownsCgroup: boolean) {
    this.client = client;
    this.backends = backends;
    this.cgroup = cgroup;
    this.#ownsCgroup = ownsCgroup;
  }

  /** Builds the namespaces and links and starts the servers; on failure removes what it made. */
  static async create(options: LabOptions): Promise<Lab> {
    const n = options.backends ?? 3;
    const made: NetNs[] = [];
    let cgroup: Cgroup | undefined;
    let lab: Lab | undefined;
    try {
      const client = NetNs.create(options.name('c'));
      made.push(client);
      const backends: LabBackend[] = [];
      for (let k = 1; k <= n; k++) {
        const ns = NetNs.create(options.name(`b${k}`));
        made.push(ns);
        const v4 = `10.77.${k}.2`;
        const v6 = `fd77:${k}::2`;
        createVethPair(
          { name: options.name(`c${k}`), ns: client, address: [`10.77.${k}.1/24`, `fd77:${k}::1/64`] },
          { name: options.name(`b${k}`), ns, address: [`${v4}/24`, `${v6}/64`] },
        );
        ns.ip(['route', 'add', 'default', 'via', `10.77.${k}.1`]);
        ns.ip(['-6', 'route', 'add', 'default', 'via', `fd77:${k}::1`]);
        backends.push({ name: `backend-${k}`, ns, v4, v6, tcpConnections: 0, udpDatagrams: 0 });
      }
      client.ip(['route', 'add', '10.96.0.0/16', 'via', '10.77.1.2']);
      client.ip(['-6', 'route', 'add', 'fd96::/64', 'via', 'fd77:1::2']);
      client.exec('sysctl', ['-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
      cgroup = options.cgroup ?? Cgroup.create(options.name('g'));
      lab = new Lab(client, backends, cgroup, !options.cgroup);
      for (const b of backends) await lab.#serve(b);
      await lab.#settle();
      return lab;
    } catch (e) {
      if (lab) await lab.close();
      else {
        for (const ns of made.reverse()) ns.remove();
        if (!options.cgroup) cgroup?.remove();
      }
      throw e;
    }
  }

  async #serve(b: LabBackend): Promise<void> {
    await withNetns(b.ns, async () => {
      const tcp = createServer((s) => {
        b.tcpConnections++;
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
        s.end(`${b.name} ${s.localAddress}\n`);
      });
      this.#servers.push(tcp);
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: '::', port: BACKEND_PORT, ipv6Only: false, backlog: 1024 }, () => resolve());
      });
      const udp = createSocket({ type: 'udp6', ipv6Only: false });
      this.#servers.push(udp);
      udp.on('message', (m, rinfo) => {
        b.udpDatagrams++;
        udp.send(b.name, rinfo.port, rinfo.address);
        if (m.toString() === 'twice') this.#pending.push({ udp, rinfo, backend: b });
      });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: '::', port: BACKEND_PORT }, () => resolve());
      });
    });
  }

  /** Waits (at most 4 s) until link bring-up traffic stops moving backend 1's counters (IPv6 sends a few such packets at first). */
  async #settle(): Promise<void> {
    let last = JSON.stringify(this.vipPacketsSeen());
    let stable = 0;
    for (let i = 0; i < 16 && stable < 5; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const now = JSON.stringify(this.vipPacketsSeen());
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
  }

  /** The client namespace's file (for nsenter). */
  get clientPath(): string {
    return this.client.path;
  }

  /** Sends the second reply to every client that asked `twice`; returns how many. */
  sendSecondReply(): number {
    const list = this.#pending.splice(0);
    for (const p of list) p.udp.send(p.backend.name, p.rinfo.port, p.rinfo.address);
    return list.length;
  }

  /** Packets backend 1 received for addresses it does not own (IPv4 and IPv6 `InAddrErrors`): packets still carrying a VIP. */
  vipPacketsSeen(): { v4: number; v6: number } {
    const b = this.backends[0]!;
    const snmp = b.ns.exec('cat', ['/proc/net/snmp']);
    const lines = snmp.split('\n').filter((l) => l.startsWith('Ip:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    const v4 = Number(values[names.indexOf('InAddrErrors')]);
    const snmp6 = b.ns.exec('cat', ['/proc/net/snmp6']);
    const m = /Ip6InAddrErrors\s+(\d+)/.exec(snmp6);
    return { v4, v6: m ? Number(m[1]) : 0 };
  }

  /** Resets the per-backend counters. */
  resetCounts(): void {
    for (const b of this.backends) {
      b.tcpConnections = 0;
      b.udpDatagrams = 0;
    }
  }

  /** Stops the servers, removes namespaces (and their veths) and the cgroup it created; harmless twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            try {
              if ('address' in s && 'send' in s) (s as UdpSocket).close(() => resolve());
              else (s as Server).close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
    const errors: unknown[] = [];
    for (const ns of [...this.backends.map((b) => b.ns), this.client]) {
      try {
        ns.remove();
      } catch (e) {
        errors.push(e);
      }
    }
    if (this.#ownsCgroup) {
      try {
        this.cgroup.remove();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw errors[0];
  }
}

