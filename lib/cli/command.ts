/**
 * A `jobctl` subcommand: one file each under lib/cli/commands/, so the folder listing is the
 * list of commands. Exit codes are the contract's: 0 fine, 2 invalid input or usage,
 * 3 rejected/expired, 4 failed, 1 anything else.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface Command {
  name: string;
  summary: string;
  /** Full help text, printed by `jobctl <name> --help`. */
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

/** Where a command reads and writes: the process's streams, or a test's. */
export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Resolves on SIGINT/SIGTERM (long-running commands stop cleanly). */
  interrupted: Promise<void>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** node:util parseArgs, with its errors turned into UsageError (exit 2) and `--help` always known. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({
      args: argv,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Read all of a file, or standard input for `-`/absent. */
export async function readInput(path: string | undefined, io: Io): Promise<string> {
  if (path && path !== '-') {
    const { readFile } = await import('node:fs/promises');
    return readFile(path, 'utf8');
  }
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export const writeLine = (s: NodeJS.WritableStream, line: string) => s.write(`${line}\n`);
