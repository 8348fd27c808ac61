import { describe, expect, it } from 'vitest';
import {
  MapSpecError,
  checkMapSpec,
  isMapInMapType,
  isPerCpuMapType,
  mapTypeShortName,
  resolveMapType,
  struct,
  u32,
  u64,
} from '../../lib/layout/index.js';
import { MapType } from '../../lib/uapi/map-types.js';

describe('MapSpec', () => {
  it('resolves short names and numbers', () => {
    expect(resolveMapType('hash')).toBe(MapType.BPF_MAP_TYPE_HASH);
    expect(resolveMapType('lru_percpu_hash')).toBe(MapType.BPF_MAP_TYPE_LRU_PERCPU_HASH);
    expect(resolveMapType('ringbuf')).toBe(MapType.BPF_MAP_TYPE_RINGBUF);
    expect(resolveMapType(MapType.BPF_MAP_TYPE_LPM_TRIE)).toBe(11);
    expect(mapTypeShortName(12)).toBe('array_of_maps');
    expect(mapTypeShortName(999)).toBe('type_999');
  });

  it('rejects unknown map types with MapSpecError', () => {
    expect(() => resolveMapType('hashish' as never)).toThrow(MapSpecError);
    expect(() => resolveMapType(999)).toThrow(/unknown map type 999/);
    expect(() => checkMapSpec({ type: 0, keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(MapSpecError);
  });

  it('classifies per-CPU and map-in-map types', () => {
    expect(isPerCpuMapType(MapType.BPF_MAP_TYPE_PERCPU_ARRAY)).toBe(true);
    expect(isPerCpuMapType(MapType.BPF_MAP_TYPE_HASH)).toBe(false);
    expect(isMapInMapType(MapType.BPF_MAP_TYPE_HASH_OF_MAPS)).toBe(true);
  });

  it('checks sizes, names, layouts and inner maps', () => {
    const ok = { type: 'hash' as const, keySize: 4, valueSize: 8, maxEntries: 16 };
    expect(checkMapSpec(ok)).toBe(1);
    expect(() => checkMapSpec({ ...ok, keySize: -1 })).toThrow(/keySize must be a u32/);
    expect(() => checkMapSpec({ ...ok, name: 'a_very_long_map_name' })).toThrow(/longer than 15/);
    expect(() => checkMapSpec({ ...ok, name: 'bad-name' })).toThrow(/letters, digits/);
    expect(checkMapSpec({ ...ok, key: u32, value: u64 })).toBe(1);
    expect(() => checkMapSpec({ ...ok, value: struct({ a: u32 }) })).toThrow(/value layout is 4 bytes, valueSize is 8/);
    expect(() => checkMapSpec({ type: 'array_of_maps', keySize: 4, valueSize: 4, maxEntries: 1 })).toThrow(/needs an innerMap/);
    expect(
      checkMapSpec({ type: 'hash_of_maps', keySize: 4, valueSize: 4, maxEntries: 1, innerMap: { type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 } }),
    ).toBe(13);
  });
});
