/**
 * Bad input: arbitrary bytes, truncated programs, nonsense map definitions and
 * malformed instruction objects always give a result (usually an `error`
 * diagnostic), never an exception or a hang.
 */
import { describe, expect, it } from 'vitest';
import { verify } from '../../lib/verifier/verify.js';
import { assertVerified, VerifierLiteError, sourceAt } from '../../lib/verifier/index.js';
import { rng, referencePrograms, randomPrograms } from '../../bench/verifier/corpus.js';
import { encode } from '../../lib/isa/encode.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import type { VerifyResult } from '../../lib/verifier/types.js';

function wellFormed(r: VerifyResult): void {
  expect(['ok', 'warning', 'error']).toContain(r.verdict);
  expect(Number.isFinite(r.durationUs)).toBe(true);
  for (const d of r.diagnostics) {
    expect(typeof d.message).toBe('string');
    expect(Number.isInteger(d.insn)).toBe(true);
  }
  if (r.verdict === 'error') expect(r.diagnostics.some((d) => d.severity === 'error')).toBe(true);
}

const types = [ProgType.BPF_PROG_TYPE_XDP, ProgType.BPF_PROG_TYPE_SCHED_CLS, ProgType.BPF_PROG_TYPE_SOCKET_FILTER, ProgType.BPF_PROG_TYPE_KPROBE, 999];

describe('verifier-lite on bad input', () => {
  it('never throws on 2000 random byte strings (any length)', () => {
    const rand = rng(42);
    for (let k = 0; k < 2000; k++) {
      const len = Math.floor(rand() * 200);
      const bytes = new Uint8Array(len);
      for (let i = 0; i < len; i++) bytes[i] = Math.floor(rand() * 256);
      // Bias some programs toward plausible opcodes so the walk is exercised too.
      if (k % 2 === 0) for (let i = 0; i + 8 <= len; i += 8) bytes[i] = [0x07, 0xb7, 0xbf, 0x61, 0x7b, 0x79, 0x15, 0x85, 0x95, 0x05, 0x18, 0xc3][Math.floor(rand() * 12)]!;
      const r = verify({ insns: bytes, progType: types[k % types.length]!, expectedAttachType: k % 7 });
      wellFormed(r);
      if (len % 8 !== 0 || len === 0) expect(r.verdict).toBe('error');
    }
  });

  it('never throws on truncated reference programs', () => {
    for (const e of referencePrograms()) {
      const bytes = encode(e.insns);
      for (let cut = 0; cut <= bytes.length; cut += 4) {
        wellFormed(verify({ insns: bytes.subarray(0, cut), progType: e.progType, expectedAttachType: e.attach, maps: e.maps }));
      }
    }
  });

  it('never throws on nonsense map definitions', () => {
    const e = referencePrograms()[0]!;
    const bad: unknown[] = [
      [{}],
      [{ type: -1, keySize: 4, valueSize: 8, maxEntries: 1 }],
      [{ type: 1, keySize: 'x', valueSize: 8, maxEntries: 1 }],
      [null],
      [{ type: 1, keySize: 4, valueSize: 1e12, maxEntries: 1 }],
      [{ type: 2, keySize: 4, valueSize: 0, maxEntries: 0, inner: { type: 1 } }],
      'maps',
    ];
    for (const maps of bad) {
      const r = verify({ insns: e.insns, progType: e.progType, maps: maps as never });
      wellFormed(r);
    }
    expect(verify({ insns: e.insns, progType: e.progType, maps: [] }).verdict).toBe('error');
  });

  it('never throws on malformed inputs', () => {
    const inputs: unknown[] = [null, undefined, 1, {}, { insns: 'x', progType: 6 }, { insns: [null], progType: 6 }, { insns: [{}], progType: 6 }, { insns: [], progType: 'xdp' }];
    for (const x of inputs) wellFormed(verify(x as never));
  });

  it('never throws on random instruction programs and stays within its budget', () => {
    for (const e of randomPrograms(7, 300)) {
      const r = verify({ insns: e.insns, progType: e.progType, expectedAttachType: e.attach }, { timeLimitMs: 2000 });
      wellFormed(r);
      expect(r.diagnostics.some((d) => d.rule === 'internal')).toBe(false);
    }
  });

  it('assertVerified throws VerifierLiteError with the instruction and source position', () => {
    const e = referencePrograms()[0]!;
    const insns = e.insns.map((i, k) => ({ ...i, source: { file: 'prog.ts', line: k + 1, column: 3 } }));
    expect(assertVerified({ insns, progType: e.progType, maps: e.maps }).verdict).toBe('ok');
    const broken = insns.filter((_, k) => k !== 4); // drop the bounds check
    try {
      assertVerified({ insns: broken, progType: e.progType, maps: e.maps });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VerifierLiteError);
      const v = err as VerifierLiteError;
      expect(v.diagnostic.source?.file).toBe('prog.ts');
      expect(v.diagnostic.source).toEqual(sourceAt(broken, v.insn));
      expect(v.message).toMatch(/invalid access to packet/);
    }
  });
});

describe('other program sources', () => {
  it('verifies assembly text with positions in the text', async () => {
    const { verifyText } = await import('../../lib/verifier/sources.js');
    const ok = verifyText('r0 = 2\nexit\n', { progType: ProgType.BPF_PROG_TYPE_XDP });
    expect(ok.verdict).toBe('ok');
    const bad = verifyText('r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nexit\n', { progType: ProgType.BPF_PROG_TYPE_XDP }, { file: 'p.s' });
    expect(bad.verdict).toBe('error');
    expect(bad.diagnostics[0]).toMatchObject({ insn: 1, message: 'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)', source: { file: 'p.s', line: 2 } });
    expect(verifyText('r0 = = 1', { progType: ProgType.BPF_PROG_TYPE_XDP }).verdict).toBe('error');
  });

  it('reports an unreadable object as one error entry', async () => {
    const { verifyObject } = await import('../../lib/verifier/sources.js');
    const r = verifyObject(new Uint8Array([1, 2, 3]));
    expect(r).toHaveLength(1);
    expect(r[0]!.result.verdict).toBe('error');
  });
});
