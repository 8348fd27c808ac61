/**
 * One scratch slot for moving 64-bit values between bigints and two 32-bit
 * numbers without bigint arithmetic: store into `u64` (or `s64`), read
 * `halves[HI]` and `halves[LO]`; or store the halves and read the bigint.
 * V8 compiles these typed-array accesses inline. Callers use it within one
 * synchronous step (store, then read at once).
 *
 * @module
 */

/** The slot as an unsigned 64-bit element (stores of larger or negative values wrap). */
export const u64 = new BigUint64Array(1);
/** The same slot as a signed 64-bit element. */
export const s64 = new BigInt64Array(u64.buffer);
/** The same slot as two unsigned 32-bit halves, at {@link HI} and {@link LO}. */
export const halves = new Uint32Array(u64.buffer);
/** Index of the low half in {@link halves} (host byte order). */
export const LO = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;
/** Index of the high half in {@link halves}. */
export const HI = 1 - LO;
