import { expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { BpfMap } from '../../lib/kernel/map.js';
import { Program } from '../../lib/kernel/program.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { exit, mov64Imm } from '../../lib/isa/index.js';
import { fdById } from '../../lib/kernel/info.js';
import { BpfCmd } from '../../lib/uapi/commands.js';
import { describeKernel } from '../helpers/env.js';

const openFds = () => readdirSync('/proc/self/fd').length;

describeKernel('descriptor leaks', () => {
  it('10,000 create/close cycles of maps and of programs leave the open fd count unchanged', () => {
    const k = new Uint8Array(4);
    const v = new Uint8Array(8);
    // Warm up (lazy module state, the addon, cpu count) before counting.
    BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1 }).close();
    Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2), exit()], license: 'GPL' }).close();
    const before = openFds();
    const types = ['hash', 'array', 'percpu_array', 'lru_hash'] as const;
    for (let i = 0; i < 10_000; i++) {
      const m = BpfMap.create({ type: types[i % types.length]!, keySize: 4, valueSize: 8, maxEntries: 1 });
      m.update(k, v);
      m.close();
    }
    expect(openFds()).toBe(before);
    const insns = [mov64Imm(0, 2), exit()];
    for (let i = 0; i < 10_000; i++) {
      const p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns, license: 'GPL' });
      p.close();
    }
    expect(openFds()).toBe(before);
  });

  it('failed creations and refused descriptors do not leak either', () => {
    const before = openFds();
    for (let i = 0; i < 500; i++) {
      // The inner template is created, the outer map is refused (bad key size for an array): the template must be closed.
      expect(() =>
        BpfMap.create({ type: 'array_of_maps', keySize: 8, valueSize: 4, maxEntries: 1, innerMap: { type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 } }),
      ).toThrow();
    }
    // A program descriptor handed to BpfMap.fromFd is closed when refused.
    const p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2), exit()], license: 'GPL' });
    const progId = p.info().id;
    for (let i = 0; i < 200; i++) {
      expect(() => BpfMap.fromFd(fdById(BpfCmd.BPF_PROG_GET_FD_BY_ID, progId))).toThrow(/not a map/);
    }
    p.close();
    const m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 4 });
    for (let i = 0; i < 200; i++) {
      using again = BpfMap.fromId(m.id);
      expect(again.id).toBe(m.id);
    }
    m.close();
    expect(openFds()).toBe(before);
  });
});
