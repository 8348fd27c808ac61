/**
 * Differential comparison of verifier-lite with the kernel on one program:
 * verdicts, failing instruction and message class, plus the confusion matrix
 * over a corpus. Used by test/verifier/differential.test.ts and
 * `tsbpf bench verifier`.
 */
import { verify } from '../../lib/verifier/verify.js';
import type { VerifyResult } from '../../lib/verifier/types.js';
import { kernelLoad, possibleCpus, type KernelVerdict } from './kernel.js';

const nrCpus = possibleCpus();
import type { CorpusEntry } from './corpus.js';

/** Message classes shared by the kernel's and verifier-lite's wording. */
const CLASSES: [string, RegExp][] = [
  ['too_large', /too large|too complex/],
  ['kfunc', /kfunc|kernel function|kernel module function/],
  ['infinite_loop', /infinite loop/],
  ['uninit', /!read_ok/],
  ['ctx', /bpf_context access|modified ctx|variable ctx/],
  ['packet', /packet|pkt_end/],
  ['map_value', /map value|allowed memory range|unbounded memory access, make sure/],
  ['invalid_mem', /invalid mem access/],
  ['stack', /stack|register spill|register fill/],
  ['pointer', /pointer|subtract/],
  ['helper', /helper|func |expected=|zero-sized|var &= const|not a known constant|GPL/],
  ['return', /At program exit/],
  ['reference', /[Uu]nreleased reference|reference leak|must be referenced/],
  ['structure', /kfunc|kernel function|btf_id|reserved fields|unknown opcode|jump out of range|unreachable insn|last insn|ld_imm64|ldimm64|invalid BPF_|call to invalid|R\d+ is invalid|frame pointer|div by zero|invalid shift|BPF_LD_|atomic|too deep|bpf_map|map_type|direct value/],
];

/** The class of a verifier message. */
export function messageClass(message: string): string {
  for (const [c, re] of CLASSES) if (re.test(message)) return c;
  return 'other';
}

/** The instruction a kernel rejection names: from static-check messages, else the last instruction printed. */
export function kernelInsn(k: KernelVerdict): number | undefined {
  const m = /unreachable insn (\d+)|jump out of range from insn (\d+)|infinite loop detected at insn (\d+)/.exec(k.message);
  if (m) return Number(m[1] ?? m[2] ?? m[3]);
  return k.insn;
}

/** One comparison. */
export interface Comparison {
  entry: CorpusEntry;
  kernel: KernelVerdict;
  lite: VerifyResult;
  kernelOk: boolean;
  liteOk: boolean;
  agree: boolean;
  /** Both rejected at the same instruction (undefined unless both rejected). */
  sameInsn?: boolean;
  /** Both rejected with the same message class. */
  sameClass?: boolean;
  kernelClass?: string;
  liteClass?: string;
  liteInsn?: number;
  kernelInsn?: number;
}

/** Runs both verifiers on an entry. */
export function compare(entry: CorpusEntry): Comparison {
  const opts = { expectedAttachType: entry.attach, maps: entry.maps, gpl: entry.gpl, logLevel: 1 };
  const kernel = kernelLoad(entry.insns, entry.progType, opts);
  const lite = verify({ insns: entry.insns, progType: entry.progType, expectedAttachType: entry.attach, maps: entry.maps, gpl: entry.gpl }, { nrCpus });
  const liteOk = lite.verdict !== 'error';
  const c: Comparison = { entry, kernel, lite, kernelOk: kernel.ok, liteOk, agree: kernel.ok === liteOk };
  if (!kernel.ok && !liteOk) {
    const d = lite.diagnostics.find((x) => x.severity === 'error')!;
    c.liteInsn = d.insn;
    c.kernelInsn = kernelInsn(kernel);
    c.sameInsn = c.kernelInsn === undefined || c.kernelInsn === d.insn;
    c.kernelClass = messageClass(kernel.message);
    c.liteClass = messageClass(d.detail ?? d.message);
    c.sameClass = c.kernelClass === c.liteClass || c.kernelClass === messageClass(d.message);
  }
  return c;
}

/** A confusion matrix (positive = rejected). */
export interface Matrix {
  /** Both accept. */
  okOk: number;
  /** Both reject. */
  errErr: number;
  /** Kernel accepts, verifier-lite rejects (false reject). */
  falseReject: number;
  /** Kernel rejects, verifier-lite accepts (false accept). */
  falseAccept: number;
  sameInsn: number;
  sameClass: number;
}

/** Figures over a set of comparisons. */
export function summarize(cs: Comparison[]): { total: Matrix; byRule: Map<string, Matrix> } {
  const empty = (): Matrix => ({ okOk: 0, errErr: 0, falseReject: 0, falseAccept: 0, sameInsn: 0, sameClass: 0 });
  const total = empty();
  const byRule = new Map<string, Matrix>();
  for (const c of cs) {
    const m = byRule.get(c.entry.rule) ?? empty();
    byRule.set(c.entry.rule, m);
    for (const x of [m, total]) {
      if (c.kernelOk && c.liteOk) x.okOk++;
      else if (!c.kernelOk && !c.liteOk) {
        x.errErr++;
        if (c.sameInsn) x.sameInsn++;
        if (c.sameClass) x.sameClass++;
      } else if (c.kernelOk) x.falseReject++;
      else x.falseAccept++;
    }
  }
  return { total, byRule };
}

/** agreement, false-reject rate (of kernel accepts), false-accept rate (of kernel rejects), same-insn rate (of shared rejects). */
export function rates(m: Matrix): { n: number; agreement: number; falseReject: number; falseAccept: number; sameInsn: number; sameClass: number } {
  const n = m.okOk + m.errErr + m.falseReject + m.falseAccept;
  const kOk = m.okOk + m.falseReject;
  const kErr = m.errErr + m.falseAccept;
  return {
    n,
    agreement: n ? (m.okOk + m.errErr) / n : 1,
    falseReject: kOk ? m.falseReject / kOk : 0,
    falseAccept: kErr ? m.falseAccept / kErr : 0,
    sameInsn: m.errErr ? m.sameInsn / m.errErr : 1,
    sameClass: m.errErr ? m.sameClass / m.errErr : 1,
  };
}
