/**
 * Network namespaces: create and remove named ones (`ip netns add/delete`),
 * and run code inside one by switching the calling thread with setns(2).
 *
 * setns(2) changes the namespace of the calling thread only, and for Node that
 * is the main thread: every socket created while switched belongs to the
 * namespace. Synchronous `run()` is the safest use. An asynchronous function
 * keeps the thread in the namespace until its promise settles, so any other
 * code that runs meanwhile (timers, other callbacks) also runs there; the
 * original namespace is restored in `finally` either way. Do not overlap two
 * asynchronous runs (say, in `Promise.all`): each switches back to the
 * namespace it found, so the later one to finish would restore the wrong one.
 * Node's sockets often create their descriptor a tick after the call (after an
 * address lookup), so to open a socket inside a namespace, await its
 * `listening`/`connect` event inside an async `run()`.
 *
 * Child processes: `ip netns exec` remounts /sys and so hides bpffs pins; use
 * {@link NetNs.execArgs} (`nsenter --net=/run/netns/NAME ...`) instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, constants as fsConstants } from 'node:fs';
import { TsbpfError } from '../errors.js';
import { errnoName } from './errors.js';
import { FD } from './fd.js';
import { native } from './native.js';

/** The `CLONE_NEWNET` namespace type for setns(2). */
export const CLONE_NEWNET = 0x40000000;

/** Where `ip netns` keeps its named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

/** A namespace operation failed (setns, `ip netns`). */
export class NetnsError extends TsbpfError {}

const validName = /^[A-Za-z0-9_.-]{1,64}$/;

function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new NetnsError(`ip ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
  }
}

function openNs(path: string, what: string): FD {
  try {
    return new FD(openSync(path, fsConstants.O_RDONLY), what);
  } catch (e) {
    throw new NetnsError(`cannot open network namespace ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function enter(fd: number, what: string): void {
  const r = native().setns(fd, CLONE_NEWNET);
  if (r < 0) throw new NetnsError(`setns(${what}) failed: ${errnoName(-r)}`);
}

/** A network namespace held open by a descriptor (named ones live in /run/netns). */
export class NetNs {
  /** The `ip netns` name, or undefined for a namespace opened by path. */
  readonly name: string | undefined;
  /** The namespace file (`/run/netns/NAME` or a `/proc/.../ns/net` path). */
  readonly path: string;
  readonly #fd: FD;
  #owned: boolean;

  private constructor(name: string | undefined, path: string, fd: FD, owned: boolean) {
    this.name = name;
    this.path = path;
    this.#fd = fd;
    this.#owned = owned;
  }

  /** Creates a named namespace (`ip netns add NAME`) with its loopback up; `remove()` deletes it. */
  static create(name: string): NetNs {
    if (!validName.test(name)) throw new NetnsError(`invalid namespace name '${name}'`);
    ip(['netns', 'add', name]);
    try {
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      return new NetNs(name, `${NETNS_RUN_DIR}/${name}`, openNs(`${NETNS_RUN_DIR}/${name}`, `netns ${name}`), true);
    } catch (e) {
      try {
        ip(['netns', 'delete', name]);
      } catch {
        // best effort
      }
      throw e;
    }
  }

  /** Opens an existing namespace by `ip netns` name or by path (`/proc/PID/ns/net`); `remove()` only closes it. */
  static open(nameOrPath: string): NetNs {
    const path = nameOrPath.includes('/') ? nameOrPath : `${NETNS_RUN_DIR}/${nameOrPath}`;
    if (!nameOrPath.includes('/') && !validName.test(nameOrPath)) throw new NetnsError(`invalid namespace name '${nameOrPath}'`);
    const name = nameOrPath.includes('/') ? undefined : nameOrPath;
    return new NetNs(name, path, openNs(path, `netns ${nameOrPath}`), false);
  }

  /** The namespace the calling (main) thread is in now. */
  static current(): NetNs {
    return new NetNs(undefined, '/proc/thread-self/ns/net', openNs('/proc/thread-self/ns/net', 'current netns'), false);
  }

  /** The namespace descriptor (for setns or as a BPF_LINK_CREATE target of netns links). */
  get fd(): number {
    return this.#fd.value;
  }

  /** Runs `fn` inside this namespace and switches back afterwards (for a promise: when it settles). */
  run<T>(fn: () => T): T {
    return withNetns(this, fn);
  }

  /** Arguments to run a command inside this namespace: `['nsenter', '--net=PATH', '--', cmd, ...args]`. */
  execArgs(cmd: string, args: readonly string[] = []): string[] {
    return ['nsenter', `--net=${this.path}`, '--', cmd, ...args];
  }

  /** Runs a command inside this namespace (via nsenter) and returns its standard output. */
  exec(cmd: string, args: readonly string[] = [], options: { timeoutMs?: number } = {}): string {
    const [bin, ...rest] = this.execArgs(cmd, args);
    try {
      return execFileSync(bin!, rest, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 30_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new NetnsError(`${cmd} ${args.join(' ')} in ${this.name ?? this.path} failed: ${(err.stderr || err.message).trim()}`, { cause: e });
    }
  }

  /** `ip -n NAME args...` for a named namespace (iproute2 only switches its own process). */
  ip(args: readonly string[]): string {
    if (this.name === undefined) return this.exec('ip', args);
    return ip(['-n', this.name, ...args]);
  }

  /** Closes the descriptor and, for a namespace this object created, deletes it. Harmless twice. */
  remove(): void {
    this.#fd.close();
    if (this.#owned && this.name !== undefined) {
      this.#owned = false;
      if (existsSync(`${NETNS_RUN_DIR}/${this.name}`)) ip(['netns', 'delete', this.name]);
    }
  }

  /** Closes the descriptor without deleting the namespace. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.remove();
  }
}

/**
 * Runs `fn` with the calling thread inside a network namespace (a `NetNs`, an
 * `ip netns` name, or a namespace descriptor) and always switches back to the
 * namespace it was in. If `fn` returns a promise, the switch back happens when
 * it settles; code interleaving meanwhile also runs inside the namespace.
 */
export function withNetns<T>(ns: NetNs | string | number, fn: () => T): T {
  const original = openNs('/proc/thread-self/ns/net', 'original netns');
  let target: NetNs | undefined;
  let targetFd: number;
  try {
    if (typeof ns === 'number') targetFd = ns;
    else if (typeof ns === 'string') {
      target = NetNs.open(ns);
      targetFd = target.fd;
    } else targetFd = ns.fd;
    enter(targetFd, typeof ns === 'object' ? (ns.name ?? ns.path) : String(ns));
  } catch (e) {
    target?.close();
    original.close();
    throw e;
  }
  const restore = () => {
    try {
      enter(original.value, 'original netns');
    } finally {
      original.close();
      target?.close();
    }
  };
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(restore) as T;
  }
  restore();
  return result;
}
