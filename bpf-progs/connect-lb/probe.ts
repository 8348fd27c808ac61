/**
 * A socket client run as a child process inside a cgroup and a network
 * namespace (the cgroup programs only see sockets of processes in the
 * cgroup), for the tests and the example. The child is Node itself running
 * {@link PROBE_SOURCE}: it performs a list of operations and prints one JSON
 * line per result.
 *
 * Operations:
 * - `{ kind: 'tcp', host, port, timeoutMs? }`: connect, read the server's first line,
 *   report it with getpeername() (`peer`) and getsockname() (`local`), or the
 *   error code (`EHOSTUNREACH`, ...);
 * - `{ kind: 'tcpMany', host, port, n, parallel? }`: `n` connects, closed once
 *   established; reports how many failed;
 * - `{ kind: 'udp', host, port, sends?, connect? }`: one socket (connected
 *   with `connect`), `sends` datagrams, one reply each: reply text and the
 *   address recvfrom() (or getpeername()) reported;
 * - `{ kind: 'udpWait', host, port }`: one datagram, then prints the first
 *   reply and waits for a second one (sent by the test after changing the
 *   service) and prints it too.
 *
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import type { Cgroup } from '../../lib/kernel/cgroup.js';
import { ConnectLbError } from './maps.js';

/** One probe operation (see the module comment). */
export type ProbeOp =
  | { kind: 'tcp'; host: string; port: number; timeoutMs?: number }
  | { kind: 'tcpMany'; host: string; port: number; n: number; parallel?: number }
  | { kind: 'udp'; host: string; port: number; sends?: number; connect?: boolean; timeoutMs?: number }
  | { kind: 'udpWait'; host: string; port: number };

/** A socket address as Node reports it. */
export interface SockAddr {
  address: string;
  port: number;
}

/** The result of one probe operation. */
export interface ProbeResult {
  ok: boolean;
  /** Error code when not ok (`EHOSTUNREACH`, `ETIMEDOUT`, ...). */
  code?: string;
  /** tcp: the server's first line. */
  reply?: string;
  /** tcp, connected udp: getpeername(). */
  peer?: SockAddr;
  /** tcp: getsockname(). */
  local?: SockAddr;
  /** udp, udpWait: each reply and where recvfrom() said it came from. */
  replies?: Array<{ reply: string; from: SockAddr }>;
  /** tcpMany: failed connects. */
  errors?: number;
}

/** The client program (an ES module for `node --input-type=module -e`). */
export const PROBE_SOURCE = String.raw`
import net from 'node:net';
import dgram from 'node:dgram';
const ops = JSON.parse(process.argv[1]);
const out = (r) => process.stdout.write(JSON.stringify(r) + '\n');
const TIMEOUT = 4000;
const fam = (h) => (net.isIPv6(h) ? 6 : 4);
function tcp(op) {
  return new Promise((resolve) => {
    const s = net.connect({ host: op.host, port: op.port, family: fam(op.host) });
    let buf = '';
    const t = setTimeout(() => { s.destroy(); resolve({ ok: false, code: 'ETIMEDOUT' }); }, op.timeoutMs ?? TIMEOUT);
    s.on('error', (e) => { clearTimeout(t); resolve({ ok: false, code: e.code ?? String(e) }); });
    s.on('data', (d) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(t);
      const r = { ok: true, reply: buf.slice(0, i), peer: { address: s.remoteAddress, port: s.remotePort }, local: { address: s.localAddress, port: s.localPort } };
      s.destroy();
      resolve(r);
    });
  });
}
async function tcpMany(op) {
  let errors = 0, next = 0;
  const one = () => new Promise((resolve) => {
    const s = net.connect({ host: op.host, port: op.port, family: fam(op.host) });
    s.on('connect', () => { s.destroy(); resolve(); });
    s.on('error', () => { errors++; resolve(); });
  });
  const worker = async () => { while (next < op.n) { next++; await one(); } };
  await Promise.all(Array.from({ length: op.parallel ?? 8 }, worker));
  return { ok: errors === 0, errors };
}
function udp(op, wait) {
  return new Promise((resolve) => {
    const s = dgram.createSocket(fam(op.host) === 6 ? 'udp6' : 'udp4');
    const replies = [];
    const sends = wait ? 1 : (op.sends ?? 1);
    const want = wait ? 2 : sends;
    let peer;
    const t = setTimeout(() => { s.close(); resolve({ ok: false, code: 'ETIMEDOUT', replies }); }, wait ? 4 * TIMEOUT : (op.timeoutMs ?? TIMEOUT));
    s.on('error', (e) => { clearTimeout(t); try { s.close(); } catch {} resolve({ ok: false, code: e.code ?? String(e), replies }); });
    s.on('message', (m, rinfo) => {
      replies.push({ reply: m.toString(), from: { address: rinfo.address, port: rinfo.port } });
      if (wait && replies.length === 1) out({ ok: true, replies });
      if (replies.length >= want) {
        clearTimeout(t);
        s.close();
        resolve({ ok: true, replies, ...(peer ? { peer } : {}) });
      }
    });
    const go = (i) => {
      if (i >= sends) return;
      const cb = (e) => { if (e) s.emit('error', e); else go(i + 1); };
      if (op.connect) s.send('hello', cb); else s.send(wait ? 'twice' : 'hello', op.port, op.host, cb);
    };
    if (op.connect) s.connect(op.port, op.host, (e) => { if (e) return s.emit('error', e); const a = s.remoteAddress(); peer = { address: a.address, port: a.port }; go(0); });
    else go(0);
  });
}
for (const op of ops) {
  if (op.kind === 'tcp') out(await tcp(op));
  else if (op.kind === 'tcpMany') out(await tcpMany(op));
  else if (op.kind === 'udp') out(await udp(op, false));
  else if (op.kind === 'udpWait') out(await udp(op, true));
  else out({ ok: false, code: 'EINVAL' });
}
`;

/** The probe as a running child process: its JSON lines as they come. */
export class RunningProbe {
  readonly child: ChildProcess;
  readonly #lines: ProbeResult[] = [];
  readonly #waiters: Array<() => void> = [];
  #stderr = '';
  #exited = false;

  constructor(child: ChildProcess) {
    this.child = child;
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) this.#lines.push(JSON.parse(line) as ProbeResult);
        this.#wake();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    child.on('exit', () => {
      this.#exited = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next result line (waits at most `timeoutMs`). */
  async next(timeoutMs = 20_000): Promise<ProbeResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.#lines.shift();
      if (l) return l;
      if (this.#exited) throw new ConnectLbError(`probe exited without a result: ${this.#stderr.trim()}`);
      if (Date.now() > deadline) throw new ConnectLbError('probe timed out');
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Kills the child if still running. */
  kill(): void {
    if (!this.#exited) this.child.kill('SIGKILL');
  }
}

/** Starts the probe in `cgroup` (moved in before it runs) and in the network namespace file `netnsPath`. */
export function startProbe(cgroup: Cgroup, netnsPath: string, ops: readonly ProbeOp[]): RunningProbe {
  const child = cgroup.spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '--input-type=module', '-e', PROBE_SOURCE, JSON.stringify(ops)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new RunningProbe(child);
}

/** Runs the probe to completion and returns one result per operation. */
export async function runProbe(cgroup: Cgroup, netnsPath: string, ops: readonly ProbeOp[], timeoutMs = 60_000): Promise<ProbeResult[]> {
  const p = startProbe(cgroup, netnsPath, ops);
  try {
    const out: ProbeResult[] = [];
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < ops.length; i++) out.push(await p.next(Math.max(1, deadline - Date.now())));
    return out;
  } finally {
    p.kill();
  }
}
