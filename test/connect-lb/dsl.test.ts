import { describe, expect, it } from 'vitest';
import { HOOKS, HOOK_ATTACH_TYPES } from '../../bpf-progs/connect-lb/attach.js';
import { dslDatapath, datapathPrograms as programs } from '../../bpf-progs/connect-lb/datapath.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { connectLbConformance } from './conformance.js';

describe('connect-time LB DSL datapath: build', () => {
  it('builds the eight sock_addr programs with their expected attach types', () => {
    for (const h of HOOKS) {
      const built = programs[h].build();
      expect(built.name).toBe(`lb_${h}`);
      expect(built.progType).toBe(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
      expect(built.expectedAttachType).toBe(HOOK_ATTACH_TYPES[h]);
      expect(built.insns.length).toBeGreaterThan(10);
      expect(built.maps.map((m) => m.name).sort()).toEqual(h.startsWith('connect') || h.startsWith('sendmsg') ? ['lb_backends', 'lb_rev', 'lb_svc'] : ['lb_rev', 'lb_svc']);
    }
  });
});

connectLbConformance('DSL', () => dslDatapath());
