/**
 * The error verifier-lite throws for callers that want an exception
 * (`assertVerified`). The kernel-side counterpart is `VerifierError` in
 * lib/kernel.
 *
 * @module
 */
import { TsbpfError } from '../errors.js';
import type { Diagnostic, VerifyResult } from './types.js';

/** verifier-lite predicts that the kernel rejects the program. */
export class VerifierLiteError extends TsbpfError {
  /** The first error diagnostic. */
  readonly diagnostic: Diagnostic;
  /** The whole result. */
  readonly result: VerifyResult;

  constructor(result: VerifyResult) {
    const d = result.diagnostics.find((x) => x.severity === 'error') ?? result.diagnostics[0]!;
    const where = d.source ? ` (${d.source.file}:${d.source.line}:${d.source.column})` : '';
    super(`verifier-lite: insn ${d.insn}${where}: ${d.message}${d.hint ? ` (${d.hint})` : ''}`);
    this.diagnostic = d;
    this.result = result;
  }

  /** Instruction index (slot) of the first error. */
  get insn(): number {
    return this.diagnostic.insn;
  }
}
