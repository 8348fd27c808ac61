/**
 * Reverse lookups over the `as const` number tables of lib/uapi.
 *
 * @module
 */

/** A table of named constants (`{ BPF_ANY: 0, ... }`). */
export type ConstTable = Readonly<Record<string, number>>;

const reverseCache = new WeakMap<ConstTable, Map<number, string>>();

/**
 * The name for `value` in `table`, or `undefined`. When several names share a
 * number (aliases such as `BPF_PROG_RUN`), the first declared one wins.
 */
export function nameOf(table: ConstTable, value: number): string | undefined {
  let rev = reverseCache.get(table);
  if (!rev) {
    rev = new Map();
    for (const [k, v] of Object.entries(table)) if (!rev.has(v)) rev.set(v, k);
    reverseCache.set(table, rev);
  }
  return rev.get(value);
}

/**
 * Decompose a bit mask into the names of single-bit flags of `table` it
 * contains (declaration order), plus the leftover bits not named by any flag.
 * Multi-bit and zero entries of the table are ignored.
 */
export function flagNames(table: ConstTable, value: number): { names: string[]; unknown: number } {
  const names: string[] = [];
  let rest = value >>> 0;
  const seen = new Set<number>();
  for (const [k, v] of Object.entries(table)) {
    if (v <= 0 || (v & (v - 1)) !== 0 || v > 0x80000000 || seen.has(v)) continue;
    seen.add(v);
    if ((value >>> 0) & v) {
      names.push(k);
      rest &= ~v >>> 0;
    }
  }
  return { names, unknown: rest >>> 0 };
}
