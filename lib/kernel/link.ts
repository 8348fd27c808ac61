/**
 * BPF links (BPF_LINK_CREATE, Linux 5.7+): a program attached to a hook for as
 * long as the link lives. A link is released when its last descriptor closes
 * and it is not pinned; `detach()` (Linux 5.9) cuts it from the hook while the
 * descriptor stays open.
 *
 * Supported here: XDP on a device (Linux 5.9), tcx ingress/egress (Linux 6.6),
 * and cgroup hooks (cgroup sock_addr connect/sendmsg/recvmsg/getpeername and the
 * other cgroup attach types, Linux 5.7).
 */
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr, BpfLinkInfo } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { AttachFlags, AttachType, LinkType, attachTypeName } from '../uapi/prog-types.js';
import { Attr, bpf } from './syscall.js';
import { FD } from './fd.js';
import { pinFd, openPinnedFd } from './bpffs.js';
import { objInfo, fdById } from './info.js';
import type { Program } from './program.js';
import type { Cgroup } from './cgroup.js';

const C = BpfAttr.linkCreate;
const co = (name: string) => offsetOf(C, name);
const LI = BpfLinkInfo;
const li = (name: string) => offsetOf(LI, name);

/** Everything BPF_LINK_CREATE takes for the link kinds supported here. */
export interface LinkCreateSpec {
  /** The program (or its descriptor). */
  prog: Program | number;
  /** `AttachType` number. */
  attachType: number;
  /** Target: an interface index (XDP, tcx) or a descriptor (cgroup directory). */
  target: number;
  /** `flags`: `XdpFlags` for XDP, `AttachFlags` (BPF_F_BEFORE, ...) for tcx and cgroups. */
  flags?: number;
  /** tcx/cgroup (mprog): the program or link the new one goes before/after (with BPF_F_BEFORE/AFTER). */
  relativeFdOrId?: number;
  /** tcx/cgroup (mprog): fail unless the attach point's revision is this one. */
  expectedRevision?: bigint;
}

/** What BPF_OBJ_GET_INFO_BY_FD tells about a link. */
export interface LinkInfo {
  /** `LinkType` number. */
  type: number;
  id: number;
  progId: number;
  /** XDP and tcx links: the interface index. */
  ifindex?: number;
  /** tcx and cgroup links: the attach type. */
  attachType?: number;
  /** cgroup links: the cgroup id. */
  cgroupId?: bigint;
}

const TCX_TYPES: Record<'ingress' | 'egress', number> = {
  ingress: AttachType.BPF_TCX_INGRESS,
  egress: AttachType.BPF_TCX_EGRESS,
};

/** Encodes the BPF_LINK_CREATE attr (pure: no syscall). */
export function encodeLinkCreateAttr(spec: LinkCreateSpec): Attr {
  const attr = new Attr();
  const progFd = typeof spec.prog === 'number' ? spec.prog : spec.prog.fd;
  attr
    .u32(co('prog_fd'), progFd)
    .u32(co('target_fd'), spec.target)
    .u32(co('attach_type'), spec.attachType)
    .u32(co('flags'), spec.flags ?? 0);
  if (spec.relativeFdOrId !== undefined) attr.u32(co('tcx.relative_fd'), spec.relativeFdOrId);
  if (spec.expectedRevision !== undefined) attr.u64(co('tcx.expected_revision'), spec.expectedRevision);
  return attr;
}

/** A BPF link. Closing it detaches the program unless the link is pinned. */
export class Link {
  readonly #fd: FD;

  private constructor(fd: FD) {
    this.#fd = fd;
  }

  /** BPF_LINK_CREATE with the given attach type and target. */
  static create(spec: LinkCreateSpec): Link {
    const what = `${attachTypeName(spec.attachType) ?? `attach type ${spec.attachType}`} on ${spec.target}`;
    const fd = bpf(BpfCmd.BPF_LINK_CREATE, encodeLinkCreateAttr(spec), what);
    return new Link(new FD(fd, `link ${what}`));
  }

  /** Attaches an XDP program to interface `ifindex` (Linux 5.9). `flags`: `XdpFlags` mode bits (default: the driver's best). */
  static xdp(prog: Program | number, ifindex: number, options: { flags?: number } = {}): Link {
    return Link.create({ prog, attachType: AttachType.BPF_XDP, target: ifindex, flags: options.flags });
  }

  /** Attaches a SCHED_CLS program to the tcx ingress or egress hook of `ifindex` (Linux 6.6). */
  static tcx(
    prog: Program | number,
    ifindex: number,
    direction: 'ingress' | 'egress',
    options: { flags?: number; relativeFdOrId?: number; expectedRevision?: bigint } = {},
  ): Link {
    return Link.create({ prog, attachType: TCX_TYPES[direction], target: ifindex, ...options });
  }

  /**
   * Attaches a cgroup program (e.g. `BPF_CGROUP_INET4_CONNECT` for a sock_addr
   * program loaded with that expected attach type) to a cgroup: a `Cgroup`, or
   * an open cgroup directory descriptor. It also applies to descendant cgroups.
   */
  static cgroup(prog: Program | number, cgroup: Cgroup | number, attachType: number, options: { flags?: number } = {}): Link {
    if (typeof cgroup === 'number') return Link.create({ prog, attachType, target: cgroup, flags: options.flags });
    const dir = cgroup.open();
    try {
      return Link.create({ prog, attachType, target: dir.value, flags: options.flags });
    } finally {
      dir.close();
    }
  }

  /** Takes ownership of a link descriptor. */
  static fromFd(fd: number): Link {
    return new Link(new FD(fd, 'link'));
  }

  /** Opens the link with kernel id `id` (BPF_LINK_GET_FD_BY_ID). */
  static fromId(id: number): Link {
    return Link.fromFd(fdById(BpfCmd.BPF_LINK_GET_FD_BY_ID, id));
  }

  /** Opens a link pinned at `path` on bpffs. */
  static openPinned(path: string): Link {
    return Link.fromFd(openPinnedFd(path));
  }

  /** The link descriptor; throws `ClosedError` after close. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Pins the link at `path` on bpffs: the attachment then outlives this process until the pin is removed. */
  pin(path: string): void {
    pinFd(this.fd, path);
  }

  /**
   * Replaces the link's program atomically (BPF_LINK_UPDATE, Linux 5.7; XDP
   * links 5.9). With `expected`, fails unless that program is the current one.
   */
  update(prog: Program | number, options: { expected?: Program | number } = {}): void {
    const U = BpfAttr.linkUpdate;
    const fdOf = (p: Program | number) => (typeof p === 'number' ? p : p.fd);
    const attr = new Attr().u32(offsetOf(U, 'link_fd'), this.fd).u32(offsetOf(U, 'new_prog_fd'), fdOf(prog));
    if (options.expected !== undefined) {
      attr.u32(offsetOf(U, 'flags'), AttachFlags.BPF_F_REPLACE).u32(offsetOf(U, 'old_prog_fd'), fdOf(options.expected));
    }
    bpf(BpfCmd.BPF_LINK_UPDATE, attr);
  }

  /** Detaches the program from its hook (BPF_LINK_DETACH, Linux 5.9); the descriptor stays open (and defunct). */
  detach(): void {
    const attr = new Attr().u32(offsetOf(BpfAttr.linkDetach, 'link_fd'), this.fd);
    bpf(BpfCmd.BPF_LINK_DETACH, attr);
  }

  /** What the kernel reports about the link (BPF_OBJ_GET_INFO_BY_FD). */
  info(): LinkInfo {
    const buf = objInfo(this.fd, LI.size);
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const type = v.getUint32(li('type'), true);
    const info: LinkInfo = { type, id: v.getUint32(li('id'), true), progId: v.getUint32(li('prog_id'), true) };
    switch (type) {
      case LinkType.BPF_LINK_TYPE_XDP:
        info.ifindex = v.getUint32(li('xdp.ifindex'), true);
        break;
      case LinkType.BPF_LINK_TYPE_TCX:
        info.ifindex = v.getUint32(li('tcx.ifindex'), true);
        info.attachType = v.getUint32(li('tcx.attach_type'), true);
        break;
      case LinkType.BPF_LINK_TYPE_CGROUP:
        info.cgroupId = v.getBigUint64(li('cgroup.cgroup_id'), true);
        info.attachType = v.getUint32(li('cgroup.attach_type'), true);
        break;
      default:
        break;
    }
    return info;
  }

  /** Closes the descriptor (the link goes away unless pinned or held elsewhere); harmless twice. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
