/**
 * Where the benchmarks' C twins live: `bench/twins` in a checkout (bench/ run
 * from source), or the same folder next to `dist/bench` when run compiled.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsbpfError } from '../lib/errors.js';

/** A C twin's source file is missing. */
export class TwinNotFoundError extends TsbpfError {}

const here = dirname(fileURLToPath(import.meta.url));

/** The path of `bench/twins/<file>`; throws {@link TwinNotFoundError} when it is not there. */
export function twinSource(file: string): string {
  for (const d of [join(here, 'twins'), join(here, '..', '..', 'bench', 'twins')]) {
    const p = join(d, file);
    if (existsSync(p)) return p;
  }
  throw new TwinNotFoundError(`bench/twins/${file} not found`);
}
