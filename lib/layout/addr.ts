/**
 * Address fields with printable values: `ipv4` (`'10.0.0.1'`, laid out like
 * a `__be32`), `ipv6` (`'2001:db8::1'`, like `struct in6_addr`) and `mac`
 * (`'02:00:00:00:00:01'`, `__u8[6]`). Reads produce canonical text (IPv6 in
 * RFC 5952 form, MAC in lower case).
 *
 * @module
 */
import { BaseLayout } from './layout.js';
import { LayoutError, show } from './errors.js';

/** Which address an `AddrLayout` holds. */
export type AddrFormat = 'ipv4' | 'ipv6' | 'mac';

const ipv4Re = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text into 4 bytes at `out[at..]`; false when malformed. */
function parseIpv4(text: string, out: Uint8Array, at: number): boolean {
  const m = ipv4Re.exec(text);
  if (!m) return false;
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    const n = Number(part);
    if (n > 255 || (part.length > 1 && part[0] === '0')) return false;
    out[at + i] = n;
  }
  return true;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string, allowV4: boolean): number[] | undefined => {
    if (s === '') return [];
    const parts = s.split(':');
    const bytes: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4 && i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(p, v4, 0)) return undefined;
        bytes.push(...v4);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        const n = parseInt(p, 16);
        bytes.push(n >> 8, n & 0xff);
      }
    }
    return bytes;
  };
  if (halves.length === 1) {
    const all = parseGroups(halves[0]!, true);
    if (!all || all.length !== 16) return undefined;
    out.set(all);
    return out;
  }
  const head = parseGroups(halves[0]!, false);
  const tail = parseGroups(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 14) return undefined;
  out.set(head, 0);
  out.set(tail, 16 - tail.length);
  return out;
}

/**
 * Formats 16 bytes as RFC 5952 IPv6 text (longest zero run of 2+ groups as `::`);
 * IPv4-mapped addresses end in a dotted quad (`::ffff:10.0.0.1`), as RFC 5952 section 5 recommends.
 */
export function formatIpv6(b: Uint8Array, at = 0): string {
  let mapped = b[at + 10] === 0xff && b[at + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = b[at + i] === 0;
  if (mapped) return `::ffff:${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** An address field (`ipv4`, `ipv6`, `mac`) whose value is its text form. */
export class AddrLayout extends BaseLayout<string> {
  readonly kind = 'addr' as const;
  readonly size: number;
  readonly align: number;
  readonly typeName: string;
  /** Which address this is. */
  readonly format: AddrFormat;

  /** @internal use the exported `ipv4`, `ipv6`, `mac`. */
  constructor(format: AddrFormat) {
    super();
    this.format = format;
    this.size = format === 'ipv4' ? 4 : format === 'ipv6' ? 16 : 6;
    this.align = format === 'mac' ? 1 : 4;
    this.typeName = format;
  }

  read(view: DataView, offset: number): string {
    const b = new Uint8Array(view.buffer, view.byteOffset + offset, this.size);
    switch (this.format) {
      case 'ipv4':
        return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
      case 'ipv6':
        return formatIpv6(b);
      case 'mac':
        return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
    }
  }

  write(view: DataView, offset: number, value: string): void {
    const target = new Uint8Array(view.buffer, view.byteOffset + offset, this.size);
    if (typeof value === 'string') {
      switch (this.format) {
        case 'ipv4':
          if (parseIpv4(value, target, 0)) return;
          break;
        case 'ipv6': {
          const b = parseIpv6(value);
          if (b) {
            target.set(b);
            return;
          }
          break;
        }
        case 'mac': {
          const parts = value.split(/[:-]/);
          if (parts.length === 6 && parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) {
            for (let i = 0; i < 6; i++) target[i] = parseInt(parts[i]!, 16);
            return;
          }
          break;
        }
      }
    }
    throw new LayoutError(`${show(value)} is not a valid ${this.format} address`);
  }
}

/** An IPv4 address as `'a.b.c.d'`, stored in network order like a `__be32` (4 bytes, align 4). */
export const ipv4: AddrLayout = new AddrLayout('ipv4');
/** An IPv6 address as text, stored like `struct in6_addr` (16 bytes, align 4). */
export const ipv6: AddrLayout = new AddrLayout('ipv6');
/** A MAC address as `'aa:bb:cc:dd:ee:ff'` (6 bytes, align 1). */
export const mac: AddrLayout = new AddrLayout('mac');
