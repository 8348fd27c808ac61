/**
 * The C twin of the connect-time LB datapath (bench/twins/sock_lb.c) as a
 * {@link DatapathImpl}: compiled with clang-22 -O2 -g, loaded with lib/kernel's
 * collection loader over the control plane's maps.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { Collection } from '../../lib/kernel/collection.js';
import type { Program } from '../../lib/kernel/program.js';
import type { ConnectLbMaps } from './control-plane.js';
import { HOOKS, type DatapathImpl, type Hook, type LoadedDatapath } from './attach.js';
import { ConnectLbError, MapNames } from './maps.js';


/** bench/twins/sock_lb.c, from a checkout or from dist/. */
export function twinSource(): string {
  const here = import.meta.dirname;
  for (const d of [join(here, '..', '..', 'bench', 'twins'), join(here, '..', '..', '..', 'bench', 'twins')]) {
    const f = join(d, 'sock_lb.c');
    if (existsSync(f)) return f;
  }
  throw new ConnectLbError('bench/twins/sock_lb.c not found');
}

/** Compiles the twin with clang-22 (`-O2 -g -target bpf`) and returns the object bytes. */
export function compileTwin(opt = '-O2'): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-connect-lb-'));
  try {
    const out = join(dir, 'sock_lb.o');
    execFileSync('clang-22', [opt, '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', twinSource(), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The C twin as a datapath implementation (the object is compiled once, on first load, unless given). */
export function cTwinDatapath(object?: Uint8Array): DatapathImpl {
  let obj = object;
  return {
    name: 'c(clang-22 -O2)',
    load(maps: ConnectLbMaps): LoadedDatapath {
      obj ??= compileTwin();
      const spec = readCollectionSpec(obj);
      // Like libbpf's bpf_map__set_max_entries: the given maps' sizes win.
      for (const [name, m] of [[MapNames.services, maps.services], [MapNames.backends, maps.backends], [MapNames.rev, maps.rev]] as const) {
        const ms = spec.maps.get(name);
        if (ms) ms.maxEntries = m.maxEntries;
      }
      const c = Collection.load(spec, {
        replaceMaps: { [MapNames.services]: maps.services, [MapNames.backends]: maps.backends, [MapNames.rev]: maps.rev },
      });
      const programs = {} as Record<Hook, Program>;
      try {
        for (const h of HOOKS) programs[h] = c.program(`lb_${h}`);
      } catch (e) {
        closeCollectionPrograms(c);
        throw e;
      }
      return { programs, close: () => closeCollectionPrograms(c) };
    },
  };
}

/** Closes a collection's programs and BTF but not its maps (they belong to the control plane). */
function closeCollectionPrograms(c: Collection): void {
  for (const p of c.programs.values()) p.close();
  c.btf?.close();
}
