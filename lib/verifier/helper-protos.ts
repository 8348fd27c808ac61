/**
 * Helper prototypes (argument kinds, return type, GPL-only, reference
 * acquire/release, packet-changing) and which helpers each program type may
 * call.
 *
 * Mirrors the `struct bpf_func_proto` definitions of kernel/bpf/helpers.c,
 * net/core/filter.c, kernel/bpf/ringbuf.c and kernel/trace/bpf_trace.c, the
 * `get_func_proto` callbacks (`xdp_func_proto`, `tc_cls_act_func_proto`,
 * `sk_filter_func_proto`, `sock_addr_func_proto`, `bpf_base_func_proto`) and
 * `bpf_helper_changes_pkt_data`, for Linux 6.18 loaded by root. The
 * availability sets were taken from the kernel itself by probing every helper
 * id per program type and attach type (test/verifier/helper-protos.test.ts
 * re-checks them). A helper that a program may call but that has no
 * prototype here is accepted with its arguments unchecked and an
 * unconstrained result.
 *
 * @module
 */
import { ProgType, AttachType } from '../uapi/prog-types.js';
import { helperName } from '../uapi/helpers.js';

/**
 * Argument kinds (`enum bpf_arg_type`), flattened with their flags:
 * `mem` is ARG_PTR_TO_MEM | MEM_RDONLY, `uninit_mem` is ARG_PTR_TO_UNINIT_MEM,
 * `mem_or_null` adds PTR_MAYBE_NULL, `sock_common_release` is
 * ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE, `ringbuf_mem_release` is
 * ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE.
 */
export type ArgKind =
  | 'anything'
  | 'const_map_ptr'
  | 'map_key'
  | 'map_value'
  | 'mem'
  | 'mem_or_null'
  | 'uninit_mem'
  | 'const_size'
  | 'const_size_or_zero'
  | 'const_alloc_size_or_zero'
  | 'ctx'
  | 'sock_common_release'
  | 'ringbuf_mem_release';

/** Return kinds (`enum bpf_return_type`). */
export type RetKind =
  | 'integer'
  | 'void'
  | 'map_value_or_null'
  | 'socket_or_null'
  | 'sock_common_or_null'
  | 'ringbuf_mem_or_null';

/** One helper's prototype. */
export interface HelperProto {
  id: number;
  /** Kernel name without `bpf_`. */
  name: string;
  ret: RetKind;
  args: readonly ArgKind[];
  /** Only GPL-compatible programs may call it. */
  gplOnly: boolean;
  /** Returns a reference the program must release (`is_acquire_function`). */
  acquire?: boolean;
  /** Invalidates packet pointers (`bpf_helper_changes_pkt_data`). */
  changesPkt?: boolean;
  /** Accepts packet pointers as memory arguments (`pkt_access`). */
  pktAccess?: boolean;
}

const P = (
  id: number,
  name: string,
  ret: RetKind,
  args: ArgKind[],
  extra: { gpl?: boolean; acquire?: boolean; changesPkt?: boolean; pkt?: boolean } = {},
): HelperProto => ({
  id, name, ret, args, gplOnly: extra.gpl ?? false, acquire: extra.acquire, changesPkt: extra.changesPkt, pktAccess: extra.pkt,
});

const csumArgs: ArgKind[] = ['ctx', 'anything', 'anything', 'anything', 'anything'];
const lookupArgs: ArgKind[] = ['ctx', 'mem', 'const_size', 'anything', 'anything'];

/** Prototypes by helper id. */
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map(
  [
    P(1, 'map_lookup_elem', 'map_value_or_null', ['const_map_ptr', 'map_key'], { pkt: true }),
    P(2, 'map_update_elem', 'integer', ['const_map_ptr', 'map_key', 'map_value', 'anything'], { pkt: true }),
    P(3, 'map_delete_elem', 'integer', ['const_map_ptr', 'map_key'], { pkt: true }),
    P(5, 'ktime_get_ns', 'integer', []),
    P(6, 'trace_printk', 'integer', ['mem', 'const_size'], { gpl: true }),
    P(7, 'get_prandom_u32', 'integer', []),
    P(8, 'get_smp_processor_id', 'integer', []),
    P(9, 'skb_store_bytes', 'integer', ['ctx', 'anything', 'mem', 'const_size', 'anything'], { changesPkt: true }),
    P(10, 'l3_csum_replace', 'integer', csumArgs, { changesPkt: true }),
    P(11, 'l4_csum_replace', 'integer', csumArgs, { changesPkt: true }),
    P(12, 'tail_call', 'void', ['ctx', 'const_map_ptr', 'anything']),
    P(14, 'get_current_pid_tgid', 'integer', []),
    P(23, 'redirect', 'integer', ['anything', 'anything']),
    P(25, 'perf_event_output', 'integer', ['ctx', 'const_map_ptr', 'anything', 'mem', 'const_size_or_zero'], { gpl: true }),
    P(26, 'skb_load_bytes', 'integer', ['ctx', 'anything', 'uninit_mem', 'const_size']),
    P(28, 'csum_diff', 'integer', ['mem_or_null', 'const_size_or_zero', 'mem_or_null', 'const_size_or_zero', 'anything'], { pkt: true }),
    P(34, 'get_hash_recalc', 'integer', ['ctx']),
    P(39, 'skb_pull_data', 'integer', ['ctx', 'anything'], { changesPkt: true }),
    P(42, 'get_numa_node_id', 'integer', []),
    P(44, 'xdp_adjust_head', 'integer', ['ctx', 'anything'], { changesPkt: true }),
    P(46, 'get_socket_cookie', 'integer', ['ctx']),
    P(51, 'redirect_map', 'integer', ['const_map_ptr', 'anything', 'anything']),
    P(54, 'xdp_adjust_meta', 'integer', ['ctx', 'anything'], { changesPkt: true }),
    P(65, 'xdp_adjust_tail', 'integer', ['ctx', 'anything'], { changesPkt: true }),
    P(69, 'fib_lookup', 'integer', ['ctx', 'mem', 'const_size', 'anything']),
    P(84, 'sk_lookup_tcp', 'socket_or_null', lookupArgs, { acquire: true, pkt: true }),
    P(85, 'sk_lookup_udp', 'socket_or_null', lookupArgs, { acquire: true, pkt: true }),
    P(86, 'sk_release', 'integer', ['sock_common_release']),
    P(99, 'skc_lookup_tcp', 'sock_common_or_null', lookupArgs, { acquire: true, pkt: true }),
    P(125, 'ktime_get_boot_ns', 'integer', []),
    P(130, 'ringbuf_output', 'integer', ['const_map_ptr', 'mem', 'const_size_or_zero', 'anything']),
    P(131, 'ringbuf_reserve', 'ringbuf_mem_or_null', ['const_map_ptr', 'const_alloc_size_or_zero', 'anything'], { acquire: true }),
    P(132, 'ringbuf_submit', 'void', ['ringbuf_mem_release', 'anything']),
    P(133, 'ringbuf_discard', 'void', ['ringbuf_mem_release', 'anything']),
    P(134, 'ringbuf_query', 'integer', ['const_map_ptr', 'anything']),
    P(152, 'redirect_neigh', 'integer', ['anything', 'mem_or_null', 'const_size_or_zero', 'anything']),
    P(155, 'redirect_peer', 'integer', ['anything', 'anything']),
    P(160, 'ktime_get_coarse_ns', 'integer', []),
    P(186, 'get_retval', 'integer', []),
    P(187, 'set_retval', 'integer', ['anything']),
    P(188, 'xdp_get_buff_len', 'integer', ['ctx']),
  ].map((p) => [p.id, p]),
);

/** Decodes `1-3,5,7-9` into ids. */
function ids(spec: string): ReadonlySet<number> {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.add(i);
  }
  return out;
}

// Probed from Linux 6.18 as root (see the module doc).
const XDP_IDS = ids(
  '1-3,5-8,12,14-17,22-23,25,28,35,37,42,44,51,54-55,65,69,80,84-89,93-94,99-100,105-106,109-110,112-115,117-118,120,123,125,130-134,136-141,148-149,153-154,156-158,160,163-165,169-172,175-178,180-182,188-191,194-211',
);
const TC_IDS = ids(
  '1-3,5-26,28-35,37-43,46-48,50,55,66,68-69,79-80,83-89,93-100,105-110,112-115,117-118,120,122-125,130-141,148-149,151-158,160,163-165,169-172,175-178,180-182,191-192,194-211',
);
const SOCKET_FILTER_IDS = ids(
  '1-3,5-8,12,14-17,22,25-26,35,37,42,46-47,55,68,80,87-89,93-94,105-106,109,112-115,117-118,120,122-123,125,130-134,136-141,148-149,153-154,156-158,160,164-165,169-172,175-178,180-182,191,194-203,208-211',
);
const SOCK_ADDR_BASE = '1-3,5-8,12,14-17,22,25,35,37,42,46,49,55,57,80-81,84-89,93-94,99,105-109,112-115,117-118,120,122-123,125,130-134,136-141,148-149,153-154,156-158,160,164-165,169-172,175-178,180-182,191,194-203,208-211';
const SOCK_ADDR_IDS = ids(SOCK_ADDR_BASE);
const SOCK_ADDR_RETVAL_IDS = ids(SOCK_ADDR_BASE + ',186-187');
const SOCK_ADDR_CONNECT_IDS = ids(SOCK_ADDR_BASE + ',186-187,64');
const GPL_IDS = ids('6,22,25,35,55,69,100,110,112-115,158,163,165,169-172,175-177,191,204-207');

/**
 * The helper ids a program type (and attach type) may call, or `undefined`
 * when verifier-lite has no table for the program type (every helper is then
 * accepted).
 */
export function allowedHelpers(progType: number, expectedAttachType?: number): ReadonlySet<number> | undefined {
  switch (progType) {
    case ProgType.BPF_PROG_TYPE_XDP:
      return XDP_IDS;
    case ProgType.BPF_PROG_TYPE_SCHED_CLS:
    case ProgType.BPF_PROG_TYPE_SCHED_ACT:
      return TC_IDS;
    case ProgType.BPF_PROG_TYPE_SOCKET_FILTER:
      return SOCKET_FILTER_IDS;
    case ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
      switch (expectedAttachType) {
        case AttachType.BPF_CGROUP_INET4_CONNECT:
        case AttachType.BPF_CGROUP_INET6_CONNECT:
          return SOCK_ADDR_CONNECT_IDS;
        case AttachType.BPF_CGROUP_INET4_BIND:
        case AttachType.BPF_CGROUP_INET6_BIND:
        case AttachType.BPF_CGROUP_UDP4_SENDMSG:
        case AttachType.BPF_CGROUP_UDP6_SENDMSG:
        case AttachType.BPF_CGROUP_UNIX_CONNECT:
        case AttachType.BPF_CGROUP_UNIX_SENDMSG:
          return SOCK_ADDR_RETVAL_IDS;
        default:
          return SOCK_ADDR_IDS;
      }
    default:
      return undefined;
  }
}

/** Whether helper `id` is GPL-only (`gpl_only` in its `bpf_func_proto`; the same in every program type probed). */
export function isGplOnly(id: number): boolean {
  return GPL_IDS.has(id);
}

/** The prototype of helper `id`, when verifier-lite models it. */
export function helperProto(id: number): HelperProto | undefined {
  return HELPER_PROTOS.get(id);
}

/** The name the kernel prints for helper `id` (`bpf_map_lookup_elem`, or `unknown` for ids past the last helper). */
export function kernelHelperName(id: number): string {
  const n = helperName(id);
  return n === undefined || n === 'unspec' ? 'unknown' : `bpf_${n}`;
}

/**
 * Register types each argument kind accepts, as the kernel names them in
 * `R1 type=ctx expected=map_ptr` (`compatible_reg_types` in verifier.c).
 */
export const ARG_EXPECTED: Readonly<Record<ArgKind, string>> = {
  anything: '',
  const_map_ptr: 'map_ptr',
  map_key: 'fp, pkt, pkt_meta, map_key, map_value',
  map_value: 'fp, pkt, pkt_meta, map_key, map_value',
  mem: 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
  mem_or_null: 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
  uninit_mem: 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_',
  const_size: 'scalar',
  const_size_or_zero: 'scalar',
  const_alloc_size_or_zero: 'scalar',
  ctx: 'ctx',
  sock_common_release: 'sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_',
  ringbuf_mem_release: 'ringbuf_mem',
};
