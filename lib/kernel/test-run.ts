/**
 * BPF_PROG_TEST_RUN (alias BPF_PROG_RUN): run a loaded program on a packet or
 * context supplied from userspace, synchronously or off the main thread, and
 * XDP's live-frames mode that really transmits the frames (Linux 5.18).
 */
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { TestRunFlags } from '../uapi/prog-types.js';
import { XdpMd } from '../uapi/context.js';
import { Attr, bpf, bpfAsync } from './syscall.js';
import { BpfError } from './errors.js';

const T = BpfAttr.testRun;
const off = (name: string) => offsetOf(T, name);

/** Options of a test run. */
export interface TestRunOptions {
  /** Packet data (`data_in`). */
  data?: Uint8Array;
  /** Bytes to reserve for the output packet; default `data.length + 512` (no output in live-frames mode). */
  dataOutSize?: number;
  /** Context in (`__sk_buff`, `xdp_md`, ...). */
  ctx?: Uint8Array;
  /** Bytes to reserve for the output context; default `ctx.length`. */
  ctxOutSize?: number;
  /** Number of runs (the kernel reports the mean duration); default 1. */
  repeat?: number;
  /** `TestRunFlags` bits. */
  flags?: number;
  /** CPU for BPF_F_TEST_RUN_ON_CPU. */
  cpu?: number;
  /** Frames per batch in XDP live-frames mode (default: the kernel's 64). */
  batchSize?: number;
  /**
   * XDP live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18): the frames are
   * really processed (XDP_TX/XDP_REDIRECT transmit) as if received on
   * `ingressIfindex`. There is no output packet; an `xdp_md` context is built.
   */
  xdpLiveFrames?: { ingressIfindex: number; rxQueueIndex?: number };
}

/** What a test run returns. */
export interface TestRunResult {
  /** The program's return value (signed 32-bit: tc's TC_ACT_UNSPEC is -1). */
  retval: number;
  /** Mean duration of one run in nanoseconds. */
  duration: number;
  /** The output packet (empty when none was asked for). */
  dataOut: Uint8Array;
  /** The output context (empty when none was given). */
  ctxOut: Uint8Array;
}

/** An encoded BPF_PROG_TEST_RUN attr and the buffers it points at. */
export interface EncodedTestRun {
  attr: Attr;
  dataOut: Uint8Array;
  ctxOut: Uint8Array;
}

function u32(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} must be a 32-bit unsigned integer, got ${value}`);
  return value;
}

/** Builds the `xdp_md` context of live-frames mode: data at 0, `data_end` = frame length. */
export function xdpLiveFramesCtx(frameLength: number, ingressIfindex: number, rxQueueIndex = 0): Uint8Array {
  const ctx = new Uint8Array(XdpMd.size);
  const v = new DataView(ctx.buffer);
  v.setUint32(offsetOf(XdpMd, 'data'), 0, true);
  v.setUint32(offsetOf(XdpMd, 'data_end'), u32(frameLength, 'frame length'), true);
  v.setUint32(offsetOf(XdpMd, 'ingress_ifindex'), u32(ingressIfindex, 'ingress_ifindex'), true);
  v.setUint32(offsetOf(XdpMd, 'rx_queue_index'), u32(rxQueueIndex, 'rx_queue_index'), true);
  return ctx;
}

/** Encodes the BPF_PROG_TEST_RUN attr for program `progFd` (pure: no syscall). */
export function encodeTestRunAttr(progFd: number, o: TestRunOptions = {}): EncodedTestRun {
  const attr = new Attr();
  const data = o.data;
  let ctx = o.ctx;
  let flags = o.flags ?? 0;
  let dataOutSize = o.dataOutSize ?? (data ? data.length + 512 : 0);
  if (o.xdpLiveFrames) {
    if (!data || data.length === 0) throw new RangeError('XDP live-frames mode needs a frame in data');
    flags |= TestRunFlags.BPF_F_TEST_XDP_LIVE_FRAMES;
    ctx ??= xdpLiveFramesCtx(data.length, o.xdpLiveFrames.ingressIfindex, o.xdpLiveFrames.rxQueueIndex);
    dataOutSize = 0;
  }
  const dataOut = new Uint8Array(dataOutSize);
  const ctxOut = new Uint8Array(o.xdpLiveFrames ? 0 : (o.ctxOutSize ?? ctx?.length ?? 0));
  attr.u32(off('prog_fd'), progFd);
  if (data) {
    attr.u32(off('data_size_in'), data.length).ptr(off('data_in'), data);
  }
  if (dataOut.length > 0) attr.u32(off('data_size_out'), dataOut.length).ptr(off('data_out'), dataOut);
  attr.u32(off('repeat'), u32(o.repeat ?? 1, 'repeat'));
  if (ctx) attr.u32(off('ctx_size_in'), ctx.length).ptr(off('ctx_in'), ctx);
  if (ctxOut.length > 0) attr.u32(off('ctx_size_out'), ctxOut.length).ptr(off('ctx_out'), ctxOut);
  attr.u32(off('flags'), u32(flags, 'flags'));
  if (o.cpu !== undefined) attr.u32(off('cpu'), u32(o.cpu, 'cpu'));
  if (o.batchSize !== undefined) attr.u32(off('batch_size'), u32(o.batchSize, 'batchSize'));
  return { attr, dataOut, ctxOut };
}

function result(e: EncodedTestRun): TestRunResult {
  const { attr } = e;
  return {
    retval: attr.readU32(off('retval')) | 0,
    duration: attr.readU32(off('duration')),
    dataOut: e.dataOut.subarray(0, Math.min(e.dataOut.length, attr.readU32(off('data_size_out')))),
    ctxOut: e.ctxOut.subarray(0, Math.min(e.ctxOut.length, attr.readU32(off('ctx_size_out')))),
  };
}

// ENOSPC: the output did not fit; the kernel reports the size it needed. Run once more with room.
function needsRoom(err: unknown, e: EncodedTestRun): number | undefined {
  if (!(err instanceof BpfError) || err.code !== 'ENOSPC' || e.dataOut.length === 0) return undefined;
  const want = e.attr.readU32(off('data_size_out'));
  return want > e.dataOut.length ? want : undefined;
}

/**
 * Runs program `progFd` once (or `repeat` times) with BPF_PROG_TEST_RUN. If the
 * output packet outgrows `dataOutSize`, it runs once more with enough room.
 */
export function testRun(progFd: number, options: TestRunOptions = {}): TestRunResult {
  let e = encodeTestRunAttr(progFd, options);
  try {
    bpf(BpfCmd.BPF_PROG_TEST_RUN, e.attr);
  } catch (err) {
    const want = needsRoom(err, e);
    if (want === undefined) throw err;
    e = encodeTestRunAttr(progFd, { ...options, dataOutSize: want });
    bpf(BpfCmd.BPF_PROG_TEST_RUN, e.attr);
  }
  return result(e);
}

/** `testRun` on the libuv thread pool, so long runs (large `repeat`) do not block the event loop. */
export async function testRunAsync(progFd: number, options: TestRunOptions = {}): Promise<TestRunResult> {
  let e = encodeTestRunAttr(progFd, options);
  try {
    await bpfAsync(BpfCmd.BPF_PROG_TEST_RUN, e.attr);
  } catch (err) {
    const want = needsRoom(err, e);
    if (want === undefined) throw err;
    e = encodeTestRunAttr(progFd, { ...options, dataOutSize: want });
    await bpfAsync(BpfCmd.BPF_PROG_TEST_RUN, e.attr);
  }
  return result(e);
}
