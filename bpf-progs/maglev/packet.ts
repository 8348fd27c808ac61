/**
 * Crafted Ethernet + IPv4/IPv6 + TCP/UDP packets for the Maglev tests,
 * benchmark and example: what a client sends to a VIP. Pure.
 *
 * @module
 */
import { addrBytes } from './maps.js';
import { MaglevError } from './table.js';

/** A TCP or UDP packet to craft. */
export interface PacketSpec {
  /** Source address (IPv4 or IPv6 text; both addresses of one family). */
  src: string;
  /** Destination address. */
  dst: string;
  srcPort: number;
  dstPort: number;
  /** 6 or 17. */
  proto: number;
  payload?: Uint8Array;
  /** IPv4 TOS / IPv6 traffic class. */
  tos?: number;
  /** TCP flags byte (default 0x02, SYN). */
  tcpFlags?: number;
}

/** Source MAC of crafted packets. */
export const MAC_A = [0x02, 0, 0, 0, 0, 0xa];
/** Destination MAC of crafted packets. */
export const MAC_B = [0x02, 0, 0, 0, 0, 0xb];

/** Ones' complement sum of 16-bit big-endian words (folded, not inverted). */
export function onesSum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Ethernet (dst MAC_B, src MAC_A) + IPv4 or IPv6 + TCP/UDP header + payload. */
export function packet(p: PacketSpec): Uint8Array {
  const s = addrBytes(p.src);
  const d = addrBytes(p.dst);
  if (s.family !== d.family) throw new MaglevError(`${p.src} and ${p.dst} are of different families`);
  const payload = p.payload ?? new Uint8Array(Array.from({ length: 32 }, (_, i) => i));
  const l4len = (p.proto === 6 ? 20 : 8) + payload.length;
  const l3 = s.family === 4 ? 20 : 40;
  const out = new Uint8Array(14 + l3 + l4len);
  const v = new DataView(out.buffer);
  out.set(MAC_B, 0);
  out.set(MAC_A, 6);
  v.setUint16(12, s.family === 4 ? 0x0800 : 0x86dd);
  if (s.family === 4) {
    out[14] = 0x45;
    out[15] = p.tos ?? 0;
    v.setUint16(16, 20 + l4len);
    v.setUint16(18, 0x1234);
    out[22] = 64;
    out[23] = p.proto;
    out.set(s.bytes.subarray(0, 4), 26);
    out.set(d.bytes.subarray(0, 4), 30);
    v.setUint16(24, ~onesSum(out.subarray(14, 34)) & 0xffff);
  } else {
    const tc = p.tos ?? 0;
    v.setUint32(14, (6 << 28) | (tc << 20) | 0x12345);
    v.setUint16(18, l4len);
    out[20] = p.proto;
    out[21] = 64;
    out.set(s.bytes, 22);
    out.set(d.bytes, 38);
  }
  const l4 = 14 + l3;
  v.setUint16(l4, p.srcPort);
  v.setUint16(l4 + 2, p.dstPort);
  if (p.proto === 6) {
    v.setUint32(l4 + 4, 1000);
    out[l4 + 12] = 5 << 4;
    out[l4 + 13] = p.tcpFlags ?? 0x02; // SYN by default
    v.setUint16(l4 + 14, 65535);
  } else {
    v.setUint16(l4 + 4, l4len);
  }
  out.set(payload, l4 + (p.proto === 6 ? 20 : 8));
  return out;
}
