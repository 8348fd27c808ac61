/** One `tsbpf` subcommand. */
export interface Command {
  /** The word after `tsbpf`. */
  name: string;
  /** One line for `tsbpf --help`. */
  summary: string;
  /** Usage text printed for `tsbpf NAME --help` and on usage errors. */
  usage: string;
  /**
   * Runs the command and resolves to its exit status: 0 success, 1 when any
   * program was rejected or any file failed, 2 for usage errors
   * (throw `UsageError` for those).
   */
  run(args: string[], io: CommandIO): Promise<number>;
}

/** Where a command writes; tests pass their own. */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
}

/** A usage error: `tsbpf` prints the message and the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Splits argv into flags (`--json`, `-o OUT`) and positional arguments. */
export function parseArgs(
  args: string[],
  spec: { flags?: string[]; options?: string[] },
): { flags: Set<string>; options: Map<string, string>; positional: string[] } {
  const flags = new Set<string>();
  const options = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a !== '-') {
      if (spec.flags?.includes(a)) flags.add(a);
      else if (spec.options?.includes(a)) {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        options.set(a, v);
      } else throw new UsageError(`unknown option ${a}`);
    } else positional.push(a);
  }
  return { flags, options, positional };
}
