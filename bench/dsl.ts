/**
 * `tsbpf bench dsl`: DSL programs against their C twins (bench/twins/*.c,
 * compiled here with clang-22 -O2) in one run. Per program: instruction
 * count (8-byte slots), BPF_PROG_RUN ns per run with repeat 1,000,000 (DSL
 * and clang interleaved back to back; medians of the rounds, and the ratio
 * as the median of the per-round ratios), and the DSL build time
 * (median of several fresh builds). sock_addr programs have no
 * BPF_PROG_RUN, so they count instructions only.
 *
 * Each timed program runs a path that leaves the packet as it found it (or
 * rewrites it to the same bytes every time), and the final return value of
 * every run is checked to be the expected verdict on both sides.
 *
 * Options: `--rounds N` (default 11), `--repeat N` (default 1,000,000),
 * `--quick` (3 rounds, repeat 200,000).
 *
 * Last line: `dsl: ns_ratio_vs_clang=<geomean> insn_ratio_vs_clang=<geomean>`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slotCount } from '../lib/isa/insn.js';
import { Collection } from '../lib/kernel/collection.js';
import { loadDslProgram, type LoadedDslProgram } from '../lib/kernel/dsl-loader.js';
import type { BpfMap } from '../lib/kernel/map.js';
import type { Program } from '../lib/kernel/program.js';
import type { DslProgram } from '../lib/dsl/program.js';
import * as P from './_dsl-programs.js';
import { twinSource } from './_twins.js';


function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/** An Ethernet/IPv4/UDP packet (10.0.0.1:1234 -> 10.0.0.2:53). */
function udpPacket(): Uint8Array {
  const p = new Uint8Array(14 + 20 + 8 + 32);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  p[14] = 0x45;
  v.setUint16(16, p.length - 14);
  p[22] = 64;
  p[23] = 17;
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  v.setUint16(34, 1234);
  v.setUint16(36, 53);
  v.setUint16(38, 8 + 32);
  return p;
}

interface Case {
  name: string;
  dsl: DslProgram<never>;
  /** The C twin: bench/twins/<twin>.c. */
  twin: string;
  /** The program in the twin (default: `twin`). */
  twinProgram?: string;
  /** Fills the maps (by name) before a timed run. */
  setup?: (maps: (name: string) => BpfMap) => void;
  /** Expected return value of the final iteration; undefined: not timed. */
  expect?: number;
}

const PKT = udpPacket();

const cases: Case[] = [
  { name: 'count_udp', dsl: P.countUdp as DslProgram<never>, twin: 'count_udp', expect: 2 },
  {
    name: 'xdp_lb',
    dsl: P.xdpLb as DslProgram<never>,
    twin: 'xdp_lb',
    expect: 3,
    setup: (m) => {
      m('lb_services').update(P.lbServices.key.encode({ port: 53, proto: 17, pad: 0 }), P.lbServices.value.encode({ ring_off: 0, flags: 0 }));
      for (let i = 0; i < P.RING; i++) m('lb_ring').update(P.lbRing.key.encode(i), P.lbRing.value.encode(1 + (i % 3)));
      for (let i = 1; i <= 3; i++) {
        m('lb_backends').update(P.lbBackends.key.encode(i), P.lbBackends.value.encode({ ip: 0x0a000100 + i, mac: `02:00:00:00:01:0${i}`, pad: 0 }));
      }
    },
  },
  {
    name: 'tc_fast',
    dsl: P.tcFast as DslProgram<never>,
    twin: 'tc_fast',
    expect: 7,
    setup: (m) => {
      m('ct_table').update(
        P.ctTable.key.encode({ saddr: 0x0a000001, daddr: 0x0a000002, sport: 1234, dport: 53, proto: 17, pad1: 0, pad2: 0 }),
        P.ctTable.value.encode({ ifindex: 1, mark: 7, packets: 0n, bytes: 0n }),
      );
    },
  },
  {
    name: 'edt_limiter',
    dsl: P.edtLimiter as DslProgram<never>,
    twin: 'edt_limiter',
    expect: 0,
    setup: (m) => {
      m('edt_config').update(P.edtConfig.key.encode(0), P.edtConfig.value.encode({ ns_per_byte: 8n, horizon_ns: 100_000_000_000n }));
      m('edt_flows').delete(P.edtFlows.key.encode(0x0200000a));
    },
  },
  { name: 'lb_connect4', dsl: P.connectLb4, twin: 'sock_lb', twinProgram: 'lb_connect4' },
  { name: 'lb_recvmsg4', dsl: P.recvmsgLb4, twin: 'sock_lb', twinProgram: 'lb_recvmsg4' },
];

/** Runs the benchmark (see the module doc). */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const num = (flag: string, d: number) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  const rounds = num('--rounds', quick ? 3 : 11);
  const repeat = num('--repeat', quick ? 200_000 : 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-dsl-'));
  const loaded: Array<{ close(): void }> = [];
  type Row = { name: string; insDsl: number; insC: number; nsDsl?: number; nsC?: number; nsRatio?: number; buildMs: number };
  const rows: Row[] = [];
  try {
    const sides = cases.map((c) => {
      // DSL build time: median of fresh builds
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        c.dsl.rebuild();
        times.push(performance.now() - t0);
      }
      const built = c.dsl.build();
      const obj = join(dir, `${c.name}.o`);
      execFileSync('clang-22', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', twinSource(`${c.twin}.c`), '-o', obj]);
      const coll = Collection.loadFile(obj);
      loaded.push(coll);
      const cName = c.twinProgram ?? c.twin;
      const cSpec = coll.spec.programs.get(cName)!;
      const dsl: LoadedDslProgram = loadDslProgram(built);
      loaded.push(dsl);
      const row: Row = { name: c.name, insDsl: slotCount(built.insns), insC: slotCount(cSpec.insns), buildMs: median(times) };
      rows.push(row);
      return {
        c,
        row,
        dslProg: dsl.program,
        cProg: coll.programs.get(cName)!,
        dslMap: (n: string) => dsl.map(n),
        cMap: (n: string) => coll.maps.get(n)!,
        ns: { dsl: [] as number[], c: [] as number[] },
      };
    });
    const timed = sides.filter((s) => s.c.expect !== undefined);
    const runOne = (prog: Program, maps: (n: string) => BpfMap, c: Case): number => {
      c.setup?.(maps);
      const r = prog.testRun({ data: PKT, repeat });
      if (r.retval !== c.expect) throw new Error(`${c.name}: expected verdict ${c.expect}, got ${r.retval}`);
      return r.duration;
    };
    for (let round = 0; round < rounds; round++) {
      for (const s of timed) {
        if (round % 2 === 0) {
          s.ns.dsl.push(runOne(s.dslProg, s.dslMap, s.c));
          s.ns.c.push(runOne(s.cProg, s.cMap, s.c));
        } else {
          s.ns.c.push(runOne(s.cProg, s.cMap, s.c));
          s.ns.dsl.push(runOne(s.dslProg, s.dslMap, s.c));
        }
      }
    }
    for (const s of timed) {
      s.row.nsDsl = median(s.ns.dsl);
      s.row.nsC = median(s.ns.c);
      // the ratio is the median of the per-round ratios: each pair ran back to back, under the same load
      s.row.nsRatio = median(s.ns.dsl.map((d, k) => d / s.ns.c[k]!));
    }
  } finally {
    for (const l of loaded.reverse()) l.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x: number | undefined, d = 1) => (x === undefined ? 'n/a' : x.toFixed(d));
  const lines = [
    `DSL vs clang-22 -O2, BPF_PROG_RUN repeat ${repeat}, ${rounds} interleaved rounds (ns: medians; ratio: median of per-round ratios)`,
    `${'program'.padEnd(13)} ${'insns dsl'.padStart(9)} ${'clang'.padStart(6)} ${'ratio'.padStart(6)}  ${'ns dsl'.padStart(7)} ${'clang'.padStart(7)} ${'ratio'.padStart(6)}  ${'build ms'.padStart(8)}`,
  ];
  for (const r of rows) {
    const nsRatio = r.nsRatio;
    lines.push(
      `${r.name.padEnd(13)} ${String(r.insDsl).padStart(9)} ${String(r.insC).padStart(6)} ${(r.insDsl / r.insC).toFixed(2).padStart(6)}  ${f(r.nsDsl).padStart(7)} ${f(r.nsC).padStart(7)} ${f(nsRatio, 3).padStart(6)}  ${r.buildMs.toFixed(2).padStart(8)}`,
    );
  }
  const nsRatios = rows.filter((r) => r.nsRatio !== undefined).map((r) => r.nsRatio!);
  const insRatios = rows.map((r) => r.insDsl / r.insC);
  lines.push(`dsl: ns_ratio_vs_clang=${geomean(nsRatios).toFixed(3)} insn_ratio_vs_clang=${geomean(insRatios).toFixed(3)}`);
  process.stdout.write(lines.join('\n') + '\n');
}
