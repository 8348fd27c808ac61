import { describe, expect, it } from 'vitest';
import { Program, ProgramError, encodeProgLoadAttr, objectName, resolveMapRefs } from '../../lib/kernel/program.js';
import { VerifierError } from '../../lib/kernel/verifier-log.js';
import { BpfError } from '../../lib/kernel/errors.js';
import { ProgType, AttachType, XdpAction, TcAction, LogLevel } from '../../lib/uapi/prog-types.js';
import { BpfAttr } from '../../lib/uapi/bpf-attr.js';
import { offsetOf } from '../../lib/uapi/layout.js';
import { ProgramBuilder, encode, exit, jmpImm, jmpReg, ldx, mov64Imm, mov64Reg, alu64Imm, st, type Insn } from '../../lib/isa/index.js';
import { BpfMap } from '../../lib/kernel/map.js';
import { ensureBpffs } from '../../lib/kernel/bpffs.js';
import { MapType } from '../../lib/uapi/map-types.js';
import { Helper } from '../../lib/uapi/helpers.js';
import { call, callKfunc, ldMapFd, ldMapValue, stx } from '../../lib/isa/index.js';
import { mkdirSync, rmSync } from 'node:fs';
import { describeKernel, testName } from '../helpers/env.js';

const ret = (code: number): Insn[] => [mov64Imm(0, code), exit()];

/** XDP: writes 0xab over the first packet byte when there is one, then XDP_PASS. */
function rewriteFirstByte(): Insn[] {
  const b = new ProgramBuilder();
  b.emit(
    ldx('u32', 2, 1, 0), // r2 = ctx->data
    ldx('u32', 3, 1, 4), // r3 = ctx->data_end
    mov64Reg(4, 2),
    alu64Imm('add', 4, 1),
    jmpReg('gt', 4, 3, 'out'),
    st('u8', 2, 0, 0xab),
  );
  b.label('out').emit(mov64Imm(0, XdpAction.XDP_PASS), exit());
  return b.link().insns;
}

const L = BpfAttr.progLoad;
const at = (name: string) => offsetOf(L, name);

describe('prog-load attr encoding', () => {
  it('puts type, count, pointers, name and attach type where bpf.h says', () => {
    const insns = encode(ret(2));
    const e = encodeProgLoadAttr({
      type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
      insns,
      name: 'connect4_prog',
      expectedAttachType: AttachType.BPF_CGROUP_INET4_CONNECT,
      flags: 0x20,
      kernVersion: 0x61200,
    });
    const v = e.attr.view;
    expect(v.getUint32(at('prog_type'), true)).toBe(18);
    expect(v.getUint32(at('insn_cnt'), true)).toBe(2);
    expect(v.getUint32(at('expected_attach_type'), true)).toBe(10);
    expect(v.getUint32(at('prog_flags'), true)).toBe(0x20);
    expect(v.getUint32(at('kern_version'), true)).toBe(0x61200);
    expect(Buffer.from(e.attr.bytes.subarray(48, 64)).toString('latin1')).toBe('connect4_prog\0\0\0');
    expect(v.getUint32(at('log_level'), true)).toBe(0);
    expect(e.log).toBeUndefined();
    const ptrs = new Map(e.attr.pointers.map(([o, b]) => [o, b]));
    expect(ptrs.get(at('insns'))).toBe(insns);
    expect(Buffer.from(ptrs.get(at('license')) as Uint8Array).toString()).toBe('GPL\0');
  });

  it('adds a log buffer, BTF info and fd_array when asked', () => {
    const funcInfo = new Uint8Array(8);
    const lineInfo = new Uint8Array(32);
    const e = encodeProgLoadAttr(
      { type: ProgType.BPF_PROG_TYPE_XDP, insns: ret(2), btf: { fd: 7, funcInfo, funcInfoRecSize: 8, lineInfo, lineInfoRecSize: 16 }, fdArray: [3, 4] },
      { level: 2, size: 4096 },
    );
    const v = e.attr.view;
    expect(v.getUint32(at('log_level'), true)).toBe(2);
    expect(v.getUint32(at('log_size'), true)).toBe(4096);
    expect(e.log?.length).toBe(4096);
    expect(v.getUint32(at('prog_btf_fd'), true)).toBe(7);
    expect(v.getUint32(at('func_info_rec_size'), true)).toBe(8);
    expect(v.getUint32(at('func_info_cnt'), true)).toBe(1);
    expect(v.getUint32(at('line_info_rec_size'), true)).toBe(16);
    expect(v.getUint32(at('line_info_cnt'), true)).toBe(2);
    const offsets = e.attr.pointers.map(([o]) => o).sort((a, b) => a - b);
    expect(offsets).toEqual([at('insns'), at('license'), at('log_buf'), at('func_info'), at('line_info'), at('fd_array')].sort((a, b) => a - b));
  });

  it('sanitizes object names and rejects bad instruction buffers', () => {
    expect(objectName('my-prog/with spaces and more')).toBe('my_prog_with_sp');
    expect(() => encodeProgLoadAttr({ type: 6, insns: new Uint8Array(12) })).toThrow(RangeError);
    expect(() => encodeProgLoadAttr({ type: 6, insns: new Uint8Array(0) })).toThrow(RangeError);
  });
});

describeKernel('Program (kernel)', () => {
  it('loads XDP and test-runs it: return value and output packet', () => {
    using p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: rewriteFirstByte(), name: 'xdp_rewrite' });
    const data = new Uint8Array(64).fill(0x11);
    const r = p.testRun({ data });
    expect(r.retval).toBe(XdpAction.XDP_PASS);
    expect(r.dataOut.length).toBe(64);
    expect(r.dataOut[0]).toBe(0xab);
    expect(Array.from(r.dataOut.subarray(1))).toEqual(Array(63).fill(0x11));
    expect(data[0]).toBe(0x11);
    const info = p.info();
    expect(info.type).toBe(ProgType.BPF_PROG_TYPE_XDP);
    expect(info.name).toBe('xdp_rewrite');
    expect(info.id).toBeGreaterThan(0);
    expect(info.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(info.xlatedSize).toBeGreaterThan(0);
    expect(info.verifiedInsns).toBeGreaterThan(0);
    expect(info.mapIds).toEqual([]);
  });

  it('loads SCHED_CLS and test-runs it synchronously and off the main thread', async () => {
    using p = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: ret(TcAction.TC_ACT_SHOT), name: 'tc_drop' });
    const data = new Uint8Array(60);
    expect(p.testRun({ data }).retval).toBe(TcAction.TC_ACT_SHOT);
    const r = await p.testRunAsync({ data, repeat: 1000 });
    expect(r.retval).toBe(TcAction.TC_ACT_SHOT);
    expect(r.duration).toBeGreaterThanOrEqual(0);
    expect(r.dataOut.length).toBe(60);
    using unspec = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: ret(-1), name: 'tc_unspec' });
    expect(unspec.testRun({ data }).retval).toBe(-1);
  });

  const sockAddr: [string, number, number][] = [
    ['connect4', AttachType.BPF_CGROUP_INET4_CONNECT, 1],
    ['connect6', AttachType.BPF_CGROUP_INET6_CONNECT, 1],
    ['sendmsg4', AttachType.BPF_CGROUP_UDP4_SENDMSG, 1],
    ['sendmsg6', AttachType.BPF_CGROUP_UDP6_SENDMSG, 1],
    ['recvmsg4', AttachType.BPF_CGROUP_UDP4_RECVMSG, 1],
    ['recvmsg6', AttachType.BPF_CGROUP_UDP6_RECVMSG, 1],
    ['getpeername4', AttachType.BPF_CGROUP_INET4_GETPEERNAME, 1],
    ['getpeername6', AttachType.BPF_CGROUP_INET6_GETPEERNAME, 1],
  ];
  it.each(sockAddr)('loads CGROUP_SOCK_ADDR for %s', (name, attachType, rv) => {
    using p = Program.load({
      type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
      insns: ret(rv),
      name,
      expectedAttachType: attachType,
    });
    expect(p.info().type).toBe(ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
  });

  it('rejects recvmsg4 returning 0 (the verifier demands 1)', () => {
    const load = () =>
      Program.load({
        type: ProgType.BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
        insns: ret(0),
        name: 'recvmsg4_bad',
        expectedAttachType: AttachType.BPF_CGROUP_UDP4_RECVMSG,
      });
    expect(load).toThrow(VerifierError);
    try {
      load();
    } catch (e) {
      const v = e as VerifierError;
      expect(v.insn).toBe(1);
      expect(v.reason).toMatch(/return|R0/);
    }
  });

  it('turns a verifier rejection into a VerifierError with summary, instruction and log', () => {
    // insn 1 reads through r2, which was never written.
    const insns = [mov64Imm(0, 0), ldx('u64', 0, 2, 0), exit()];
    let err: unknown;
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: encode(insns), name: 'bad_read' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.insn).toBe(1);
    expect(v.reason).toBe('R2 !read_ok');
    expect(v.message).toBe('program bad_read rejected at insn 1: R2 !read_ok');
    expect(v.code).toBe('EACCES');
    expect(v.log).toContain('1: (79) r0 = *(u64 *)(r2 +0)');
    expect(v.source).toBeUndefined();
    expect(v.truncated).toBe(false);
  });

  it('maps the failing instruction to a source position', () => {
    const insns = [mov64Imm(0, 0), { ...ldx('u64', 0, 2, 0), source: { file: 'prog.ts', line: 7, column: 3 } }, exit()];
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns, name: 'mapped' });
      expect.unreachable();
    } catch (e) {
      expect((e as VerifierError).source).toEqual({ file: 'prog.ts', line: 7, column: 3 });
      expect((e as Error).message).toContain('(prog.ts:7:3)');
    }
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: encode(insns), name: 'mapped2' }, {
        insnToSource: (i) => ({ file: 'x.ts', line: i + 100, column: 1 }),
      });
      expect.unreachable();
    } catch (e) {
      expect((e as VerifierError).source).toEqual({ file: 'x.ts', line: 101, column: 1 });
    }
  });

  it('grows a too-small log buffer until the whole log fits', () => {
    // A long straight line of instructions makes a level-2 log of several KiB.
    const insns: Insn[] = [];
    for (let i = 0; i < 200; i++) insns.push(mov64Imm(3, i));
    insns.push(ldx('u64', 0, 2, 0), exit());
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns, name: 'long_log' }, { logLevel: 2, logSize: 256 });
      expect.unreachable();
    } catch (e) {
      const v = e as VerifierError;
      expect(v).toBeInstanceOf(VerifierError);
      expect(v.log.length).toBeGreaterThan(4096);
      expect(v.log).toContain('0: (b7) r3 = 0');
      expect(v.insn).toBe(200);
      expect(v.reason).toBe('R2 !read_ok');
      expect(v.truncated).toBe(false);
    }
  });

  it('keeps the tail of the log when it outgrows the cap', () => {
    const insns: Insn[] = [];
    for (let i = 0; i < 200; i++) insns.push(mov64Imm(3, i));
    insns.push(ldx('u64', 0, 2, 0), exit());
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns, name: 'capped' }, { logLevel: 2, logSize: 512, logSizeMax: 1024 });
      expect.unreachable();
    } catch (e) {
      const v = e as VerifierError;
      expect(v.truncated).toBe(true);
      expect(v.log.length).toBeLessThan(1024);
      expect(v.reason).toBe('R2 !read_ok');
      expect(v.insn).toBe(200);
    }
  });

  it('reports a structural error without an instruction line', () => {
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2)], name: 'no_exit' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(VerifierError);
      expect((e as VerifierError).reason).toMatch(/last insn is not an exit or jmp/);
      expect((e as Error).message).toMatch(/^program no_exit rejected/);
    }
  });

  it('keeps BpfError for failures that are not the verifier', () => {
    let err: unknown;
    try {
      Program.load({ type: 9999, insns: ret(0), name: 'bad_type' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(err).not.toBeInstanceOf(VerifierError);
    expect((err as BpfError).code).toBe('EINVAL');
  });

  it('measures verification with a stats-level log', () => {
    using p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: rewriteFirstByte(), name: 'stats' }, { stats: true });
    expect(p.stats?.processedInsns).toBeGreaterThan(0);
    expect(p.stats?.verificationUs).toBeGreaterThanOrEqual(0);
    const m = Program.measureVerification({ type: ProgType.BPF_PROG_TYPE_XDP, insns: ret(2) });
    expect(m.processedInsns).toBe(2);
    expect(typeof m.verificationUs).toBe('number');
    expect(LogLevel.BPF_LOG_STATS).toBe(4);
  });

  it('opens a program by id and closes idempotently', () => {
    const p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: ret(1), name: 'by_id' });
    const id = p.info().id;
    const q = Program.fromId(id);
    expect(q.type).toBe(ProgType.BPF_PROG_TYPE_XDP);
    expect(q.name).toBe('by_id');
    expect(q.info().id).toBe(id);
    q.close();
    p.close();
    p.close();
    expect(p.closed).toBe(true);
    expect(() => p.fd).toThrow(/closed/);
  });

  it('reports a map access without a null check at the right instruction, and the map ids', () => {
    // A hash map: the verifier knows constant in-range array lookups cannot fail.
    using map = BpfMap.create({ name: 'counts', type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
    const lookup = (checked: boolean): Insn[] => {
      const b = new ProgramBuilder();
      b.emit(
        st('u32', 10, -4, 0),
        mov64Reg(2, 10),
        alu64Imm('add', 2, -4),
        ldMapFd(1, map.fd),
        call(Helper.map_lookup_elem),
      );
      if (checked) b.emit(jmpImm('eq', 0, 0, 'out'));
      b.emit(ldx('u32', 0, 0, 0));
      b.label('out').emit(mov64Imm(0, XdpAction.XDP_PASS), exit());
      return b.link().insns;
    };
    try {
      Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: lookup(false), name: 'xdp_prog' });
      expect.unreachable();
    } catch (e) {
      const v = e as VerifierError;
      expect(v).toBeInstanceOf(VerifierError);
      // lddw takes two slots: st, mov, add, lddw(2), call -> the load is slot 6.
      expect(v.insn).toBe(6);
      expect(v.message).toBe("program xdp_prog rejected at insn 6: R0 invalid mem access 'map_value_or_null'");
    }
    using ok = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: lookup(true), name: 'xdp_prog' });
    expect(ok.info().mapIds).toEqual([map.info().id]);
  });

  it('resolves map references by name from options.maps', () => {
    using map = BpfMap.create({ type: MapType.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
    const b = new ProgramBuilder();
    b.emit(ldMapValue(1, 'counts', 0), mov64Imm(2, 7), stx('u64', 1, 2, 0), ldMapFd(1, 'counts'), mov64Imm(0, XdpAction.XDP_PASS), exit());
    const insns = b.link().insns;
    expect(() => Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns })).toThrow(ProgramError);
    using p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns, maps: { counts: map }, name: 'by_name' });
    expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(XdpAction.XDP_PASS);
    expect(new DataView(map.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true)).toBe(7n);
    expect(p.info().mapIds).toEqual([map.info().id]);
    const patched = resolveMapRefs(insns, { counts: 42 });
    expect(patched[0]!.imm64).toBe(42n);
    expect(patched[0]!.ref).toBeUndefined();
    expect(() => resolveMapRefs([callKfunc('bpf_foo')])).toThrow(/kfunc/);
  });

  it('pins a program and opens the pin', () => {
    const dir = `${ensureBpffs()}/${testName('pin')}`;
    mkdirSync(dir);
    try {
      using p = Program.load({ type: ProgType.BPF_PROG_TYPE_SCHED_CLS, insns: ret(0), name: 'pinned' });
      p.pin(`${dir}/prog`);
      using q = Program.openPinned(`${dir}/prog`);
      expect(q.info().id).toBe(p.info().id);
      expect(q.type).toBe(ProgType.BPF_PROG_TYPE_SCHED_CLS);
      expect(q.testRun({ data: new Uint8Array(14) }).retval).toBe(0);
      expect(() => Program.openPinned(`${dir}/missing`)).toThrow(BpfError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
