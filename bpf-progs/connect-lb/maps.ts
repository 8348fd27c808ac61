/**
 * The connect-time load balancer's map layouts and specs, shared by the
 * control plane (control-plane.ts), the DSL datapath (datapath.ts), its C
 * twin (bench/twins/sock_lb.c, which declares exactly these maps) and the
 * tests. Pure: no kernel access.
 *
 * Addresses are always 16 bytes (`struct in6_addr`): an IPv4 address is
 * stored IPv4-mapped (`::ffff:a.b.c.d`). So the IPv4 hooks, and the IPv6
 * hooks of an AF_INET6 socket talking to a v4-mapped address, build the very
 * same keys, and no family field is needed (`::ffff:0:0/96` is never a
 * native IPv6 destination).
 *
 * - `lb_svc`: HASH {@link SvcKey} -> {@link SvcValue} (service id, backend
 *   count, revision);
 * - `lb_backends`: HASH {@link BackendKey} {service id, slot} ->
 *   {@link BackendValue} (address, port); slots 0 .. count - 1 are valid;
 * - `lb_rev`: LRU_HASH {@link RevKey} {socket cookie, backend address, backend
 *   port} -> {@link RevValue} {VIP, port, protocol, revision}: written by
 *   connect/sendmsg, read by recvmsg/getpeername, which rewrite only while
 *   the service `{vip, port, proto}` still exists with the same revision
 *   (otherwise the entry is stale: deleted, and the address left alone).
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TsbpfError } from '../../lib/errors.js';
import { be16, formatIpv6, ipv6, pad, parseIpv6, struct, u8, u32, u64, type Infer } from '../../lib/layout/index.js';
import { MapFlags, type MapSpec } from '../../lib/layout/map-spec.js';

/** A connect-time load balancer operation failed (bad address, full map, unknown service). */
export class ConnectLbError extends TsbpfError {}

/** IP protocol numbers of the services. */
export const Proto = { tcp: 6, udp: 17 } as const;

/** Map names (the C twin and the DSL datapath use the same). */
export const MapNames = { services: 'lb_svc', backends: 'lb_backends', rev: 'lb_rev' } as const;

/** Entries of `lb_svc`. */
export const MAX_SERVICES = 65536;
/** Entries of `lb_backends` (all services together). */
export const MAX_BACKENDS = 262144;
/** Entries of the `lb_rev` LRU map (live sockets talking to backends). */
export const MAX_REV = 131072;

/**
 * `struct svc_key { __be32 addr[4]; __be16 port; __u8 proto; __u8 pad; }`
 * (20 bytes): the VIP (IPv4 mapped), destination port, protocol 6 or 17.
 */
export const SvcKey = struct({ addr: ipv6, port: be16, proto: u8, pad: pad(1) }, { name: 'svc_key' });
/** A decoded {@link SvcKey}. */
export type SvcKeyValue = Infer<typeof SvcKey>;

/**
 * `struct svc_value { __u32 id; __u32 count; __u32 revision; }` (12 bytes):
 * the service id (the backends' key), the number of backends (0: connect and
 * sendmsg fail with EHOSTUNREACH), and the revision reverse entries must carry.
 */
export const SvcValue = struct({ id: u32, count: u32, revision: u32 }, { name: 'svc_value' });
/** A decoded {@link SvcValue}. */
export type SvcValueValue = Infer<typeof SvcValue>;

/** `struct backend_key { __u32 id; __u32 slot; }` (8 bytes). */
export const BackendKey = struct({ id: u32, slot: u32 }, { name: 'backend_key' });
/** A decoded {@link BackendKey}. */
export type BackendKeyValue = Infer<typeof BackendKey>;

/** `struct backend_value { __be32 addr[4]; __be16 port; __u16 pad; }` (20 bytes), the address IPv4-mapped for IPv4. */
export const BackendValue = struct({ addr: ipv6, port: be16, pad: pad(2) }, { name: 'backend_value' });
/** A decoded {@link BackendValue}. */
export type BackendValueValue = Infer<typeof BackendValue>;

/** `struct rev_key { __u64 cookie; __be32 addr[4]; __be16 port; __u16 pad[3]; }` (32 bytes): socket cookie and the backend it was sent to. */
export const RevKey = struct({ cookie: u64, addr: ipv6, port: be16, pad: pad(6) }, { name: 'rev_key' });
/** A decoded {@link RevKey}. */
export type RevKeyValue = Infer<typeof RevKey>;

/**
 * `struct rev_value { __be32 addr[4]; __be16 port; __u8 proto; __u8 pad; __u32 revision; }`
 * (24 bytes): the service the socket addressed (its key) and the revision it had.
 */
export const RevValue = struct({ addr: ipv6, port: be16, proto: u8, pad: pad(1), revision: u32 }, { name: 'rev_value' });
/** A decoded {@link RevValue}. */
export type RevValueValue = Infer<typeof RevValue>;

/** Sizes of the maps. */
export interface MapSizes {
  maxServices?: number;
  maxBackends?: number;
  maxRev?: number;
}

/** The spec of `lb_svc` (no preallocation: 10,000s of services cost memory only when used). */
export function servicesMapSpec(max = MAX_SERVICES): MapSpec {
  return { name: MapNames.services, type: 'hash', keySize: SvcKey.size, valueSize: SvcValue.size, maxEntries: max, flags: MapFlags.BPF_F_NO_PREALLOC, key: SvcKey, value: SvcValue };
}

/** The spec of `lb_backends`. */
export function backendsMapSpec(max = MAX_BACKENDS): MapSpec {
  return {
    name: MapNames.backends,
    type: 'hash',
    keySize: BackendKey.size,
    valueSize: BackendValue.size,
    maxEntries: max,
    flags: MapFlags.BPF_F_NO_PREALLOC,
    key: BackendKey,
    value: BackendValue,
  };
}

/** The spec of the `lb_rev` LRU map. */
export function revMapSpec(max = MAX_REV): MapSpec {
  return { name: MapNames.rev, type: 'lru_hash', keySize: RevKey.size, valueSize: RevValue.size, maxEntries: max, key: RevKey, value: RevValue };
}

/** Parses dotted-quad IPv4 text into `out[at..at+4]`; false when malformed (fast path, no regular expressions). */
function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let k = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || k > 3) return false;
      out[at + k++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return false; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return false;
    } else return false;
  }
  return k === 4;
}

/**
 * An address as the maps store it: 16 bytes, IPv4 mapped; `family` 4 for
 * IPv4 and IPv4-mapped IPv6 text. Throws `ConnectLbError` for anything else.
 */
export function addr16(text: string): { bytes: Uint8Array; family: 4 | 6 } {
  const bytes = new Uint8Array(16);
  const f = addr16Into(text, bytes, 0);
  return { bytes, family: f === 6 ? 6 : 4 };
}

/**
 * Like {@link addr16}, writing the 16 bytes at `out[off..]`; returns the
 * family, `-4` for plain IPv4 text (4, and the text is already canonical).
 */
export function addr16Into(text: string, out: Uint8Array, off: number): 4 | 6 | -4 {
  if (parseIpv4Into(text, out, off + 12)) {
    out.fill(0, off, off + 10);
    out[off + 10] = 0xff;
    out[off + 11] = 0xff;
    return -4;
  }
  const b = isIPv6(text) ? parseIpv6(text) : undefined;
  if (!b) throw new ConnectLbError(`'${text}' is not an IPv4 or IPv6 address`);
  out.set(b, off);
  return isMapped(b) ? 4 : 6;
}

/** Address text of 16 map bytes: plain IPv4 for IPv4-mapped ones. */
export function addrText(bytes: Uint8Array): string {
  return isMapped(bytes) ? `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}` : formatIpv6(bytes);
}

/** Writes a {@link SvcKey} at `buf[off..]` from 16 address bytes (no text parsing). */
export function svcKeyInto(buf: Uint8Array, off: number, addr: Uint8Array, port: number, proto: number): void {
  buf.set(addr, off);
  buf[off + 16] = port >> 8;
  buf[off + 17] = port & 0xff;
  buf[off + 18] = proto;
  buf[off + 19] = 0;
}

/** Writes a {@link BackendValue} at `buf[off..]` from 16 address bytes. */
export function backendValueInto(buf: Uint8Array, off: number, addr: Uint8Array, port: number): void {
  buf.set(addr, off);
  buf[off + 16] = port >> 8;
  buf[off + 17] = port & 0xff;
  buf[off + 18] = 0;
  buf[off + 19] = 0;
}

/** The IPv4-mapped form of IPv4 text (`::ffff:a.b.c.d`), IPv6 text canonicalised; throws `ConnectLbError` otherwise. */
export function mappedAddress(text: string): string {
  if (isIPv4(text)) return `::ffff:${text}`;
  if (isIPv6(text)) {
    const b = parseIpv6(text);
    if (b) return formatIpv6(b);
  }
  throw new ConnectLbError(`'${text}' is not an IPv4 or IPv6 address`);
}

/** Whether 16 address bytes are IPv4-mapped. */
export function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The family of address text: 4 for IPv4 and IPv4-mapped IPv6, 6 otherwise. */
export function addressFamily(text: string): 4 | 6 {
  return addr16(text).family;
}

/** Address text as users write it: IPv4-mapped addresses as plain IPv4. */
export function plainAddress(text: string): string {
  return addrText(addr16(text).bytes);
}

/** Protocol name or number to number (6 or 17); throws `ConnectLbError` otherwise. */
export function protoNumber(p: 'tcp' | 'udp' | number): number {
  if (p === 'tcp' || p === Proto.tcp) return Proto.tcp;
  if (p === 'udp' || p === Proto.udp) return Proto.udp;
  throw new ConnectLbError(`protocol must be 'tcp', 'udp', 6 or 17, got ${String(p)}`);
}

/** Checks a port number (0..65535). */
export function checkPort(port: number, what = 'port'): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new ConnectLbError(`${what} must be 0..65535, got ${port}`);
  return port;
}

/** The `lb_svc` key bytes of a service. */
export function svcKeyBytes(vip: string, port: number, proto: 'tcp' | 'udp' | number): Uint8Array {
  const k = new Uint8Array(SvcKey.size);
  svcKeyInto(k, 0, addr16(vip).bytes, checkPort(port), protoNumber(proto));
  return k;
}

/** The `lb_rev` key bytes of socket `cookie` sending to `addr`:`port`. */
export function revKeyBytes(cookie: bigint, addr: string, port: number): Uint8Array {
  return RevKey.encode({ cookie, addr: mappedAddress(addr), port: checkPort(port) });
}

/**
 * The backend slot a UDP socket with `cookie` uses among `count` backends:
 * `(lo32(cookie) ^ hi32(cookie)) * 0x9e3779b1` (32-bit), times `count`,
 * upper 32 bits (a multiply-shift range reduction, no division). The same
 * formula as the datapath.
 */
export function cookieSlot(cookie: bigint, count: number): number {
  const folded = Number((cookie & 0xffffffffn) ^ (cookie >> 32n)) >>> 0;
  const h = Math.imul(folded, 0x9e3779b1) >>> 0;
  return Number((BigInt(h) * BigInt(count)) >> 32n);
}
