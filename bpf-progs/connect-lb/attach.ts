/**
 * Loading and attaching the connect-time load balancer: any datapath
 * implementation (the DSL one in datapath.ts, the C twin in twin.ts) over
 * the control plane's maps, its eight programs linked to a cgroup v2
 * directory (BPF links: they go away when closed), and `close()` undoing it
 * all.
 *
 * ```ts
 * using lb = ConnectLb.attach({ cgroup: '/sys/fs/cgroup/my.slice', datapath: dslDatapath() });
 * lb.controlPlane.addService({ vip: '10.96.0.10', port: 80, proto: 'tcp' }, [{ address: '10.1.0.2', port: 8080 }]);
 * ```
 *
 * Needs root and Linux 5.18 (bpf_set_retval in sock_addr programs; links 5.7).
 *
 * @module
 */
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { Link } from '../../lib/kernel/link.js';
import type { Program } from '../../lib/kernel/program.js';
import { AttachType } from '../../lib/uapi/prog-types.js';
import { ConnectLbControlPlane, createMaps, type ConnectLbMaps } from './control-plane.js';
import type { MapSizes } from './maps.js';

/** The eight hooks, by libbpf section suffix (`cgroup/<hook>`). */
export const HOOKS = ['connect4', 'connect6', 'sendmsg4', 'sendmsg6', 'recvmsg4', 'recvmsg6', 'getpeername4', 'getpeername6'] as const;
/** One of {@link HOOKS}. */
export type Hook = (typeof HOOKS)[number];

/** The attach type of each hook. */
export const HOOK_ATTACH_TYPES: Readonly<Record<Hook, number>> = {
  connect4: AttachType.BPF_CGROUP_INET4_CONNECT,
  connect6: AttachType.BPF_CGROUP_INET6_CONNECT,
  sendmsg4: AttachType.BPF_CGROUP_UDP4_SENDMSG,
  sendmsg6: AttachType.BPF_CGROUP_UDP6_SENDMSG,
  recvmsg4: AttachType.BPF_CGROUP_UDP4_RECVMSG,
  recvmsg6: AttachType.BPF_CGROUP_UDP6_RECVMSG,
  getpeername4: AttachType.BPF_CGROUP_INET4_GETPEERNAME,
  getpeername6: AttachType.BPF_CGROUP_INET6_GETPEERNAME,
};

/** A datapath loaded over given maps: one program per hook. */
export interface LoadedDatapath {
  /** Programs by hook (each loaded with its hook's expected attach type). */
  programs: Readonly<Record<Hook, Program>>;
  /** Closes the programs (not the maps it was given). */
  close(): void;
}

/** A datapath implementation: loads its eight programs over the control plane's maps. */
export interface DatapathImpl {
  /** Shown in outputs, e.g. `dsl` or `c(clang-22 -O2)`. */
  name: string;
  load(maps: ConnectLbMaps): LoadedDatapath;
}

/** Options of {@link ConnectLb.attach}. */
export interface AttachOptions {
  /** The datapath to load (required: `dslDatapath()` from datapath.ts, or `cTwinDatapath()` from twin.ts). */
  datapath: DatapathImpl;
  /**
   * The cgroup v2 directory: a `Cgroup`, an absolute path or a path relative
   * to the hierarchy root. Default: a dedicated cgroup `tsbpf-connect-lb-<pid>`
   * created under the root and removed by `close()`.
   */
  cgroup?: Cgroup | string;
  /** Map sizes (defaults in maps.ts). */
  sizes?: MapSizes;
  /** An existing control plane (its maps are used; `close()` leaves it open). */
  controlPlane?: ConnectLbControlPlane;
}

/** Attaches each hook's program to `cgroup`; on failure detaches what was attached and throws. */
export function attachPrograms(dp: LoadedDatapath, cgroup: Cgroup): Link[] {
  const links: Link[] = [];
  const dir = cgroup.open();
  try {
    for (const h of HOOKS) links.push(Link.cgroup(dp.programs[h], dir.value, HOOK_ATTACH_TYPES[h]));
    return links;
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  } finally {
    dir.close();
  }
}

/** The load balancer attached to a cgroup: control plane, datapath programs and links. */
export class ConnectLb {
  /** Services and backends. */
  readonly controlPlane: ConnectLbControlPlane;
  /** The cgroup the programs are attached to. */
  readonly cgroup: Cgroup;
  /** The datapath's name. */
  readonly datapathName: string;
  readonly #dp: LoadedDatapath;
  readonly #links: Link[];
  readonly #ownsControlPlane: boolean;
  readonly #ownsCgroup: boolean;
  #closed = false;

  private constructor(cp: ConnectLbControlPlane, ownsCp: boolean, cgroup: Cgroup, ownsCgroup: boolean, name: string, dp: LoadedDatapath, links: Link[]) {
    this.controlPlane = cp;
    this.#ownsControlPlane = ownsCp;
    this.#ownsCgroup = ownsCgroup;
    this.cgroup = cgroup;
    this.datapathName = name;
    this.#dp = dp;
    this.#links = links;
  }

  /** Creates the maps (unless a control plane is given), loads the datapath and links its programs to the cgroup. */
  static attach(options: AttachOptions): ConnectLb {
    const undo: Array<() => void> = [];
    try {
      let cp = options.controlPlane;
      if (!cp) {
        const maps = createMaps(options.sizes);
        cp = new ConnectLbControlPlane(maps, { ownsMaps: true });
        const owned = cp;
        undo.push(() => owned.close());
      }
      let cgroup: Cgroup;
      if (options.cgroup === undefined) {
        cgroup = Cgroup.create(`tsbpf-connect-lb-${process.pid}`);
        undo.push(() => cgroup.remove());
      } else cgroup = typeof options.cgroup === 'string' ? Cgroup.open(options.cgroup) : options.cgroup;
      const dp = options.datapath.load(cp.maps);
      undo.push(() => dp.close());
      const links = attachPrograms(dp, cgroup);
      return new ConnectLb(cp, !options.controlPlane, cgroup, options.cgroup === undefined, options.datapath.name, dp, links);
    } catch (e) {
      for (const u of undo.reverse()) u();
      throw e;
    }
  }

  /** The cgroup links, in {@link HOOKS} order. */
  get links(): readonly Link[] {
    return this.#links;
  }

  /** Programs by hook. */
  get programs(): Readonly<Record<Hook, Program>> {
    return this.#dp.programs;
  }

  /** Detaches (closes the links), closes programs and owned maps, removes the cgroup if it created it; harmless twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#links) l.close();
    this.#dp.close();
    if (this.#ownsControlPlane) this.controlPlane.close();
    if (this.#ownsCgroup) this.cgroup.remove();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
