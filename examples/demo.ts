/**
 * tsbpf demo (`npm run demo`, as root): two fresh network namespaces joined by
 * a veth pair, an XDP program that counts the packets arriving on the
 * receiving end per IP protocol, real TCP, UDP and ICMP traffic from the other
 * side, and the counters read live from the BPF map. Everything it creates is
 * removed at the end, also on error or Ctrl-C.
 *
 * The addresses (10.77.0.0/24) exist only inside the two namespaces.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import dgram from 'node:dgram';
import net from 'node:net';
import { Program } from '../lib/kernel/program.js';
import { Link } from '../lib/kernel/link.js';
import { NetNs } from '../lib/kernel/netns.js';
import { createVethPair, ifIndex } from '../lib/kernel/netdev.js';
import { BpfMap } from '../lib/kernel/map.js';
import { MapType } from '../lib/uapi/map-types.js';
import { ProgType } from '../lib/uapi/prog-types.js';
import { PROTOCOLS, protocolCounter, type Protocol } from './protocol-counter.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** Number of one-second ticks of traffic (default 5). */
  ticks?: number;
  /** Tick length in milliseconds (default 1000). */
  tickMs?: number;
  /** How to make ICMP: `ping` (needs iputils ping), `unreachable` (ICMP port-unreachable replies), or `auto` (default). */
  icmp?: 'auto' | 'ping' | 'unreachable';
  /** Stops the demo early (it still cleans up). */
  signal?: AbortSignal;
  /** Tag in the names of the namespaces and interfaces it creates (default: random). */
  id?: string;
}

/** The per-protocol totals the demo ends with. */
export type Counts = Record<Protocol, number>;

const ADDR_SENDER = '10.77.0.1';
const ADDR_RECEIVER = '10.77.0.2';
const UDP_PORT = 7777;
const TCP_PORT = 8888;
const CLOSED_PORT = 9;

/** A per-CPU array of one u64 counter per protocol; reading sums the CPUs. */
class CounterMap {
  readonly map = BpfMap.create({
    name: 'proto_counts',
    type: MapType.BPF_MAP_TYPE_PERCPU_ARRAY,
    keySize: 4,
    valueSize: 8,
    maxEntries: PROTOCOLS.length,
  });

  read(): Counts {
    const counts = {} as Counts;
    PROTOCOLS.forEach((p, i) => {
      const perCpu = this.map.lookupPerCpu(new Uint8Array(new Uint32Array([i]).buffer)) ?? [];
      counts[p] = perCpu.reduce((sum, v) => sum + Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)), 0);
    });
    return counts;
  }

  close(): void {
    this.map.close();
  }
}

function findInPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      res();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function row(label: string, c: Counts): string {
  return `${label.padEnd(8)}${PROTOCOLS.map((p) => `${p} ${String(c[p]).padStart(5)}`).join('   ')}`;
}

/** Runs the demo and returns the final counts. Needs root. */
export async function runDemo(options: DemoOptions = {}): Promise<Counts> {
  const log = options.log ?? ((line: string) => console.log(line));
  const ticks = options.ticks ?? 5;
  const tickMs = options.tickMs ?? 1000;
  const ping = options.icmp === 'unreachable' ? undefined : findInPath('ping');
  if (options.icmp === 'ping' && !ping) throw new Error('ping not found (install iputils-ping)');

  const cleanup: (() => void)[] = [];
  const id = options.id ?? randomBytes(3).toString('hex');
  if (!/^[A-Za-z0-9]{1,15}$/.test(id)) throw new Error(`invalid demo id '${id}'`);
  try {
    // 1. Topology: sender namespace --veth-- receiver namespace.
    const sender = NetNs.create(`tsbpf-demo-${id}-tx`);
    cleanup.push(() => sender.remove());
    const receiver = NetNs.create(`tsbpf-demo-${id}-rx`);
    cleanup.push(() => receiver.remove());
    const vethTx = `td${id}`.slice(0, 13) + 'tx';
    const vethRx = `td${id}`.slice(0, 13) + 'rx';
    createVethPair({ name: vethTx, ns: sender, address: `${ADDR_SENDER}/24` }, { name: vethRx, ns: receiver, address: `${ADDR_RECEIVER}/24` });
    log(`namespaces ${sender.name} (${ADDR_SENDER}, ${vethTx}) and ${receiver.name} (${ADDR_RECEIVER}, ${vethRx})`);

    // 2. Map and XDP program, attached by bpf_link to the receiving veth.
    const counters = new CounterMap();
    cleanup.push(() => counters.close());
    const prog = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: protocolCounter(counters.map.fd, 'xdp', { perCpu: true }), name: 'proto_count' });
    cleanup.push(() => prog.close());
    const link = receiver.run(() => Link.xdp(prog, ifIndex(vethRx)));
    cleanup.push(() => link.close());
    const info = prog.info();
    log(`XDP program ${info.name} (id ${info.id}, ${info.xlatedSize / 8} insns) attached to ${vethRx} by link ${link.info().id}`);

    // 3. Servers in the receiver namespace.
    const udpServer = await receiver.run(async () => {
      const s = dgram.createSocket('udp4');
      s.bind(UDP_PORT, ADDR_RECEIVER);
      await once(s, 'listening');
      return s;
    });
    cleanup.push(() => udpServer.close());
    const tcpServer = await receiver.run(async () => {
      const s = net.createServer((c) => {
        c.on('error', () => {});
        c.pipe(c);
      });
      s.listen(TCP_PORT, ADDR_RECEIVER);
      await once(s, 'listening');
      return s;
    });
    cleanup.push(() => tcpServer.close());
    // Sockets of the sender side; the one in the receiver provokes ICMP when ping is missing.
    const udpClient = await sender.run(async () => {
      const s = dgram.createSocket('udp4');
      s.bind(0, ADDR_SENDER);
      await once(s, 'listening');
      return s;
    });
    cleanup.push(() => udpClient.close());
    const unreachable = await receiver.run(async () => {
      const s = dgram.createSocket('udp4');
      s.on('error', () => {});
      s.bind(0, ADDR_RECEIVER);
      await once(s, 'listening');
      return s;
    });
    cleanup.push(() => unreachable.close());
    log(ping ? 'ICMP: ping from the sender namespace' : 'ICMP: port-unreachable replies from the sender namespace');

    const sendUdp = (n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((res) => udpClient.send(`datagram ${i}`, UDP_PORT, ADDR_RECEIVER, () => res()))));
    const tcpExchange = () =>
      sender.run(async () => {
        const c = net.connect({ host: ADDR_RECEIVER, port: TCP_PORT });
        await once(c, 'connect');
        c.end('hello over tcp');
        c.resume();
        await once(c, 'close');
      });
    const icmp = async () => {
      if (ping) {
        const p = spawn('nsenter', sender.execArgs(ping, ['-c', '2', '-i', '0.2', '-W', '1', '-q', ADDR_RECEIVER]).slice(1), { stdio: 'ignore' });
        cleanup.push(() => p.exitCode === null && p.kill());
        await once(p, 'exit');
      } else {
        await new Promise<void>((res) => unreachable.send('ping?', CLOSED_PORT, ADDR_SENDER, () => res()));
      }
    };

    // 4. Traffic and live counts.
    log(`packets seen by XDP on ${vethRx}, per IP protocol:`);
    for (let t = 1; t <= ticks && !options.signal?.aborted; t++) {
      const started = Date.now();
      await Promise.all([sendUdp(10), tcpExchange(), icmp()]);
      await sleep(Math.max(0, tickMs - (Date.now() - started)), options.signal);
      log(row(`${((t * tickMs) / 1000).toFixed(1)}s`, counters.read()));
    }
    // Let the last packets land (they cross the veth in softirq context): read until two reads agree.
    let final = counters.read();
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      const again = counters.read();
      if (PROTOCOLS.every((p) => again[p] === final[p])) break;
      final = again;
    }
    log(`totals: ${PROTOCOLS.map((p) => `${p}=${final[p]}`).join(' ')}`);
    return final;
  } finally {
    const errors: unknown[] = [];
    for (const f of cleanup.reverse()) {
      try {
        f();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) log(`cleanup: ${errors.length} error(s): ${String(errors[0])}`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('the demo needs root (it creates network namespaces and loads BPF programs)');
    process.exit(1);
  }
  const abort = new AbortController();
  const stop = () => {
    console.log('\nstopping: cleaning up');
    abort.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runDemo({ signal: abort.signal });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? `demo failed: ${e.message}` : e);
    process.exit(1);
  });
}
