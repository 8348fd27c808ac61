/**
 * The BPF filesystem: making sure it is mounted, and pinning descriptors to
 * paths on it (BPF_OBJ_PIN) and opening them again (BPF_OBJ_GET). These are
 * the raw-descriptor helpers that `BpfMap`, `Program` and `Link` build their
 * `pin()`/`openPinned()` on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { TsbpfError } from '../errors.js';
import { Attr, bpf } from './syscall.js';

/** `BPF_FS_MAGIC`: the `f_type` statfs(2) reports for bpffs. */
export const BPF_FS_MAGIC = 0xcafe4a11;

/** Where bpffs is conventionally mounted. */
export const DEFAULT_BPFFS = '/sys/fs/bpf';

/** A path that is not on a BPF filesystem, or bpffs could not be mounted. */
export class BpffsError extends TsbpfError {
  /** The path concerned. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

/** Whether `path` (which must exist) lies on a BPF filesystem. */
export function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Makes sure a BPF filesystem is mounted at `path` (default `/sys/fs/bpf`),
 * mounting one (`mount -t bpf bpf PATH`, needs root) when it is not. Returns `path`.
 */
export function ensureBpffs(path: string = DEFAULT_BPFFS): string {
  if (isBpffs(path)) return path;
  try {
    if (!existsSync(path)) mkdirSync(path, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const why = e instanceof Error ? ((e as { stderr?: Buffer }).stderr?.toString().trim() || e.message) : String(e);
    throw new BpffsError(`cannot mount bpffs at ${path}: ${why}`, path);
  }
  if (!isBpffs(path)) throw new BpffsError(`${path} is not a BPF filesystem after mounting`, path);
  return path;
}

const P = BpfAttr.objPin;
const pinPathname = offsetOf(P, 'pathname');
const pinBpfFd = offsetOf(P, 'bpf_fd');
const pinFileFlags = offsetOf(P, 'file_flags');

function cPath(path: string): Buffer {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new TypeError(`invalid pin path ${JSON.stringify(path)}`);
  }
  return Buffer.from(path + '\0', 'utf8');
}

/**
 * Pins descriptor `fd` at `path` (BPF_OBJ_PIN). The parent directory must
 * exist on a bpffs; a path that is not on bpffs throws `BpffsError`, a taken
 * path `BpfError` EEXIST.
 */
export function pinFd(fd: number, path: string): void {
  const dir = dirname(path);
  if (existsSync(dir) && !isBpffs(dir)) {
    throw new BpffsError(`cannot pin at ${path}: ${dir} is not on a BPF filesystem (mount one with ensureBpffs())`, path);
  }
  const name = cPath(path);
  const attr = new Attr().ptr(pinPathname, name).u32(pinBpfFd, fd);
  bpf(BpfCmd.BPF_OBJ_PIN, attr, path);
}

/**
 * Opens the object pinned at `path` (BPF_OBJ_GET) and returns the new
 * descriptor (the caller owns it). `flags` may be `BPF_F_RDONLY`/`BPF_F_WRONLY`.
 * A missing path throws `BpfError` ENOENT naming the path.
 */
export function openPinnedFd(path: string, flags = 0): number {
  const name = cPath(path);
  const attr = new Attr().ptr(pinPathname, name).u32(pinFileFlags, flags);
  return bpf(BpfCmd.BPF_OBJ_GET, attr, path);
}
