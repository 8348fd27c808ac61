/**
 * BTF objects in the kernel: `KernelBtf.load` (BPF_BTF_LOAD, Linux 4.18) turns
 * an encoded `.BTF` blob into a descriptor that maps (key/value types) and
 * programs (func_info, line_info) refer to. A rejected blob becomes a
 * `BtfLoadError` carrying the kernel's BTF verifier log.
 */
import { encodeBtf, type Btf, type BtfStringTable } from '../btf/index.js';
import { TsbpfError } from '../errors.js';
import { BpfCmd } from '../uapi/commands.js';
import { BpfAttr } from '../uapi/bpf-attr.js';
import { offsetOf } from '../uapi/layout.js';
import { errnoName } from './errors.js';
import { FD } from './fd.js';
import { Attr, bpfRaw } from './syscall.js';

const B = BpfAttr.btfLoad;
const bo = (name: string) => offsetOf(B, name);

/** The kernel rejected a BTF blob; `log` is its BTF verifier log. */
export class BtfLoadError extends TsbpfError {
  /** errno (positive). */
  readonly errno: number;
  /** errno name (`EINVAL`). */
  readonly code: string;
  /** The kernel's BTF log ('' when none was produced). */
  readonly log: string;
  constructor(errno: number, log: string) {
    const code = errnoName(errno);
    const last = log.trim().split('\n').filter(Boolean).slice(-2).join(' / ');
    super(`BPF_BTF_LOAD: ${code}${last ? `: ${last}` : ''}`);
    this.errno = errno;
    this.code = code;
    this.log = log;
  }
}

function attempt(bytes: Uint8Array, logSize: number): { fd: number; log: string } {
  const attr = new Attr(B.size).ptr(bo('btf'), bytes).u32(bo('btf_size'), bytes.length);
  let log: Uint8Array | undefined;
  if (logSize > 0) {
    log = new Uint8Array(logSize);
    attr.ptr(bo('btf_log_buf'), log).u32(bo('btf_log_size'), logSize).u32(bo('btf_log_level'), 1);
  }
  const fd = bpfRaw(BpfCmd.BPF_BTF_LOAD, attr);
  let text = '';
  if (log) {
    const end = log.indexOf(0);
    text = Buffer.from(log.buffer, 0, end < 0 ? log.length : end).toString('utf8');
  }
  return { fd, log: text };
}

/** A BTF object loaded into the kernel. Close it when the maps and programs using it are loaded (they keep their own reference). */
export class KernelBtf {
  readonly #fd: FD;

  private constructor(fd: FD) {
    this.#fd = fd;
  }

  /**
   * Loads BTF (a `Btf`, encoded here with `strings` if given, or encoded bytes).
   * Tries without a log first; on failure retries with one and throws
   * `BtfLoadError` with the kernel's log.
   */
  static load(btf: Btf | Uint8Array, strings?: BtfStringTable): KernelBtf {
    const bytes = btf instanceof Uint8Array ? btf : encodeBtf(btf, strings);
    const first = attempt(bytes, 0);
    if (first.fd >= 0) return new KernelBtf(new FD(first.fd, 'btf'));
    let size = 64 * 1024;
    for (;;) {
      const again = attempt(bytes, size);
      if (again.fd >= 0) return new KernelBtf(new FD(again.fd, 'btf'));
      if (-again.fd === 28 /* ENOSPC */ && size < 16 * 1024 * 1024) {
        size *= 4;
        continue;
      }
      throw new BtfLoadError(-again.fd, again.log);
    }
  }

  /** The descriptor; throws `ClosedError` after close. */
  get fd(): number {
    return this.#fd.value;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Closes the descriptor; closing twice is harmless. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
