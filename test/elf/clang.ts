/**
 * Compiles BPF C sources with clang-22 for the ELF/BTF tests (into a temp dir
 * removed at process exit).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string | undefined;
function workDir(): string {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'tsbpf-elf-'));
    const d = dir;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  return dir;
}

/** Compiles `source` (BPF C) with `clang-22 -O2 -g -target bpf` (without `-g` if `debug` is false); returns the object's path and bytes. */
export function compileC(name: string, source: string, extra: string[] = [], debug = true): { path: string; bytes: Uint8Array } {
  const d = workDir();
  const c = join(d, `${name}.c`);
  const o = join(d, `${name}.o`);
  writeFileSync(c, source);
  execFileSync('clang-22', ['-O2', ...(debug ? ['-g'] : []), '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...extra, '-c', c, '-o', o], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { path: o, bytes: new Uint8Array(readFileSync(o)) };
}

/** A path in the temp dir for a file a test writes. */
export function tempPath(name: string): string {
  return join(workDir(), name);
}
