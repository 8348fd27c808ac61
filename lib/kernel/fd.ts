/**
 * File descriptors owned by JavaScript objects. Every kernel object (Map,
 * Program, Link, BTF) holds one `FD`: `close()` releases it once, a closed FD
 * refuses use with `ClosedError`, and a forgotten one is closed when it is
 * garbage-collected (as cilium/ebpf does with finalizers).
 */
import { native } from './native.js';
import { ClosedError } from './errors.js';

const leaked = new FinalizationRegistry<number>((fd) => {
  native().close(fd);
});

/** An owned file descriptor. */
export class FD {
  #fd: number;
  readonly #what: string;

  /** Takes ownership of `fd`; `what` names the owner in errors ("map counts"). */
  constructor(fd: number, what: string) {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`invalid file descriptor ${fd}`);
    this.#fd = fd;
    this.#what = what;
    leaked.register(this, fd, this);
  }

  /** The descriptor number; throws `ClosedError` after close. */
  get value(): number {
    if (this.#fd < 0) throw new ClosedError(this.#what);
    return this.#fd;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Closes the descriptor; closing twice is harmless. */
  close(): void {
    if (this.#fd < 0) return;
    leaked.unregister(this);
    native().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
