/**
 * A `jobctl` subcommand: one file each under lib/cli/commands/, so the folder listing is the
 * list of commands. Exit codes are the contract's: 0 fine, 2 invalid input or usage,
 * 3 rejected/expired, 4 failed, 1 anything else.
 */
/** Its name and one-line summary live in main.ts's table, so `jobctl --help` loads no command. */
export interface Command {
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
