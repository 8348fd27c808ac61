/**
 * Fixed-size arrays (`array(u32, 4)` is `__u32[4]`, value `number[]`), byte
 * arrays (`bytes(16)`, value `Uint8Array`), NUL-padded C strings
 * (`cstring(16)`, value `string`) and explicit padding (`pad(3)`).
 *
 * @module
 */
import { BaseLayout, type Layout } from './layout.js';
import { LayoutError, show } from './errors.js';

/**
 * A fixed-size array of `length` elements of `element`: `array(u32, 4)` is `__u32[4]`.
 * `E` keeps the element layout's own type, so typed views know the element type.
 */
export class ArrayLayout<T, E extends Layout<T> = Layout<T>> extends BaseLayout<T[]> {
  readonly kind = 'array' as const;
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  /** The element layout. */
  readonly element: E;
  /** The element count. */
  readonly length: number;

  /** @internal use `array()`. */
  constructor(element: E, length: number) {
    super();
    if (!Number.isInteger(length) || length < 0) throw new LayoutError(`array length must be a non-negative integer, got ${show(length)}`);
    this.element = element;
    this.length = length;
    this.size = element.size * length;
    this.align = element.align;
    this.typeName = `${element.typeName}[${length}]`;
  }

  read(view: DataView, offset: number): T[] {
    const { element, length } = this;
    const step = element.size;
    const out = new Array<T>(length);
    for (let i = 0; i < length; i++) out[i] = element.read(view, offset + i * step);
    return out;
  }

  write(view: DataView, offset: number, value: T[]): void {
    if (!Array.isArray(value) || value.length !== this.length) {
      throw new LayoutError(`${this.typeName} needs an array of ${this.length} elements, got ${show(value)}`);
    }
    const { element, length } = this;
    const step = element.size;
    let i = 0;
    try {
      for (; i < length; i++) element.write(view, offset + i * step, value[i]!);
    } catch (e) {
      throw e instanceof LayoutError ? e.within(`[${i}]`) : e;
    }
  }
}

/** `T[length]`: a fixed-size array; its value is a JavaScript array of exactly `length` elements. */
export function array<T, E extends Layout<T> = Layout<T>>(element: E & Layout<T>, length: number): ArrayLayout<T, E> {
  return new ArrayLayout<T, E>(element, length);
}

/** `__u8[length]` as a `Uint8Array` (copied on read; must be exactly `length` bytes on write). */
export class BytesLayout extends BaseLayout<Uint8Array> {
  readonly kind = 'bytes' as const;
  readonly size: number;
  readonly align = 1;
  readonly typeName: string;

  /** @internal use `bytes()`. */
  constructor(length: number) {
    super();
    if (!Number.isInteger(length) || length < 0) throw new LayoutError(`bytes length must be a non-negative integer, got ${show(length)}`);
    this.size = length;
    this.typeName = `u8[${length}]`;
  }

  read(view: DataView, offset: number): Uint8Array {
    return new Uint8Array(view.buffer, view.byteOffset + offset, this.size).slice();
  }

  write(view: DataView, offset: number, value: Uint8Array): void {
    if (!(value instanceof Uint8Array) || value.length !== this.size) {
      throw new LayoutError(`${this.typeName} needs a Uint8Array of ${this.size} bytes, got ${show(value)}`);
    }
    new Uint8Array(view.buffer, view.byteOffset + offset, this.size).set(value);
  }
}

/** `__u8[length]` whose value is a `Uint8Array` of exactly `length` bytes. */
export function bytes(length: number): BytesLayout {
  return new BytesLayout(length);
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** `char[length]` holding a NUL-terminated UTF-8 string (at most `length - 1` bytes; the rest is zeroed). */
export class CStringLayout extends BaseLayout<string> {
  readonly kind = 'string' as const;
  readonly size: number;
  readonly align = 1;
  readonly typeName: string;

  /** @internal use `cstring()`. */
  constructor(length: number) {
    super();
    if (!Number.isInteger(length) || length < 1) throw new LayoutError(`cstring length must be a positive integer, got ${show(length)}`);
    this.size = length;
    this.typeName = `char[${length}]`;
  }

  read(view: DataView, offset: number): string {
    const raw = new Uint8Array(view.buffer, view.byteOffset + offset, this.size);
    const end = raw.indexOf(0);
    return utf8Decoder.decode(end < 0 ? raw : raw.subarray(0, end));
  }

  write(view: DataView, offset: number, value: string): void {
    if (typeof value !== 'string') throw new LayoutError(`${this.typeName} needs a string, got ${show(value)}`);
    const target = new Uint8Array(view.buffer, view.byteOffset + offset, this.size);
    const { read, written } = utf8Encoder.encodeInto(value, target.subarray(0, this.size - 1));
    if (read !== value.length || value.includes('\0')) {
      throw new LayoutError(`${show(value)} does not fit ${this.typeName} (at most ${this.size - 1} bytes, no NUL)`);
    }
    target.fill(0, written);
  }
}

/** `char[length]` as a string: NUL-padded, at most `length - 1` UTF-8 bytes (object names, `comm`). */
export function cstring(length: number): CStringLayout {
  return new CStringLayout(length);
}

/**
 * Explicit padding: `size` bytes written as zero and never read. Padding
 * fields are left out of the struct's value type.
 */
export class PadLayout extends BaseLayout<undefined> {
  readonly kind = 'pad' as const;
  readonly size: number;
  readonly align = 1;
  readonly typeName: string;

  /** @internal use `pad()`. */
  constructor(size: number) {
    super();
    if (!Number.isInteger(size) || size < 0) throw new LayoutError(`pad size must be a non-negative integer, got ${show(size)}`);
    this.size = size;
    this.typeName = `pad[${size}]`;
  }

  read(): undefined {
    return undefined;
  }

  write(view: DataView, offset: number): void {
    for (let i = 0; i < this.size; i++) view.setUint8(offset + i, 0);
  }
}

/** `size` bytes of explicit padding (zeroed on write, absent from the value). */
export function pad(size: number): PadLayout {
  return new PadLayout(size);
}
