/**
 * Map types (`enum bpf_map_type`) and the flags of map creation, element updates,
 * lookups and batch operations.
 *
 * Numbers from include/uapi/linux/bpf.h as of Linux 6.18.
 *
 * @module
 */
import { nameOf } from './lookup.js';

/** `enum bpf_map_type`: the `map_type` of BPF_MAP_CREATE. Keys are the C names. */
export const MapType = {
  BPF_MAP_TYPE_UNSPEC: 0,
  BPF_MAP_TYPE_HASH: 1,
  BPF_MAP_TYPE_ARRAY: 2,
  BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4,
  BPF_MAP_TYPE_PERCPU_HASH: 5,
  BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7,
  BPF_MAP_TYPE_CGROUP_ARRAY: 8,
  BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10,
  BPF_MAP_TYPE_LPM_TRIE: 11,
  BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13,
  BPF_MAP_TYPE_DEVMAP: 14,
  BPF_MAP_TYPE_SOCKMAP: 15,
  BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17,
  BPF_MAP_TYPE_SOCKHASH: 18,
  BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED: 19,
  /** Alias of BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED (same number). */
  BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED: 21,
  /** Alias of BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED (same number). */
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21,
  BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23,
  BPF_MAP_TYPE_SK_STORAGE: 24,
  BPF_MAP_TYPE_DEVMAP_HASH: 25,
  BPF_MAP_TYPE_STRUCT_OPS: 26,
  /** Linux 5.8. */
  BPF_MAP_TYPE_RINGBUF: 27,
  BPF_MAP_TYPE_INODE_STORAGE: 28,
  BPF_MAP_TYPE_TASK_STORAGE: 29,
  /** Linux 5.16. */
  BPF_MAP_TYPE_BLOOM_FILTER: 30,
  /** Linux 6.1. */
  BPF_MAP_TYPE_USER_RINGBUF: 31,
  /** Linux 6.2. */
  BPF_MAP_TYPE_CGRP_STORAGE: 32,
  /** Linux 6.9. */
  BPF_MAP_TYPE_ARENA: 33,
} as const;

/** A map type number. */
export type MapTypeNumber = (typeof MapType)[keyof typeof MapType];

/** The C name of map type `type` (`'BPF_MAP_TYPE_HASH'`), or `undefined`. Aliases read as the first (deprecated) name. */
export function mapTypeName(type: number): string | undefined {
  return nameOf(MapType, type);
}

/** `map_flags` of BPF_MAP_CREATE (also reported in `bpf_map_info.map_flags`). */
export const MapFlags = {
  /** Hash maps: allocate elements on demand instead of up front. */
  BPF_F_NO_PREALLOC: 1 << 0,
  /** LRU maps: a per-CPU LRU list instead of a common one. */
  BPF_F_NO_COMMON_LRU: 1 << 1,
  /** `numa_node` is valid. */
  BPF_F_NUMA_NODE: 1 << 2,
  /** Read-only for the syscall side (also an `open_flags`/`file_flags` value). */
  BPF_F_RDONLY: 1 << 3,
  /** Write-only for the syscall side (also an `open_flags`/`file_flags` value). */
  BPF_F_WRONLY: 1 << 4,
  /** Stack trace maps: store build id + offset instead of addresses. */
  BPF_F_STACK_BUILD_ID: 1 << 5,
  /** Hash maps: zero the hash seed (testing). */
  BPF_F_ZERO_SEED: 1 << 6,
  /** Read-only for programs. */
  BPF_F_RDONLY_PROG: 1 << 7,
  /** Write-only for programs. */
  BPF_F_WRONLY_PROG: 1 << 8,
  /** Storage maps: clone the element when the socket is cloned. */
  BPF_F_CLONE: 1 << 9,
  /** Array/arena/ringbuf: the map can be mmap()ed (Linux 5.5). */
  BPF_F_MMAPABLE: 1 << 10,
  /** Perf event arrays: keep elements when the creating fd is closed (Linux 5.10). */
  BPF_F_PRESERVE_ELEMS: 1 << 11,
  /** Inner map of a map-in-map may differ in max_entries (Linux 5.10). */
  BPF_F_INNER_MAP: 1 << 12,
  /** struct_ops maps: create a link-backed struct_ops (Linux 6.4). */
  BPF_F_LINK: 1 << 13,
  /** BPF_OBJ_PIN/BPF_OBJ_GET: `path_fd` is valid (Linux 6.5). */
  BPF_F_PATH_FD: 1 << 14,
  /** `value_type_btf_obj_fd` is valid (Linux 6.9). */
  BPF_F_VTYPE_BTF_OBJ_FD: 1 << 15,
  /** `map_token_fd`/`prog_token_fd`/`btf_token_fd` is valid (Linux 6.9). */
  BPF_F_TOKEN_FD: 1 << 16,
  /** Arenas: a fault on an unmapped page raises SIGSEGV in user space (Linux 6.9). */
  BPF_F_SEGV_ON_FAULT: 1 << 17,
  /** Arenas: no user-address conversion of arena pointers (Linux 6.9). */
  BPF_F_NO_USER_CONV: 1 << 18,
} as const;

/** `flags` of BPF_MAP_UPDATE_ELEM (and `elem_flags` of BPF_MAP_UPDATE_BATCH). */
export const UpdateFlags = {
  /** Create a new element or update an existing one. */
  BPF_ANY: 0,
  /** Create only if the key does not exist. */
  BPF_NOEXIST: 1,
  /** Update only if the key exists. */
  BPF_EXIST: 2,
  /** Take the element's bpf_spin_lock while copying the value. */
  BPF_F_LOCK: 4,
} as const;

/** `flags` of BPF_MAP_LOOKUP_ELEM / BPF_MAP_LOOKUP_AND_DELETE_ELEM. */
export const LookupFlags = {
  /** Copy the value under the element's bpf_spin_lock. */
  BPF_F_LOCK: 4,
} as const;

/** `batch.elem_flags` of the BPF_MAP_*_BATCH commands (`batch.flags` must be 0). */
export const BatchFlags = {
  /** Copy values under each element's bpf_spin_lock. */
  BPF_F_LOCK: 4,
} as const;

/** `file_flags` of BPF_OBJ_GET and `open_flags` of BPF_MAP_GET_FD_BY_ID. */
export const ObjAccessFlags = {
  BPF_F_RDONLY: 1 << 3,
  BPF_F_WRONLY: 1 << 4,
  /** BPF_OBJ_PIN / BPF_OBJ_GET: `path_fd` is valid (Linux 6.5). */
  BPF_F_PATH_FD: 1 << 14,
  /** BPF_*_GET_FD_BY_ID: `fd_by_id_token_fd` is valid. */
  BPF_F_TOKEN_FD: 1 << 16,
} as const;

/** `BPF_OBJ_NAME_LEN`: bytes of `map_name`/`prog_name`, including the terminating NUL. */
export const BPF_OBJ_NAME_LEN = 16;

/** `BPF_TAG_SIZE`: bytes of `bpf_prog_info.tag`. */
export const BPF_TAG_SIZE = 8;
