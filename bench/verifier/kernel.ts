/**
 * The kernel as an oracle for verifier-lite: loads raw instructions with
 * BPF_PROG_LOAD (log level 1 | stats), creates the maps a program refers to,
 * and parses the log into a verdict, the failing instruction and the
 * verification time. Used by the differential tests and `tsbpf bench verifier`.
 * Needs root and the native addon.
 */
import { readFileSync } from 'node:fs';
import { Attr, bpfRaw } from '../../lib/kernel/syscall.js';
import { native } from '../../lib/kernel/native.js';
import { BpfCmd } from '../../lib/uapi/commands.js';
import { encode } from '../../lib/isa/encode.js';
import type { Insn } from '../../lib/isa/insn.js';
import type { MapSpecLite } from '../../lib/verifier/types.js';

/** The kernel's verdict on one program. */
export interface KernelVerdict {
  ok: boolean;
  errno: number;
  /** The whole verifier log. */
  log: string;
  /** The last meaningful log line before the summary (the kernel's error message). */
  message: string;
  /** Instruction index (slot) of the failure, when the log names one. */
  insn?: number;
  /** `verification time N usec` from the stats lines. */
  verificationUs?: number;
  insnsProcessed?: number;
}

/** nr_cpu_ids of this machine: the count in /sys/devices/system/cpu/possible (`0-1` is 2). */
export function possibleCpus(): number | undefined {
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

const LICENSE = new TextEncoder().encode('GPL\0');
const LICENSE_PROP = new TextEncoder().encode('Proprietary\0');

/** Creates one map for a program; returns its fd (or -errno). */
export function createMap(m: MapSpecLite): number {
  let innerFd = -1;
  if (m.inner) innerFd = createMap(m.inner);
  const a = new Attr();
  a.u32(0, m.type).u32(4, m.keySize).u32(8, m.valueSize).u32(12, m.maxEntries).u32(16, m.flags ?? 0);
  if (innerFd >= 0) a.u32(20, innerFd);
  const fd = bpfRaw(BpfCmd.BPF_MAP_CREATE, a);
  if (innerFd >= 0) native().close(innerFd);
  return fd;
}

/** Parses a verifier log into message, failing instruction and statistics. */
export function parseLog(log: string): Pick<KernelVerdict, 'message' | 'insn' | 'verificationUs' | 'insnsProcessed'> {
  // Some messages lack a newline and run into the statistics line; `cur state`/`old state`
  // lines follow an infinite-loop report.
  const lines = log
    .replace(/([^\n])(processed \d+ insns)/g, '$1\n$2')
    .split('\n')
    .filter((l) => l.length > 0 && !/^(cur|old) state:/.test(l));
  const out: Pick<KernelVerdict, 'message' | 'insn' | 'verificationUs' | 'insnsProcessed'> = { message: '' };
  const vt = /verification time (\d+) usec/.exec(log);
  if (vt) out.verificationUs = Number(vt[1]);
  const pr = /processed (\d+) insns/.exec(log);
  if (pr) out.insnsProcessed = Number(pr[1]);
  // The error is the last line before the statistics block.
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    if (/^verification time|^stack depth|^processed \d+ insns/.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  const body = lines.slice(0, end);
  out.message = body.length ? body[body.length - 1]! : '';
  // The failing instruction: the last "N: (..)" instruction line printed.
  for (let i = body.length - 1; i >= 0; i--) {
    const m = /^(\d+): \([0-9a-f]{2}\)/.exec(body[i]!);
    if (m) {
      out.insn = Number(m[1]);
      break;
    }
  }
  return out;
}

let logBuffer: Uint8Array | undefined;

/** Options of {@link kernelLoad}. */
export interface KernelLoadOptions {
  expectedAttachType?: number;
  maps?: MapSpecLite[];
  /** GPL by default. */
  gpl?: boolean;
  /** 1 (path) | 4 (stats) by default; 4 alone gives just the statistics. */
  logLevel?: number;
}

/**
 * Loads `insns` (maps referenced by `lddw` src=1 with imm = index into
 * `maps`) and returns the kernel's verdict. The program is closed at once.
 */
export function kernelLoad(insns: readonly Insn[] | Uint8Array, progType: number, options: KernelLoadOptions = {}): KernelVerdict {
  const fds: number[] = [];
  try {
    for (const m of options.maps ?? []) {
      const fd = createMap(m);
      if (fd < 0) throw new Error(`map create failed: errno ${-fd}`);
      fds.push(fd);
    }
    const bytes = insns instanceof Uint8Array ? new Uint8Array(insns) : encode(insns as Insn[]);
    // Patch map references (lddw src=BPF_PSEUDO_MAP_FD/VALUE, imm=index) with fds.
    for (let p = 0; p + 16 <= bytes.length; p += 8) {
      if (bytes[p] === 0x18) {
        const src = bytes[p + 1]! >> 4;
        if (src === 1 || src === 2) {
          const idx = new DataView(bytes.buffer, bytes.byteOffset).getInt32(p + 4, true);
          const fd = fds[idx];
          if (fd !== undefined) new DataView(bytes.buffer, bytes.byteOffset).setInt32(p + 4, fd, true);
        }
        p += 8;
      }
    }
    // One reused log buffer: allocating 4 MB per load would put GC pauses into whatever runs next.
    const logSize = (options.logLevel ?? 5) === 4 ? 1 << 16 : 1 << 22;
    logBuffer ??= new Uint8Array(1 << 22);
    const logBuf = logBuffer.subarray(0, logSize);
    logBuf[0] = 0;
    const a = new Attr();
    a.u32(0, progType).u32(4, bytes.length / 8).ptr(8, bytes).ptr(16, options.gpl === false ? LICENSE_PROP : LICENSE);
    a.u32(24, options.logLevel ?? 5).u32(28, logSize).ptr(32, logBuf);
    a.u32(68, options.expectedAttachType ?? 0);
    const r = bpfRaw(BpfCmd.BPF_PROG_LOAD, a);
    const n = logBuf.indexOf(0);
    const log = Buffer.from(logBuf.subarray(0, n < 0 ? logSize : n)).toString('utf8');
    if (r >= 0) native().close(r);
    const parsed = parseLog(log);
    return { ok: r >= 0, errno: r < 0 ? -r : 0, log, ...parsed };
  } finally {
    for (const fd of fds) native().close(fd);
  }
}
