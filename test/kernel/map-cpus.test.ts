import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { onlineCpus, parseCpuList, possibleCpus } from '../../lib/kernel/cpus.js';

describe('CPU lists', () => {
  it('parses kernel CPU lists', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3\n')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('0-1,4,6-7')).toEqual([0, 1, 4, 6, 7]);
    expect(parseCpuList('')).toEqual([]);
    expect(() => parseCpuList('0-x')).toThrow(/bad CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/bad CPU range/);
  });

  it('counts the possible CPUs from sysfs', () => {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
    expect(possibleCpus()).toBe(parseCpuList(text).length);
    expect(possibleCpus()).toBeGreaterThanOrEqual(onlineCpus().length);
  });
});
