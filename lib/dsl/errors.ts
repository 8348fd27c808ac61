/**
 * The DSL's error class: every build-time mistake (a nullable value used
 * without a check, a packet field read without a bounds check, a helper the
 * program type may not call, a loop without a bound, ...) is a `DslError`
 * naming the TypeScript source position of the DSL call that caused it.
 */
import { TsbpfError } from '../errors.js';
import type { SourcePos } from '../isa/insn.js';
import { callerPos } from './source.js';

/** Formats a source position as `file:line:column`. */
export function formatPos(pos: SourcePos | undefined): string {
  return pos ? `${pos.file}:${pos.line}:${pos.column}` : '<unknown position>';
}

/** A mistake in a DSL program, found while building it; without an explicit position it takes the caller's. */
export class DslError extends TsbpfError {
  /** The source position of the offending DSL call, when known. */
  readonly source: SourcePos | undefined;
  /** The message without the position prefix. */
  readonly detail: string;

  constructor(detail: string, source?: SourcePos, options?: { cause?: unknown }) {
    const at = source ?? callerPos();
    super(at ? `${formatPos(at)}: ${detail}` : detail, options);
    this.source = at;
    this.detail = detail;
  }
}
