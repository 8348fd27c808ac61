import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { runMaglevLb } from '../../examples/maglev-lb.js';
import { describeKernel, testName } from '../helpers/env.js';

describeKernel('Maglev example (examples/maglev-lb.ts): end to end in namespaces', () => {
  it('1,000 TCP connections reach the 3 backends (decapsulating, replying directly), evenly; removing one moves its flows and few others', { timeout: 120_000 }, async () => {
    const id = testName('m').slice(0, 11);
    const lines: string[] = [];
    const t0 = Date.now();
    const r = await runMaglevLb({ id, connections: 1000, log: (l) => lines.push(l) });
    const elapsed = Date.now() - t0;
    const why = lines.join('\n');
    // Every connection succeeded, and each reached the backend the table and flow hash name.
    const first = [...r.first.entries()];
    expect(first.filter(([, b]) => b === null), why).toEqual([]);
    expect(first.filter(([p, b]) => b !== r.predicted[0].get(p)), why).toEqual([]);
    // Even spread: each backend owns 1/3 of the slots (to one slot), so its count is
    // Binomial(1000, 1/3): mean 333, standard deviation 15. +-20% (about 4.5 sd) holds.
    for (const b of r.backends) {
      const n = first.filter(([, x]) => x === b).length;
      expect(n, `${b}: ${n}\n${why}`).toBeGreaterThan(266);
      expect(n, `${b}: ${n}\n${why}`).toBeLessThan(400);
    }
    // After the removal: every flow of the removed backend moved, to the predicted backend;
    // Maglev moves few of the others (at 16381 slots well under 2%).
    const second = [...r.second.entries()];
    expect(second.filter(([p, b]) => b !== r.predicted[1].get(p)), why).toEqual([]);
    expect(second.some(([, b]) => b === r.removed)).toBe(false);
    const kept = first.filter(([, b]) => b !== r.removed);
    const moved = kept.filter(([p, b]) => r.second.get(p) !== b);
    expect(moved.length, why).toBeLessThan(kept.length * 0.02);
    expect(lines.some((l) => l.startsWith('moved: '))).toBe(true);
    expect(elapsed).toBeLessThan(60_000);
    // Nothing left behind.
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(id);
  });
});
