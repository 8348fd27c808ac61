/**
 * A builder for generating BTF: integer, pointer, array, struct, function and
 * variable types (identical types are added once), and the shapes libbpf
 * expects for BTF-defined maps (`__uint`, `__type`, `__array` members of a
 * `.maps` variable).
 */
import { Btf } from './btf.js';
import { BtfIntEncoding, BtfLinkage, type BtfEnumValue, type BtfParam, type BtfType, type BtfVarSecinfo } from './types.js';

/** A struct member for {@link BtfBuilder.struct}: byte offset computed with natural alignment when omitted. */
export interface BtfMemberInput {
  name: string;
  type: number;
  /** Byte offset; default: next naturally aligned offset. */
  offset?: number;
  /** Bitfield width in bits, if a bitfield (then `bitOffset` is required). */
  bitfieldSize?: number;
  /** Bit offset, for bitfields. */
  bitOffset?: number;
}

/** The fields of a BTF-defined map (`struct { __uint(type, ...); ... } name SEC(".maps")`). */
export interface BtfMapDefinition {
  /** Map type number (`BPF_MAP_TYPE_*`). */
  type: number;
  /** `max_entries`. */
  maxEntries?: number;
  /** `map_flags`. */
  flags?: number;
  /** Key type id (emitted as `__type(key, T)`). */
  key?: number;
  /** Value type id (`__type(value, T)`). */
  value?: number;
  /** Key size, when there is no key type (`__uint(key_size, N)`). */
  keySize?: number;
  /** Value size, when there is no value type (`__uint(value_size, N)`). */
  valueSize?: number;
  /** `pinning` (1 = `LIBBPF_PIN_BY_NAME`). */
  pinning?: number;
  /** `numa_node`. */
  numaNode?: number;
  /** `map_extra`. */
  mapExtra?: number;
  /** Inner map definition struct id for map-in-map (`__array(values, struct inner)`). */
  innerMap?: number;
  /**
   * A program array with initial slots: `__array(values, int (void *))`, as clang emits it
   * (the value size is then implied, 4).
   */
  programValues?: boolean;
}

/** Builds a {@link Btf} incrementally; each method returns the new (or existing identical) type's id. */
export class BtfBuilder {
  /** The types built so far. */
  readonly btf: Btf;
  private readonly cache = new Map<string, number>();

  constructor(base: Btf = new Btf()) {
    this.btf = base;
  }

  /** Adds a type, reusing an identical one already added through this builder. */
  add(t: BtfType): number {
    const key = JSON.stringify(t, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const id = this.btf.add(t);
    this.cache.set(key, id);
    return id;
  }

  /** An integer type (`size` bytes). */
  int(name: string, size: number, opts: { signed?: boolean; char?: boolean; bool?: boolean } = {}): number {
    const encoding = (opts.signed ? BtfIntEncoding.SIGNED : 0) | (opts.char ? BtfIntEncoding.CHAR : 0) | (opts.bool ? BtfIntEncoding.BOOL : 0);
    return this.add({ kind: 'INT', name, size, encoding, bitOffset: 0, bits: size * 8 });
  }

  /** The C unsigned integer of `size` bytes (1, 2, 4, 8), under its `__uN` typedef. */
  uint(size: 1 | 2 | 4 | 8): number {
    const c = { 1: 'unsigned char', 2: 'unsigned short', 4: 'unsigned int', 8: 'unsigned long long' }[size];
    return this.typedef(`__u${size * 8}`, this.int(c, size));
  }

  /** The C signed integer of `size` bytes, under its `__sN` typedef. */
  sint(size: 1 | 2 | 4 | 8): number {
    const c = { 1: 'signed char', 2: 'short', 4: 'int', 8: 'long long' }[size];
    return this.typedef(`__s${size * 8}`, this.int(c, size, { signed: true }));
  }

  /** The index type of arrays (`__ARRAY_SIZE_TYPE__`, as clang emits it). */
  arrayIndex(): number {
    return this.int('__ARRAY_SIZE_TYPE__', 4);
  }

  /** A pointer to `type`. */
  ptr(type: number): number {
    return this.add({ kind: 'PTR', name: '', type });
  }

  /** An array of `nelems` elements of `type`. */
  array(type: number, nelems: number): number {
    return this.add({ kind: 'ARRAY', name: '', type, indexType: this.arrayIndex(), nelems });
  }

  /** A typedef. */
  typedef(name: string, type: number): number {
    return this.add({ kind: 'TYPEDEF', name, type });
  }

  /** A const-qualified type. */
  const(type: number): number {
    return this.add({ kind: 'CONST', name: '', type });
  }

  /** A volatile-qualified type. */
  volatile(type: number): number {
    return this.add({ kind: 'VOLATILE', name: '', type });
  }

  /** A struct; member offsets follow natural alignment unless given; size defaults to the aligned end. */
  struct(name: string, members: BtfMemberInput[], size?: number): number {
    return this.aggregate('STRUCT', name, members, size);
  }

  /** A union (all members at offset 0 unless given). */
  union(name: string, members: BtfMemberInput[], size?: number): number {
    return this.aggregate(
      'UNION',
      name,
      members.map((m) => ({ ...m, offset: m.offset ?? 0 })),
      size,
    );
  }

  private aggregate(kind: 'STRUCT' | 'UNION', name: string, members: BtfMemberInput[], size?: number): number {
    let end = 0;
    let maxAlign = 1;
    const out = members.map((m) => {
      const msize = this.btf.sizeOf(m.type);
      const align = this.alignOf(m.type);
      maxAlign = Math.max(maxAlign, align);
      if (m.bitfieldSize) {
        const bitOffset = m.bitOffset ?? (m.offset ?? 0) * 8;
        end = Math.max(end, Math.ceil((bitOffset + m.bitfieldSize) / 8));
        return { name: m.name, type: m.type, bitOffset, bitfieldSize: m.bitfieldSize };
      }
      const off = m.offset ?? Math.ceil(end / align) * align;
      end = Math.max(end, off + msize);
      return { name: m.name, type: m.type, bitOffset: off * 8, bitfieldSize: 0 };
    });
    const total = size ?? Math.ceil(end / maxAlign) * maxAlign;
    return this.btf.add({ kind, name, size: total, members: out, kindFlag: out.some((m) => m.bitfieldSize !== 0) });
  }

  /** Natural alignment of a type (1, 2, 4 or 8). */
  alignOf(id: number): number {
    const t = this.btf.get(this.btf.skipModifiers(id));
    switch (t.kind) {
      case 'PTR':
        return 8;
      case 'ARRAY':
        return this.alignOf(t.type);
      case 'STRUCT':
      case 'UNION':
        return t.members.reduce((a, m) => Math.max(a, this.alignOf(m.type)), 1);
      default:
        return Math.min(8, Math.max(1, this.btf.sizeOf(id)));
    }
  }

  /** An enum (4-byte values unless `size` says otherwise; 8 makes an ENUM64). */
  enum(name: string, values: BtfEnumValue[], size = 4, signed = false): number {
    return this.add(size > 4 ? { kind: 'ENUM64', name, size, signed, values } : { kind: 'ENUM', name, size, signed, values });
  }

  /** A function prototype. */
  funcProto(returnType: number, params: BtfParam[]): number {
    return this.add({ kind: 'FUNC_PROTO', name: '', returnType, params });
  }

  /** A function (global linkage by default). */
  func(name: string, proto: number, linkage: number = BtfLinkage.GLOBAL): number {
    return this.btf.add({ kind: 'FUNC', name, type: proto, linkage });
  }

  /** A variable (global linkage by default). */
  variable(name: string, type: number, linkage: number = BtfLinkage.GLOBAL): number {
    return this.btf.add({ kind: 'VAR', name, type, linkage });
  }

  /** A data section with its variables. */
  datasec(name: string, vars: BtfVarSecinfo[], size: number): number {
    return this.btf.add({ kind: 'DATASEC', name, size, vars });
  }

  /** `int (*name)[value]`: how `__uint(name, value)` encodes a number in a BTF-defined map. */
  uintField(value: number): number {
    return this.ptr(this.array(this.int('int', 4, { signed: true }), value));
  }

  /**
   * The anonymous struct of a BTF-defined map, with members in libbpf's order
   * (`type`, `key`/`key_size`, `value`/`value_size`, `max_entries`, `map_flags`, ..., `values` last).
   */
  mapDefinition(def: BtfMapDefinition): number {
    const m: BtfMemberInput[] = [];
    const field = (name: string, type: number) => m.push({ name, type, offset: m.length * 8 });
    field('type', this.uintField(def.type));
    if (def.key !== undefined) field('key', this.ptr(def.key));
    else if (def.keySize !== undefined) field('key_size', this.uintField(def.keySize));
    const flexible = def.innerMap !== undefined || def.programValues === true;
    if (!flexible && def.value !== undefined) field('value', this.ptr(def.value));
    else if (!def.programValues && def.valueSize !== undefined) field('value_size', this.uintField(def.valueSize));
    if (def.maxEntries !== undefined) field('max_entries', this.uintField(def.maxEntries));
    if (def.flags) field('map_flags', this.uintField(def.flags));
    if (def.numaNode !== undefined) field('numa_node', this.uintField(def.numaNode));
    if (def.mapExtra !== undefined) field('map_extra', this.uintField(def.mapExtra));
    if (def.pinning) field('pinning', this.uintField(def.pinning));
    // `__array(values, struct inner)` or `__array(values, int (void *))`: a flexible array of pointers, last.
    if (flexible) {
      const target =
        def.innerMap ?? this.funcProto(this.int('int', 4, { signed: true }), [{ name: '', type: this.ptr(0) }]);
      field('values', this.btf.add({ kind: 'ARRAY', name: '', type: this.ptr(target), indexType: this.arrayIndex(), nelems: 0 }));
    }
    // values: ARRAY of pointers has size 0 (flexible); the struct is 8 bytes per member otherwise.
    const size = m.length * 8 - (flexible ? 8 : 0);
    return this.btf.add({
      kind: 'STRUCT',
      name: '',
      size,
      kindFlag: false,
      members: m.map((x) => ({ name: x.name, type: x.type, bitOffset: x.offset! * 8, bitfieldSize: 0 })),
    });
  }
}
