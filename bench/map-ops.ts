/**
 * `tsbpf bench map-ops`: map operations per second through tsbpf (`BpfMap`)
 * against the same bpf(2) calls from C, in the same run.
 *
 * The C side is a small program this benchmark writes and builds with
 * `gcc -O2` in a temporary directory. It issues the syscalls as libbpf does
 * (a zeroed 32-byte attr per element call, a 56-byte attr per batch call).
 * Both sides use a fresh hash map (u32 key, u64 value) per round and do
 * the same work:
 * - update: N single BPF_MAP_UPDATE_ELEM calls inserting keys 0..N-1;
 * - lookup: N single BPF_MAP_LOOKUP_ELEM calls on a full map, the value
 *   copied into the caller's buffer as C does (tsbpf: `map.lookupInto(key,
 *   out)`); `map.lookup(key)`, which allocates a fresh value each call, and
 *   the typed API (`map.typed(u32, u64)`) are reported too;
 * - batch update: N elements with BPF_MAP_UPDATE_BATCH in chunks of 64 Ki.
 *
 * Rounds are interleaved (C, tsbpf, C, tsbpf, ...); the figures are medians
 * and each ratio is tsbpf throughput / C throughput (higher is better). Both
 * processes are pinned to the same CPU when `taskset` is available. Needs root.
 *
 * Options: `--ops N` (default 1,000,000), `--rounds R` (default 5),
 * `--chunk N` (batch chunk, default 65536), `--quick` (200,000 ops, 3 rounds),
 * `--no-pin`.
 *
 * Last line: `map-ops: update_ratio=<..> lookup_ratio=<..> batch_update_ratio=<..>`
 * followed by the extra keys `lookup_alloc_ratio`, `typed_set_ratio`, `typed_get_ratio`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { BpfMap } from '../lib/kernel/map.js';
import { u32, u64 } from '../lib/layout/index.js';

const cSource = String.raw`
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long sys_bpf(int cmd, void *attr, unsigned size) { return syscall(__NR_bpf, cmd, attr, size); }
static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }

/* Like libbpf: zero the part of the attr the command uses, pass that size. */
static int map_create(uint32_t n) {
  union bpf_attr a; memset(&a, 0, sizeof a);
  a.map_type = BPF_MAP_TYPE_HASH; a.key_size = 4; a.value_size = 8; a.max_entries = n;
  return (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof a);
}
static int update_elem(int fd, const void *k, const void *v, uint64_t flags) {
  union bpf_attr a; const unsigned sz = 32; memset(&a, 0, sz);
  a.map_fd = fd; a.key = (uint64_t)(uintptr_t)k; a.value = (uint64_t)(uintptr_t)v; a.flags = flags;
  return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a, sz);
}
static int lookup_elem(int fd, const void *k, void *v) {
  union bpf_attr a; const unsigned sz = 32; memset(&a, 0, sz);
  a.map_fd = fd; a.key = (uint64_t)(uintptr_t)k; a.value = (uint64_t)(uintptr_t)v;
  return (int)sys_bpf(BPF_MAP_LOOKUP_ELEM, &a, sz);
}
static int update_batch(int fd, const void *keys, const void *values, uint32_t *count) {
  union bpf_attr a; const unsigned sz = 56; memset(&a, 0, sz);
  a.batch.map_fd = fd; a.batch.keys = (uint64_t)(uintptr_t)keys; a.batch.values = (uint64_t)(uintptr_t)values; a.batch.count = *count;
  int r = (int)sys_bpf(BPF_MAP_UPDATE_BATCH, &a, sz);
  *count = a.batch.count;
  return r;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s update|lookup|batch N CHUNK\n", argv[0]); return 2; }
  const char *mode = argv[1];
  uint32_t n = (uint32_t)strtoul(argv[2], 0, 10), chunk = (uint32_t)strtoul(argv[3], 0, 10);
  int fd = map_create(n);
  if (fd < 0) { perror("BPF_MAP_CREATE"); return 1; }
  uint32_t *keys = malloc(4ul * n); uint64_t *values = malloc(8ul * n);
  for (uint32_t i = 0; i < n; i++) { keys[i] = i; values[i] = i; }
  double t0, t1;
  if (strcmp(mode, "update") == 0) {
    uint32_t k; uint64_t v;
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) { k = i; v = i; if (update_elem(fd, &k, &v, BPF_ANY)) { perror("update"); return 1; } }
    t1 = now_ns();
  } else if (strcmp(mode, "lookup") == 0) {
    uint32_t c = n; if (update_batch(fd, keys, values, &c)) { perror("fill"); return 1; }
    uint32_t k; uint64_t v, sum = 0;
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) { k = i; if (lookup_elem(fd, &k, &v)) { perror("lookup"); return 1; } sum += v; }
    t1 = now_ns();
    if (sum != (uint64_t)n * (n - 1) / 2) { fprintf(stderr, "bad sum\n"); return 1; }
  } else if (strcmp(mode, "batch") == 0) {
    t0 = now_ns();
    for (uint32_t done = 0; done < n;) {
      uint32_t c = n - done < chunk ? n - done : chunk;
      if (update_batch(fd, keys + done, values + done, &c)) { perror("batch"); return 1; }
      done += c;
    }
    t1 = now_ns();
  } else { fprintf(stderr, "bad mode\n"); return 2; }
  printf("%.3f\n", (t1 - t0) / n);
  close(fd);
  return 0;
}
`;

/** The median of `xs` (not empty). */
function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

type Mode = 'update' | 'lookup' | 'lookupInto' | 'typedSet' | 'typedGet' | 'batch';

function newMap(n: number): BpfMap {
  return BpfMap.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: n, name: 'bench_map_ops' });
}

function fillBuffers(n: number): { keys: Uint8Array; values: Uint8Array } {
  const keys = new Uint8Array(4 * n);
  const values = new Uint8Array(8 * n);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  for (let i = 0; i < n; i++) {
    kv.setUint32(4 * i, i, true);
    vv.setBigUint64(8 * i, BigInt(i), true);
  }
  return { keys, values };
}

function tsUpdate(m: BpfMap, n: number): number {
  const k = new Uint8Array(4);
  const v = new Uint8Array(8);
  const kv = new DataView(k.buffer);
  const vv = new DataView(v.buffer);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    kv.setUint32(0, i, true);
    vv.setUint32(0, i, true);
    m.update(k, v);
  }
  return ((performance.now() - t0) * 1e6) / n;
}

function tsLookup(m: BpfMap, n: number): number {
  const k = new Uint8Array(4);
  const kv = new DataView(k.buffer);
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    kv.setUint32(0, i, true);
    const v = m.lookup(k)!;
    sum += v[0]! + v[1]! * 256 + v[2]! * 65536;
  }
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`lookup: bad sum ${sum}`);
  return ns;
}

function tsLookupInto(m: BpfMap, n: number): number {
  const k = new Uint8Array(4);
  const out = new Uint8Array(8);
  const kv = new DataView(k.buffer);
  const ov = new DataView(out.buffer);
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    kv.setUint32(0, i, true);
    m.lookupInto(k, out);
    sum += ov.getUint32(0, true);
  }
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sum !== (n * (n - 1)) / 2) throw new Error(`lookupInto: bad sum ${sum}`);
  return ns;
}

function tsTypedSet(m: BpfMap, n: number): number {
  const t = m.typed(u32, u64);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) t.set(i, BigInt(i));
  return ((performance.now() - t0) * 1e6) / n;
}

function tsTypedGet(m: BpfMap, n: number): number {
  const t = m.typed(u32, u64);
  let sum = 0n;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sum += t.get(i)!;
  const ns = ((performance.now() - t0) * 1e6) / n;
  if (sum !== (BigInt(n) * BigInt(n - 1)) / 2n) throw new Error('typed get: bad sum');
  return ns;
}

function tsRound(mode: Mode, n: number, chunk: number): number {
  const m = newMap(n);
  try {
    if (mode === 'update') return tsUpdate(m, n);
    if (mode === 'typedSet') return tsTypedSet(m, n);
    const { keys, values } = fillBuffers(n);
    if (mode === 'batch') {
      const t0 = performance.now();
      m.updateBatch(keys, values, { chunkSize: chunk });
      return ((performance.now() - t0) * 1e6) / n;
    }
    m.updateBatch(keys, values);
    if (mode === 'lookup') return tsLookup(m, n);
    if (mode === 'lookupInto') return tsLookupInto(m, n);
    return tsTypedGet(m, n);
  } finally {
    m.close();
  }
}

function pinSelf(cpu: number): boolean {
  try {
    execFileSync('taskset', ['-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs the benchmark (see the module doc for options). */
export async function run(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const quick = args.includes('--quick');
  const n = opt('--ops', quick ? 200_000 : 1_000_000);
  const rounds = opt('--rounds', quick ? 3 : 5);
  const chunk = opt('--chunk', 65536);
  const cpu = cpus().length - 1;
  const pinned = !args.includes('--no-pin') && pinSelf(cpu);

  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-map-ops-'));
  try {
    const src = join(dir, 'map_ops.c');
    const exe = join(dir, 'map_ops');
    writeFileSync(src, cSource);
    execFileSync('gcc', ['-O2', '-o', exe, src], { stdio: ['ignore', 'ignore', 'inherit'] });
    const gcc = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
    const runC = (mode: string): number => {
      const cmd = pinned ? 'taskset' : exe;
      const argv = pinned ? ['-c', String(cpu), exe, mode, String(n), String(chunk)] : [mode, String(n), String(chunk)];
      return Number(execFileSync(cmd, argv, { encoding: 'utf8' }).trim());
    };

    console.log(`map-ops: hash map u32 -> u64, ${n} ops per round, ${rounds} interleaved rounds, batch chunk ${chunk}`);
    console.log(`C baseline: ${gcc} -O2 (libbpf-style attrs)${pinned ? `; both pinned to CPU ${cpu}` : ''}`);

    // Warm up the JIT on the tsbpf paths.
    for (const mode of ['update', 'lookup', 'lookupInto', 'typedSet', 'typedGet', 'batch'] as const) tsRound(mode, 20_000, chunk);

    const pairs: Array<[string, Mode, string]> = [
      ['update', 'update', 'update'],
      ['lookupInto', 'lookupInto', 'lookup'],
      ['lookup', 'lookup', 'lookup'],
      ['typed set', 'typedSet', 'update'],
      ['typed get', 'typedGet', 'lookup'],
      ['batch update', 'batch', 'batch'],
    ];
    const ratios: Record<string, number> = {};
    for (const [label, tsMode, cMode] of pairs) {
      const c: number[] = [];
      const t: number[] = [];
      for (let r = 0; r < rounds; r++) {
        c.push(runC(cMode));
        t.push(tsRound(tsMode, n, chunk));
      }
      const cMed = median(c);
      const tMed = median(t);
      const ratio = cMed / tMed; // throughput ratio = (1/t) / (1/c)
      ratios[tsMode] = ratio;
      const unit = tsMode === 'batch' ? 'ns/elem' : 'ns/op';
      console.log(
        `${label.padEnd(12)} tsbpf ${tMed.toFixed(0).padStart(6)} ${unit} (${(1e3 / tMed).toFixed(3)} Mops/s)  C ${cMed
          .toFixed(0)
          .padStart(6)} ${unit} (${(1e3 / cMed).toFixed(3)} Mops/s)  ratio ${ratio.toFixed(3)}`,
      );
    }
    console.log(
      `map-ops: update_ratio=${ratios.update!.toFixed(3)} lookup_ratio=${ratios.lookupInto!.toFixed(3)} batch_update_ratio=${ratios.batch!.toFixed(3)}` +
        ` lookup_alloc_ratio=${ratios.lookup!.toFixed(3)} typed_set_ratio=${ratios.typedSet!.toFixed(3)} typed_get_ratio=${ratios.typedGet!.toFixed(3)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
