/**
 * Integer scalars: `u8`..`u64`, `s8`..`s64` in host byte order, and the
 * network-order `be16`/`be32`/`be64` (plus explicit little-endian `le*`).
 * 8- to 32-bit values are `number`, 64-bit values `bigint`. Values out of
 * range, non-integers and values of the wrong JavaScript type throw
 * `LayoutError`.
 *
 * @module
 */
import { BaseLayout } from './layout.js';
import { LayoutError, show } from './errors.js';

/** True on little-endian hosts (every Linux BPF host tsbpf targets so far). */
export const hostLittleEndian: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Byte order of a scalar: the host's (`u32`), network order (`be32`) or explicit little-endian (`le32`). */
export type ByteOrder = 'host' | 'big' | 'little';

/**
 * Pieces of JavaScript source a struct compiles into its read/write functions,
 * so scalar fields cost one DataView call and one range test each.
 * @internal
 */
export interface InlineCode {
  /** An expression reading the value at `o` of DataView `v`. */
  read(v: string, o: string): string;
  /** An expression that is true when `x` does not fit. */
  invalid(x: string): string;
  /** A statement writing the (valid) value `x` at `o` of `v`. */
  write(v: string, o: string, x: string): string;
}

/** An integer scalar layout. */
export class Scalar<T extends number | bigint> extends BaseLayout<T> {
  readonly kind = 'int' as const;
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  /** Whether the value is two's-complement signed. */
  readonly signed: boolean;
  /** Byte order in memory. */
  readonly byteOrder: ByteOrder;
  /** @internal */
  readonly inline: InlineCode;
  readonly read: (view: DataView, offset: number) => T;
  readonly write: (view: DataView, offset: number, value: T) => void;

  /** @internal use the exported constants (`u32`, `be16`, ...). */
  constructor(typeName: string, size: 1 | 2 | 4 | 8, signed: boolean, byteOrder: ByteOrder) {
    super();
    this.typeName = typeName;
    this.size = size;
    this.align = size;
    this.signed = signed;
    this.byteOrder = byteOrder;
    const little = byteOrder === 'host' ? hostLittleEndian : byteOrder === 'little';
    const bits = size * 8;
    const acc = (signed ? (size === 8 ? 'BigInt' : 'Int') : size === 8 ? 'BigUint' : 'Uint') + bits;
    const le = size === 1 ? '' : `, ${little}`;
    let invalid: (x: string) => string;
    if (size === 8) {
      const [lo, hi] = signed ? ['-0x8000000000000000n', '0x7fffffffffffffffn'] : ['0n', '0xffffffffffffffffn'];
      invalid = (x) => `(typeof ${x} !== 'bigint' || ${x} < ${lo} || ${x} > ${hi})`;
    } else if (signed) {
      invalid = size === 4 ? (x) => `((${x} | 0) !== ${x})` : (x) => `((${x} << ${32 - bits} >> ${32 - bits}) !== ${x})`;
    } else {
      invalid = size === 4 ? (x) => `((${x} >>> 0) !== ${x})` : (x) => `((${x} & ${(1 << bits) - 1}) !== ${x})`;
    }
    this.inline = {
      read: (v, o) => `${v}.get${acc}(${o}${le})`,
      invalid,
      write: (v, o, x) => `${v}.set${acc}(${o}, ${x}${le});`,
    };
    // Compiled once per scalar: one DataView call plus one range test.
    this.read = new Function('v', 'o', `return ${this.inline.read('v', 'o')};`) as (v: DataView, o: number) => T;
    const fail = (x: unknown): never => {
      throw new LayoutError(`${show(x)} does not fit ${typeName}`);
    };
    this.write = new Function('fail', `return function write(v, o, x) { if (${invalid('x')}) fail(x); ${this.inline.write('v', 'o', 'x')} };`)(
      fail,
    ) as (v: DataView, o: number, x: T) => void;
  }
}

/** `__u8`. */
export const u8: Scalar<number> = new Scalar('u8', 1, false, 'host');
/** `__u16` in host order. */
export const u16: Scalar<number> = new Scalar('u16', 2, false, 'host');
/** `__u32` in host order. */
export const u32: Scalar<number> = new Scalar('u32', 4, false, 'host');
/** `__u64` in host order (bigint). */
export const u64: Scalar<bigint> = new Scalar('u64', 8, false, 'host');
/** `__s8`. */
export const s8: Scalar<number> = new Scalar('s8', 1, true, 'host');
/** `__s16` in host order. */
export const s16: Scalar<number> = new Scalar('s16', 2, true, 'host');
/** `__s32` in host order. */
export const s32: Scalar<number> = new Scalar('s32', 4, true, 'host');
/** `__s64` in host order (bigint). */
export const s64: Scalar<bigint> = new Scalar('s64', 8, true, 'host');
/** `__be16`: network byte order; the value is the host number (`port: 80`). */
export const be16: Scalar<number> = new Scalar('be16', 2, false, 'big');
/** `__be32`: network byte order; the value is the host number (`0x0a000001` for 10.0.0.1). */
export const be32: Scalar<number> = new Scalar('be32', 4, false, 'big');
/** `__be64`: network byte order (bigint). */
export const be64: Scalar<bigint> = new Scalar('be64', 8, false, 'big');
/** `__le16`: little-endian regardless of host. */
export const le16: Scalar<number> = new Scalar('le16', 2, false, 'little');
/** `__le32`: little-endian regardless of host. */
export const le32: Scalar<number> = new Scalar('le32', 4, false, 'little');
/** `__le64`: little-endian regardless of host (bigint). */
export const le64: Scalar<bigint> = new Scalar('le64', 8, false, 'little');
