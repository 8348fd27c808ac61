import { afterAll, describe, expect, it } from 'vitest';
import { Program } from '../../lib/kernel/program.js';
import { precheckProgram } from '../../lib/kernel/program-precheck.js';
import { VerifierError } from '../../lib/kernel/verifier-log.js';
import { BpfMap } from '../../lib/kernel/map.js';
import { loadDslProgram, type LoadedDslProgram } from '../../lib/kernel/dsl-loader.js';
import { VerifierLiteError } from '../../lib/verifier/index.js';
import { ProgType, XdpAction } from '../../lib/uapi/prog-types.js';
import { MapType } from '../../lib/uapi/map-types.js';
import { Helper } from '../../lib/uapi/helpers.js';
import { alu64Imm, call, exit, ldMapFd, ldx, mov64Imm, mov64Reg, st, type Insn } from '../../lib/isa/index.js';
import { countUdp } from '../../examples/count-udp-ports.js';
import { describeKernel } from '../helpers/env.js';

const at = (line: number) => ({ file: 'precheck.ts', line, column: 3 });

/** XDP: looks up key 0 in `vals` and reads the value without a NULL check (insn 7, the deref, at line 8). */
function derefWithoutNullCheck(): Insn[] {
  const insns: Insn[] = [
    st('u32', 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm('add', 2, -4),
    ldMapFd(1, 'vals'),
    call(Helper.map_lookup_elem),
    ldx('u32', 0, 0, 0),
    exit(),
  ];
  return insns.map((i, k) => ({ ...i, source: at(k + 1) }));
}

/** The same with the NULL check: returns XDP_PASS. */
function derefWithNullCheck(): Insn[] {
  const insns: Insn[] = [
    st('u32', 10, -4, 0),
    mov64Reg(2, 10),
    alu64Imm('add', 2, -4),
    ldMapFd(1, 'vals'),
    call(Helper.map_lookup_elem),
    { code: 0x55, dst: 0, src: 0, off: 2, imm: 0 }, // if r0 != 0 goto +2
    mov64Imm(0, XdpAction.XDP_PASS),
    exit(),
    ldx('u32', 1, 0, 0),
    mov64Imm(0, XdpAction.XDP_PASS),
    exit(),
  ];
  return insns.map((i, k) => ({ ...i, source: at(k + 1) }));
}

describeKernel('Program.load with the verifier-lite pre-check', () => {
  const maps: BpfMap[] = [];
  const open: { close(): void }[] = [];
  afterAll(() => {
    for (const p of open) p.close();
    for (const m of maps) m.close();
  });
  // A hash map: lookups in arrays with a constant in-range key need no NULL check on 6.18.
  const hashMap = () => {
    const m = BpfMap.create({ type: MapType.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
    maps.push(m);
    return m;
  };

  it('refuses a map_value_or_null dereference before the kernel, in its words and with the source position', () => {
    const vals = hashMap();
    const spec = { type: ProgType.BPF_PROG_TYPE_XDP, name: 'precheck_bad', insns: derefWithoutNullCheck(), maps: { vals } };
    let lite: unknown;
    try {
      open.push(Program.load(spec, { verify: true }));
    } catch (e) {
      lite = e;
    }
    expect(lite).toBeInstanceOf(VerifierLiteError);
    expect(lite).not.toBeInstanceOf(VerifierError);
    const le = lite as VerifierLiteError;
    // lddw takes two slots: the deref (6th instruction) is slot 6.
    expect(le.insn).toBe(6);
    expect(le.diagnostic.message).toBe("R0 invalid mem access 'map_value_or_null'");
    expect(le.diagnostic.source).toEqual(at(6));
    expect(le.message).toContain('precheck.ts:6:3');

    // The kernel, asked without the pre-check, says the same at the same instruction.
    let kernel: unknown;
    try {
      open.push(Program.load(spec));
    } catch (e) {
      kernel = e;
    }
    expect(kernel).toBeInstanceOf(VerifierError);
    const ke = kernel as VerifierError;
    expect(ke.message).toContain("R0 invalid mem access 'map_value_or_null'");
    expect(ke.source).toEqual(at(6));
  });

  it('loads a good program with the pre-check on (maps by object and by descriptor)', () => {
    const vals = hashMap();
    const p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, name: 'precheck_ok', insns: derefWithNullCheck(), maps: { vals }, verify: true });
    open.push(p);
    expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(XdpAction.XDP_PASS);
    const q = Program.load(
      { type: ProgType.BPF_PROG_TYPE_XDP, name: 'precheck_fd', insns: derefWithNullCheck(), maps: { vals: vals.fd } },
      { verify: { timeLimitMs: 5000 } },
    );
    open.push(q);
    expect(q.testRun({ data: new Uint8Array(64) }).retval).toBe(XdpAction.XDP_PASS);
  });

  it('describes maps given as descriptors and raw fds in lddw from the kernel', () => {
    const vals = hashMap();
    const bad = derefWithoutNullCheck().map((i) => (i.ref ? { ...i, ref: undefined, imm: vals.fd, imm64: BigInt(vals.fd) } : i));
    expect(() => precheckProgram({ type: ProgType.BPF_PROG_TYPE_XDP, insns: bad })).toThrow(VerifierLiteError);
    expect(() => precheckProgram({ type: ProgType.BPF_PROG_TYPE_XDP, insns: derefWithoutNullCheck(), maps: { vals: vals.fd } })).toThrow(
      "R0 invalid mem access 'map_value_or_null'",
    );
    expect(precheckProgram({ type: ProgType.BPF_PROG_TYPE_XDP, insns: derefWithNullCheck(), maps: { vals: vals.fd } })?.verdict).toBe('ok');
    // A descriptor that is not a map: no pre-check (the kernel decides).
    expect(precheckProgram({ type: ProgType.BPF_PROG_TYPE_XDP, insns: derefWithNullCheck(), maps: { vals: 1_000_000 } })).toBeUndefined();
  });

  it('passes through loadDslProgram: a DSL program loads with verify: true, a bad one is refused', () => {
    const p: LoadedDslProgram = loadDslProgram(countUdp, { verify: true });
    open.push(p);
    expect(p.program.testRun({ data: new Uint8Array(64) }).retval).toBe(XdpAction.XDP_PASS);
    const built = countUdp.build();
    const bad = { ...built, insns: derefWithoutNullCheck().map((i) => (i.ref ? { ...i, ref: { kind: 'map' as const, name: 'counts' } } : i)) };
    expect(() => loadDslProgram(bad, { verify: true })).toThrow(VerifierLiteError);
  });
});

describe('precheckProgram without maps', () => {
  it('passes a program that needs none', () => {
    expect(precheckProgram({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2), exit()] })?.verdict).toBe('ok');
  });
});
