/**
 * The connect-time load balancer's control plane: services and their
 * backends in the maps the cgroup datapath reads (layouts in maps.ts), added,
 * updated and removed while programs run.
 *
 * Consistency without locks, for a datapath that reads the service entry and
 * then one backend slot:
 * - backend slots are written before the service entry counts them, and
 *   deleted only after the count no longer covers them; a removed backend's
 *   slot is first overwritten with the last backend (a reader meanwhile picks
 *   a duplicate, never a hole);
 * - every service instance gets a fresh revision (a global counter); reverse
 *   entries carry the revision they were made under, so once a service is
 *   removed, or removed and added again, recvmsg/getpeername no longer
 *   rewrite for sockets made before (the datapath deletes such entries when
 *   it meets them). Changing a live service's backends keeps its revision:
 *   sockets of its remaining backends keep reporting the VIP.
 *
 * Bulk programming (`addServices`) writes all backends and then all services
 * with BPF_MAP_UPDATE_BATCH (Linux 5.6), a few syscalls for 10,000 services.
 *
 * ```ts
 * using lb = ConnectLbControlPlane.create();
 * lb.addService({ vip: '10.96.0.10', port: 80, proto: 'tcp' }, [{ address: '10.1.0.2', port: 8080 }]);
 * lb.addBackend({ vip: '10.96.0.10', port: 80, proto: 'tcp' }, { address: '10.1.0.3', port: 8080 });
 * ```
 *
 * Needs root (CAP_BPF).
 *
 * @module
 */
import { BpfMap } from '../../lib/kernel/map.js';
import {
  BackendKey,
  BackendValue,
  ConnectLbError,
  SvcKey,
  SvcValue,
  addr16,
  addr16Into,
  addrText,
  backendValueInto,
  backendsMapSpec,
  checkPort,
  protoNumber,
  revMapSpec,
  servicesMapSpec,
  svcKeyInto,
  type MapSizes,
} from './maps.js';

/** A service: virtual IP, destination port and protocol. */
export interface ServiceId {
  /** Virtual IP: IPv4 or IPv6 text (an IPv4-mapped IPv6 address is the same service as its IPv4 form). */
  vip: string;
  /** Destination port. */
  port: number;
  /** `'tcp'`, `'udp'`, or the protocol number 6 / 17. */
  proto: 'tcp' | 'udp' | 6 | 17;
}

/** A backend: address (of the VIP's family) and port. */
export interface BackendAddr {
  address: string;
  port: number;
}

/** A service and its backends, for bulk programming. */
export interface ServiceSpec {
  service: ServiceId;
  backends: readonly BackendAddr[];
}

/** The datapath's maps. */
export interface ConnectLbMaps {
  /** `lb_svc` */
  services: BpfMap;
  /** `lb_backends` */
  backends: BpfMap;
  /** `lb_rev` */
  rev: BpfMap;
}

/** What the control plane knows about a service. */
export interface ServiceState {
  /** Canonical: plain IPv4 text for IPv4 VIPs, `proto` as `'tcp'`/`'udp'`. */
  service: { vip: string; port: number; proto: 'tcp' | 'udp' };
  /** The service id (the backend slots' key). */
  id: number;
  /** The revision reverse entries must carry to be honoured. */
  revision: number;
  /** Backends in slot order. */
  backends: BackendAddr[];
}

interface Svc {
  state: ServiceState;
  key: Uint8Array;
  family: 4 | 6;
  /** Address bytes of the backends, 16 each, in slot order. */
  addrs: Uint8Array;
}

const latin1 = (b: Uint8Array) => String.fromCharCode.apply(null, b as unknown as number[]);

/** A service's map key, which is also its identity. */
function svcKey(s: ServiceId): Uint8Array {
  const k = new Uint8Array(SvcKey.size);
  svcKeyInto(k, 0, addr16(s.vip).bytes, checkPort(s.port), protoNumber(s.proto));
  return k;
}
const svcName = (s: ServiceId) => latin1(svcKey(s));
const backendName = (b: BackendAddr) => `${latin1(addr16(b.address).bytes)}|${b.port}`;

function backendKey(id: number, slot: number): Uint8Array {
  const k = new Uint8Array(8);
  const v = new DataView(k.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, slot, true);
  return k;
}

/**
 * Manages services and backends in the connect-time LB maps. Create it with
 * its own maps (`ConnectLbControlPlane.create()`) or over maps a loaded
 * datapath uses (`new ConnectLbControlPlane(maps)`; `close()` then leaves
 * them open unless `ownsMaps`).
 */
export class ConnectLbControlPlane {
  /** The datapath's maps. */
  readonly maps: ConnectLbMaps;
  readonly #ownsMaps: boolean;
  readonly #services = new Map<string, Svc>();
  readonly #freeIds: number[] = [];
  #nextId = 1;
  #revision = 0;
  #backendCount = 0;
  #closed = false;

  /** Uses existing (empty) maps; with `ownsMaps`, `close()` closes them too. */
  constructor(maps: ConnectLbMaps, options: { ownsMaps?: boolean } = {}) {
    this.maps = maps;
    this.#ownsMaps = options.ownsMaps ?? false;
  }

  /** Creates the three maps (sizes from maps.ts unless given) and a control plane owning them. */
  static create(sizes: MapSizes = {}): ConnectLbControlPlane {
    return new ConnectLbControlPlane(createMaps(sizes), { ownsMaps: true });
  }

  #check(): void {
    if (this.#closed) throw new ConnectLbError('the connect-lb control plane is closed');
  }

  /** Number of services. */
  get size(): number {
    return this.#services.size;
  }

  /** The state of a service, or undefined. */
  service(id: ServiceId): ServiceState | undefined {
    const s = this.#services.get(svcName(id));
    return s ? structuredClone(s.state) : undefined;
  }

  /** Every service. */
  services(): ServiceState[] {
    return [...this.#services.values()].map((s) => structuredClone(s.state));
  }

  #prepare(id: ServiceId, backends: readonly BackendAddr[]): Svc {
    const key = new Uint8Array(SvcKey.size);
    const vf = addr16Into(id.vip, key, 0);
    const family = vf === 6 ? 6 : 4;
    const proto = protoNumber(id.proto);
    checkPort(id.port);
    key[16] = id.port >> 8;
    key[17] = id.port & 0xff;
    key[18] = proto;
    const n = backends.length;
    const list: BackendAddr[] = new Array(n);
    const addrs = new Uint8Array(16 * n);
    for (let i = 0; i < n; i++) {
      const b = backends[i]!;
      checkPort(b.port, `port of backend ${b.address}`);
      const f = addr16Into(b.address, addrs, 16 * i);
      if ((f === 6 ? 6 : 4) !== family) throw new ConnectLbError(`backend ${b.address} is not of the family of ${id.vip} (IPv${family})`);
      list[i] = { address: f === -4 ? b.address : addrText(addrs.subarray(16 * i, 16 * i + 16)), port: b.port };
    }
    if (n > 1) {
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const name = `${list[i]!.address}|${list[i]!.port}`;
        if (seen.has(name)) throw new ConnectLbError(`backend ${list[i]!.address}:${list[i]!.port} is listed twice`);
        seen.add(name);
      }
    }
    return {
      state: { service: { vip: vf === -4 ? id.vip : addrText(key.subarray(0, 16)), port: id.port, proto: proto === 6 ? 'tcp' : 'udp' }, id: 0, revision: 0, backends: list },
      key,
      family,
      addrs,
    };
  }

  #allocId(): number {
    const id = this.#freeIds.pop() ?? this.#nextId++;
    if (id > 0xffffffff) throw new ConnectLbError('out of service ids');
    return id;
  }

  #reserve(services: number, backends: number): void {
    if (this.#services.size + services > this.maps.services.maxEntries) throw new ConnectLbError(`at most ${this.maps.services.maxEntries} services`);
    if (this.#backendCount + backends > this.maps.backends.maxEntries) throw new ConnectLbError(`at most ${this.maps.backends.maxEntries} backends in all`);
  }

  #svcValue(s: Svc, out = new Uint8Array(SvcValue.size), off = 0): Uint8Array {
    const v = new DataView(out.buffer, out.byteOffset + off, SvcValue.size);
    v.setUint32(0, s.state.id, true);
    v.setUint32(4, s.state.backends.length, true);
    v.setUint32(8, s.state.revision, true);
    return out;
  }

  /** Adds a service with its backends (none: connect/sendmsg to it fail with EHOSTUNREACH). Throws if it exists. */
  addService(id: ServiceId, backends: readonly BackendAddr[] = []): ServiceState {
    this.#check();
    this.addServices([{ service: id, backends }]);
    return this.service(id)!;
  }

  /**
   * Adds many services at once: one batch update for all their backends,
   * then one for the services. Throws (and changes nothing) if any exists or
   * is listed twice. Returns the number added.
   */
  addServices(specs: readonly ServiceSpec[]): number {
    this.#check();
    const made: Svc[] = [];
    const names = new Set<string>();
    let nBackends = 0;
    for (const spec of specs) {
      const s = this.#prepare(spec.service, spec.backends);
      const name = latin1(s.key);
      if (this.#services.has(name) || names.has(name)) throw new ConnectLbError(`service ${s.state.service.vip}:${spec.service.port}/${spec.service.proto} already exists`);
      names.add(name);
      made.push(s);
      nBackends += s.state.backends.length;
    }
    this.#reserve(made.length, nBackends);
    if (made.length === 0) return 0;
    const bKeys = new Uint8Array(nBackends * BackendKey.size);
    const bVals = new Uint8Array(nBackends * BackendValue.size);
    const sKeys = new Uint8Array(made.length * SvcKey.size);
    const sVals = new Uint8Array(made.length * SvcValue.size);
    const bKeyView = new DataView(bKeys.buffer);
    let j = 0;
    made.forEach((s, i) => {
      s.state.id = this.#allocId();
      s.state.revision = this.#nextRevision();
      s.state.backends.forEach((b, slot) => {
        bKeyView.setUint32(j * BackendKey.size, s.state.id, true);
        bKeyView.setUint32(j * BackendKey.size + 4, slot, true);
        backendValueInto(bVals, j * BackendValue.size, s.addrs.subarray(16 * slot, 16 * slot + 16), b.port);
        j++;
      });
      sKeys.set(s.key, i * SvcKey.size);
      this.#svcValue(s, sVals, i * SvcValue.size);
    });
    try {
      if (nBackends > 0) this.maps.backends.updateBatch(bKeys, bVals);
      this.maps.services.updateBatch(sKeys, sVals);
    } catch (e) {
      // Undo what may have been written; the ids go back to the pool.
      for (const s of made) {
        this.maps.services.delete(s.key);
        for (let slot = 0; slot < s.state.backends.length; slot++) this.maps.backends.delete(backendKey(s.state.id, slot));
        this.#freeIds.push(s.state.id);
      }
      throw e;
    }
    for (const s of made) this.#services.set(latin1(s.key), s);
    this.#backendCount += nBackends;
    return made.length;
  }

  #nextRevision(): number {
    this.#revision = (this.#revision + 1) >>> 0 || 1;
    return this.#revision;
  }

  #get(id: ServiceId): Svc {
    this.#check();
    const s = this.#services.get(svcName(id));
    if (!s) throw new ConnectLbError(`no service ${id.vip}:${id.port}/${id.proto}`);
    return s;
  }

  /**
   * Replaces the backends of an existing service. The revision stays (sockets
   * of backends still present keep their reverse translation) unless
   * `newRevision`: then every reverse entry made before becomes stale.
   */
  updateService(id: ServiceId, backends: readonly BackendAddr[], options: { newRevision?: boolean } = {}): ServiceState {
    const s = this.#get(id);
    if (options.newRevision) s.state.revision = this.#nextRevision();
    const prepared = this.#prepare(id, backends);
    const next = prepared.state.backends;
    const old = s.state.backends.length;
    this.#reserve(0, Math.max(0, next.length - old));
    // New and overwritten slots first, then the count, then slots past the new count.
    const value = new Uint8Array(BackendValue.size);
    next.forEach((b, slot) => {
      backendValueInto(value, 0, prepared.addrs.subarray(16 * slot, 16 * slot + 16), b.port);
      this.maps.backends.update(backendKey(s.state.id, slot), value);
    });
    s.state.backends = next;
    s.addrs = prepared.addrs;
    this.maps.services.update(s.key, this.#svcValue(s));
    for (let slot = next.length; slot < old; slot++) this.maps.backends.delete(backendKey(s.state.id, slot));
    this.#backendCount += next.length - old;
    return structuredClone(s.state);
  }

  /** Adds the service or replaces its backends. */
  setService(id: ServiceId, backends: readonly BackendAddr[]): ServiceState {
    this.#check();
    return this.#services.has(svcName(id)) ? this.updateService(id, backends) : this.addService(id, backends);
  }

  /** Adds one backend to a service (no-op if present). */
  addBackend(id: ServiceId, backend: BackendAddr): ServiceState {
    const s = this.#get(id);
    const name = backendName(backend);
    if (s.state.backends.some((b) => backendName(b) === name)) return structuredClone(s.state);
    return this.updateService(id, [...s.state.backends, backend]);
  }

  /** Removes one backend of a service (its slot takes the last backend); false if it was not there. */
  removeBackend(id: ServiceId, backend: BackendAddr): boolean {
    const s = this.#get(id);
    const name = backendName(backend);
    const i = s.state.backends.findIndex((b) => backendName(b) === name);
    if (i < 0) return false;
    const list = [...s.state.backends];
    const last = list.pop()!;
    if (i < list.length) list[i] = last;
    this.updateService(id, list);
    return true;
  }

  /** Removes a service and its backend slots; reverse entries made under it become stale. False if unknown. */
  removeService(id: ServiceId): boolean {
    this.#check();
    const name = svcName(id);
    const s = this.#services.get(name);
    if (!s) return false;
    this.maps.services.delete(s.key);
    const n = s.state.backends.length;
    if (n > 0) {
      const keys = new Uint8Array(n * BackendKey.size);
      for (let slot = 0; slot < n; slot++) keys.set(backendKey(s.state.id, slot), slot * BackendKey.size);
      this.maps.backends.deleteBatch(keys);
    }
    this.#services.delete(name);
    this.#freeIds.push(s.state.id);
    this.#backendCount -= n;
    return true;
  }

  /** Removes every service. */
  clear(): void {
    for (const s of [...this.#services.values()]) this.removeService(s.state.service);
  }

  /** Closes the maps if this control plane owns them; harmless twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsMaps) {
      this.maps.services.close();
      this.maps.backends.close();
      this.maps.rev.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Creates the three maps of the datapath (closed by the caller). */
export function createMaps(sizes: MapSizes = {}): ConnectLbMaps {
  const made: BpfMap[] = [];
  try {
    const services = BpfMap.create(servicesMapSpec(sizes.maxServices));
    made.push(services);
    const backends = BpfMap.create(backendsMapSpec(sizes.maxBackends));
    made.push(backends);
    const rev = BpfMap.create(revMapSpec(sizes.maxRev));
    made.push(rev);
    return { services, backends, rev };
  } catch (e) {
    for (const m of made) m.close();
    throw e;
  }
}
