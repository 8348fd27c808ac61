/**
 * Generic object queries: BPF_OBJ_GET_INFO_BY_FD into a raw buffer, opening
 * objects by id (BPF_*_GET_FD_BY_ID), walking ids (BPF_*_GET_NEXT_ID), and
 * what kind of BPF object a descriptor is.
 */
import { readlinkSync } from 'node:fs';
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { Attr, bpf, bpfRaw, commandName } from './syscall.js';
import { BpfError } from './errors.js';

const I = BpfAttr.info;
const infoFd = offsetOf(I, 'bpf_fd');
const infoLen = offsetOf(I, 'info_len');
const infoPtr = offsetOf(I, 'info');

/**
 * BPF_OBJ_GET_INFO_BY_FD: the kernel's `bpf_*_info` for `fd`. Pass the struct
 * size (a zeroed buffer is made) or a prepared buffer (pointer members set,
 * e.g. `map_ids`). Returns the buffer; bytes past what the kernel knows stay zero.
 */
export function objInfo(fd: number, sizeOrBuffer: number | Uint8Array): Uint8Array {
  const buf = typeof sizeOrBuffer === 'number' ? new Uint8Array(sizeOrBuffer) : sizeOrBuffer;
  const attr = new Attr().u32(infoFd, fd).u32(infoLen, buf.length).ptr(infoPtr, buf);
  bpf(BpfCmd.BPF_OBJ_GET_INFO_BY_FD, attr);
  return buf;
}

const G = BpfAttr.getId;
const getStartId = offsetOf(G, 'start_id');
const getNextId = offsetOf(G, 'next_id');
const getOpenFlags = offsetOf(G, 'open_flags');

/**
 * Opens an object by id: `cmd` is BPF_MAP_GET_FD_BY_ID, BPF_PROG_GET_FD_BY_ID,
 * BPF_LINK_GET_FD_BY_ID or BPF_BTF_GET_FD_BY_ID. Returns the new descriptor
 * (the caller owns it); an unknown id throws `BpfError` ENOENT.
 */
export function fdById(cmd: number, id: number, openFlags = 0): number {
  const attr = new Attr().u32(getStartId, id).u32(getOpenFlags, openFlags);
  return bpf(cmd, attr, `id ${id}`);
}

/** The kinds of object ids can be walked for. */
export type IdKind = 'map' | 'prog' | 'link' | 'btf';

const nextIdCmd: Record<IdKind, number> = {
  map: BpfCmd.BPF_MAP_GET_NEXT_ID,
  prog: BpfCmd.BPF_PROG_GET_NEXT_ID,
  link: BpfCmd.BPF_LINK_GET_NEXT_ID,
  btf: BpfCmd.BPF_BTF_GET_NEXT_ID,
};

/** The next id of `kind` after `start` (BPF_*_GET_NEXT_ID), or undefined after the last. */
export function nextId(kind: IdKind, start: number): number | undefined {
  const attr = new Attr().u32(getStartId, start);
  const cmd = nextIdCmd[kind];
  const r = bpfRaw(cmd, attr);
  if (r === -2) return undefined; // ENOENT: no more
  if (r < 0) throw new BpfError(commandName(cmd), -r);
  return attr.readU32(getNextId);
}

/** Every id of `kind` currently in the kernel (needs CAP_SYS_ADMIN). */
export function* allIds(kind: IdKind): Generator<number> {
  let id = 0;
  for (;;) {
    const next = nextId(kind, id);
    if (next === undefined) return;
    yield next;
    id = next;
  }
}

/** What kind of BPF object a descriptor refers to. */
export type FdKind = 'map' | 'prog' | 'link' | 'btf' | 'other';

/** The kind of object behind `fd`, from its anonymous inode name (`anon_inode:bpf-map`). */
export function fdKind(fd: number): FdKind {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return 'other';
  }
  switch (target) {
    case 'anon_inode:bpf-map':
      return 'map';
    case 'anon_inode:bpf-prog':
      return 'prog';
    case 'anon_inode:bpf_link':
    case 'anon_inode:bpf-link':
      return 'link';
    case 'anon_inode:btf':
      return 'btf';
    default:
      return 'other';
  }
}
