import { afterEach, expect, it } from 'vitest';
import { BpfMap, MapError, MapSizeError, MapSpecError, type MapInfo } from '../../lib/kernel/map.js';
import { BpfError, ClosedError } from '../../lib/kernel/errors.js';
import { Program } from '../../lib/kernel/program.js';
import { possibleCpus } from '../../lib/kernel/cpus.js';
import { MapFlags, MapType, UpdateFlags } from '../../lib/uapi/map-types.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { exit, mov64Imm } from '../../lib/isa/index.js';
import { u32, u64 } from '../../lib/layout/index.js';
import { BtfBuilder } from '../../lib/btf/index.js';
import { KernelBtf } from '../../lib/kernel/btf.js';
import { describeKernel, testName } from '../helpers/env.js';

const k32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};
const v64 = (n: number | bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const rd64 = (b: Uint8Array | undefined) => (b === undefined ? undefined : new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
const rd32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

describeKernel('BpfMap: every common type', () => {
  const open: Array<{ close(): void }> = [];
  const track = <T extends { close(): void }>(x: T): T => {
    open.push(x);
    return x;
  };
  afterEach(() => {
    for (const o of open.splice(0)) o.close();
  });

  it('creates array, hash, LRU and per-CPU maps with name and flags, and reports them in info', () => {
    const cases: Array<[string, number, number]> = [
      ['array', MapType.BPF_MAP_TYPE_ARRAY, 0],
      ['hash', MapType.BPF_MAP_TYPE_HASH, MapFlags.BPF_F_NO_PREALLOC],
      ['percpu_array', MapType.BPF_MAP_TYPE_PERCPU_ARRAY, 0],
      ['percpu_hash', MapType.BPF_MAP_TYPE_PERCPU_HASH, 0],
      ['lru_hash', MapType.BPF_MAP_TYPE_LRU_HASH, 0],
      ['lru_percpu_hash', MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH, MapFlags.BPF_F_NO_COMMON_LRU],
    ];
    for (const [type, num, flags] of cases) {
      const name = testName('m');
      const m = track(BpfMap.create({ type: type as never, keySize: 4, valueSize: 8, maxEntries: 64, flags, name }));
      const info: MapInfo = m.info();
      expect(info).toMatchObject({ type: num, typeName: type, keySize: 4, valueSize: 8, maxEntries: 64, flags, name });
      expect(info.id).toBeGreaterThan(0);
      expect(m.id).toBe(info.id);
      m.update(k32(3), v64(42));
      expect(m.perCpu).toBe(type.includes('percpu'));
      const got = m.lookup(k32(3))!;
      expect(got.length).toBe(m.valueBytes);
      expect(rd64(got)).toBe(42n);
    }
  });

  it('accepts a numeric type, numa node and map_extra', () => {
    const m = track(BpfMap.create({ type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4, numaNode: 0 }));
    expect(m.info().flags & MapFlags.BPF_F_NUMA_NODE).toBe(MapFlags.BPF_F_NUMA_NODE);
    const bloom = track(BpfMap.create({ type: 'bloom_filter', keySize: 0, valueSize: 4, maxEntries: 100, mapExtra: 3n }));
    expect(bloom.info().mapExtra).toBe(3n);
    bloom.update(new Uint8Array(0), k32(7));
  });

  it('gives ring buffers, queues and stacks their shapes', () => {
    const rb = track(BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 4096 * 4, name: testName('rb') }));
    expect(rb.info()).toMatchObject({ typeName: 'ringbuf', maxEntries: 16384 });
    const q = track(BpfMap.create({ type: 'queue', keySize: 0, valueSize: 4, maxEntries: 4 }));
    const none = new Uint8Array(0);
    q.update(none, k32(1));
    q.update(none, k32(2));
    expect(rd32(q.lookup(none)!)).toBe(1); // peek
    expect(rd32(q.lookupAndDelete(none)!)).toBe(1); // pop
    expect(rd32(q.lookupAndDelete(none)!)).toBe(2);
    expect(q.lookupAndDelete(none)).toBeUndefined();
    const st = track(BpfMap.create({ type: 'stack', keySize: 0, valueSize: 4, maxEntries: 4 }));
    st.update(none, k32(1));
    st.update(none, k32(2));
    expect(rd32(st.lookupAndDelete(none)!)).toBe(2);
  });

  it('LPM trie: adds BPF_F_NO_PREALLOC and finds the longest prefix', () => {
    // key: u32 prefixlen + 4 address bytes
    const key = (len: number, a: number[]) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(0, len, true);
      b.set(a, 4);
      return b;
    };
    const m = track(BpfMap.create({ type: 'lpm_trie', keySize: 8, valueSize: 4, maxEntries: 16, name: testName('lpm') }));
    expect(m.info().flags & MapFlags.BPF_F_NO_PREALLOC).toBeTruthy();
    m.update(key(8, [10, 0, 0, 0]), k32(8));
    m.update(key(16, [10, 1, 0, 0]), k32(16));
    m.update(key(24, [10, 1, 2, 0]), k32(24));
    expect(rd32(m.lookup(key(32, [10, 1, 2, 3]))!)).toBe(24);
    expect(rd32(m.lookup(key(32, [10, 1, 9, 9]))!)).toBe(16);
    expect(rd32(m.lookup(key(32, [10, 200, 0, 1]))!)).toBe(8);
    expect(m.lookup(key(32, [11, 0, 0, 1]))).toBeUndefined();
    expect(m.delete(key(16, [10, 1, 0, 0]))).toBe(true);
    expect(rd32(m.lookup(key(32, [10, 1, 9, 9]))!)).toBe(8);
    expect([...m.keys()].length).toBe(2);
  });

  it('map-in-map: inner maps of different sizes with BPF_F_INNER_MAP, lookups return ids', () => {
    const inner = { type: 'array' as const, keySize: 4, valueSize: 4, maxEntries: 4, flags: MapFlags.BPF_F_INNER_MAP };
    const outer = track(BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 2, name: testName('aom'), innerMap: inner }));
    const small = track(BpfMap.create({ ...inner, maxEntries: 2 }));
    const big = track(BpfMap.create({ ...inner, maxEntries: 100 }));
    outer.update(k32(0), small);
    outer.update(k32(1), big);
    expect(outer.lookupId(k32(0))).toBe(small.id);
    expect(outer.lookupId(k32(1))).toBe(big.id);
    // An inner map opened from the id is the same map.
    big.update(k32(50), k32(5050));
    const again = track(BpfMap.fromId(outer.lookupId(k32(1))!));
    expect(again.maxEntries).toBe(100);
    expect(rd32(again.lookup(k32(50))!)).toBe(5050);

    const hom = track(BpfMap.create({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 4, innerMap: inner }));
    hom.update(k32(7), big);
    expect(hom.lookupId(k32(7))).toBe(big.id);
    expect(hom.lookupId(k32(8))).toBeUndefined();
    expect(hom.delete(k32(7))).toBe(true);

    // Without BPF_F_INNER_MAP the kernel insists on the template's max_entries.
    const strict = track(BpfMap.create({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1, innerMap: { ...inner, flags: 0 } }));
    const other = track(BpfMap.create({ ...inner, flags: 0, maxEntries: 8 }));
    expect(() => strict.update(k32(0), other)).toThrow(BpfError);

    // An existing map as the template.
    const tmpl = track(BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 }));
    const byMap = track(BpfMap.create({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 2 }, { innerMap: tmpl }));
    byMap.update(k32(1), tmpl);
    expect(byMap.lookupId(k32(1))).toBe(tmpl.id);
  });

  it('prog array holds programs; lookups return program ids', () => {
    const prog = track(Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2), exit()], license: 'GPL' }));
    const pa = track(BpfMap.create({ type: 'prog_array', keySize: 4, valueSize: 4, maxEntries: 4, name: testName('pa') }));
    pa.update(k32(2), prog);
    expect(pa.lookupId(k32(2))).toBe(prog.info().id);
    expect(pa.lookupId(k32(1))).toBeUndefined();
    expect(pa.delete(k32(2))).toBe(true);
  });

  it('rejects an unknown map type with MapSpecError before the kernel', () => {
    expect(() => BpfMap.create({ type: 'hashtable' as never, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(MapSpecError);
    expect(() => BpfMap.create({ type: 4242, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/unknown map type 4242/);
  });

  it('reports kernel refusals as BpfError with errno and hint', () => {
    try {
      BpfMap.create({ type: 'array', keySize: 8, valueSize: 4, maxEntries: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect((e as BpfError).command).toBe('BPF_MAP_CREATE');
      expect((e as BpfError).code).toBe('EINVAL');
      expect((e as BpfError).hint).toMatch(/key or value size/);
    }
  });
});

describeKernel('BpfMap: element operations', () => {
  it('update flags: BPF_ANY, BPF_NOEXIST, BPF_EXIST', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    m.update(k32(1), v64(1), UpdateFlags.BPF_NOEXIST);
    expect(() => m.update(k32(1), v64(2), UpdateFlags.BPF_NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(rd64(m.lookup(k32(1)))).toBe(1n);
    m.update(k32(1), v64(3), UpdateFlags.BPF_EXIST);
    expect(rd64(m.lookup(k32(1)))).toBe(3n);
    expect(() => m.update(k32(2), v64(4), UpdateFlags.BPF_EXIST)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    m.update(k32(2), v64(5), UpdateFlags.BPF_ANY);
    expect(rd64(m.lookup(k32(2)))).toBe(5n);
    expect(m.has(k32(2))).toBe(true);
    expect(m.has(k32(9))).toBe(false);
  });

  it('array maps: BPF_NOEXIST is refused, out-of-range keys are E2BIG', () => {
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(rd32(m.lookup(k32(1))!)).toBe(0);
    expect(() => m.update(k32(0), k32(1), UpdateFlags.BPF_NOEXIST)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => m.update(k32(5), k32(1))).toThrow(expect.objectContaining({ code: 'E2BIG' }));
    expect(m.lookup(k32(5))).toBeUndefined();
    expect(() => m.delete(k32(0))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('BTF key/value types: a value with a bpf_spin_lock takes BPF_F_LOCK updates and lookups', () => {
    const b = new BtfBuilder();
    const u32t = b.uint(4);
    const lock = b.struct('bpf_spin_lock', [{ name: 'val', type: u32t }]);
    const val = b.struct('locked_val', [
      { name: 'lock', type: lock },
      { name: 'counter', type: u32t },
    ]);
    using btf = KernelBtf.load(b.btf);
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4, name: testName('lk') }, { btf: { fd: btf.fd, keyTypeId: u32t, valueTypeId: val } });
    const info = m.info();
    expect(info.btfId).toBeGreaterThan(0);
    expect([info.btfKeyTypeId, info.btfValueTypeId]).toEqual([u32t, val]);
    const v = new Uint8Array(8);
    new DataView(v.buffer).setUint32(4, 41, true);
    m.update(k32(1), v, UpdateFlags.BPF_F_LOCK);
    const got = m.lookup(k32(1), UpdateFlags.BPF_F_LOCK)!;
    expect(new DataView(got.buffer).getUint32(4, true)).toBe(41);
  });

  it('BPF_F_LOCK on a map without a spin lock is refused with EINVAL', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2 });
    expect(() => m.update(k32(1), v64(1), UpdateFlags.BPF_F_LOCK)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('delete and lookupAndDelete', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    m.update(k32(1), v64(11));
    m.update(k32(2), v64(22));
    expect(m.delete(k32(1))).toBe(true);
    expect(m.delete(k32(1))).toBe(false);
    expect(rd64(m.lookupAndDelete(k32(2)))).toBe(22n);
    expect(m.lookupAndDelete(k32(2))).toBeUndefined();
    expect(m.lookup(k32(2))).toBeUndefined();
  });

  it('lookupInto copies without allocating a result', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    m.update(k32(1), v64(77));
    const out = new Uint8Array(8);
    expect(m.lookupInto(k32(1), out)).toBe(true);
    expect(rd64(out)).toBe(77n);
    expect(m.lookupInto(k32(2), out)).toBe(false);
    expect(() => m.lookupInto(k32(1), new Uint8Array(4))).toThrow(MapSizeError);
  });

  it('reused and alternating key/value buffers always carry their current bytes', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 64 });
    const k = new Uint8Array(4);
    const v = new Uint8Array(8);
    const kv = new DataView(k.buffer);
    const vv = new DataView(v.buffer);
    // The same buffers again and again (the hot loop): later calls point the attr at them.
    for (let i = 0; i < 20; i++) {
      kv.setUint32(0, i, true);
      vv.setUint32(0, i * 3, true);
      m.update(k, v);
    }
    const out = new Uint8Array(8);
    for (let i = 0; i < 20; i++) {
      kv.setUint32(0, i, true);
      expect(m.lookupInto(k, out)).toBe(true);
      expect(rd64(out)).toBe(BigInt(i * 3));
      expect(rd64(m.lookup(k32(i)))).toBe(BigInt(i * 3));
    }
    // Alternating buffers, subarray views and typed access in between.
    const big = new Uint8Array(16);
    const a = big.subarray(4, 8);
    for (let i = 0; i < 10; i++) {
      new DataView(big.buffer).setUint32(4, 100 + i, true);
      m.update(i % 2 ? a : k32(200 + i), v64(i));
      m.typed(u32, u64).set(300 + i, BigInt(i));
      expect(m.delete(k32(300 + i))).toBe(true);
    }
    expect(rd64(m.lookup(k32(109)))).toBe(9n);
    expect(rd64(m.lookup(k32(200)))).toBe(0n);
    expect(m.delete(k)).toBe(true); // k holds 19
    expect(m.has(k32(19))).toBe(false);
    const out2 = new Uint8Array(8);
    expect(m.lookupInto(k32(0), out2)).toBe(true);
    expect(m.lookupInto(k32(1), out)).toBe(true);
    expect(rd64(out)).toBe(3n);
    expect(rd64(out2)).toBe(0n);
  });

  it('per-CPU values: one slot per possible CPU, rounded up to 8 bytes', () => {
    const cpus = possibleCpus();
    using m = BpfMap.create({ type: 'percpu_array', keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(m.valueStride).toBe(8);
    expect(m.valueBytes).toBe(8 * cpus);
    const vals = Array.from({ length: cpus }, (_, i) => k32(100 + i));
    m.updatePerCpu(k32(0), vals);
    expect(m.lookupPerCpu(k32(0))!.map(rd32)).toEqual(vals.map(rd32));
    // One value for every CPU.
    m.update(k32(1), k32(9));
    expect(m.lookupPerCpu(k32(1))!.map(rd32)).toEqual(Array(cpus).fill(9));
    expect(() => m.updatePerCpu(k32(0), [k32(1)].concat(cpus > 1 ? [] : [k32(2)]))).toThrow(MapError);
    using h = BpfMap.create({ type: 'percpu_hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    h.updatePerCpu(k32(5), Array.from({ length: cpus }, (_, i) => v64(i)));
    expect(h.lookupPerCpu(k32(5))!.map(rd64)).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(i)));
    expect(h.lookupPerCpu(k32(6))).toBeUndefined();
    using plain = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 4 });
    expect(() => plain.lookupPerCpu(k32(1))).toThrow(/needs a per-CPU map/);
  });

  it('wrong key or value sizes throw MapSizeError naming expected and actual sizes', () => {
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8, name: testName('sz') });
    try {
      m.lookup(new Uint8Array(3));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MapSizeError);
      expect(e).toMatchObject({ what: 'key', expected: 4, actual: 3 });
      expect((e as Error).message).toMatch(/key must be 4 bytes, got 3/);
    }
    expect(() => m.update(k32(1), new Uint8Array(7))).toThrow(/value must be 8 bytes, got 7/);
    expect(() => m.update(new Uint8Array(5), v64(1))).toThrow(MapSizeError);
    expect(() => m.delete(new Uint8Array(0))).toThrow(MapSizeError);
    expect(() => m.update(k32(1), 'x' as never)).toThrow(MapError);
  });

  it('a closed map throws ClosedError; closing twice is harmless', () => {
    const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 8 });
    m.close();
    m.close();
    expect(m.closed).toBe(true);
    expect(() => m.lookup(k32(1))).toThrow(ClosedError);
    expect(() => m.update(k32(1), v64(1))).toThrow(ClosedError);
    expect(() => m.delete(k32(1))).toThrow(ClosedError);
    expect(() => [...m.keys()]).toThrow(ClosedError);
    expect(() => m.info()).toThrow(ClosedError);
    expect(() => m.fd).toThrow(/is closed/);
  });

  it('freeze: later updates from user space fail with EPERM, lookups still work', () => {
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 2, contents: [{ key: k32(0), value: k32(5) }], freeze: true });
    expect(rd32(m.lookup(k32(0))!)).toBe(5);
    expect(() => m.update(k32(0), k32(6))).toThrow(expect.objectContaining({ code: 'EPERM', command: 'BPF_MAP_UPDATE_ELEM' }));
    using h = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 });
    h.update(k32(1), k32(1));
    h.freeze();
    expect(() => h.delete(k32(1))).toThrow(expect.objectContaining({ code: 'EPERM' }));
  });
});
