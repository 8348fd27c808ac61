/**
 * verifier-lite: predicts, without root and before loading, whether Linux
 * 6.18's verifier accepts a program, and if not where and why, in the
 * kernel's own words (pure: no kernel access).
 *
 * ```ts
 * import { verify } from 'tsbpf/verifier';
 * const r = verify({ insns, progType: ProgType.BPF_PROG_TYPE_XDP, maps });
 * if (r.verdict === 'error') console.log(r.diagnostics[0]); // { insn, message, hint, source, state }
 * ```
 *
 * - {@link verify} walks the program path by path like the kernel (register
 *   types, tnum + 64/32-bit bounds, packet ranges, stack slots, context
 *   tables, helper prototypes, references, return ranges, pruning, the
 *   1,000,000-instruction budget). It never throws: bad input gives an
 *   `error` diagnostic; `warning` means accepted with notes (time limit, near
 *   the budget, internal trouble: the kernel decides).
 * - {@link verifyText} (LLVM-syntax assembly) and {@link verifyObject} /
 *   {@link verifyCollection} (clang objects, DSL collections) for the other sources.
 * - {@link assertVerified} throws {@link VerifierLiteError} on `error`.
 * - {@link ctxRules} / {@link ctxFields} (context access per program and
 *   attach type) and {@link helperProto} / {@link allowedHelpers} (helper
 *   prototypes and availability) are the tables the DSL builds on.
 *
 * Integration (owners of those layers wire it):
 * - DSL build-time check: `prog.build({ verify: true })` (lib/dsl/program.ts,
 *   `defaultVerifier`) calls `verify({ insns, progType, expectedAttachType,
 *   maps })`; each `Insn` carries `source`, so diagnostics come back with the
 *   TypeScript position. Map loads may use `ref: { kind: 'map', name }`
 *   matched against `MapSpecLite.name`, or `imm` = index into `maps`.
 * - `Program.load` pre-check: `Program.load(spec, { verify: true })` (or
 *   `loadDslProgram(prog, { verify: true })`, lib/kernel/program-precheck.ts)
 *   calls `assertVerified(...)` before BPF_PROG_LOAD with the specs of the
 *   maps given and `nrCpus` from /sys/devices/system/cpu/possible; a
 *   `warning` never blocks.
 * - Kernel rejections: the kernel's failing instruction index is a slot
 *   index, the same numbering as `Diagnostic.insn`; map it to source with
 *   `sourceAt(insns, slot)`.
 * - CLI: `tsbpf verify [--json] FILE.o...` (lib/cli/verify.ts, through
 *   {@link verifyCollection}).
 *
 * Linux 6.18 as root is the reference: uninitialised stack reads, pointer
 * comparisons and pointer subtraction are allowed, as they are for
 * privileged loaders. Known gaps (accepted, never rejected): kfuncs, BTF
 * pointers, dynptrs, iterators, arenas, timers, spin locks, callbacks, and
 * program types without context/helper tables (their context loads and
 * unmodelled helpers give values every use of which is accepted).
 *
 * @module
 */
import type { Insn, SourcePos } from '../isa/insn.js';
import { verify } from './verify.js';
import { VerifierLiteError } from './errors.js';
import type { VerifyInput, VerifyOptions, VerifyResult } from './types.js';

export { verify, returnRange } from './verify.js';
export { VerifierLiteError } from './errors.js';
export { verifyText, verifyObject, verifyCollection, isGplLicense, liteMap, type ObjectProgramResult } from './sources.js';
export type { VerifyInput, VerifyOptions, VerifyResult, Diagnostic, Verdict, MapSpecLite } from './types.js';
export {
  ctxRules, ctxFields, SOCK_ADDR_ATTACH_TYPES,
  type CtxRules, type CtxAccess, type CtxAccessResult, type CtxFieldAccess, type CtxLoadType,
} from './context-access.js';
export {
  helperProto, allowedHelpers, isGplOnly, kernelHelperName, HELPER_PROTOS, ARG_EXPECTED,
  type HelperProto, type ArgKind, type RetKind,
} from './helper-protos.js';

/** Runs {@link verify} and throws {@link VerifierLiteError} when the verdict is `error`; returns the result otherwise. */
export function assertVerified(input: VerifyInput, options?: VerifyOptions): VerifyResult {
  const r = verify(input, options);
  if (r.verdict === 'error') throw new VerifierLiteError(r);
  return r;
}

/** The source position of the instruction occupying `slot` (the kernel's instruction numbering), if known. */
export function sourceAt(insns: readonly Insn[], slot: number): SourcePos | undefined {
  let s = 0;
  for (const i of insns) {
    const n = i.code === 0x18 ? 2 : 1;
    if (slot < s + n) return i.source;
    s += n;
  }
  return undefined;
}
