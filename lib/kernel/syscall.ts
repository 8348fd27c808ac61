/**
 * bpf(2) from TypeScript: `Attr` encodes a `union bpf_attr` field by field
 * (offsets from lib/uapi/bpf-attr.ts), and `bpf()` runs a command and turns a
 * failure into a `BpfError`. This is the only file that calls the addon's bpf().
 */
import { BpfCmd } from '../uapi/commands.js';
import { BPF_ATTR_SIZE } from '../uapi/bpf-attr.js';
import { native, type PointerPatch } from './native.js';
import { BpfError } from './errors.js';

/** Size of the attr buffer we pass: `sizeof(union bpf_attr)` in Linux 6.18. */
export const ATTR_SIZE = BPF_ATTR_SIZE;

const cmdNames = new Map<number, string>(Object.entries(BpfCmd).map(([k, v]) => [v as number, k]));

/** The kernel name of a bpf(2) command number. */
export function commandName(cmd: number): string {
  return cmdNames.get(cmd) ?? `BPF_CMD_${cmd}`;
}

/** A `union bpf_attr` being encoded; pointers are patched in by the addon. */
export class Attr {
  /** The attr bytes; the kernel may write results back into them. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  /** Buffers whose addresses go into the attr. */
  readonly pointers: PointerPatch[] = [];

  constructor(size = ATTR_SIZE) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(offset: number, value: number): this {
    this.view.setUint8(offset, value);
    return this;
  }

  u16(offset: number, value: number): this {
    this.view.setUint16(offset, value, true);
    return this;
  }

  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value >>> 0, true);
    return this;
  }

  u64(offset: number, value: bigint): this {
    this.view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    return this;
  }

  /** The address of `buffer` (or NULL) at `offset`. */
  ptr(offset: number, buffer: ArrayBufferView | null): this {
    this.pointers.push([offset, buffer]);
    return this;
  }

  /** A NUL-terminated name of at most `size - 1` bytes (object names are 16 bytes). */
  str(offset: number, size: number, value: string): this {
    const bytes = Buffer.from(value, 'utf8');
    if (bytes.length >= size) throw new RangeError(`'${value}' is longer than ${size - 1} bytes`);
    this.bytes.set(bytes, offset);
    return this;
  }

  readU32(offset: number): number {
    return this.view.getUint32(offset, true);
  }

  readU64(offset: number): bigint {
    return this.view.getBigUint64(offset, true);
  }
}

/**
 * Runs bpf(cmd, attr) and returns its non-negative result; throws `BpfError`
 * naming the command and errno on failure. `detail` is added to the message.
 */
export function bpf(cmd: number, attr: Attr, detail?: string): number {
  const r = native().bpf(cmd, attr.bytes, attr.pointers);
  if (r < 0) throw new BpfError(commandName(cmd), -r, detail);
  return r;
}

/** Like `bpf()` but off the main thread (for long test runs). */
export async function bpfAsync(cmd: number, attr: Attr, detail?: string): Promise<number> {
  const r = await native().bpfAsync(cmd, attr.bytes, attr.pointers);
  if (r < 0) throw new BpfError(commandName(cmd), -r, detail);
  return r;
}

/** Runs bpf(cmd, attr) and returns `-errno` instead of throwing (for probes and iteration ends). */
export function bpfRaw(cmd: number, attr: Attr): number {
  return native().bpf(cmd, attr.bytes, attr.pointers);
}

/**
 * A reusable attr for hot paths (map lookups and updates): pointer members
 * are written as raw addresses once (and again only when a pointer changes),
 * and `run()` makes the syscall without rebuilding anything. It holds the
 * buffers whose addresses it carries, so they stay alive as long as it does.
 */
export class FastAttr {
  /** The attr bytes (own ArrayBuffer, so their address is stable). */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly #held = new Map<number, ArrayBufferView | null>();

  constructor(size: number) {
    this.bytes = new Uint8Array(new ArrayBuffer(size));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Writes the address of `buffer` (or NULL) at `offset`, replacing (and releasing) what was there. */
  ptr(offset: number, buffer: ArrayBufferView | null): this {
    const address = buffer ? native().addressOf(buffer) : 0;
    this.view.setUint32(offset, address % 0x100000000, true);
    this.view.setUint32(offset + 4, Math.floor(address / 0x100000000), true);
    this.#held.set(offset, buffer);
    return this;
  }

  /** Runs bpf(cmd, this) and returns the result or `-errno` (never throws for a kernel failure). */
  run(cmd: number): number {
    return native().bpfFast(cmd, this.bytes);
  }

  /**
   * Registers the attr with the addon and returns `slot << 10`: OR a command
   * into it and pass it to `native().bpfSlot()`. Call `release()` when done
   * (the addon holds the attr until then).
   */
  register(): number {
    if (this.#slot < 0) this.#slot = native().registerAttr(this.bytes);
    return this.#slot * 1024;
  }

  /** Releases the registration from `register()`; harmless when there is none. */
  release(): void {
    if (this.#slot >= 0) native().unregisterAttr(this.#slot);
    this.#slot = -1;
  }

  #slot = -1;
}
