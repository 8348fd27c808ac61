/**
 * The Maglev load balancer's map layouts and specs, shared by the control
 * plane (control-plane.ts), the DSL datapath and the tests. They describe
 * exactly what the C twin (bench/twins/maglev_xdp.c) declares:
 *
 * - `services`: HASH_OF_MAPS keyed by {@link SvcKey}; each value is the
 *   service's inner Maglev table, an ARRAY of u32 with BPF_F_INNER_MAP (so
 *   every service has its own size) and M + 1 entries: `[0]` = M (0: empty
 *   table, the datapath drops), `[1 + i]` = backend id of slot i (0: drop);
 * - `backends`: ARRAY of {@link Backend} by backend id (id 0 is never used;
 *   family 0 marks an unused slot);
 * - `config`: ARRAY of one {@link LbConfig} (flow hash seed, outer source
 *   addresses);
 * - optional `conns`: LRU_HASH of {@link ConnKey} -> u32 backend id, the
 *   connection table that keeps established flows on their backend across
 *   table changes (a TCP SYN re-hashes), as Katran does.
 *
 * Pure: no kernel access.
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { bytes, ipv4, ipv6, pad, parseIpv6, struct, u8, u32, be16, type Infer } from '../../lib/layout/index.js';
import { MapFlags, type MapSpec } from '../../lib/layout/map-spec.js';
import { DEFAULT_TABLE_SIZE, MaglevError } from './table.js';

/** Largest number of services (entries of the outer map). */
export const MAX_SERVICES = 1024;

/** Entries of the backend array (ids 1 .. MAX_BACKENDS - 1 are usable). */
export const MAX_BACKENDS = 65536;

/**
 * `struct svc_key { __be32 vip[4]; __be16 port; __u8 proto; __u8 family; }`
 * (20 bytes): `vip` holds an IPv6 address, or an IPv4 address in its first 4
 * bytes and zeros after; `port` the destination port; `proto` 6 (TCP) or 17
 * (UDP); `family` the IP version, 4 or 6.
 */
export const SvcKey = struct({ vip: bytes(16), port: be16, proto: u8, family: u8 }, { name: 'svc_key', align: 4 });
/** A decoded {@link SvcKey}. */
export type SvcKeyValue = Infer<typeof SvcKey>;

/**
 * `struct backend { __be32 addr[4]; __u8 family; __u8 pad[3]; }` (20 bytes):
 * the backend address as in {@link SvcKey}, family 4 or 6 (0: unused).
 */
export const Backend = struct({ addr: bytes(16), family: u8, pad: pad(3) }, { name: 'backend', align: 4 });
/** A decoded {@link Backend}. */
export type BackendValue = Infer<typeof Backend>;

/**
 * `struct lb_config { __u32 seed; __be32 src4; __be32 src6[4]; }` (24 bytes):
 * the flow hash seed and the outer source addresses of the encapsulation.
 */
export const LbConfig = struct({ seed: u32, src4: ipv4, src6: ipv6 }, { name: 'lb_config' });
/** A decoded {@link LbConfig}. */
export type LbConfigValue = Infer<typeof LbConfig>;

/**
 * `struct conn_key { __be32 src[4]; __be32 vip[4]; __u32 ports; __u8 proto; __u8 family; __u16 pad; }`
 * (40 bytes): client address and VIP as in {@link SvcKey}; `ports` the first
 * 4 bytes of the L4 header loaded little-endian (source port in the low half,
 * both in network byte order).
 */
export const ConnKey = struct({ src: bytes(16), vip: bytes(16), ports: u32, proto: u8, family: u8, pad: pad(2) }, { name: 'conn_key', align: 4 });
/** A decoded {@link ConnKey}. */
export type ConnKeyValue = Infer<typeof ConnKey>;

/** Entries of the connection table. */
export const MAX_CONNS = 65536;

/** IP protocol numbers of the services. */
export const Proto = { tcp: 6, udp: 17 } as const;

/** The spec of one inner Maglev table of `tableSize` slots (M + 1 entries; `tableSize` 0 is the empty table). */
export function tableMapSpec(tableSize: number = DEFAULT_TABLE_SIZE): MapSpec {
  return {
    name: 'maglev_table',
    type: 'array',
    keySize: 4,
    valueSize: 4,
    maxEntries: tableSize + 1,
    flags: MapFlags.BPF_F_INNER_MAP,
  };
}

/** The spec of the outer `services` map (template inner table: 16381 slots; BPF_F_INNER_MAP admits any size). */
export function servicesMapSpec(maxServices = MAX_SERVICES): MapSpec {
  return {
    name: 'services',
    type: 'hash_of_maps',
    keySize: SvcKey.size,
    valueSize: 4,
    maxEntries: maxServices,
    key: SvcKey,
    innerMap: tableMapSpec(DEFAULT_TABLE_SIZE),
  };
}

/** The spec of the `backends` array. */
export function backendsMapSpec(maxBackends = MAX_BACKENDS): MapSpec {
  return { name: 'backends', type: 'array', keySize: 4, valueSize: Backend.size, maxEntries: maxBackends, value: Backend };
}

/** The spec of the one-entry `config` array. */
export function configMapSpec(): MapSpec {
  return { name: 'config', type: 'array', keySize: 4, valueSize: LbConfig.size, maxEntries: 1, value: LbConfig };
}

/** The spec of the optional `conns` LRU connection table. */
export function connsMapSpec(maxConns = MAX_CONNS): MapSpec {
  return { name: 'conns', type: 'lru_hash', keySize: ConnKey.size, valueSize: 4, maxEntries: maxConns, key: ConnKey };
}

/** The connection-table key of a flow (client `src`:`srcPort` to `vip`:`dstPort`). */
export function connKeyBytes(src: string, vip: string, srcPort: number, dstPort: number, proto: number): Uint8Array {
  const s = addrBytes(src);
  const v = addrBytes(vip);
  if (s.family !== v.family) throw new MaglevError(`${src} and ${vip} are of different families`);
  const ports = ((srcPort >> 8) | ((srcPort & 0xff) << 8) | ((dstPort >> 8) << 16) | ((dstPort & 0xff) << 24)) >>> 0;
  return ConnKey.encode({ src: s.bytes, vip: v.bytes, ports, proto, family: s.family });
}

/** An IP address as the datapath stores it: 16 bytes (IPv4 in the first 4) and the family. */
export interface AddrBytes {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** Parses IPv4 or IPv6 text into {@link AddrBytes}; throws `MaglevError` when it is neither. */
export function addrBytes(text: string): AddrBytes {
  const out = new Uint8Array(16);
  if (isIPv4(text)) {
    text.split('.').forEach((p, i) => (out[i] = Number(p)));
    return { family: 4, bytes: out };
  }
  if (isIPv6(text)) {
    const b = parseIpv6(text);
    if (b) return { family: 6, bytes: b };
  }
  throw new MaglevError(`'${text}' is not an IPv4 or IPv6 address`);
}

/** The service key bytes for `vip`, `port` and protocol. */
export function svcKeyBytes(vip: string, port: number, proto: number): Uint8Array {
  const a = addrBytes(vip);
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new MaglevError(`port must be 0..65535, got ${port}`);
  if (proto !== Proto.tcp && proto !== Proto.udp) throw new MaglevError(`protocol must be 6 (TCP) or 17 (UDP), got ${proto}`);
  return SvcKey.encode({ vip: a.bytes, port, proto, family: a.family });
}

/** The backend entry bytes for an address. */
export function backendBytes(addr: string): Uint8Array {
  const a = addrBytes(addr);
  return Backend.encode({ addr: a.bytes, family: a.family });
}
