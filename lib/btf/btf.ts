/**
 * A set of BTF types (ids 1..n; 0 is void) with lookups, size resolution and
 * the structural checks the kernel makes: references in range and no loops
 * in the type graph (other than through pointers to structs and unions).
 */
import { BtfError } from './error.js';
import { type BtfType, type BtfTypeWithId, typeRefs } from './types.js';

/** Modifier-like kinds that are transparent for size and resolution. */
const TRANSPARENT = new Set(['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG']);

/** Maximum chain length followed when resolving a type (the kernel uses 32 too). */
export const MAX_RESOLVE_DEPTH = 32;

/** A BTF type set. Types are numbered from 1 in the order they were added. */
export class Btf {
  /** The types; `types[i]` has id `i + 1`. */
  readonly types: BtfType[];

  constructor(types: BtfType[] = []) {
    this.types = types;
  }

  /** Number of types (the largest id). */
  get count(): number {
    return this.types.length;
  }

  /** Appends a type and returns its id. */
  add(t: BtfType): number {
    this.types.push(t);
    return this.types.length;
  }

  /** The type with this id; undefined for 0 (void) or an id out of range. */
  type(id: number): BtfType | undefined {
    return id >= 1 ? this.types[id - 1] : undefined;
  }

  /** The type with this id; throws `BtfError` for void or an unknown id. */
  get(id: number): BtfType {
    const t = this.type(id);
    if (!t) throw new BtfError(id === 0 ? 'type is void' : `unknown type id ${id} (${this.count} types)`, { typeId: id });
    return t;
  }

  /** All types with their ids. */
  *entries(): IterableIterator<BtfTypeWithId> {
    for (let i = 0; i < this.types.length; i++) yield { ...this.types[i]!, id: i + 1 };
  }

  /** The id of the first type with this name (and kind, if given), or undefined. */
  find(name: string, kind?: BtfType['kind']): number | undefined {
    const i = this.types.findIndex((t) => t.name === name && (kind === undefined || t.kind === kind));
    return i < 0 ? undefined : i + 1;
  }

  /** Follows typedefs and modifiers (const, volatile, restrict, type tags) from `id`; returns the first other id (0 for void). */
  skipModifiers(id: number): number {
    let cur = id;
    for (let depth = 0; ; depth++) {
      const t = this.type(cur);
      if (!t || !TRANSPARENT.has(t.kind)) return cur;
      if (depth >= MAX_RESOLVE_DEPTH) throw new BtfError('type chain too deep or looping', { typeId: id });
      cur = (t as { type: number }).type;
    }
  }

  /** Size in bytes of a type (pointers are 8 bytes); throws `BtfError` for types without a size, loops or unknown ids. */
  sizeOf(id: number, depth = 0): number {
    if (depth > MAX_RESOLVE_DEPTH) throw new BtfError('type chain too deep or looping', { typeId: id });
    const t = this.get(id);
    switch (t.kind) {
      case 'INT':
      case 'STRUCT':
      case 'UNION':
      case 'ENUM':
      case 'ENUM64':
      case 'DATASEC':
      case 'FLOAT':
        return t.size;
      case 'PTR':
        return 8;
      case 'ARRAY':
        return t.nelems * this.sizeOf(t.type, depth + 1);
      case 'TYPEDEF':
      case 'CONST':
      case 'VOLATILE':
      case 'RESTRICT':
      case 'TYPE_TAG':
      case 'VAR':
        return this.sizeOf(t.type, depth + 1);
      default:
        throw new BtfError(`${t.kind} has no size`, { typeId: id });
    }
  }

  /**
   * Checks every reference is in range, names are consistent with kinds, and
   * the type graph has no loops except through pointers. Throws `BtfError`.
   * `offsets` (from the decoder) maps ids to record offsets for messages.
   */
  validate(offsets?: number[]): void {
    const n = this.count;
    const at = (id: number) => (offsets ? { offset: offsets[id - 1], typeId: id } : { typeId: id });
    for (let id = 1; id <= n; id++) {
      const t = this.types[id - 1]!;
      for (const r of typeRefs(t)) {
        if (!Number.isInteger(r) || r < 0 || r > n) throw new BtfError(`${t.kind} '${t.name}' refers to unknown type id ${r} (${n} types)`, at(id));
      }
      switch (t.kind) {
        case 'FUNC': {
          const p = this.type(t.type);
          if (!p || p.kind !== 'FUNC_PROTO') throw new BtfError(`FUNC '${t.name}' does not refer to a FUNC_PROTO`, at(id));
          break;
        }
        case 'VAR':
        case 'ARRAY':
          if (t.type === 0) throw new BtfError(`${t.kind} '${t.name}' of type void`, at(id));
          break;
        case 'DATASEC':
          for (const v of t.vars) {
            const vt = this.type(v.type);
            if (!vt || (vt.kind !== 'VAR' && vt.kind !== 'FUNC')) throw new BtfError(`DATASEC '${t.name}' member ${v.type} is not a VAR`, at(id));
          }
          break;
        case 'DECL_TAG':
          if (t.type === 0) throw new BtfError(`DECL_TAG '${t.name}' on void`, at(id));
          break;
        default:
      }
    }
    // Loops through value edges (everything but pointers): iterative DFS with colours.
    const colour = new Uint8Array(n + 1); // 0 white, 1 grey, 2 black
    const valueRefs = (id: number): number[] => {
      const t = this.types[id - 1]!;
      return t.kind === 'PTR' ? [] : typeRefs(t).filter((r) => r !== 0);
    };
    for (let root = 1; root <= n; root++) {
      if (colour[root] !== 0) continue;
      const stack: Array<{ id: number; refs: number[]; i: number }> = [{ id: root, refs: valueRefs(root), i: 0 }];
      colour[root] = 1;
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        if (top.i >= top.refs.length) {
          colour[top.id] = 2;
          stack.pop();
          continue;
        }
        const next = top.refs[top.i++]!;
        if (colour[next] === 1) throw new BtfError(`loop in the type graph through type ${next}`, at(next));
        if (colour[next] === 0) {
          colour[next] = 1;
          stack.push({ id: next, refs: valueRefs(next), i: 0 });
        }
      }
    }
    // Pointer chains that never reach anything but pointers and modifiers (`PTR -> CONST -> PTR -> ...` looping).
    const state = new Uint8Array(n + 1); // 0 unknown, 1 in progress, 2 fine
    for (let root = 1; root <= n; root++) {
      if (state[root] !== 0) continue;
      const path: number[] = [];
      let cur = root;
      while (cur !== 0 && state[cur] === 0) {
        const t = this.types[cur - 1]!;
        if (t.kind !== 'PTR' && !TRANSPARENT.has(t.kind)) break;
        state[cur] = 1;
        path.push(cur);
        cur = (t as { type: number }).type;
      }
      if (cur !== 0 && state[cur] === 1) throw new BtfError(`loop of pointers and modifiers through type ${cur}`, at(cur));
      for (const p of path) state[p] = 2;
      if (state[root] === 0) state[root] = 2;
    }
  }
}
