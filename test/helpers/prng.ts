/**
 * A small seeded PRNG for tests (mulberry32): the same seed always gives the
 * same sequence, so a failing fuzz case can be replayed from its seed.
 */

/** mulberry32: a function returning numbers in [0, 1) from the 32-bit `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
