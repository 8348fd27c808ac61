/**
 * Shapes shared by the uapi layout tables (context structs, `union bpf_attr`,
 * `bpf_*_info`) and the small lookups over them. Pure data; no kernel access.
 *
 * @module
 */
import { TsbpfError } from '../errors.js';

/** Thrown by uapi lookups when a name or number is not in a table. */
export class UapiError extends TsbpfError {}

/** One member of a C struct as the uapi header lays it out. */
export interface FieldLayout {
  /** Member name; nested members are dotted (`tcx.relative_fd`). */
  readonly name: string;
  /** Byte offset from the start of the struct (or of `union bpf_attr`). */
  readonly offset: number;
  /** Size in bytes of one element (of the whole member when not an array). */
  readonly size: number;
  /** Element count for array members (`cb[5]` has size 4, count 5). */
  readonly count?: number;
  /** Width in bits for a bit-field member that starts at bit 0 of `offset`. */
  readonly bits?: number;
}

/** A C struct: its name, total size in bytes and members in declaration order. */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly FieldLayout[];
}

/**
 * The members of `union bpf_attr` one command uses. Offsets count from the
 * start of the union; `size` is the end of the last member (the smallest
 * attr size that carries all of them).
 */
export interface AttrLayout extends StructLayout {
  /** The union member that holds the fields (`'link_create'`), or `''` for an anonymous struct. */
  readonly cPath: string;
}

/** The member called `name`; throws {@link UapiError} when the struct has none. */
export function field(layout: StructLayout, name: string): FieldLayout {
  const f = layout.fields.find((x) => x.name === name);
  if (!f) throw new UapiError(`${layout.name} has no member '${name}'`);
  return f;
}

/** Byte offset of member `name`; throws {@link UapiError} when the struct has none. */
export function offsetOf(layout: StructLayout, name: string): number {
  return field(layout, name).offset;
}

/** Total byte size of member `name` (`size * count` for arrays). */
export function sizeOf(layout: StructLayout, name: string): number {
  const f = field(layout, name);
  return f.size * (f.count ?? 1);
}

/** The member that starts at `offset` (the first declared one when members overlap), if any. */
export function fieldAt(layout: StructLayout, offset: number): FieldLayout | undefined {
  return layout.fields.find((f) => offset >= f.offset && offset < f.offset + f.size * (f.count ?? 1));
}
