/**
 * Public types of verifier-lite: what a program to check looks like, and
 * what the check returns.
 *
 * @module
 */
import type { Insn, SourcePos } from '../isa/insn.js';

/**
 * A map as verifier-lite needs it: the kernel's `bpf_map_create` parameters.
 * `lddw rX, map` (src=BPF_PSEUDO_MAP_FD or BPF_PSEUDO_MAP_IDX) refers to a map
 * by its `imm`, an index into {@link VerifyInput.maps}, or by the
 * instruction's `ref.name` matched against {@link MapSpecLite.name}.
 */
export interface MapSpecLite {
  name?: string;
  /** `BPF_MAP_TYPE_*` number. */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  /** The inner map of a map-in-map (hash/array of maps). */
  inner?: MapSpecLite;
}

/** A program to check. */
export interface VerifyInput {
  /** Instructions (lib/isa model) or raw bytecode (a multiple of 8 bytes). */
  insns: readonly Insn[] | Uint8Array;
  /** `BPF_PROG_TYPE_*` number. */
  progType: number;
  /** `BPF_*` attach type number (required by the kernel for cgroup sock_addr programs). */
  expectedAttachType?: number;
  /** Maps referenced by `lddw` (index = `imm`, or by name through `ref`). */
  maps?: readonly MapSpecLite[];
  /** GPL-compatible license (default true); false forbids GPL-only helpers. */
  gpl?: boolean;
  /**
   * Source position per instruction slot (index = slot); when absent the
   * `source` field of each `Insn` is used.
   */
  sourceMap?: ReadonlyArray<SourcePos | undefined>;
}

/** Options of `verify`. */
export interface VerifyOptions {
  /** Instruction budget (default 1,000,000 like the kernel's BPF_COMPLEXITY_LIMIT_INSNS). */
  insnLimit?: number;
  /** Wall-clock budget in milliseconds (default 30,000); on expiry the verdict is 'warning'. */
  timeLimitMs?: number;
  /**
   * `nr_cpu_ids` of the target kernel: `bpf_get_smp_processor_id()` returns
   * [0, nrCpus - 1] (the kernel's `do_refine_retval_range`). Default 8192
   * (the largest CONFIG_NR_CPUS); on Linux read /sys/devices/system/cpu/possible.
   */
  nrCpus?: number;
}

/** A verdict: `ok` (the kernel should accept), `warning` (accepted, with notes), `error` (the kernel would reject). */
export type Verdict = 'ok' | 'warning' | 'error';

/** One diagnostic. */
export interface Diagnostic {
  /** `error` diagnostics are kernel rejections; `warning` ones are not. */
  severity: 'error' | 'warning';
  /** Instruction index in 8-byte slots (the kernel's numbering). */
  insn: number;
  /** The message, in the kernel's wording where the kernel has one. */
  message: string;
  /** Rule class (`ctx`, `packet`, `map_value`, `null_check`, `helper`, `return`, `reference`, `stack`, `structure`, `alu`, `budget`, `uninit`, ...). */
  rule: string;
  /** The kernel's follow-up line, when it prints two (`R2 offset is outside of the packet`). */
  detail?: string;
  /** A plain-language hint. */
  hint: string;
  /** TypeScript (or other) source position of the instruction, when known. */
  source?: SourcePos;
  /** Abstract register state at that point, as the kernel prints it (`R1=ctx() R10=fp0`). */
  state?: string;
}

/** What `verify` returns. */
export interface VerifyResult {
  verdict: Verdict;
  diagnostics: Diagnostic[];
  /** Instructions processed along all paths (the kernel's `processed N insns`). */
  insnsProcessed: number;
  /** Time spent, in microseconds. */
  durationUs: number;
}
