/**
 * `tsbpf load [--json] FILE.o...`: loads every program of each object into the
 * kernel (maps created as the object describes them, pins ignored so nothing
 * outlives the command) and reports the kernel's verdict per program.
 */
import { ElfError, type CollectionSpec } from '../elf/index.js';
import { BtfError, CoreRelocationError } from '../btf/index.js';
import { Collection } from '../kernel/collection.js';
import { BpfError } from '../kernel/errors.js';
import { VerifierError } from '../kernel/verifier-log.js';
import type { Command } from './command.js';
import { readObjectSpec, runPerProgram, shortProgType, verdictSubject } from './objects.js';

/** One element of `tsbpf load --json` (the contract in DESIGN.md). */
export interface LoadVerdict {
  file: string;
  /** Program name (null when the file itself could not be read). */
  program: string | null;
  section: string | null;
  /** Program type, short (`xdp`, `sched_cls`, `cgroup_sock_addr`, ...). */
  type: string | null;
  verdict: 'ok' | 'error';
  /** errno name of a failed load (`EACCES`), or null. */
  errno: string | null;
  /** Why it failed ('' when it loaded). */
  message: string;
  /** The failing instruction (8-byte slot index), when the verifier names one. */
  insn: number | null;
  /** The kernel's verification time in microseconds, when it reports one. */
  verificationUs: number | null;
}

/** Loads every program of one object; never throws for kernel or file errors (they become verdicts). */
export function loadFile(file: string): LoadVerdict[] {
  const fileError = (e: unknown): LoadVerdict[] => [
    {
      file,
      program: null,
      section: null,
      type: null,
      verdict: 'error',
      errno: e instanceof BpfError ? e.code : null,
      message: e instanceof Error ? e.message : String(e),
      insn: null,
      verificationUs: null,
    },
  ];
  let spec: CollectionSpec;
  try {
    spec = readObjectSpec(file);
  } catch (e) {
    if (e instanceof ElfError || e instanceof BtfError || (e as NodeJS.ErrnoException).code !== undefined) return fileError(e);
    throw e;
  }
  // Nothing may outlive the command: no pins.
  for (const m of spec.maps.values()) m.pinning = 0;
  const unknown = [...spec.programs.values()].filter((p) => p.type === 0).map((p) => p.name);
  let col: Collection;
  try {
    col = Collection.load(spec, {
      keepGoing: true,
      load: { stats: true },
      programs: [...spec.programs.keys()].filter((n) => !unknown.includes(n)),
    });
  } catch (e) {
    return fileError(e);
  }
  try {
    return [...spec.programs.values()].map((p): LoadVerdict => {
      const base = { file, program: p.name, section: p.section, type: p.type ? shortProgType(p.type) : null };
      const prog = col.programs.get(p.name);
      if (prog) {
        return { ...base, verdict: 'ok', errno: null, message: '', insn: null, verificationUs: prog.stats?.verificationUs ?? null };
      }
      const e = col.programErrors.get(p.name);
      if (!e) {
        return { ...base, verdict: 'error', errno: null, message: `section '${p.section}' names no program type`, insn: null, verificationUs: null };
      }
      if (e instanceof VerifierError) {
        const us = /verification time (\d+) usec/.exec(e.log);
        return { ...base, verdict: 'error', errno: e.code, message: e.reason || e.message, insn: e.insn ?? null, verificationUs: us ? Number(us[1]) : null };
      }
      // a CO-RE relocation that cannot be applied names its instruction (a slot, as the kernel counts)
      const insn = e instanceof CoreRelocationError ? e.slot : null;
      return { ...base, verdict: 'error', errno: e instanceof BpfError ? e.code : null, message: e.message, insn, verificationUs: null };
    });
  } finally {
    col.close();
  }
}

/** The `load` subcommand. */
export const loadCommand: Command = {
  name: 'load',
  summary: 'load every program of objects into the kernel and report its verdict',
  usage: [
    'usage: tsbpf load [--json] FILE.o...',
    '',
    'Loads each object as a collection (maps created, never pinned) and reports,',
    'per program, whether the kernel accepted it, with errno, reason, failing',
    'instruction and verification time. Needs root (CAP_BPF).',
    '',
    '  --json   print one JSON array, one element per program',
  ].join('\n'),
  async run(args, io) {
    return runPerProgram(
      args,
      io,
      loadFile,
      (v) => [
        v.verdict === 'ok'
          ? `${verdictSubject(v)}: ok${v.verificationUs !== null ? ` (verified in ${v.verificationUs} us)` : ''}`
          : `${verdictSubject(v)}: error${v.errno ? ` ${v.errno}` : ''}${v.insn !== null ? ` at insn ${v.insn}` : ''}: ${v.message}`,
      ],
      (v) => v.verdict === 'ok',
    );
  },
};
