/**
 * Mutation fuzzing of the ELF and BTF readers: every mutated object either
 * reads or fails with a typed error (`ElfError`, `BtfError`), quickly.
 * Seeded, so failures reproduce.
 */
import { describe, expect, it } from 'vitest';
import { BtfError, decodeBtf } from '../../lib/btf/index.js';
import { ElfError, readCollectionSpec, readElf, writeCollectionSpec } from '../../lib/elf/index.js';
import { llvmUnavailable } from '../helpers/env.js';
import { compileC } from './clang.js';
import { FEATURES_C } from './fixtures.js';
import { dslLikeSpec } from './dsl-like.js';
import { mulberry32 as prng } from '../helpers/prng.js';

const INTERESTING = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 64, 24, 4096];

function mutate(src: Uint8Array, rnd: () => number, focus?: { start: number; end: number }): Uint8Array {
  const b = src.slice();
  const lo = focus?.start ?? 0;
  const hi = focus?.end ?? b.length;
  const at = () => lo + Math.floor(rnd() * (hi - lo));
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const what = rnd();
    const dv = new DataView(b.buffer);
    if (what < 0.35) b[at()] = Math.floor(rnd() * 256);
    else if (what < 0.5) b[at()]! ^= 1 << Math.floor(rnd() * 8);
    else if (what < 0.8) {
      const p = at() & ~3;
      if (p + 4 <= b.length) dv.setUint32(p, INTERESTING[Math.floor(rnd() * INTERESTING.length)]! >>> 0, true);
    } else if (what < 0.9) {
      const p = at() & ~1;
      if (p + 2 <= b.length) dv.setUint16(p, Math.floor(rnd() * 65536), true);
    } else {
      return b.subarray(0, at());
    }
  }
  return b;
}

function check(bytes: Uint8Array): 'ok' | 'typed' {
  const t0 = performance.now();
  try {
    readCollectionSpec(bytes);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ElfError || e instanceof BtfError)) {
      throw new Error(`untyped error ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    return 'typed';
  } finally {
    const dt = performance.now() - t0;
    if (dt > 2000) throw new Error(`reading took ${dt.toFixed(0)} ms`);
  }
}

function objects(): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [['dsl', writeCollectionSpec(dslLikeSpec())]];
  if (!llvmUnavailable) out.push(['clang', compileC('fuzz-features', FEATURES_C).bytes]);
  return out;
}

describe('mutated objects', () => {
  for (const [name, seed] of [
    ['whole file', 1],
    ['headers', 2],
    ['.BTF', 3],
    ['.BTF.ext', 4],
    ['code and relocations', 5],
  ] as const) {
    it(`${name}: read or fail with ElfError/BtfError (seed ${seed})`, () => {
      const rnd = prng(seed);
      const counts = { ok: 0, typed: 0 };
      for (const [, obj] of objects()) {
        const elf = readElf(obj);
        const sec = (n: string) => elf.section(n);
        const focus = (): { start: number; end: number } | undefined => {
          switch (name) {
            case 'headers': {
              const shoff = Number(new DataView(obj.buffer, obj.byteOffset).getBigUint64(40, true));
              return rnd() < 0.3 ? { start: 0, end: 64 } : { start: shoff, end: obj.length };
            }
            case '.BTF':
            case '.BTF.ext': {
              const s = sec(name)!;
              return { start: s.offset, end: s.offset + s.size };
            }
            case 'code and relocations': {
              const cands = elf.sections.filter((s) => s.name.startsWith('.rel') || s.name === '.symtab' || s.name === 'xdp' || s.name === '.text');
              const s = cands[Math.floor(rnd() * cands.length)]!;
              return { start: s.offset, end: s.offset + s.size };
            }
            default:
              return undefined;
          }
        };
        for (let i = 0; i < 400; i++) counts[check(mutate(obj, rnd, focus()))]++;
      }
      expect(counts.ok + counts.typed).toBeGreaterThan(0);
      expect(counts.typed).toBeGreaterThan(0);
    });
  }

  it('BTF blobs alone: decode or BtfError', () => {
    const rnd = prng(6);
    const btf = readElf(writeCollectionSpec(dslLikeSpec())).section('.BTF')!.data;
    for (let i = 0; i < 3000; i++) {
      try {
        decodeBtf(mutate(btf, rnd));
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
      }
    }
  });
});
