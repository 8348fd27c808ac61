import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LayoutError,
  array,
  be16,
  be32,
  be64,
  bytes,
  cstring,
  ipv4,
  ipv6,
  le32,
  mac,
  packed,
  pad,
  s16,
  s32,
  s64,
  s8,
  struct,
  u16,
  u32,
  u64,
  u8,
  formatIpv6,
  parseIpv6,
  type Infer,
} from '../../lib/layout/index.js';

describe('scalars', () => {
  it('encode in host order and network order', () => {
    expect([...u32.encode(0x01020304)]).toEqual([4, 3, 2, 1]);
    expect([...be32.encode(0x01020304)]).toEqual([1, 2, 3, 4]);
    expect([...be16.encode(80)]).toEqual([0, 80]);
    expect([...le32.encode(1)]).toEqual([1, 0, 0, 0]);
    expect([...u64.encode(0x0102030405060708n)]).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    expect([...be64.encode(0x0102030405060708n)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('round-trip at the limits', () => {
    for (const [t, vals] of [
      [u8, [0, 255]],
      [u16, [0, 65535]],
      [u32, [0, 0xffffffff]],
      [s8, [-128, 127]],
      [s16, [-32768, 32767]],
      [s32, [-0x80000000, 0x7fffffff]],
      [be16, [0, 65535]],
      [be32, [0, 0xffffffff]],
    ] as const) {
      for (const v of vals) expect(t.decode(t.encode(v))).toBe(v);
    }
    expect(u64.decode(u64.encode(0xffffffffffffffffn))).toBe(0xffffffffffffffffn);
    expect(s64.decode(s64.encode(-0x8000000000000000n))).toBe(-0x8000000000000000n);
  });

  it('reject values that do not fit with LayoutError', () => {
    expect(() => u8.encode(256)).toThrow(LayoutError);
    expect(() => u8.encode(-1)).toThrow(/does not fit u8/);
    expect(() => u16.encode(1.5)).toThrow(LayoutError);
    expect(() => u32.encode(2 ** 32)).toThrow(LayoutError);
    expect(() => s8.encode(128)).toThrow(LayoutError);
    expect(() => s32.encode(2 ** 31)).toThrow(LayoutError);
    expect(() => u32.encode(NaN)).toThrow(LayoutError);
    expect(() => u64.encode(1 as unknown as bigint)).toThrow(LayoutError);
    expect(() => u64.encode(-1n)).toThrow(LayoutError);
    expect(() => s64.encode(0x8000000000000000n)).toThrow(LayoutError);
    expect(() => be16.encode('80' as unknown as number)).toThrow(LayoutError);
  });

  it('check buffer sizes on decode and encodeInto', () => {
    expect(() => u32.decode(new Uint8Array(3))).toThrow(/u32 is 4 bytes, got 3/);
    expect(() => u32.decode(new Uint8Array(5))).toThrow(LayoutError);
    expect(u32.decode(new Uint8Array([0, 1, 0, 0, 0]), 1)).toBe(1);
    expect(() => u32.decode(new Uint8Array(5), 2)).toThrow(/needs 4 bytes at offset 2/);
    const buf = new Uint8Array(6);
    be16.encodeInto(0x1234, buf, 4);
    expect([...buf]).toEqual([0, 0, 0, 0, 0x12, 0x34]);
    expect(() => be16.encodeInto(1, buf, 5)).toThrow(LayoutError);
  });
});

describe('struct', () => {
  it('lays out the brief example and infers its type', () => {
    const Key = struct({ vip: be32, port: be16, proto: u8, pad: u8 });
    type K = Infer<typeof Key>;
    const k: K = { vip: 0x0a000001, port: 80, proto: 6, pad: 0 };
    expect(Key.size).toBe(8);
    expect(Key.align).toBe(4);
    expect(Key.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['vip', 0, 4],
      ['port', 4, 2],
      ['proto', 6, 1],
      ['pad', 7, 1],
    ]);
    expect(Key.fields[0]!.type).toBe(be32);
    const bytes = Key.encode(k);
    expect([...bytes]).toEqual([10, 0, 0, 1, 0, 80, 6, 0]);
    expect(Key.decode(bytes)).toEqual(k);
  });

  it('follows C alignment: field offsets, tail padding, nested structs and arrays', () => {
    const Inner = struct({ a: u8, b: u32 });
    const S = struct({ x: u8, y: u64, z: u16, inner: Inner, arr: array(u16, 3), tail: u8 });
    expect(Inner.size).toBe(8);
    expect(S.fields.map((f) => f.offset)).toEqual([0, 8, 16, 20, 28, 34]);
    expect(S.size).toBe(40);
    expect(S.align).toBe(8);
    expect(S.offsetOf('inner.b')).toBe(24);
    const v = { x: 1, y: 2n, z: 3, inner: { a: 4, b: 5 }, arr: [6, 7, 8], tail: 9 };
    expect(S.decode(S.encode(v))).toEqual(v);
  });

  it('packs packet headers without padding', () => {
    const Eth = packed({ dst: mac, src: mac, proto: be16 }, { name: 'ethhdr' });
    expect(Eth.size).toBe(14);
    expect(Eth.align).toBe(1);
    expect(Eth.typeName).toBe('struct ethhdr');
    const Ip = packed({ vihl: u8, tos: u8, len: be16, id: be16, frag: be16, ttl: u8, proto: u8, csum: be16, saddr: ipv4, daddr: ipv4 });
    expect(Ip.size).toBe(20);
    expect(Ip.offsetOf('saddr')).toBe(12);
    const hdr = { vihl: 0x45, tos: 0, len: 60, id: 1, frag: 0x4000, ttl: 64, proto: 6, csum: 0xbeef, saddr: '10.0.0.1', daddr: '192.168.1.2' };
    const b = Ip.encode(hdr);
    expect([...b.subarray(12)]).toEqual([10, 0, 0, 1, 192, 168, 1, 2]);
    expect(Ip.decode(b)).toEqual(hdr);
    const e = { dst: 'ff:ff:ff:ff:ff:ff', src: '02:00:00:00:00:01', proto: 0x0800 };
    expect(Eth.decode(Eth.encode(e))).toEqual(e);
  });

  it('zeroes implicit and explicit padding, even over a dirty buffer', () => {
    const S = struct({ a: u8, gap: pad(3), b: u16, c: u32 });
    type V = Infer<typeof S>;
    const v: V = { a: 1, b: 2, c: 3 };
    expect(S.size).toBe(12);
    expect(S.fields.map((f) => f.offset)).toEqual([0, 1, 4, 8]);
    const buf = new Uint8Array(12).fill(0xff);
    S.encodeInto(v, buf);
    expect([...buf]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]);
    expect(S.decode(buf)).toEqual(v);
    expect('gap' in S.decode(buf)).toBe(false);
  });

  it('names the failing field path in LayoutError', () => {
    const S = struct({ outer: u8, inner: struct({ port: be16, list: array(u8, 2) }) });
    const bad = { outer: 1, inner: { port: 70000, list: [1, 2] } };
    try {
      S.encode(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LayoutError);
      expect((e as LayoutError).path).toEqual(['inner', 'port']);
      expect((e as Error).message).toBe('inner.port: 70000 does not fit be16');
    }
    expect(() => S.encode({ outer: 1, inner: { port: 1, list: [1, 300] } })).toThrow('inner.list[1]: 300 does not fit u8');
    expect(() => S.encode({ outer: 1 } as never)).toThrow(/inner: a struct value must be an object/);
    expect(() => S.encode({ inner: { port: 1, list: [1, 2] } } as never)).toThrow('outer: missing (u8)');
    expect(() => S.encode(null as never)).toThrow(LayoutError);
    expect(() => S.encode({ outer: 1, inner: { port: 1, list: [1] } })).toThrow(/array of 2 elements/);
  });

  it('rejects bad declarations', () => {
    expect(() => struct({ 0: u8 } as never)).toThrow(LayoutError);
    expect(() => struct({ a: 5 } as never)).toThrow(/not a layout/);
    expect(() => struct({ a: u8 }, { align: 3 })).toThrow(/power of two/);
    expect(() => array(u8, -1)).toThrow(LayoutError);
  });

  it('honours an explicit alignment', () => {
    const S = struct({ a: u8 }, { align: 8 });
    expect(S.size).toBe(8);
    expect(S.align).toBe(8);
    const P = packed({ a: u32, b: u8 }, { align: 4 });
    expect(P.size).toBe(8);
  });

  it('matches gcc offsetof/sizeof for a mixed struct', () => {
    const Inner = struct({ a: u8, b: u16 });
    const S = struct({ c: u8, d: u64, e: array(u8, 3), f: u32, g: Inner, h: s16, i: array(u32, 2), j: u8 });
    const P = packed({ c: u8, d: u64, e: u16 });
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-layout-'));
    try {
      const src = `#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
struct inner { uint8_t a; uint16_t b; };
struct s { uint8_t c; uint64_t d; uint8_t e[3]; uint32_t f; struct inner g; int16_t h; uint32_t i[2]; uint8_t j; };
struct __attribute__((packed)) p { uint8_t c; uint64_t d; uint16_t e; };
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\\n", offsetof(struct s, c), offsetof(struct s, d), offsetof(struct s, e),
    offsetof(struct s, f), offsetof(struct s, g), offsetof(struct s, h), offsetof(struct s, i), offsetof(struct s, j),
    sizeof(struct s), _Alignof(struct s), sizeof(struct p));
  return 0;
}`;
      writeFileSync(join(dir, 'l.c'), src);
      execFileSync('gcc', ['-O0', '-o', join(dir, 'l'), join(dir, 'l.c')]);
      const out = execFileSync(join(dir, 'l'), { encoding: 'utf8' }).trim().split(' ').map(Number);
      expect([...S.fields.map((f) => f.offset), S.size, S.align, P.size]).toEqual(out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('arrays, bytes, strings and addresses', () => {
  it('encode arrays and byte arrays', () => {
    const A = array(u32, 4);
    expect(A.size).toBe(16);
    expect(A.typeName).toBe('u32[4]');
    expect(A.decode(A.encode([1, 2, 3, 4]))).toEqual([1, 2, 3, 4]);
    const B = bytes(16);
    const b = new Uint8Array(16).map((_, i) => i);
    const dec = B.decode(B.encode(b));
    expect(dec).toEqual(b);
    expect(() => B.encode(new Uint8Array(15))).toThrow(/Uint8Array of 16 bytes/);
    expect(array(u8, 6).encode([1, 2, 3, 4, 5, 6]).length).toBe(6);
  });

  it('encode NUL-padded C strings', () => {
    const S = cstring(8);
    expect([...S.encode('abc')]).toEqual([97, 98, 99, 0, 0, 0, 0, 0]);
    expect(S.decode(S.encode('abcdefg'))).toBe('abcdefg');
    expect(() => S.encode('abcdefgh')).toThrow(LayoutError);
  });

  it('parse and format IPv4, IPv6 and MAC addresses', () => {
    expect([...ipv4.encode('192.168.0.1')]).toEqual([192, 168, 0, 1]);
    expect(() => ipv4.encode('256.1.1.1')).toThrow(LayoutError);
    expect(() => ipv4.encode('1.2.3')).toThrow(LayoutError);
    expect(ipv6.decode(ipv6.encode('2001:db8::1'))).toBe('2001:db8::1');
    expect(ipv6.decode(ipv6.encode('::'))).toBe('::');
    expect(ipv6.decode(ipv6.encode('::ffff:10.0.0.1'))).toBe('::ffff:10.0.0.1');
    expect(ipv6.decode(ipv6.encode('::ffff:a00:1'))).toBe('::ffff:10.0.0.1');
    expect(formatIpv6(parseIpv6('::fffe:a00:1')!)).toBe('::fffe:a00:1');
    expect(formatIpv6(parseIpv6('1::ffff:a00:1')!)).toBe('1::ffff:a00:1');
    expect(ipv6.decode(ipv6.encode('fe80:0:0:0:1:0:0:1'))).toBe('fe80::1:0:0:1');
    expect(formatIpv6(parseIpv6('1:0:0:2:0:0:0:3')!)).toBe('1:0:0:2::3');
    expect(() => ipv6.encode('1::2::3')).toThrow(LayoutError);
    expect(() => ipv6.encode('12345::')).toThrow(LayoutError);
    expect(mac.decode(mac.encode('AA:bb:cc:dd:ee:0F'))).toBe('aa:bb:cc:dd:ee:0f');
    expect(() => mac.encode('aa:bb:cc')).toThrow(LayoutError);
    expect([ipv4.align, ipv6.align, mac.align]).toEqual([4, 4, 1]);
  });
});

describe('speed', () => {
  it('encodes and decodes a small struct in well under a microsecond', () => {
    const Key = struct({ vip: be32, port: be16, proto: u8, pad: u8 });
    const buf = new Uint8Array(8);
    const n = 200_000;
    let sum = 0;
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      Key.encodeInto({ vip: i, port: i & 0xffff, proto: 6, pad: 0 }, buf);
      sum += Key.decode(buf).port;
    }
    const nsPerOp = ((performance.now() - t) * 1e6) / n;
    expect(sum).toBeGreaterThan(0);
    expect(nsPerOp).toBeLessThan(1000);
  });
});
