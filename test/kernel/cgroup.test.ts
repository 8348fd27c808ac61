import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { afterAll, expect, it } from 'vitest';
import { Cgroup, CgroupError, cgroup2Root, cgroupOf } from '../../lib/kernel/cgroup.js';
import { describeKernel, testName } from '../helpers/env.js';
import { until } from '../helpers/net.js';

describeKernel('cgroup v2', () => {
  const made: Cgroup[] = [];
  afterAll(() => {
    for (const c of made.reverse()) c.remove();
  });

  it('finds the unified hierarchy', () => {
    const root = cgroup2Root();
    expect(existsSync(`${root}/cgroup.procs`)).toBe(true);
    expect(cgroupOf()).toMatch(/^\//);
  });

  it('creates a cgroup, runs a child inside it, and removes it', async () => {
    const cg = Cgroup.create(testName('cg'));
    made.push(cg);
    expect(existsSync(cg.path)).toBe(true);
    const dir = cg.open();
    expect(dir.value).toBeGreaterThan(2);
    dir.close();
    const child = cg.spawn('/bin/sh', ['-c', 'cat /proc/self/cgroup; sleep 5'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await until(() => out, (o) => o.includes('0::'), 5000);
    expect(cg.pids()).toContain(child.pid);
    expect(out).toContain(`0::${cg.path.slice(cgroup2Root().length)}`);
    // remove() moves the still-running child out first.
    cg.remove();
    expect(existsSync(cg.path)).toBe(false);
    child.kill();
    await once(child, 'exit');
    cg.remove();
  });

  it('moves a process in and opens cgroups by path', async () => {
    const parent = Cgroup.create(testName('cgp'));
    made.push(parent);
    const child = Cgroup.create('inner', parent);
    made.push(child);
    const p = (await import('node:child_process')).spawn('/bin/sleep', ['5']);
    try {
      child.addProcess(p.pid!);
      expect(cgroupOf(p.pid!)).toBe(child.path.slice(cgroup2Root().length));
      expect(Cgroup.ofProcess(p.pid!).path).toBe(child.path);
      expect(Cgroup.open(parent.path.slice(cgroup2Root().length)).path).toBe(parent.path);
    } finally {
      p.kill();
      await once(p, 'exit');
    }
    child.remove();
    parent.remove();
    expect(existsSync(parent.path)).toBe(false);
  });

  it('rejects bad names and paths', () => {
    expect(() => Cgroup.create('../escape')).toThrow(CgroupError);
    expect(() => Cgroup.open(`/${testName('none')}`)).toThrow(CgroupError);
  });
});
