/**
 * What the per-object subcommands (`load`, `verify`) share: reading an
 * object's collection spec, short program-type names, and the loop that runs
 * over files and prints one verdict per program.
 */
import { readFileSync } from 'node:fs';
import { readCollectionSpec, type CollectionSpec } from '../elf/index.js';
import { progTypeName } from '../uapi/prog-types.js';
import { type CommandIO, parseArgs, UsageError } from './command.js';

/** The short program type of a verdict (`xdp`, `sched_cls`, `cgroup_sock_addr`). */
export function shortProgType(type: number): string {
  return (progTypeName(type) ?? `type_${type}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
}

/** Reads and parses one object file (throws the file's or the parser's error). */
export function readObjectSpec(file: string): CollectionSpec {
  return readCollectionSpec(new Uint8Array(readFileSync(file)));
}

/** The fields every per-program verdict has. */
export interface ProgramVerdict {
  file: string;
  program: string | null;
  section: string | null;
  type: string | null;
}

/** How a verdict names its program in plain output: `FILE: PROG (SECTION, TYPE)`, or the file alone. */
export function verdictSubject(v: ProgramVerdict): string {
  return v.program === null ? v.file : `${v.file}: ${v.program} (${v.section}, ${v.type ?? '?'})`;
}

/**
 * Runs `[--json] FILE...`: collects the verdicts of every file, prints them as
 * one JSON array or as lines, and returns 0 when all are `ok`, else 1.
 */
export function runPerProgram<V extends ProgramVerdict>(
  args: string[],
  io: CommandIO,
  collect: (file: string) => V[],
  lines: (v: V) => string[],
  ok: (v: V) => boolean,
): number {
  const { flags, positional } = parseArgs(args, { flags: ['--json'] });
  if (positional.length === 0) throw new UsageError('no object files given');
  const all = positional.flatMap(collect);
  if (flags.has('--json')) io.out(JSON.stringify(all, null, 2) + '\n');
  else for (const v of all) for (const line of lines(v)) io.out(line + '\n');
  return all.every(ok) ? 0 : 1;
}
