/**
 * Helpers for the LLVM conformance tests: run clang-22, llvm-mc-22 and
 * llvm-objdump-22 in a temporary directory and parse llvm-objdump's output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory removed by `cleanup()`. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-isa-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One instruction line of llvm-objdump -d. */
export interface ObjdumpInsn {
  slot: number;
  bytes: string;
  text: string;
}

/** Parses `llvm-objdump-22 -d -z` output into instructions per section. */
export function objdump(obj: string, extra: string[] = []): Map<string, ObjdumpInsn[]> {
  const out = execFileSync('llvm-objdump-22', ['-d', '-z', ...extra, obj], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const sections = new Map<string, ObjdumpInsn[]>();
  let cur: ObjdumpInsn[] | undefined;
  for (const line of out.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      cur = [];
      sections.set(sec[1]!, cur);
      continue;
    }
    const m = /^\s*(\d+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\s*\t(.*)$/.exec(line);
    if (m && cur) cur.push({ slot: Number(m[1]), bytes: m[2]!.replace(/ /g, ''), text: norm(m[3]!) });
  }
  return sections;
}

/** Whitespace-normalises an instruction text. */
export function norm(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

/** Assembles text with llvm-mc-22 into an object file and returns its path. */
export function llvmMc(dir: string, name: string, text: string, cpu = 'v4'): string {
  const src = join(dir, name + '.s');
  const obj = join(dir, name + '.o');
  writeFileSync(src, text);
  try {
    execFileSync('llvm-mc-22', ['-triple', 'bpfel', `-mcpu=${cpu}`, '-filetype=obj', src, '-o', obj], { stdio: 'pipe' });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`llvm-mc-22 failed:\n${err.split('\n').slice(0, 12).join('\n')}`);
  }
  return obj;
}

/** Compiles C with clang-22 for BPF at a given -mcpu and returns the object's path. */
export function clang(dir: string, name: string, c: string, cpu: string): string {
  const src = join(dir, name + '.c');
  const obj = join(dir, `${name}-${cpu}.o`);
  writeFileSync(src, c);
  execFileSync(
    'clang-22',
    ['-O2', '-g', '-target', 'bpf', `-mcpu=${cpu}`, '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj],
    { stdio: 'pipe' },
  );
  return obj;
}

/** Reads a file as bytes. */
export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** The tests' seeded PRNG (mulberry32), under the name these tests use. */
export { mulberry32 as prng } from '../helpers/prng.js';
