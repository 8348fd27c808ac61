import { afterAll, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { countUdp, counts } from '../../examples/count-udp-ports.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { ipv4Packet } from './packets.js';

describeKernel('DSL XDP programs in the kernel', () => {
  const open: LoadedDslProgram[] = [];
  afterAll(() => open.forEach((p) => p.close()));

  it('count_udp counts UDP packets per destination port', () => {
    const p = loadDslProgram(countUdp);
    open.push(p);
    const run = (pkt: Uint8Array) => p.program.testRun({ data: pkt }).retval;
    expect(run(ipv4Packet({ dport: 53 }))).toBe(2);
    expect(run(ipv4Packet({ dport: 53 }))).toBe(2);
    expect(run(ipv4Packet({ dport: 8080 }))).toBe(2);
    expect(run(ipv4Packet({ proto: 6, dport: 80 }))).toBe(2);
    expect(run(ipv4Packet({ ethType: 0x86dd, dport: 53 }))).toBe(2);
    expect(run(ipv4Packet({ dport: 53 }).subarray(0, 40))).toBe(2);
    const m = p.typed(counts);
    expect(m.get(53)).toBe(2n);
    expect(m.get(8080)).toBe(1n);
    expect(m.get(80)).toBeUndefined();
  });
});
