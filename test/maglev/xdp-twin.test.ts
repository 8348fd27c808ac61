import { expect, it } from 'vitest';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { MapType, MapFlags } from '../../lib/uapi/map-types.js';
import { SvcKey, Backend, LbConfig } from '../../bpf-progs/maglev/maps.js';
import { describeLlvm, llvmUnavailable } from '../helpers/env.js';
import { compileTwin, loadObject } from './twin.js';
import { maglevConformance, type DatapathVariant } from './conformance.js';

describeLlvm('Maglev XDP C twin: object', () => {
  it('compiles (also with BENCH_RESTORE) with the maps the control plane expects', () => {
    for (const defines of [[], ['BENCH_RESTORE']]) {
      const spec = readCollectionSpec(compileTwin(defines));
      expect([...spec.programs.keys()]).toEqual(['maglev_xdp']);
      expect(spec.programs.get('maglev_xdp')!.section).toBe('xdp');
      const services = spec.maps.get('services')!;
      expect(services.type).toBe(MapType.BPF_MAP_TYPE_HASH_OF_MAPS);
      expect(services.keySize).toBe(SvcKey.size);
      expect(services.innerMap!.flags & MapFlags.BPF_F_INNER_MAP).toBeTruthy();
      expect(services.innerMap!.type).toBe(MapType.BPF_MAP_TYPE_ARRAY);
      expect(spec.maps.get('backends')!.valueSize).toBe(Backend.size);
      expect(spec.maps.get('config')!.valueSize).toBe(LbConfig.size);
    }
  });
});

/** Loads the C twin built with the -D options of a variant. */
function loadTwin(v: DatapathVariant) {
  const defines = [...(v.restore ? ['BENCH_RESTORE'] : []), ...(v.countActions ? ['COUNT_ACTIONS'] : []), ...(v.connTable ? ['CONN_TABLE'] : [])];
  const t = loadObject(compileTwin(defines));
  const m = t.maps;
  return {
    program: t.program,
    maps: { services: m.get('services')!, backends: m.get('backends')!, config: m.get('config')!, conns: m.get('conns') },
    actions: m.get('actions'),
    close: () => t.close(),
  };
}

// Without clang the suite cannot build the twin: it skips (or fails under TSBPF_REQUIRE_LLVM=1, via describeLlvm above).
if (!llvmUnavailable) maglevConformance('Maglev XDP C twin', loadTwin, { restoreAndCount: true, connTable: true });
