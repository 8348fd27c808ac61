/**
 * Test helpers for the Maglev C twin (bench/twins/maglev_xdp.c): compile it
 * with clang-22 and load it with its maps; packets come from
 * bpf-progs/maglev/packet.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { Collection } from '../../lib/kernel/collection.js';
import type { BpfMap } from '../../lib/kernel/map.js';
import type { Program } from '../../lib/kernel/program.js';

/** bench/twins/maglev_xdp.c */
export const twinSource = join(import.meta.dirname, '..', '..', 'bench', 'twins', 'maglev_xdp.c');

/** Compiles the twin (optionally with -D defines, at -O2 unless `opt` says otherwise) and returns the object bytes. */
export function compileTwin(defines: string[] = [], opt = '-O2'): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-maglev-'));
  try {
    const out = join(dir, 'maglev_xdp.o');
    execFileSync('clang-22', [opt, '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', ...defines.map((d) => `-D${d}`), '-c', twinSource, '-o', out]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A loaded object: its program and maps. */
export interface LoadedTwin {
  collection: Collection;
  program: Program;
  maps: Map<string, BpfMap>;
  close(): void;
}

/** Loads the object's maps and its XDP program `maglev_xdp` (lib/kernel's collection loader). */
export function loadObject(obj: Uint8Array): LoadedTwin {
  const collection = Collection.load(readCollectionSpec(obj));
  return { collection, program: collection.program('maglev_xdp'), maps: collection.maps, close: () => collection.close() };
}

export { MAC_A, MAC_B, onesSum, packet, type PacketSpec } from '../../bpf-progs/maglev/packet.js';
