import { describe, expect, it } from 'vitest';
import { VerifierError, parseVerifierLog } from '../../lib/kernel/verifier-log.js';
import { TsbpfError } from '../../lib/errors.js';

// Shapes of real 6.x logs (level 1, level 2 with states, stats, structural errors).
const level1 = `func#0 @0
0: R1=ctx() R10=fp0
0: (b7) r1 = 0                        ; R1_w=0
1: (63) *(u32 *)(r10 -4) = r1         ; R1_w=0 R10=fp0 fp-8=0000????
2: (bf) r2 = r10                      ; R2_w=fp0 R10=fp0
3: (07) r2 += -4                      ; R2_w=fp-4
4: (18) r1 = 0xffff888100000000       ; R1_w=map_ptr(map=counts,ks=4,vs=8)
6: (85) call bpf_map_lookup_elem#1    ; R0_w=map_value_or_null(id=1,map=counts,ks=4,vs=8)
7: (61) r0 = *(u32 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
verification time 23 usec
stack depth 4
processed 7 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

describe('parseVerifierLog', () => {
  it('finds the failing instruction, the reason and the stats', () => {
    const s = parseVerifierLog(level1);
    expect(s.insn).toBe(7);
    expect(s.reason).toBe("R0 invalid mem access 'map_value_or_null'");
    expect(s.verificationUs).toBe(23);
    expect(s.processedInsns).toBe(7);
  });

  it('skips state lines, source lines and branch notes of level 2', () => {
    const log = `0: R1=ctx() R10=fp0
; int prog(struct xdp_md *ctx) @ x.c:3
0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2_w=pkt(r=0)
1: (71) r0 = *(u8 *)(r2 +0)
invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)
R2 offset is outside of the packet
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;
    const s = parseVerifierLog(log);
    expect(s.insn).toBe(1);
    expect(s.reason).toBe('R2 offset is outside of the packet');
    expect(s.verificationUs).toBeUndefined();
  });

  it('takes the instruction from structural messages', () => {
    expect(parseVerifierLog('unreachable insn 3\nprocessed 0 insns\n').insn).toBe(3);
    expect(parseVerifierLog('last insn is not an exit or jmp\n').insn).toBeUndefined();
    expect(parseVerifierLog('').reason).toBe('');
  });

  it('reads stats-only logs of a successful load', () => {
    const s = parseVerifierLog('verification time 51 usec\nstack depth 0\nprocessed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0\n');
    expect(s).toMatchObject({ verificationUs: 51, processedInsns: 12 });
  });
});

describe('VerifierError', () => {
  it('summarizes with program, instruction, source and reason', () => {
    const e = new VerifierError({
      program: 'xdp_prog',
      log: level1,
      errno: 13,
      insnToSource: (i) => (i === 7 ? { file: 'prog.ts', line: 12, column: 5 } : undefined),
    });
    expect(e).toBeInstanceOf(TsbpfError);
    expect(e.name).toBe('VerifierError');
    expect(e.message).toBe("program xdp_prog rejected at insn 7 (prog.ts:12:5): R0 invalid mem access 'map_value_or_null'");
    expect(e.insn).toBe(7);
    expect(e.code).toBe('EACCES');
    expect(e.log).toBe(level1);
    expect(e.source).toEqual({ file: 'prog.ts', line: 12, column: 5 });
  });

  it('falls back to the errno name without a reason', () => {
    const e = new VerifierError({ program: '', log: '\n', errno: 22 });
    expect(e.message).toBe('program (unnamed) rejected: EINVAL');
    expect(e.insn).toBeUndefined();
  });
});
