/**
 * libbpf's section-name conventions: which program type, expected attach type
 * and load flags a `SEC("...")` name means (`xdp`, `tc`, `tcx/ingress`,
 * `cgroup/connect4`, `socket`, `fentry/FUNC`, ...).
 */
import { AttachType, ProgLoadFlags, ProgType } from '../uapi/index.js';

/** What a section name says about its programs. */
export interface SectionProgramType {
  /** `BPF_PROG_TYPE_*`. */
  progType: number;
  /** `BPF_*` expected attach type (0 when none is needed). */
  expectedAttachType: number;
  /** Load flags implied by the name (`BPF_F_SLEEPABLE`, `BPF_F_XDP_HAS_FRAGS`). */
  flags: number;
  /** The part after the prefix's `/` for names like `fentry/tcp_connect`, `kprobe/do_sys_open`. */
  attachTo?: string;
}

interface Def {
  /** The name; ending in `+` means "this, or this followed by `/` and anything". */
  name: string;
  prog: keyof typeof ProgType;
  attach?: keyof typeof AttachType;
  flags?: number;
}

const P = ProgLoadFlags;
const FRAGS = P.BPF_F_XDP_HAS_FRAGS;
const SLEEP = P.BPF_F_SLEEPABLE;

/** Section definitions in libbpf's matching order (more specific first). */
const DEFS: Def[] = [
  { name: 'socket', prog: 'BPF_PROG_TYPE_SOCKET_FILTER' },
  { name: 'sk_reuseport/migrate', prog: 'BPF_PROG_TYPE_SK_REUSEPORT', attach: 'BPF_SK_REUSEPORT_SELECT_OR_MIGRATE' },
  { name: 'sk_reuseport', prog: 'BPF_PROG_TYPE_SK_REUSEPORT', attach: 'BPF_SK_REUSEPORT_SELECT' },
  { name: 'kprobe.multi+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_KPROBE_MULTI' },
  { name: 'kretprobe.multi+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_KPROBE_MULTI' },
  { name: 'kprobe.session+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_KPROBE_SESSION' },
  { name: 'uprobe.multi+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_UPROBE_MULTI' },
  { name: 'uretprobe.multi+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_UPROBE_MULTI' },
  { name: 'uprobe.multi.s+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_UPROBE_MULTI', flags: SLEEP },
  { name: 'uretprobe.multi.s+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_UPROBE_MULTI', flags: SLEEP },
  { name: 'uprobe.session+', prog: 'BPF_PROG_TYPE_KPROBE', attach: 'BPF_TRACE_UPROBE_SESSION' },
  { name: 'kprobe+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'uprobe+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'uprobe.s+', prog: 'BPF_PROG_TYPE_KPROBE', flags: SLEEP },
  { name: 'kretprobe+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'uretprobe+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'uretprobe.s+', prog: 'BPF_PROG_TYPE_KPROBE', flags: SLEEP },
  { name: 'ksyscall+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'kretsyscall+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'usdt+', prog: 'BPF_PROG_TYPE_KPROBE' },
  { name: 'usdt.s+', prog: 'BPF_PROG_TYPE_KPROBE', flags: SLEEP },
  { name: 'tc/ingress', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_TCX_INGRESS' },
  { name: 'tc/egress', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_TCX_EGRESS' },
  { name: 'tcx/ingress', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_TCX_INGRESS' },
  { name: 'tcx/egress', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_TCX_EGRESS' },
  { name: 'tc', prog: 'BPF_PROG_TYPE_SCHED_CLS' },
  { name: 'classifier', prog: 'BPF_PROG_TYPE_SCHED_CLS' },
  { name: 'action', prog: 'BPF_PROG_TYPE_SCHED_ACT' },
  { name: 'netkit/primary', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_NETKIT_PRIMARY' },
  { name: 'netkit/peer', prog: 'BPF_PROG_TYPE_SCHED_CLS', attach: 'BPF_NETKIT_PEER' },
  { name: 'tracepoint+', prog: 'BPF_PROG_TYPE_TRACEPOINT' },
  { name: 'tp+', prog: 'BPF_PROG_TYPE_TRACEPOINT' },
  { name: 'raw_tracepoint+', prog: 'BPF_PROG_TYPE_RAW_TRACEPOINT' },
  { name: 'raw_tp+', prog: 'BPF_PROG_TYPE_RAW_TRACEPOINT' },
  { name: 'raw_tracepoint.w+', prog: 'BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE' },
  { name: 'raw_tp.w+', prog: 'BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE' },
  { name: 'tp_btf+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_RAW_TP' },
  { name: 'fentry+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_FENTRY' },
  { name: 'fmod_ret+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_MODIFY_RETURN' },
  { name: 'fexit+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_FEXIT' },
  { name: 'fentry.s+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_FENTRY', flags: SLEEP },
  { name: 'fmod_ret.s+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_MODIFY_RETURN', flags: SLEEP },
  { name: 'fexit.s+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_FEXIT', flags: SLEEP },
  { name: 'freplace+', prog: 'BPF_PROG_TYPE_EXT' },
  { name: 'lsm+', prog: 'BPF_PROG_TYPE_LSM', attach: 'BPF_LSM_MAC' },
  { name: 'lsm.s+', prog: 'BPF_PROG_TYPE_LSM', attach: 'BPF_LSM_MAC', flags: SLEEP },
  { name: 'lsm_cgroup+', prog: 'BPF_PROG_TYPE_LSM', attach: 'BPF_LSM_CGROUP' },
  { name: 'iter+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_ITER' },
  { name: 'iter.s+', prog: 'BPF_PROG_TYPE_TRACING', attach: 'BPF_TRACE_ITER', flags: SLEEP },
  { name: 'syscall', prog: 'BPF_PROG_TYPE_SYSCALL', flags: SLEEP },
  { name: 'xdp.frags/devmap', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP_DEVMAP', flags: FRAGS },
  { name: 'xdp/devmap', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP_DEVMAP' },
  { name: 'xdp.frags/cpumap', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP_CPUMAP', flags: FRAGS },
  { name: 'xdp/cpumap', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP_CPUMAP' },
  { name: 'xdp.frags', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP', flags: FRAGS },
  { name: 'xdp', prog: 'BPF_PROG_TYPE_XDP', attach: 'BPF_XDP' },
  { name: 'perf_event', prog: 'BPF_PROG_TYPE_PERF_EVENT' },
  { name: 'lwt_in', prog: 'BPF_PROG_TYPE_LWT_IN' },
  { name: 'lwt_out', prog: 'BPF_PROG_TYPE_LWT_OUT' },
  { name: 'lwt_xmit', prog: 'BPF_PROG_TYPE_LWT_XMIT' },
  { name: 'lwt_seg6local', prog: 'BPF_PROG_TYPE_LWT_SEG6LOCAL' },
  { name: 'sockops', prog: 'BPF_PROG_TYPE_SOCK_OPS', attach: 'BPF_CGROUP_SOCK_OPS' },
  { name: 'sk_skb/stream_parser', prog: 'BPF_PROG_TYPE_SK_SKB', attach: 'BPF_SK_SKB_STREAM_PARSER' },
  { name: 'sk_skb/stream_verdict', prog: 'BPF_PROG_TYPE_SK_SKB', attach: 'BPF_SK_SKB_STREAM_VERDICT' },
  { name: 'sk_skb/verdict', prog: 'BPF_PROG_TYPE_SK_SKB', attach: 'BPF_SK_SKB_VERDICT' },
  { name: 'sk_skb', prog: 'BPF_PROG_TYPE_SK_SKB' },
  { name: 'sk_msg', prog: 'BPF_PROG_TYPE_SK_MSG', attach: 'BPF_SK_MSG_VERDICT' },
  { name: 'lirc_mode2', prog: 'BPF_PROG_TYPE_LIRC_MODE2', attach: 'BPF_LIRC_MODE2' },
  { name: 'flow_dissector', prog: 'BPF_PROG_TYPE_FLOW_DISSECTOR', attach: 'BPF_FLOW_DISSECTOR' },
  { name: 'cgroup_skb/ingress', prog: 'BPF_PROG_TYPE_CGROUP_SKB', attach: 'BPF_CGROUP_INET_INGRESS' },
  { name: 'cgroup_skb/egress', prog: 'BPF_PROG_TYPE_CGROUP_SKB', attach: 'BPF_CGROUP_INET_EGRESS' },
  { name: 'cgroup/skb', prog: 'BPF_PROG_TYPE_CGROUP_SKB' },
  { name: 'cgroup/sock_create', prog: 'BPF_PROG_TYPE_CGROUP_SOCK', attach: 'BPF_CGROUP_INET_SOCK_CREATE' },
  { name: 'cgroup/sock_release', prog: 'BPF_PROG_TYPE_CGROUP_SOCK', attach: 'BPF_CGROUP_INET_SOCK_RELEASE' },
  { name: 'cgroup/sock', prog: 'BPF_PROG_TYPE_CGROUP_SOCK', attach: 'BPF_CGROUP_INET_SOCK_CREATE' },
  { name: 'cgroup/post_bind4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK', attach: 'BPF_CGROUP_INET4_POST_BIND' },
  { name: 'cgroup/post_bind6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK', attach: 'BPF_CGROUP_INET6_POST_BIND' },
  { name: 'cgroup/bind4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET4_BIND' },
  { name: 'cgroup/bind6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET6_BIND' },
  { name: 'cgroup/connect4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET4_CONNECT' },
  { name: 'cgroup/connect6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET6_CONNECT' },
  { name: 'cgroup/connect_unix', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UNIX_CONNECT' },
  { name: 'cgroup/sendmsg4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UDP4_SENDMSG' },
  { name: 'cgroup/sendmsg6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UDP6_SENDMSG' },
  { name: 'cgroup/sendmsg_unix', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UNIX_SENDMSG' },
  { name: 'cgroup/recvmsg4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UDP4_RECVMSG' },
  { name: 'cgroup/recvmsg6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UDP6_RECVMSG' },
  { name: 'cgroup/recvmsg_unix', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UNIX_RECVMSG' },
  { name: 'cgroup/getpeername4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET4_GETPEERNAME' },
  { name: 'cgroup/getpeername6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET6_GETPEERNAME' },
  { name: 'cgroup/getpeername_unix', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UNIX_GETPEERNAME' },
  { name: 'cgroup/getsockname4', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET4_GETSOCKNAME' },
  { name: 'cgroup/getsockname6', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_INET6_GETSOCKNAME' },
  { name: 'cgroup/getsockname_unix', prog: 'BPF_PROG_TYPE_CGROUP_SOCK_ADDR', attach: 'BPF_CGROUP_UNIX_GETSOCKNAME' },
  { name: 'cgroup/sysctl', prog: 'BPF_PROG_TYPE_CGROUP_SYSCTL', attach: 'BPF_CGROUP_SYSCTL' },
  { name: 'cgroup/getsockopt', prog: 'BPF_PROG_TYPE_CGROUP_SOCKOPT', attach: 'BPF_CGROUP_GETSOCKOPT' },
  { name: 'cgroup/setsockopt', prog: 'BPF_PROG_TYPE_CGROUP_SOCKOPT', attach: 'BPF_CGROUP_SETSOCKOPT' },
  { name: 'cgroup/dev', prog: 'BPF_PROG_TYPE_CGROUP_DEVICE', attach: 'BPF_CGROUP_DEVICE' },
  { name: 'struct_ops+', prog: 'BPF_PROG_TYPE_STRUCT_OPS' },
  { name: 'struct_ops.s+', prog: 'BPF_PROG_TYPE_STRUCT_OPS', flags: SLEEP },
  { name: 'sk_lookup', prog: 'BPF_PROG_TYPE_SK_LOOKUP', attach: 'BPF_SK_LOOKUP' },
  { name: 'netfilter', prog: 'BPF_PROG_TYPE_NETFILTER', attach: 'BPF_NETFILTER' },
];

/**
 * The program type, expected attach type and flags for a libbpf section name,
 * or undefined when the name follows no convention. A definition without `+`
 * matches exactly; one with `+` also matches when followed by `/...`.
 */
export function sectionProgramType(section: string): SectionProgramType | undefined {
  for (const d of DEFS) {
    const open = d.name.endsWith('+');
    const base = open ? d.name.slice(0, -1) : d.name;
    let attachTo: string | undefined;
    if (section === base) attachTo = undefined;
    else if (open && section.startsWith(base + '/')) attachTo = section.slice(base.length + 1);
    else continue;
    return {
      progType: ProgType[d.prog],
      expectedAttachType: d.attach ? AttachType[d.attach] : 0,
      flags: d.flags ?? 0,
      ...(attachTo !== undefined ? { attachTo } : {}),
    };
  }
  return undefined;
}

/** The canonical section name for a program type and expected attach type (the first libbpf definition that matches), or undefined. */
export function sectionNameFor(progType: number, expectedAttachType = 0): string | undefined {
  const d = DEFS.find(
    (x) => ProgType[x.prog] === progType && (x.attach ? AttachType[x.attach] : 0) === expectedAttachType && !x.flags,
  );
  return d?.name.replace(/\+$/, '');
}
