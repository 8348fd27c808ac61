/**
 * Programs in the kernel: `Program.load` (BPF_PROG_LOAD with the verifier-log
 * handling of the best loaders), test runs, info, pins and lookup by id.
 *
 * Loading follows libbpf and cilium/ebpf: the first attempt carries no log
 * (fast, and no ENOSPC from a log that is too small). When it fails, the load
 * is repeated with a log (level 1, or the level asked for), growing the buffer
 * on ENOSPC up to a cap, and a non-empty log becomes a `VerifierError` whose
 * message names the failing instruction and the kernel's reason.
 */
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr, BpfProgInfo } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { LogLevel, progTypeName } from '../uapi/prog-types.js';
import { encode } from '../isa/encode.js';
import type { Insn } from '../isa/insn.js';
import { sourceAt, type VerifyOptions } from '../verifier/index.js';
import { Attr, bpfRaw, commandName } from './syscall.js';
import { BpfError } from './errors.js';
import { TsbpfError } from '../errors.js';
import { FD } from './fd.js';
import { native } from './native.js';
import { VerifierError, parseVerifierLog, type SourcePos } from './verifier-log.js';
import { testRun, testRunAsync, type TestRunOptions, type TestRunResult } from './test-run.js';
import { pinFd, openPinnedFd } from './bpffs.js';
import { objInfo, fdById } from './info.js';
import { precheckProgram } from './program-precheck.js';

const L = BpfAttr.progLoad;
const lo = (name: string) => offsetOf(L, name);
const PI = BpfProgInfo;
const pi = (name: string) => offsetOf(PI, name);

/** BTF for a program: the loaded BTF object and its func_info / line_info records. */
export interface ProgramBtf {
  /** Descriptor of the loaded BTF object (BPF_BTF_LOAD). */
  fd: number;
  /** `bpf_func_info` records (`funcInfoRecSize` bytes each). */
  funcInfo?: Uint8Array;
  funcInfoRecSize?: number;
  /** `bpf_line_info` records (`lineInfoRecSize` bytes each). */
  lineInfo?: Uint8Array;
  lineInfoRecSize?: number;
}

/** How the load handles the verifier log. */
export interface LoadOptions {
  /** Log level of the retry after a failure: 1 (default) or 2 (every instruction's state). */
  logLevel?: 1 | 2;
  /** Initial log buffer size in bytes (default 64 KiB); grows on ENOSPC up to `logSizeMax`. */
  logSize?: number;
  /** Cap of the log buffer (default 16 MiB); beyond it the log is truncated (the kernel keeps its tail). */
  logSizeMax?: number;
  /** Load with BPF_LOG_STATS (log level 4) to learn the verification time and processed instruction count. */
  stats?: boolean;
  /** Maps a failing instruction index (8-byte slots) to a source position for `VerifierError.source`. */
  insnToSource?: (insn: number) => SourcePos | undefined;
  /**
   * Pre-check lib/isa programs with verifier-lite before BPF_PROG_LOAD: a
   * predicted rejection throws `VerifierLiteError` (kernel wording, source
   * position) without asking the kernel; warnings never block. Default false.
   */
  verify?: boolean | VerifyOptions;
}

/** What to load. */
export interface ProgramSpec extends LoadOptions {
  /** `ProgType` number. */
  type: number;
  /** Encoded instructions (8-byte slots), or lib/isa instructions (linked: no unresolved jumps). */
  insns: Uint8Array | readonly Insn[];
  /** Object name (up to 15 bytes of [A-Za-z0-9_.]; longer names are cut, other characters become `_`). */
  name?: string;
  /** License string (default `'GPL'`; GPL-only helpers need a GPL-compatible one). */
  license?: string;
  /** `AttachType` number the program expects (required for cgroup sock_addr programs). */
  expectedAttachType?: number;
  /** `ProgLoadFlags` bits. */
  flags?: number;
  /** `kern_version` (only kprobes of kernels before 5.0 check it). */
  kernVersion?: number;
  /** Device for offloaded or device-bound XDP programs. */
  ifindex?: number;
  btf?: ProgramBtf;
  /** `attach_btf_id` (tracing, LSM, struct_ops, ext programs). */
  attachBtfId?: number;
  /** `attach_btf_obj_fd` (module BTF) or, for ext/fentry on programs, `attach_prog_fd`. */
  attachFd?: number;
  /** Descriptors for `fd_array` (kfunc module BTFs, maps by index). */
  fdArray?: readonly number[];
  /**
   * Maps for the symbolic map references of lib/isa instructions (`ldMapFd(r, 'name')`,
   * `ldMapValue`): name to a map or descriptor. Every such reference must resolve.
   */
  maps?: Readonly<Record<string, number | { readonly fd: number }>>;
}

/** A program cannot be encoded for loading (an unresolved map reference). */
export class ProgramError extends TsbpfError {}

/** What BPF_OBJ_GET_INFO_BY_FD tells about a program. */
export interface ProgramInfo {
  type: number;
  id: number;
  /** The program tag (SHA-1 prefix of the instructions) as 16 hex digits. */
  tag: string;
  name: string;
  /** Size of the JIT-compiled code in bytes (0 when not jited). */
  jitedSize: number;
  /** Size of the kernel-rewritten instructions in bytes. */
  xlatedSize: number;
  /** Instructions the verifier processed (Linux 5.16). */
  verifiedInsns: number;
  /** Ids of the maps the program uses. */
  mapIds: number[];
  /** Load time in nanoseconds since boot. */
  loadTime: bigint;
  createdByUid: number;
  gplCompatible: boolean;
  /** BTF object id (0 when the program has no BTF). */
  btfId: number;
  /** Total run time and count (only with BPF_ENABLE_STATS or kernel.bpf_stats_enabled). */
  runTimeNs: bigint;
  runCount: bigint;
}

/** Statistics of a load with BPF_LOG_STATS. */
export interface VerificationStats {
  /** `verification time N usec` from the kernel. */
  verificationUs: number | undefined;
  /** `processed N insns`. */
  processedInsns: number | undefined;
}

const DEFAULT_LOG_SIZE = 64 * 1024;
const MAX_LOG_SIZE = 16 * 1024 * 1024;
// The kernel caps log_size at UINT_MAX >> 2 (Linux 5.2+ accepts up to 1 GiB - 1).
const KERNEL_LOG_SIZE_LIMIT = 0x3fffffff;

/** `name` as the kernel accepts it: at most 15 bytes of [A-Za-z0-9_.]. */
export function objectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

/**
 * Patches the map references of lib/isa instructions with descriptors from
 * `maps`: `lddw` BPF_PSEUDO_MAP_FD gets the fd, BPF_PSEUDO_MAP_VALUE the fd in
 * the low 32 bits (the value offset stays in the high 32). Other references
 * (labels, kfuncs, BTF ids) must be resolved before; they throw `ProgramError`.
 */
export function resolveMapRefs(insns: readonly Insn[], maps: ProgramSpec['maps'] = {}): Insn[] {
  return insns.map((i, index) => {
    if (!i.ref) return i;
    if (i.ref.kind !== 'map' && i.ref.kind !== 'map_value') {
      throw new ProgramError(`instruction ${index} has an unresolved ${i.ref.kind} reference '${i.ref.name}' (link it first)`);
    }
    const m = Object.prototype.hasOwnProperty.call(maps, i.ref.name) ? maps[i.ref.name] : undefined;
    if (m === undefined) throw new ProgramError(`instruction ${index} refers to map '${i.ref.name}', which is not in options.maps`);
    const fd = typeof m === 'number' ? m : m.fd;
    const high = i.ref.kind === 'map_value' ? BigInt.asUintN(64, i.imm64 ?? 0n) & ~0xffffffffn : 0n;
    const imm64 = high | BigInt(fd >>> 0);
    return { ...i, imm: fd | 0, imm64, ref: undefined };
  });
}

/** The instructions as bytes (lib/isa instructions are encoded; map references resolved from `maps`). */
export function insnBytes(insns: Uint8Array | readonly Insn[], maps?: ProgramSpec['maps']): Uint8Array {
  const bytes = insns instanceof Uint8Array ? insns : encode(insns.some((i) => i.ref) ? resolveMapRefs(insns, maps) : insns);
  if (bytes.length === 0 || bytes.length % 8 !== 0) {
    throw new RangeError(`a program needs a non-empty multiple of 8 bytes of instructions, got ${bytes.length}`);
  }
  return bytes;
}

/** The buffers an encoded prog-load attr points at (kept alive with it). */
export interface EncodedProgLoad {
  attr: Attr;
  log: Uint8Array | undefined;
}

/** Encodes the BPF_PROG_LOAD attr (pure: no syscall). `log` adds a log buffer of `size` bytes at `level`. */
export function encodeProgLoadAttr(spec: ProgramSpec, log?: { level: number; size: number }): EncodedProgLoad {
  const attr = new Attr();
  const bytes = insnBytes(spec.insns, spec.maps);
  const license = Buffer.from(`${spec.license ?? 'GPL'}\0`, 'utf8');
  attr
    .u32(lo('prog_type'), spec.type)
    .u32(lo('insn_cnt'), bytes.length / 8)
    .ptr(lo('insns'), bytes)
    .ptr(lo('license'), license)
    .u32(lo('kern_version'), spec.kernVersion ?? 0)
    .u32(lo('prog_flags'), spec.flags ?? 0)
    .str(lo('prog_name'), 16, objectName(spec.name ?? ''))
    .u32(lo('prog_ifindex'), spec.ifindex ?? 0)
    .u32(lo('expected_attach_type'), spec.expectedAttachType ?? 0);
  if (spec.btf) {
    const b = spec.btf;
    attr.u32(lo('prog_btf_fd'), b.fd);
    if (b.funcInfo && b.funcInfo.length > 0) {
      const rec = b.funcInfoRecSize ?? 8;
      attr.u32(lo('func_info_rec_size'), rec).ptr(lo('func_info'), b.funcInfo).u32(lo('func_info_cnt'), b.funcInfo.length / rec);
    }
    if (b.lineInfo && b.lineInfo.length > 0) {
      const rec = b.lineInfoRecSize ?? 16;
      attr.u32(lo('line_info_rec_size'), rec).ptr(lo('line_info'), b.lineInfo).u32(lo('line_info_cnt'), b.lineInfo.length / rec);
    }
  }
  if (spec.attachBtfId !== undefined) attr.u32(lo('attach_btf_id'), spec.attachBtfId);
  if (spec.attachFd !== undefined) attr.u32(lo('attach_btf_obj_fd'), spec.attachFd);
  if (spec.fdArray && spec.fdArray.length > 0) {
    const fds = new Int32Array(spec.fdArray);
    attr.ptr(lo('fd_array'), fds);
  }
  let logBuf: Uint8Array | undefined;
  if (log && log.level > 0) {
    logBuf = new Uint8Array(log.size);
    attr.u32(lo('log_level'), log.level).u32(lo('log_size'), log.size).ptr(lo('log_buf'), logBuf);
  }
  return { attr, log: logBuf };
}

function logText(buf: Uint8Array | undefined): string {
  if (!buf) return '';
  const end = buf.indexOf(0);
  return Buffer.from(buf.buffer, buf.byteOffset, end < 0 ? buf.length : end).toString('utf8');
}

interface Attempt {
  result: number;
  log: string;
  /** log_true_size written back by Linux 6.4+, or 0. */
  trueSize: number;
}

const EAGAIN = 11;
const EAGAIN_RETRIES = 5;

function attempt(spec: ProgramSpec, level: number, size: number): Attempt {
  // Like libbpf, retry a few times when the kernel asks (EAGAIN: interrupted verification).
  for (let tries = 1; ; tries++) {
    const e = encodeProgLoadAttr(spec, level > 0 ? { level, size } : undefined);
    const result = bpfRaw(BpfCmd.BPF_PROG_LOAD, e.attr);
    if (result === -EAGAIN && tries < EAGAIN_RETRIES) continue;
    return { result, log: logText(e.log), trueSize: e.attr.readU32(lo('log_true_size')) };
  }
}

/**
 * Loads with a log at `level`, growing the buffer on ENOSPC (to log_true_size
 * when the kernel reports it, else 4x) until `max`.
 */
function attemptWithLog(spec: ProgramSpec, level: number, size: number, max: number): Attempt & { truncated: boolean } {
  for (;;) {
    const a = attempt(spec, level, size);
    if (a.result !== -28 /* ENOSPC */) return { ...a, truncated: false };
    if (size >= max) return { ...a, truncated: true };
    size = Math.min(max, a.trueSize > size ? a.trueSize : size * 4);
  }
}

/** A loaded BPF program. Close it (or use `using`) when done; a pinned or attached program stays in the kernel. */
export class Program {
  readonly #fd: FD;
  /** `ProgType` number. */
  readonly type: number;
  /** The name given at load (or reported by the kernel for opened programs). */
  readonly name: string;
  /** Statistics of the load, when loaded with `stats: true`. */
  readonly stats: VerificationStats | undefined;

  private constructor(fd: FD, type: number, name: string, stats?: VerificationStats) {
    this.#fd = fd;
    this.type = type;
    this.name = name;
    this.stats = stats;
  }

  /**
   * Loads a program (BPF_PROG_LOAD). Throws `VerifierError` when the verifier
   * rejects it (summary, failing instruction, full log), `BpfError` for other
   * failures (permissions, bad attributes). With `verify`, lib/isa programs
   * verifier-lite rejects throw `VerifierLiteError` before the kernel is asked.
   */
  static load(spec: ProgramSpec, options: LoadOptions = {}): Program {
    const o: ProgramSpec = { ...spec, ...options };
    const name = objectName(o.name ?? '');
    const maxSize = Math.min(o.logSizeMax ?? MAX_LOG_SIZE, KERNEL_LOG_SIZE_LIMIT);
    const initialSize = Math.min(o.logSize ?? DEFAULT_LOG_SIZE, maxSize);
    if (!(initialSize >= 128)) throw new RangeError(`logSize must be at least 128 bytes, got ${initialSize}`);
    const statsBit = o.stats ? LogLevel.BPF_LOG_STATS : 0;
    if (o.verify && !(o.insns instanceof Uint8Array)) {
      precheckProgram({ ...o, insns: o.insns }, o.verify === true ? {} : o.verify);
    }

    const loaded = (a: Attempt) => {
      const stats = o.stats ? parseVerifierLog(a.log) : undefined;
      const fd = new FD(a.result, `program ${name}`);
      return new Program(fd, o.type, name, stats && { verificationUs: stats.verificationUs, processedInsns: stats.processedInsns });
    };

    const first = o.stats ? attemptWithLog(o, statsBit, initialSize, maxSize) : attempt(o, 0, 0);
    if (first.result >= 0) return loaded(first);
    const retry = attemptWithLog(o, (o.logLevel ?? 1) | statsBit, initialSize, maxSize);
    // Loaded on the second try (the first failure was transient): keep it.
    if (retry.result >= 0) return loaded(retry);
    const errno = -retry.result;
    if (retry.log.trim() === '') {
      throw new BpfError(commandName(BpfCmd.BPF_PROG_LOAD), errno, `${progTypeName(o.type) ?? `type ${o.type}`} ${name || '(unnamed)'}`);
    }
    const insns = o.insns;
    const insnToSource =
      o.insnToSource ?? (insns instanceof Uint8Array ? undefined : (slot: number) => sourceAt(insns, slot));
    throw new VerifierError({ program: name, log: retry.log, errno, truncated: retry.truncated, insnToSource });
  }

  /**
   * Loads the program with BPF_LOG_STATS only to measure verification, then
   * closes it. Throws like `load` when the program is rejected.
   */
  static measureVerification(spec: ProgramSpec): VerificationStats {
    const p = Program.load(spec, { stats: true });
    p.close();
    return p.stats!;
  }

  /** Takes ownership of a program descriptor (type and name are read from the kernel). */
  static fromFd(fd: number): Program {
    const owned = new FD(fd, 'program');
    try {
      const info = progInfo(owned.value, false);
      return new Program(owned, info.type, info.name);
    } catch (e) {
      owned.close();
      throw e;
    }
  }

  /** Opens the program with kernel id `id` (BPF_PROG_GET_FD_BY_ID). */
  static fromId(id: number): Program {
    return Program.fromFd(fdById(BpfCmd.BPF_PROG_GET_FD_BY_ID, id));
  }

  /** Opens a program pinned at `path` on bpffs. */
  static openPinned(path: string): Program {
    return Program.fromFd(openPinnedFd(path));
  }

  /** The program descriptor; throws `ClosedError` after close. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Pins the program at `path` on bpffs (it then outlives this process until unlinked). */
  pin(path: string): void {
    pinFd(this.fd, path);
  }

  /** What the kernel reports about the program (BPF_OBJ_GET_INFO_BY_FD). */
  info(): ProgramInfo {
    return progInfo(this.fd, true);
  }

  /** Runs the program with BPF_PROG_TEST_RUN. */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return testRun(this.fd, options);
  }

  /** `testRun` off the main thread (the libuv pool), for long runs. */
  testRunAsync(options: TestRunOptions = {}): Promise<TestRunResult> {
    return testRunAsync(this.#fd.value, options);
  }

  /** Closes the descriptor; closing twice is harmless. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// Writes the address of `target` into the pointer member at `offset` of an info
// struct (the caller keeps `target` alive until the call that uses it).
function writeAddress(buffer: Uint8Array, offset: number, target: ArrayBufferView): void {
  const address = native().addressOf(target);
  const v = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  v.setBigUint64(offset, BigInt(address), true);
}

function progInfo(fd: number, withMaps: boolean): ProgramInfo {
  let buf = objInfo(fd, PI.size);
  let v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const nrMaps = v.getUint32(pi('nr_map_ids'), true);
  let mapIds: number[] = [];
  if (withMaps && nrMaps > 0) {
    const ids = new Uint32Array(nrMaps);
    const req = new Uint8Array(PI.size);
    new DataView(req.buffer).setUint32(pi('nr_map_ids'), nrMaps, true);
    writeAddress(req, pi('map_ids'), ids);
    objInfo(fd, req);
    const got = Math.min(nrMaps, new DataView(req.buffer).getUint32(pi('nr_map_ids'), true));
    mapIds = Array.from(ids.subarray(0, got));
    buf = req;
    v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  const tag = Buffer.from(buf.subarray(pi('tag'), pi('tag') + 8)).toString('hex');
  const nameBytes = buf.subarray(pi('name'), pi('name') + 16);
  const nul = nameBytes.indexOf(0);
  return {
    type: v.getUint32(pi('type'), true),
    id: v.getUint32(pi('id'), true),
    tag,
    name: Buffer.from(nameBytes.subarray(0, nul < 0 ? 16 : nul)).toString('utf8'),
    jitedSize: v.getUint32(pi('jited_prog_len'), true),
    xlatedSize: v.getUint32(pi('xlated_prog_len'), true),
    verifiedInsns: v.getUint32(pi('verified_insns'), true),
    mapIds,
    loadTime: v.getBigUint64(pi('load_time'), true),
    createdByUid: v.getUint32(pi('created_by_uid'), true),
    gplCompatible: (v.getUint32(pi('gpl_compatible'), true) & 1) === 1,
    btfId: v.getUint32(pi('btf_id'), true),
    runTimeNs: v.getBigUint64(pi('run_time_ns'), true),
    runCount: v.getBigUint64(pi('run_cnt'), true),
  };
}

