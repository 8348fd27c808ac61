import { afterAll, beforeAll, expect, it } from 'vitest';
import { XdpAction } from '../../lib/uapi/prog-types.js';
import type { MaglevControlPlane } from '../../bpf-progs/maglev/control-plane.js';
import { describeKernel, describeLlvm } from '../helpers/env.js';
import { compileTwin, loadObject, type LoadedTwin } from './twin.js';
import { compareDatapaths, configureDiff, randomPackets } from './differential.js';

const asUnderTest = (t: LoadedTwin) => ({
  program: t.program,
  maps: { services: t.maps.get('services')!, backends: t.maps.get('backends')!, config: t.maps.get('config')! },
});

// The harness the DSL datapath will be checked with, checked here on the C
// twin against itself built at -O1: same verdicts, byte-identical packets.
describeLlvm('Maglev differential harness', () => {
  describeKernel('in the kernel', () => {
    let a: LoadedTwin;
    let b: LoadedTwin;
    const lbs: MaglevControlPlane[] = [];
    beforeAll(() => {
      a = loadObject(compileTwin([], '-O2'));
      b = loadObject(compileTwin([], '-O1'));
      lbs.push(configureDiff(asUnderTest(a)), configureDiff(asUnderTest(b)));
    });
    afterAll(() => {
      for (const lb of lbs) lb.close();
      a?.close();
      b?.close();
    });

    it('finds no difference between -O2 and -O1 builds on 3,000 random packets, and covers every verdict', () => {
      const { mismatches, verdicts } = compareDatapaths(a.program, b.program, randomPackets(3000, 42));
      expect(mismatches).toEqual([]);
      expect(verdicts.get(XdpAction.XDP_TX)).toBeGreaterThan(1500);
      expect(verdicts.get(XdpAction.XDP_PASS)).toBeGreaterThan(100);
      expect(verdicts.get(XdpAction.XDP_DROP)).toBeGreaterThan(50);
    });

    it('notices a difference (different seeds)', () => {
      lbs[1]!.setConfig({ seed: 1 });
      try {
        const { mismatches } = compareDatapaths(a.program, b.program, randomPackets(200, 7));
        expect(mismatches.length).toBeGreaterThan(50);
      } finally {
        lbs[1]!.setConfig({ seed: 0x5eed });
      }
    });
  });
});
