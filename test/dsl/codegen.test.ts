import { describe, expect, it } from 'vitest';
import { formatInsn } from '../../lib/isa/disasm.js';
import {
  DslError,
  ETH_P_IP,
  XDP_DROP,
  XDP_PASS,
  TC_ACT_OK,
  be16,
  ethhdr,
  hashMap,
  htons,
  htonl,
  iphdr,
  konst,
  s32,
  s64,
  sockAddr,
  struct,
  subprog,
  tc,
  u16,
  u32,
  u64,
  u8,
  xdp,
} from '../../lib/dsl/index.js';
import { allocate } from '../../lib/dsl/regalloc.js';
import { eliminateDeadCode, lowerReturns, optimizeControlFlow } from '../../lib/dsl/opt.js';
import type { IrInsn } from '../../lib/dsl/ir.js';

const text = (p: { build(): { insns: Parameters<typeof formatInsn>[0][] } }) => p.build().insns.map((i) => formatInsn(i));

describe('values and constant folding', () => {
  it('folds constant arithmetic at build time', () => {
    const p = xdp('fold', (b) => {
      const k = konst(u32, 6).mul(7).add(konst(u32, 100).shr(2)).sub(1);
      b.return(k);
    });
    expect(text(p)).toEqual(['r0 = 0x42', 'exit']);
  });

  it('wraps 32-bit constants and keeps 64-bit ones', () => {
    const p = xdp('wrap', (b) => {
      const x = b.let(u64, konst(u64, 0xffffffffn).add(2n));
      b.return(x.and(0xff).as(u32).add(konst(u32, 0xffffffff)));
    });
    const t = text(p);
    expect(t.some((l) => l.includes('0x100000001 ll'))).toBe(true);
  });

  it('uses 32-bit subregister operations for 8- to 32-bit types and 64-bit ones for u64', () => {
    const p = xdp('alu32', (b) => {
      const a = b.ctx.rx_queue_index;
      const c = a.add(3).shl(2).xor(a);
      const d = b.ktimeGetNs().add(5n);
      b.if(c.gt(d.as(u32)), () => b.return(XDP_DROP));
      return b.return(XDP_PASS);
    });
    const t = text(p);
    expect(t).toContain('w1 += 0x3'.replace('w1', t.find((l) => l.endsWith('+= 0x3'))!.split(' ')[0]!));
    expect(t.find((l) => l.endsWith('+= 0x3'))!.startsWith('w')).toBe(true);
    expect(t.find((l) => l.endsWith('+= 0x5'))!.startsWith('r')).toBe(true);
    expect(t.some((l) => /^if w\d > w\d/.test(l))).toBe(true);
  });

  it('strength-reduces multiplications and divisions by powers of two', () => {
    const p = xdp('pow2', (b) => {
      const a = b.ctx.rx_queue_index;
      b.return(a.mul(8).add(a.div(4)).add(a.mod(16)));
    });
    const t = text(p).join('\n');
    expect(t).toMatch(/<<= 0x3/);
    expect(t).toMatch(/>>= 0x2/);
    expect(t).toMatch(/&= 0xf/);
    expect(t).not.toMatch(/\*=|\/=|%=/);
  });

  it('sign-extends signed values and uses signed comparisons', () => {
    const p = xdp('signed', (b) => {
      const a = b.ctx.rx_queue_index.as(s32).sub(10);
      const w = a.as(s64);
      b.if(w.lt(-3n), () => b.return(1));
      b.if(a.lt(0), () => b.return(3));
      return b.return(2);
    });
    const t = text(p).join('\n');
    expect(t).toMatch(/s>>= 0x20/);
    expect(t).toMatch(/if r\d s< -0x3|if r\d s>= -0x3/);
    expect(t).toMatch(/if w\d s< 0x0|if w\d s>= 0x0/);
  });

  it('network-order values need explicit conversions', () => {
    expect(() =>
      xdp('net1', (b) => {
        const eth = b.header(ethhdr, 0, () => b.return(XDP_PASS));
        // @ts-expect-error a be16 does not compare with a plain number
        b.if(eth.h_proto.eq(0x0800), () => b.return(XDP_DROP));
        b.return(XDP_PASS);
      }).build(),
    ).toThrow(/htons/);
    const p = xdp('net2', (b) => {
      const eth = b.header(ethhdr, 0, () => b.return(XDP_PASS));
      b.if(eth.h_proto.eq(htons(ETH_P_IP)), () => b.return(XDP_DROP));
      b.return(eth.h_proto.toHost());
    });
    const t = text(p).join('\n');
    expect(t).toMatch(/== 0x8 goto/);
    expect(t).toMatch(/= be16 r\d/);
    expect(htonl(0x0a000001).toHost().isConst).toBe(true);
  });
});

describe('control flow', () => {
  it('shares one exit block between early returns of the same value', () => {
    const p = xdp('early', (b) => {
      const q = b.ctx.rx_queue_index;
      b.if(q.eq(1), () => b.return(XDP_PASS));
      b.if(q.eq(2), () => b.return(XDP_PASS));
      b.if(q.eq(3), () => b.return(XDP_DROP));
      return b.return(XDP_PASS);
    });
    const t = text(p);
    expect(t.filter((l) => l === 'exit').length).toBe(2);
    expect(t.length).toBe(8);
  });

  it('if/else with both branches returning, and nested conditions with and/or/not', () => {
    const p = xdp('ifelse', (b) => {
      const q = b.ctx.rx_queue_index;
      const i = b.ctx.ingress_ifindex;
      b.if(
        q.gt(3).and(i.ne(1).or(q.lt(10).not())),
        () => b.return(1),
        () => b.return(2),
      );
    });
    const t = text(p);
    expect(t.filter((l) => l === 'exit').length).toBe(2);
    expect(t.filter((l) => l.startsWith('if ')).length).toBe(3);
  });

  it('removes dead code and unused loads', () => {
    const p = xdp('dce', (b) => {
      const unused = b.ctx.ingress_ifindex.add(5);
      void unused;
      b.return(XDP_PASS);
      b.return(XDP_DROP);
    });
    expect(text(p)).toEqual(['r0 = 0x2', 'exit']);
  });

  it('rotated counted loops with a constant bound; unrolled loops', () => {
    const p = xdp('loop', (b) => {
      const s = b.let(u32, 0);
      b.for(0, 4, (i) => s.set(s.add(i)));
      b.return(s);
    });
    const t = text(p);
    expect(t.filter((l) => l.startsWith('if ')).length).toBe(1);
    expect(t.some((l) => /if w\d < 0x4 goto -0x/.test(l))).toBe(true);
    const u = xdp('unroll', (b) => {
      const s = b.let(u32, 0);
      b.for(0, 4, (i) => s.set(s.add(i)), { unroll: true });
      b.return(s);
    });
    expect(text(u).some((l) => l.startsWith('if '))).toBe(false);
  });

  it('loops with a runtime bound need { max }', () => {
    expect(() =>
      xdp('nobound', (b) => {
        b.for(0, b.ctx.rx_queue_index, () => {});
        b.return(XDP_PASS);
      }).build(),
    ).toThrow(/loop without a bound/);
    const ok = xdp('bounded', (b) => {
      const s = b.let(u32, 0);
      b.for(0, b.ctx.rx_queue_index, (i, loop) => {
        b.if(i.eq(5), () => loop.break());
        s.set(s.add(1));
      }, { max: 16 });
      b.return(s);
    });
    expect(ok.build().insns.length).toBeGreaterThan(5);
  });

  it('subprograms are compiled as bpf-to-bpf calls after the main function', () => {
    const twice = subprog('twice', { args: [u32], ret: u32 }, (b, x) => b.return(x.shl(1)));
    const p = xdp('callsub', (b) => {
      const a = b.call(twice, b.ctx.rx_queue_index);
      b.return(b.call(twice, a));
    });
    const built = p.build();
    expect(built.functions.length).toBe(1);
    const t = built.insns.map((i) => formatInsn(i));
    expect(t.filter((l) => l.startsWith('call -') || l.startsWith('call ')).length).toBe(2);
  });

  it('programs must end with a return', () => {
    expect(() => xdp('noret', () => {}).build()).toThrow(/without b\.return/);
  });
});

describe('register allocation', () => {
  it('keeps values that live across helper calls in callee-saved registers', () => {
    const p = xdp('acrosscall', (b) => {
      const a = b.ctx.rx_queue_index;
      const t = b.ktimeGetNs();
      const r = b.prandomU32();
      b.return(a.add(r).add(t.as(u32)));
    });
    const t = text(p);
    const callIdx = t.indexOf('call 0x5');
    const load = t.findIndex((l) => l.includes('(r1 + 0x10)'));
    expect(load).toBeLessThan(callIdx);
    expect(t[load]).toMatch(/^w[6-9] =/);
  });

  it('spills to the stack when more than the registers are live', () => {
    const p = xdp('spill', (b) => {
      const vals = Array.from({ length: 14 }, (_, k) => b.ctx.rx_queue_index.add(k * 3 + 1).mul(k + 3));
      let acc = vals[0]!;
      for (const v of vals.slice(1)) acc = acc.xor(v);
      let acc2 = vals[13]!;
      for (const v of vals) acc2 = acc2.add(v);
      b.return(acc.add(acc2));
    });
    const built = p.build();
    expect(built.stats.spills).toBeGreaterThan(0);
    expect(built.insns.some((i) => formatInsn(i).includes('(r10 -'))).toBe(true);
  });

  it('allocates a hand-written IR with pre-coloured call registers', () => {
    const ir: IrInsn[] = [
      { op: 'entry', nargs: 1 },
      { op: 'mov', w: 64, dst: 16, src: 1 },
      { op: 'mov', w: 64, dst: 17, src: { imm: 7 } },
      { op: 'call', helper: 5, nargs: 0 },
      { op: 'alu', w: 64, aop: 'add', dst: 18, a: 17, b: 0 },
      { op: 'ret', src: 18 },
    ];
    const a = allocate(eliminateDeadCode(lowerReturns(optimizeControlFlow(ir, 't.'))), 0);
    expect([6, 7, 8, 9]).toContain(a.color.get(17));
  });
});

describe('maps', () => {
  const m = hashMap('m', { key: u32, value: u64, maxEntries: 4 });
  it('lookup returns a nullable reference usable after a null check', () => {
    const p = xdp('lk', (b) => {
      const v = b.lookup(m, 1);
      // @ts-expect-error a nullable has no fields
      void v.value;
      b.ifNotNull(v, (r) => r.value.set(r.value.add(1n)));
      return b.return(XDP_PASS);
    });
    const t = text(p);
    expect(t).toContain('*(u32 *)(r10 - 0x8) = 0x1');
    expect(t).toContain('call 0x1');
    expect(t.some((l) => /if r0 == 0x0 goto/.test(l))).toBe(true);
    expect(p.build().maps).toEqual([m]);
    expect(p.build().loaderRefs).toEqual([expect.objectContaining({ kind: 'map', name: 'm' })]);
  });

  it('a map value reference is invalid after its null check ends', () => {
    let saved: { value: unknown } | undefined;
    const p = xdp('escape', (b) => {
      b.ifNotNull(b.lookup(m, 1), (r) => {
        saved = r;
      });
      void saved!.value;
      return b.return(XDP_PASS);
    });
    expect(() => p.build()).toThrow(DslError);
    expect(() => p.rebuild()).toThrow(/after the null check/);
  });

  it('notNull with an early return', () => {
    const p = xdp('nn', (b) => {
      const r = b.notNull(b.lookup(m, 2), () => b.return(XDP_DROP));
      r.value.atomicAdd(5n);
      return b.return(XDP_PASS);
    });
    const t = text(p);
    expect(t.some((l) => l.startsWith('lock *(u64 *)(r0 + 0x0) +='))).toBe(true);
    expect(t.filter((l) => l === 'exit').length).toBe(2);
  });

  it('struct keys from object literals zero their padding', () => {
    const key = struct({ a: u8, b: u32 });
    const km = hashMap('km', { key, value: u64, maxEntries: 4 });
    const p = xdp('skey', (b) => {
      b.ifNotNull(b.lookup(km, { a: 1, b: b.ctx.rx_queue_index }), () => b.return(XDP_DROP));
      return b.return(XDP_PASS);
    });
    const t = text(p).join('\n');
    expect(t).toMatch(/\*\(u8 \*\)\(r10 - 0x8\) = 0x1/);
    expect(t).toMatch(/\*\(u8 \*\)\(r10 - 0x7\) = 0x0/);
    expect(t).toMatch(/\*\(u16 \*\)\(r10 - 0x6\) = 0x0/);
  });
});

describe('errors name the TypeScript source position', () => {
  const here = (e: unknown) => (e as DslError).source;
  it('helper not allowed for the program type', () => {
    try {
      sockAddr('connect4', 'bad', (b) => {
        (b as unknown as { adjustHead(d: number): void }).adjustHead(4);
        b.return(1);
      }).build();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DslError);
    }
    try {
      sockAddr('recvmsg4', 'bad2', (b) => {
        // @ts-expect-error set_retval is not offered for recvmsg4
        b.setRetval(-1);
        b.return(1);
      }).build();
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/bpf_set_retval is not allowed in cgroup\/recvmsg4/);
      expect(here(e)?.file).toMatch(/codegen\.test\.ts$/);
    }
  });

  it('context fields: read-only, missing for the attach type', () => {
    expect(() =>
      tc('ro', (b) => {
        // @ts-expect-error len is read-only
        b.ctx.len.set(1);
        b.return(TC_ACT_OK);
      }).build(),
    ).toThrow(/read-only/);
    expect(() =>
      sockAddr('connect4', 'noip6', (b) => {
        // @ts-expect-error no user_ip6 in connect4
        void b.ctx.user_ip6;
        b.return(1);
      }).build(),
    ).toThrow(/context field 'user_ip6' is not accessible in cgroup\/connect4/);
    expect(() =>
      tc('nofield', (b) => {
        // @ts-expect-error no such field
        void b.ctx.nonsense;
        b.return(TC_ACT_OK);
      }).build(),
    ).toThrow(/does not exist in __sk_buff/);
  });

  it('reading the packet needs a layout and a checked header; stale headers after adjust_head', () => {
    expect(() =>
      xdp('nolayout', (b) => {
        // @ts-expect-error u32 is not a struct layout
        b.header(u32, 0, () => b.return(XDP_PASS));
        b.return(XDP_PASS);
      }).build(),
    ).toThrow(/needs a struct layout/);
    const p = xdp('stale', (b) => {
      const eth = b.header(ethhdr, 0, () => b.return(XDP_PASS));
      b.adjustHead(14);
      b.return(eth.h_proto.toHost());
    });
    try {
      p.build();
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/after a helper that changes packet data/);
      expect(here(e)?.line).toBeGreaterThan(0);
    }
    expect(() =>
      xdp('failbranch', (b) => {
        b.header(ethhdr, 0, () => {});
        b.return(XDP_PASS);
      }).build(),
    ).toThrow(/must end with b\.return/);
  });

  it('values from a closed branch cannot be used later', () => {
    expect(() =>
      xdp('scope', (b) => {
        let x: ReturnType<typeof b.ktimeGetNs> | undefined;
        b.if(b.ctx.rx_queue_index.eq(1), () => {
          x = b.ktimeGetNs();
        });
        b.return(x!.as(u32));
      }).build(),
    ).toThrow(/used after it ended/);
  });
});

describe('source map', () => {
  it('every instruction records the TypeScript position of the DSL call', () => {
    const p = xdp('srcmap', (b) => {
      const eth = b.header(ethhdr, 0, () => b.return(XDP_PASS));
      b.if(eth.h_proto.eq(htons(0x86dd)), () => b.return(XDP_DROP));
      b.return(XDP_PASS);
    });
    const built = p.build();
    expect(built.sourceMap.filter((s) => !(s && /codegen\.test\.ts$/.test(s.file)))).toEqual([]);
    const lines = new Set(built.sourceMap.map((s) => s!.line));
    expect(lines.size).toBeGreaterThanOrEqual(3);
    const listing = p.disasm({ source: true });
    expect(listing).toMatch(/; .*codegen\.test\.ts:\d+:\d+ .*b\.header\(ethhdr/);
  });

  it('program types and sections', () => {
    expect(tc('t1', (b) => b.return(0), { attach: 'tcx/ingress' }).build().section).toBe('tcx/ingress');
    const s = sockAddr('sendmsg6', 's6', (b) => {
      b.ctx.msg_src_ip6.set(0, htonl(1));
      b.return(1);
    }).build();
    expect(s.section).toBe('cgroup/sendmsg6');
    expect(s.expectedAttachType).toBe(15);
    void be16;
    void u16;
  });
});

describe('stack slots', () => {
  it('helper argument slots are reused after the call, keys are cached while valid', () => {
    const m = hashMap('m8', { key: u64, value: u64, maxEntries: 4 });
    const p = xdp('reuse', (b) => {
      for (let i = 0; i < 100; i++) b.update(m, BigInt(i), BigInt(i));
      const k = b.ktimeGetNs();
      b.ifNotNull(b.lookup(m, k), () => b.return(1), () => b.update(m, k, 5n));
      return b.return(XDP_PASS);
    });
    const built = p.build();
    expect(built.stats.stackBytes).toBeLessThanOrEqual(24);
  });
});

describe('misuse of nullable values', () => {
  const m = hashMap('mn', { key: u32, value: u64, maxEntries: 4 });
  it('a lookup result used as a value is a DslError at the user line', () => {
    const p = xdp('nullval', (b) => {
      const n = b.lookup(m, 1);
      b.return(n as unknown as ReturnType<typeof b.ktimeGetNs>);
    });
    try {
      p.build();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DslError);
      expect((e as DslError).source?.file).toMatch(/codegen\.test\.ts$/);
      expect((e as Error).message).toMatch(/nullable/);
    }
  });
  it('a null check of something that is not a lookup result', () => {
    const p = xdp('notnullable', (b) => {
      b.ifNotNull(b.ktimeGetNs() as never, () => {});
      return b.return(XDP_PASS);
    });
    expect(() => p.build()).toThrow(/expected the result of b\.lookup/);
  });
});

describe('store hoisting', () => {
  it('a map key computed before a helper call is stored at once instead of living across the call', () => {
    const m = hashMap('hk', { key: u32, value: u64, maxEntries: 4 });
    const p = xdp('hoist', (b) => {
      const key = b.ctx.rx_queue_index.add(1);
      const now = b.ktimeGetNs();
      b.ifNotNull(b.lookup(m, key), (v) => v.value.set(now));
      return b.return(XDP_PASS);
    });
    const t = text(p);
    expect(t.findIndex((l) => l.startsWith('*(u32 *)(r10 -'))).toBeLessThan(t.indexOf('call 0x5'));
    expect(p.build().stats.spills).toBe(0);
  });
});
