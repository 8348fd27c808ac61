/**
 * `tsbpf bench isa`: throughput of the instruction layer.
 *
 * - encode+decode: programs of 4,096 instructions (a mix of ALU, memory,
 *   jump, call, atomic and 5% `lddw` instructions; BPF programs are this
 *   size, and the kernel caps them at 1M) encoded to bytes and decoded back,
 *   repeated to cover `--insns` instructions; instructions per second over
 *   both steps (goal: at least 20 M/s).
 * - asm: text assembly of a 1,000,000-instruction file in llvm-objdump
 *   syntax, with labels every 64 instructions and jumps to them
 *   (goal: at least 2 M/s). When llvm-mc-22 is installed, it assembles the
 *   same file once in the same run and the ratio tsbpf/llvm-mc is printed.
 *
 * After a warm-up of both, the encode+decode rounds run, then the asm rounds
 * (each phase pays for its own garbage only); figures are medians. A calibration line (one `charCodeAt` pass over the text, best
 * of three) shows how busy the machine is: on a shared machine every figure
 * scales with it.
 * Options: `--insns N` (default 1,000,000), `--rounds R` (default 5),
 * `--quick` (200,000 instructions, 3 rounds), `--no-llvm`.
 *
 * Last line: `isa: encode_decode_mips=<..> asm_mips=<..>`.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as isa from '../lib/isa/index.js';
import type { Insn } from '../lib/isa/index.js';

function program(n: number): Insn[] {
  const out: Insn[] = [];
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  while (out.length < n) {
    const k = rnd() % 20;
    const d = rnd() % 10;
    const s = rnd() % 11;
    switch (k) {
      case 0:
        out.push(isa.ldImm64(d, BigInt(rnd()) << 20n));
        break;
      case 1:
        out.push(isa.ldx('u64', d, s, -(rnd() % 512)));
        break;
      case 2:
        out.push(isa.ldx('u32', d, s, rnd() % 64));
        break;
      case 3:
        out.push(isa.stx('u64', 10, s, -8 * (1 + (rnd() % 64))));
        break;
      case 4:
        out.push(isa.st('u32', 10, -4, rnd() % 1000));
        break;
      case 5:
        out.push(isa.jmpImm('eq', d, rnd() % 100, rnd() % 50));
        break;
      case 6:
        out.push(isa.jmp32Reg('sgt', d, s, -(rnd() % 50)));
        break;
      case 7:
        out.push(isa.call(1 + (rnd() % 200)));
        break;
      case 8:
        out.push(isa.atomic('u64', 'fetch_add', d, s, 0));
        break;
      case 9:
        out.push(isa.mov64Reg(d, s));
        break;
      case 10:
        out.push(isa.alu32Imm('add', d, rnd() % 4096));
        break;
      case 11:
        out.push(isa.alu64Reg('xor', d, s));
        break;
      case 12:
        out.push(isa.toBe(d, 16));
        break;
      case 13:
        out.push(isa.alu64Imm('lsh', d, rnd() % 64));
        break;
      default:
        out.push(isa.mov64Imm(d, (rnd() % 2000) - 1000));
    }
  }
  return out;
}

/** The same kind of program as text, with labels and jumps to them. */
function text(n: number): string {
  const insns = program(n);
  const lines: string[] = [];
  for (let k = 0; k < insns.length; k++) {
    if (k % 64 === 0) lines.push(`LBB0_${k >> 6}:`);
    const i = insns[k]!;
    if (k % 64 === 10 && k + 64 < insns.length) lines.push(`  if r1 > r2 goto LBB0_${(k >> 6) + 1}`);
    else lines.push('  ' + isa.formatInsn(i));
  }
  // a trailing empty line gives the final newline; `join` yields one flat string (`+ '\n'` would
  // make a cons string, slower to index for the calibration pass)
  lines.push('');
  return lines.join('\n');
}

/**
 * Calibration: milliseconds of one `charCodeAt` pass over `s` (the best of three, in its own
 * function so it is optimised like library code rather than run once on on-stack replacement).
 */
function scanMs(s: string): { ms: number; lines: number } {
  let best = Infinity;
  let lines = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    lines = countNewlines(s);
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, lines };
}

function countNewlines(s: string): number {
  let n = 0;
  const len = s.length;
  for (let p = 0; p < len; p++) if (s.charCodeAt(p) === 10) n++;
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs the benchmark; see the module doc. */
export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const get = (name: string, def: number) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
  };
  const n = get('--insns', quick ? 200_000 : 1_000_000);
  const rounds = get('--rounds', quick ? 3 : 5);
  const insns = program(n);
  const src = text(n);
  console.log(`isa: ${n} instructions (${isa.slotCount(insns)} slots), text ${(src.length / 1e6).toFixed(1)} MB, ${rounds} rounds`);

  const chunk = insns.slice(0, 4096);
  const reps = Math.ceil(n / chunk.length);
  // warm-up: let both paths reach optimised code before the first measured round
  for (let k = 0; k < 50; k++) isa.decode(isa.encode(chunk));
  const warm = text(50_000);
  for (let k = 0; k < 3; k++) isa.assemble(warm);

  const ed: number[] = [];
  const as: number[] = [];
  const edCpu: number[] = [];
  const asCpu: number[] = [];
  const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  let check = 0;
  // All encode+decode rounds first, then all asm rounds: each phase then pays for its own
  // garbage only (a 1M-instruction assembly leaves old-generation work that would otherwise
  // land in the next encode+decode round).
  for (let r = 0; r < rounds; r++) {
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    for (let k = 0; k < reps; k++) done += isa.decode(isa.encode(chunk)).length;
    const t1 = performance.now();
    check += done === reps * chunk.length ? n : 0;
    ed.push(done / ((t1 - t0) / 1000) / 1e6);
    edCpu.push(done / (cpuMs(process.cpuUsage(u0)) / 1000) / 1e6);
  }
  for (let r = 0; r < rounds; r++) {
    const u2 = process.cpuUsage();
    const t2 = performance.now();
    const res = isa.assemble(src);
    const t3 = performance.now();
    asCpu.push(n / (cpuMs(process.cpuUsage(u2)) / 1000) / 1e6);
    check += res.sections[0]!.bytes.length >= n * 8 ? n : 0;
    as.push(n / ((t3 - t2) / 1000) / 1e6);
  }
  if (check !== 2 * n * rounds) throw new Error(`benchmark self-check failed (${check})`);
  const cal = scanMs(src);
  const edM = median(ed);
  const asM = median(as);
  console.log(`encode+decode: ${edM.toFixed(1)} M insns/s (rounds: ${ed.map((x) => x.toFixed(1)).join(' ')})`);
  console.log(`asm:           ${asM.toFixed(2)} M insns/s (rounds: ${as.map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`by CPU time:   encode+decode ${median(edCpu).toFixed(1)} M insns/s, asm ${median(asCpu).toFixed(2)} M insns/s (process CPU time, less sensitive to other load)`);
  console.log(
    `calibration:   one charCodeAt pass over the ${(src.length / 1e6).toFixed(1)} MB text took ${cal.ms.toFixed(0)} ms ` +
      `(${((cal.ms * 1e6) / src.length).toFixed(2)} ns/char, best of 3; ${cal.lines} lines)`,
  );

  if (!args.includes('--no-llvm')) {
    const dir = mkdtempSync(join(tmpdir(), 'tsbpf-bench-isa-'));
    try {
      const file = join(dir, 'p.s');
      writeFileSync(file, src);
      const t0 = performance.now();
      execFileSync('llvm-mc-22', ['-triple', 'bpfel', '-mcpu=v4', '-filetype=obj', file, '-o', join(dir, 'p.o')], { stdio: 'pipe' });
      const t1 = performance.now();
      const llvm = n / ((t1 - t0) / 1000) / 1e6;
      console.log(`llvm-mc-22:    ${llvm.toFixed(2)} M insns/s (one run, whole process); tsbpf/llvm-mc = ${(asM / llvm).toFixed(2)}`);
    } catch (e) {
      console.log(`llvm-mc-22 comparison skipped: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`isa: encode_decode_mips=${edM.toFixed(1)} asm_mips=${asM.toFixed(2)}`);
}
