/**
 * Test environment helpers: whether the kernel (and LLVM) can be used, and
 * names for the kernel objects a test creates.
 *
 * Every namespace, veth, cgroup and pin a test creates must carry `runId()` in
 * its name: the global teardown fails the run if any of them is left behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';

/** The id of this test run (set by test/global-setup.ts; shared by all workers). */
export function runId(): string {
  return (process.env.TSBPF_TEST_RUN ??= 'tb' + randomBytes(3).toString('hex'));
}

let seq = 0;
/**
 * A unique, short name for a kernel object of this run: `<runId><pid%1000><n><tag>`,
 * at most 15 characters so it also fits an interface name.
 */
export function testName(tag = ''): string {
  const base = `${runId()}${(process.pid % 1000).toString(36)}${(seq++).toString(36)}`;
  return (base + tag).slice(0, 15);
}

function probeKernel(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

/** Why kernel tests cannot run here, or undefined when they can. */
export const kernelUnavailable: string | undefined = probeKernel();

function probeLlvm(): string | undefined {
  for (const tool of ['clang-22', 'llvm-objdump-22', 'llvm-mc-22']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${tool} not found`;
    }
  }
  return undefined;
}

/** Why LLVM comparison tests cannot run here, or undefined when they can. */
export const llvmUnavailable: string | undefined = probeLlvm();

function gate(reason: string | undefined, requireVar: string, what: string) {
  if (reason && process.env[requireVar] === '1') {
    throw new Error(`${what} tests cannot run (${reason}) but ${requireVar}=1`);
  }
  if (reason) console.warn(`skipping ${what} tests: ${reason}`);
  return reason ? describe.skip : describe;
}

/** `describe` for tests that need root and the real kernel: skips with a reason, or fails under TSBPF_REQUIRE_KERNEL=1. */
export const describeKernel = gate(kernelUnavailable, 'TSBPF_REQUIRE_KERNEL', 'kernel');

/** `describe` for tests that compare against clang-22/LLVM-22: skips, or fails under TSBPF_REQUIRE_LLVM=1. */
export const describeLlvm = gate(llvmUnavailable, 'TSBPF_REQUIRE_LLVM', 'LLVM');
