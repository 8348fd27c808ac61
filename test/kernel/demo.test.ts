import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runDemo } from '../../examples/demo.js';
import { PROTOCOLS } from '../../examples/protocol-counter.js';
import { describeKernel, testName } from '../helpers/env.js';

/** The counts of the demo's `totals:` line. */
function totals(lines: string[]): Record<string, number> {
  const line = lines.find((l) => l.startsWith('totals: '));
  expect(line, lines.join('\n')).toBeDefined();
  return Object.fromEntries(line!.slice(8).split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
}

describeKernel('demo (examples/demo.ts)', () => {
  it.each(['auto', 'unreachable'] as const)('counts TCP, UDP and ICMP per protocol and cleans up (icmp: %s)', async (icmp) => {
    const id = testName('d');
    const lines: string[] = [];
    const result = await runDemo({ ticks: 2, tickMs: 400, icmp, id, log: (l) => lines.push(l) });
    const printed = totals(lines);
    for (const p of ['tcp', 'udp', 'icmp'] as const) {
      expect(printed[p], `${p} in\n${lines.join('\n')}`).toBeGreaterThan(0);
      expect(printed[p]).toBe(result[p]);
    }
    expect(Object.keys(printed)).toEqual([...PROTOCOLS]);
    // 10 datagrams per tick, each seen at most once by XDP.
    expect(printed.udp).toBeLessThanOrEqual(20);
    // Two live-count rows, one per tick.
    expect(lines.filter((l) => /^\d+\.\ds\s+tcp/.test(l))).toHaveLength(2);
    expect(lines.some((l) => l.startsWith('cleanup:'))).toBe(false);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(id);
  });
});
