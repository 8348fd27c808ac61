/**
 * Maps in the kernel: `BpfMap.create(spec)` (BPF_MAP_CREATE from a plain-data
 * `MapSpec`), element operations, iteration, batch operations, freeze, pins,
 * lookup by id, info, per-CPU values, map-in-map and prog-array values, and
 * typed access through lib/layout codecs (`map.typed(Key, Value)`).
 *
 * The class is called `BpfMap` so it never shadows the global `Map`.
 *
 * Element operations are the hot path: each map keeps its own key and value
 * buffers and one attr per command, registered once with the addon, so a
 * lookup or update is (at most) a copy of the key into place and one call
 * into the addon with a single integer argument (`bpfSlot`), without
 * allocation on the way in. A caller that passes the same key/value buffer
 * again (the usual loop) has the attr pointed at it and pays no copy at all.
 *
 * Ring buffer samples are read with `RingBufferReader` (ringbuf.ts).
 *
 * Raw byte API: keys are `Uint8Array`s of exactly `keySize` bytes, values of
 * `valueSize` bytes (per-CPU maps: see `lookupPerCpu`/`updatePerCpu`, or the
 * raw all-CPUs form of `valueBytes`). A wrong size throws `MapSizeError`
 * naming both sizes; a closed map throws `ClosedError`; kernel failures throw
 * `BpfError` with the errno name and a hint.
 */
import { constants } from 'node:os';
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr, BpfMapInfo } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { MapType, MapFlags, UpdateFlags } from '../uapi/map-types.js';
import { TsbpfError } from '../errors.js';
import {
  checkMapSpec,
  isMapInMapType,
  isPerCpuMapType,
  mapTypeShortName,
  MapSpecError,
  type MapSpec,
} from '../layout/map-spec.js';
import type { Layout } from '../layout/layout.js';
import { Attr, FastAttr, bpf, bpfRaw, commandName } from './syscall.js';
import { BpfError } from './errors.js';
import { FD } from './fd.js';
import { native } from './native.js';
import { openPinnedFd, pinFd } from './bpffs.js';
import { unpin } from './pin.js';
import { fdById, fdKind, objInfo } from './info.js';
import { possibleCpus } from './cpus.js';

const ENOENT = constants.errno.ENOENT;
const ENOSPC = constants.errno.ENOSPC;

const C = BpfAttr.mapCreate;
const cOff = (n: string) => offsetOf(C, n);
const E = BpfAttr.mapElem;
const E_FD = offsetOf(E, 'map_fd');
const E_KEY = offsetOf(E, 'key');
const E_VALUE = offsetOf(E, 'value');
const E_NEXT = offsetOf(E, 'next_key');
const E_FLAGS = offsetOf(E, 'flags');
const B = BpfAttr.mapBatch;
const bOff = (n: string) => offsetOf(B, n);
const MI = BpfMapInfo;
const miOff = (n: string) => offsetOf(MI, n);

const CMD_LOOKUP = BpfCmd.BPF_MAP_LOOKUP_ELEM;
const CMD_UPDATE = BpfCmd.BPF_MAP_UPDATE_ELEM;
const CMD_DELETE = BpfCmd.BPF_MAP_DELETE_ELEM;
const CMD_NEXT = BpfCmd.BPF_MAP_GET_NEXT_KEY;
const CMD_LOOKUP_DELETE = BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM;

/** A map error that is not a kernel errno: not a map, iteration aborted, wrong use. */
export class MapError extends TsbpfError {}

/** A key or value buffer of the wrong size for the map. */
export class MapSizeError extends MapError {
  /** `'key'` or `'value'`. */
  readonly what: 'key' | 'value';
  /** The size the map expects. */
  readonly expected: number;
  /** The size given. */
  readonly actual: number;

  constructor(map: string, what: 'key' | 'value', expected: number | string, actual: number) {
    super(`${map}: ${what} must be ${expected} bytes, got ${actual}`);
    this.what = what;
    this.expected = typeof expected === 'number' ? expected : Number.parseInt(expected, 10);
    this.actual = actual;
  }
}

/** A batch operation that failed part-way: `processed` elements were done before the error. */
export class BatchError extends BpfError {
  /** Elements processed before the failure. */
  readonly processed: number;
  constructor(command: string, errno: number, processed: number, detail?: string) {
    super(command, errno, `${detail ? detail + ', ' : ''}after ${processed} elements`);
    this.processed = processed;
  }
}

/** Anything that owns a BPF descriptor (a `BpfMap`, a `Program`): map-in-map and prog-array values. */
export interface FdLike {
  readonly fd: number;
}

/** BTF for a map's key and value (from the ELF loader or BTF generator). */
export interface MapBtf {
  /** Descriptor of the loaded BTF object. */
  fd: number;
  /** BTF type id of the key (0 for none). */
  keyTypeId: number;
  /** BTF type id of the value. */
  valueTypeId: number;
  /** `btf_vmlinux_value_type_id` (struct_ops maps). */
  vmlinuxValueTypeId?: number;
}

/** Kernel-side options of `BpfMap.create` that are not part of the plain spec. */
export interface MapCreateOptions {
  /** An existing map as the inner map template of a map-in-map (instead of `spec.innerMap`). */
  innerMap?: BpfMap;
  /** BTF key/value type ids. */
  btf?: MapBtf;
  /** `map_ifindex` for offloaded maps. */
  ifindex?: number;
}

/** What the kernel reports about a map (`struct bpf_map_info`). */
export interface MapInfo {
  /** Map type number (`MapType`). */
  type: number;
  /** Short type name (`'hash'`). */
  typeName: string;
  /** Kernel id. */
  id: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** `map_flags`. */
  flags: number;
  /** Object name (up to 15 bytes). */
  name: string;
  ifindex: number;
  btfId: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  btfVmlinuxValueTypeId: number;
  /** `map_extra` (Linux 5.16). */
  mapExtra: bigint;
  netnsDev: bigint;
  netnsIno: bigint;
}

/** Options of the batch lookups. */
export interface BatchLookupOptions {
  /** Elements per syscall (default `min(maxEntries, 4096)`; grows on ENOSPC when a hash bucket is larger). */
  chunkSize?: number;
  /** `elem_flags` (`BPF_F_LOCK`). */
  elemFlags?: number;
}

/** Options of the batch updates and deletes. */
export interface BatchWriteOptions {
  /** Elements per syscall (default: all in one). */
  chunkSize?: number;
  /** `elem_flags`: 0 or `BPF_F_LOCK` (the kernel refuses the other update flags in batches). */
  elemFlags?: number;
}

/** The result of a batch lookup: `count` keys and values, back to back. */
export interface MapBatch {
  count: number;
  /** `count * keySize` bytes. */
  keys: Uint8Array;
  /** `count * valueBytes` bytes (per-CPU maps: every CPU's slot, 8-byte aligned). */
  values: Uint8Array;
}

function nameFromBytes(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end < 0 ? bytes : bytes.subarray(0, end)).toString('utf8');
}

function decodeInfo(buf: Uint8Array): MapInfo {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (n: string) => v.getUint32(miOff(n), true);
  const u64 = (n: string) => v.getBigUint64(miOff(n), true);
  const type = u32('type');
  const nameAt = miOff('name');
  return {
    type,
    typeName: mapTypeShortName(type),
    id: u32('id'),
    keySize: u32('key_size'),
    valueSize: u32('value_size'),
    maxEntries: u32('max_entries'),
    flags: u32('map_flags'),
    name: nameFromBytes(buf.subarray(nameAt, nameAt + 16)),
    ifindex: u32('ifindex'),
    btfId: u32('btf_id'),
    btfKeyTypeId: u32('btf_key_type_id'),
    btfValueTypeId: u32('btf_value_type_id'),
    btfVmlinuxValueTypeId: u32('btf_vmlinux_value_type_id'),
    mapExtra: u64('map_extra'),
    netnsDev: u64('netns_dev'),
    netnsIno: u64('netns_ino'),
  };
}

/** Reads `bpf_map_info` for a raw map descriptor. */
export function mapInfoByFd(fd: number): MapInfo {
  return decodeInfo(objInfo(fd, MI.size));
}

interface MapShape {
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  name: string;
}

const slotBpf = (): ((cmdAndSlot: number) => number) => native().bpfSlot;

// Maps collected without close(): release their registered attrs (the FD closes itself).
const releaseAttrs = new FinalizationRegistry<FastAttr[]>((attrs) => {
  for (const a of attrs) a.release();
});

/**
 * One pointer member of a hot-path attr. A caller's buffer is copied into the
 * map's own buffer the first time; when the same buffer comes back on the
 * next call (the usual loop), the attr is pointed at it directly and later
 * calls with it copy nothing. The slot holds the buffers it points at.
 */
class PtrSlot {
  #current: Uint8Array;
  #candidate: Uint8Array | undefined;

  constructor(
    readonly attr: FastAttr,
    readonly offset: number,
    readonly own: Uint8Array,
  ) {
    attr.ptr(offset, own);
    this.#current = own;
  }

  /** Makes the pointer carry the bytes of `buf` (an input: key or value to write). */
  use(buf: Uint8Array): void {
    if (buf === this.#current) return;
    if (buf === this.#candidate) {
      this.#point(buf);
      this.#candidate = undefined;
      return;
    }
    this.#candidate = buf;
    this.own.set(buf);
    if (this.#current !== this.own) this.#point(this.own);
  }

  /** Points at `out` (an output) when it came back a second time; returns false when the caller must copy from `own`. */
  useOut(out: Uint8Array): boolean {
    if (out === this.#current) return true;
    if (out === this.#candidate) {
      this.#point(out);
      this.#candidate = undefined;
      return true;
    }
    this.#candidate = out;
    if (this.#current !== this.own) this.#point(this.own);
    return false;
  }

  /** Points at the map's own buffer (its contents were written in place). */
  useOwn(): void {
    if (this.#current !== this.own) this.#point(this.own);
  }

  #point(buf: Uint8Array): void {
    this.attr.ptr(this.offset, buf);
    this.#current = buf;
  }
}

/**
 * A BPF map in the kernel. Create one with `BpfMap.create(spec)`, or open an
 * existing one with `fromId`, `openPinned` or `fromFd`. Close it with
 * `close()` (or `using`); the kernel frees it when no descriptor, pin or
 * program holds it.
 */
export class BpfMap {
  /** Map type number (`MapType`). */
  readonly type: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Maximum entries. */
  readonly maxEntries: number;
  /** `map_flags`. */
  readonly flags: number;
  /** Object name ('' when none). */
  readonly name: string;
  /** Whether values are per CPU. */
  readonly perCpu: boolean;
  /** Bytes of a raw value as the syscalls copy it: `valueSize`, or `roundup(valueSize, 8) * possibleCpus()` for per-CPU maps. */
  readonly valueBytes: number;
  /** Per-CPU maps: the stride of one CPU's slot in a raw value (`roundup(valueSize, 8)`); else `valueSize`. */
  readonly valueStride: number;

  readonly #fd: FD;
  readonly #what: string;
  #id: number | undefined;
  #pinnedAt: string | undefined;
  // Hot-path state: the map's own key/value buffers, and attrs registered
  // with the addon whose pointer members change only when a caller's buffer
  // is adopted (see PtrSlot).
  readonly #key: Uint8Array;
  readonly #next: Uint8Array;
  readonly #val: Uint8Array;
  readonly #keyView: DataView;
  readonly #valView: DataView;
  readonly #elem: FastAttr; // map_fd, key, value, flags
  readonly #delAttr: FastAttr; // map_fd, key (the kernel wants every later byte zero)
  readonly #nextAttr: FastAttr; // map_fd, key, next_key
  readonly #firstAttr: FastAttr; // map_fd, NULL key, next_key
  readonly #elemKey: PtrSlot | undefined; // undefined for maps without keys (NULL key)
  readonly #elemVal: PtrSlot | undefined;
  readonly #delKey: PtrSlot | undefined;
  readonly #nextKeySlot: PtrSlot | undefined;
  readonly #bpf: (cmdAndSlot: number) => number;
  // Registered-attr handles (`slot << 10`); add a command to run it.
  readonly #elemOp: number;
  readonly #delOp: number;
  readonly #nextOp: number;
  readonly #firstOp: number;

  private constructor(fd: FD, shape: MapShape) {
    this.#fd = fd;
    this.type = shape.type;
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.flags = shape.flags;
    this.name = shape.name;
    this.#what = `map ${shape.name || mapTypeShortName(shape.type)}`;
    this.perCpu = isPerCpuMapType(shape.type);
    this.valueStride = this.perCpu ? Math.ceil(shape.valueSize / 8) * 8 : shape.valueSize;
    this.valueBytes = this.perCpu ? this.valueStride * possibleCpus() : shape.valueSize;
    this.#key = new Uint8Array(new ArrayBuffer(Math.max(this.keySize, 1)), 0, this.keySize);
    this.#next = new Uint8Array(new ArrayBuffer(Math.max(this.keySize, 1)), 0, this.keySize);
    this.#val = new Uint8Array(new ArrayBuffer(Math.max(this.valueBytes, 1)), 0, this.valueBytes);
    this.#keyView = new DataView(this.#key.buffer, 0, this.keySize);
    this.#valView = new DataView(this.#val.buffer, 0, this.valueBytes);
    const raw = fd.value;
    // Maps without keys (queue, stack, bloom filter) take a NULL key pointer.
    const hasKey = this.keySize > 0;
    this.#elem = new FastAttr(E.size);
    this.#elem.view.setUint32(E_FD, raw, true);
    this.#elemKey = hasKey ? new PtrSlot(this.#elem, E_KEY, this.#key) : undefined;
    this.#elemVal = this.valueBytes > 0 ? new PtrSlot(this.#elem, E_VALUE, this.#val) : undefined;
    this.#delAttr = new FastAttr(E.size);
    this.#delAttr.view.setUint32(E_FD, raw, true);
    this.#delKey = hasKey ? new PtrSlot(this.#delAttr, E_KEY, this.#key) : undefined;
    this.#nextAttr = new FastAttr(E.size).ptr(E_NEXT, this.#next);
    this.#nextAttr.view.setUint32(E_FD, raw, true);
    this.#nextKeySlot = hasKey ? new PtrSlot(this.#nextAttr, E_KEY, this.#key) : undefined;
    this.#firstAttr = new FastAttr(E.size).ptr(E_KEY, null).ptr(E_NEXT, this.#next);
    this.#firstAttr.view.setUint32(E_FD, raw, true);
    this.#bpf = slotBpf();
    const attrs = [this.#elem, this.#delAttr, this.#nextAttr, this.#firstAttr];
    this.#elemOp = this.#elem.register();
    this.#delOp = this.#delAttr.register();
    this.#nextOp = this.#nextAttr.register();
    this.#firstOp = this.#firstAttr.register();
    releaseAttrs.register(this, attrs, this);
  }

  /**
   * Creates a map from a spec (BPF_MAP_CREATE). LPM tries get
   * `BPF_F_NO_PREALLOC` added; `numaNode` sets `BPF_F_NUMA_NODE`. Map-in-map
   * types need `spec.innerMap` (a template created and closed again) or
   * `options.innerMap` (an existing map). `spec.contents` are written and
   * `spec.freeze` applied after creation. An unknown type throws `MapSpecError`.
   */
  static create(spec: MapSpec, options: MapCreateOptions = {}): BpfMap {
    const type = checkMapSpec(options.innerMap && !spec.innerMap ? { ...spec, innerMap: innerPlaceholder } : spec);
    let flags = spec.flags ?? 0;
    if (type === MapType.BPF_MAP_TYPE_LPM_TRIE) flags |= MapFlags.BPF_F_NO_PREALLOC;
    if (spec.numaNode !== undefined) flags |= MapFlags.BPF_F_NUMA_NODE;
    const name = spec.name ?? '';
    let inner: BpfMap | undefined;
    let ownInner = false;
    if (isMapInMapType(type)) {
      if (options.innerMap) inner = options.innerMap;
      else {
        inner = BpfMap.create(spec.innerMap!);
        ownInner = true;
      }
    }
    let fd: number;
    try {
      const attr = new Attr(C.size)
        .u32(cOff('map_type'), type)
        .u32(cOff('key_size'), spec.keySize)
        .u32(cOff('value_size'), spec.valueSize)
        .u32(cOff('max_entries'), spec.maxEntries)
        .u32(cOff('map_flags'), flags >>> 0)
        .u32(cOff('inner_map_fd'), inner ? inner.fd : 0)
        .u32(cOff('numa_node'), spec.numaNode ?? 0)
        .str(cOff('map_name'), 16, name)
        .u32(cOff('map_ifindex'), options.ifindex ?? 0);
      if (options.btf) {
        attr
          .u32(cOff('btf_fd'), options.btf.fd)
          .u32(cOff('btf_key_type_id'), options.btf.keyTypeId)
          .u32(cOff('btf_value_type_id'), options.btf.valueTypeId)
          .u32(cOff('btf_vmlinux_value_type_id'), options.btf.vmlinuxValueTypeId ?? 0);
      }
      if (spec.mapExtra !== undefined) attr.u64(cOff('map_extra'), spec.mapExtra);
      fd = bpf(BpfCmd.BPF_MAP_CREATE, attr, `${mapTypeShortName(type)}${name ? ` '${name}'` : ''}`);
    } finally {
      if (ownInner) inner!.close();
    }
    const map = new BpfMap(new FD(fd, `map ${name || mapTypeShortName(type)}`), {
      type,
      keySize: spec.keySize,
      valueSize: spec.valueSize,
      maxEntries: spec.maxEntries,
      flags,
      name,
    });
    try {
      for (const e of spec.contents ?? []) map.update(e.key, e.value);
      if (spec.freeze) map.freeze();
    } catch (e) {
      map.close();
      throw e;
    }
    return map;
  }

  /** Takes ownership of a map descriptor (shape read from the kernel); a descriptor of another kind throws `MapError` (and is closed). */
  static fromFd(fd: number): BpfMap {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`invalid file descriptor ${fd}`);
    let info: MapInfo;
    try {
      const kind = fdKind(fd);
      if (kind !== 'map') throw new MapError(`descriptor ${fd} is not a map (it is ${kind === 'other' ? 'not a BPF object' : `a ${kind}`})`);
      info = mapInfoByFd(fd);
    } catch (e) {
      native().close(fd);
      throw e;
    }
    const map = new BpfMap(new FD(fd, `map ${info.name || info.typeName}`), info);
    map.#id = info.id;
    return map;
  }

  /** Opens the map with kernel id `id` (BPF_MAP_GET_FD_BY_ID; needs CAP_SYS_ADMIN). */
  static fromId(id: number): BpfMap {
    return BpfMap.fromFd(fdById(BpfCmd.BPF_MAP_GET_FD_BY_ID, id));
  }

  /** Opens a map pinned at `path` on bpffs; `flags` may be `BPF_F_RDONLY`/`BPF_F_WRONLY`. */
  static openPinned(path: string, flags = 0): BpfMap {
    const map = BpfMap.fromFd(openPinnedFd(path, flags));
    map.#pinnedAt = path;
    return map;
  }

  /** The map descriptor; throws `ClosedError` after close. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The kernel id (read once from the kernel). */
  get id(): number {
    this.#id ??= this.info().id;
    return this.#id;
  }

  /** The path this object pinned the map at, or opened it from. */
  get pinnedPath(): string | undefined {
    return this.#pinnedAt;
  }

  /** What the kernel reports about the map (BPF_OBJ_GET_INFO_BY_FD). */
  info(): MapInfo {
    return mapInfoByFd(this.fd);
  }

  // --- checks -------------------------------------------------------------

  #checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== this.keySize) {
      throw new MapSizeError(this.#what, 'key', this.keySize, key instanceof Uint8Array ? key.length : -1);
    }
  }

  #fail(cmd: number, r: number): never {
    throw new BpfError(commandName(cmd), -r, this.#what);
  }

  // Points the value slot at a value (bytes, or a descriptor holder written into the own buffer).
  #putValue(value: Uint8Array | FdLike): void {
    const slot = this.#elemVal;
    if (value instanceof Uint8Array) {
      if (value.length === this.valueBytes) {
        slot?.use(value);
      } else if (this.perCpu && value.length === this.valueSize) {
        for (let off = 0; off < this.valueBytes; off += this.valueStride) this.#val.set(value, off);
        slot!.useOwn();
      } else {
        const expected = this.perCpu && this.valueBytes !== this.valueSize ? `${this.valueSize} or ${this.valueBytes}` : this.valueBytes;
        throw new MapSizeError(this.#what, 'value', expected, value.length);
      }
      return;
    }
    if (value === null || typeof value !== 'object' || typeof value.fd !== 'number') {
      throw new MapError(`${this.#what}: a value must be a Uint8Array or an object with an fd (a map or program)`);
    }
    if (this.valueSize !== 4) throw new MapSizeError(this.#what, 'value', this.valueSize, 4);
    this.#valView.setUint32(0, value.fd, true);
    slot!.useOwn();
  }

  // --- element operations (hot path) --------------------------------------

  /**
   * Runs element command `cmd` (lookup or lookup-and-delete) for `key` into
   * this map's own value buffer; returns the raw result (negative errno).
   */
  #lookupOp(cmd: number, key: Uint8Array, flags: number): number {
    this.#checkKey(key);
    this.#fd.value;
    this.#elemKey?.use(key);
    this.#elemVal?.useOwn();
    this.#elem.view.setUint32(E_FLAGS, flags, true);
    return this.#bpf(this.#elemOp + cmd);
  }

  /** The value for `key` (a copy of `valueBytes` bytes), or undefined when there is none. `flags`: `BPF_F_LOCK`. */
  lookup(key: Uint8Array, flags = 0): Uint8Array | undefined {
    const r = this.#lookupOp(CMD_LOOKUP, key, flags);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      this.#fail(CMD_LOOKUP, r);
    }
    return new Uint8Array(this.#val);
  }

  /** Like `lookup` but copies the value into `out` (`valueBytes` long); returns false when there is none. No allocation. */
  lookupInto(key: Uint8Array, out: Uint8Array, flags = 0): boolean {
    this.#checkKey(key);
    if (!(out instanceof Uint8Array) || out.length !== this.valueBytes) {
      throw new MapSizeError(this.#what, 'value', this.valueBytes, out instanceof Uint8Array ? out.length : -1);
    }
    this.#fd.value;
    this.#elemKey?.use(key);
    const direct = this.#elemVal === undefined || this.#elemVal.useOut(out);
    const attr = this.#elem;
    attr.view.setUint32(E_FLAGS, flags, true);
    const r = this.#bpf(this.#elemOp + CMD_LOOKUP);
    if (r < 0) {
      if (r === -ENOENT) return false;
      this.#fail(CMD_LOOKUP, r);
    }
    if (!direct) out.set(this.#val);
    return true;
  }

  /** Whether `key` has a value. */
  has(key: Uint8Array): boolean {
    const r = this.#lookupOp(CMD_LOOKUP, key, 0);
    if (r < 0 && r !== -ENOENT) this.#fail(CMD_LOOKUP, r);
    return r >= 0;
  }

  /**
   * Sets `key` to `value` (BPF_MAP_UPDATE_ELEM). `flags`: `BPF_ANY` (default),
   * `BPF_NOEXIST` (EEXIST if present), `BPF_EXIST` (ENOENT if absent), plus
   * `BPF_F_LOCK`. `value` is bytes, or for map-in-map and prog arrays the inner
   * map or program itself. Per-CPU maps take `valueBytes` (every CPU) or
   * `valueSize` bytes (the same value on every CPU).
   */
  update(key: Uint8Array, value: Uint8Array | FdLike, flags: number = UpdateFlags.BPF_ANY): void {
    this.#checkKey(key);
    this.#fd.value;
    this.#elemKey?.use(key);
    this.#putValue(value);
    const attr = this.#elem;
    attr.view.setUint32(E_FLAGS, flags, true);
    const r = this.#bpf(this.#elemOp + CMD_UPDATE);
    if (r < 0) this.#fail(CMD_UPDATE, r);
  }

  /** Deletes `key`; returns false when it was not there. */
  delete(key: Uint8Array): boolean {
    this.#checkKey(key);
    this.#fd.value;
    this.#delKey?.use(key);
    const r = this.#bpf(this.#delOp + CMD_DELETE);
    if (r < 0) {
      if (r === -ENOENT) return false;
      this.#fail(CMD_DELETE, r);
    }
    return true;
  }

  /**
   * Looks up and deletes `key` in one step (BPF_MAP_LOOKUP_AND_DELETE_ELEM:
   * hash maps from Linux 5.14, queues and stacks (pop) from 4.20). Returns the
   * value, or undefined when there was none.
   */
  lookupAndDelete(key: Uint8Array, flags = 0): Uint8Array | undefined {
    const r = this.#lookupOp(CMD_LOOKUP_DELETE, key, flags);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      this.#fail(CMD_LOOKUP_DELETE, r);
    }
    return new Uint8Array(this.#val);
  }

  /** Per-CPU maps: one value (`valueSize` bytes) per possible CPU, or undefined. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    this.#needPerCpu('lookupPerCpu');
    const raw = this.lookup(key);
    return raw && this.#splitPerCpu(raw);
  }

  /** Per-CPU maps: sets one value per possible CPU (`values.length` must equal `possibleCpus()`). */
  updatePerCpu(key: Uint8Array, values: readonly Uint8Array[], flags: number = UpdateFlags.BPF_ANY): void {
    this.#needPerCpu('updatePerCpu');
    this.update(key, this.#joinPerCpu(values), flags);
  }

  #needPerCpu(op: string): void {
    if (!this.perCpu) throw new MapError(`${this.#what}: ${op} needs a per-CPU map, this is ${mapTypeShortName(this.type)}`);
  }

  #splitPerCpu(raw: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let off = 0; off < raw.length; off += this.valueStride) out.push(raw.slice(off, off + this.valueSize));
    return out;
  }

  #joinPerCpu(values: readonly Uint8Array[]): Uint8Array {
    const cpus = this.valueBytes / this.valueStride;
    if (values.length !== cpus) throw new MapError(`${this.#what}: needs ${cpus} per-CPU values (possible CPUs), got ${values.length}`);
    const raw = new Uint8Array(this.valueBytes);
    values.forEach((v, i) => {
      if (!(v instanceof Uint8Array) || v.length !== this.valueSize) {
        throw new MapSizeError(this.#what, 'value', this.valueSize, v instanceof Uint8Array ? v.length : -1);
      }
      raw.set(v, i * this.valueStride);
    });
    return raw;
  }

  /** Map-in-map and prog arrays: the id of the inner map or program at `key` (what the kernel returns), or undefined. */
  lookupId(key: Uint8Array): number | undefined {
    if (this.valueSize !== 4) throw new MapError(`${this.#what}: lookupId needs a map of ids (value size 4)`);
    const v = this.lookup(key);
    return v && new DataView(v.buffer).getUint32(0, true);
  }

  // --- iteration ------------------------------------------------------------

  /**
   * The key after `key` (BPF_MAP_GET_NEXT_KEY), or the first key when `key`
   * is undefined; undefined after the last. For hash maps, a key that is no
   * longer present yields the first key again (kernel semantics).
   */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    this.#fd.value;
    let op: number;
    if (key === undefined) op = this.#firstOp;
    else {
      this.#checkKey(key);
      this.#nextKeySlot?.use(key);
      op = this.#nextOp;
    }
    const r = this.#bpf(op + CMD_NEXT);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      this.#fail(CMD_NEXT, r);
    }
    return new Uint8Array(this.#next);
  }

  /**
   * Every key. The next key is fetched before the current one is handed
   * out, so deleting the current key while iterating is safe. Deletions of
   * other keys meanwhile may make a hash map start over (keys can repeat); the
   * walk gives up with `MapError` after `maxEntries` + 1 steps past the
   * first restart budget (2 * maxEntries + 1 calls in all).
   */
  *keys(): Generator<Uint8Array, void, undefined> {
    const limit = 2 * this.maxEntries + 1;
    let steps = 1;
    let cur = this.nextKey();
    while (cur !== undefined) {
      if (++steps > limit) throw new MapError(`${this.#what}: iteration aborted after ${limit} steps (concurrent deletions keep restarting it)`);
      const next = this.nextKey(cur);
      yield cur;
      cur = next;
    }
  }

  /** Every `[key, value]` pair (values as `lookup` returns them); keys deleted meanwhile are skipped. */
  *entries(): Generator<[Uint8Array, Uint8Array], void, undefined> {
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /** Every value. */
  *values(): Generator<Uint8Array, void, undefined> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): Generator<[Uint8Array, Uint8Array], void, undefined> {
    return this.entries();
  }

  /** Every `[key, value]` pair, with each syscall on the libuv thread pool (does not block the event loop). */
  async *entriesAsync(): AsyncGenerator<[Uint8Array, Uint8Array], void, undefined> {
    const limit = 2 * this.maxEntries + 1;
    let steps = 1;
    let cur = await this.#nextKeyAsync(undefined);
    while (cur !== undefined) {
      if (++steps > limit) throw new MapError(`${this.#what}: iteration aborted after ${limit} steps (concurrent deletions keep restarting it)`);
      const next = await this.#nextKeyAsync(cur);
      const value = await this.#lookupAsync(cur);
      if (value !== undefined) yield [cur, value];
      cur = next;
    }
  }

  /** Every key, off the main thread (see `entriesAsync`). */
  async *keysAsync(): AsyncGenerator<Uint8Array, void, undefined> {
    const limit = 2 * this.maxEntries + 1;
    let steps = 1;
    let cur = await this.#nextKeyAsync(undefined);
    while (cur !== undefined) {
      if (++steps > limit) throw new MapError(`${this.#what}: iteration aborted after ${limit} steps`);
      const next = await this.#nextKeyAsync(cur);
      yield cur;
      cur = next;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<[Uint8Array, Uint8Array], void, undefined> {
    return this.entriesAsync();
  }

  async #nextKeyAsync(key: Uint8Array | undefined): Promise<Uint8Array | undefined> {
    const next = new Uint8Array(this.keySize);
    const attr = new Attr(E.size).u32(E_FD, this.fd).ptr(E_KEY, key ?? null).ptr(E_NEXT, next);
    const r = await native().bpfAsync(CMD_NEXT, attr.bytes, attr.pointers);
    if (r === -ENOENT) return undefined;
    if (r < 0) this.#fail(CMD_NEXT, r);
    return next;
  }

  async #lookupAsync(key: Uint8Array): Promise<Uint8Array | undefined> {
    const value = new Uint8Array(this.valueBytes);
    const attr = new Attr(E.size).u32(E_FD, this.fd).ptr(E_KEY, key).ptr(E_VALUE, value);
    const r = await native().bpfAsync(CMD_LOOKUP, attr.bytes, attr.pointers);
    if (r === -ENOENT) return undefined;
    if (r < 0) this.#fail(CMD_LOOKUP, r);
    return value;
  }

  /** `lookup` off the main thread. */
  async lookupAsync(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#checkKey(key);
    return this.#lookupAsync(key.slice());
  }

  // --- batch operations -----------------------------------------------------

  /** Every element, in chunks of BPF_MAP_LOOKUP_BATCH (Linux 5.6; hash, LRU, per-CPU and array maps). */
  lookupBatch(options: BatchLookupOptions = {}): MapBatch {
    return this.#batchRead(BpfCmd.BPF_MAP_LOOKUP_BATCH, options);
  }

  /** Every element, removed as it is read (BPF_MAP_LOOKUP_AND_DELETE_BATCH, Linux 5.6; hash maps). */
  lookupAndDeleteBatch(options: BatchLookupOptions = {}): MapBatch {
    return this.#batchRead(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_BATCH, options);
  }

  #batchRead(cmd: number, options: BatchLookupOptions): MapBatch {
    const fd = this.fd;
    let chunk = options.chunkSize ?? Math.max(1, Math.min(this.maxEntries, 4096));
    if (!Number.isInteger(chunk) || chunk < 1) throw new MapError(`${this.#what}: chunkSize must be a positive integer`);
    // The batch cursor is opaque: a bucket number (u32) for hash maps, a key for arrays.
    const tokenSize = Math.ceil(Math.max(this.keySize, 4) / 8) * 8;
    const inToken = new Uint8Array(tokenSize);
    const outToken = new Uint8Array(tokenSize);
    const keyParts: Uint8Array[] = [];
    const valueParts: Uint8Array[] = [];
    let total = 0;
    let first = true;
    for (;;) {
      const keys = new Uint8Array(chunk * this.keySize);
      const values = new Uint8Array(chunk * this.valueBytes);
      const attr = new Attr(B.size)
        .ptr(bOff('in_batch'), first ? null : inToken)
        .ptr(bOff('out_batch'), outToken)
        .ptr(bOff('keys'), keys)
        .ptr(bOff('values'), values)
        .u32(bOff('count'), chunk)
        .u32(bOff('map_fd'), fd)
        .u64(bOff('elem_flags'), BigInt(options.elemFlags ?? 0));
      const r = bpfRaw(cmd, attr);
      const n = attr.readU32(bOff('count'));
      if (r === -ENOSPC && n === 0 && chunk < 2 * Math.max(this.maxEntries, 1)) {
        // A hash bucket holds more elements than fit: retry with a bigger chunk.
        chunk *= 2;
        continue;
      }
      if (r < 0 && r !== -ENOENT) throw new BatchError(commandName(cmd), -r, total + n, this.#what);
      if (n > 0) {
        keyParts.push(keys.subarray(0, n * this.keySize));
        valueParts.push(values.subarray(0, n * this.valueBytes));
        total += n;
      }
      if (r === -ENOENT) break; // the kernel's end of the walk, possibly with a last partial chunk
      inToken.set(outToken);
      first = false;
    }
    return { count: total, keys: concat(keyParts, total * this.keySize), values: concat(valueParts, total * this.valueBytes) };
  }

  /**
   * Writes many elements (BPF_MAP_UPDATE_BATCH, Linux 5.6): `keys` and
   * `values` back to back (or as arrays of buffers). Returns the count;
   * a failure part-way throws `BatchError` with `processed`.
   */
  updateBatch(keys: Uint8Array | readonly Uint8Array[], values: Uint8Array | readonly Uint8Array[], options: BatchWriteOptions = {}): number {
    const k = this.#flatten(keys, this.keySize, 'key');
    const v = this.#flatten(values, this.valueBytes, 'value');
    const n = k.length / (this.keySize || 1);
    if (v.length / (this.valueBytes || 1) !== n) {
      throw new MapError(`${this.#what}: ${n} keys but ${v.length / (this.valueBytes || 1)} values`);
    }
    return this.#batchWrite(BpfCmd.BPF_MAP_UPDATE_BATCH, k, v, n, options);
  }

  /** Deletes many keys (BPF_MAP_DELETE_BATCH, Linux 5.6; hash maps). Returns the count; a missing key throws `BatchError` ENOENT. */
  deleteBatch(keys: Uint8Array | readonly Uint8Array[], options: BatchWriteOptions = {}): number {
    const k = this.#flatten(keys, this.keySize, 'key');
    return this.#batchWrite(BpfCmd.BPF_MAP_DELETE_BATCH, k, null, k.length / (this.keySize || 1), options);
  }

  #flatten(data: Uint8Array | readonly Uint8Array[], size: number, what: 'key' | 'value'): Uint8Array {
    if (data instanceof Uint8Array) {
      if (size === 0 || data.length % size !== 0) throw new MapSizeError(this.#what, what, `a multiple of ${size}`, data.length);
      return data;
    }
    const out = new Uint8Array(data.length * size);
    data.forEach((d, i) => {
      if (!(d instanceof Uint8Array) || d.length !== size) throw new MapSizeError(this.#what, what, size, d instanceof Uint8Array ? d.length : -1);
      out.set(d, i * size);
    });
    return out;
  }

  #batchWrite(cmd: number, keys: Uint8Array, values: Uint8Array | null, n: number, options: BatchWriteOptions): number {
    const fd = this.fd;
    const chunk = options.chunkSize ?? n;
    if (!Number.isInteger(chunk) || chunk < 1) throw new MapError(`${this.#what}: chunkSize must be a positive integer`);
    const attr = new Attr(B.size);
    let done = 0;
    while (done < n) {
      const count = Math.min(chunk, n - done);
      attr.bytes.fill(0);
      attr.pointers.length = 0;
      attr
        .ptr(bOff('keys'), keys.subarray(done * this.keySize, (done + count) * this.keySize))
        .ptr(bOff('values'), values && values.subarray(done * this.valueBytes, (done + count) * this.valueBytes))
        .u32(bOff('count'), count)
        .u32(bOff('map_fd'), fd)
        .u64(bOff('elem_flags'), BigInt(options.elemFlags ?? 0));
      const r = bpfRaw(cmd, attr);
      if (r < 0) throw new BatchError(commandName(cmd), -r, done + attr.readU32(bOff('count')), this.#what);
      done += count;
    }
    return done;
  }

  // --- object operations ----------------------------------------------------

  /** Makes the map read-only for the syscall side (BPF_MAP_FREEZE, Linux 5.2); later updates fail with EPERM. */
  freeze(): void {
    const attr = new Attr(E.size).u32(E_FD, this.fd);
    bpf(BpfCmd.BPF_MAP_FREEZE, attr, this.#what);
  }

  /** Pins the map at `path` on bpffs (it then outlives this process until unpinned). */
  pin(path: string): void {
    pinFd(this.fd, path);
    this.#pinnedAt = path;
  }

  /** Removes the pin this object made (or was opened from); returns false when there was none. */
  unpin(): boolean {
    if (this.#pinnedAt === undefined) return false;
    const removed = unpin(this.#pinnedAt);
    this.#pinnedAt = undefined;
    return removed;
  }

  /** Typed access through lib/layout codecs; the layouts' sizes must equal the map's key and value sizes. */
  typed<K, V>(key: Layout<K>, value: Layout<V>): TypedMap<K, V> {
    return new TypedMap(this, key, value);
  }

  /** Closes the descriptor (and releases the registered attrs); closing twice is harmless. */
  close(): void {
    if (this.#fd.closed) return;
    this.#fd.close();
    releaseAttrs.unregister(this);
    this.#elem.release();
    this.#delAttr.release();
    this.#nextAttr.release();
    this.#firstAttr.release();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // --- typed hot path (used by TypedMap) ----------------------------------

  /** @internal */
  _typedGet<K, V>(kl: Layout<K>, k: K, vl: Layout<V>): V | undefined {
    this.#fd.value;
    kl.write(this.#keyView, 0, k);
    this.#elemKey?.useOwn();
    this.#elemVal?.useOwn();
    const attr = this.#elem;
    attr.view.setUint32(E_FLAGS, 0, true);
    const r = this.#bpf(this.#elemOp + CMD_LOOKUP);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      this.#fail(CMD_LOOKUP, r);
    }
    return vl.read(this.#valView, 0);
  }

  /** @internal */
  _typedGetPerCpu<K, V>(kl: Layout<K>, k: K, vl: Layout<V>): V[] | undefined {
    if (this._typedGet(kl, k, vl) === undefined) return undefined;
    const out: V[] = [];
    for (let off = 0; off < this.valueBytes; off += this.valueStride) out.push(vl.read(this.#valView, off));
    return out;
  }

  /** @internal */
  _typedSet<K, V>(kl: Layout<K>, k: K, vl: Layout<V>, v: V | readonly V[], flags: number): void {
    this.#fd.value;
    kl.write(this.#keyView, 0, k);
    this.#elemKey?.useOwn();
    this.#elemVal?.useOwn();
    if (this.perCpu) {
      const cpus = this.valueBytes / this.valueStride;
      if (Array.isArray(v) && vl.kind !== 'array') {
        if (v.length !== cpus) throw new MapError(`${this.#what}: needs ${cpus} per-CPU values, got ${v.length}`);
        for (let i = 0; i < cpus; i++) vl.write(this.#valView, i * this.valueStride, v[i] as V);
      } else {
        for (let i = 0; i < cpus; i++) vl.write(this.#valView, i * this.valueStride, v as V);
      }
    } else {
      vl.write(this.#valView, 0, v as V);
    }
    const attr = this.#elem;
    attr.view.setUint32(E_FLAGS, flags, true);
    const r = this.#bpf(this.#elemOp + CMD_UPDATE);
    if (r < 0) this.#fail(CMD_UPDATE, r);
  }

  /** @internal */
  _typedDelete<K>(kl: Layout<K>, k: K): boolean {
    this.#fd.value;
    kl.write(this.#keyView, 0, k);
    this.#delKey?.useOwn();
    const r = this.#bpf(this.#delOp + CMD_DELETE);
    if (r < 0) {
      if (r === -ENOENT) return false;
      this.#fail(CMD_DELETE, r);
    }
    return true;
  }
}

const innerPlaceholder: MapSpec = { type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 };

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === total) return parts[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * A map seen through lib/layout codecs: keys and values are JavaScript values
 * of the layouts' types. `get`/`set` encode straight into the map's own
 * buffers, so typed access costs no more allocation than the decoded value.
 */
export class TypedMap<K, V> {
  /** The underlying map. */
  readonly map: BpfMap;
  /** The key layout. */
  readonly key: Layout<K>;
  /** The value layout. */
  readonly value: Layout<V>;

  constructor(map: BpfMap, key: Layout<K>, value: Layout<V>) {
    if (key.size !== map.keySize) throw new MapSizeError(`map ${map.name}`, 'key', map.keySize, key.size);
    if (value.size !== map.valueSize) throw new MapSizeError(`map ${map.name}`, 'value', map.valueSize, value.size);
    this.map = map;
    this.key = key;
    this.value = value;
  }

  /** The value for `key`, or undefined. Per-CPU maps: use `getPerCpu`. */
  get(key: K): V | undefined {
    if (this.map.perCpu) throw new MapError(`map ${this.map.name}: per-CPU map, use getPerCpu()`);
    return this.map._typedGet(this.key, key, this.value);
  }

  /** Per-CPU maps: one value per possible CPU, or undefined. */
  getPerCpu(key: K): V[] | undefined {
    if (!this.map.perCpu) throw new MapError(`map ${this.map.name}: not a per-CPU map, use get()`);
    return this.map._typedGetPerCpu(this.key, key, this.value);
  }

  /** Sets `key` to `value` (per-CPU maps: one value for every CPU, or an array with one per CPU). */
  set(key: K, value: V | readonly V[], flags: number = UpdateFlags.BPF_ANY): void {
    this.map._typedSet(this.key, key, this.value, value, flags);
  }

  /** Deletes `key`; false when it was not there. */
  delete(key: K): boolean {
    return this.map._typedDelete(this.key, key);
  }

  /** Whether `key` has a value. */
  has(key: K): boolean {
    return this.map.has(this.key.encode(key));
  }

  /** Every key, decoded. */
  *keys(): Generator<K, void, undefined> {
    for (const k of this.map.keys()) yield this.key.decode(k);
  }

  /** Every `[key, value]` pair, decoded (per-CPU maps: the value of CPU 0; use `entriesPerCpu`). */
  *entries(): Generator<[K, V], void, undefined> {
    for (const [k, v] of this.map.entries()) yield [this.key.decode(k), this.value.decode(v, 0)];
  }

  /** Per-CPU maps: every `[key, values]` pair with one value per CPU. */
  *entriesPerCpu(): Generator<[K, V[]], void, undefined> {
    const { valueStride, valueBytes } = this.map;
    for (const [k, v] of this.map.entries()) {
      const vals: V[] = [];
      for (let off = 0; off < valueBytes; off += valueStride) vals.push(this.value.decode(v, off));
      yield [this.key.decode(k), vals];
    }
  }

  /** Every value, decoded. */
  *values(): Generator<V, void, undefined> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): Generator<[K, V], void, undefined> {
    return this.entries();
  }

  /** Every pair, decoded, off the main thread. */
  async *entriesAsync(): AsyncGenerator<[K, V], void, undefined> {
    for await (const [k, v] of this.map.entriesAsync()) yield [this.key.decode(k), this.value.decode(v, 0)];
  }
}

export { MapSpecError };
