import { existsSync, statSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ConnectLb, HOOKS, HOOK_ATTACH_TYPES } from '../../bpf-progs/connect-lb/attach.js';
import { dslDatapath } from '../../bpf-progs/connect-lb/datapath.js';
import { Cgroup } from '../../lib/kernel/cgroup.js';
import { LinkType } from '../../lib/uapi/prog-types.js';
import { describeKernel, testName } from '../helpers/env.js';

const sizes = { maxServices: 64, maxBackends: 64, maxRev: 64 };

describeKernel('connect-time LB attachment', () => {
  it('creates a dedicated cgroup by default and removes it on close', () => {
    const lb = ConnectLb.attach({ datapath: dslDatapath(), sizes });
    const path = lb.cgroup.path;
    try {
      expect(existsSync(path)).toBe(true);
      expect(Object.keys(lb.programs).sort()).toEqual([...HOOKS].sort());
    } finally {
      lb.close();
      lb.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('attaches to a cgroup given by path, one cgroup link per hook, and leaves the cgroup on close', () => {
    const cg = Cgroup.create(testName('cg'));
    try {
      const lb = ConnectLb.attach({ datapath: dslDatapath(), cgroup: cg.path, sizes });
      const links = lb.links;
      try {
        expect(links).toHaveLength(8);
        links.forEach((l, i) => {
          const info = l.info();
          expect(info.type).toBe(LinkType.BPF_LINK_TYPE_CGROUP);
          expect(info.attachType).toBe(HOOK_ATTACH_TYPES[HOOKS[i]!]);
          // cgroup id = the directory's inode number on cgroup2
          expect(info.cgroupId).toBe(BigInt(statSync(cg.path).ino));
        });
      } finally {
        lb.close();
      }
      expect(links.every((l) => l.closed)).toBe(true);
      expect(existsSync(cg.path)).toBe(true);
    } finally {
      cg.remove();
    }
  });
});
