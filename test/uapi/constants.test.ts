import { describe, expect, it } from 'vitest';
import * as uapi from '../../lib/uapi/index.js';
import { cprobeUnavailable, runProbes, type Probe } from './cprobe.js';

const env = cprobeUnavailable();
if (env.reason) console.log(`test/uapi/constants: skipping the header comparison: ${env.reason}`);

/** Tables keyed by C names that the uapi headers define (LogLevel is kernel-internal). */
const tables: Record<string, Readonly<Record<string, number>>> = {};
for (const [name, value] of Object.entries(uapi)) {
  if (name === 'Helper' || name === 'LogLevel' || typeof value !== 'object' || value === null) continue;
  const entries = Object.entries(value);
  if (entries.length && entries.every(([k, v]) => /^[A-Z][A-Z0-9_]+$/.test(k) && typeof v === 'number')) {
    tables[name] = value as Record<string, number>;
  }
}

describe.skipIf(env.reason !== undefined)('uapi constants match the headers (gcc)', () => {
  const probes: Probe[] = [];
  for (const [t, table] of Object.entries(tables)) for (const k of Object.keys(table)) probes.push({ key: `${t}.${k}`, exprs: [k] });
  for (const k of Object.keys(uapi.Helper)) probes.push({ key: `Helper.${k}`, exprs: [`BPF_FUNC_${k}`] });
  probes.push({ key: 'BPF_FUNC_MAX_ID', exprs: ['__BPF_FUNC_MAX_ID'] });
  probes.push({ key: 'BPF_F_CTXLEN_MASK', exprs: ['BPF_F_CTXLEN_MASK'] });
  for (const k of ['BPF_OBJ_NAME_LEN', 'BPF_TAG_SIZE', 'BPF_F_CURRENT_NETNS']) probes.push({ key: k, exprs: [k] });
  const res = env.reason ? undefined : runProbes(probes, ['linux/bpf.h', 'linux/pkt_cls.h', 'linux/if_link.h']);
  if (res?.missing.length) {
    console.log(`test/uapi/constants: ${res.includeDir} lacks ${res.missing.length} of ${probes.length} constants (older than 6.18); checked the rest`);
  }

  it('covers the tables', () => {
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(['BpfCmd', 'MapType', 'ProgType', 'AttachType', 'LinkType', 'MapFlags', 'XdpAction', 'TcAction', 'FibLookupRet']));
    expect(res!.values.size).toBeGreaterThan(probes.length / 2);
  });

  it('every constant the header has equals the table value', () => {
    const bad: string[] = [];
    for (const [key, [got]] of res!.values) {
      const dot = key.indexOf('.');
      let want: bigint;
      if (key === 'BPF_F_CTXLEN_MASK') want = uapi.BPF_F_CTXLEN_MASK;
      else if (key === 'BPF_FUNC_MAX_ID') continue; // grows with the kernel; see below
      else if (dot < 0) want = BigInt((uapi as unknown as Record<string, number>)[key]!);
      else {
        const t = key.slice(0, dot);
        const table = t === 'Helper' ? (uapi.Helper as Record<string, number>) : tables[t]!;
        want = BigInt(table[key.slice(dot + 1)]!);
      }
      if (got !== want) bad.push(`${key}: header ${got}, table ${want}`);
    }
    expect(bad).toEqual([]);
  });

  it('a 6.18 header has every constant the tables list', () => {
    if (!res!.missing.includes('BpfCmd.BPF_PROG_STREAM_READ_BY_FD')) {
      expect(res!.missing).toEqual([]);
      expect(Number(res!.values.get('BPF_FUNC_MAX_ID')![0])).toBe(uapi.BPF_FUNC_MAX_ID);
    }
  });

  it('the helper list is complete up to __BPF_FUNC_MAX_ID of the header', () => {
    const max = Number(res!.values.get('BPF_FUNC_MAX_ID')![0]);
    expect(max).toBeLessThanOrEqual(uapi.BPF_FUNC_MAX_ID);
    for (let id = 0; id < max; id++) expect(uapi.helperName(id), `helper ${id}`).toBeDefined();
  });
});
