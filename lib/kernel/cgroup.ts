/**
 * cgroup v2: find the unified hierarchy, create and remove cgroups, open their
 * descriptors (the targets of cgroup BPF links), move processes in, and start
 * child processes inside one.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync, constants as fsConstants } from 'node:fs';
import { join, resolve } from 'node:path';
import { TsbpfError } from '../errors.js';
import { FD } from './fd.js';

/** A cgroup operation failed. */
export class CgroupError extends TsbpfError {}

/**
 * The mount point of the cgroup v2 (unified) hierarchy, from /proc/self/mounts
 * (`/sys/fs/cgroup` on pure v2 systems, `/sys/fs/cgroup/unified` on hybrid ones).
 */
export function cgroup2Root(): string {
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type] = line.split(' ');
    if (type === 'cgroup2' && mountPoint) return mountPoint.replace(/\\040/g, ' ');
  }
  throw new CgroupError('no cgroup2 file system is mounted (see /proc/self/mounts)');
}

/** The cgroup v2 path of process `pid` relative to the hierarchy root (`/` or `/user.slice/...`). */
export function cgroupOf(pid: number | 'self' = 'self'): string {
  const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  for (const line of text.split('\n')) {
    if (line.startsWith('0::')) return line.slice(3);
  }
  throw new CgroupError(`process ${pid} has no cgroup v2 membership`);
}

const validName = /^[A-Za-z0-9_.-]{1,128}$/;

/** A cgroup v2 directory. */
export class Cgroup {
  /** Absolute path of the cgroup directory. */
  readonly path: string;
  #owned: boolean;

  private constructor(path: string, owned: boolean) {
    this.path = path;
    this.#owned = owned;
  }

  /** Creates cgroup `name` under `parent` (default: the hierarchy root); `remove()` deletes it. */
  static create(name: string, parent?: Cgroup | string): Cgroup {
    if (!validName.test(name)) throw new CgroupError(`invalid cgroup name '${name}'`);
    const base = parent === undefined ? cgroup2Root() : typeof parent === 'string' ? parent : parent.path;
    const path = join(base, name);
    try {
      mkdirSync(path);
    } catch (e) {
      throw new CgroupError(`cannot create cgroup ${path}: ${(e as Error).message}`, { cause: e });
    }
    return new Cgroup(path, true);
  }

  /** An existing cgroup: an absolute path, or a path relative to the hierarchy root. `remove()` leaves it. */
  static open(path: string): Cgroup {
    const abs = path.startsWith(cgroup2Root()) ? path : join(cgroup2Root(), path);
    if (!existsSync(join(abs, 'cgroup.procs'))) throw new CgroupError(`${abs} is not a cgroup v2 directory`);
    return new Cgroup(resolve(abs), false);
  }

  /** The cgroup process `pid` belongs to now. */
  static ofProcess(pid: number | 'self' = 'self'): Cgroup {
    return Cgroup.open(join(cgroup2Root(), cgroupOf(pid)));
  }

  /** Opens the cgroup directory (O_RDONLY|O_DIRECTORY): the target fd for cgroup links. Close it when done. */
  open(): FD {
    try {
      return new FD(openSync(this.path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY), `cgroup ${this.path}`);
    } catch (e) {
      throw new CgroupError(`cannot open cgroup ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Moves process `pid` (all its threads) into this cgroup. */
  addProcess(pid: number): void {
    if (!Number.isInteger(pid) || pid <= 0) throw new TypeError(`invalid pid ${pid}`);
    try {
      writeFileSync(join(this.path, 'cgroup.procs'), `${pid}\n`);
    } catch (e) {
      throw new CgroupError(`cannot move process ${pid} into ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The processes in this cgroup (not in its children). */
  pids(): number[] {
    return readFileSync(join(this.path, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  }

  /**
   * Starts `command` inside this cgroup: a shell moves itself in and then execs
   * the command, so the command never runs outside the cgroup.
   */
  spawn(command: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    const procs = join(this.path, 'cgroup.procs');
    const script = 'echo $$ > "$0" && exec "$@"';
    return spawn('/bin/sh', ['-c', script, procs, command, ...args], options);
  }

  /**
   * Deletes a cgroup this object created: processes still in it are moved to the
   * parent first. Harmless twice; does nothing for an opened cgroup.
   */
  remove(): void {
    if (!this.#owned) return;
    if (!existsSync(this.path)) {
      this.#owned = false;
      return;
    }
    const parent = join(this.path, '..', 'cgroup.procs');
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(this.path);
        this.#owned = false;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 20) {
          throw new CgroupError(`cannot remove cgroup ${this.path}: ${(e as Error).message}`, { cause: e });
        }
        for (const pid of this.pids()) {
          try {
            writeFileSync(parent, `${pid}\n`);
          } catch {
            // the process may have exited meanwhile
          }
        }
        // A dying process can keep the cgroup busy for a moment.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
  }

  [Symbol.dispose](): void {
    this.remove();
  }
}
