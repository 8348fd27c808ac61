import { expect, it } from 'vitest';
import { BpfMap, MapError } from '../../lib/kernel/map.js';
import { RingBufferReader, pageSize } from '../../lib/kernel/ringbuf.js';
import { Program } from '../../lib/kernel/program.js';
import { ProgType, XdpAction } from '../../lib/uapi/prog-types.js';
import { Helper } from '../../lib/uapi/helpers.js';
import { alu64Imm, call, exit, ldMapFd, mov64Imm, mov64Reg, st, type Insn } from '../../lib/isa/index.js';
import { describeKernel, testName } from '../helpers/env.js';

/** XDP: bpf_ringbuf_output(&rb, &{0xdeadbeef, 0x01020304}, 8, 0); return XDP_PASS. */
function producer(fd: number): Insn[] {
  return [
    st('u32', 10, -8, 0xdeadbeef | 0),
    st('u32', 10, -4, 0x01020304),
    ldMapFd(1, fd),
    mov64Reg(2, 10),
    alu64Imm('add', 2, -8),
    mov64Imm(3, 8),
    mov64Imm(4, 0),
    call(Helper.ringbuf_output),
    mov64Imm(0, XdpAction.XDP_PASS),
    exit(),
  ];
}

describeKernel('ring buffer maps', () => {
  it('samples written by a program are read through the mmap reader, across the wrap-around', async () => {
    using rb = BpfMap.create({ type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: pageSize(), name: testName('rb') });
    using prog = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: producer(rb.fd), license: 'GPL' });
    using reader = new RingBufferReader(rb);
    const data = new Uint8Array(64);
    expect(reader.available).toBe(0);
    expect(await reader.next(20)).toBeUndefined();
    prog.testRun({ data, repeat: 3 });
    expect(reader.available).toBe(3 * 16);
    const samples = reader.drain();
    expect(samples.length).toBe(3);
    for (const s of samples) expect([...s]).toEqual([0xef, 0xbe, 0xad, 0xde, 4, 3, 2, 1]);
    // 16 bytes a record: 200 records fill 3200 of 4096 bytes, the next 200 wrap around.
    let total = 0;
    for (let round = 0; round < 5; round++) {
      prog.testRun({ data, repeat: 200 });
      total += reader.consume((s) => {
        expect(new DataView(s.buffer).getUint32(0, true)).toBe(0xdeadbeef);
        expect(s.length).toBe(8);
      });
    }
    expect(total).toBe(1000);
    prog.testRun({ data, repeat: 1 });
    const one = await reader.next(1000);
    expect(one && [...one]).toEqual([0xef, 0xbe, 0xad, 0xde, 4, 3, 2, 1]);
    reader.close();
    reader.close();
    expect(() => reader.drain()).toThrow(/closed/);
  });

  it('refuses a map that is not a ring buffer', () => {
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => new RingBufferReader(m)).toThrow(MapError);
  });
});
