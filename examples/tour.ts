/**
 * The main demo (`npm run demo`, as root): the whole toolchain on the
 * reference programs.
 *
 * 1. Build the DSL datapaths of the Maglev balancer (XDP) and the
 *    connect-time balancer (eight cgroup sock_addr programs), with timing.
 * 2. Check each with verifier-lite (no kernel), then load it into the kernel
 *    and compare the two verdicts and verification times.
 * 3. Write them to one ELF object, read it back, and show the start of the
 *    Maglev datapath disassembled under its TypeScript lines.
 * 4. Run both balancers end to end in fresh network namespaces: Maglev with
 *    real TCP through XDP, then the connect-time balancer with a client in a
 *    test cgroup.
 *
 * ```
 * sudo npm run demo
 * ```
 * Everything created is removed at the end, also on an error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { maglevDatapath } from '../bpf-progs/maglev/datapath.js';
import { datapathPrograms } from '../bpf-progs/connect-lb/datapath.js';
import { dslCollectionSpec, writeDslObject, type DslProgram } from '../lib/dsl/index.js';
import { readCollectionSpec } from '../lib/elf/index.js';
import { verifyCollection } from '../lib/verifier/index.js';
import { loadDslProgram } from '../lib/kernel/dsl-loader.js';
import { VerifierError } from '../lib/kernel/verifier-log.js';
import { runMaglevLb } from './maglev-lb.js';
import { main as runConnectLb } from './connect-lb.js';

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** Steps 1-3: build, verify twice, write and read an object. */
function toolchain(programs: DslProgram[]): void {
  heading('1. build the DSL datapaths');
  for (const p of programs) {
    const t0 = performance.now();
    const built = p.rebuild();
    const ms = performance.now() - t0;
    console.log(`${built.name.padEnd(16)} ${String(built.insns.length).padStart(4)} insns  built in ${ms.toFixed(1)} ms`);
  }

  heading('2. verifier-lite (no kernel) vs the kernel verifier');
  const spec = dslCollectionSpec(programs);
  const lite = new Map(verifyCollection(spec).map((r) => [r.program, r.result]));
  for (const p of programs) {
    const l = lite.get(p.name);
    let kernel: string;
    try {
      using loaded = loadDslProgram(p, { stats: true });
      kernel = `ok (${loaded.program.stats?.verificationUs ?? '?'} us, ${loaded.program.stats?.processedInsns ?? '?'} insns processed)`;
    } catch (e) {
      kernel = e instanceof VerifierError ? `rejected: ${e.message}` : `failed: ${(e as Error).message}`;
    }
    console.log(`${p.name.padEnd(16)} lite: ${l ? `${l.verdict} (${l.durationUs.toFixed(0)} us)` : 'n/a'}   kernel: ${kernel}`);
  }

  heading('3. one ELF object, read back, disassembled with TypeScript lines');
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-tour-'));
  try {
    const file = join(dir, 'reference.o');
    writeFileSync(file, writeDslObject(programs));
    const back = readCollectionSpec(new Uint8Array(readFileSync(file)));
    console.log(`${file}: ${back.programs.size} programs, ${back.maps.size} maps (${[...back.maps.keys()].join(', ')}), BTF ${back.btf ? 'yes' : 'no'}`);
    const listing = programs[0]!.disasm({ source: true }).split('\n').slice(0, 18);
    console.log(listing.join('\n'));
    console.log('   ...  (npm run -s tsbpf -- disasm --source FILE.o prints it all)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the tour. */
/** Options of {@link main}. */
export interface TourOptions {
  /**
   * Prefix of the names of the namespaces, interfaces and cgroups the end-to-end runs create
   * (at most 10 characters; by default one derived from the process id).
   */
  id?: string;
}

/** Runs the tour. */
export async function main(options: TourOptions = {}): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo loads programs into the kernel: run it as root');
  const programs: DslProgram[] = [maglevDatapath(), ...Object.values(datapathPrograms)] as DslProgram[];
  toolchain(programs);

  heading('4a. Maglev XDP load balancer, end to end');
  await runMaglevLb({ connections: 300, handleSigint: true, ...(options.id ? { id: `${options.id}m` } : {}) });

  heading('4b. connect-time load balancer, end to end');
  await runConnectLb(options.id ? ['--tag', `${options.id}c`] : []);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
