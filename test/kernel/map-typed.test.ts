import { expect, it } from 'vitest';
import { BpfMap, MapError, MapSizeError, TypedMap } from '../../lib/kernel/map.js';
import { possibleCpus } from '../../lib/kernel/cpus.js';
import { UpdateFlags } from '../../lib/uapi/map-types.js';
import { LayoutError, array, be16, be32, ipv4, ipv6, struct, u16, u32, u64, u8, type Infer } from '../../lib/layout/index.js';
import { describeKernel } from '../helpers/env.js';

const Key = struct({ vip: be32, port: be16, proto: u8, pad: u8 }, { name: 'lb4_key' });
const Backend = struct({ addr: ipv4, port: be16, weight: u16, hits: u64 });
type B = Infer<typeof Backend>;

describeKernel('TypedMap', () => {
  it('get/set/delete/has/entries through struct layouts', () => {
    using m = BpfMap.create({ type: 'hash', keySize: Key.size, valueSize: Backend.size, maxEntries: 16, key: Key, value: Backend });
    const t: TypedMap<Infer<typeof Key>, B> = m.typed(Key, Backend);
    const k = { vip: 0x0a000001, port: 80, proto: 6, pad: 0 };
    const v: B = { addr: '192.168.1.10', port: 8080, weight: 3, hits: 5n };
    t.set(k, v);
    expect(t.get(k)).toEqual(v);
    expect(t.has(k)).toBe(true);
    expect(t.get({ ...k, port: 81 })).toBeUndefined();
    // The raw bytes are what C would see: network-order vip and port.
    const raw = m.lookup(Key.encode(k))!;
    expect([...raw.subarray(0, 4)]).toEqual([192, 168, 1, 10]);
    expect(() => t.set(k, { ...v, hits: 1n }, UpdateFlags.BPF_NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    t.set({ ...k, port: 443 }, { ...v, port: 8443 });
    const entries = [...t.entries()].sort((a, b) => a[0].port - b[0].port);
    expect(entries.map(([kk, vv]) => [kk.port, vv.port])).toEqual([
      [80, 8080],
      [443, 8443],
    ]);
    expect([...t.keys()].length).toBe(2);
    expect([...t.values()].length).toBe(2);
    expect(t.delete(k)).toBe(true);
    expect(t.delete(k)).toBe(false);
    expect([...t].length).toBe(1);
  });

  it('scalar and array layouts; async entries', async () => {
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 16, maxEntries: 3 });
    const t = m.typed(u32, array(u32, 4));
    t.set(1, [1, 2, 3, 4]);
    expect(t.get(1)).toEqual([1, 2, 3, 4]);
    expect(t.get(0)).toEqual([0, 0, 0, 0]);
    const got: Array<[number, number[]]> = [];
    for await (const e of t.entriesAsync()) got.push(e);
    expect(got.map(([k]) => k)).toEqual([0, 1, 2]);
  });

  it('IPv6 keys', () => {
    const K6 = struct({ addr: ipv6, port: be16, pad: u16 });
    using m = BpfMap.create({ type: 'hash', keySize: K6.size, valueSize: 8, maxEntries: 4 });
    const t = m.typed(K6, u64);
    t.set({ addr: '2001:db8::1', port: 53, pad: 0 }, 7n);
    expect(t.get({ addr: '2001:db8::1', port: 53, pad: 0 })).toBe(7n);
    expect([...t.keys()][0]!.addr).toBe('2001:db8::1');
  });

  it('per-CPU values', () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    const t = m.typed(u32, u64);
    t.set(1, 5n);
    expect(t.getPerCpu(1)).toEqual(Array(cpus).fill(5n));
    t.set(2, Array.from({ length: cpus }, (_, i) => BigInt(i)));
    expect(t.getPerCpu(2)).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(i)));
    expect(t.getPerCpu(3)).toBeUndefined();
    expect(() => t.get(1)).toThrow(/getPerCpu/);
    const all = new Map([...t.entriesPerCpu()]);
    expect(all.get(2)).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(i)));
    using plain = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(() => plain.typed(u32, u64).getPerCpu(1)).toThrow(MapError);
  });

  it('layouts of the wrong size and values that do not fit are refused', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(() => m.typed(u16, u64)).toThrow(MapSizeError);
    expect(() => m.typed(u32, u32)).toThrow(/value must be 8 bytes, got 4/);
    const t = m.typed(u32, u64);
    expect(() => t.set(-1, 1n)).toThrow(LayoutError);
    expect(() => t.set(1, 1 as unknown as bigint)).toThrow(LayoutError);
    expect([...m.keys()]).toEqual([]);
  });
});
