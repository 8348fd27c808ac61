/**
 * lib/layout: C-style struct layouts in TypeScript, shared by the kernel map
 * codecs (typed maps), the DSL (typed packet headers, map keys and values)
 * and BTF generation. Pure: no kernel access.
 *
 * ```ts
 * import { struct, packed, be32, be16, u8, mac, type Infer } from './lib/layout/index.js';
 *
 * const Key = struct({ vip: be32, port: be16, proto: u8, pad: u8 }, { name: 'lb4_key' });
 * type K = Infer<typeof Key>;           // { vip: number; port: number; proto: number; pad: number }
 * Key.size;                             // 8
 * Key.fields;                           // [{ name: 'vip', offset: 0, size: 4, type: be32 }, ...]
 * const bytes = Key.encode({ vip: 0x0a000001, port: 80, proto: 6, pad: 0 });
 * Key.decode(bytes);                    // { vip: 167772161, port: 80, proto: 6, pad: 0 }
 *
 * const Eth = packed({ dst: mac, src: mac, proto: be16 }, { name: 'ethhdr' }); // 14 bytes
 * ```
 *
 * Building blocks:
 * - scalars `u8 u16 u32 u64 s8 s16 s32 s64` in host order, `be16 be32 be64`
 *   in network order (`le16 le32 le64` explicit little-endian); 64-bit values
 *   are `bigint`, the others `number`;
 * - `array(T, n)` (value `T[]`), `bytes(n)` (value `Uint8Array`),
 *   `cstring(n)` (NUL-padded `char[n]` as a string), `pad(n)` (explicit
 *   padding, not part of the value);
 * - address fields `ipv4` (`'10.0.0.1'`, like `__be32`), `ipv6` (like
 *   `struct in6_addr`), `mac` (`__u8[6]`);
 * - `struct(fields, { packed?, name?, align? })` with C alignment rules
 *   (each field at a multiple of its alignment, size rounded to the largest
 *   alignment), and `packed(fields)` for packet headers.
 *
 * Every layout has `kind`, `size`, `align`, `typeName`, `read(view, off)` /
 * `write(view, off, v)` (fast primitives over a DataView), `encode(v)`,
 * `encodeInto(v, buf, off?)` and `decode(bytes, off?)`; structs add `fields`
 * (`{ name, offset, size, type }`), `field(name)` and `offsetOf('a.b')`.
 * Values that do not fit, and buffers of the wrong size, throw `LayoutError`
 * naming the field path. Implicit and explicit padding is written as zero, so
 * encoded map keys never carry garbage.
 *
 * Also here, because the ELF reader and the DSL build them without a kernel:
 * `MapSpec`, the plain-data description of a map that `BpfMap.create()` in
 * lib/kernel turns into a kernel object.
 *
 * @module
 */
export { LayoutError } from './errors.js';
export { type Layout, type AnyLayout, type LayoutKind, type Infer, BaseLayout, viewOf } from './layout.js';
export {
  Scalar,
  type ByteOrder,
  hostLittleEndian,
  u8,
  u16,
  u32,
  u64,
  s8,
  s16,
  s32,
  s64,
  be16,
  be32,
  be64,
  le16,
  le32,
  le64,
} from './scalar.js';
export { ArrayLayout, array, BytesLayout, bytes, CStringLayout, cstring, PadLayout, pad } from './array.js';
export { AddrLayout, type AddrFormat, ipv4, ipv6, mac, parseIpv6, formatIpv6 } from './addr.js';
export {
  StructLayout,
  struct,
  packed,
  type Fields,
  type StructField,
  type StructOptions,
  type StructValue,
} from './struct.js';
export {
  type MapSpec,
  type MapEntrySpec,
  type MapTypeLike,
  type MapTypeName,
  type MapPinning,
  MapSpecError,
  resolveMapType,
  mapTypeShortName,
  isPerCpuMapType,
  isMapInMapType,
  checkMapSpec,
} from './map-spec.js';
