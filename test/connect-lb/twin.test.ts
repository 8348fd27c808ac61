import { expect, it } from 'vitest';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { MapType, MapFlags } from '../../lib/uapi/map-types.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { HOOKS, HOOK_ATTACH_TYPES } from '../../bpf-progs/connect-lb/attach.js';
import { BackendKey, BackendValue, MAX_BACKENDS, MAX_REV, MAX_SERVICES, MapNames, RevKey, RevValue, SvcKey, SvcValue } from '../../bpf-progs/connect-lb/maps.js';
import { cTwinDatapath, compileTwin } from '../../bpf-progs/connect-lb/twin.js';
import { describeLlvm, llvmUnavailable } from '../helpers/env.js';
import { connectLbConformance } from './conformance.js';

describeLlvm('connect-time LB C twin: object', () => {
  it('has the eight sock_addr programs and the maps of maps.ts', () => {
    const spec = readCollectionSpec(compileTwin());
    expect([...spec.programs.keys()].sort()).toEqual(HOOKS.map((h) => `lb_${h}`).sort());
    for (const h of HOOKS) {
      const p = spec.programs.get(`lb_${h}`)!;
      expect(p.section).toBe(`cgroup/${h}`);
      expect(p.type).toBe(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
      expect(p.expectedAttachType).toBe(HOOK_ATTACH_TYPES[h]);
    }
    const svc = spec.maps.get(MapNames.services)!;
    expect([svc.type, svc.keySize, svc.valueSize, svc.maxEntries, svc.flags]).toEqual([MapType.BPF_MAP_TYPE_HASH, SvcKey.size, SvcValue.size, MAX_SERVICES, MapFlags.BPF_F_NO_PREALLOC]);
    const be = spec.maps.get(MapNames.backends)!;
    expect([be.type, be.keySize, be.valueSize, be.maxEntries, be.flags]).toEqual([MapType.BPF_MAP_TYPE_HASH, BackendKey.size, BackendValue.size, MAX_BACKENDS, MapFlags.BPF_F_NO_PREALLOC]);
    const rev = spec.maps.get(MapNames.rev)!;
    expect([rev.type, rev.keySize, rev.valueSize, rev.maxEntries]).toEqual([MapType.BPF_MAP_TYPE_LRU_HASH, RevKey.size, RevValue.size, MAX_REV]);
  });
});

if (!llvmUnavailable) connectLbConformance('C twin (clang-22 -O2)', () => cTwinDatapath());
