import { describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { ctxRules, ctxFields } from '../../lib/verifier/context-access.js';
import { ProgType, AttachType } from '../../lib/uapi/prog-types.js';
import { ldx, stx, mov64Imm, exit, type Insn } from '../../lib/isa/insn.js';
import type { SizeName } from '../../lib/isa/opcodes.js';
import { kernelLoad } from '../../bench/verifier/kernel.js';

const sizeName: Record<number, SizeName> = { 1: 'u8', 2: 'u16', 4: 'u32', 8: 'u64' };

/** Program configurations whose context tables are checked against the kernel. */
const configs: { name: string; progType: number; attach?: number; size: number }[] = [
  { name: 'xdp', progType: ProgType.BPF_PROG_TYPE_XDP, size: 24 },
  { name: 'xdp/devmap', progType: ProgType.BPF_PROG_TYPE_XDP, attach: AttachType.BPF_XDP_DEVMAP, size: 24 },
  { name: 'tc', progType: ProgType.BPF_PROG_TYPE_SCHED_CLS, size: 192 },
  { name: 'tcx/ingress', progType: ProgType.BPF_PROG_TYPE_SCHED_CLS, attach: AttachType.BPF_TCX_INGRESS, size: 192 },
  { name: 'socket', progType: ProgType.BPF_PROG_TYPE_SOCKET_FILTER, size: 192 },
  ...(
    [
      ['cgroup/connect4', AttachType.BPF_CGROUP_INET4_CONNECT],
      ['cgroup/sendmsg4', AttachType.BPF_CGROUP_UDP4_SENDMSG],
      ['cgroup/recvmsg4', AttachType.BPF_CGROUP_UDP4_RECVMSG],
      ['cgroup/getpeername4', AttachType.BPF_CGROUP_INET4_GETPEERNAME],
      ['cgroup/bind4', AttachType.BPF_CGROUP_INET4_BIND],
      ['cgroup/connect6', AttachType.BPF_CGROUP_INET6_CONNECT],
      ['cgroup/sendmsg6', AttachType.BPF_CGROUP_UDP6_SENDMSG],
      ['cgroup/connect_unix', AttachType.BPF_CGROUP_UNIX_CONNECT],
    ] as const
  ).map(([name, attach]) => ({ name, progType: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, attach, size: 72 })),
];

function accessProgram(off: number, size: number, write: boolean): Insn[] {
  const s = sizeName[size]!;
  return write
    ? [mov64Imm(2, 0), stx(s, 1, 2, off), mov64Imm(0, 1), exit()]
    : [ldx(s, 0, 1, off), mov64Imm(0, 1), exit()];
}

describe('context access tables', () => {
  it('derives field lists with read and write sizes', () => {
    const xdp = ctxFields(ProgType.BPF_PROG_TYPE_XDP);
    expect(xdp.map((f) => f.name)).toEqual(['data', 'data_end', 'data_meta', 'ingress_ifindex', 'rx_queue_index']);
    expect(xdp.find((f) => f.name === 'data')).toMatchObject({ read: [4], write: [], loadType: 'pkt' });
    const tc = ctxFields(ProgType.BPF_PROG_TYPE_SCHED_CLS);
    expect(tc.find((f) => f.name === 'mark')).toMatchObject({ read: [1, 2, 4], write: [4] });
    expect(tc.find((f) => f.name === 'len')).toMatchObject({ read: [1, 2, 4], write: [] });
    expect(tc.find((f) => f.name === 'cb[0]')!.write).toEqual([1, 2, 4, 8]);
    const c4 = ctxFields(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_INET4_CONNECT);
    expect(c4.find((f) => f.name === 'user_ip4')).toMatchObject({ write: [4] });
    expect(c4.find((f) => f.name === 'msg_src_ip4')).toBeUndefined();
    const s4 = ctxFields(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_UDP4_SENDMSG);
    expect(s4.find((f) => f.name === 'msg_src_ip4')).toMatchObject({ write: [4] });
    expect(s4.find((f) => f.name === 'family')).toMatchObject({ read: [4], write: [] });
  });

  it('has no table for program types it does not model', () => {
    expect(ctxRules(ProgType.BPF_PROG_TYPE_KPROBE)).toBeUndefined();
  });
});

describeKernel('context access tables against the kernel', () => {
  for (const c of configs) {
    it(`${c.name}: every offset, size and direction agrees with the kernel`, () => {
      const rules = ctxRules(c.progType, c.attach)!;
      const mismatches: string[] = [];
      for (let off = 0; off < c.size + 8; off++) {
        for (const size of [1, 2, 4, 8]) {
          for (const write of [false, true]) {
            if (off % size !== 0) {
              // Misaligned: both reject; sample a few to keep the run short.
              if (off % 3 !== 0) continue;
            }
            const mine = rules.check({ off, size, write }).ok;
            const k = kernelLoad(accessProgram(off, size, write), c.progType, { expectedAttachType: c.attach, logLevel: 1 });
            if (k.ok !== mine) mismatches.push(`off=${off} size=${size} ${write ? 'write' : 'read'}: kernel ${k.ok ? 'ok' : k.message} table ${mine}`);
            else if (!k.ok) expect(k.message).toMatch(/invalid bpf_context access|R1 invalid mem access|misaligned/);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
