/**
 * Objects tsbpf writes, loaded by the ecosystem's tools: `bpftool prog loadall`
 * and `ip link set dev X xdp obj FILE sec S` (iproute2, on a veth in a test
 * namespace); typed `bpftool map dump`; BTF as `bpftool btf dump` sees it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { formatBtf } from '../../lib/btf/index.js';
import { readCollectionSpec, writeCollectionSpec, type CollectionSpec } from '../../lib/elf/index.js';
import { Collection, Program, pinDirectory, removePinDirectory } from '../../lib/kernel/index.js';
import { describeKernel, llvmUnavailable, testName } from '../helpers/env.js';
import { compileC, tempPath } from './clang.js';
import { dslLikeSpec } from './dsl-like.js';
import { LIBBPF_C } from './fixtures.js';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const packet = () => new Uint8Array(64).fill(0xab);

/** The DSL-like spec without pins (libbpf would pin under /sys/fs/bpf). */
function unpinned(): CollectionSpec {
  const s = dslLikeSpec();
  for (const m of s.maps.values()) m.pinning = 0;
  return s;
}

function writeObject(name: string, spec: CollectionSpec): string {
  const p = tempPath(name);
  writeFileSync(p, writeCollectionSpec(spec));
  return p;
}

describeKernel('tsbpf objects in bpftool and iproute2', () => {
  let pins: string;
  beforeAll(() => {
    pins = pinDirectory(testName('tools'));
  });
  afterAll(() => {
    removePinDirectory(pins);
  });

  it('bpftool prog loadall loads a DSL-built object, and the programs run', () => {
    const obj = writeObject('dsl-loadall.o', unpinned());
    const dir = `${pins}/loadall`;
    sh('bpftool', ['prog', 'loadall', obj, dir]);
    try {
      using a = Program.openPinned(`${dir}/count_a`);
      expect(a.testRun({ data: packet() }).retval).toBe(2);
      const info = a.info();
      expect(info.btfId).toBeGreaterThan(0);
      expect(info.mapIds.length).toBe(2); // stats and .data
      using b = Program.openPinned(`${dir}/count_b`);
      expect(b.testRun({ data: packet() }).retval).toBe(2);
    } finally {
      removePinDirectory(dir);
    }
  });

  it('ip link set dev X xdp obj FILE sec xdp attaches a DSL-built object', () => {
    const obj = writeObject('dsl-ip.o', unpinned());
    const ns = testName('ns');
    const dev = testName('v');
    sh('ip', ['netns', 'add', ns]);
    try {
      sh('ip', ['-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
      sh('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'xdp', 'obj', obj, 'sec', 'xdp']);
      const shown = sh('ip', ['-n', ns, '-d', 'link', 'show', dev]);
      expect(shown).toMatch(/prog\/xdp id \d+ name count_a/);
      const id = Number(/prog\/xdp id (\d+)/.exec(shown)![1]);
      using p = Program.fromId(id);
      expect(p.testRun({ data: packet() }).retval).toBe(2);
      sh('ip', ['-n', ns, 'link', 'set', 'dev', dev, 'xdp', 'off']);
    } finally {
      sh('ip', ['netns', 'del', ns]);
    }
  });

  it('bpftool map dump prints typed keys and values of DSL maps', () => {
    const spec = dslLikeSpec();
    using col = Collection.load(spec, { pinPath: pins, requireBtf: true });
    const value = new Uint8Array(16);
    new DataView(value.buffer).setBigUint64(0, 7n, true);
    new DataView(value.buffer).setBigUint64(8, 1500n, true);
    col.map('stats').update(new Uint8Array([3, 0, 0, 0]), value);
    try {
      const dump = JSON.parse(sh('bpftool', ['-j', 'map', 'dump', 'pinned', `${pins}/stats`]));
      expect(dump).toHaveLength(1);
      expect(dump[0].formatted).toEqual({ key: 3, value: { packets: 7, bytes: 1500 } });
    } finally {
      col.map('stats').unpin();
    }
  });

  it('bpftool btf dump of a written object shows the spec BTF', () => {
    const spec = unpinned();
    const obj = writeObject('dsl-btf.o', spec);
    const written = readCollectionSpec(new Uint8Array(execFileSync('cat', [obj])));
    const dump = sh('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw']);
    expect(dump).toBe(formatBtf(written.btf!));
    expect(dump).toMatch(/STRUCT 'pair' size=16 vlen=2/);
    expect(dump).toMatch(/DATASEC '.maps'/);
    expect(dump).toMatch(/FUNC 'count_a' type_id=\d+ linkage=global/);
  });

  it.skipIf(llvmUnavailable)('bpftool loads clang objects after a read/write round trip', () => {
    const { path } = compileC('libbpf-rt', LIBBPF_C);
    const rt = writeObject('libbpf-rt2.o', readCollectionSpec(new Uint8Array(execFileSync('cat', [path]))));
    for (const [obj, tag] of [
      [path, 'orig'],
      [rt, 'rt'],
    ] as const) {
      const dir = `${pins}/${tag}`;
      sh('bpftool', ['prog', 'loadall', obj, dir]);
      try {
        using p = Program.openPinned(`${dir}/xdp_count`);
        expect(p.testRun({ data: packet() }).retval).toBe(2);
        using d = Program.openPinned(`${dir}/xdp_drop`);
        expect(d.testRun({ data: packet() }).retval).toBe(1);
      } finally {
        removePinDirectory(dir);
      }
    }
  });
});
