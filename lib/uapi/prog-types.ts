/**
 * Program types, attach types, link types and the flags and return codes that go
 * with programs (load, attach, test run, XDP, TC, verifier log).
 *
 * Numbers from include/uapi/linux/bpf.h as of Linux 6.18.
 *
 * @module
 */
import { nameOf } from './lookup.js';

/** `enum bpf_prog_type`: the `prog_type` of BPF_PROG_LOAD. Keys are the C names. */
export const ProgType = {
  BPF_PROG_TYPE_UNSPEC: 0,
  BPF_PROG_TYPE_SOCKET_FILTER: 1,
  BPF_PROG_TYPE_KPROBE: 2,
  BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4,
  BPF_PROG_TYPE_TRACEPOINT: 5,
  BPF_PROG_TYPE_XDP: 6,
  BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8,
  BPF_PROG_TYPE_CGROUP_SOCK: 9,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SOCK_OPS: 13,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19,
  BPF_PROG_TYPE_LIRC_MODE2: 20,
  BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_CGROUP_SYSCTL: 23,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25,
  BPF_PROG_TYPE_TRACING: 26,
  BPF_PROG_TYPE_STRUCT_OPS: 27,
  BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29,
  BPF_PROG_TYPE_SK_LOOKUP: 30,
  /** Linux 5.14. */
  BPF_PROG_TYPE_SYSCALL: 31,
  /** Linux 6.4. */
  BPF_PROG_TYPE_NETFILTER: 32,
} as const;

/** A program type number. */
export type ProgTypeNumber = (typeof ProgType)[keyof typeof ProgType];

/** The C name of program type `type` (`'BPF_PROG_TYPE_XDP'`), or `undefined`. */
export function progTypeName(type: number): string | undefined {
  return nameOf(ProgType, type);
}

/** `enum bpf_attach_type`: `expected_attach_type`, `attach_type` of attach/link/query. Keys are the C names. */
export const AttachType = {
  BPF_CGROUP_INET_INGRESS: 0,
  BPF_CGROUP_INET_EGRESS: 1,
  BPF_CGROUP_INET_SOCK_CREATE: 2,
  BPF_CGROUP_SOCK_OPS: 3,
  BPF_SK_SKB_STREAM_PARSER: 4,
  BPF_SK_SKB_STREAM_VERDICT: 5,
  BPF_CGROUP_DEVICE: 6,
  BPF_SK_MSG_VERDICT: 7,
  BPF_CGROUP_INET4_BIND: 8,
  BPF_CGROUP_INET6_BIND: 9,
  BPF_CGROUP_INET4_CONNECT: 10,
  BPF_CGROUP_INET6_CONNECT: 11,
  BPF_CGROUP_INET4_POST_BIND: 12,
  BPF_CGROUP_INET6_POST_BIND: 13,
  BPF_CGROUP_UDP4_SENDMSG: 14,
  BPF_CGROUP_UDP6_SENDMSG: 15,
  BPF_LIRC_MODE2: 16,
  BPF_FLOW_DISSECTOR: 17,
  BPF_CGROUP_SYSCTL: 18,
  BPF_CGROUP_UDP4_RECVMSG: 19,
  BPF_CGROUP_UDP6_RECVMSG: 20,
  BPF_CGROUP_GETSOCKOPT: 21,
  BPF_CGROUP_SETSOCKOPT: 22,
  BPF_TRACE_RAW_TP: 23,
  BPF_TRACE_FENTRY: 24,
  BPF_TRACE_FEXIT: 25,
  BPF_MODIFY_RETURN: 26,
  BPF_LSM_MAC: 27,
  BPF_TRACE_ITER: 28,
  BPF_CGROUP_INET4_GETPEERNAME: 29,
  BPF_CGROUP_INET6_GETPEERNAME: 30,
  BPF_CGROUP_INET4_GETSOCKNAME: 31,
  BPF_CGROUP_INET6_GETSOCKNAME: 32,
  BPF_XDP_DEVMAP: 33,
  BPF_CGROUP_INET_SOCK_RELEASE: 34,
  BPF_XDP_CPUMAP: 35,
  BPF_SK_LOOKUP: 36,
  BPF_XDP: 37,
  BPF_SK_SKB_VERDICT: 38,
  BPF_SK_REUSEPORT_SELECT: 39,
  BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: 40,
  BPF_PERF_EVENT: 41,
  /** Linux 5.18. */
  BPF_TRACE_KPROBE_MULTI: 42,
  BPF_LSM_CGROUP: 43,
  BPF_STRUCT_OPS: 44,
  /** Linux 6.4. */
  BPF_NETFILTER: 45,
  /** Linux 6.6. */
  BPF_TCX_INGRESS: 46,
  /** Linux 6.6. */
  BPF_TCX_EGRESS: 47,
  /** Linux 6.6. */
  BPF_TRACE_UPROBE_MULTI: 48,
  /** Linux 6.7. */
  BPF_CGROUP_UNIX_CONNECT: 49,
  /** Linux 6.7. */
  BPF_CGROUP_UNIX_SENDMSG: 50,
  /** Linux 6.7. */
  BPF_CGROUP_UNIX_RECVMSG: 51,
  /** Linux 6.7. */
  BPF_CGROUP_UNIX_GETPEERNAME: 52,
  /** Linux 6.7. */
  BPF_CGROUP_UNIX_GETSOCKNAME: 53,
  /** Linux 6.7. */
  BPF_NETKIT_PRIMARY: 54,
  /** Linux 6.7. */
  BPF_NETKIT_PEER: 55,
  /** Linux 6.10. */
  BPF_TRACE_KPROBE_SESSION: 56,
  /** Linux 6.13. */
  BPF_TRACE_UPROBE_SESSION: 57,
} as const;

/** An attach type number. */
export type AttachTypeNumber = (typeof AttachType)[keyof typeof AttachType];

/** The C name of attach type `type` (`'BPF_TCX_INGRESS'`), or `undefined`. */
export function attachTypeName(type: number): string | undefined {
  return nameOf(AttachType, type);
}

/** `enum bpf_link_type`: `bpf_link_info.type`. Keys are the C names. */
export const LinkType = {
  BPF_LINK_TYPE_UNSPEC: 0,
  BPF_LINK_TYPE_RAW_TRACEPOINT: 1,
  BPF_LINK_TYPE_TRACING: 2,
  BPF_LINK_TYPE_CGROUP: 3,
  BPF_LINK_TYPE_ITER: 4,
  BPF_LINK_TYPE_NETNS: 5,
  BPF_LINK_TYPE_XDP: 6,
  BPF_LINK_TYPE_PERF_EVENT: 7,
  BPF_LINK_TYPE_KPROBE_MULTI: 8,
  BPF_LINK_TYPE_STRUCT_OPS: 9,
  /** Linux 6.4. */
  BPF_LINK_TYPE_NETFILTER: 10,
  /** Linux 6.6. */
  BPF_LINK_TYPE_TCX: 11,
  /** Linux 6.6. */
  BPF_LINK_TYPE_UPROBE_MULTI: 12,
  /** Linux 6.7. */
  BPF_LINK_TYPE_NETKIT: 13,
  /** Linux 6.10. */
  BPF_LINK_TYPE_SOCKMAP: 14,
} as const;

/** A link type number. */
export type LinkTypeNumber = (typeof LinkType)[keyof typeof LinkType];

/** The C name of link type `type` (`'BPF_LINK_TYPE_XDP'`), or `undefined`. */
export function linkTypeName(type: number): string | undefined {
  return nameOf(LinkType, type);
}

/** `prog_flags` of BPF_PROG_LOAD. */
export const ProgLoadFlags = {
  /** Verifier: enforce strict alignment even where the arch does not need it. */
  BPF_F_STRICT_ALIGNMENT: 1 << 0,
  /** Verifier: skip alignment checks (testing). */
  BPF_F_ANY_ALIGNMENT: 1 << 1,
  /** Verifier: randomize the high 32 bits after 32-bit ops (testing). */
  BPF_F_TEST_RND_HI32: 1 << 2,
  /** Verifier: checkpoint state at every jump (testing). */
  BPF_F_TEST_STATE_FREQ: 1 << 3,
  /** The program may sleep (fentry/fexit/lsm/iter/uprobe/struct_ops; Linux 5.10). */
  BPF_F_SLEEPABLE: 1 << 4,
  /** XDP: the program handles multi-buffer frames (Linux 5.18). */
  BPF_F_XDP_HAS_FRAGS: 1 << 5,
  /** XDP: device-bound program for `prog_ifindex` (Linux 6.3). */
  BPF_F_XDP_DEV_BOUND_ONLY: 1 << 6,
  /** Verifier: check register bound invariants (testing, Linux 6.7). */
  BPF_F_TEST_REG_INVARIANTS: 1 << 7,
} as const;

/** `attach_flags` of BPF_PROG_ATTACH/DETACH and `flags` of BPF_LINK_CREATE for cgroup/tcx/netkit (mprog API). */
export const AttachFlags = {
  /** cgroup: a program in a descendant cgroup may override this one. */
  BPF_F_ALLOW_OVERRIDE: 1 << 0,
  /** cgroup: several programs per attach point; all run. */
  BPF_F_ALLOW_MULTI: 1 << 1,
  /** Replace `replace_bpf_fd` (cgroup) or the relative program. */
  BPF_F_REPLACE: 1 << 2,
  /** mprog: insert before the relative program/link (Linux 6.6). */
  BPF_F_BEFORE: 1 << 3,
  /** mprog: insert after the relative program/link (Linux 6.6). */
  BPF_F_AFTER: 1 << 4,
  /** mprog: `relative_id` holds an id rather than an fd (Linux 6.6). */
  BPF_F_ID: 1 << 5,
  /** cgroup: run before the programs attached to ancestors (Linux 6.16). */
  BPF_F_PREORDER: 1 << 6,
  /** mprog: the relative object is a link (same bit as map flag BPF_F_LINK). */
  BPF_F_LINK: 1 << 13,
} as const;

/** `query_flags` of BPF_PROG_QUERY. */
export const QueryFlags = {
  /** cgroup: report the effective programs (including inherited ones). */
  BPF_F_QUERY_EFFECTIVE: 1 << 0,
} as const;

/** `test.flags` of BPF_PROG_TEST_RUN. */
export const TestRunFlags = {
  /** Run on `test.cpu` (raw tracepoint programs). */
  BPF_F_TEST_RUN_ON_CPU: 1 << 0,
  /** XDP: run in live-frames mode, really transmitting/redirecting (Linux 5.18). */
  BPF_F_TEST_XDP_LIVE_FRAMES: 1 << 1,
  /** skb: run with CHECKSUM_COMPLETE (Linux 6.11). */
  BPF_F_TEST_SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;

/** `flags` of BPF_LINK_CREATE for kprobe_multi / uprobe_multi links. */
export const MultiProbeFlags = {
  /** Attach as kretprobes. */
  BPF_F_KPROBE_MULTI_RETURN: 1 << 0,
  /** Attach as uretprobes. */
  BPF_F_UPROBE_MULTI_RETURN: 1 << 0,
} as const;

/** `netfilter.flags` of BPF_LINK_CREATE. */
export const NetfilterLinkFlags = {
  /** Enable IP defragmentation before the hook (Linux 6.6). */
  BPF_F_NETFILTER_IP_DEFRAG: 1 << 0,
} as const;

/** `flags` of BPF_LINK_CREATE for XDP links and of the netlink XDP attach (include/uapi/linux/if_link.h). */
export const XdpFlags = {
  XDP_FLAGS_UPDATE_IF_NOEXIST: 1 << 0,
  XDP_FLAGS_SKB_MODE: 1 << 1,
  XDP_FLAGS_DRV_MODE: 1 << 2,
  XDP_FLAGS_HW_MODE: 1 << 3,
  XDP_FLAGS_REPLACE: 1 << 4,
  /** SKB_MODE | DRV_MODE | HW_MODE. */
  XDP_FLAGS_MODES: (1 << 1) | (1 << 2) | (1 << 3),
  /** UPDATE_IF_NOEXIST | MODES | REPLACE. */
  XDP_FLAGS_MASK: (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4),
} as const;

/** `enum xdp_action`: return codes of XDP programs. */
export const XdpAction = {
  XDP_ABORTED: 0,
  XDP_DROP: 1,
  XDP_PASS: 2,
  XDP_TX: 3,
  XDP_REDIRECT: 4,
} as const;

/** The C name of XDP verdict `code`, or `undefined`. */
export function xdpActionName(code: number): string | undefined {
  return nameOf(XdpAction, code);
}

/** Return codes of tc (sched_cls/sched_act) programs (include/uapi/linux/pkt_cls.h). */
export const TcAction = {
  /** Use the default action configured for the classifier. */
  TC_ACT_UNSPEC: -1,
  TC_ACT_OK: 0,
  TC_ACT_RECLASSIFY: 1,
  TC_ACT_SHOT: 2,
  TC_ACT_PIPE: 3,
  TC_ACT_STOLEN: 4,
  TC_ACT_QUEUED: 5,
  TC_ACT_REPEAT: 6,
  TC_ACT_REDIRECT: 7,
  TC_ACT_TRAP: 8,
} as const;

/** The C name of tc verdict `code`, or `undefined`. */
export function tcActionName(code: number): string | undefined {
  return nameOf(TcAction, code);
}

/** `enum tcx_action_base`: return codes of tcx programs (Linux 6.6), numerically aligned with TC_ACT_*. */
export const TcxAction = {
  /** Continue with the next program (TC_ACT_UNSPEC). */
  TCX_NEXT: -1,
  TCX_PASS: 0,
  TCX_DROP: 2,
  TCX_REDIRECT: 7,
} as const;

/** `enum sk_action`: return codes of sk_skb/sk_msg/sk_reuseport/sk_lookup programs. */
export const SkAction = {
  SK_DROP: 0,
  SK_PASS: 1,
} as const;

/**
 * `log_level` bits of BPF_PROG_LOAD (`btf_log_level` of BPF_BTF_LOAD). The
 * names come from the kernel's include/linux/bpf_verifier.h (not uapi) and libbpf.
 */
export const LogLevel = {
  /** Log the verifier's path through the program (errors and states at branches). */
  BPF_LOG_LEVEL1: 1,
  /** Log every instruction's state. */
  BPF_LOG_LEVEL2: 2,
  /** Append verification statistics. */
  BPF_LOG_STATS: 4,
  /** Linux 6.4: keep the head of the log when the buffer is too small (the default since 6.4 rotates and keeps the tail). */
  BPF_LOG_FIXED: 8,
} as const;

/** `enum bpf_stats_type`: `enable_stats.type` of BPF_ENABLE_STATS. */
export const StatsType = {
  BPF_STATS_RUN_TIME: 0,
} as const;
