/**
 * The datapath's flow hash in TypeScript, bit for bit: which Maglev slot a
 * packet lands in. For tests, tools (`which backend gets this client?`) and
 * to pin down the DSL datapath against the C twin. Pure.
 *
 * MurmurHash3_x86_32 with seed `config.seed` over 32-bit words, each a
 * little-endian load of packet bytes: the source address (1 word for IPv4,
 * 4 for IPv6), the first 4 bytes of the L4 header (source port then
 * destination port, as on the wire), then the protocol number; the length
 * mixed in at the end is 4 * words. The destination address is deliberately
 * not hashed, so a flow keeps its backend whichever VIP or node it reaches.
 * The slot is `1 + hash % M` of the service's inner table.
 *
 * @module
 */
import { addrBytes } from './maps.js';

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One MurmurHash3_x86_32 block. */
function block(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3_x86_32 of 32-bit `words` (little-endian loads) with `seed`, unsigned. */
export function murmur3Words(words: readonly number[], seed: number): number {
  let h = seed | 0;
  for (const w of words) h = block(h, w | 0);
  h ^= words.length * 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A flow as the datapath sees it. */
export interface Flow {
  /** Source address (IPv4 or IPv6 text). */
  src: string;
  /** Source port. */
  srcPort: number;
  /** Destination port (the service's). */
  dstPort: number;
  /** 6 (TCP) or 17 (UDP). */
  proto: number;
}

/** The datapath's hash of a flow with `seed`. */
export function flowHash(flow: Flow, seed: number): number {
  const a = addrBytes(flow.src);
  const v = new DataView(a.bytes.buffer);
  const words: number[] = [];
  for (let i = 0; i < (a.family === 4 ? 1 : 4); i++) words.push(v.getUint32(4 * i, true));
  // sport and dport in network order, loaded as one little-endian word.
  const ports = ((flow.srcPort >> 8) | ((flow.srcPort & 0xff) << 8) | ((flow.dstPort >> 8) << 16) | ((flow.dstPort & 0xff) << 24)) >>> 0;
  words.push(ports, flow.proto);
  return murmur3Words(words, seed);
}

/** The Maglev slot (0-based) a flow lands in for a table of `tableSize` slots. */
export function flowSlot(flow: Flow, seed: number, tableSize: number): number {
  return flowHash(flow, seed) % tableSize;
}
