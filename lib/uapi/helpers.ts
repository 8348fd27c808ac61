/**
 * Helper function ids (`enum bpf_func_id`, from `___BPF_FUNC_MAPPER`) and the flag
 * constants the networking helpers take.
 *
 * Numbers from include/uapi/linux/bpf.h as of Linux 6.18.
 *
 * @module
 */
import { nameOf } from './lookup.js';
import { UapiError } from './layout.js';

/**
 * Every helper id: key is the kernel name without the `bpf_` prefix
 * (`map_lookup_elem` is `bpf_map_lookup_elem`, id 1). The list is frozen
 * upstream at cgrp_storage_delete (211); new functionality comes as kfuncs.
 */
export const Helper = {
  unspec: 0,
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  probe_read: 4,
  ktime_get_ns: 5,
  trace_printk: 6,
  get_prandom_u32: 7,
  get_smp_processor_id: 8,
  skb_store_bytes: 9,
  l3_csum_replace: 10,
  l4_csum_replace: 11,
  tail_call: 12,
  clone_redirect: 13,
  get_current_pid_tgid: 14,
  get_current_uid_gid: 15,
  get_current_comm: 16,
  get_cgroup_classid: 17,
  skb_vlan_push: 18,
  skb_vlan_pop: 19,
  skb_get_tunnel_key: 20,
  skb_set_tunnel_key: 21,
  perf_event_read: 22,
  redirect: 23,
  get_route_realm: 24,
  perf_event_output: 25,
  skb_load_bytes: 26,
  get_stackid: 27,
  csum_diff: 28,
  skb_get_tunnel_opt: 29,
  skb_set_tunnel_opt: 30,
  skb_change_proto: 31,
  skb_change_type: 32,
  skb_under_cgroup: 33,
  get_hash_recalc: 34,
  get_current_task: 35,
  probe_write_user: 36,
  current_task_under_cgroup: 37,
  skb_change_tail: 38,
  skb_pull_data: 39,
  csum_update: 40,
  set_hash_invalid: 41,
  get_numa_node_id: 42,
  skb_change_head: 43,
  xdp_adjust_head: 44,
  probe_read_str: 45,
  get_socket_cookie: 46,
  get_socket_uid: 47,
  set_hash: 48,
  setsockopt: 49,
  skb_adjust_room: 50,
  redirect_map: 51,
  sk_redirect_map: 52,
  sock_map_update: 53,
  xdp_adjust_meta: 54,
  perf_event_read_value: 55,
  perf_prog_read_value: 56,
  getsockopt: 57,
  override_return: 58,
  sock_ops_cb_flags_set: 59,
  msg_redirect_map: 60,
  msg_apply_bytes: 61,
  msg_cork_bytes: 62,
  msg_pull_data: 63,
  bind: 64,
  xdp_adjust_tail: 65,
  skb_get_xfrm_state: 66,
  get_stack: 67,
  skb_load_bytes_relative: 68,
  fib_lookup: 69,
  sock_hash_update: 70,
  msg_redirect_hash: 71,
  sk_redirect_hash: 72,
  lwt_push_encap: 73,
  lwt_seg6_store_bytes: 74,
  lwt_seg6_adjust_srh: 75,
  lwt_seg6_action: 76,
  rc_repeat: 77,
  rc_keydown: 78,
  skb_cgroup_id: 79,
  get_current_cgroup_id: 80,
  get_local_storage: 81,
  sk_select_reuseport: 82,
  skb_ancestor_cgroup_id: 83,
  sk_lookup_tcp: 84,
  sk_lookup_udp: 85,
  sk_release: 86,
  map_push_elem: 87,
  map_pop_elem: 88,
  map_peek_elem: 89,
  msg_push_data: 90,
  msg_pop_data: 91,
  rc_pointer_rel: 92,
  spin_lock: 93,
  spin_unlock: 94,
  sk_fullsock: 95,
  tcp_sock: 96,
  skb_ecn_set_ce: 97,
  get_listener_sock: 98,
  skc_lookup_tcp: 99,
  tcp_check_syncookie: 100,
  sysctl_get_name: 101,
  sysctl_get_current_value: 102,
  sysctl_get_new_value: 103,
  sysctl_set_new_value: 104,
  strtol: 105,
  strtoul: 106,
  sk_storage_get: 107,
  sk_storage_delete: 108,
  send_signal: 109,
  tcp_gen_syncookie: 110,
  skb_output: 111,
  probe_read_user: 112,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
  tcp_send_ack: 116,
  send_signal_thread: 117,
  jiffies64: 118,
  read_branch_records: 119,
  get_ns_current_pid_tgid: 120,
  xdp_output: 121,
  get_netns_cookie: 122,
  get_current_ancestor_cgroup_id: 123,
  sk_assign: 124,
  ktime_get_boot_ns: 125,
  seq_printf: 126,
  seq_write: 127,
  sk_cgroup_id: 128,
  sk_ancestor_cgroup_id: 129,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  ringbuf_submit: 132,
  ringbuf_discard: 133,
  ringbuf_query: 134,
  csum_level: 135,
  skc_to_tcp6_sock: 136,
  skc_to_tcp_sock: 137,
  skc_to_tcp_timewait_sock: 138,
  skc_to_tcp_request_sock: 139,
  skc_to_udp6_sock: 140,
  get_task_stack: 141,
  load_hdr_opt: 142,
  store_hdr_opt: 143,
  reserve_hdr_opt: 144,
  inode_storage_get: 145,
  inode_storage_delete: 146,
  d_path: 147,
  copy_from_user: 148,
  snprintf_btf: 149,
  seq_printf_btf: 150,
  skb_cgroup_classid: 151,
  redirect_neigh: 152,
  per_cpu_ptr: 153,
  this_cpu_ptr: 154,
  redirect_peer: 155,
  task_storage_get: 156,
  task_storage_delete: 157,
  get_current_task_btf: 158,
  bprm_opts_set: 159,
  ktime_get_coarse_ns: 160,
  ima_inode_hash: 161,
  sock_from_file: 162,
  check_mtu: 163,
  for_each_map_elem: 164,
  snprintf: 165,
  sys_bpf: 166,
  btf_find_by_name_kind: 167,
  sys_close: 168,
  timer_init: 169,
  timer_set_callback: 170,
  timer_start: 171,
  timer_cancel: 172,
  get_func_ip: 173,
  get_attach_cookie: 174,
  task_pt_regs: 175,
  get_branch_snapshot: 176,
  trace_vprintk: 177,
  skc_to_unix_sock: 178,
  kallsyms_lookup_name: 179,
  find_vma: 180,
  loop: 181,
  strncmp: 182,
  get_func_arg: 183,
  get_func_ret: 184,
  get_func_arg_cnt: 185,
  get_retval: 186,
  set_retval: 187,
  xdp_get_buff_len: 188,
  xdp_load_bytes: 189,
  xdp_store_bytes: 190,
  copy_from_user_task: 191,
  skb_set_tstamp: 192,
  ima_file_hash: 193,
  kptr_xchg: 194,
  map_lookup_percpu_elem: 195,
  skc_to_mptcp_sock: 196,
  dynptr_from_mem: 197,
  ringbuf_reserve_dynptr: 198,
  ringbuf_submit_dynptr: 199,
  ringbuf_discard_dynptr: 200,
  dynptr_read: 201,
  dynptr_write: 202,
  dynptr_data: 203,
  tcp_raw_gen_syncookie_ipv4: 204,
  tcp_raw_gen_syncookie_ipv6: 205,
  tcp_raw_check_syncookie_ipv4: 206,
  tcp_raw_check_syncookie_ipv6: 207,
  ktime_get_tai_ns: 208,
  user_ringbuf_drain: 209,
  cgrp_storage_get: 210,
  cgrp_storage_delete: 211,
} as const;

/** The key of {@link Helper}: a helper name without the `bpf_` prefix. */
export type HelperName = keyof typeof Helper;

/** The number of helper ids (`__BPF_FUNC_MAX_ID`): every valid id is below it. */
export const BPF_FUNC_MAX_ID = 212;

/** The helper name for `id` without the `bpf_` prefix (`1` → `'map_lookup_elem'`), or `undefined`. */
export function helperName(id: number): string | undefined {
  return nameOf(Helper, id);
}

/** The id of helper `name` (with or without the `bpf_` prefix); throws {@link UapiError} when unknown. */
export function helperId(name: string): number {
  const key = name.startsWith('bpf_') ? name.slice(4) : name;
  if (!Object.hasOwn(Helper, key)) throw new UapiError(`unknown BPF helper '${name}'`);
  return Helper[key as HelperName];
}

/** Flags of `bpf_skb_store_bytes` (and the csum helpers' `BPF_F_RECOMPUTE_CSUM`). */
export const SkbStoreFlags = {
  BPF_F_RECOMPUTE_CSUM: 1 << 0,
  BPF_F_INVALIDATE_HASH: 1 << 1,
} as const;

/** Flags of `bpf_l3_csum_replace` / `bpf_l4_csum_replace`: the low 4 bits hold the field size. */
export const CsumReplaceFlags = {
  /** Mask of the low bits holding the size of the replaced field (2 or 4). */
  BPF_F_HDR_FIELD_MASK: 0xf,
  BPF_F_PSEUDO_HDR: 1 << 4,
  BPF_F_MARK_MANGLED_0: 1 << 5,
  BPF_F_MARK_ENFORCE: 1 << 6,
  /** Linux 6.16: the checksum is over an IPv6 pseudo header (CHECKSUM_COMPLETE fix). */
  BPF_F_IPV6: 1 << 7,
} as const;

/** Flags of `bpf_clone_redirect` / `bpf_redirect` / `bpf_redirect_map`. */
export const RedirectFlags = {
  /** Redirect to the ingress path of the target device (skb). */
  BPF_F_INGRESS: 1 << 0,
  /** Broadcast to every device of a devmap (XDP, Linux 5.13). */
  BPF_F_BROADCAST: 1 << 3,
  /** With BPF_F_BROADCAST: skip the ingress device (XDP, Linux 5.13). */
  BPF_F_EXCLUDE_INGRESS: 1 << 4,
} as const;

/**
 * `bpf_perf_event_output` / `bpf_perf_event_read` index flags. These are 64-bit
 * flags; the values here fit in a number (BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK = 0xffffffff).
 */
export const PerfEventFlags = {
  BPF_F_INDEX_MASK: 0xffffffff,
  BPF_F_CURRENT_CPU: 0xffffffff,
} as const;

/** `BPF_F_CTXLEN_MASK` (`0xfffff << 32`): bits 32..51 of the perf output flags carry the skb/xdp length to append. */
export const BPF_F_CTXLEN_MASK = 0xfffffn << 32n;

/** Flags of `bpf_skb_adjust_room` (64-bit flags; these bits all fit in a number). */
export const AdjRoomFlags = {
  BPF_F_ADJ_ROOM_FIXED_GSO: 1 << 0,
  BPF_F_ADJ_ROOM_ENCAP_L3_IPV4: 1 << 1,
  BPF_F_ADJ_ROOM_ENCAP_L3_IPV6: 1 << 2,
  BPF_F_ADJ_ROOM_ENCAP_L4_GRE: 1 << 3,
  BPF_F_ADJ_ROOM_ENCAP_L4_UDP: 1 << 4,
  BPF_F_ADJ_ROOM_NO_CSUM_RESET: 1 << 5,
  BPF_F_ADJ_ROOM_ENCAP_L2_ETH: 1 << 6,
  BPF_F_ADJ_ROOM_DECAP_L3_IPV4: 1 << 7,
  BPF_F_ADJ_ROOM_DECAP_L3_IPV6: 1 << 8,
} as const;

/** `BPF_F_ADJ_ROOM_ENCAP_L2(len)`: the inner L2 header length, placed in bits 56..63 of the 64-bit flags. */
export function adjRoomEncapL2(len: number): bigint {
  return (BigInt(len) & 0xffn) << 56n;
}

/** `enum bpf_adj_room_mode`: the `mode` argument of `bpf_skb_adjust_room`. */
export const AdjRoomMode = {
  BPF_ADJ_ROOM_NET: 0,
  BPF_ADJ_ROOM_MAC: 1,
} as const;

/** `enum bpf_hdr_start_off`: the `start_header` argument of `bpf_skb_load_bytes_relative`. */
export const HdrStartOff = {
  BPF_HDR_START_MAC: 0,
  BPF_HDR_START_NET: 1,
} as const;

/** Levels for `bpf_csum_level`. */
export const CsumLevel = {
  BPF_CSUM_LEVEL_QUERY: 0,
  BPF_CSUM_LEVEL_INC: 1,
  BPF_CSUM_LEVEL_DEC: 2,
  BPF_CSUM_LEVEL_RESET: 3,
} as const;

/** Flags of `bpf_skb_set_tunnel_key` / `bpf_skb_get_tunnel_key`. */
export const TunnelKeyFlags = {
  BPF_F_TUNINFO_IPV6: 1 << 0,
  BPF_F_ZERO_CSUM_TX: 1 << 1,
  BPF_F_DONT_FRAGMENT: 1 << 2,
  BPF_F_SEQ_NUMBER: 1 << 3,
  BPF_F_NO_TUNNEL_KEY: 1 << 4,
  BPF_F_TUNINFO_FLAGS: 1 << 4,
} as const;

/** Flags of `bpf_get_stackid` / `bpf_get_stack`. */
export const StackFlags = {
  BPF_F_SKIP_FIELD_MASK: 0xff,
  BPF_F_USER_STACK: 1 << 8,
  BPF_F_FAST_STACK_CMP: 1 << 9,
  BPF_F_REUSE_STACKID: 1 << 10,
  BPF_F_USER_BUILD_ID: 1 << 11,
} as const;

/** Flags of `bpf_{sk,inode,task,cgrp}_storage_get`. */
export const LocalStorageFlags = {
  BPF_LOCAL_STORAGE_GET_F_CREATE: 1 << 0,
} as const;

/** Flags of `bpf_ringbuf_output` / `_submit` / `_discard`, and the `bpf_ringbuf_query` selectors. */
export const RingbufFlags = {
  BPF_RB_NO_WAKEUP: 1 << 0,
  BPF_RB_FORCE_WAKEUP: 1 << 1,
} as const;

/** `bpf_ringbuf_query` selectors. */
export const RingbufQuery = {
  BPF_RB_AVAIL_DATA: 0,
  BPF_RB_RING_SIZE: 1,
  BPF_RB_CONS_POS: 2,
  BPF_RB_PROD_POS: 3,
} as const;

/** `bpf_sk_lookup_tcp` / `_udp` netns argument: the caller's network namespace (`-1`). */
export const BPF_F_CURRENT_NETNS = -1;

/** Flags of `bpf_fib_lookup`. */
export const FibLookupFlags = {
  BPF_FIB_LOOKUP_DIRECT: 1 << 0,
  BPF_FIB_LOOKUP_OUTPUT: 1 << 1,
  /** Linux 6.1. */
  BPF_FIB_LOOKUP_SKIP_NEIGH: 1 << 2,
  /** Linux 6.4. */
  BPF_FIB_LOOKUP_TBID: 1 << 3,
  /** Linux 6.7. */
  BPF_FIB_LOOKUP_SRC: 1 << 4,
  /** Linux 6.10. */
  BPF_FIB_LOOKUP_MARK: 1 << 5,
} as const;

/** Return codes of `bpf_fib_lookup`. */
export const FibLookupRet = {
  BPF_FIB_LKUP_RET_SUCCESS: 0,
  BPF_FIB_LKUP_RET_BLACKHOLE: 1,
  BPF_FIB_LKUP_RET_UNREACHABLE: 2,
  BPF_FIB_LKUP_RET_PROHIBIT: 3,
  BPF_FIB_LKUP_RET_NOT_FWDED: 4,
  BPF_FIB_LKUP_RET_FWD_DISABLED: 5,
  BPF_FIB_LKUP_RET_UNSUPP_LWT: 6,
  BPF_FIB_LKUP_RET_NO_NEIGH: 7,
  BPF_FIB_LKUP_RET_FRAG_NEEDED: 8,
  /** Linux 6.7. */
  BPF_FIB_LKUP_RET_NO_SRC_ADDR: 9,
} as const;

/** Flags and return codes of `bpf_check_mtu`. */
export const CheckMtu = {
  BPF_MTU_CHK_SEGS: 1 << 0,
  BPF_MTU_CHK_RET_SUCCESS: 0,
  BPF_MTU_CHK_RET_FRAG_NEEDED: 1,
  BPF_MTU_CHK_RET_SEGS_TOOBIG: 2,
} as const;

/** `bpf_skb_set_tstamp` clock ids (`tstamp_type` of `__sk_buff`). */
export const SkbClock = {
  BPF_SKB_CLOCK_REALTIME: 0,
  BPF_SKB_CLOCK_MONOTONIC: 1,
  /** Linux 6.11. */
  BPF_SKB_CLOCK_TAI: 2,
} as const;

/** Flags of `bpf_timer_start`. */
export const TimerFlags = {
  BPF_F_TIMER_ABS: 1 << 0,
  BPF_F_TIMER_CPU_PIN: 1 << 1,
} as const;
