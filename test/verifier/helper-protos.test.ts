import { describe, expect, it } from 'vitest';
import { describeKernel } from '../helpers/env.js';
import { allowedHelpers, helperProto, isGplOnly, kernelHelperName } from '../../lib/verifier/helper-protos.js';
import { ProgType, AttachType } from '../../lib/uapi/prog-types.js';
import { call, mov64Imm, exit } from '../../lib/isa/insn.js';
import { kernelLoad } from '../../bench/verifier/kernel.js';

describe('helper prototypes', () => {
  it('models the map, socket and ringbuf helpers', () => {
    expect(helperProto(1)).toMatchObject({ name: 'map_lookup_elem', ret: 'map_value_or_null', args: ['const_map_ptr', 'map_key'] });
    expect(helperProto(84)).toMatchObject({ ret: 'socket_or_null', acquire: true });
    expect(helperProto(86)!.args).toEqual(['sock_common_release']);
    expect(helperProto(44)!.changesPkt).toBe(true);
    expect(isGplOnly(6)).toBe(true);
    expect(isGplOnly(1)).toBe(false);
    expect(kernelHelperName(9)).toBe('bpf_skb_store_bytes');
  });
  it('knows which program types may call which helpers', () => {
    expect(allowedHelpers(ProgType.BPF_PROG_TYPE_XDP)!.has(9)).toBe(false);
    expect(allowedHelpers(ProgType.BPF_PROG_TYPE_SCHED_CLS)!.has(9)).toBe(true);
    expect(allowedHelpers(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_INET4_CONNECT)!.has(187)).toBe(true);
    expect(allowedHelpers(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_UDP4_RECVMSG)!.has(187)).toBe(false);
    expect(allowedHelpers(ProgType.BPF_PROG_TYPE_KPROBE)).toBeUndefined();
  });
});

const configs: [string, number, number | undefined][] = [
  ['xdp', ProgType.BPF_PROG_TYPE_XDP, undefined],
  ['tc', ProgType.BPF_PROG_TYPE_SCHED_CLS, undefined],
  ['socket', ProgType.BPF_PROG_TYPE_SOCKET_FILTER, undefined],
  ['cgroup/connect4', ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_INET4_CONNECT],
  ['cgroup/sendmsg6', ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_UDP6_SENDMSG],
  ['cgroup/recvmsg4', ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_UDP4_RECVMSG],
  ['cgroup/getpeername6', ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR, AttachType.BPF_CGROUP_INET6_GETPEERNAME],
];

describeKernel('helper availability against the kernel', () => {
  for (const [name, pt, at] of configs) {
    it(`${name}: every helper id is allowed or refused as the kernel does, GPL-only likewise`, () => {
      const allowed = allowedHelpers(pt, at)!;
      const mismatches: string[] = [];
      for (let id = 1; id <= 212; id++) {
        const prog = [call(id), mov64Imm(0, 1), exit()];
        const k = kernelLoad(prog, pt, { expectedAttachType: at, logLevel: 1 });
        const kAllowed = !/cannot use helper|invalid func/.test(k.log);
        if (kAllowed !== allowed.has(id)) mismatches.push(`${id} kernel=${kAllowed}`);
        if (!kAllowed) {
          expect(k.message).toMatch(id >= 212 ? 'invalid func unknown#212' : `program of this type cannot use helper ${kernelHelperName(id)}#${id}`);
        } else {
          const k2 = kernelLoad(prog, pt, { expectedAttachType: at, logLevel: 1, gpl: false });
          if (/GPL-restricted/.test(k2.log) !== isGplOnly(id)) mismatches.push(`${id} gpl`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
