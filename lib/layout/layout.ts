/**
 * The common shape of every layout (scalar, array, byte array, address,
 * padding, struct) and the encode/decode entry points they share.
 *
 * A layout describes C bytes: `size`, `align`, and how to `read`/`write` a
 * JavaScript value at a byte offset of a `DataView`. `read`/`write` are the
 * fast primitives (no bounds checks beyond DataView's own, no allocation
 * besides the result); `encode`, `encodeInto` and `decode` add buffer checks.
 *
 * @module
 */
import { LayoutError } from './errors.js';

/** What a layout is, for code generators (DSL loads/stores, BTF). */
export type LayoutKind = 'int' | 'array' | 'bytes' | 'string' | 'addr' | 'pad' | 'struct';

/** A C type laid out in bytes, with a JavaScript value type `T`. */
export interface Layout<T> {
  /** Discriminator for code generators. */
  readonly kind: LayoutKind;
  /** Size in bytes (`sizeof`). */
  readonly size: number;
  /** Alignment in bytes (`_Alignof`); 1 for packed structs. */
  readonly align: number;
  /** A short C-like name (`u32`, `be16`, `u8[6]`, `struct key`). */
  readonly typeName: string;
  /** Reads a value at `offset` of `view` (no size checks beyond DataView's). */
  read(view: DataView, offset: number): T;
  /** Writes `value` at `offset` of `view`; throws `LayoutError` when it does not fit. Padding is zeroed. */
  write(view: DataView, offset: number, value: T): void;
  /** A new zero-filled buffer of `size` bytes holding `value`. */
  encode(value: T): Uint8Array;
  /** Writes `value` into `buf` at `offset` (default 0); `buf` must have `size` bytes there. */
  encodeInto(value: T, buf: Uint8Array, offset?: number): void;
  /**
   * Reads a value from `bytes`. Without `offset`, `bytes` must be exactly
   * `size` long; with one, it must hold `size` bytes from `offset`.
   */
  decode(bytes: Uint8Array, offset?: number): T;
}

/** A layout of any value type (for code that handles layouts generically). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayout = Layout<any>;

/** The JavaScript value type of a layout: `Infer<typeof Key>`. */
export type Infer<L> = L extends Layout<infer T> ? T : never;

// A one-entry cache of the DataView over the last buffer seen, so repeated
// encodeInto/decode calls on the same buffer (a map's key buffer) allocate nothing.
let lastBuf: Uint8Array | undefined;
let lastView: DataView | undefined;

/** A DataView over exactly `buf` (cached for the last buffer used). */
export function viewOf(buf: Uint8Array): DataView {
  if (buf === lastBuf) return lastView!;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  lastBuf = buf;
  lastView = v;
  return v;
}

/** Base class giving every layout the checked `encode`/`encodeInto`/`decode`. */
export abstract class BaseLayout<T> implements Layout<T> {
  abstract readonly kind: LayoutKind;
  abstract readonly size: number;
  abstract readonly align: number;
  abstract readonly typeName: string;
  abstract read(view: DataView, offset: number): T;
  abstract write(view: DataView, offset: number, value: T): void;

  encode(value: T): Uint8Array {
    const buf = new Uint8Array(this.size);
    this.write(new DataView(buf.buffer), 0, value);
    return buf;
  }

  encodeInto(value: T, buf: Uint8Array, offset = 0): void {
    if (!(buf instanceof Uint8Array)) throw new LayoutError(`encodeInto needs a Uint8Array, got ${typeof buf}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + this.size > buf.length) {
      throw new LayoutError(
        `${this.typeName} needs ${this.size} bytes at offset ${offset}, the buffer has ${buf.length}`,
      );
    }
    this.write(viewOf(buf), offset, value);
  }

  decode(bytes: Uint8Array, offset?: number): T {
    if (!(bytes instanceof Uint8Array)) throw new LayoutError(`decode needs a Uint8Array, got ${typeof bytes}`);
    if (offset === undefined) {
      if (bytes.length !== this.size) {
        throw new LayoutError(`${this.typeName} is ${this.size} bytes, got ${bytes.length}`);
      }
      return this.read(viewOf(bytes), 0);
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + this.size > bytes.length) {
      throw new LayoutError(
        `${this.typeName} needs ${this.size} bytes at offset ${offset}, the buffer has ${bytes.length}`,
      );
    }
    return this.read(viewOf(bytes), offset);
  }
}
