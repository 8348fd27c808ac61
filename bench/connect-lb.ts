/**
 * `tsbpf bench connect-lb`: the connect-time load balancer
 * (bpf-progs/connect-lb) against kube-proxy style iptables DNAT, in one run.
 *
 * 1. Latency of connect() + close() (SO_LINGER {1,0}: the close sends a RST,
 *    no TIME_WAIT) to a service VIP, with 1, 1,000 and 10,000 services
 *    configured; the target is the last-installed service (2 backends each):
 *    - `floor`: connect() straight to a backend address, no NAT, no hook;
 *    - `tsbpf`: the DSL datapath attached to the client's cgroup (and, as an
 *      extra column, its C twin bench/twins/sock_lb.c when clang-22 exists);
 *    - `iptables-nft` and `iptables-legacy`: a KUBE-SERVICES chain in nat
 *      OUTPUT with one rule per service (`-d VIP/32 -p tcp --dport 80`)
 *      jumping to a per-service chain that picks a backend with the
 *      statistic module and DNATs, each in its own client namespace;
 *      conntrack flushed before every run.
 *    The client (bench/twins/connect_lat.c, gcc -O2) runs pinned to CPU 0 in
 *    the client namespace and cgroup, the sink server pinned to CPU 1 in the
 *    backend namespace; cases interleave round by round; medians and p99
 *    over all samples of a case.
 * 2. Time to program 10,000 services: `ConnectLbControlPlane.addServices`
 *    (batch map updates) vs `iptables-restore` of the equivalent rules (nft
 *    and legacy), into empty tables; median of 3.
 *
 * Everything lives in namespaces and cgroups made here (ip_local_port_range
 * widened in the client namespaces) and is removed in `finally`. Needs root,
 * gcc; iptables binaries missing are reported and their columns skipped.
 *
 * Last line: `connect-lb: latency_ratio_10k=<iptables-nft/tsbpf>
 * latency_ratio_10k_legacy=<..> floor_ratio_10k=<tsbpf/floor>
 * sync_ratio_10k=<iptables-nft-restore/tsbpf> sync_ratio_10k_legacy=<..>`
 * (medians; `n/a` for a skipped column).
 *
 * Options: `--n N` timed connects per case and round (default 2000),
 * `--rounds R` (default 5), `--quick` (N=500, 3 rounds).
 *
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectLb, HOOKS, type DatapathImpl } from '../bpf-progs/connect-lb/attach.js';
import type { ServiceSpec } from '../bpf-progs/connect-lb/control-plane.js';
import { dslDatapath, datapathPrograms as dslPrograms } from '../bpf-progs/connect-lb/datapath.js';
import { cTwinDatapath, compileTwin } from '../bpf-progs/connect-lb/twin.js';
import { readCollectionSpec } from '../lib/elf/index.js';
import { Cgroup } from '../lib/kernel/cgroup.js';
import { NetNs } from '../lib/kernel/netns.js';
import { createVethPair } from '../lib/kernel/netdev.js';
import { TsbpfError } from '../lib/errors.js';
import { twinSource } from './_twins.js';

/** The benchmark cannot run (not root, no gcc, a setup step failed). */
export class ConnectLbBenchError extends TsbpfError {}

const LEVELS = [1, 1000, 10_000];
const PORT = 8080;
const CLIENT_CPU = 0;
const SERVER_CPU = 1;

function which(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The VIP of service `i` (0-based): 10.96.0.1, 10.96.0.2, ... */
function vip(i: number): string {
  const n = i + 1;
  return `10.96.${(n >> 8) & 255}.${n & 255}`;
}
/** Two unused backend addresses of a non-target service. */
function dummyBackends(i: number): string[] {
  return [`10.89.${(i >> 8) & 255}.${i & 255}`, `10.90.${(i >> 8) & 255}.${i & 255}`];
}

/** The service list at a level: the last one is the target, its backends `target`. */
function serviceList(n: number, target: string[]): ServiceSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    service: { vip: vip(i), port: 80, proto: 'tcp' as const },
    backends: (i === n - 1 ? target : dummyBackends(i)).map((address) => ({ address, port: PORT })),
  }));
}

/** iptables-restore input of kube-proxy's shape for the same services. */
function iptablesRules(n: number, target: string[]): string {
  const chain = (i: number) => `KUBE-SVC-${i.toString(16).toUpperCase().padStart(16, '0')}`;
  const lines = ['*nat', ':KUBE-SERVICES - [0:0]'];
  for (let i = 0; i < n; i++) lines.push(`:${chain(i)} - [0:0]`);
  lines.push('-A OUTPUT -j KUBE-SERVICES');
  for (let i = 0; i < n; i++) lines.push(`-A KUBE-SERVICES -d ${vip(i)}/32 -p tcp -m tcp --dport 80 -j ${chain(i)}`);
  for (let i = 0; i < n; i++) {
    const [a, b] = i === n - 1 ? target : dummyBackends(i);
    lines.push(`-A ${chain(i)} -p tcp -m statistic --mode random --probability 0.50000000000 -j DNAT --to-destination ${a}:${PORT}`);
    lines.push(`-A ${chain(i)} -p tcp -j DNAT --to-destination ${b}:${PORT}`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function quantile(xs: readonly number[], q: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ConnectLbBenchError(`client timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

/** One latency case: where the client runs and what it connects to. */
interface Case {
  name: string;
  cgroup: Cgroup;
  ns: NetNs;
  addr: string;
  port: number;
  /** Flush conntrack in `ns` before each run. */
  conntrack: boolean;
}

export async function run(args: string[]): Promise<void> {
  let n = 2000;
  let rounds = 5;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--quick') {
      n = 500;
      rounds = 3;
    } else if (args[i] === '--n') n = Math.max(50, Number(args[++i]) || n);
    else if (args[i] === '--rounds') rounds = Math.max(1, Number(args[++i]) || rounds);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new ConnectLbBenchError('connect-lb needs root (namespaces, cgroups, BPF)');
  if (!which('gcc')) throw new ConnectLbBenchError('connect-lb needs gcc to build its latency client');
  const log = (s: string) => console.log(s);

  const tools = {
    nft: which('iptables-nft') && which('iptables-nft-restore'),
    legacy: which('iptables-legacy') && which('iptables-legacy-restore'),
    clang: which('clang-22'),
    conntrack: which('conntrack'),
  };
  if (!tools.nft) log('iptables-nft column: skipped (iptables-nft / iptables-nft-restore not found; Debian package iptables)');
  if (!tools.legacy) log('iptables-legacy column: skipped (iptables-legacy / iptables-legacy-restore not found; Debian package iptables)');
  if (!tools.clang) log('tsbpf C twin column: skipped (clang-22 not found)');
  if (!tools.conntrack) log('note: conntrack not found: conntrack is not flushed between runs');

  const p = `clb${(process.pid % 10000).toString(36)}`;
  const tmp = mkdtempSync(join(tmpdir(), 'tsbpf-connect-lb-bench-'));
  const cleanup: Array<() => void | Promise<void>> = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const bin = join(tmp, 'connect_lat');
    execFileSync('gcc', ['-O2', '-o', bin, twinSource('connect_lat.c')], { stdio: ['ignore', 'ignore', 'inherit'] });

    // Topology: backend namespace B; client namespaces E (tsbpf and floor), N (nft), L (legacy), one veth each.
    const mkNs = (tag: string) => {
      const ns = NetNs.create(`${p}${tag}`);
      cleanup.push(() => ns.remove());
      return ns;
    };
    const B = mkNs('B');
    const clients = { E: mkNs('E'), N: mkNs('N'), L: mkNs('L') };
    const targets: Record<string, string[]> = {};
    Object.entries(clients).forEach(([tag, ns], j) => {
      const k = j + 1;
      createVethPair({ name: `${p}c${tag}`, ns, address: `10.88.${k}.1/24` }, { name: `${p}b${tag}`, ns: B, address: [`10.88.${k}.2/24`, `10.88.${k}.3/24`] });
      ns.exec('sysctl', ['-qw', 'net.ipv4.ip_local_port_range=10000 65000']);
      // iptables DNATs after the route lookup: the VIP range needs a route (as a node's default route gives).
      ns.ip(['route', 'add', '10.96.0.0/16', 'via', `10.88.${k}.2`]);
      targets[tag] = [`10.88.${k}.2`, `10.88.${k}.3`];
    });

    const mkCg = (tag: string) => {
      const cg = Cgroup.create(`${p}-${tag}`);
      cleanup.push(() => cg.remove());
      return cg;
    };
    const bare = mkCg('bare');

    // The sink server, pinned, in B.
    const server = spawn('nsenter', [`--net=${B.path}`, '--', bin, 'server', String(SERVER_CPU), String(PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => {
      server.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new ConnectLbBenchError('server did not start')), 10_000);
      server.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      server.on('exit', (code) => reject(new ConnectLbBenchError(`server exited with ${code}`)));
    });

    // tsbpf: the DSL datapath (and the C twin) each attached to its own cgroup.
    const impls: DatapathImpl[] = [dslDatapath(), ...(tools.clang ? [cTwinDatapath()] : [])];
    const lbs: Array<{ impl: DatapathImpl; lb: ConnectLb }> = [];
    for (const impl of impls) {
      const cg = mkCg(impl.name === 'dsl' ? 'dsl' : 'c');
      const lb = ConnectLb.attach({ datapath: impl, cgroup: cg });
      cleanup.push(() => lb.close());
      lbs.push({ impl, lb });
    }
    if (tools.clang) {
      const spec = readCollectionSpec(compileTwin());
      log(`instructions, dsl / c(clang-22 -O2): ${HOOKS.map((h) => `${h} ${dslPrograms[h].build().insns.length}/${spec.programs.get(`lb_${h}`)!.insns.length}`).join(', ')}`);
    }
    log(`connect-lb: tsbpf datapath: ${lbs.map((l) => l.impl.name).join(' and ')} (the ratios use ${lbs[0]!.impl.name}); client on CPU ${CLIENT_CPU}, server on CPU ${SERVER_CPU}; ${n} connects x ${rounds} rounds per case`);

    const ipt = (which: 'nft' | 'legacy', ns: NetNs, file: string) =>
      execFileSync('nsenter', [`--net=${ns.path}`, '--', `iptables-${which}-restore`, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    const emptyRules = join(tmp, 'empty.rules');
    writeFileSync(emptyRules, '*nat\nCOMMIT\n');

    const runClient = async (c: Case): Promise<number[]> => {
      if (c.conntrack && tools.conntrack) {
        try {
          execFileSync('nsenter', [`--net=${c.ns.path}`, '--', 'conntrack', '-F'], { stdio: 'ignore' });
        } catch {
          // an empty table makes conntrack -F fail on some versions
        }
      }
      const child = c.cgroup.spawn('nsenter', [`--net=${c.ns.path}`, '--', bin, 'client', String(CLIENT_CPU), c.addr, String(c.port), String(n), '50'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const r = await waitExit(child, 300_000);
      if (r.code !== 0) throw new ConnectLbBenchError(`client (${c.name}) exited with ${r.code}: ${r.err.trim()}`);
      const lines = r.out.trim().split('\n');
      const errors = Number(lines.pop()!.split(' ')[1]);
      if (errors > 0) throw new ConnectLbBenchError(`client (${c.name}): ${errors} connects failed`);
      return lines.map(Number);
    };

    type Fig = { p50: number; p99: number };
    const results = new Map<number, Map<string, Fig>>();
    const sync: Record<string, number[]> = { tsbpf: [], nft: [], legacy: [] };

    for (const level of LEVELS) {
      // Program every side; at 10,000 services, time it (3 times, into empty tables).
      const reps = level === 10_000 ? 3 : 1;
      for (let r = 0; r < reps; r++) {
        lbs.forEach(({ lb }, k) => {
          lb.controlPlane.clear();
          const list = serviceList(level, targets.E!);
          const t0 = process.hrtime.bigint();
          lb.controlPlane.addServices(list);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (level === 10_000 && k === 0) sync.tsbpf!.push(ms);
        });
        for (const [which, tag] of [['nft', 'N'], ['legacy', 'L']] as const) {
          if (!tools[which]) continue;
          const ns = clients[tag];
          const file = join(tmp, `${which}-${level}.rules`);
          writeFileSync(file, iptablesRules(level, targets[tag]!));
          ipt(which, ns, emptyRules);
          const t0 = process.hrtime.bigint();
          ipt(which, ns, file);
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (level === 10_000) sync[which]!.push(ms);
        }
      }

      const target = vip(level - 1);
      const cases: Case[] = [
        { name: 'floor', cgroup: bare, ns: clients.E, addr: targets.E![0]!, port: PORT, conntrack: false },
        ...lbs.map(({ impl, lb }) => ({ name: `tsbpf(${impl.name})`, cgroup: lb.cgroup, ns: clients.E, addr: target, port: 80, conntrack: false })),
        ...(tools.nft ? [{ name: 'iptables-nft', cgroup: bare, ns: clients.N, addr: target, port: 80, conntrack: true }] : []),
        ...(tools.legacy ? [{ name: 'iptables-legacy', cgroup: bare, ns: clients.L, addr: target, port: 80, conntrack: true }] : []),
      ];
      const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
      for (let r = 0; r < rounds; r++) {
        // Rotate the order each round (interleaved A B C, B C A, ...).
        for (let k = 0; k < cases.length; k++) {
          const c = cases[(k + r) % cases.length]!;
          samples.get(c.name)!.push(...(await runClient(c)));
        }
      }
      const figs = new Map<string, Fig>();
      for (const [name, xs] of samples) figs.set(name, { p50: median(xs) / 1000, p99: quantile(xs, 0.99) / 1000 });
      results.set(level, figs);
      log(`${String(level).padStart(6)} services: ${[...figs].map(([name, f]) => `${name} p50 ${f.p50.toFixed(1)} us p99 ${f.p99.toFixed(1)} us`).join(' | ')}`);
    }

    const syncMs = { tsbpf: median(sync.tsbpf!), nft: sync.nft!.length ? median(sync.nft!) : NaN, legacy: sync.legacy!.length ? median(sync.legacy!) : NaN };
    log(
      `programming 10,000 services: tsbpf control plane ${syncMs.tsbpf.toFixed(1)} ms` +
        (tools.nft ? `, iptables-nft-restore ${syncMs.nft.toFixed(1)} ms` : '') +
        (tools.legacy ? `, iptables-legacy-restore ${syncMs.legacy.toFixed(1)} ms` : ''),
    );
    const r10 = results.get(10_000)!;
    const r1 = results.get(1)!;
    const ts = `tsbpf(${lbs[0]!.impl.name})`;
    const t10 = r10.get(ts)!.p50;
    // Absolute figures drift between levels (the host's load changes); the floor-normalised ratio is the fair flatness figure.
    const norm1 = r1.get(ts)!.p50 / r1.get('floor')!.p50;
    const norm10 = t10 / r10.get('floor')!.p50;
    log(`tsbpf flatness: p50 10,000 services / 1 service ${(t10 / r1.get(ts)!.p50).toFixed(2)}; over the floor ${norm1.toFixed(2)} (1 service) -> ${norm10.toFixed(2)} (10,000)`);
    const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
    const nft10 = r10.get('iptables-nft')?.p50 ?? NaN;
    const leg10 = r10.get('iptables-legacy')?.p50 ?? NaN;
    log(
      `connect-lb: latency_ratio_10k=${fmt(nft10 / t10)} latency_ratio_10k_legacy=${fmt(leg10 / t10)} floor_ratio_10k=${fmt(t10 / r10.get('floor')!.p50)} ` +
        `sync_ratio_10k=${fmt(syncMs.nft / syncMs.tsbpf)} sync_ratio_10k_legacy=${fmt(syncMs.legacy / syncMs.tsbpf)}`,
    );
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
  }
}
