import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, UsageError } from './command.js';

/** The compiled bench/ folder: dist/bench next to dist/lib. */
const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');

/** A benchmark module in bench/: `bench/NAME.ts` exports `run`. */
export interface BenchModule {
  /** Runs the benchmark, printing its figures; the last line is `NAME: key=value ...`. */
  run(args: string[]): Promise<void>;
}

function available(): string[] {
  if (!existsSync(benchDir)) return [];
  return readdirSync(benchDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3))
    .filter((n) => !n.startsWith('_'))
    .sort();
}

/** `tsbpf bench NAME`: runs one benchmark from bench/. */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'run a benchmark (tsbpf bench --list)',
  usage: 'usage: tsbpf bench NAME [args...]\n       tsbpf bench --list',
  async run(args, io) {
    const [name, ...rest] = args;
    if (name === '--list') {
      io.out(available().join('\n') + '\n');
      return 0;
    }
    if (!name) throw new UsageError('name a benchmark');
    if (!available().includes(name)) {
      throw new UsageError(`no benchmark '${name}' (have: ${available().join(', ') || 'none'})`);
    }
    const mod = (await import(join(benchDir, `${name}.js`))) as BenchModule;
    await mod.run(rest);
    return 0;
  },
};
