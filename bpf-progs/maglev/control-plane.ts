/**
 * The Maglev load balancer's control plane: services and their backends in
 * the kernel maps that the XDP datapath reads (layouts in maps.ts).
 *
 * Every change to a service builds a new inner Maglev table map of the
 * service's own size (filled with one BPF_MAP_UPDATE_BATCH), swaps it into
 * the outer `services` map with one update, which the kernel applies
 * atomically (the datapath sees either the old table or the new one, never a
 * half-built one), and drops our descriptor of it (the outer map holds the
 * table; the old one is freed by the kernel once no program uses it).
 *
 * Backends are shared between services by address: one backend id per
 * address, reference-counted. A new backend's entry is written before any
 * table refers to it; a backend's entry is cleared only after the last table
 * referring to it has been swapped out.
 *
 * ```ts
 * using lb = MaglevControlPlane.create({ seed: 42, src4: '192.0.2.1' });
 * lb.addService({ vip: '198.51.100.1', port: 80, proto: 'tcp' }, [{ address: '10.0.0.1' }, { address: '10.0.0.2', weight: 2 }]);
 * lb.addBackend({ vip: '198.51.100.1', port: 80, proto: 'tcp' }, { address: '10.0.0.3' });
 * ```
 *
 * Needs root (CAP_BPF) and Linux 5.10 (BPF_F_INNER_MAP; batch updates 5.6).
 *
 * @module
 */
import { BpfMap } from '../../lib/kernel/map.js';
import { formatIpv6 } from '../../lib/layout/index.js';
import { DEFAULT_TABLE_SIZE, MAGLEV_PRIMES, MAX_TABLE_SIZE, MaglevError, checkTableSize, maglevTable, sortBackends } from './table.js';
import {
  LbConfig,
  MAX_BACKENDS,
  MAX_SERVICES,
  Proto,
  addrBytes,
  backendBytes,
  backendsMapSpec,
  configMapSpec,
  connsMapSpec,
  servicesMapSpec,
  svcKeyBytes,
  tableMapSpec,
  type LbConfigValue,
} from './maps.js';

/** A service: virtual IP, destination port and protocol. */
export interface ServiceId {
  /** Virtual IP (IPv4 or IPv6 text). */
  vip: string;
  /** Destination port. */
  port: number;
  /** `'tcp'`, `'udp'`, or the protocol number 6 / 17. */
  proto: 'tcp' | 'udp' | 6 | 17;
}

/** A backend of a service. */
export interface BackendConfig {
  /** Backend address (IPv4 or IPv6 text); the encapsulation's outer destination. */
  address: string;
  /** Stable name hashed by Maglev (default: the canonical address text). */
  name?: string;
  /** Relative weight (integer 0..2^24, default 1). */
  weight?: number;
}

/** Table size of a service: a prime from 251 to 131071, or `'auto'` (the smallest usual prime of at least 100 slots per backend). */
export type TableSize = number | 'auto';

/** Options of one service. */
export interface ServiceOptions {
  /** Default: the control plane's `tableSize` (16381 unless set). */
  tableSize?: TableSize;
}

/** Options of {@link MaglevControlPlane.create}. */
export interface ControlPlaneOptions {
  /** Outer map capacity (default 1024). */
  maxServices?: number;
  /** Backend array entries (default 65536). */
  maxBackends?: number;
  /** Default table size of services (default 16381). */
  tableSize?: TableSize;
  /** Flow hash seed (default 0). */
  seed?: number;
  /** Outer IPv4 source address of the encapsulation (default 0.0.0.0). */
  src4?: string;
  /** Outer IPv6 source address (default ::). */
  src6?: string;
  /** `create()` also makes the LRU connection table `conns` (default false). */
  connTable?: boolean;
}

/** The maps of the datapath (`conns` only with the optional connection table). */
export interface MaglevMaps {
  services: BpfMap;
  backends: BpfMap;
  config: BpfMap;
  conns?: BpfMap;
}

/** What the control plane knows about a service. */
export interface ServiceState {
  id: ServiceId;
  /** Table size M of the installed table (0: empty table, the datapath drops). */
  tableSize: number;
  /** Backends in Maglev order (by name), with their backend ids. */
  backends: Array<Required<BackendConfig> & { id: number }>;
}

interface Svc {
  id: ServiceId;
  key: Uint8Array;
  tableSize: TableSize | undefined;
  /** By Maglev name. */
  backends: Map<string, Required<BackendConfig>>;
  installedSize: number;
}

interface BackendSlot {
  id: number;
  refs: number;
}

function protoNumber(p: ServiceId['proto']): number {
  if (p === 'tcp' || p === Proto.tcp) return Proto.tcp;
  if (p === 'udp' || p === Proto.udp) return Proto.udp;
  throw new MaglevError(`protocol must be 'tcp', 'udp', 6 or 17, got ${String(p)}`);
}

/** Canonical text of an address (IPv4 dotted quad, IPv6 RFC 5952). */
export function canonicalAddress(text: string): string {
  const a = addrBytes(text);
  return a.family === 4 ? Array.from(a.bytes.subarray(0, 4)).join('.') : formatIpv6(a.bytes);
}

/** The table size `'auto'` picks for `n` backends: the smallest usual prime of at least 100 * n (251 .. 131071). */
export function autoTableSize(n: number): number {
  for (const p of MAGLEV_PRIMES) if (p >= 100 * n) return p;
  return MAX_TABLE_SIZE;
}

let slotKeys: Uint8Array | undefined;
/** Keys 0 .. n - 1 of an array map as little-endian u32 bytes (shared, grown once). */
function arrayKeys(n: number): Uint8Array {
  if (!slotKeys || slotKeys.length < 4 * n) {
    const k = new Uint32Array(Math.max(n, MAX_TABLE_SIZE + 1));
    for (let i = 0; i < k.length; i++) k[i] = i;
    slotKeys = new Uint8Array(k.buffer);
  }
  return slotKeys.subarray(0, 4 * n);
}

/**
 * Manages services and backends in the Maglev maps. Create it with its own
 * maps (`MaglevControlPlane.create()`) or over maps a loaded collection owns
 * (`new MaglevControlPlane(maps)`; `close()` then leaves them open).
 */
export class MaglevControlPlane {
  /** The datapath's maps. */
  readonly maps: MaglevMaps;
  readonly #ownsMaps: boolean;
  readonly #defaultSize: TableSize;
  readonly #services = new Map<string, Svc>();
  /** Backend slots by canonical address. */
  readonly #backends = new Map<string, BackendSlot>();
  readonly #freeIds: number[] = [];
  #nextId = 1;
  readonly #maxBackends: number;
  #config: LbConfigValue = { seed: 0, src4: '0.0.0.0', src6: '::' };
  #closed = false;

  /**
   * Uses existing maps (for example those of a loaded datapath). The backend
   * and service maps are expected to be empty; the config entry is written
   * when `options` sets any of seed, src4, src6. With `ownsMaps`, `close()`
   * closes the maps too.
   */
  constructor(maps: MaglevMaps, options: Omit<ControlPlaneOptions, 'maxServices' | 'maxBackends'> & { ownsMaps?: boolean } = {}) {
    this.maps = maps;
    this.#ownsMaps = options.ownsMaps ?? false;
    this.#defaultSize = options.tableSize ?? DEFAULT_TABLE_SIZE;
    if (this.#defaultSize !== 'auto') checkTableSize(this.#defaultSize);
    this.#maxBackends = maps.backends.maxEntries;
    if (options.seed !== undefined || options.src4 !== undefined || options.src6 !== undefined) {
      this.setConfig({ seed: options.seed, src4: options.src4, src6: options.src6 });
    }
  }

  /** Creates the maps (`conns` too with `connTable`) and a control plane that owns them (closed by `close()`). */
  static create(options: ControlPlaneOptions = {}): MaglevControlPlane {
    const made: BpfMap[] = [];
    try {
      const services = BpfMap.create(servicesMapSpec(options.maxServices ?? MAX_SERVICES));
      made.push(services);
      const backends = BpfMap.create(backendsMapSpec(options.maxBackends ?? MAX_BACKENDS));
      made.push(backends);
      const config = BpfMap.create(configMapSpec());
      made.push(config);
      const conns = options.connTable ? BpfMap.create(connsMapSpec()) : undefined;
      if (conns) made.push(conns);
      const { maxServices: _s, maxBackends: _b, connTable: _c, ...rest } = options;
      return new MaglevControlPlane({ services, backends, config, ...(conns ? { conns } : {}) }, { ...rest, seed: rest.seed ?? 0, ownsMaps: true });
    } catch (e) {
      for (const m of made) m.close();
      throw e;
    }
  }

  #check(): void {
    if (this.#closed) throw new MaglevError('the Maglev control plane is closed');
  }

  /** The current config (seed and outer source addresses). */
  get config(): Readonly<LbConfigValue> {
    return this.#config;
  }

  /** Sets the flow hash seed and/or the outer source addresses (one map update). */
  setConfig(cfg: { seed?: number; src4?: string; src6?: string }): void {
    this.#check();
    const next: LbConfigValue = {
      seed: cfg.seed ?? this.#config.seed,
      src4: cfg.src4 ?? this.#config.src4,
      src6: cfg.src6 ?? this.#config.src6,
    };
    this.maps.config.update(new Uint8Array(4), LbConfig.encode(next));
    this.#config = next;
  }

  #svcName(s: ServiceId): string {
    return `${canonicalAddress(s.vip)}|${s.port}|${protoNumber(s.proto)}`;
  }

  #normalize(b: BackendConfig): Required<BackendConfig> {
    const address = canonicalAddress(b.address);
    return { address, name: b.name ?? address, weight: b.weight ?? 1 };
  }

  /** Adds a service with its backends (possibly none: the datapath then drops its traffic). Throws if it exists. */
  addService(id: ServiceId, backends: readonly BackendConfig[] = [], options: ServiceOptions = {}): ServiceState {
    this.#check();
    const name = this.#svcName(id);
    if (this.#services.has(name)) throw new MaglevError(`service ${name} already exists`);
    if (this.#services.size >= this.maps.services.maxEntries) throw new MaglevError(`at most ${this.maps.services.maxEntries} services`);
    const svc: Svc = {
      id: { vip: canonicalAddress(id.vip), port: id.port, proto: id.proto },
      key: svcKeyBytes(id.vip, id.port, protoNumber(id.proto)),
      tableSize: options.tableSize,
      backends: new Map(),
      installedSize: 0,
    };
    this.#install(svc, this.#backendMap(backends), true);
    this.#services.set(name, svc);
    return this.service(id)!;
  }

  /** Replaces a service's backends (and table size, if given). Throws if it does not exist. */
  updateService(id: ServiceId, backends: readonly BackendConfig[], options: ServiceOptions = {}): ServiceState {
    const svc = this.#get(id);
    if (options.tableSize !== undefined) {
      const old = svc.tableSize;
      svc.tableSize = options.tableSize;
      try {
        this.#install(svc, this.#backendMap(backends), false);
      } catch (e) {
        svc.tableSize = old;
        throw e;
      }
    } else {
      this.#install(svc, this.#backendMap(backends), false);
    }
    return this.service(id)!;
  }

  /** Removes a service (its table goes with it). Returns false if there was none. */
  removeService(id: ServiceId): boolean {
    this.#check();
    const name = this.#svcName(id);
    const svc = this.#services.get(name);
    if (!svc) return false;
    this.maps.services.delete(svc.key);
    this.#services.delete(name);
    for (const b of svc.backends.values()) this.#release(b.address);
    return true;
  }

  /** Adds one backend to a service (its name must be new in the service). */
  addBackend(id: ServiceId, backend: BackendConfig): ServiceState {
    const svc = this.#get(id);
    const b = this.#normalize(backend);
    if (svc.backends.has(b.name)) throw new MaglevError(`service already has a backend named '${b.name}'`);
    const next = new Map(svc.backends);
    next.set(b.name, b);
    this.#install(svc, next, false);
    return this.service(id)!;
  }

  /** Removes a backend from a service by name or address. Returns false if the service has no such backend. */
  removeBackend(id: ServiceId, nameOrAddress: string): boolean {
    const svc = this.#get(id);
    const name = this.#findBackend(svc, nameOrAddress);
    if (name === undefined) return false;
    const next = new Map(svc.backends);
    next.delete(name);
    this.#install(svc, next, false);
    return true;
  }

  /** Sets a backend's weight (by name or address). */
  setBackendWeight(id: ServiceId, nameOrAddress: string, weight: number): ServiceState {
    const svc = this.#get(id);
    const name = this.#findBackend(svc, nameOrAddress);
    if (name === undefined) throw new MaglevError(`no backend '${nameOrAddress}' in the service`);
    const next = new Map(svc.backends);
    next.set(name, { ...svc.backends.get(name)!, weight });
    this.#install(svc, next, false);
    return this.service(id)!;
  }

  /** A service's state, or undefined. */
  service(id: ServiceId): ServiceState | undefined {
    this.#check();
    const svc = this.#services.get(this.#svcName(id));
    if (!svc) return undefined;
    return {
      id: { ...svc.id },
      tableSize: svc.installedSize,
      backends: sortBackends([...svc.backends.values()]).map((b) => ({ ...b, id: this.#backends.get(b.address)!.id })),
    };
  }

  /** All services. */
  services(): ServiceState[] {
    return [...this.#services.values()].map((s) => this.service(s.id)!);
  }

  /** The backend id of an address, or undefined when no service uses it. */
  backendId(address: string): number | undefined {
    return this.#backends.get(canonicalAddress(address))?.id;
  }

  /** The kernel id of a service's installed inner table map, or undefined. */
  tableMapId(id: ServiceId): number | undefined {
    const svc = this.#get(id);
    return this.maps.services.lookupId(svc.key);
  }

  /**
   * Reads a service's table back from the kernel (through the outer map's
   * inner map id): `[M, id of slot 0, ..., id of slot M - 1]`.
   */
  readTable(id: ServiceId): Uint32Array {
    const mapId = this.tableMapId(id);
    if (mapId === undefined) throw new MaglevError('the service has no table in the kernel');
    const inner = BpfMap.fromId(mapId);
    try {
      const n = inner.maxEntries;
      const out = new Uint32Array(n);
      const batch = inner.lookupBatch();
      const keys = new DataView(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength);
      const vals = new DataView(batch.values.buffer, batch.values.byteOffset, batch.values.byteLength);
      for (let i = 0; i < batch.count; i++) out[keys.getUint32(4 * i, true)] = vals.getUint32(4 * i, true);
      return out;
    } finally {
      inner.close();
    }
  }

  #get(id: ServiceId): Svc {
    this.#check();
    const svc = this.#services.get(this.#svcName(id));
    if (!svc) throw new MaglevError(`no service ${this.#svcName(id)}`);
    return svc;
  }

  #findBackend(svc: Svc, nameOrAddress: string): string | undefined {
    if (svc.backends.has(nameOrAddress)) return nameOrAddress;
    let canonical: string | undefined;
    try {
      canonical = canonicalAddress(nameOrAddress);
    } catch {
      return undefined;
    }
    for (const b of svc.backends.values()) if (b.address === canonical) return b.name;
    return undefined;
  }

  #backendMap(list: readonly BackendConfig[]): Map<string, Required<BackendConfig>> {
    const out = new Map<string, Required<BackendConfig>>();
    const addrs = new Set<string>();
    for (const raw of list) {
      const b = this.#normalize(raw);
      if (out.has(b.name)) throw new MaglevError(`duplicate backend name '${b.name}'`);
      if (addrs.has(b.address)) throw new MaglevError(`duplicate backend address ${b.address}`);
      out.set(b.name, b);
      addrs.add(b.address);
    }
    return out;
  }

  /** Takes a reference on the backend at `address`, writing its entry when it is new. */
  #acquire(address: string): number {
    const slot = this.#backends.get(address);
    if (slot) {
      slot.refs++;
      return slot.id;
    }
    // The oldest freed id first: a connection-table entry of a removed backend
    // then most likely finds its id unused (and re-hashes) rather than reused.
    let id = this.#freeIds.shift();
    if (id === undefined) {
      if (this.#nextId >= this.#maxBackends) throw new MaglevError(`no free backend id (the backend map has ${this.#maxBackends} entries)`);
      id = this.#nextId++;
    }
    try {
      this.maps.backends.update(u32Key(id), backendBytes(address));
    } catch (e) {
      this.#freeIds.push(id);
      throw e;
    }
    this.#backends.set(address, { id, refs: 1 });
    return id;
  }

  /** Drops a reference; the last one clears the backend's entry and frees its id. */
  #release(address: string): void {
    const slot = this.#backends.get(address);
    if (!slot) return;
    if (--slot.refs > 0) return;
    this.maps.backends.update(u32Key(slot.id), new Uint8Array(this.maps.backends.valueSize));
    this.#backends.delete(address);
    this.#freeIds.push(slot.id);
  }

  /** Builds the table for `next`, swaps it in, then updates references. */
  #install(svc: Svc, next: Map<string, Required<BackendConfig>>, create: boolean): void {
    this.#check();
    const sorted = sortBackends([...next.values()]);
    const live = sorted.filter((b) => b.weight !== 0).length;
    const requested = svc.tableSize ?? this.#defaultSize;
    const m = live === 0 ? 0 : requested === 'auto' ? autoTableSize(live) : requested;
    if (m !== 0) checkTableSize(m);
    const slots = m === 0 ? undefined : maglevTable(sorted, m); // validates weights before any kernel change
    // New references first, so every id the new table holds has its backend entry.
    const acquired: string[] = [];
    try {
      const ids = sorted.map((b) => {
        const id = this.#acquire(b.address);
        acquired.push(b.address);
        return id;
      });
      const values = new Uint32Array(m + 1);
      values[0] = m;
      if (slots) for (let i = 0; i < m; i++) values[i + 1] = ids[slots[i]!]!;
      const inner = BpfMap.create(tableMapSpec(m));
      try {
        inner.updateBatch(arrayKeys(m + 1), new Uint8Array(values.buffer));
        // The swap: one update of the outer map, atomic for the datapath.
        this.maps.services.update(svc.key, inner);
      } finally {
        inner.close();
      }
    } catch (e) {
      for (const a of acquired) this.#release(a);
      throw e;
    }
    // The old table is gone from the datapath: drop the old references.
    if (!create) for (const b of svc.backends.values()) this.#release(b.address);
    svc.backends = next;
    svc.installedSize = m;
  }

  /** Closes the maps if this control plane created them. Harmless twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsMaps) {
      this.maps.services.close();
      this.maps.backends.close();
      this.maps.config.close();
      this.maps.conns?.close();
    }
  }

  /** `using lb = MaglevControlPlane.create()`: closes at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function u32Key(n: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, n, true);
  return k;
}
