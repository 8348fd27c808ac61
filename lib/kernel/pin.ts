/**
 * Pin housekeeping on bpffs: directories for pins, removing pins (a pinned
 * object lives until its last pin and descriptor are gone), and checking
 * whether a path holds a pin. Pinning itself is `pin()` on the object
 * (`BpfMap`, `Program`, `Link`), built on `pinFd` in bpffs.ts.
 */
import { existsSync, lstatSync, mkdirSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BpffsError, DEFAULT_BPFFS, ensureBpffs, isBpffs } from './bpffs.js';

/** Whether something is pinned (or a directory exists) at `path` on bpffs. */
export function isPinned(path: string): boolean {
  return existsSync(path) && isBpffs(path);
}

/**
 * Removes the pin at `path` (the object is freed once no descriptor holds it).
 * Returns false when nothing was there; refuses paths outside bpffs.
 */
export function unpin(path: string): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  if (!isBpffs(path)) throw new BpffsError(`refusing to unpin ${path}: not on a BPF filesystem`, path);
  if (st.isDirectory()) throw new BpffsError(`${path} is a directory; use removePinDirectory()`, path);
  unlinkSync(path);
  return true;
}

/**
 * Creates (if needed) the directory `name` under the bpffs mount `root`
 * (default `/sys/fs/bpf`, mounted if missing) and returns its path. `name`
 * may contain slashes for nested directories.
 */
export function pinDirectory(name: string, root: string = DEFAULT_BPFFS): string {
  ensureBpffs(root);
  if (name.split('/').some((p) => p === '..')) throw new BpffsError(`pin directory '${name}' may not contain '..'`, name);
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes a pin directory and every pin under it; refuses paths outside bpffs. */
export function removePinDirectory(dir: string): void {
  if (!existsSync(dir)) return;
  if (!isBpffs(dir)) throw new BpffsError(`refusing to remove ${dir}: not on a BPF filesystem`, dir);
  rmSync(dir, { recursive: true, force: true });
}
