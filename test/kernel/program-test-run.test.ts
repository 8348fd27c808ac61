import { describe, expect, it } from 'vitest';
import { encodeTestRunAttr, xdpLiveFramesCtx } from '../../lib/kernel/test-run.js';
import { BpfAttr } from '../../lib/uapi/bpf-attr.js';
import { offsetOf } from '../../lib/uapi/layout.js';
import { TestRunFlags } from '../../lib/uapi/prog-types.js';

const T = BpfAttr.testRun;
const at = (n: string) => offsetOf(T, n);

describe('test-run attr encoding', () => {
  it('encodes data, context, repeat and output buffers', () => {
    const data = new Uint8Array(60);
    const ctx = new Uint8Array(24);
    const e = encodeTestRunAttr(9, { data, ctx, repeat: 100, cpu: 1, flags: TestRunFlags.BPF_F_TEST_RUN_ON_CPU });
    const a = e.attr;
    expect(a.readU32(at('prog_fd'))).toBe(9);
    expect(a.readU32(at('data_size_in'))).toBe(60);
    expect(a.readU32(at('data_size_out'))).toBe(60 + 512);
    expect(a.readU32(at('repeat'))).toBe(100);
    expect(a.readU32(at('ctx_size_in'))).toBe(24);
    expect(a.readU32(at('ctx_size_out'))).toBe(24);
    expect(a.readU32(at('flags'))).toBe(1);
    expect(a.readU32(at('cpu'))).toBe(1);
    const ptrs = new Map(a.pointers);
    expect(ptrs.get(at('data_in'))).toBe(data);
    expect(ptrs.get(at('data_out'))).toBe(e.dataOut);
    expect(ptrs.get(at('ctx_in'))).toBe(ctx);
    expect(ptrs.get(at('ctx_out'))).toBe(e.ctxOut);
    expect(e.dataOut.length).toBe(572);
  });

  it('leaves out what is not given', () => {
    const e = encodeTestRunAttr(3);
    expect(e.attr.readU32(at('repeat'))).toBe(1);
    expect(e.attr.pointers).toEqual([]);
    expect(e.attr.readU32(at('data_size_out'))).toBe(0);
    expect(encodeTestRunAttr(3, { data: new Uint8Array(14), dataOutSize: 0 }).attr.pointers.map(([o]) => o)).toEqual([at('data_in')]);
  });

  it('builds XDP live-frames runs: flag, xdp_md context, no output', () => {
    const data = new Uint8Array(64);
    const e = encodeTestRunAttr(4, { data, repeat: 1000, batchSize: 16, xdpLiveFrames: { ingressIfindex: 7, rxQueueIndex: 1 } });
    const a = e.attr;
    expect(a.readU32(at('flags'))).toBe(TestRunFlags.BPF_F_TEST_XDP_LIVE_FRAMES);
    expect(a.readU32(at('batch_size'))).toBe(16);
    expect(a.readU32(at('data_size_out'))).toBe(0);
    expect(a.readU32(at('ctx_size_in'))).toBe(24);
    expect(a.readU32(at('ctx_size_out'))).toBe(0);
    const ctx = new Map(a.pointers).get(at('ctx_in')) as Uint8Array;
    expect(Array.from(new Uint32Array(ctx.buffer))).toEqual([0, 64, 0, 7, 1, 0]);
    expect(Array.from(new Uint32Array(xdpLiveFramesCtx(10, 2).buffer))).toEqual([0, 10, 0, 2, 0, 0]);
    expect(() => encodeTestRunAttr(4, { xdpLiveFrames: { ingressIfindex: 1 } })).toThrow(RangeError);
    expect(() => encodeTestRunAttr(4, { repeat: -1 })).toThrow(RangeError);
  });
});
