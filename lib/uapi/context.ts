/**
 * Context struct layouts that programs read through their first argument
 * (R1): byte offsets and sizes exactly as include/uapi/linux/bpf.h (Linux 6.18)
 * declares them. The kernel rewrites these accesses; only the uapi offsets
 * matter to a program, and loads must use each member's own size (the
 * verifier allows narrower loads of some members only).
 *
 * @module
 */
import type { StructLayout } from './layout.js';
import { ProgType } from './prog-types.js';

/** `struct xdp_md`: the context of XDP programs. `egress_ifindex` is Linux 5.8 (devmap programs). */
export const XdpMd = {
  name: 'xdp_md',
  size: 24,
  fields: [
    { name: 'data', offset: 0, size: 4 },
    { name: 'data_end', offset: 4, size: 4 },
    { name: 'data_meta', offset: 8, size: 4 },
    { name: 'ingress_ifindex', offset: 12, size: 4 },
    { name: 'rx_queue_index', offset: 16, size: 4 },
    { name: 'egress_ifindex', offset: 20, size: 4 },
  ],
} as const satisfies StructLayout;

/** `struct __sk_buff`: the context of socket filter, tc (sched_cls/act), cgroup_skb, lwt, sk_skb and flow dissector programs. Pointer members (`flow_keys`, `sk`) are 8 bytes (`__bpf_md_ptr`). `hwtstamp` is Linux 5.16; `tstamp_type` (one byte, then padding) is Linux 5.18. */
export const SkBuff = {
  name: '__sk_buff',
  size: 192,
  fields: [
    { name: 'len', offset: 0, size: 4 },
    { name: 'pkt_type', offset: 4, size: 4 },
    { name: 'mark', offset: 8, size: 4 },
    { name: 'queue_mapping', offset: 12, size: 4 },
    { name: 'protocol', offset: 16, size: 4 },
    { name: 'vlan_present', offset: 20, size: 4 },
    { name: 'vlan_tci', offset: 24, size: 4 },
    { name: 'vlan_proto', offset: 28, size: 4 },
    { name: 'priority', offset: 32, size: 4 },
    { name: 'ingress_ifindex', offset: 36, size: 4 },
    { name: 'ifindex', offset: 40, size: 4 },
    { name: 'tc_index', offset: 44, size: 4 },
    { name: 'cb', offset: 48, size: 4, count: 5 },
    { name: 'hash', offset: 68, size: 4 },
    { name: 'tc_classid', offset: 72, size: 4 },
    { name: 'data', offset: 76, size: 4 },
    { name: 'data_end', offset: 80, size: 4 },
    { name: 'napi_id', offset: 84, size: 4 },
    { name: 'family', offset: 88, size: 4 },
    { name: 'remote_ip4', offset: 92, size: 4 },
    { name: 'local_ip4', offset: 96, size: 4 },
    { name: 'remote_ip6', offset: 100, size: 4, count: 4 },
    { name: 'local_ip6', offset: 116, size: 4, count: 4 },
    { name: 'remote_port', offset: 132, size: 4 },
    { name: 'local_port', offset: 136, size: 4 },
    { name: 'data_meta', offset: 140, size: 4 },
    { name: 'flow_keys', offset: 144, size: 8 },
    { name: 'tstamp', offset: 152, size: 8 },
    { name: 'wire_len', offset: 160, size: 4 },
    { name: 'gso_segs', offset: 164, size: 4 },
    { name: 'sk', offset: 168, size: 8 },
    { name: 'gso_size', offset: 176, size: 4 },
    { name: 'tstamp_type', offset: 180, size: 1 },
    { name: 'hwtstamp', offset: 184, size: 8 },
  ],
} as const satisfies StructLayout;

/** `struct bpf_sock_addr`: the context of cgroup sock_addr programs (`cgroup/connect4`, `sendmsg4`, `recvmsg4`, `getpeername4`, ..., and the `6` and `unix` variants). Ports are in network byte order; `user_port` is written as a 32-bit value. */
export const BpfSockAddr = {
  name: 'bpf_sock_addr',
  size: 72,
  fields: [
    { name: 'user_family', offset: 0, size: 4 },
    { name: 'user_ip4', offset: 4, size: 4 },
    { name: 'user_ip6', offset: 8, size: 4, count: 4 },
    { name: 'user_port', offset: 24, size: 4 },
    { name: 'family', offset: 28, size: 4 },
    { name: 'type', offset: 32, size: 4 },
    { name: 'protocol', offset: 36, size: 4 },
    { name: 'msg_src_ip4', offset: 40, size: 4 },
    { name: 'msg_src_ip6', offset: 44, size: 4, count: 4 },
    { name: 'sk', offset: 64, size: 8 },
  ],
} as const satisfies StructLayout;

/** Every context layout by C struct name. */
export const ContextLayouts = {
  xdp_md: XdpMd,
  __sk_buff: SkBuff,
  bpf_sock_addr: BpfSockAddr,
} as const satisfies Record<string, StructLayout>;

/**
 * The context struct a program type's entry function takes (the kernel's
 * `bpf_types.h` user context type, which it matches by name against the
 * program's BTF), for the program types with a layout here; undefined for others.
 */
export function contextLayoutOf(progType: number): StructLayout | undefined {
  switch (progType) {
    case ProgType.BPF_PROG_TYPE_XDP:
      return XdpMd;
    case ProgType.BPF_PROG_TYPE_SOCKET_FILTER:
    case ProgType.BPF_PROG_TYPE_SCHED_CLS:
    case ProgType.BPF_PROG_TYPE_SCHED_ACT:
    case ProgType.BPF_PROG_TYPE_CGROUP_SKB:
    case ProgType.BPF_PROG_TYPE_LWT_IN:
    case ProgType.BPF_PROG_TYPE_LWT_OUT:
    case ProgType.BPF_PROG_TYPE_LWT_XMIT:
    case ProgType.BPF_PROG_TYPE_LWT_SEG6LOCAL:
    case ProgType.BPF_PROG_TYPE_SK_SKB:
    case ProgType.BPF_PROG_TYPE_FLOW_DISSECTOR:
      return SkBuff;
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      return BpfSockAddr;
    default:
      return undefined;
  }
}
