/**
 * C structs: `struct({ vip: be32, port: be16, proto: u8, pad: u8 })` lays
 * fields out with C alignment rules (each field at a multiple of its
 * alignment, size rounded up to the largest alignment); `packed()` (or the
 * `packed` option) places them back to back with alignment 1, as packet
 * headers are. Implicit and explicit padding is zeroed on write.
 *
 * Each struct compiles its own read and write functions once, at
 * declaration: scalar fields become straight DataView calls with an inline
 * range test, so encoding and decoding do no per-call reflection.
 *
 * @module
 */
import { BaseLayout, type Infer, type Layout } from './layout.js';
import { type Scalar } from './scalar.js';
import { PadLayout } from './array.js';
import { LayoutError, show } from './errors.js';

/** The fields of a struct declaration, in order: name -> layout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Fields = Record<string, Layout<any>>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The value type of a struct: every non-padding field with its value type. */
export type StructValue<F extends Fields> = Simplify<{
  -readonly [K in keyof F as F[K] extends PadLayout ? never : K]: Infer<F[K]>;
}>;

/** One laid-out field: what code generators (DSL loads/stores, BTF) need. */
export interface StructField {
  /** The field name. */
  readonly name: string;
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The field's layout (`type.kind` says what it is). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly type: Layout<any>;
}

/** Options of `struct()`. */
export interface StructOptions {
  /** Lay fields back to back with alignment 1 (`__attribute__((packed))`). */
  packed?: boolean;
  /** The C struct name (for BTF and messages), e.g. `'lb4_key'`. */
  name?: string;
  /** A minimum alignment (`__attribute__((aligned(n)))`), a power of two. */
  align?: number;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** A C struct layout with value type `StructValue<F>`. */
export class StructLayout<F extends Fields> extends BaseLayout<StructValue<F>> {
  readonly kind = 'struct' as const;
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  /** The C struct name, if given. */
  readonly name: string | undefined;
  /** Whether the fields are packed. */
  readonly packed: boolean;
  /** The fields in declaration order, with offsets. */
  readonly fields: readonly StructField[];
  /** The declaration this layout was built from. */
  readonly declaration: F;
  readonly read: (view: DataView, offset: number) => StructValue<F>;
  readonly write: (view: DataView, offset: number, value: StructValue<F>) => void;
  readonly #byName: Map<string, StructField>;

  /** @internal use `struct()` or `packed()`. */
  constructor(declaration: F, options: StructOptions = {}) {
    super();
    const packedLayout = options.packed ?? false;
    if (options.align !== undefined && !(Number.isInteger(options.align) && options.align > 0 && (options.align & (options.align - 1)) === 0)) {
      throw new LayoutError(`struct align must be a power of two, got ${show(options.align)}`);
    }
    const fields: StructField[] = [];
    let cur = 0;
    let maxAlign = 1;
    for (const [name, type] of Object.entries(declaration)) {
      if (name === '' || name === '__proto__' || /^\d+$/.test(name)) throw new LayoutError(`struct field name ${show(name)} is not allowed (integer-like names lose their order)`);
      if (!(type instanceof BaseLayout)) throw new LayoutError(`struct field '${name}' is not a layout`);
      const offset = packedLayout ? cur : alignUp(cur, type.align);
      fields.push(Object.freeze({ name, offset, size: type.size, type }));
      cur = offset + type.size;
      if (!packedLayout) maxAlign = Math.max(maxAlign, type.align);
    }
    this.align = Math.max(maxAlign, options.align ?? 1);
    this.size = packedLayout ? alignUp(cur, options.align ?? 1) : alignUp(cur, this.align);
    this.packed = packedLayout;
    this.name = options.name;
    this.typeName = options.name ? `struct ${options.name}` : `struct { ${fields.map((f) => `${f.type.typeName} ${f.name}`).join('; ')} }`;
    this.fields = Object.freeze(fields);
    this.declaration = declaration;
    this.#byName = new Map(fields.map((f) => [f.name, f]));
    const compiled = compile(fields, this.size);
    this.read = compiled.read as (view: DataView, offset: number) => StructValue<F>;
    this.write = compiled.write as (view: DataView, offset: number, value: StructValue<F>) => void;
  }

  /** The field called `name`; throws `LayoutError` when there is none. */
  field(name: keyof F & string): StructField {
    const f = this.#byName.get(name);
    if (!f) throw new LayoutError(`${this.typeName} has no field '${name}'`);
    return f;
  }

  /** Byte offset of a field, through nested structs with dots: `offsetOf('tuple.dport')`. */
  offsetOf(path: string): number {
    let layout: Layout<unknown> = this;
    let offset = 0;
    for (const part of path.split('.')) {
      if (!(layout instanceof StructLayout)) throw new LayoutError(`'${path}': ${layout.typeName} is not a struct`);
      const f = (layout as StructLayout<Fields>).#byName.get(part);
      if (!f) throw new LayoutError(`'${path}': ${layout.typeName} has no field '${part}'`);
      offset += f.offset;
      layout = f.type;
    }
    return offset;
  }
}

/** Byte ranges [start, end) of `size` not covered by any non-padding field. */
function holes(fields: readonly StructField[], size: number): Array<[number, number]> {
  const covered = new Uint8Array(size);
  for (const f of fields) if (!(f.type instanceof PadLayout)) covered.fill(1, f.offset, f.offset + f.size);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < size; ) {
    if (covered[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < size && !covered[j]) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

function isScalar(t: Layout<unknown>): t is Scalar<number | bigint> {
  return t.kind === 'int' && 'inline' in t;
}

/** Generates the struct's read and write functions (once per declaration). */
function compile(fields: readonly StructField[], size: number) {
  const types = fields.map((f) => f.type);
  const readParts: string[] = [];
  const writeParts: string[] = [];
  let nested = false;
  fields.forEach((f, i) => {
    if (f.type instanceof PadLayout) return;
    const key = JSON.stringify(f.name);
    const at = `o + ${f.offset}`;
    if (isScalar(f.type)) {
      readParts.push(`${key}: ${f.type.inline.read('v', at)}`);
      writeParts.push(`f = x[${key}]; if (${f.type.inline.invalid('f')}) fail(${i}, f); ${f.type.inline.write('v', at, 'f')}`);
    } else {
      nested = true;
      readParts.push(`${key}: t[${i}].read(v, ${at})`);
      writeParts.push(`i = ${i}; t[${i}].write(v, ${at}, x[${key}]);`);
    }
  });
  const zero: string[] = [];
  for (const [a, b] of holes(fields, size)) {
    if (b - a <= 16) {
      let k = a;
      for (; k + 4 <= b; k += 4) zero.push(`v.setUint32(o + ${k}, 0);`);
      for (; k < b; k++) zero.push(`v.setUint8(o + ${k}, 0);`);
    } else {
      zero.push(`for (let k = ${a}; k < ${b}; k++) v.setUint8(o + k, 0);`);
    }
  }
  const body = nested
    ? `let i = -1; try { ${writeParts.join('\n')} } catch (e) { throw within(e, i); }`
    : writeParts.join('\n');
  const src = `
    return {
      read: function read(v, o) { return { ${readParts.join(',\n')} }; },
      write: function write(v, o, x) {
        if (x === null || typeof x !== 'object') notObject(x);
        let f;
        ${body}
        ${zero.join('\n')}
      },
    };`;
  const fail = (i: number, value: unknown): never => {
    const f = fields[i]!;
    throw new LayoutError(
      value === undefined ? `missing (${f.type.typeName})` : `${show(value)} does not fit ${f.type.typeName}`,
      [f.name],
    );
  };
  const within = (e: unknown, i: number): unknown =>
    e instanceof LayoutError && i >= 0 ? e.within(fields[i]!.name) : e;
  const notObject = (x: unknown): never => {
    throw new LayoutError(`a struct value must be an object, got ${show(x)}`);
  };
  return new Function('t', 'fail', 'within', 'notObject', src)(types, fail, within, notObject) as {
    read: (v: DataView, o: number) => unknown;
    write: (v: DataView, o: number, x: unknown) => void;
  };
}

/**
 * A C struct with natural alignment: `struct({ vip: be32, port: be16, proto: u8, pad: u8 })`.
 * `Infer<typeof Key>` is `{ vip: number; port: number; proto: number; pad: number }`.
 */
export function struct<F extends Fields>(fields: F, options?: StructOptions): StructLayout<F> {
  return new StructLayout(fields, options);
}

/** A packed struct (no implicit padding, alignment 1), as packet headers are laid out. */
export function packed<F extends Fields>(fields: F, options?: Omit<StructOptions, 'packed'>): StructLayout<F> {
  return new StructLayout(fields, { ...options, packed: true });
}
