import { expect, it } from 'vitest';
import { BatchError, BpfMap } from '../../lib/kernel/map.js';
import { possibleCpus } from '../../lib/kernel/cpus.js';
import { UpdateFlags } from '../../lib/uapi/map-types.js';
import { describeKernel } from '../helpers/env.js';

const k32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const rd32 = (b: Uint8Array, off = 0) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

function keysAndValues(n: number, keyOf = (i: number) => i, valueOf = (i: number) => i * 10) {
  const keys = new Uint8Array(4 * n);
  const values = new Uint8Array(4 * n);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  for (let i = 0; i < n; i++) {
    kv.setUint32(4 * i, keyOf(i), true);
    vv.setUint32(4 * i, valueOf(i), true);
  }
  return { keys, values };
}

describeKernel('BpfMap: iteration', () => {
  it('walks every key and entry of a hash map (sync)', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1000 });
    for (let i = 0; i < 500; i++) m.update(k32(i), k32(i * 2));
    const keys = [...m.keys()].map((k) => rd32(k)).sort((a, b) => a - b);
    expect(keys).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const entries = [...m.entries()];
    expect(entries.length).toBe(500);
    for (const [k, v] of entries) expect(rd32(v)).toBe(rd32(k) * 2);
    expect([...m].length).toBe(500);
    expect([...m.values()].length).toBe(500);
    expect(m.nextKey()).toBeDefined();
  });

  it('walks an empty map and an array map', () => {
    using h = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    expect([...h.keys()]).toEqual([]);
    expect(h.nextKey()).toBeUndefined();
    using a = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 5 });
    expect([...a.keys()].map((k) => rd32(k))).toEqual([0, 1, 2, 3, 4]);
  });

  it('survives deleting the current key while iterating', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 300 });
    for (let i = 0; i < 300; i++) m.update(k32(i), k32(i));
    const seen = new Set<number>();
    for (const k of m.keys()) {
      seen.add(rd32(k));
      expect(m.delete(k)).toBe(true);
    }
    expect(seen.size).toBe(300);
    expect([...m.keys()]).toEqual([]);
  });

  it('deleting only odd keys while iterating visits every key exactly once', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 200 });
    for (let i = 0; i < 200; i++) m.update(k32(i), k32(i));
    const visits = new Map<number, number>();
    for (const [k] of m.entries()) {
      const n = rd32(k);
      visits.set(n, (visits.get(n) ?? 0) + 1);
      if (n % 2 === 1) m.delete(k);
    }
    expect(visits.size).toBe(200);
    expect([...visits.values()].every((c) => c === 1)).toBe(true);
    expect([...m.keys()].length).toBe(100);
  });

  it('async iteration yields the same entries without blocking the event loop', async () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 100 });
    for (let i = 0; i < 50; i++) m.update(k32(i), k32(i + 1));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const got: number[] = [];
    try {
      for await (const [k, v] of m) {
        expect(rd32(v)).toBe(rd32(k) + 1);
        got.push(rd32(k));
      }
    } finally {
      clearInterval(timer);
    }
    expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const keys: number[] = [];
    for await (const k of m.keysAsync()) keys.push(rd32(k));
    expect(keys.length).toBe(50);
    expect(rd32((await m.lookupAsync(k32(3)))!)).toBe(4);
    expect(await m.lookupAsync(k32(99))).toBeUndefined();
  });
});

describeKernel('BpfMap: batch operations', () => {
  it('updateBatch in chunks, lookupBatch reads everything back', () => {
    const n = 10_000;
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: n });
    const { keys, values } = keysAndValues(n);
    expect(m.updateBatch(keys, values, { chunkSize: 3000 })).toBe(n);
    const all = m.lookupBatch({ chunkSize: 777 });
    expect(all.count).toBe(n);
    const got = new Map<number, number>();
    for (let i = 0; i < all.count; i++) got.set(rd32(all.keys, 4 * i), rd32(all.values, 4 * i));
    expect(got.size).toBe(n);
    for (let i = 0; i < n; i += 997) expect(got.get(i)).toBe(i * 10);
  });

  it('lookupBatch grows a chunk that is smaller than a hash bucket (ENOSPC) and handles the final ENOENT', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 64 });
    const { keys, values } = keysAndValues(64);
    m.updateBatch(keys, values);
    const all = m.lookupBatch({ chunkSize: 1 });
    expect(all.count).toBe(64);
    using empty = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(empty.lookupBatch().count).toBe(0);
  });

  it('batch operations on array and per-CPU maps', () => {
    using a = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 10 });
    const { keys, values } = keysAndValues(10);
    a.updateBatch(keys, values);
    const all = a.lookupBatch({ chunkSize: 3 });
    expect(all.count).toBe(10);
    expect(rd32(all.values, 4 * 9)).toBe(90);
    const cpus = possibleCpus();
    using p = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 4, maxEntries: 10 });
    const pv = new Uint8Array(2 * p.valueBytes);
    for (let c = 0; c < cpus; c++) {
      new DataView(pv.buffer).setUint32(c * 8, 100 + c, true);
      new DataView(pv.buffer).setUint32(p.valueBytes + c * 8, 200 + c, true);
    }
    expect(p.updateBatch([k32(1), k32(2)], [pv.subarray(0, p.valueBytes), pv.subarray(p.valueBytes)])).toBe(2);
    expect(p.lookupPerCpu(k32(2))!.map((v) => rd32(v))).toEqual(Array.from({ length: cpus }, (_, c) => 200 + c));
    const back = p.lookupBatch();
    expect(back.count).toBe(2);
    expect(back.values.length).toBe(2 * p.valueBytes);
  });

  it('deleteBatch and lookupAndDeleteBatch empty the map', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1000 });
    const { keys, values } = keysAndValues(1000);
    m.updateBatch(keys, values);
    expect(m.deleteBatch(keys.subarray(0, 400 * 4), { chunkSize: 128 })).toBe(400);
    expect(m.lookupBatch().count).toBe(600);
    const taken = m.lookupAndDeleteBatch({ chunkSize: 50 });
    expect(taken.count).toBe(600);
    expect(m.lookupBatch().count).toBe(0);
    expect([...m.keys()]).toEqual([]);
  });

  it('a batch that fails part-way throws BatchError with the processed count', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 5, flags: 0 });
    const { keys, values } = keysAndValues(10);
    try {
      m.updateBatch(keys, values);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BatchError);
      expect(e).toMatchObject({ code: 'E2BIG', processed: 5, command: 'BPF_MAP_UPDATE_BATCH' });
    }
    // The kernel takes only BPF_F_LOCK in batch elem_flags.
    expect(() => m.updateBatch(keys, values, { elemFlags: UpdateFlags.BPF_NOEXIST })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    try {
      m.deleteBatch([k32(0), k32(1), k32(77)]);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ENOENT', processed: 2 });
    }
    expect(() => m.updateBatch(keys, values.subarray(4))).toThrow(/10 keys but 9 values/);
    expect(() => m.updateBatch(keys.subarray(1), values)).toThrow(/multiple of 4/);
  });
});
