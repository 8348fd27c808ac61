/**
 * The native addon (native/tsbpf_native.cc), typed. It holds no policy: every
 * bpf_attr is encoded in TypeScript and handed over as bytes.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A buffer whose address is written into a bpf_attr at `offset` (8-byte aligned); null writes 0. */
export type PointerPatch = [offset: number, buffer: ArrayBufferView | ArrayBuffer | null];

/** The functions the addon exports. Results are `>= 0` on success and `-errno` on failure. */
export interface NativeAddon {
  /** bpf(2) with `attr` (a Uint8Array the kernel may write back into). */
  bpf(cmd: number, attr: Uint8Array, pointers?: PointerPatch[]): number;
  /** bpf(2) on the libuv thread pool; buffers stay alive until it settles. */
  bpfAsync(cmd: number, attr: Uint8Array, pointers?: PointerPatch[]): Promise<number>;
  close(fd: number): number;
  /** setns(2); changes the calling thread only (Node's main thread). */
  setns(fd: number, nstype: number): number;
  /** if_nametoindex(3) in the calling thread's network namespace. */
  ifNameToIndex(name: string): number;
  /** mmap(2) with MAP_SHARED: an ArrayBuffer over the mapping, or -errno. */
  mmap(fd: number, length: number, writable: boolean, offset: number): ArrayBuffer | number;
  /** Detaches an ArrayBuffer from mmap(); the mapping is released when it is collected. */
  munmap(buffer: ArrayBuffer): void;
  /** sizeof(union bpf_attr) in the headers the addon was built with. */
  bpfAttrSize: number;
  /**
   * bpf(2) on an attr whose pointer members already hold addresses (from
   * `addressOf`): the hot path of map operations. Unsafe in the sense that the
   * caller must keep every buffer whose address is in `attr` alive.
   */
  bpfFast(cmd: number, attr: Uint8Array): number;
  /** The address of a buffer's first byte (moves small on-heap typed arrays off the heap, so it stays valid while the buffer lives). */
  addressOf(buffer: ArrayBufferView | ArrayBuffer): number;
  /** Registers an attr (held strongly until `unregisterAttr`) and returns its slot number for `bpfSlot`. */
  registerAttr(attr: Uint8Array): number;
  /** Releases a slot from `registerAttr`; unknown slots are ignored. */
  unregisterAttr(slot: number): void;
  /** bpf(cmd, registered attr) with `cmd | slot << 10` packed in one number: the cheapest call there is. */
  bpfSlot(cmdAndSlot: number): number;
}

function findAddon(): string {
  // lib/kernel/native.ts (tests) or dist/lib/kernel/native.js (built): walk up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'build', 'Release', 'tsbpf_native.node');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('tsbpf native addon not found: run `npm ci` (or `npx node-gyp rebuild`) in the package');
}

let addon: NativeAddon | undefined;

/** The loaded addon (loaded on first use, so pure layers never need it). */
export function native(): NativeAddon {
  addon ??= createRequire(import.meta.url)(findAddon()) as NativeAddon;
  return addon;
}
