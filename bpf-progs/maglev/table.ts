/**
 * Maglev lookup-table generation (Eisenbud et al., "Maglev: A Fast and
 * Reliable Software Network Load Balancer", NSDI 2016, section 3.4).
 * Pure: no kernel access.
 *
 * Each backend gets a permutation of the table's M slots, `offset + j * skip
 * (mod M)`, from two hashes of its stable name; backends then take turns
 * claiming the next free slot of their own permutation until every slot is
 * owned. M is prime, so every permutation visits every slot.
 *
 * Hashes (the C twin in bench/twins/maglev_table.c computes the same bits):
 * - `h1(name)` = fmix64(FNV-1a-64(utf8(name))) with the standard FNV offset
 *   basis 0xcbf29ce484222325;
 * - `h2(name)` = fmix64(FNV-1a-64(utf8(name))) with the offset basis
 *   0xcbf29ce484222325 ^ 0x9e3779b97f4a7c15 (a second, independent chain);
 *
 * fmix64 is MurmurHash3's 64-bit finalizer, which spreads FNV's weak low bits
 * (names such as `backend-1`, `backend-2` differ in one byte). Then
 * `offset = h1 mod M` and `skip = h2 mod (M - 1) + 1`.
 *
 * Determinism: backends are sorted by the UTF-8 bytes of their names (as C's
 * `strcmp` orders them) before the fill, so the table depends only on the set
 * of backends, never on insertion order. Duplicate names are an error.
 *
 * Weights (optional, integers 0..2^24): in every round each backend adds its
 * weight to a credit and claims a slot when the credit reaches the largest
 * weight (then pays the largest weight back). Equal weights give exactly the
 * paper's algorithm; a backend of weight w gets about w / sum(weights) of the
 * slots; weight 0 gets none.
 *
 * The 64-bit arithmetic works on 32-bit halves in plain numbers (no bigint),
 * and the fill loop keeps each backend's position and skip in Int32Arrays
 * instead of materialising the M x N permutation matrix.
 *
 * @module
 */
import { TsbpfError } from '../../lib/errors.js';

/** An invalid table size, backend list or weight. */
export class MaglevError extends TsbpfError {}

/** One backend of a Maglev table: a stable name (its identity) and an optional weight. */
export interface MaglevBackend {
  /** Stable, unique name (for example `10.0.0.7:80` or a pod name); hashed to place the backend. */
  readonly name: string;
  /** Relative weight, an integer from 0 to 2^24 (default 1); 0 gives the backend no slots. */
  readonly weight?: number;
}

/** The default table size (prime), as Cilium's default. */
export const DEFAULT_TABLE_SIZE = 16381;

/** The smallest accepted table size. */
export const MIN_TABLE_SIZE = 251;

/** The largest accepted table size. */
export const MAX_TABLE_SIZE = 131071;

/** The largest accepted weight. */
export const MAX_WEIGHT = 1 << 24;

/** The usual table sizes (primes, as Cilium and Katran offer them), smallest to largest. */
export const MAGLEV_PRIMES: readonly number[] = Object.freeze([251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 65537, 131071]);

/** Whether `n` is a prime (trial division; n is at most a few million here). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Throws `MaglevError` unless `m` is a prime from `MIN_TABLE_SIZE` to `MAX_TABLE_SIZE`. */
export function checkTableSize(m: number): void {
  if (!Number.isInteger(m) || m < MIN_TABLE_SIZE || m > MAX_TABLE_SIZE) {
    throw new MaglevError(`Maglev table size must be a prime from ${MIN_TABLE_SIZE} to ${MAX_TABLE_SIZE}, got ${m}`);
  }
  if (!isPrime(m)) throw new MaglevError(`Maglev table size must be prime, ${m} is not (usual sizes: ${MAGLEV_PRIMES.join(', ')})`);
}

// ---------------------------------------------------------------------------
// 64-bit hashing on 32-bit halves.

const TWO32 = 4294967296;
const FNV_BASIS_HI = 0xcbf29ce4;
const FNV_BASIS_LO = 0x84222325;
const FNV2_BASIS_HI = (0xcbf29ce4 ^ 0x9e3779b9) >>> 0;
const FNV2_BASIS_LO = (0x84222325 ^ 0x7f4a7c15) >>> 0;

/**
 * Scratch for results: [h1 hi, h1 lo, h2 hi, h2 lo, tmp hi, tmp lo]. Values
 * of 2^31 and above kept in module variables would be boxed on every store;
 * typed-array slots are not.
 */
const H = new Uint32Array(6);

/** (aHi:aLo) * (bHi:bLo) mod 2^64 into H[at], H[at + 1] (hi, lo). */
function mul64(aHi: number, aLo: number, bHi: number, bLo: number, at: number): void {
  // Full 64-bit product of the low halves from 16-bit pieces.
  const a0 = aLo & 0xffff;
  const a1 = aLo >>> 16;
  const b0 = bLo & 0xffff;
  const b1 = bLo >>> 16;
  const mid = a0 * b1 + a1 * b0; // < 2^33
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  const high = a1 * b1 + Math.floor(mid / 65536) + Math.floor(low / TWO32);
  H[at + 1] = low;
  H[at] = high + Math.imul(aHi, bLo) + Math.imul(aLo, bHi);
}

/** MurmurHash3 fmix64 of hi:lo into H[at], H[at + 1]. */
function fmix64(hi: number, lo: number, at: number): void {
  mul64(hi, (lo ^ (hi >>> 1)) >>> 0, 0xff51afd7, 0xed558ccd, 4); // k ^= k >> 33; k *= C1
  hi = H[4]!;
  mul64(hi, (H[5]! ^ (hi >>> 1)) >>> 0, 0xc4ceb9fe, 0x1a85ec53, 4);
  hi = H[4]!;
  H[at] = hi;
  H[at + 1] = H[5]! ^ (hi >>> 1);
}

const utf8 = new TextEncoder();

/** Both hashes of `name` into H[0..4): FNV-1a-64 on two chains over its UTF-8 bytes, then fmix64. */
function hashName(name: string): void {
  let bytes: Uint8Array | undefined;
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) {
      bytes = utf8.encode(name); // lone surrogates become U+FFFD
      break;
    }
  }
  const len = bytes ? bytes.length : name.length;
  // Words kept as signed 32-bit integers (no boxing); made unsigned for fmix64.
  let aHi = FNV_BASIS_HI | 0;
  let aLo = FNV_BASIS_LO | 0;
  let bHi = FNV2_BASIS_HI | 0;
  let bLo = FNV2_BASIS_LO | 0;
  for (let i = 0; i < len; i++) {
    const byte = bytes ? bytes[i]! : name.charCodeAt(i);
    // h = (h ^ byte) * (2^40 + 0x1b3) mod 2^64, in 32-bit integer operations:
    // low word = lo * 0x1b3 mod 2^32; high word = hi * 0x1b3 + carry + (lo << 8).
    let lo = aLo ^ byte;
    let carry = (((lo >>> 16) * 0x1b3 + (((lo & 0xffff) * 0x1b3) >>> 16)) >>> 16) | 0;
    aLo = Math.imul(lo, 0x1b3);
    aHi = (Math.imul(aHi, 0x1b3) + carry + (lo << 8)) | 0;
    lo = bLo ^ byte;
    carry = (((lo >>> 16) * 0x1b3 + (((lo & 0xffff) * 0x1b3) >>> 16)) >>> 16) | 0;
    bLo = Math.imul(lo, 0x1b3);
    bHi = (Math.imul(bHi, 0x1b3) + carry + (lo << 8)) | 0;
  }
  fmix64(aHi >>> 0, aLo >>> 0, 0);
  fmix64(bHi >>> 0, bLo >>> 0, 2);
}

/** (hi * 2^32 + lo) mod m, exact for m < 2^26. */
function mod64(hi: number, lo: number, m: number): number {
  return ((hi % m) * (TWO32 % m) + lo) % m;
}

/** The two 64-bit hashes of a backend name (`h1` places the offset, `h2` the skip), as bigints. */
export function maglevHashes(name: string): { h1: bigint; h2: bigint } {
  hashName(name);
  return { h1: (BigInt(H[0]!) << 32n) | BigInt(H[1]!), h2: (BigInt(H[2]!) << 32n) | BigInt(H[3]!) };
}

/** A backend's permutation in a table of size `m`: slot j is `(offset + j * skip) mod m`. */
export function maglevPermutation(name: string, m: number): { offset: number; skip: number } {
  hashName(name);
  return { offset: mod64(H[0]!, H[1]!, m), skip: mod64(H[2]!, H[3]!, m - 1) + 1 };
}

// ---------------------------------------------------------------------------
// Ordering.

const surrogate = /[\ud800-\udfff]/;

/** Compares strings by their UTF-8 bytes (code point order), as C's strcmp does on UTF-8. */
export function compareNames(a: string, b: string): number {
  if (!surrogate.test(a) && !surrogate.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

/**
 * The backends sorted by name (UTF-8 byte order): the order whose indices
 * `maglevTable` writes into the table. Throws `MaglevError` on duplicate or
 * empty names.
 */
export function sortBackends<T extends MaglevBackend>(backends: readonly T[]): T[] {
  let plain = true;
  for (const b of backends) {
    if (typeof b.name !== 'string' || b.name.length === 0) throw new MaglevError('a Maglev backend needs a non-empty name');
    if (plain && surrogate.test(b.name)) plain = false;
  }
  // Without surrogates, UTF-16 code unit order is code point (UTF-8 byte) order.
  const sorted = plain
    ? backends.slice().sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0))
    : backends.slice().sort((p, q) => compareNames(p.name, q.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1]!.name === sorted[i]!.name) throw new MaglevError(`duplicate Maglev backend name '${sorted[i]!.name}'`);
  }
  return sorted;
}

// ---------------------------------------------------------------------------
// The table.

/**
 * Builds a Maglev lookup table of `m` slots (a prime from 251 to 131071,
 * default 16381). Returns slot -> index of the owning backend in
 * `sortBackends(backends)` (name order), or -1 in every slot when no backend
 * has a positive weight. The result depends only on the set of
 * (name, weight) pairs, not on their order. Throws `MaglevError` for a bad
 * size, more backends than slots, duplicate names or bad weights.
 */
export function maglevTable(backends: readonly MaglevBackend[], m: number = DEFAULT_TABLE_SIZE): Int32Array {
  checkTableSize(m);
  const n = backends.length;
  if (n > m) throw new MaglevError(`${n} backends do not fit a Maglev table of ${m} slots`);
  const sorted = sortBackends(backends);
  const pos = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Int32Array(n);
  let wmax = 0;
  let weighted = false;
  const twoM = TWO32 % m;
  const twoM1 = TWO32 % (m - 1);
  for (let i = 0; i < n; i++) {
    const b = sorted[i]!;
    const w = b.weight ?? 1;
    if (!Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) throw new MaglevError(`backend '${b.name}': weight must be an integer from 0 to ${MAX_WEIGHT}, got ${w}`);
    weight[i] = w;
    if (i > 0 && w !== weight[0]) weighted = true;
    if (w > wmax) wmax = w;
    hashName(b.name);
    pos[i] = ((H[0]! % m) * twoM + H[1]!) % m;
    skip[i] = (((H[2]! % (m - 1)) * twoM1 + H[3]!) % (m - 1)) + 1;
  }
  const table = new Int32Array(m).fill(-1);
  if (wmax === 0) return table;
  return weighted ? fillWeighted(table, pos, skip, weight, wmax) : fill(table, pos, skip);
}

/** The paper's fill: backends take turns claiming their next free slot. */
function fill(table: Int32Array, pos: Int32Array, skip: Int32Array): Int32Array {
  const m = table.length;
  const n = pos.length;
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      let c = pos[i]! | 0;
      const s = (skip[i]! - m) | 0; // step forward by skip, as a step back by m - skip
      while (table[c]! >= 0) {
        c = (c + s) | 0;
        c = (c + ((c >> 31) & m)) | 0; // branch-free "if (c < 0) c += m"
      }
      table[c] = i;
      c = (c + s) | 0;
      c = (c + ((c >> 31) & m)) | 0;
      pos[i] = c;
      if (++filled === m) return table;
    }
  }
}

/** Weighted fill: a backend claims a slot in the rounds where its credit reaches the largest weight. */
function fillWeighted(table: Int32Array, pos: Int32Array, skip: Int32Array, weight: Int32Array, wmax: number): Int32Array {
  const m = table.length;
  const n = pos.length;
  const credit = new Int32Array(n);
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const cr = credit[i]! + weight[i]!;
      if (cr < wmax) {
        credit[i] = cr;
        continue;
      }
      credit[i] = cr - wmax;
      let c = pos[i]! | 0;
      const s = (skip[i]! - m) | 0; // step forward by skip, as a step back by m - skip
      while (table[c]! >= 0) {
        c = (c + s) | 0;
        c = (c + ((c >> 31) & m)) | 0; // branch-free "if (c < 0) c += m"
      }
      table[c] = i;
      c = (c + s) | 0;
      c = (c + ((c >> 31) & m)) | 0;
      pos[i] = c;
      if (++filled === m) return table;
    }
  }
}

/** Slot counts per backend index (length `backends`), for checks and statistics. */
export function slotCounts(table: Int32Array, backends: number): Int32Array {
  const counts = new Int32Array(backends);
  for (let i = 0; i < table.length; i++) {
    const b = table[i]!;
    if (b >= 0) counts[b]!++;
  }
  return counts;
}

/**
 * FNV-1a-32 over the table's entries as little-endian 32-bit words: the
 * checksum the C twin prints, to compare tables across implementations.
 */
export function tableChecksum(table: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < table.length; i++) {
    const v = table[i]!;
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (v >>> 24), 0x01000193);
  }
  return h >>> 0;
}
