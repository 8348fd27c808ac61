import { describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { loadDslProgram } from '../../lib/kernel/dsl-loader.js';
import { DslError, XDP_ABORTED, XDP_PASS, arrayMap, array, iphdr, packed, u32, u64, u8, xdp } from '../../lib/dsl/index.js';
import { ipv4Packet } from './packets.js';

/** A latency-histogram style value: eight counters, one per bucket. */
const Hist = packed({ total: u64, buckets: array(u64, 8) }, { name: 'hist' });
const hist = arrayMap('aidx_hist', { value: Hist, maxEntries: 1 });

/** Counts the packet in bucket `ttl` of a map value; aborts when the TTL is not a bucket. */
const bucketByTtl = xdp('aidx_bucket', (b) => {
  const ip = b.header(iphdr, 14, () => b.return(XDP_PASS));
  const h = b.notNull(b.lookup(hist, 0), () => b.return(XDP_PASS));
  h.total.atomicAdd(1n);
  h.buckets.at(ip.ttl, () => b.return(XDP_ABORTED)).atomicAdd(1n);
  return b.return(XDP_PASS);
});

/** A stack array written and read at a run-time index (signed: a negative index is out of range). */
const Bytes8 = packed({ b: array(u8, 8) }, { name: 'bytes8' });
const stackIndex = xdp('aidx_stack', (b) => {
  const ip = b.header(iphdr, 14, () => b.return(XDP_PASS));
  const buf = b.stack(Bytes8, { b: [10, 11, 12, 13, 14, 15, 16, 17] });
  const i = ip.ttl.as('s32').sub(4);
  buf.fields.b.at(i, () => b.return(XDP_ABORTED)).set(99);
  return b.return(buf.fields.b.at(i, () => b.return(XDP_ABORTED)).add(buf.fields.b.get(0)).as(u32));
});


describe('run-time array indexes', () => {
  it('bounds-check the index and pass verifier-lite', () => {
    bucketByTtl.build({ verify: true });
    // the check: a jump on `index < 8` before the element's address is formed
    expect(bucketByTtl.disasm()).toMatch(/if [rw]\d+ < 0x8 goto|if [rw]\d+ >= 0x8 goto|if [rw]\d+ > 0x7 goto|if [rw]\d+ <= 0x7 goto/);
    expect(() => stackIndex.build({ verify: true })).not.toThrow();
  });

  it('needs an out-of-range branch that ends, and memory the verifier can bound', () => {
    const noExit = xdp('aidx_noexit', (b) => {
      const ip = b.header(iphdr, 14, () => b.return(XDP_PASS));
      const h = b.notNull(b.lookup(hist, 0), () => b.return(XDP_PASS));
      h.buckets.at(ip.ttl, () => {}).atomicAdd(1n);
      return b.return(XDP_PASS);
    });
    expect(() => noExit.build()).toThrow(DslError);
    expect(() => noExit.build()).toThrow(/onOutOfRange must end the program/);
    const V6 = packed({ w: array(u32, 4) }, { name: 'v6w' });
    const inPacket = xdp('aidx_pkt', (b) => {
      const ip = b.header(iphdr, 14, () => b.return(XDP_PASS));
      const v = b.header(V6, 34, () => b.return(XDP_PASS));
      return b.return(v.w.at(ip.ttl, () => b.return(XDP_PASS)));
    });
    expect(() => inPacket.build()).toThrow(/a run-time index works in map values and stack structs/);
  });
});

describeKernel('run-time array indexes (kernel)', () => {
  it('counts into the bucket the packet names, and refuses an index past the end', () => {
    using l = loadDslProgram(bucketByTtl);
    for (const ttl of [3, 3, 7, 0]) expect(l.program.testRun({ data: ipv4Packet({ ttl }) }).retval).toBe(XDP_PASS);
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 8 }) }).retval).toBe(XDP_ABORTED);
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 200 }) }).retval).toBe(XDP_ABORTED);
    const v = l.typed(hist).get(0)!;
    expect(v.total).toBe(6n); // every run that found the value counted; the two refused ones too
    expect(v.buckets).toEqual([1n, 0n, 0n, 2n, 0n, 0n, 0n, 1n]);
  });

  it('writes and reads a stack array at a signed run-time index', () => {
    using l = loadDslProgram(stackIndex);
    // ttl 6 -> index 2: element 2 becomes 99, plus element 0 (10)
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 6 }) }).retval).toBe(109);
    // ttl 4 -> index 0: element 0 becomes 99, read back twice
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 4 }) }).retval).toBe(198);
    // ttl 3 -> index -1, ttl 12 -> index 8: out of range
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 3 }) }).retval).toBe(XDP_ABORTED);
    expect(l.program.testRun({ data: ipv4Packet({ ttl: 12 }) }).retval).toBe(XDP_ABORTED);
  });
});
