/**
 * CPU counts from sysfs: the number of possible CPUs sizes per-CPU map values
 * (the kernel copies one value slot, rounded up to 8 bytes, per possible CPU).
 */
import { readFileSync } from 'node:fs';
import { TsbpfError } from '../errors.js';

/** Parses a kernel CPU list (`0-3,8,10-11`) into CPU numbers. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return out;
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new TsbpfError(`bad CPU list '${text.trim()}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new TsbpfError(`bad CPU range '${part}'`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

let possible: number | undefined;

/** The number of possible CPUs (`/sys/devices/system/cpu/possible`), cached. */
export function possibleCpus(): number {
  possible ??= parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8')).length;
  return possible;
}

/** The online CPU numbers (`/sys/devices/system/cpu/online`), read fresh each call. */
export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}
