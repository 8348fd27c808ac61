import { afterEach, expect, it, vi } from 'vitest';
import { describeKernel, runId } from '../helpers/env.js';
import { main } from '../../examples/tour.js';

describeKernel('npm run demo (examples/tour.ts)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('builds, verifies twice, writes an object and runs both balancers end to end', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    // names carry the run id, so the suite's leftover check covers them ('T' never appears in testName())
    await main({ id: `${runId()}T` });
    const out = lines.join('\n');
    // Every reference program: verifier-lite and the kernel agree it is ok.
    const verdicts = lines.filter((l) => / lite: /.test(l));
    expect(verdicts).toHaveLength(9);
    for (const v of verdicts) expect(v).toMatch(/lite: ok .* kernel: ok/);
    expect(out).toMatch(/9 programs, 6 maps .* BTF yes/);
    expect(out).toMatch(/; .*bpf-progs\/maglev\/datapath\.ts:\d+:\d+ /);
    expect(out).toMatch(/round 1: 300 connections .* failed=0/);
    expect(out).toMatch(/300 of 300 answered by the backend the table and flow hash predict/);
    expect(out).toMatch(/getpeername\(\) = 10\.96\.0\.10:80/);
    expect(out).toMatch(/tcp to a service without backends: EHOSTUNREACH/);
    expect(out).toContain('cleaned up');
  }, 120_000);
});
