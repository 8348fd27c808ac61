/**
 * A BTF string table under construction: deduplicated, NUL-terminated strings,
 * offset 0 being the empty string.
 */
const encoder = new TextEncoder();

/** Builds a BTF string section; `add` returns each string's offset. */
export class BtfStringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private readonly offsets = new Map<string, number>([['', 0]]);
  private length = 1;

  /** The offset of `s`, adding it if new. */
  add(s: string): number {
    const known = this.offsets.get(s);
    if (known !== undefined) return known;
    const b = encoder.encode(s);
    const off = this.length;
    this.parts.push(b, new Uint8Array(1));
    this.length += b.length + 1;
    this.offsets.set(s, off);
    return off;
  }

  /** The offset of `s` if already added. */
  get(s: string): number | undefined {
    return this.offsets.get(s);
  }

  /** Size of the table in bytes. */
  get size(): number {
    return this.length;
  }

  /** The table's bytes. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}
