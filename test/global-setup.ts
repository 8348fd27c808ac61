/**
 * Suite-level check that tests leave nothing behind: every kernel object a
 * test creates carries this run's id in its name (test/helpers/env.ts), and
 * teardown fails the run if any network namespace, veth, cgroup or bpffs pin
 * with that id is still there. It also unmounts bpffs at /sys/fs/bpf when
 * the run mounted it (tests mount it for their pins; the kernel's preload
 * then adds maps.debug and progs.debug, which would otherwise stay behind).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const cgroupRoot = '/sys/fs/cgroup/unified';

function leftovers(id: string): string[] {
  const found: string[] = [];
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return '';
    }
  };
  for (const line of run('ip', ['netns', 'list']).split('\n')) {
    if (line.includes(id)) found.push(`netns ${line.split(' ')[0]}`);
  }
  for (const line of run('ip', ['-o', 'link', 'show']).split('\n')) {
    if (line.includes(id)) found.push(`link ${line.split(':')[1]?.trim()}`);
  }
  const walk = (dir: string, depth: number, what: string) => {
    if (depth > 3 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() && what === 'cgroup') continue;
      if (e.name.includes(id)) found.push(`${what} ${dir}/${e.name}`);
      else if (e.isDirectory()) walk(`${dir}/${e.name}`, depth + 1, what);
    }
  };
  walk(cgroupRoot, 0, 'cgroup');
  walk('/sys/fs/bpf', 0, 'pin');
  return found;
}

const bpffsRoot = '/sys/fs/bpf';

function bpffsMounted(): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((line) => line.split(' ')[1] === bpffsRoot && line.split(' ')[2] === 'bpf');
  } catch {
    return false;
  }
}

export default function setup() {
  const id = (process.env.TSBPF_TEST_RUN ??= 'tb' + randomBytes(3).toString('hex'));
  const bpffsWasMounted = bpffsMounted();
  return () => {
    const left = leftovers(id);
    if (!bpffsWasMounted && bpffsMounted()) {
      try {
        execFileSync('umount', [bpffsRoot], { stdio: 'ignore' });
      } catch {
        left.push(`bpffs still mounted at ${bpffsRoot} (umount failed)`);
      }
    }
    if (left.length > 0) {
      throw new Error(`tests left kernel objects behind:\n  ${left.join('\n  ')}`);
    }
  };
}
