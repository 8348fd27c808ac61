import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { BpfMap, MapError } from '../../lib/kernel/map.js';
import { BpfError } from '../../lib/kernel/errors.js';
import { BpffsError, ensureBpffs, isBpffs } from '../../lib/kernel/bpffs.js';
import { isPinned, pinDirectory, removePinDirectory, unpin } from '../../lib/kernel/pin.js';
import { allIds, fdKind, nextId } from '../../lib/kernel/info.js';
import { Program } from '../../lib/kernel/program.js';
import { MapFlags } from '../../lib/uapi/map-types.js';
import { ProgType } from '../../lib/uapi/prog-types.js';
import { exit, mov64Imm } from '../../lib/isa/index.js';
import { describeKernel, testName } from '../helpers/env.js';

const k32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const rd32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

describeKernel('BpfMap: pins, ids and info', () => {
  let dir = '';
  beforeAll(() => {
    ensureBpffs();
    dir = pinDirectory(testName('mp'));
  });
  afterAll(() => {
    if (dir) removePinDirectory(dir);
  });

  it('ensureBpffs finds the mount, pinDirectory makes a directory on it', () => {
    expect(isBpffs('/sys/fs/bpf')).toBe(true);
    expect(isBpffs(dir)).toBe(true);
    expect(isBpffs(tmpdir())).toBe(false);
  });

  it('pins, opens the pin (same map), unpins', () => {
    const path = join(dir, 'counts');
    using m = BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 8, name: testName('pin') });
    m.pin(path);
    expect(m.pinnedPath).toBe(path);
    expect(isPinned(path)).toBe(true);
    m.update(k32(1), k32(11));
    {
      using again = BpfMap.openPinned(path);
      expect(again.id).toBe(m.id);
      expect(again.name).toBe(m.name);
      expect([again.keySize, again.valueSize, again.maxEntries]).toEqual([4, 4, 8]);
      expect(rd32(again.lookup(k32(1))!)).toBe(11);
      again.update(k32(2), k32(22));
    }
    expect(rd32(m.lookup(k32(2))!)).toBe(22);
    // Read-only open: updates are refused.
    {
      using ro = BpfMap.openPinned(path, MapFlags.BPF_F_RDONLY);
      expect(rd32(ro.lookup(k32(2))!)).toBe(22);
      expect(() => ro.update(k32(3), k32(3))).toThrow(expect.objectContaining({ code: 'EPERM' }));
    }
    expect(() => m.pin(path)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(m.unpin()).toBe(true);
    expect(existsSync(path)).toBe(false);
    expect(m.unpin()).toBe(false);
    expect(unpin(path)).toBe(false);
  });

  it('a missing pin path throws BpfError ENOENT naming the path', () => {
    const path = join(dir, 'nothing-here');
    try {
      BpfMap.openPinned(path);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BpfError);
      expect(e).toMatchObject({ code: 'ENOENT', command: 'BPF_OBJ_GET' });
      expect((e as Error).message).toContain(path);
    }
  });

  it('pinning outside bpffs throws BpffsError', () => {
    using m = BpfMap.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(() => m.pin(join(tmpdir(), 'x'))).toThrow(BpffsError);
  });

  it('opening a pinned program as a map throws MapError', () => {
    const path = join(dir, 'prog');
    using p = Program.load({ type: ProgType.BPF_PROG_TYPE_XDP, insns: [mov64Imm(0, 2), exit()], license: 'GPL' });
    p.pin(path);
    try {
      expect(() => BpfMap.openPinned(path)).toThrow(MapError);
    } finally {
      unpin(path);
    }
  });

  it('opens by id, walks ids, and reports info', () => {
    using m = BpfMap.create({ type: 'lru_hash', keySize: 8, valueSize: 16, maxEntries: 32, name: testName('id') });
    const id = m.id;
    expect([...allIds('map')]).toContain(id);
    expect(nextId('map', 0)).toBeGreaterThan(0);
    using byId = BpfMap.fromId(id);
    expect(byId.info()).toMatchObject({ id, typeName: 'lru_hash', keySize: 8, valueSize: 16, maxEntries: 32, name: m.name });
    expect(fdKind(byId.fd)).toBe('map');
    expect(() => BpfMap.fromId(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('fromFd refuses a descriptor that is not a map (and closes it)', () => {
    const fd = openSync('/dev/null', 'r');
    expect(() => BpfMap.fromFd(fd)).toThrow(/not a map/);
    expect(existsSync(`/proc/self/fd/${fd}`)).toBe(false); // closed by fromFd
  });
});

// Transpiles the modules lib/kernel/map.ts reaches (no type check) into a
// temporary tree readable by an unprivileged user, so a child process without
// root can import BpfMap.
function transpileLib(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const out = mkdtempSync(join(tmpdir(), 'tsbpf-nonroot-'));
  const done = new Set<string>();
  const visit = (file: string) => {
    if (done.has(file)) return;
    done.add(file);
    const src = readFileSync(file, 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
    for (const m of js.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) visit(join(dirname(file), m[1]! + '.ts'));
  };
  visit(join(root, 'lib', 'kernel', 'map.ts'));
  visit(join(root, 'lib', 'kernel', 'errors.ts'));
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(join(root, 'build'), join(out, 'build'));
  const chmodAll = (dir: string) => {
    chmodSync(dir, 0o755);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodAll(join(dir, e.name));
  };
  chmodAll(out);
  return out;
}

describeKernel('BpfMap: without privileges', () => {
  it('a non-root process gets BpfError EPERM with the privilege hint', () => {
    const out = transpileLib();
    try {
      const script = `
        import { BpfMap } from ${JSON.stringify(join(out, 'lib/kernel/map.js'))};
        import { BpfError } from ${JSON.stringify(join(out, 'lib/kernel/errors.js'))};
        try {
          BpfMap.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 1 });
          console.log(JSON.stringify({ created: true }));
        } catch (e) {
          console.log(JSON.stringify({ isBpfError: e instanceof BpfError, name: e.name, code: e.code, command: e.command, hint: e.hint, message: e.message }));
        }`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
      expect(r.stderr).toBe('');
      const res = JSON.parse(r.stdout.trim());
      expect(res).toMatchObject({ isBpfError: true, name: 'BpfError', code: 'EPERM', command: 'BPF_MAP_CREATE' });
      expect(res.hint).toMatch(/root|CAP_BPF/);
      expect(res.message).toMatch(/^BPF_MAP_CREATE \(hash\): EPERM: needs root, or CAP_BPF/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('BpfError for EPERM (no kernel needed)', () => {
  it('names the command, errno and the privilege hint', () => {
    const e = new BpfError('BPF_MAP_CREATE', 1, 'hash');
    expect(e).toMatchObject({ code: 'EPERM', errno: 1, command: 'BPF_MAP_CREATE' });
    expect(e.message).toBe('BPF_MAP_CREATE (hash): EPERM: needs root, or CAP_BPF (plus CAP_NET_ADMIN or CAP_PERFMON for some program types)');
  });
});
