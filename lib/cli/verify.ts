/**
 * `tsbpf verify [--json] FILE.o...`: runs verifier-lite on every program of
 * each object (program type and attach type from the section name, maps from
 * the object) and reports its verdict per program, without root and without
 * loading anything. Same program order as `tsbpf load`, so the two verdicts
 * can be compared program by program. CO-RE relocations are applied against
 * /sys/kernel/btf/vmlinux when it is readable (a file, no root needed), as `load` does.
 */
import { readFileSync } from 'node:fs';
import { CoreRelocationError, type Btf } from '../btf/index.js';
import type { CollectionProgramSpec, CollectionSpec } from '../elf/index.js';
import { withCoreRelocations } from '../kernel/collection.js';
import { vmlinuxBtf } from '../kernel/vmlinux.js';
import { parseCpuList } from '../kernel/cpus.js';
import { verifyCollection } from '../verifier/sources.js';
import type { Verdict } from '../verifier/types.js';
import type { SourcePos } from '../isa/insn.js';
import type { Command } from './command.js';
import { readObjectSpec, runPerProgram, shortProgType, verdictSubject } from './objects.js';

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

/** nr_cpu_ids of this machine (bounds bpf_get_smp_processor_id), from /sys/devices/system/cpu/possible. */
function nrCpuIds(): number | undefined {
  try {
    return Math.max(...parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'))) + 1;
  } catch {
    return undefined;
  }
}

/**
 * The spec with CO-RE relocations applied against this machine's kernel BTF, as `tsbpf load`
 * applies them, so both commands judge the same instructions; programs whose relocations
 * fail keep their instructions and get the error. Without a readable kernel BTF the spec
 * stays as compiled.
 */
function relocated(spec: CollectionSpec): { spec: CollectionSpec; errors: Map<string, CoreRelocationError> } {
  const errors = new Map<string, CoreRelocationError>();
  if (![...spec.programs.values()].some((p) => p.coreRelos.length > 0)) return { spec, errors };
  let target: Btf;
  try {
    target = vmlinuxBtf();
  } catch {
    return { spec, errors };
  }
  const programs = new Map<string, CollectionProgramSpec>();
  for (const [name, p] of spec.programs) {
    try {
      programs.set(name, withCoreRelocations(p, spec, target));
    } catch (e) {
      if (!(e instanceof CoreRelocationError)) throw e;
      errors.set(name, e);
      programs.set(name, p);
    }
  }
  return { spec: { ...spec, programs }, errors };
}

/** Verifies every program of one object; never throws for file errors (they become verdicts). */
export function verifyFile(file: string): VerifyVerdict[] {
  const nrCpus = nrCpuIds();
  let spec: CollectionSpec;
  let coreErrors: Map<string, CoreRelocationError>;
  try {
    ({ spec, errors: coreErrors } = relocated(readObjectSpec(file)));
  } catch (e) {
    return [{
      file, program: null, section: null, type: null, verdict: 'error',
      errors: [{ insn: null, message: e instanceof Error ? e.message : String(e), source: null }], durationUs: 0,
    }];
  }
  return verifyCollection(spec, { nrCpus }).map((p): VerifyVerdict => {
    const base = { file, program: p.program, section: p.section, type: p.progType ? shortProgType(p.progType) : null };
    const core = p.program !== null ? coreErrors.get(p.program) : undefined;
    if (core) return { ...base, verdict: 'error', errors: [{ insn: core.slot, message: core.message, source: core.source ?? null }], durationUs: 0 };
    return {
      ...base,
      verdict: p.result.verdict,
      errors: p.result.diagnostics.filter((d) => d.severity === 'error').map((d) => ({ insn: d.insn, message: d.message, source: d.source ?? null })),
      durationUs: Math.round(p.result.durationUs),
    };
  });
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
    return runPerProgram(
      args,
      io,
      verifyFile,
      (v) =>
        v.errors.length === 0
          ? [`${verdictSubject(v)}: ${v.verdict} (${v.durationUs} us)`]
          : v.errors.map((e) => {
              const src = e.source ? ` [${e.source.file}:${e.source.line}:${e.source.column}]` : '';
              return `${verdictSubject(v)}: error${e.insn !== null ? ` at insn ${e.insn}` : ''}${src}: ${e.message}`;
            }),
      (v) => v.verdict !== 'error',
    );
  },
};
