import { describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { loadDslCollection } from '../../lib/kernel/dsl-loader.js';
import { Collection } from '../../lib/kernel/collection.js';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { DslError, XDP_DROP, XDP_PASS, hashMap, iphdr, progArray, u32, u64, writeDslObject, xdp } from '../../lib/dsl/index.js';
import { verify } from '../../lib/verifier/index.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { ipv4Packet } from './packets.js';

/** Slot 1 holds `tcall_target` when the collection loads; slot 0 is left empty. */
const jumps = progArray('tcall_jumps', { maxEntries: 4, programs: { 1: 'tcall_target' } });

/** Drops: reached only through the jump table. */
const target = xdp('tcall_target', (b) => b.return(XDP_DROP));

/** Tail-calls the slot named by the packet's TTL; passes when the slot is empty or out of range. */
const entry = xdp('tcall_entry', (b) => {
  const ip = b.header(iphdr, 14, () => b.return(XDP_PASS));
  b.tailCall(jumps, ip.ttl.as(u32));
  return b.return(XDP_PASS);
});


describe('DSL tail calls', () => {
  it('emits bpf_tail_call(ctx, map, index) and verifier-lite accepts it', () => {
    const built = entry.build();
    const call = built.insns.findIndex((i) => i.code === 0x85 && i.src === 0 && i.imm === 12);
    expect(call).toBeGreaterThan(0);
    // r2 is the map: the lddw right before the call names it
    const maps = built.insns.slice(0, call).filter((i) => i.code === 0x18 && i.ref?.kind === 'map');
    expect(maps.at(-1)).toMatchObject({ dst: 2, ref: { name: 'tcall_jumps' } });
    expect(built.maps.map((m) => m.name)).toContain('tcall_jumps');
    const lite = verify({ insns: built.insns, progType: ProgType.BPF_PROG_TYPE_XDP, maps: built.maps.map((m) => ({ name: m.name, type: m.type, keySize: m.key.size, valueSize: m.value.size, maxEntries: m.maxEntries })) });
    expect(lite.verdict).toBe('ok');
  });

  it('rejects a map that is not a program array, and reads of a program array', () => {
    const counts = hashMap('tcall_counts', { key: u32, value: u64, maxEntries: 4 });
    const wrong = xdp('tcall_wrong', (b) => {
      b.tailCall(counts, 0);
      return b.return(XDP_PASS);
    });
    expect(() => wrong.build()).toThrow(DslError);
    expect(() => wrong.build()).toThrow(/b\.tailCall needs a progArray; map 'tcall_counts' is not one/);
    const peek = xdp('tcall_peek', (b) => {
      b.lookup(jumps, 1);
      return b.return(XDP_PASS);
    });
    expect(() => peek.build()).toThrow(/cannot be read by the program \(a program array; use b\.tailCall\(\)\)/);
  });

  it('checks the initial slots of a program array', () => {
    expect(() => progArray('tcall_bad', { maxEntries: 2, programs: { 2: 'x' } })).toThrow(/slot 2 is outside 0\.\.1/);
    expect(() => progArray('tcall_bad', { maxEntries: 2, programs: { 0: '' } })).toThrow(/must name a program/);
    // a slot naming a program the collection lacks is an error, not a silently empty slot
    expect(() => writeDslObject([entry])).toThrow(/slot 1 names program 'tcall_target', which is not in this collection \(tcall_entry\)/);
  });
});

describeKernel('DSL tail calls (kernel)', () => {
  it('jumps through the program array filled at load, falls through on an empty or missing slot', () => {
    using col = loadDslCollection([entry, target]);
    const run = (ttl: number) => col.program(entry).testRun({ data: ipv4Packet({ ttl }) }).retval;
    expect(run(1)).toBe(XDP_DROP);
    expect(run(0)).toBe(XDP_PASS);
    expect(run(200)).toBe(XDP_PASS);
    // a slot set at run time: slot 0 now holds the target as well
    const fd = new Uint8Array(new Uint32Array([col.program(target).fd]).buffer);
    col.map(jumps).update(new Uint8Array(4), fd);
    expect(run(0)).toBe(XDP_DROP);
  });

  it('keeps the slots through an ELF object', () => {
    const spec = readCollectionSpec(writeDslObject([entry, target]));
    expect(spec.maps.get('tcall_jumps')!.slots).toEqual([{ key: 1, value: 'tcall_target', kind: 'program' }]);
    using col = Collection.load(spec);
    expect(col.program('tcall_entry').testRun({ data: ipv4Packet({ ttl: 1 }) }).retval).toBe(XDP_DROP);
    expect(col.program('tcall_entry').testRun({ data: ipv4Packet({ ttl: 0 }) }).retval).toBe(XDP_PASS);
  });
});
