/**
 * The running kernel's BTF (`/sys/kernel/btf/vmlinux`), read and decoded once:
 * the target of CO-RE relocations.
 */
import { readFileSync } from 'node:fs';
import { type Btf, decodeBtf } from '../btf/index.js';
import { TsbpfError } from '../errors.js';

/** Where the kernel exposes its BTF (kernel 5.5, `CONFIG_DEBUG_INFO_BTF`). */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

/** The kernel's BTF cannot be read (no `CONFIG_DEBUG_INFO_BTF`, or no permission). */
export class VmlinuxBtfError extends TsbpfError {
  /** The errno name from reading the file (`ENOENT`, `EACCES`, ...), if any. */
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

let cached: Btf | undefined;

/**
 * Reads and decodes a kernel BTF file (uncached). Throws {@link VmlinuxBtfError}
 * when the file cannot be read, `BtfError` when it cannot be decoded.
 */
export function readKernelBtfFile(path: string): Btf {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new VmlinuxBtfError(`cannot read the kernel's BTF at ${path} (${code ?? (e as Error).message}): the kernel needs CONFIG_DEBUG_INFO_BTF for CO-RE`, code, { cause: e });
  }
  return decodeBtf(bytes);
}

/**
 * The running kernel's BTF, decoded on first use and cached for the process
 * (decoding takes about half a second). Throws {@link VmlinuxBtfError} when
 * the file cannot be read, `BtfError` when it cannot be decoded.
 */
export function vmlinuxBtf(): Btf {
  cached ??= readKernelBtfFile(VMLINUX_BTF_PATH);
  return cached;
}
