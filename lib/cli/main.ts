#!/usr/bin/env node
/**
 * The `tsbpf` command. Each subcommand lives in its own file next to this one;
 * the contract (arguments, `--json` shapes, exit codes) is in DESIGN.md.
 */
import { fileURLToPath } from 'node:url';
import { realpathSync } from 'node:fs';
import { type Command, type CommandIO, UsageError } from './command.js';
import { benchCommand } from './bench.js';
import { loadCommand } from './load.js';
import { disasmCommand } from './disasm.js';
import { asmCommand } from './asm.js';
import { verifyCommand } from './verify.js';

/** Every subcommand, in the order `--help` lists them. */
export const commands: Command[] = [disasmCommand, asmCommand, verifyCommand, loadCommand, benchCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'tsbpf: a TypeScript toolchain for eBPF',
    '',
    'usage: tsbpf <command> [options] FILE...',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `tsbpf <command> --help` for a command\'s options.',
  ].join('\n');
}

/** Runs the CLI with argv (without `node` and the script) and returns the exit status. */
export async function main(argv: string[], io: CommandIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`tsbpf: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`tsbpf ${name}: ${e.message}\n${command.usage}\n`);
      return 2;
    }
    io.err(`tsbpf ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

const defaultIO: CommandIO = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
