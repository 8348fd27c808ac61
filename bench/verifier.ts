/**
 * `tsbpf bench verifier`: verifier-lite against the kernel's verifier on the
 * differential corpus (bench/verifier/corpus.ts: reference-style programs,
 * per-rule valid/invalid programs, mutants and seeded random programs).
 *
 * 1. Verdicts: every program is loaded into the kernel (log level 1) and
 *    checked by verifier-lite; prints the confusion matrix per rule class,
 *    agreement, false-reject and false-accept rates and how often both
 *    name the same failing instruction and message class.
 * 2. Time: for the programs the kernel accepts (after an uncounted warm-up:
 *    ten verifier-lite passes over the corpus, then one interleaved round),
 *    kernel verification time
 *    (log level 4 alone, `verification time N usec`) and verifier-lite's time,
 *    interleaved program by program over several rounds; the per-program
 *    ratio uses the medians, and the reported ratio is the median over
 *    programs (kernel times under 1 usec count as 1 usec). verifier-lite's
 *    time at each step is the median of three back-to-back runs (the kernel
 *    load in between evicts its caches, while the kernel's verifier code stays
 *    warm from load to load); the ratio of single runs is printed as well.
 *
 * Needs root. Options: `--rounds R` (default 7), `--random N` (default 400),
 * `--seed S` (default 1), `--quick` (3 rounds, 100 random programs).
 *
 * Last line: `verifier: agreement=<..> false_reject=<..> false_accept=<..> time_ratio_vs_kernel=<..>`.
 *
 * @module
 */
import { buildCorpus } from './verifier/corpus.js';
import { dslReferencePrograms } from './verifier/dsl-corpus.js';
import { compare, summarize, rates } from './verifier/differential.js';
import { kernelLoad, possibleCpus } from './verifier/kernel.js';
import { verify } from '../lib/verifier/verify.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function opt(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : dflt;
}

/** Runs the benchmark. */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const rounds = opt(args, '--rounds', quick ? 3 : 7);
  const random = opt(args, '--random', quick ? 100 : 400);
  const seed = opt(args, '--seed', 1);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.log('verifier: needs root to load programs into the kernel');
    return;
  }
  const corpus = buildCorpus(seed, random, dslReferencePrograms());
  const nrCpus = possibleCpus();
  console.log(`corpus: ${corpus.length} programs (seed ${seed}, ${random} random)`);

  // 1. Verdicts.
  const cs = corpus.map(compare);
  const { total, byRule } = summarize(cs);
  console.log('rule class          n  ok/ok err/err false_rej false_acc same_insn same_class');
  for (const [rule, m] of [...byRule].sort((a, b) => a[0].localeCompare(b[0]))) {
    const r = rates(m);
    console.log(
      `${rule.padEnd(17)} ${String(r.n).padStart(4)} ${String(m.okOk).padStart(6)} ${String(m.errErr).padStart(7)} ${String(m.falseReject).padStart(9)} ${String(m.falseAccept).padStart(9)} ${`${m.sameInsn}/${m.errErr}`.padStart(9)} ${`${m.sameClass}/${m.errErr}`.padStart(10)}`,
    );
  }
  const r = rates(total);
  for (const c of cs.filter((x) => !x.agree)) {
    const d = c.lite.diagnostics.find((x) => x.severity === 'error');
    console.log(`  disagree ${c.entry.name}: kernel=${c.kernelOk ? 'ok' : c.kernel.message} lite=${c.liteOk ? 'ok' : d?.message}`);
  }

  // 2. Time, interleaved, on programs the kernel accepts.
  const timed = cs.filter((c) => c.kernelOk).map((c) => c.entry);
  const kT = timed.map(() => [] as number[]);
  const lT = timed.map(() => [] as number[]);
  const l1T = timed.map(() => [] as number[]);
  // Warm-up, not counted: verifier-lite runs over the corpus a few times (V8
  // optimises hot code after some thousand calls, as in any long-running
  // process: a DSL build, a CLI run over many objects), then round -1 warms
  // both sides in the interleaved order.
  for (let w = 0; w < 10; w++) {
    for (const c of cs) verify({ insns: c.entry.insns, progType: c.entry.progType, expectedAttachType: c.entry.attach, maps: c.entry.maps, gpl: c.entry.gpl }, { nrCpus });
  }
  for (let round = -1; round < rounds; round++) {
    timed.forEach((e, i) => {
      if (round < 0) {
        kernelLoad(e.insns, e.progType, { expectedAttachType: e.attach, maps: e.maps, gpl: e.gpl, logLevel: 4 });
        verify({ insns: e.insns, progType: e.progType, expectedAttachType: e.attach, maps: e.maps, gpl: e.gpl }, { nrCpus });
        return;
      }
      const k = kernelLoad(e.insns, e.progType, { expectedAttachType: e.attach, maps: e.maps, gpl: e.gpl, logLevel: 4 });
      if (k.verificationUs !== undefined) kT[i]!.push(k.verificationUs);
      // Three back-to-back runs, the median counted: the first pays for the
      // caches the kernel load just evicted (the kernel's own verifier code
      // is cache-warm from the previous load); the single-run figure is kept too.
      const three: number[] = [];
      for (let j = 0; j < 3; j++) {
        const t0 = process.hrtime.bigint();
        verify({ insns: e.insns, progType: e.progType, expectedAttachType: e.attach, maps: e.maps, gpl: e.gpl }, { nrCpus });
        three.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      l1T[i]!.push(three[0]!);
      lT[i]!.push(median(three));
    });
  }
  const ratios: number[] = [];
  const refRatios: string[] = [];
  timed.forEach((e, i) => {
    const k = Math.max(1, median(kT[i]!));
    const l = median(lT[i]!);
    ratios.push(l / k);
    if ((e.name.startsWith('ref/') || e.name.startsWith('dsl/')) && !e.name.includes('@')) refRatios.push(`${e.name}: kernel ${k.toFixed(0)} us, lite ${l.toFixed(1)} us`);
  });
  console.log(refRatios.join('\n'));
  const kMed = median(timed.map((_, i) => median(kT[i]!)));
  const lMed = median(timed.map((_, i) => median(lT[i]!)));
  const ratio = median(ratios);
  const ratio1 = median(timed.map((_, i) => median(l1T[i]!) / Math.max(1, median(kT[i]!))));
  console.log(`verifier-lite single cold run right after each kernel load: median ratio ${ratio1.toFixed(2)}`);
  console.log(`time over ${timed.length} accepted programs x ${rounds} rounds: kernel median ${kMed.toFixed(1)} us, verifier-lite median ${lMed.toFixed(1)} us, median ratio ${ratio.toFixed(2)}`);
  console.log(
    `verifier: agreement=${r.agreement.toFixed(4)} false_reject=${r.falseReject.toFixed(4)} false_accept=${r.falseAccept.toFixed(4)} time_ratio_vs_kernel=${ratio.toFixed(2)}`,
  );
}
