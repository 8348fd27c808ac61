/** Crafted packets for DSL kernel tests. */

/** Internet checksum of `b` (16-bit one's complement). */
export function csum(b: Uint8Array, seed = 0): number {
  let s = seed;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export interface PacketOptions {
  proto?: number;
  src?: [number, number, number, number];
  dst?: [number, number, number, number];
  sport?: number;
  dport?: number;
  ethType?: number;
  payload?: number;
  ipOptions?: number;
  ttl?: number;
}

/** An Ethernet + IPv4 + UDP/TCP packet with valid checksums. */
export function ipv4Packet(o: PacketOptions = {}): Uint8Array {
  const proto = o.proto ?? 17;
  const l4len = proto === 6 ? 20 : 8;
  const ihl = 5 + (o.ipOptions ?? 0);
  const payload = o.payload ?? 16;
  const total = 14 + ihl * 4 + l4len + payload;
  const p = new Uint8Array(total);
  const v = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2], 0);
  p.set([2, 0, 0, 0, 0, 1], 6);
  v.setUint16(12, o.ethType ?? 0x0800);
  const ip = 14;
  p[ip] = 0x40 | ihl;
  v.setUint16(ip + 2, total - 14);
  p[ip + 8] = o.ttl ?? 64;
  p[ip + 9] = proto;
  p.set(o.src ?? [10, 0, 0, 1], ip + 12);
  p.set(o.dst ?? [10, 0, 0, 2], ip + 16);
  for (let k = 0; k < (o.ipOptions ?? 0) * 4; k++) p[ip + 20 + k] = 1; // NOP options
  v.setUint16(ip + 10, csum(p.subarray(ip, ip + ihl * 4)));
  const l4 = ip + ihl * 4;
  v.setUint16(l4, o.sport ?? 1234);
  v.setUint16(l4 + 2, o.dport ?? 53);
  if (proto === 17) v.setUint16(l4 + 4, l4len + payload);
  else p[l4 + 12] = 5 << 4;
  for (let k = 0; k < payload; k++) p[l4 + l4len + k] = k & 0xff;
  // L4 checksum with pseudo header
  const pseudo = new Uint8Array(12 + l4len + payload);
  pseudo.set(p.subarray(ip + 12, ip + 20), 0);
  pseudo[9] = proto;
  new DataView(pseudo.buffer).setUint16(10, l4len + payload);
  pseudo.set(p.subarray(l4), 12);
  v.setUint16(l4 + (proto === 6 ? 16 : 6), csum(pseudo));
  return p;
}

/** Checks the IPv4 header checksum of a packet. */
export function ipv4ChecksumOk(p: Uint8Array): boolean {
  const ihl = p[14]! & 0xf;
  return csum(p.subarray(14, 14 + ihl * 4)) === 0;
}

/** Checks the UDP/TCP checksum (with the pseudo header). */
export function l4ChecksumOk(p: Uint8Array): boolean {
  const ihl = p[14]! & 0xf;
  const proto = p[23]!;
  const l4 = 14 + ihl * 4;
  const len = p.length - l4;
  const pseudo = new Uint8Array(12 + len);
  pseudo.set(p.subarray(26, 34), 0);
  pseudo[9] = proto;
  new DataView(pseudo.buffer).setUint16(10, len);
  pseudo.set(p.subarray(l4), 12);
  return csum(pseudo) === 0;
}
