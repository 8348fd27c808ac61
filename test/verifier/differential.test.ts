import { expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { buildCorpus } from '../../bench/verifier/corpus.js';
import { dslReferencePrograms } from '../../bench/verifier/dsl-corpus.js';
import { compare, summarize, rates, type Comparison } from '../../bench/verifier/differential.js';

function describeDisagreement(c: Comparison): string {
  const d = c.lite.diagnostics.find((x) => x.severity === 'error');
  return `${c.entry.name}: kernel=${c.kernelOk ? 'ok' : `${c.kernelInsn ?? c.kernel.insn}: ${c.kernel.message}`} lite=${c.liteOk ? 'ok' : `${d?.insn}: ${d?.message}`}`;
}

describeKernel('verifier-lite against the kernel (differential)', () => {
  it('agrees with the kernel on the corpus: no false rejects, >= 97% agreement, < 5% false accepts, >= 90% same insn', () => {
    const corpus = buildCorpus(Number(process.env.TSBPF_VERIFIER_SEED ?? 1), Number(process.env.TSBPF_VERIFIER_RANDOM ?? 400), dslReferencePrograms());
    const cs = corpus.map(compare);
    const { total, byRule } = summarize(cs);
    const lines: string[] = [];
    for (const [rule, m] of [...byRule].sort()) {
      const r = rates(m);
      lines.push(`${rule.padEnd(18)} n=${String(r.n).padStart(4)} ok/ok=${m.okOk} err/err=${m.errErr} falseReject=${m.falseReject} falseAccept=${m.falseAccept} sameInsn=${m.sameInsn}/${m.errErr} sameClass=${m.sameClass}/${m.errErr}`);
    }
    const r = rates(total);
    lines.push(`total n=${r.n} agreement=${r.agreement.toFixed(4)} falseReject=${r.falseReject.toFixed(4)} falseAccept=${r.falseAccept.toFixed(4)} sameInsn=${r.sameInsn.toFixed(4)} sameClass=${r.sameClass.toFixed(4)}`);
    const bad = cs.filter((c) => !c.agree).map(describeDisagreement);
    const insnDiff = cs.filter((c) => c.sameInsn === false).map(describeDisagreement);
    console.log(lines.join('\n'));
    if (bad.length) console.log('disagreements:\n' + bad.join('\n'));
    if (insnDiff.length) console.log('different failing insn:\n' + insnDiff.join('\n'));
    expect(cs.filter((c) => c.kernelOk && !c.liteOk).map(describeDisagreement)).toEqual([]);
    expect(r.agreement).toBeGreaterThanOrEqual(0.97);
    expect(r.falseAccept).toBeLessThan(0.05);
    expect(r.sameInsn).toBeGreaterThanOrEqual(0.9);
  }, 300_000);
});
