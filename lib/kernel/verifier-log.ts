/**
 * The kernel verifier's log: `parseVerifierLog` finds the failing instruction
 * and the reason in it, and `VerifierError` carries both plus the full log
 * when `BPF_PROG_LOAD` rejects a program.
 */
import { TsbpfError } from '../errors.js';
import { errnoName } from './errors.js';

import type { SourcePos } from '../isa/insn.js';

/** A position in the source that produced an instruction (lib/isa's `SourcePos`; the DSL fills it in). */
export type { SourcePos };

/** What `parseVerifierLog` finds in a verifier log. */
export interface VerifierLogSummary {
  /** The index (in 8-byte slots) of the last instruction the verifier printed before the error, if any. */
  insn: number | undefined;
  /** The kernel's reason: the last meaningful line of the log (`R0 invalid mem access 'map_value_or_null'`). */
  reason: string;
  /** `verification time N usec` (log level 4, BPF_LOG_STATS), in microseconds. */
  verificationUs: number | undefined;
  /** `processed N insns` from the stats at the end of the log. */
  processedInsns: number | undefined;
}

// "12: (61) r0 = *(u32 *)(r1 +0)" (level 1 and 2 instruction lines).
const insnLine = /^(\d+): \(([0-9a-f]{2})\)/;
// Lines that come after the error and carry no reason.
const trailer = [
  /^processed \d+ insns/,
  /^verification time \d+ usec/,
  /^stack depth /,
  /^-- END PROG LOAD LOG --/,
];

/** Finds the failing instruction, the reason and the statistics in a verifier log. */
export function parseVerifierLog(log: string): VerifierLogSummary {
  const lines = log.split('\n').map((l) => l.trimEnd());
  let verificationUs: number | undefined;
  let processedInsns: number | undefined;
  for (const l of lines) {
    const t = /^verification time (\d+) usec/.exec(l);
    if (t) verificationUs = Number(t[1]);
    const p = /^processed (\d+) insns/.exec(l);
    if (p) processedInsns = Number(p[1]);
  }
  let reasonAt = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (l === '' || trailer.some((re) => re.test(l))) continue;
    reasonAt = i;
    break;
  }
  const reason = reasonAt >= 0 ? lines[reasonAt]! : '';
  let insn: number | undefined;
  for (let i = reasonAt; i >= 0; i--) {
    const m = insnLine.exec(lines[i]!);
    if (m) {
      insn = Number(m[1]);
      break;
    }
  }
  if (insn === undefined) {
    // Structural errors name the instruction in the message ("unreachable insn 3").
    const m = /\binsn (\d+)\b/.exec(reason);
    if (m) insn = Number(m[1]);
  }
  return { insn, reason, verificationUs, processedInsns };
}

/** The verifier rejected a program (`BPF_PROG_LOAD` failed with a non-empty log). */
export class VerifierError extends TsbpfError {
  /** The program's name. */
  readonly program: string;
  /** The full verifier log (possibly truncated at the front when it outgrew the buffer cap). */
  readonly log: string;
  /** The errno of the load (positive; usually EACCES or EINVAL). */
  readonly errno: number;
  /** The errno's name. */
  readonly code: string;
  /** The failing instruction index (8-byte slots), when the log names one. */
  readonly insn: number | undefined;
  /** The kernel's reason (the last meaningful log line). */
  readonly reason: string;
  /** Where the failing instruction came from, when the caller could map it. */
  readonly source: SourcePos | undefined;
  /** Whether the log was cut because it outgrew the buffer cap. */
  readonly truncated: boolean;

  constructor(init: {
    program: string;
    log: string;
    errno: number;
    truncated?: boolean;
    insnToSource?: (insn: number) => SourcePos | undefined;
  }) {
    const s = parseVerifierLog(init.log);
    const source = s.insn !== undefined ? init.insnToSource?.(s.insn) : undefined;
    const at = s.insn !== undefined ? ` at insn ${s.insn}` : '';
    const where = source ? ` (${source.file}:${source.line}:${source.column})` : '';
    super(`program ${init.program || '(unnamed)'} rejected${at}${where}: ${s.reason || errnoName(init.errno)}`);
    this.program = init.program;
    this.log = init.log;
    this.errno = init.errno;
    this.code = errnoName(init.errno);
    this.insn = s.insn;
    this.reason = s.reason;
    this.source = source;
    this.truncated = init.truncated ?? false;
  }
}
