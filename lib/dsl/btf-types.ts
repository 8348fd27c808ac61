/**
 * BTF types for lib/layout layouts, so maps declared in the DSL carry typed
 * keys and values (`bpftool map dump` prints field names): host-order
 * scalars as `__u32`/`__s16`..., network-order ones as `__be16`/`__be32`/`__be64`
 * typedefs of the unsigned integer (the kernel and bpftool print them as the
 * raw integer), arrays as arrays, `bytes(n)`/`mac`/`ipv4`/`ipv6` as `__u8[n]`
 * (under `mac_addr`/`ipv4_addr`/`ipv6_addr` typedefs), `cstring(n)` as
 * `char[n]` (printed as a string), structs as structs with their field names
 * and offsets (explicit padding becomes a hole, as in C).
 */
import type { BtfBuilder } from '../btf/index.js';
import type { AnyLayout } from '../layout/index.js';
import { AddrLayout, ArrayLayout, Scalar, StructLayout } from '../layout/index.js';
import { DslError } from './errors.js';


/** A C identifier from a JavaScript name (BTF names must be `[A-Za-z_][A-Za-z0-9_]*`). */
export function btfIdentifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

/**
 * Generates BTF types for layouts into one builder. Each layout object gets one
 * type id (structs are not merged by shape, so two differently named structs
 * stay apart).
 */
export class LayoutBtf {
  private readonly ids = new Map<AnyLayout, number>();

  constructor(readonly builder: BtfBuilder) {}

  /** The BTF type id describing `layout` (its size equals `layout.size`). */
  typeOf(layout: AnyLayout): number {
    const known = this.ids.get(layout);
    if (known !== undefined) return known;
    const id = this.generate(layout);
    this.ids.set(layout, id);
    return id;
  }

  private u8Array(n: number): number {
    return this.builder.array(this.builder.uint(1), n);
  }

  private generate(layout: AnyLayout): number {
    const b = this.builder;
    switch (layout.kind) {
      case 'int': {
        if (!(layout instanceof Scalar)) break;
        const size = layout.size as 1 | 2 | 4 | 8;
        if (layout.byteOrder === 'big') return b.typedef(`__be${size * 8}`, b.uint(size));
        if (layout.byteOrder === 'little') return b.typedef(`__le${size * 8}`, b.uint(size));
        return layout.signed ? b.sint(size) : b.uint(size);
      }
      case 'array':
        if (layout instanceof ArrayLayout) return b.array(this.typeOf(layout.element), layout.length);
        break;
      case 'bytes':
        return this.u8Array(layout.size);
      case 'string':
        return b.array(b.int('char', 1, { signed: true }), layout.size);
      case 'pad':
        return this.u8Array(layout.size);
      case 'addr': {
        const format = layout instanceof AddrLayout ? layout.format : 'bytes';
        return b.typedef(`${format}_addr`, this.u8Array(layout.size));
      }
      case 'struct': {
        if (!(layout instanceof StructLayout)) break;
        const members = layout.fields
          .filter((f) => f.type.kind !== 'pad' && f.size > 0)
          .map((f) => ({ name: btfIdentifier(f.name), type: this.typeOf(f.type), offset: f.offset }));
        return b.struct(layout.name ? btfIdentifier(layout.name) : '', members, layout.size);
      }
    }
    throw new DslError(`no BTF type for layout ${layout.typeName} (kind ${layout.kind})`);
  }
}
