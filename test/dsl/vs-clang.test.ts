/** Code-size regression guard: every DSL benchmark program stays within 10% of clang-22 -O2 on its C twin. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeLlvm } from '../helpers/env.js';
import { readCollectionSpec } from '../../lib/elf/index.js';
import { slotCount } from '../../lib/isa/insn.js';
import * as P from '../../bench/_dsl-programs.js';

describeLlvm('DSL code size against clang-22 -O2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-dsl-vs-clang-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // [DSL program, C twin file, program in it]
  const pairs = [
    [P.countUdp, 'count_udp', 'count_udp'],
    [P.xdpLb, 'xdp_lb', 'xdp_lb'],
    [P.tcFast, 'tc_fast', 'tc_fast'],
    [P.edtLimiter, 'edt_limiter', 'edt_limiter'],
    [P.connectLb4, 'sock_lb', 'lb_connect4'],
    [P.recvmsgLb4, 'sock_lb', 'lb_recvmsg4'],
  ] as const;
  for (const [prog, twin, name] of pairs) {
    it(`${name}: at most 1.1x clang's instructions`, () => {
      const obj = join(dir, `${name}.o`);
      execFileSync('clang-22', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(fileURLToPath(new URL('../../bench/twins/', import.meta.url)), `${twin}.c`), '-o', obj]);
      const spec = readCollectionSpec(readFileSync(obj));
      const clang = slotCount(spec.programs.get(name)!.insns);
      const dsl = slotCount(prog.build().insns);
      expect(dsl).toBeLessThanOrEqual(Math.ceil(clang * 1.1));
    });
  }
});
