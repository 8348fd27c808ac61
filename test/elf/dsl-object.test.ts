/**
 * DSL programs as collections and ELF objects: `dslCollectionSpec`,
 * `writeDslObject`, `loadDslCollection` and the BTF path of `loadDslProgram`.
 * Objects are read back by tsbpf's reader, loaded by `bpftool prog loadall` and
 * `ip link ... xdp obj`, dumped with typed values by `bpftool map dump`, and
 * checked by the `tsbpf` CLI; verifier logs show the TypeScript lines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Btf, BtfBuilder, formatBtf } from '../../lib/btf/index.js';
import { main } from '../../lib/cli/main.js';
import {
  XDP_DROP,
  XDP_PASS,
  DslError,
  ETH_P_IP,
  IPPROTO_UDP,
  arrayMap,
  be16,
  be32,
  bytes,
  devMap,
  ethhdr,
  hashMap,
  htons,
  iphdr,
  mac,
  pad,
  sockAddr,
  struct,
  subprog,
  tc,
  u16,
  u32,
  u64,
  u8,
  udphdr,
  xdp,
  DslProgram,
} from '../../lib/dsl/index.js';
import { LayoutBtf } from '../../lib/dsl/btf-types.js';
import { dslCollectionSpec, writeDslObject } from '../../lib/dsl/object.js';
import { PinType, readCollectionSpec, type CollectionSpec } from '../../lib/elf/index.js';
import { type Insn } from '../../lib/isa/index.js';
import { array, cstring, ipv4, ipv6, s32 } from '../../lib/layout/index.js';
import { Program, VerifierError, pinDirectory, removePinDirectory, unpin } from '../../lib/kernel/index.js';
import { loadDslCollection, loadDslProgram } from '../../lib/kernel/dsl-loader.js';
import { AttachType, ProgType } from '../../lib/uapi/index.js';
import { Helper } from '../../lib/uapi/helpers.js';
import { MapType } from '../../lib/uapi/map-types.js';
import { describeKernel, testName } from '../helpers/env.js';
import { ipv4Packet } from '../dsl/packets.js';
import * as corpus from '../dsl/programs.js';
import { tempPath } from './clang.js';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// ---- the programs -------------------------------------------------------------------------------

/** A flow key with explicit padding (a hole in the BTF struct). */
const FlowKey = struct({ saddr: be32, dport: be16, proto: u8, _pad: pad(1) }, { name: 'flow_key' });
const FlowStats = struct({ packets: u64, bytes: u64 }, { name: 'flow_stats' });
const flows = hashMap('dobj_flows', { key: FlowKey, value: FlowStats, maxEntries: 64 });
const drops = arrayMap('dobj_drops', { value: u64, maxEntries: 1 });

/** Counts UDP flows in `dobj_flows`; drops port 9 (discard) and counts the drops. */
const countFlows = xdp('dobj_count', (b) => {
  const pass = () => b.return(XDP_PASS);
  const eth = b.header(ethhdr, 0, pass);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), pass);
  const ip = b.header(iphdr, 14, pass);
  b.if(ip.protocol.ne(IPPROTO_UDP), pass);
  const udp = b.header(udphdr, b.after(ip), pass);
  const key = { saddr: ip.saddr, dport: udp.dest, proto: IPPROTO_UDP };
  b.ifNotNull(
    b.lookup(flows, key),
    (v) => v.packets.atomicAdd(1n),
    () => b.update(flows, key, { packets: 1n, bytes: 0n }),
  );
  b.if(udp.dest.eq(htons(9)), () => {
    b.ifNotNull(b.lookup(drops, 0), (d) => d.value.atomicAdd(1n));
    b.return(XDP_DROP);
  });
  return b.return(XDP_PASS);
});

/** A subprogram (bpf-to-bpf call): `x + 1`. */
const plusOne = subprog('dobj_plus1', { args: [u32], ret: u32 }, (b, x) => b.return(x.add(1)));

/** A tc program sharing `dobj_flows`: returns 2 (TC_ACT_SHOT, through a subprogram) when the flow has been seen, else 0. */
const tcSeen = tc('dobj_tc_seen', (b) => {
  const ok = () => b.return(0);
  const eth = b.header(ethhdr, 0, ok);
  b.if(eth.h_proto.ne(htons(ETH_P_IP)), ok);
  const ip = b.header(iphdr, 14, ok);
  b.if(ip.protocol.ne(IPPROTO_UDP), ok);
  const udp = b.header(udphdr, b.after(ip), ok);
  b.notNull(b.lookup(flows, { saddr: ip.saddr, dport: udp.dest, proto: IPPROTO_UDP }), ok);
  return b.return(b.call(plusOne, 1));
});

/** A map pinned by name when its collection is loaded. */
const pinnedMap = hashMap('dobj_pinned', { key: u32, value: u64, maxEntries: 4, pinning: 'byName' });
const usesPinned = xdp('dobj_pinuser', (b) => {
  b.ifNotNull(b.lookup(pinnedMap, 1), (v) => v.value.atomicAdd(1n), () => b.update(pinnedMap, 1, 1n));
  return b.return(XDP_PASS);
});

const REJECTED_LINE = 'const r = b.helper(Helper.map_lookup_elem, [0, 0]); // dobj: the kernel rejects this';
/** A program the kernel rejects (map_lookup_elem without a map). */
const rejected = xdp('dobj_rejected', (b) => {
  const r = b.helper(Helper.map_lookup_elem, [0, 0]); // dobj: the kernel rejects this
  return b.return(r);
});

const THIS_FILE = 'dsl-object.test.ts';
/** Every program of the DSL test corpus (test/dsl/programs.ts): tc, xdp, sock_addr, subprograms, map-in-map. */
const corpusPrograms = Object.values(corpus).filter((x): x is DslProgram => x instanceof DslProgram);
const udp = (dport: number) => ipv4Packet({ src: [10, 0, 0, 1], dport });
const strip = (i: Insn) => {
  const { source: _s, ...rest } = i;
  return rest;
};

// ---- pure -------------------------------------------------------------------------------------

describe('DSL programs as collection specs and objects', () => {
  it('builds a spec: sections from program types, maps deduplicated, typed BTF, TypeScript line info', () => {
    const spec = dslCollectionSpec([countFlows, tcSeen]);
    expect([...spec.programs.keys()]).toEqual(['dobj_count', 'dobj_tc_seen']);
    const p = spec.programs.get('dobj_count')!;
    expect(p).toMatchObject({ section: 'xdp', type: ProgType.BPF_PROG_TYPE_XDP, license: 'GPL' });
    const t = spec.programs.get('dobj_tc_seen')!;
    expect(t).toMatchObject({ section: 'tc', type: ProgType.BPF_PROG_TYPE_SCHED_CLS });
    expect(t.functions.map((f) => f.name)).toEqual(['dobj_tc_seen', 'sub_dobj_plus1']);
    expect(t.funcInfo.map((f) => [f.insnOff, spec.btf!.get(f.typeId).name])).toEqual(t.functions.map((f) => [f.slot, f.name]));
    expect([...spec.maps.keys()]).toEqual(['dobj_flows', 'dobj_drops']);
    const m = spec.maps.get('dobj_flows')!;
    expect(m).toMatchObject({ type: MapType.BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 16, maxEntries: 64, origin: 'btf' });
    const btf = spec.btf!;
    const key = btf.get(m.btfKeyTypeId);
    expect(key).toMatchObject({ kind: 'STRUCT', name: 'flow_key', size: 8 });
    if (key.kind !== 'STRUCT') throw new Error('not a struct');
    expect(key.members.map((x) => [x.name, x.bitOffset / 8])).toEqual([
      ['saddr', 0],
      ['dport', 4],
      ['proto', 6],
    ]);
    expect(btf.get(key.members[0]!.type)).toMatchObject({ kind: 'TYPEDEF', name: '__be32' });
    expect(btf.get(m.btfValueTypeId)).toMatchObject({ kind: 'STRUCT', name: 'flow_stats', size: 16 });
    // The array map: u32 key, u64 value.
    const d = spec.maps.get('dobj_drops')!;
    expect(btf.get(d.btfKeyTypeId)).toMatchObject({ kind: 'TYPEDEF', name: '__u32' });
    expect(btf.get(d.btfValueTypeId)).toMatchObject({ kind: 'TYPEDEF', name: '__u64' });
    // func_info: the entry function; line_info at this file with the line text.
    expect(p.funcInfo).toHaveLength(1);
    const func = btf.get(p.funcInfo[0]!.typeId);
    expect(func).toMatchObject({ kind: 'FUNC', name: 'dobj_count' });
    // `int dobj_count(struct xdp_md *ctx)`, as clang emits it.
    const proto = btf.get(func.kind === 'FUNC' ? func.type : 0);
    if (proto.kind !== 'FUNC_PROTO') throw new Error('not a prototype');
    const param = btf.get(proto.params[0]!.type);
    if (param.kind !== 'PTR') throw new Error('not a pointer');
    expect(btf.get(param.type)).toMatchObject({ kind: 'STRUCT', name: 'xdp_md', size: 24 });
    expect(btf.get(t.funcInfo[0]!.typeId)).toMatchObject({ kind: 'FUNC' });
    expect(formatBtf(btf)).toMatch(/STRUCT '__sk_buff' size=192 vlen=0/);
    expect(p.lineInfo.length).toBeGreaterThan(5);
    expect(p.lineInfo[0]!.insnOff).toBe(0);
    expect(p.lineInfo.every((l) => l.fileName.endsWith(THIS_FILE))).toBe(true);
    expect(p.lineInfo.map((l) => l.line)).toContain('const udp = b.header(udphdr, b.after(ip), pass);');
  });

  it('writes an object that reads back identically: instructions, maps, BTF, line info', () => {
    const spec = dslCollectionSpec([countFlows, tcSeen]);
    const obj = writeDslObject([countFlows, tcSeen]);
    const back = readCollectionSpec(obj);
    expect([...back.programs.keys()]).toEqual([...spec.programs.keys()]);
    for (const [name, p] of spec.programs) {
      const q = back.programs.get(name)!;
      expect(q.insns.map(strip)).toEqual(p.insns.map(strip));
      p.insns.forEach((i, k) => i.source && expect(q.insns[k]!.source).toEqual(i.source));
      expect(q.functions).toEqual(p.functions);
      expect(q.funcInfo).toEqual(p.funcInfo);
      expect(q.lineInfo).toEqual(p.lineInfo);
      expect({ ...q, insns: [], funcInfo: [], lineInfo: [] }).toEqual({ ...p, insns: [], funcInfo: [], lineInfo: [] });
    }
    expect(back.maps).toEqual(spec.maps);
    expect(back.license).toBe('GPL');
    // The spec's types come first, unchanged; the writer adds the `.maps` definitions after them.
    expect(back.btf!.types.slice(0, spec.btf!.types.length)).toEqual(spec.btf!.types);
    expect(formatBtf(back.btf!)).toMatch(/STRUCT 'flow_key' size=8 vlen=3\n\t'saddr' type_id=\d+ bits_offset=0/);
    // Stable: written twice the same bytes; write(read(write(x))) too.
    expect(writeDslObject([countFlows, tcSeen])).toEqual(obj);
    expect(writeDslObject([countFlows.build(), tcSeen.build()])).toEqual(obj);
  });

  it('writes to a file when given a path', () => {
    const path = tempPath('dobj-path.o');
    const bytes = writeDslObject([countFlows], path);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    expect(writeDslObject([countFlows], { path: tempPath('dobj-path2.o'), noPins: true })).toEqual(bytes);
  });

  it('generates BTF for every layout kind', () => {
    const b = new BtfBuilder(new Btf());
    const types = new LayoutBtf(b);
    const Inner = struct({ x: u16, y: s32 }, { name: 'inner' });
    const All = struct(
      { a: u8, b: be16, arr: array(u32, 3), raw: bytes(5), name: cstring(8), v4: ipv4, v6: ipv6, hw: mac, in: Inner, 'odd-name': u64 },
      { name: 'all' },
    );
    const id = types.typeOf(All);
    expect(types.typeOf(All)).toBe(id);
    expect(b.btf.sizeOf(id)).toBe(All.size);
    const text = formatBtf(b.btf);
    expect(text).toMatch(/STRUCT 'all' size=\d+ vlen=10/);
    expect(text).toMatch(/'odd_name' type_id=/);
    expect(text).toMatch(/TYPEDEF 'ipv4_addr'/);
    expect(text).toMatch(/TYPEDEF 'mac_addr'/);
    expect(text).toMatch(/INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=SIGNED/);
    expect(text).toMatch(/STRUCT 'inner' size=8 vlen=2/);
    const t = b.btf.get(id);
    if (t.kind !== 'STRUCT') throw new Error('not a struct');
    expect(t.members.map((m) => [m.name, m.bitOffset / 8, b.btf.sizeOf(m.type)])).toEqual(All.fields.map((f) => [f.name.replace('-', '_'), f.offset, f.size]));
  });

  it('names sections after program and attach types; untyped map kinds get no BTF', () => {
    const devs = devMap('dobj_devs', { maxEntries: 4 });
    const redir = xdp('dobj_redir', (b) => b.return(b.redirectMap(devs, 0, 0)));
    const dm = xdp('dobj_devmap', (b) => b.return(XDP_PASS), { attach: 'devmap' });
    const conn = sockAddr('connect4', 'dobj_conn4', (b) => b.return(1));
    const tcx = tc('dobj_tcx', (b) => b.return(0), { attach: 'tcx/egress' });
    const spec = dslCollectionSpec([redir, dm, conn, tcx]);
    expect([...spec.programs.values()].map((p) => [p.name, p.section, p.expectedAttachType])).toEqual([
      ['dobj_redir', 'xdp', AttachType.BPF_XDP],
      ['dobj_devmap', 'xdp/devmap', AttachType.BPF_XDP_DEVMAP],
      ['dobj_conn4', 'cgroup/connect4', AttachType.BPF_CGROUP_INET4_CONNECT],
      ['dobj_tcx', 'tcx/egress', AttachType.BPF_TCX_EGRESS],
    ]);
    expect(spec.maps.get('dobj_devs')).toMatchObject({ btfKeyTypeId: 0, btfValueTypeId: 0 });
    const back = readCollectionSpec(writeDslObject([redir, dm, conn, tcx]));
    expect(back.maps.get('dobj_devs')).toEqual(spec.maps.get('dobj_devs'));
  });

  it('writes the whole DSL corpus as one object and reads it back identically', () => {
    expect(corpusPrograms.length).toBeGreaterThan(8);
    const spec = dslCollectionSpec(corpusPrograms);
    const back = readCollectionSpec(writeDslObject(corpusPrograms));
    for (const [name, p] of spec.programs) {
      const q = back.programs.get(name)!;
      expect(q.insns.map(strip)).toEqual(p.insns.map(strip));
      expect(q.functions).toEqual(p.functions);
      expect(q.lineInfo).toEqual(p.lineInfo);
    }
    expect(back.maps).toEqual(spec.maps);
    expect(spec.maps.get('tenants')).toMatchObject({ type: MapType.BPF_MAP_TYPE_ARRAY_OF_MAPS, btfValueTypeId: 0, innerMap: { type: MapType.BPF_MAP_TYPE_HASH } });
  });

  it('refuses two different maps of one name', () => {
    const other = hashMap('dobj_flows', { key: u32, value: u64, maxEntries: 64 });
    const p = xdp('dobj_clash', (b) => {
      b.ifNotNull(b.lookup(other, 1), (v) => v.value.atomicAdd(1n));
      return b.return(XDP_PASS);
    });
    expect(() => dslCollectionSpec([countFlows, p])).toThrow(DslError);
    expect(() => dslCollectionSpec([countFlows, p])).toThrow(/dobj_flows/);
    expect(() => dslCollectionSpec([])).toThrow(DslError);
  });
});

// ---- kernel and tools --------------------------------------------------------------------------

describeKernel('DSL objects in the kernel, bpftool and iproute2', () => {
  let pins: string;
  let obj: string;
  let spec: CollectionSpec;
  beforeAll(() => {
    pins = pinDirectory(testName('dobj'));
    obj = tempPath('dobj.o');
    writeDslObject([countFlows, tcSeen], obj);
    spec = readCollectionSpec(new Uint8Array(readFileSync(obj)));
  });
  afterAll(() => {
    removePinDirectory(pins);
  });

  it('bpftool prog loadall loads the object; the pinned programs run; bpftool map dump prints typed fields', () => {
    const dir = `${pins}/loadall`;
    const mapDir = `${pins}/maps`;
    try {
      sh('bpftool', ['prog', 'loadall', obj, dir, 'pinmaps', mapDir]);
      using p = Program.openPinned(`${dir}/dobj_count`);
      expect(p.testRun({ data: udp(53) }).retval).toBe(XDP_PASS);
      expect(p.testRun({ data: udp(53) }).retval).toBe(XDP_PASS);
      expect(p.testRun({ data: udp(9) }).retval).toBe(XDP_DROP);
      expect(p.info().btfId).toBeGreaterThan(0);
      using t = Program.openPinned(`${dir}/dobj_tc_seen`);
      expect(t.testRun({ data: udp(53) }).retval).toBe(2);
      expect(t.testRun({ data: udp(54) }).retval).toBe(0);
      const dump = JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'pinned', `${mapDir}/dobj_flows`])) as Array<{ formatted: unknown }>;
      const rows = dump.map((r) => r.formatted as { key: { saddr: number; dport: number; proto: number }; value: { packets: number; bytes: number } });
      rows.sort((a, b) => a.key.dport - b.key.dport);
      // Network-order fields print as the raw little-endian integers.
      const be = (n: number, size: 2 | 4) => (size === 2 ? ((n & 0xff) << 8) | (n >> 8) : new DataView(new Uint32Array([n]).buffer).getUint32(0, false));
      expect(rows).toEqual([
        { key: { saddr: be(0x0a000001, 4), dport: be(9, 2), proto: 17 }, value: { packets: 1, bytes: 0 } },
        { key: { saddr: be(0x0a000001, 4), dport: be(53, 2), proto: 17 }, value: { packets: 2, bytes: 0 } },
      ]);
      const drops = JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'pinned', `${mapDir}/dobj_drops`])) as Array<{ formatted: unknown }>;
      expect(drops[0]!.formatted).toEqual({ key: 0, value: 1 });
    } finally {
      removePinDirectory(dir);
      removePinDirectory(mapDir);
    }
  });

  it('ip link set dev X xdp obj FILE sec xdp attaches the DSL program to a veth in a test namespace', () => {
    const ns = testName('ns');
    const dev = testName('v');
    sh('ip', ['netns', 'add', ns]);
    try {
      sh('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
      sh('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'xdp', 'obj', obj, 'sec', 'xdp']);
      const shown = sh('ip', ['-n', ns, '-d', 'link', 'show', dev]);
      expect(shown).toMatch(/prog\/xdp id \d+ name dobj_count/);
      using p = Program.fromId(Number(/prog\/xdp id (\d+)/.exec(shown)![1]));
      expect(p.testRun({ data: udp(9) }).retval).toBe(XDP_DROP);
      expect(p.info().btfId).toBeGreaterThan(0);
      sh('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'xdp', 'off']);
    } finally {
      sh('ip', ['netns', 'del', ns]);
    }
  });

  it('bpftool btf dump of the object matches formatBtf', () => {
    const dump = sh('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw']);
    expect(dump).toBe(formatBtf(spec.btf!));
    expect(dump).toMatch(/STRUCT 'flow_key' size=8 vlen=3/);
    expect(dump).toMatch(/FUNC 'dobj_count' type_id=\d+ linkage=global/);
  });

  it('loadDslCollection loads programs sharing a map, with BTF', () => {
    using col = loadDslCollection([countFlows, tcSeen], { pinPath: pins });
    expect(col.collection.btf).toBeDefined();
    expect(col.program(countFlows).testRun({ data: udp(7) }).retval).toBe(XDP_PASS);
    expect(col.program('dobj_tc_seen').testRun({ data: udp(7) }).retval).toBe(2);
    const flowsMap = col.typed(flows);
    expect(flowsMap.get({ saddr: 0x0a000001, dport: 7, proto: 17 })).toEqual({ packets: 1n, bytes: 0n });
    expect(col.program(countFlows).info().btfId).toBeGreaterThan(0);
    expect(col.map(flows).info().btfId).toBeGreaterThan(0);
  });

  it('the whole DSL corpus loads as one collection and with bpftool prog loadall', () => {
    using col = loadDslCollection(corpusPrograms, { requireBtf: true, pinPath: pins });
    expect([...col.collection.programs.keys()].sort()).toEqual(corpusPrograms.map((p) => p.name).sort());
    const obj2 = tempPath('dobj-corpus.o');
    writeDslObject(corpusPrograms, { path: obj2, noPins: true });
    const dir = `${pins}/corpus`;
    try {
      sh('bpftool', ['prog', 'loadall', obj2, dir]);
      for (const p of corpusPrograms) {
        using k = Program.openPinned(`${dir}/${p.name}`);
        expect(k.info().btfId).toBeGreaterThan(0);
      }
    } finally {
      removePinDirectory(dir);
    }
  });

  it('maps declared pinning: byName are pinned under pinPath and reused by the next load', () => {
    expect(dslCollectionSpec([usesPinned]).maps.get('dobj_pinned')!.pinning).toBe(PinType.BY_NAME);
    expect(dslCollectionSpec([usesPinned], { noPins: true }).maps.get('dobj_pinned')!.pinning).toBe(0);
    try {
      {
        using a = loadDslCollection([usesPinned], { pinPath: pins });
        a.program(usesPinned).testRun({ data: udp(1) });
        expect(existsSync(`${pins}/dobj_pinned`)).toBe(true);
      }
      using b = loadDslCollection([usesPinned], { pinPath: pins });
      b.program(usesPinned).testRun({ data: udp(1) });
      expect(b.typed(pinnedMap).get(1)).toBe(2n);
    } finally {
      unpin(`${pins}/dobj_pinned`);
    }
  });

  it('loadDslProgram loads with BTF: typed maps, func_info/line_info', () => {
    using l = loadDslProgram(countFlows);
    expect(l.btfError).toBeUndefined();
    expect(l.program.testRun({ data: udp(9) }).retval).toBe(XDP_DROP);
    expect(l.program.info().btfId).toBeGreaterThan(0);
    expect(l.map(flows).info().btfId).toBeGreaterThan(0);
    expect(l.typed(drops).get(0)).toBe(1n);
    using plain = loadDslProgram(countFlows, { btf: false });
    expect(plain.program.info().btfId).toBe(0);
    expect(plain.map(flows).info().btfId).toBe(0);
  });

  it('a rejected DSL program gives a VerifierError whose log shows the TypeScript source line', () => {
    for (const load of [() => loadDslProgram(rejected), () => loadDslCollection([rejected])]) {
      try {
        load().close();
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(VerifierError);
        const v = e as VerifierError;
        expect(v.log).toContain(REJECTED_LINE);
        // The entry function's prototype names the context struct: no complaint about `void *ctx`.
        expect(v.log).not.toMatch(/UNKNOWN/);
        expect(v.log).toMatch(new RegExp(`@ [^\\n]*${THIS_FILE.replace(/\./g, '\\.')}:\\d+`));
        expect(v.source?.file).toMatch(/dsl-object\.test\.ts$/);
      }
    }
  });

  it('tsbpf disasm, verify and load work on DSL objects', async () => {
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await main(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
      return { code, out, err };
    };
    const dis = await run(['disasm', '--json', obj]);
    expect(dis.code).toBe(0);
    const d = JSON.parse(dis.out) as Array<{ sections: Array<{ name: string; insns: unknown[] }> }>;
    // The subprogram lives in .text, as clang lays it out.
    expect(d[0]!.sections.map((s) => s.name)).toEqual(['.text', 'xdp', 'tc']);
    expect(d[0]!.sections.find((s) => s.name === 'xdp')!.insns.length).toBe(spec.programs.get('dobj_count')!.insns.length);
    const ver = await run(['verify', '--json', obj]);
    const v = JSON.parse(ver.out) as Array<{ program: string; verdict: string }>;
    expect(v.map((x) => x.program)).toEqual(['dobj_count', 'dobj_tc_seen']);
    expect(v.every((x) => x.verdict !== 'error')).toBe(true);
    expect(ver.code).toBe(0);
    const ld = await run(['load', '--json', obj]);
    expect(ld.code).toBe(0);
    expect((JSON.parse(ld.out) as Array<{ program: string; verdict: string }>).map((x) => [x.program, x.verdict])).toEqual([
      ['dobj_count', 'ok'],
      ['dobj_tc_seen', 'ok'],
    ]);
    // A rejected program: load says so and exits 1.
    const bad = tempPath('dobj-bad.o');
    writeDslObject([rejected], bad);
    const r = await run(['load', '--json', bad]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)[0]).toMatchObject({ program: 'dobj_rejected', verdict: 'error' });
  });
});

