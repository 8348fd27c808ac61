/**
 * Typed program contexts: `xdp_md`, `__sk_buff` (tc) and `bpf_sock_addr`.
 * The TypeScript interfaces list what each program (and attach type) may
 * read, with writable fields carrying `set()`; at build time every access is
 * also checked against the kernel's rules (lib/verifier/context-access.ts),
 * so a field that does not exist for the attach type is a `DslError` naming
 * it even from plain JavaScript.
 */
import { BpfSockAddr, SkBuff, XdpMd } from '../uapi/context.js';
import type { StructLayout as UapiStruct } from '../uapi/layout.js';
import { ctxFields } from '../verifier/context-access.js';
import type { ArrayOf, FieldOf } from './refs.js';
import type { ScalarName } from './types.js';
import type { Val } from './value.js';

/** A read-only context field. */
export type CtxRead<N extends ScalarName> = Val<N>;
/** A writable context field. */
export type CtxWrite<N extends ScalarName> = FieldOf<N, 'rw'>;

/** `struct xdp_md` as an XDP program sees it (`data`/`data_end` are used through `b.header()`). */
export interface XdpCtx {
  readonly ingress_ifindex: CtxRead<'u32'>;
  readonly rx_queue_index: CtxRead<'u32'>;
}

/** `struct xdp_md` of a devmap program (`xdp/devmap`, kernel 5.8): also the egress device. */
export interface XdpDevmapCtx extends XdpCtx {
  readonly egress_ifindex: CtxRead<'u32'>;
}

/** `struct __sk_buff` as a tc (sched_cls/tcx) program sees it. */
export interface TcCtx {
  readonly len: CtxRead<'u32'>;
  readonly pkt_type: CtxRead<'u32'>;
  readonly mark: CtxWrite<'u32'>;
  readonly queue_mapping: CtxWrite<'u32'>;
  /** `skb->protocol` (a `__be16` in a 32-bit field). */
  readonly protocol: CtxRead<'be16'>;
  readonly vlan_present: CtxRead<'u32'>;
  readonly vlan_tci: CtxRead<'u32'>;
  readonly vlan_proto: CtxRead<'be16'>;
  readonly priority: CtxWrite<'u32'>;
  readonly ingress_ifindex: CtxRead<'u32'>;
  readonly ifindex: CtxRead<'u32'>;
  readonly tc_index: CtxWrite<'u32'>;
  readonly cb: ArrayOf<'u32', 'rw'>;
  readonly hash: CtxRead<'u32'>;
  readonly tc_classid: CtxWrite<'u32'>;
  readonly napi_id: CtxRead<'u32'>;
  /** `skb->tstamp`: the departure time for EDT (writable). */
  readonly tstamp: CtxWrite<'u64'>;
  readonly wire_len: CtxRead<'u32'>;
  readonly gso_segs: CtxRead<'u32'>;
  readonly gso_size: CtxRead<'u32'>;
  /** Linux 5.18. */
  readonly tstamp_type: CtxRead<'u8'>;
  /** Linux 5.16. */
  readonly hwtstamp: CtxRead<'u64'>;
}

/** Fields of `struct bpf_sock_addr` every sock_addr attach type has. */
export interface SockAddrCommon {
  readonly user_family: CtxRead<'u32'>;
  /** The destination port (network order in the low 16 bits); writable. */
  readonly user_port: CtxWrite<'be16'>;
  readonly family: CtxRead<'u32'>;
  readonly type: CtxRead<'u32'>;
  readonly protocol: CtxRead<'u32'>;
}
/** IPv4 sock_addr programs (`connect4`, `recvmsg4`, `getpeername4`, ...). */
export interface SockAddr4Ctx extends SockAddrCommon {
  readonly user_ip4: CtxWrite<'be32'>;
}
/** IPv6 sock_addr programs. */
export interface SockAddr6Ctx extends SockAddrCommon {
  readonly user_ip6: ArrayOf<'be32', 'rw'>;
}
/** `sendmsg4`: also the source address. */
export interface SendMsg4Ctx extends SockAddr4Ctx {
  readonly msg_src_ip4: CtxWrite<'be32'>;
}
/** `sendmsg6`: also the source address. */
export interface SendMsg6Ctx extends SockAddr6Ctx {
  readonly msg_src_ip6: ArrayOf<'be32', 'rw'>;
}

/** The sock_addr attach points the DSL builds for, by libbpf section suffix. */
export type SockAddrHook =
  | 'connect4'
  | 'connect6'
  | 'sendmsg4'
  | 'sendmsg6'
  | 'recvmsg4'
  | 'recvmsg6'
  | 'getpeername4'
  | 'getpeername6'
  | 'getsockname4'
  | 'getsockname6'
  | 'bind4'
  | 'bind6';

/** The context type of a sock_addr hook. */
export type SockAddrCtxOf<H extends SockAddrHook> = H extends 'sendmsg4' ? SendMsg4Ctx : H extends 'sendmsg6' ? SendMsg6Ctx : H extends `${string}4` ? SockAddr4Ctx : SockAddr6Ctx;

/** How one context field is accessed. */
export interface CtxFieldDesc {
  name: string;
  /** Byte offset of the (first) element. */
  off: number;
  /** Access size in bytes. */
  size: number;
  /** The DSL type of a loaded element. */
  type: ScalarName;
  /** Element count for arrays. */
  count?: number;
  /** Allowed load/store sizes per element name (from the kernel's rules). */
  read: boolean;
  write: boolean;
}

const TYPES: Record<string, Record<string, ScalarName>> = {
  xdp_md: {},
  __sk_buff: { protocol: 'be16', vlan_proto: 'be16', tstamp: 'u64', hwtstamp: 'u64', tstamp_type: 'u8' },
  bpf_sock_addr: { user_ip4: 'be32', user_ip6: 'be32', user_port: 'be16', msg_src_ip4: 'be32', msg_src_ip6: 'be32' },
};

const HIDDEN = new Set(['data', 'data_end', 'data_meta', 'flow_keys', 'sk']);

/**
 * The context fields a program type and attach type may use, keyed by name
 * (arrays by their base name), derived from the kernel's access rules.
 */
export function contextTable(progType: number, attachType?: number): { struct: string; fields: Map<string, CtxFieldDesc>; all: Set<string> } {
  const layouts: UapiStruct[] = [XdpMd, SkBuff, BpfSockAddr];
  const access = ctxFields(progType, attachType);
  const byName = new Map(access.map((a) => [a.name, a]));
  const struct = progType === 6 ? XdpMd : progType === 18 ? BpfSockAddr : SkBuff;
  void layouts;
  const out = new Map<string, CtxFieldDesc>();
  const all = new Set<string>();
  for (const f of struct.fields) {
    all.add(f.name);
    if (HIDDEN.has(f.name)) continue;
    const count = 'count' in f && typeof f.count === 'number' ? f.count : 1;
    const first = byName.get(count > 1 ? `${f.name}[0]` : f.name);
    if (!first) continue;
    const size = f.size;
    const type = TYPES[struct.name]?.[f.name] ?? (size === 8 ? 'u64' : size === 1 ? 'u8' : 'u32');
    out.set(f.name, {
      name: f.name,
      off: f.offset,
      size,
      type,
      ...(count > 1 ? { count } : {}),
      read: first.read.includes(size),
      write: first.write.includes(size),
    });
  }
  return { struct: struct.name, fields: out, all };
}
