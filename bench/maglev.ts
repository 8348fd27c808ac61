/**
 * `tsbpf bench maglev`: the Maglev load balancer (bpf-progs/maglev).
 *
 * Parts (issue 7):
 * 1. datapath ns/packet, DSL vs the C twin bench/twins/maglev_xdp.c
 *    (clang-22 -O2), service path (BENCH_RESTORE variant: every iteration
 *    encapsulates and restores) and pass path, and instruction counts --
 *    (`benchDatapath`, both implementations of `datapathImpls()`);
 * 2. Maglev table generation, TypeScript (bpf-progs/maglev/table.ts) vs the
 *    same algorithm in C (bench/twins/maglev_table.c, gcc -O2, built here in a
 *    temporary directory), M=16381 with 100 backends and M=131071 with 1,000
 *    backends; interleaved rounds, medians, ratio; both must produce the
 *    identical table -- DONE;
 * 3. time to install one service with a 16381-slot table and 100 backends
 *    through the control plane (build the table, create the inner map, fill
 *    it with one batch update, swap it into the outer map), median of
 *    several updates -- DONE (needs root; skipped with a note otherwise). Most
 *    of it is the kernel's synchronize_rcu() in the map-in-map update, which
 *    guarantees no program still uses the old table when the call returns;
 * 4. pps with XDP live frames on a veth (BENCH_RESTORE variant: the page
 *    pool recycles frames without restoring their bytes; the peer runs an
 *    XDP_DROP program so XDP_TX frames are delivered) (`benchLive`; the
 *    C twin's figure is printed too).
 *
 * The last line: `maglev: ns_ratio_vs_clang=<..> ns_ratio_vs_clang_pass=<..>
 * insn_ratio_vs_clang=<..> table_ratio_vs_c=<..> install_ms=<..>
 * mpps_live=<..>` (ratios DSL / C; without root or clang-22 only the keys
 * measured; each side's own figures are printed on the lines before).
 *
 * Options: `--rounds N` (interleaved rounds per case, default 9), `--quick`
 * (3 rounds).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maglevTable, tableChecksum, type MaglevBackend } from '../bpf-progs/maglev/table.js';
import { MaglevControlPlane, type MaglevMaps } from '../bpf-progs/maglev/control-plane.js';
import { packet } from '../bpf-progs/maglev/packet.js';
import { loadMaglevDatapath } from '../bpf-progs/maglev/datapath.js';
import { readCollectionSpec } from '../lib/elf/index.js';
import { Collection } from '../lib/kernel/collection.js';
import { Program } from '../lib/kernel/program.js';
import { Link } from '../lib/kernel/link.js';
import { NetNs, withNetns } from '../lib/kernel/netns.js';
import { createVethPair, ifIndex } from '../lib/kernel/netdev.js';
import { exit, mov64Imm } from '../lib/isa/index.js';
import { ProgType, XdpAction } from '../lib/uapi/prog-types.js';
import { TsbpfError } from '../lib/errors.js';
import { twinSource } from './_twins.js';


/** The benchmark cannot run or its two sides disagree. */
export class BenchError extends TsbpfError {}

/** The median of `xs` (not empty). */
export function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Backend names as a control plane would have them: `10.<i/250>.<i%250>.2:8080`. */
export function benchBackends(n: number): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({ name: `10.${1 + Math.floor(i / 250)}.${i % 250}.2:8080` }));
}

/** Result of one table-generation case. */
export interface TableCase {
  m: number;
  backends: number;
  tsNs: number;
  cNs: number;
  ratio: number;
  identical: boolean;
}

/** Part 2: table generation, TypeScript vs C (gcc -O2), interleaved. */
export function benchTable(rounds: number, log: (s: string) => void = console.log): TableCase[] {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-maglev-'));
  try {
    const exe = join(dir, 'maglev_table');
    execFileSync('gcc', ['-O2', '-o', exe, twinSource('maglev_table.c')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const cases: Array<[number, number, number]> = [
      [16381, 100, 25],
      [131071, 1000, 6],
    ];
    const out: TableCase[] = [];
    for (const [m, n, reps] of cases) {
      const backends = benchBackends(n);
      const namesFile = join(dir, `names-${n}.txt`);
      const dump = join(dir, `table-${m}.bin`);
      writeFileSync(namesFile, backends.map((b) => b.name).join('\n') + '\n');
      // Warm the JIT before timing (C is compiled ahead of time).
      let table = maglevTable(backends, m);
      for (let i = 0; i < 3 * reps; i++) table = maglevTable(backends, m);
      const cTimes: number[] = [];
      const tsTimes: number[] = [];
      let cChecksum = '';
      for (let r = 0; r < rounds; r++) {
        const text = execFileSync(exe, [namesFile, String(m), String(reps), ...(r === 0 ? [dump] : [])], { encoding: 'utf8' });
        for (const line of text.split('\n')) {
          const [key, ...vals] = line.split(' ');
          if (key === 'ns') cTimes.push(...vals.map(Number));
          if (key === 'checksum') cChecksum = vals[0]!;
        }
        for (let i = 0; i < reps; i++) {
          const t0 = process.hrtime.bigint();
          table = maglevTable(backends, m);
          tsTimes.push(Number(process.hrtime.bigint() - t0));
        }
      }
      const cTable = new Int32Array(new Uint8Array(readFileSync(dump)).buffer);
      const identical =
        cChecksum === tableChecksum(table).toString(16).padStart(8, '0') &&
        cTable.length === table.length &&
        cTable.every((v, i) => v === table[i]);
      const tsNs = median(tsTimes);
      const cNs = median(cTimes);
      const c: TableCase = { m, backends: n, tsNs, cNs, ratio: tsNs / cNs, identical };
      out.push(c);
      log(
        `table M=${m} backends=${n}: ts ${(tsNs / 1e6).toFixed(3)} ms, c(gcc -O2) ${(cNs / 1e6).toFixed(3)} ms, ` +
          `ratio ${c.ratio.toFixed(2)}, identical=${identical} (${rounds} rounds x ${reps}, medians)`,
      );
      if (!identical) throw new BenchError(`Maglev tables differ between TypeScript and C for M=${m}, ${n} backends`);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Part 3: milliseconds to install (update) one service with a 16381-slot table and 100 backends; median of `runs`. */
export function benchInstall(runs: number, log: (s: string) => void = console.log): number {
  using lb = MaglevControlPlane.create({ maxServices: 4, maxBackends: 1024, seed: 1 });
  const svc = { vip: '198.51.100.1', port: 80, proto: 'tcp' as const };
  const sets = [0, 1].map((k) => Array.from({ length: 100 }, (_, i) => ({ address: `10.0.${k}.${i + 1}` })));
  const t0 = process.hrtime.bigint();
  lb.addService(svc, sets[0]!);
  const first = Number(process.hrtime.bigint() - t0) / 1e6;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    lb.updateService(svc, sets[(i + 1) % 2]!);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ms = median(times);
  log(`install 16381 slots, 100 backends: median ${ms.toFixed(2)} ms over ${runs} updates (first add, with 100 backend entries: ${first.toFixed(2)} ms)`);
  return ms;
}

// ---------------------------------------------------------------------------
// Parts 1 and 4: the datapath.

/** One loaded datapath variant: the XDP program and the maps the control plane fills. */
export interface LoadedDatapath {
  program: Program;
  maps: MaglevMaps;
  /** Instructions (8-byte slots) of the program as built. */
  insns: number;
  close(): void;
}

/** A datapath implementation to compare: the C twin, and later the DSL datapath. */
export interface DatapathImpl {
  name: string;
  /** Loads the plain datapath (`restore` false) or its BENCH_RESTORE variant. */
  load(restore: boolean): LoadedDatapath;
}

/** Compiles a BPF C file with clang-22 -O2 -g and returns the object bytes. */
export function compileBpf(source: string, defines: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-maglev-'));
  try {
    const out = join(dir, 'prog.o');
    execFileSync('clang-22', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...defines.map((d) => `-D${d}`), '-c', source, '-o', out], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The C twin bench/twins/maglev_xdp.c (clang-22 -O2), loaded with lib/kernel's collection loader. */
export function clangTwin(): DatapathImpl {
  const source = twinSource('maglev_xdp.c');
  return {
    name: 'c(clang-22 -O2)',
    load(restore) {
      const spec = readCollectionSpec(compileBpf(source, restore ? ['BENCH_RESTORE'] : []));
      const c = Collection.load(spec);
      return {
        program: c.program('maglev_xdp'),
        maps: { services: c.map('services'), backends: c.map('backends'), config: c.map('config') },
        insns: spec.programs.get('maglev_xdp')!.insns.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0),
        close: () => c.close(),
      };
    },
  };
}

/**
 * The implementations part 1 and 4 compare: the C twin and the DSL datapath
 * (bpf-progs/maglev/datapath.ts); the ratios `ns_ratio_vs_clang`, `ns_ratio_vs_clang_pass`, `insn_ratio_vs_clang`
 * are then DSL / C, and `mpps_live` the DSL figure.
 */
export function datapathImpls(): DatapathImpl[] {
  return [clangTwin(), dslDatapath()];
}

/** The DSL datapath bpf-progs/maglev/datapath.ts, loaded with lib/kernel's DSL loader. */
export function dslDatapath(): DatapathImpl {
  return {
    name: 'dsl',
    load: (restore) => loadMaglevDatapath({ restore }),
  };
}

const BENCH_SVC = { vip: '198.51.100.10', port: 80, proto: 'tcp' as const };
const svcPacket = () => packet({ src: '203.0.113.7', dst: BENCH_SVC.vip, srcPort: 51234, dstPort: 80, proto: 6 });
const passPacket = () => packet({ src: '203.0.113.7', dst: BENCH_SVC.vip, srcPort: 51234, dstPort: 22, proto: 6 });

/** Fills a datapath's maps: one service, 100 backends, 16381 slots. */
function configure(d: LoadedDatapath): MaglevControlPlane {
  const lb = new MaglevControlPlane(d.maps, { seed: 0x5eed, src4: '192.0.2.1', src6: '2001:db8::1' });
  lb.addService(BENCH_SVC, Array.from({ length: 100 }, (_, i) => ({ address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` })));
  return lb;
}

/** Figures of one implementation in part 1. */
export interface DatapathFigures {
  name: string;
  serviceNs: number;
  passNs: number;
  insns: number;
}

/** Part 1: ns per packet on the service path (restore variant) and the pass path, interleaved across implementations. */
export function benchDatapath(impls: DatapathImpl[], rounds: number, log: (s: string) => void = console.log): DatapathFigures[] {
  const REPEAT = 1_000_000;
  const loaded: Array<{ impl: DatapathImpl; svc: LoadedDatapath; plain: LoadedDatapath; lbs: MaglevControlPlane[] }> = [];
  try {
    for (const impl of impls) {
      const svc = impl.load(true);
      let plain: LoadedDatapath;
      try {
        plain = impl.load(false);
      } catch (e) {
        svc.close();
        throw e;
      }
      loaded.push({ impl, svc, plain, lbs: [configure(svc), configure(plain)] });
    }
    const sp = svcPacket();
    const pp = passPacket();
    const times = loaded.map(() => ({ svc: [] as number[], pass: [] as number[] }));
    for (let r = 0; r < rounds; r++) {
      loaded.forEach((l, i) => {
        const a = l.svc.program.testRun({ data: sp, repeat: REPEAT });
        if (a.retval !== XdpAction.XDP_TX || Buffer.compare(a.dataOut, sp) !== 0) throw new BenchError(`${l.impl.name}: service path returned ${a.retval} or did not restore the packet`);
        times[i]!.svc.push(a.duration);
        const b = l.plain.program.testRun({ data: pp, repeat: REPEAT });
        if (b.retval !== XdpAction.XDP_PASS) throw new BenchError(`${l.impl.name}: pass path returned ${b.retval}`);
        times[i]!.pass.push(b.duration);
      });
    }
    return loaded.map((l, i) => {
      const f: DatapathFigures = { name: l.impl.name, serviceNs: median(times[i]!.svc), passNs: median(times[i]!.pass), insns: l.plain.insns };
      log(`datapath ${f.name}: service path ${f.serviceNs} ns/packet (encapsulate + restore), pass path ${f.passNs} ns/packet, ${f.insns} insns (${rounds} rounds x ${REPEAT}, medians)`);
      return f;
    });
  } finally {
    for (const l of loaded) {
      for (const lb of l.lbs) lb.close();
      l.svc.close();
      l.plain.close();
    }
  }
}

/** RX packet count of `dev` in `ns` (`ip -s -j link`). */
function rxPackets(ns: NetNs, dev: string): number {
  const out = execFileSync('ip', ['-n', ns.name!, '-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  const j = JSON.parse(out) as Array<{ stats64?: { rx?: { packets?: number } } }>;
  return j[0]?.stats64?.rx?.packets ?? 0;
}

/** Part 4: Mpps with XDP live frames into a veth whose peer drops (restore variant), per implementation. */
export function benchLive(impls: DatapathImpl[], rounds: number, log: (s: string) => void = console.log): Array<{ name: string; mpps: number }> {
  const tag = `mg${(process.pid % 100000).toString(36)}`;
  const nsA = NetNs.create(`${tag}la`);
  let nsB: NetNs | undefined;
  const cleanup: Array<() => void> = [];
  try {
    nsB = NetNs.create(`${tag}lb`);
    createVethPair({ name: `${tag}va`, ns: nsA, address: '10.232.0.1/24' }, { name: `${tag}vb`, ns: nsB, address: '10.232.0.2/24' });
    const ifA = ifIndex(`${tag}va`, nsA);
    const ifB = ifIndex(`${tag}vb`, nsB);
    const drop = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, XdpAction.XDP_DROP), exit()], name: 'peer_drop' });
    cleanup.push(() => drop.close());
    const peer = withNetns(nsB, () => Link.xdp(drop, ifB));
    cleanup.push(() => peer.close());
    const sp = svcPacket();
    const loaded = impls.map((impl) => {
      const d = impl.load(true);
      cleanup.push(() => d.close());
      const lb = configure(d);
      cleanup.push(() => lb.close());
      return { impl, d };
    });
    const REPEAT = 2_000_000;
    const times = loaded.map(() => [] as number[]);
    const rxBefore = rxPackets(nsB, `${tag}vb`);
    for (let r = 0; r < rounds; r++) {
      loaded.forEach((l, i) => {
        const res = withNetns(nsA, () => l.d.program.testRun({ data: sp, repeat: REPEAT, xdpLiveFrames: { ingressIfindex: ifA } }));
        times[i]!.push(res.duration);
      });
    }
    // Live mode reports no verdict: check that the frames reached the peer.
    const received = rxPackets(nsB, `${tag}vb`) - rxBefore;
    const sent = REPEAT * rounds * loaded.length;
    if (received < 0.9 * sent) throw new BenchError(`live frames: the peer received ${received} of ${sent} frames`);
    log(`live frames: the peer received ${received} of ${sent} frames`);
    return loaded.map((l, i) => {
      const ns = median(times[i]!);
      const mpps = 1000 / ns;
      log(`live frames ${l.impl.name}: ${ns} ns/frame, ${mpps.toFixed(2)} Mpps (XDP_TX into a veth, ${rounds} rounds x ${REPEAT}, medians)`);
      return { name: l.impl.name, mpps };
    });
  } finally {
    for (const c of cleanup.reverse()) {
      try {
        c();
      } catch {
        // keep cleaning up
      }
    }
    nsB?.remove();
    nsA.remove();
  }
}

/** Runs the benchmark; see the module comment for the parts and options. */
export async function run(args: string[]): Promise<void> {
  let rounds = 9;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--quick') rounds = 3;
    else if (args[i] === '--rounds') rounds = Math.max(1, Number(args[++i]) || 9);
  }
  const cases = benchTable(rounds);
  // Geometric mean of the per-case ratios.
  const ratio = Math.exp(cases.reduce((s, c) => s + Math.log(c.ratio), 0) / cases.length);
  const keys = [`table_ratio_vs_c=${ratio.toFixed(2)}`];
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    keys.push(`install_ms=${benchInstall(rounds >= 9 ? 15 : 5).toFixed(2)}`);
    let clang = true;
    try {
      execFileSync('clang-22', ['--version'], { stdio: 'ignore' });
    } catch {
      clang = false;
      console.log('datapath and live parts: skipped (clang-22 not found: the C twin cannot be built)');
    }
    const impls = clang ? datapathImpls() : [];
    const dp = clang ? benchDatapath(impls, rounds >= 9 ? 7 : 3) : [];
    const live = clang ? benchLive(impls, rounds >= 9 ? 5 : 2) : [];
    // With the DSL datapath as impls[1]: the ratios against the C twin (impls[0]).
    if (dp.length > 1 && live.length > 1) {
      const [c, dsl] = [dp[0]!, dp[1]!];
      keys.unshift(
        `ns_ratio_vs_clang=${(dsl.serviceNs / c.serviceNs).toFixed(2)}`,
        `ns_ratio_vs_clang_pass=${(dsl.passNs / c.passNs).toFixed(2)}`,
        `insn_ratio_vs_clang=${(dsl.insns / c.insns).toFixed(2)}`,
      );
      keys.push(`mpps_live=${live[1]!.mpps.toFixed(2)}`);
    }
  } else {
    console.log('install, datapath and live parts: skipped (need root)');
  }
  console.log(`maglev: ${keys.join(' ')}`);
}
