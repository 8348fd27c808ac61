/**
 * A reader for BPF ring buffers (BPF_MAP_TYPE_RINGBUF, Linux 5.8) over
 * mmap(2), as libbpf's ring_buffer__consume does: the consumer page is mapped
 * read-write, the producer page and the (doubly mapped) data area read-only;
 * records are 8-byte headers (length with BUSY and DISCARD bits, page offset)
 * followed by the sample, each rounded up to 8 bytes.
 *
 * Waiting is by polling (`next()` with a timeout re-checks every few
 * milliseconds), since Node cannot epoll an arbitrary descriptor.
 */
import { execFileSync } from 'node:child_process';
import { MapType } from '../uapi/map-types.js';
import { BpfError } from './errors.js';
import { native } from './native.js';
import { BpfMap, MapError } from './map.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER = 8;

let pageSizeCache: number | undefined;

/** The system page size (`getconf PAGESIZE`, 4096 when that fails). */
export function pageSize(): number {
  if (pageSizeCache === undefined) {
    try {
      pageSizeCache = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
    } catch {
      pageSizeCache = 4096;
    }
  }
  return pageSizeCache;
}

/** Reads samples from a ring buffer map. Close it before (or with) the map. */
export class RingBufferReader {
  /** The ring buffer map. */
  readonly map: BpfMap;
  readonly #size: number;
  #consumer: ArrayBuffer | undefined;
  #producer: ArrayBuffer | undefined;
  readonly #cons: DataView;
  readonly #prod: DataView;
  readonly #data: Uint8Array;
  readonly #page: number;

  /** Maps the ring of `map` (a `ringbuf` map; the reader does not own it). */
  constructor(map: BpfMap) {
    if (map.type !== MapType.BPF_MAP_TYPE_RINGBUF) throw new MapError(`map ${map.name}: not a ring buffer`);
    this.map = map;
    this.#size = map.maxEntries;
    this.#page = pageSize();
    const n = native();
    const consumer = n.mmap(map.fd, this.#page, true, 0);
    if (typeof consumer === 'number') throw new BpfError('mmap', -consumer, 'ring buffer consumer page');
    const producer = n.mmap(map.fd, this.#page + 2 * this.#size, false, this.#page);
    if (typeof producer === 'number') {
      n.munmap(consumer);
      throw new BpfError('mmap', -producer, 'ring buffer data');
    }
    this.#consumer = consumer;
    this.#producer = producer;
    this.#cons = new DataView(consumer);
    this.#prod = new DataView(producer, 0, this.#page);
    this.#data = new Uint8Array(producer, this.#page, 2 * this.#size);
  }

  #check(): void {
    if (this.#consumer === undefined) throw new MapError('ring buffer reader is closed');
  }

  /** Bytes written but not yet consumed. */
  get available(): number {
    this.#check();
    return Number(this.#prod.getBigUint64(0, true) - this.#cons.getBigUint64(0, true));
  }

  /**
   * Hands every complete sample to `onSample` (a copy, so it may be kept) and
   * returns how many there were; stops at a record still being written.
   * Discarded records are skipped.
   */
  consume(onSample: (sample: Uint8Array) => void, max = Infinity): number {
    this.#check();
    const mask = BigInt(this.#size - 1);
    let cons = this.#cons.getBigUint64(0, true);
    const prod = this.#prod.getBigUint64(0, true);
    let count = 0;
    const view = new DataView(this.#data.buffer, this.#data.byteOffset, this.#data.byteLength);
    while (cons < prod && count < max) {
      const at = Number(cons & mask);
      const header = view.getUint32(at, true);
      if (header & BUSY) break;
      const len = header & ~(BUSY | DISCARD);
      if (!(header & DISCARD)) {
        onSample(this.#data.slice(at + HEADER, at + HEADER + len));
        count++;
      }
      cons += BigInt((len + HEADER + 7) & ~7);
      this.#cons.setBigUint64(0, cons, true);
    }
    return count;
  }

  /** Every complete sample now in the ring. */
  drain(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.consume((s) => out.push(s));
    return out;
  }

  /** The next sample, waiting up to `timeoutMs` (polling every `intervalMs`); undefined on timeout. */
  async next(timeoutMs = 1000, intervalMs = 5): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let got: Uint8Array | undefined;
      this.consume((s) => (got = s), 1);
      if (got) return got;
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Unmaps the ring; closing twice is harmless. The map stays open. */
  close(): void {
    const n = native();
    if (this.#consumer) n.munmap(this.#consumer);
    if (this.#producer) n.munmap(this.#producer);
    this.#consumer = undefined;
    this.#producer = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
