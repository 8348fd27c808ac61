/**
 * `tsbpf verify [--json] FILE.o...`: runs verifier-lite on every program of
 * each object (program type and attach type from the section name, maps from
 * the object) and reports its verdict per program, without root and without
 * loading anything. Same program order as `tsbpf load`, so the two verdicts
 * can be compared program by program.
 */
import { readFileSync } from 'node:fs';
import { readCollectionSpec, type CollectionSpec } from '../elf/index.js';
import { progTypeName } from '../uapi/prog-types.js';
import { verifyCollection } from '../verifier/sources.js';
import type { Verdict } from '../verifier/types.js';
import type { SourcePos } from '../isa/insn.js';
import { type Command, parseArgs, UsageError } from './command.js';

/** One element of `tsbpf verify --json` (the contract in DESIGN.md). */
export interface VerifyVerdict {
  file: string;
  /** Program name (null when the file itself could not be read). */
  program: string | null;
  section: string | null;
  /** Program type, short (`xdp`, `sched_cls`, `cgroup_sock_addr`, ...). */
  type: string | null;
  verdict: Verdict;
  /** Error diagnostics (warnings are printed but not listed here). */
  errors: Array<{ insn: number | null; message: string; source: SourcePos | null }>;
  /** verifier-lite's time in microseconds. */
  durationUs: number;
}

function typeName(type: number): string {
  return (progTypeName(type) ?? `type_${type}`).replace(/^BPF_PROG_TYPE_/, '').toLowerCase();
}

/** nr_cpu_ids of this machine (bounds bpf_get_smp_processor_id), from /sys/devices/system/cpu/possible. */
function possibleCpus(): number | undefined {
  try {
    const t = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    let n = 0;
    for (const part of t.split(',')) {
      const [a, b] = part.split('-').map(Number);
      n = Math.max(n, (b ?? a!) + 1);
    }
    return n || undefined;
  } catch {
    return undefined;
  }
}

/** Verifies every program of one object; never throws for file errors (they become verdicts). */
export function verifyFile(file: string): VerifyVerdict[] {
  const nrCpus = possibleCpus();
  let spec: CollectionSpec;
  try {
    spec = readCollectionSpec(new Uint8Array(readFileSync(file)));
  } catch (e) {
    return [{
      file, program: null, section: null, type: null, verdict: 'error',
      errors: [{ insn: null, message: e instanceof Error ? e.message : String(e), source: null }], durationUs: 0,
    }];
  }
  return verifyCollection(spec, { nrCpus }).map((p): VerifyVerdict => ({
    file,
    program: p.program,
    section: p.section,
    type: p.progType ? typeName(p.progType) : null,
    verdict: p.result.verdict,
    errors: p.result.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ insn: d.insn, message: d.message, source: d.source ?? null })),
    durationUs: Math.round(p.result.durationUs),
  }));
}

/** The `verify` subcommand. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check every program of objects with verifier-lite (no root, nothing loaded)',
  usage: [
    'usage: tsbpf verify [--json] FILE.o...',
    '',
    'Runs verifier-lite on each program (type from its section name) and reports',
    'ok, warning or error with the failing instruction, the message in the',
    "kernel's words and the source line when the object has line info.",
    '',
    '  --json   print one JSON array, one element per program',
  ].join('\n'),
  async run(args, io) {
    const { flags, positional } = parseArgs(args, { flags: ['--json'] });
    if (positional.length === 0) throw new UsageError('no object files given');
    const all: VerifyVerdict[] = [];
    for (const file of positional) all.push(...verifyFile(file));
    if (flags.has('--json')) io.out(JSON.stringify(all, null, 2) + '\n');
    else {
      for (const v of all) {
        const what = v.program === null ? v.file : `${v.file}: ${v.program} (${v.section}, ${v.type ?? '?'})`;
        if (v.errors.length === 0) io.out(`${what}: ${v.verdict} (${v.durationUs} us)\n`);
        for (const e of v.errors) {
          const src = e.source ? ` [${e.source.file}:${e.source.line}:${e.source.column}]` : '';
          io.out(`${what}: error${e.insn !== null ? ` at insn ${e.insn}` : ''}${src}: ${e.message}\n`);
        }
      }
    }
    return all.every((v) => v.verdict !== 'error') ? 0 : 1;
  },
};
