/**
 * Errors from the kernel: `BpfError` for a failed bpf(2) command, with the
 * errno name and a hint at the likely cause.
 */
import { constants } from 'node:os';
import { TsbpfError } from '../errors.js';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}
// Kernel-internal codes that leak to userspace from bpf(2).
errnoNames.set(524, 'ENOTSUPP');

/** The symbolic name of an errno value (`ENOENT`), or `E<number>` when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** A likely cause for an errno from a bpf(2) command, for error messages. */
export function errnoHint(command: string, errno: number): string | undefined {
  switch (errnoName(errno)) {
    case 'EPERM':
      return 'needs root, or CAP_BPF (plus CAP_NET_ADMIN or CAP_PERFMON for some program types)';
    case 'EACCES':
      return command === 'BPF_PROG_LOAD'
        ? 'the verifier rejected the program'
        : 'permission denied (read-only or frozen map, or a file mode on the pin)';
    case 'E2BIG':
      return 'a size is too big (attr, key, value, entries or program length), or the kernel does not know a non-zero attr field';
    case 'ENOSPC':
      return command === 'BPF_PROG_LOAD' ? 'the verifier log buffer is too small' : 'the map is full';
    case 'ENOENT':
      return command.startsWith('BPF_MAP_') ? 'no such key' : 'no such object or path';
    case 'EEXIST':
      if (command.startsWith('BPF_MAP_')) return 'the key already exists (BPF_NOEXIST)';
      if (command === 'BPF_OBJ_PIN') return 'the pin path is taken';
      return 'something is already attached there (another program or link, perhaps in another mode)';
    case 'EBADF':
      return 'the file descriptor is not open or is not a BPF object of the right kind';
    case 'EINVAL':
      return einvalHint(command);
    case 'ENOTSUPP':
    case 'EOPNOTSUPP':
      return 'the kernel does not support this here (program type, map type or attach point)';
    case 'EBUSY':
      return 'something is already attached there';
    case 'ENOMEM':
      return 'the kernel could not allocate memory (memory cgroup limit?)';
    default:
      return undefined;
  }
}

function einvalHint(command: string): string {
  switch (command) {
    case 'BPF_MAP_CREATE':
      return 'invalid map type, key or value size, max_entries or flags for this map type';
    case 'BPF_PROG_LOAD':
      return 'invalid program type, expected attach type, flags or instructions';
    case 'BPF_MAP_UPDATE_ELEM':
    case 'BPF_MAP_LOOKUP_ELEM':
    case 'BPF_MAP_DELETE_ELEM':
      return 'invalid flags or key for this map type';
    case 'BPF_PROG_TEST_RUN':
      return 'this program type cannot be test-run this way, or the data or context size is wrong';
    case 'BPF_LINK_CREATE':
    case 'BPF_PROG_ATTACH':
      return 'the program type does not match the attach type or target';
    default:
      return 'an invalid argument';
  }
}

/** A bpf(2) command that failed. */
export class BpfError extends TsbpfError {
  /** The command's kernel name, e.g. `BPF_MAP_CREATE`. */
  readonly command: string;
  /** The errno value (positive). */
  readonly errno: number;
  /** The errno's name, e.g. `EPERM`. */
  readonly code: string;
  /** The likely cause, when one is known. */
  readonly hint: string | undefined;

  constructor(command: string, errno: number, detail?: string) {
    const code = errnoName(errno);
    const hint = errnoHint(command, errno);
    const what = detail ? `${command} (${detail})` : command;
    super(`${what}: ${code}${hint ? `: ${hint}` : ''}`);
    this.command = command;
    this.errno = errno;
    this.code = code;
    this.hint = hint;
  }
}

/** Using an object after `close()`. */
export class ClosedError extends TsbpfError {
  constructor(what: string) {
    super(`${what} is closed`);
  }
}
