import { describe, expect, it } from 'vitest';
import {
  BPF_ATTR_SIZE,
  BpfAttr,
  BpfLinkInfo,
  BpfMapInfo,
  BpfProgInfo,
  BpfSockAddr,
  SkBuff,
  XdpMd,
  type AttrLayout,
  type StructLayout,
} from '../../lib/uapi/index.js';
import { cprobeUnavailable, runProbes, type Probe } from './cprobe.js';

const env = cprobeUnavailable();
if (env.reason) console.log(`test/uapi/layout: skipping the offsetof checks: ${env.reason}`);

const structs: [string, StructLayout][] = [
  ['struct xdp_md', XdpMd],
  ['struct __sk_buff', SkBuff],
  ['struct bpf_sock_addr', BpfSockAddr],
  ['struct bpf_map_info', BpfMapInfo],
  ['struct bpf_prog_info', BpfProgInfo],
  ['struct bpf_link_info', BpfLinkInfo],
];

function memberProbes(cType: string, prefix: string, layout: StructLayout): Probe[] {
  return layout.fields
    .filter((f) => f.bits === undefined)
    .map((f) => {
      const d = prefix ? `${prefix}.${f.name}` : f.name;
      const m = `((${cType}*)0)->${d}`;
      return {
        key: `${layout.name}:${f.name}`,
        exprs: [`offsetof(${cType}, ${d})`, `sizeof(${m})`, f.count ? `sizeof(${m})/sizeof(${m}[0])` : '0'],
      };
    });
}

function expectFromTables(): Map<string, bigint[]> {
  const want = new Map<string, bigint[]>();
  const add = (l: StructLayout) => {
    for (const f of l.fields) {
      if (f.bits !== undefined) continue;
      const total = f.size * (f.count ?? 1);
      want.set(`${l.name}:${f.name}`, [BigInt(f.offset), BigInt(total), BigInt(f.count ?? 0)]);
    }
  };
  for (const [, l] of structs) add(l);
  for (const l of Object.values(BpfAttr) as AttrLayout[]) add(l);
  return want;
}

describe.skipIf(env.reason !== undefined)('uapi layouts match linux/bpf.h (gcc offsetof)', () => {
  const probes: Probe[] = [
    ...structs.flatMap(([t, l]) => memberProbes(t, '', l)),
    ...(Object.values(BpfAttr) as AttrLayout[]).flatMap((l) => memberProbes('union bpf_attr', l.cPath, l)),
    ...structs.map(([t, l]) => ({ key: `sizeof:${l.name}`, exprs: [`sizeof(${t})`] })),
    { key: 'sizeof:bpf_attr', exprs: ['sizeof(union bpf_attr)'] },
  ];
  const res = env.reason ? undefined : runProbes(probes);
  if (res && res.missing.length) {
    console.log(`test/uapi/layout: ${res.includeDir}/linux/bpf.h lacks ${res.missing.length} of ${probes.length} members (older than 6.18); checked the rest`);
  }

  it('checks most members even against an older header', () => {
    // Linux 6.1's header (Debian bookworm) knows well over half of what the tables list.
    expect(res!.values.size).toBeGreaterThan(probes.length / 2);
  });

  it('every member the header has sits at the offset and size of the tables', () => {
    const want = expectFromTables();
    const mismatches: string[] = [];
    for (const [k, got] of res!.values) {
      if (k.startsWith('sizeof:')) continue;
      const w = want.get(k)!;
      if (got.join() !== w.join()) mismatches.push(`${k}: header ${got.join('/')} tables ${w.join('/')}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('a 6.18 header has every member the tables list', () => {
    // excl_prog_hash_size is among the newest members (Linux 6.18): a header that has it must have all.
    if (!res!.missing.includes('BPF_MAP_CREATE:excl_prog_hash_size')) expect(res!.missing).toEqual([]);
  });

  it('struct sizes match when the header has every member (6.18 headers)', () => {
    for (const [, l] of structs) {
      const complete = !res!.missing.some((m) => m.startsWith(`${l.name}:`));
      if (complete) expect(Number(res!.values.get(`sizeof:${l.name}`)![0]), l.name).toBe(l.size);
    }
    const attrComplete = !res!.missing.some((m) => Object.values(BpfAttr).some((l) => m.startsWith(`${l.name}:`)));
    if (attrComplete) expect(Number(res!.values.get('sizeof:bpf_attr')![0])).toBe(BPF_ATTR_SIZE);
  });

  it('bit-field gpl_compatible sits right after ifindex in bpf_prog_info', () => {
    const gpl = BpfProgInfo.fields.find((f) => f.name === 'gpl_compatible')!;
    const ifx = res!.values.get('bpf_prog_info:ifindex')!;
    expect(BigInt(gpl.offset)).toBe(ifx[0]! + 4n);
    expect(gpl.bits).toBe(1);
  });
});

describe('uapi layout tables are self-consistent', () => {
  it('members lie inside their struct and are 1, 2, 4 or 8 bytes', () => {
    for (const [, l] of structs) {
      for (const f of l.fields) {
        expect([1, 2, 4, 8], `${l.name}.${f.name}`).toContain(f.size);
        expect(f.offset % f.size, `${l.name}.${f.name} aligned`).toBe(0);
        expect(f.offset + f.size * (f.count ?? 1), `${l.name}.${f.name}`).toBeLessThanOrEqual(l.size);
      }
    }
  });

  it('per-command attr layouts fit in BPF_ATTR_SIZE', () => {
    for (const l of Object.values(BpfAttr) as AttrLayout[]) {
      expect(l.size, l.name).toBeLessThanOrEqual(BPF_ATTR_SIZE);
      expect(l.size).toBe(Math.max(...l.fields.map((f) => f.offset + f.size * (f.count ?? 1))));
    }
  });

  it('knows the well-known offsets', () => {
    const o = (l: StructLayout, n: string) => l.fields.find((f) => f.name === n)!.offset;
    expect(o(BpfAttr.mapCreate, 'map_name')).toBe(28);
    expect(o(BpfAttr.mapCreate, 'map_extra')).toBe(64);
    expect(o(BpfAttr.progLoad, 'prog_name')).toBe(48);
    expect(o(BpfAttr.progLoad, 'log_true_size')).toBe(o(BpfAttr.progLoad, 'core_relo_rec_size') + 4);
    expect(o(BpfAttr.linkCreate, 'tcx.relative_fd')).toBe(16);
    expect(o(BpfAttr.linkCreate, 'tcx.expected_revision')).toBe(24);
    expect(o(SkBuff, 'data')).toBe(76);
    expect(o(SkBuff, 'data_end')).toBe(80);
    expect(o(SkBuff, 'tstamp')).toBe(152);
    expect(o(XdpMd, 'data_meta')).toBe(8);
    expect(o(BpfSockAddr, 'user_port')).toBe(24);
    expect(o(BpfSockAddr, 'sk')).toBe(64);
  });
});
