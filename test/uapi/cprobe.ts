/**
 * Test helper: ask gcc what the uapi header says. Builds a tiny C program with
 * one printf per probe (an offsetof, sizeof or constant), compiles it against
 * linux/bpf.h and returns the printed numbers. Probes the installed header does
 * not know (older than Linux 6.18) are dropped and reported as missing.
 *
 * The header comes from TSBPF_UAPI_INCLUDE (an include directory holding
 * linux/bpf.h, e.g. a 6.18 kernel's usr/include) or the system's /usr/include.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One question for the C compiler: `exprs` are `long long` expressions printed in order. */
export interface Probe {
  key: string;
  exprs: string[];
}

/** What gcc answered: values per key, and the keys the header does not have. */
export interface ProbeResult {
  values: Map<string, bigint[]>;
  missing: string[];
  includeDir: string;
}

/** The include directory used, and why probing is impossible (undefined when it is possible). */
export function cprobeUnavailable(): { includeDir: string; reason?: string } {
  const includeDir = process.env.TSBPF_UAPI_INCLUDE ?? '/usr/include';
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
  } catch {
    return { includeDir, reason: 'gcc not found' };
  }
  if (!existsSync(join(includeDir, 'linux/bpf.h'))) return { includeDir, reason: `no ${includeDir}/linux/bpf.h (install linux-libc-dev)` };
  return { includeDir };
}

/** Compile and run the probes; drops the lines gcc rejects (members or constants the header lacks). */
export function runProbes(probes: Probe[], headers: string[] = ['linux/bpf.h']): ProbeResult {
  const { includeDir, reason } = cprobeUnavailable();
  if (reason) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-uapi-'));
  try {
    let live = probes.slice();
    const missing: string[] = [];
    const src = join(dir, 'p.c');
    const exe = join(dir, 'p');
    const PRE = headers.length + 3; // lines before the first probe: the includes and `int main`
    for (let attempt = 0; ; attempt++) {
      const lines = live.map(
        (p, i) => `printf("%d${p.exprs.map(() => ' %lld').join('')}\\n", ${i}${p.exprs.map((e) => `, (long long)(${e})`).join('')});`,
      );
      const c = [
        ...headers.map((h) => `#include <${h}>`),
        '#include <stddef.h>',
        '#include <stdio.h>',
        'int main(void) {',
        ...lines,
        'return 0; }',
      ];
      writeFileSync(src, c.join('\n') + '\n');
      try {
        execFileSync('gcc', ['-w', '-fmax-errors=0', '-I', includeDir, '-o', exe, src], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (process.env.TSBPF_CPROBE_DEBUG) console.log(`cprobe: ${attempt + 1} gcc runs`);
        break;
      } catch (e) {
        const stderr = String((e as { stderr?: Buffer }).stderr ?? '');
        const bad = new Set<number>();
        for (const m of stderr.matchAll(/p\.c:(\d+):\d+: error/g)) {
          const idx = Number(m[1]) - PRE - 1;
          if (idx >= 0 && idx < live.length) bad.add(idx);
        }
        if (bad.size === 0 || attempt > 100) throw new Error(`gcc failed (attempt ${attempt}, ${bad.size} lines dropped):\n${stderr.slice(0, 4000)}`);
        missing.push(...live.filter((_, i) => bad.has(i)).map((p) => p.key));
        live = live.filter((_, i) => !bad.has(i));
      }
    }
    const out = execFileSync(exe).toString().trim();
    const values = new Map<string, bigint[]>();
    for (const line of out ? out.split('\n') : []) {
      const [i, ...nums] = line.split(' ');
      values.set(live[Number(i)]!.key, nums.map((n) => BigInt(n)));
    }
    return { values, missing, includeDir };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
