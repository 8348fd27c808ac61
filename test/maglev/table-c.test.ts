import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maglevTable, tableChecksum, type MaglevBackend } from '../../bpf-progs/maglev/table.js';

// The C twin of the table generation (bench/twins/maglev_table.c, gcc -O2)
// must build exactly the tables table.ts builds: the benchmark compares their
// speed on that premise.
describe('Maglev table: TypeScript and the C twin agree', () => {
  let dir: string;
  let exe: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsbpf-maglev-'));
    exe = join(dir, 'maglev_table');
    execFileSync('gcc', ['-O2', '-o', exe, join(import.meta.dirname, '..', '..', 'bench', 'twins', 'maglev_table.c')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function cTable(backends: MaglevBackend[], m: number): { table: Int32Array; checksum: string } {
    const names = join(dir, 'names.txt');
    const dump = join(dir, 'table.bin');
    writeFileSync(names, backends.map((b) => (b.weight === undefined ? b.name : `${b.name}\t${b.weight}`)).join('\n') + '\n');
    const out = execFileSync(exe, [names, String(m), '1', dump], { encoding: 'utf8' });
    const checksum = /checksum ([0-9a-f]{8})/.exec(out)![1]!;
    return { table: new Int32Array(new Uint8Array(readFileSync(dump)).buffer), checksum };
  }

  const cases: Array<[string, MaglevBackend[], number]> = [
    ['one backend', [{ name: 'solo' }], 251],
    ['10 backends', Array.from({ length: 10 }, (_, i) => ({ name: `backend-${i}` })), 16381],
    ['100 addresses, shuffled', Array.from({ length: 100 }, (_, i) => ({ name: `10.1.${(i * 37) % 100}.2:8080` })), 65537],
    ['weights, including 0', [{ name: 'a', weight: 1 }, { name: 'b', weight: 5 }, { name: 'c', weight: 0 }, { name: 'd', weight: 3 }], 4093],
    ['non-ASCII names', [{ name: 'pod-é' }, { name: 'ü日本' }, { name: 'x😀y' }, { name: '\uff21' }, { name: 'plain' }], 1021],
    ['1,000 backends', Array.from({ length: 1000 }, (_, i) => ({ name: `pod-${i}` })), 131071],
  ];
  for (const [what, backends, m] of cases) {
    it(`${what} (M=${m})`, () => {
      const ts = maglevTable(backends, m);
      const c = cTable(backends, m);
      expect(c.checksum).toBe(tableChecksum(ts).toString(16).padStart(8, '0'));
      expect(c.table).toEqual(ts);
    });
  }
});
