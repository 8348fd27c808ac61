/**
 * Context access rules: which bytes of a program's context (`R1` at entry)
 * may be loaded or stored, with which access sizes, per program type and
 * expected attach type, and what a load yields (a packet pointer, a socket).
 *
 * Mirrors the `is_valid_access` callbacks of the kernel's `bpf_verifier_ops`
 * in net/core/filter.c (Linux 6.18): `xdp_is_valid_access`,
 * `tc_cls_act_is_valid_access` and `bpf_skb_is_valid_access`,
 * `sk_filter_is_valid_access`, `cg_skb_is_valid_access`,
 * `sock_addr_is_valid_access`, with `bpf_ctx_narrow_access_ok` and
 * `bpf_ctx_wide_access_ok` from include/linux/filter.h. The kernel's
 * `check_ctx_access` (kernel/bpf/verifier.c) rejects everything else with
 * `invalid bpf_context access off=%d size=%d`. These rules were checked
 * against Linux 6.18 by loading one-instruction programs for every offset,
 * size and direction (test/verifier/context-access.test.ts).
 *
 * @module
 */
import { ProgType, AttachType } from '../uapi/prog-types.js';
import { XdpMd, SkBuff, BpfSockAddr } from '../uapi/context.js';
import type { StructLayout } from '../uapi/layout.js';

/** What a successful context load produces (default: a scalar). */
export type CtxLoadType = 'scalar' | 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock' | 'sock_common_or_null';

/** The outcome of one context access check. */
export interface CtxAccessResult {
  ok: boolean;
  /** The register type of the loaded value (reads only). */
  loadType?: CtxLoadType;
}

/** One access to check. */
export interface CtxAccess {
  off: number;
  /** 1, 2, 4 or 8 bytes. */
  size: number;
  write: boolean;
  /** A sign-extending load (BPF_MEMSX, ISA v4). */
  signExtend?: boolean;
}

/** The context rules of one program type (and attach type). */
export interface CtxRules {
  /** The C struct name (`xdp_md`, `__sk_buff`, `bpf_sock_addr`). */
  struct: string;
  /** The uapi layout of the struct. */
  layout: StructLayout;
  /** Checks one access. */
  check(access: CtxAccess): CtxAccessResult;
}

const NO: CtxAccessResult = { ok: false };
const SCALAR: CtxAccessResult = { ok: true, loadType: 'scalar' };

/** `bpf_ctx_narrow_access_ok`: a power-of-two size no wider than the field (the offset is aligned by the caller). */
function narrowOk(size: number, sizeDefault: number): boolean {
  return size <= sizeDefault && (size & (size - 1)) === 0;
}

/** `bpf_ctx_wide_access_ok`: an aligned 8-byte access inside an array field. */
function wideOk(off: number, size: number, start: number, end: number): boolean {
  return size === 8 && off >= start && off + 8 <= end && off % 8 === 0;
}

const sk = (name: string): number => {
  const f = SkBuff.fields.find((x) => x.name === name);
  if (!f) throw new Error(`no __sk_buff field ${name}`);
  return f.offset;
};
const SKB = {
  len: sk('len'), mark: sk('mark'), queue_mapping: sk('queue_mapping'), priority: sk('priority'),
  tc_index: sk('tc_index'), cb: sk('cb'), cbEnd: sk('cb') + 20, tc_classid: sk('tc_classid'), data: sk('data'),
  data_end: sk('data_end'), family: sk('family'), local_port: sk('local_port'), data_meta: sk('data_meta'),
  flow_keys: sk('flow_keys'), tstamp: sk('tstamp'), wire_len: sk('wire_len'), sk: sk('sk'),
  tstamp_type: sk('tstamp_type'), hwtstamp: sk('hwtstamp'), napi_id: sk('napi_id'),
};
const inRange = (off: number, start: number, size: number): boolean => off >= start && off < start + size;

/** `bpf_skb_is_valid_access`: the rules shared by every `__sk_buff` program. */
function skbCommon(a: CtxAccess): CtxAccessResult {
  const { off, size, write } = a;
  if (off < 0 || off >= SkBuff.size) return NO;
  if (off % size !== 0) return NO;
  if (inRange(off, SKB.cb, 20)) {
    if (off + size > SKB.cbEnd) return NO;
    return SCALAR;
  }
  if (inRange(off, SKB.data, 4) || inRange(off, SKB.data_meta, 4) || inRange(off, SKB.data_end, 4)) {
    if (a.signExtend || size !== 4) return NO;
    return SCALAR; // the caller sets the pointer type
  }
  if (inRange(off, SKB.flow_keys, 8)) return NO;
  if (inRange(off, SKB.tstamp, 8)) return size === 8 ? SCALAR : NO;
  if (off === SKB.sk) {
    if (write || size !== 8) return NO;
    return { ok: true, loadType: 'sock_common_or_null' };
  }
  if (inRange(off, SKB.sk, 8)) return NO;
  if (off === SKB.tstamp_type) return NO;
  if (off > SKB.tstamp_type && off < SKB.hwtstamp) return NO; // padding
  if (inRange(off, SKB.hwtstamp, 8)) return !write && size === 8 ? SCALAR : NO;
  if (write) return size === 4 ? SCALAR : NO;
  return narrowOk(size, 4) ? SCALAR : NO;
}

function pktType(off: number): CtxLoadType | undefined {
  if (off === SKB.data) return 'pkt';
  if (off === SKB.data_end) return 'pkt_end';
  if (off === SKB.data_meta) return 'pkt_meta';
  return undefined;
}

/** `tc_cls_act_is_valid_access` (sched_cls, sched_act: tc and tcx). */
function tcCheck(a: CtxAccess): CtxAccessResult {
  const { off, size, write } = a;
  if (write) {
    const ok =
      inRange(off, SKB.mark, 4) || inRange(off, SKB.tc_index, 4) || inRange(off, SKB.priority, 4) ||
      inRange(off, SKB.tc_classid, 4) || inRange(off, SKB.cb, 20) || inRange(off, SKB.tstamp, 8) ||
      inRange(off, SKB.queue_mapping, 4);
    if (!ok) return NO;
  }
  if (off >= SKB.family && off < SKB.local_port + 4) return NO;
  if (off === SKB.tstamp_type) return size === 1 ? SCALAR : NO;
  const r = skbCommon(a);
  if (!r.ok) return r;
  const t = pktType(off);
  return t ? { ok: true, loadType: t } : r;
}

/** `sk_filter_is_valid_access` (socket filters). */
function socketFilterCheck(a: CtxAccess): CtxAccessResult {
  const { off, write } = a;
  if (
    inRange(off, SKB.tc_classid, 4) || inRange(off, SKB.data, 4) || inRange(off, SKB.data_meta, 4) ||
    inRange(off, SKB.data_end, 4) || (off >= SKB.family && off < SKB.local_port + 4) ||
    inRange(off, SKB.tstamp, 8) || inRange(off, SKB.wire_len, 4) || inRange(off, SKB.hwtstamp, 8)
  ) {
    return NO;
  }
  if (write && !inRange(off, SKB.cb, 20)) return NO;
  return skbCommon(a);
}

const XDP_EGRESS = XdpMd.fields.find((f) => f.name === 'egress_ifindex')!.offset;

/** `xdp_is_valid_access`: 4-byte loads only; `egress_ifindex` only for devmap programs. */
function xdpCheck(a: CtxAccess, attach: number | undefined): CtxAccessResult {
  const { off, size, write } = a;
  if (attach !== AttachType.BPF_XDP_DEVMAP && off === XDP_EGRESS) return NO;
  if (write) return NO;
  if ((off === 0 || off === 4 || off === 8) && a.signExtend) return NO;
  if (off < 0 || off >= XdpMd.size || off % size !== 0 || size !== 4) return NO;
  if (off === 0) return { ok: true, loadType: 'pkt' };
  if (off === 4) return { ok: true, loadType: 'pkt_end' };
  if (off === 8) return { ok: true, loadType: 'pkt_meta' };
  return SCALAR;
}

const sa = (name: string): number => BpfSockAddr.fields.find((f) => f.name === name)!.offset;
const SA = {
  user_family: sa('user_family'), user_ip4: sa('user_ip4'), user_ip6: sa('user_ip6'), user_port: sa('user_port'),
  family: sa('family'), type: sa('type'), protocol: sa('protocol'), msg_src_ip4: sa('msg_src_ip4'),
  msg_src_ip6: sa('msg_src_ip6'), sk: sa('sk'),
};

const INET4_ATTACH = new Set<number>([
  AttachType.BPF_CGROUP_INET4_BIND, AttachType.BPF_CGROUP_INET4_CONNECT, AttachType.BPF_CGROUP_INET4_GETPEERNAME,
  AttachType.BPF_CGROUP_INET4_GETSOCKNAME, AttachType.BPF_CGROUP_UDP4_SENDMSG, AttachType.BPF_CGROUP_UDP4_RECVMSG,
]);
const INET6_ATTACH = new Set<number>([
  AttachType.BPF_CGROUP_INET6_BIND, AttachType.BPF_CGROUP_INET6_CONNECT, AttachType.BPF_CGROUP_INET6_GETPEERNAME,
  AttachType.BPF_CGROUP_INET6_GETSOCKNAME, AttachType.BPF_CGROUP_UDP6_SENDMSG, AttachType.BPF_CGROUP_UDP6_RECVMSG,
]);

/** Attach types a `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` program may be loaded with (`bpf_prog_load_check_attach`). */
export const SOCK_ADDR_ATTACH_TYPES: ReadonlySet<number> = new Set<number>([
  ...INET4_ATTACH, ...INET6_ATTACH,
  AttachType.BPF_CGROUP_UNIX_CONNECT, AttachType.BPF_CGROUP_UNIX_SENDMSG, AttachType.BPF_CGROUP_UNIX_RECVMSG,
  AttachType.BPF_CGROUP_UNIX_GETPEERNAME, AttachType.BPF_CGROUP_UNIX_GETSOCKNAME,
]);

/** `sock_addr_is_valid_access` (cgroup connect/sendmsg/recvmsg/getpeername/getsockname/bind). */
function sockAddrCheck(a: CtxAccess, attach: number | undefined): CtxAccessResult {
  const { off, size, write } = a;
  const at = attach ?? -1;
  if (off < 0 || off >= BpfSockAddr.size || off % size !== 0) return NO;
  const ip6 = off >= SA.user_ip6 && off < SA.user_ip6 + 16;
  const src6 = off >= SA.msg_src_ip6 && off < SA.msg_src_ip6 + 16;
  if (inRange(off, SA.user_ip4, 4) && !INET4_ATTACH.has(at)) return NO;
  if (ip6 && !INET6_ATTACH.has(at)) return NO;
  if (inRange(off, SA.msg_src_ip4, 4) && at !== AttachType.BPF_CGROUP_UDP4_SENDMSG) return NO;
  if (src6 && at !== AttachType.BPF_CGROUP_UDP6_SENDMSG) return NO;
  if (inRange(off, SA.user_ip4, 4) || ip6 || inRange(off, SA.msg_src_ip4, 4) || src6 || inRange(off, SA.user_port, 4)) {
    if (wideOk(off, size, SA.user_ip6, SA.user_ip6 + 16)) return SCALAR;
    if (wideOk(off, size, SA.msg_src_ip6, SA.msg_src_ip6 + 16)) return SCALAR;
    if (!write) return narrowOk(size, 4) ? SCALAR : NO;
    return size === 4 ? SCALAR : NO;
  }
  if (inRange(off, SA.user_family, 4) || inRange(off, SA.family, 4) || inRange(off, SA.type, 4) || inRange(off, SA.protocol, 4)) {
    return !write && size === 4 ? SCALAR : NO;
  }
  if (off === SA.sk) return !write && size === 8 ? { ok: true, loadType: 'sock' } : NO;
  return NO;
}

/**
 * The context rules for a program type and expected attach type, or
 * `undefined` when verifier-lite has no table for it (it then accepts every
 * context access and treats loads as unknown scalars).
 */
export function ctxRules(progType: number, expectedAttachType?: number): CtxRules | undefined {
  switch (progType) {
    case ProgType.BPF_PROG_TYPE_XDP:
      return { struct: 'xdp_md', layout: XdpMd, check: (a) => xdpCheck(a, expectedAttachType) };
    case ProgType.BPF_PROG_TYPE_SCHED_CLS:
    case ProgType.BPF_PROG_TYPE_SCHED_ACT:
      return { struct: '__sk_buff', layout: SkBuff, check: tcCheck };
    case ProgType.BPF_PROG_TYPE_SOCKET_FILTER:
      return { struct: '__sk_buff', layout: SkBuff, check: socketFilterCheck };
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      return { struct: 'bpf_sock_addr', layout: BpfSockAddr, check: (a) => sockAddrCheck(a, expectedAttachType) };
    default:
      return undefined;
  }
}

/** One context field (array members listed per element) with the access sizes the kernel allows at its offset. */
export interface CtxFieldAccess {
  /** `data`, `cb[2]`, `user_ip6[1]`. */
  name: string;
  offset: number;
  /** The field's declared size in bytes. */
  size: number;
  /** Load sizes allowed at `offset` (narrower loads at higher aligned offsets follow the same rule). */
  read: number[];
  /** Store sizes allowed at `offset` (empty: read-only). */
  write: number[];
  /** What a full-size load yields. */
  loadType: CtxLoadType;
}

/**
 * The context fields of a program type and attach type with their allowed
 * load and store sizes, derived from {@link ctxRules} (for the DSL's typed
 * context accessors). Fields the program may not touch at all are omitted.
 */
export function ctxFields(progType: number, expectedAttachType?: number): CtxFieldAccess[] {
  const rules = ctxRules(progType, expectedAttachType);
  if (!rules) return [];
  const out: CtxFieldAccess[] = [];
  for (const f of rules.layout.fields) {
    const count = 'count' in f && typeof f.count === 'number' ? f.count : 1;
    for (let i = 0; i < count; i++) {
      const offset = f.offset + i * f.size;
      const read = [1, 2, 4, 8].filter((size) => rules.check({ off: offset, size, write: false }).ok);
      const write = [1, 2, 4, 8].filter((size) => rules.check({ off: offset, size, write: true }).ok);
      if (read.length === 0 && write.length === 0) continue;
      const full = rules.check({ off: offset, size: f.size, write: false });
      out.push({
        name: count > 1 ? `${f.name}[${i}]` : f.name,
        offset,
        size: f.size,
        read,
        write,
        loadType: full.loadType ?? 'scalar',
      });
    }
  }
  return out;
}
