/**
 * Reference programs written in the DSL (bpf-progs/), as differential corpus
 * entries: built once, map loads turned into `lddw src=1 imm=<index>` so the
 * kernel loader and verifier-lite see the same program.
 */
import { datapathPrograms } from '../../bpf-progs/connect-lb/datapath.js';
import { maglevDatapath } from '../../bpf-progs/maglev/datapath.js';
import { maglevDecap } from '../../bpf-progs/maglev/decap.js';
import type { BuiltProgram } from '../../lib/dsl/program.js';
import type { MapDef } from '../../lib/dsl/maps.js';
import type { MapSpecLite } from '../../lib/verifier/types.js';
import type { CorpusEntry } from './corpus.js';

function lite(m: MapDef): MapSpecLite {
  const inner = m.inner as MapDef | undefined;
  return {
    name: m.name, type: m.type, keySize: m.key.size, valueSize: m.value.size, maxEntries: m.maxEntries,
    ...(m.options.flags !== undefined ? { flags: m.options.flags } : {}),
    ...(inner ? { inner: lite(inner) } : {}),
  };
}

/** A built DSL program as a corpus entry. */
export function entryFromDsl(p: BuiltProgram, rule = 'dsl_reference'): CorpusEntry {
  const maps = p.maps.map(lite);
  const insns = p.insns.map((i) => {
    if (i.ref?.kind === 'map') {
      const idx = maps.findIndex((m) => m.name === i.ref!.name);
      const { ref: _ref, ...rest } = i;
      void _ref;
      return { ...rest, imm: idx, imm64: BigInt(idx) };
    }
    return i;
  });
  return { name: `dsl/${p.name}`, rule, progType: p.progType, attach: p.expectedAttachType, maps, insns };
}

/**
 * The DSL reference programs: the connect-time load balancer (eight sock_addr programs) and
 * the Maglev XDP balancer (datapath, map-in-map, and the backends' decapsulation).
 */
export function dslReferencePrograms(): CorpusEntry[] {
  const out: CorpusEntry[] = [];
  for (const prog of [...Object.values(datapathPrograms), maglevDatapath(), maglevDecap()]) {
    try {
      out.push(entryFromDsl(prog.build()));
    } catch {
      // A program that does not build is the DSL's concern, not the verifier's.
    }
  }
  return out;
}
