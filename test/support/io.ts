/**
 * Running `jobctl` commands in-process for tests: `main(argv, io)` with PassThrough streams, an
 * environment object (never process.env) and an interrupt the test fires itself.
 */
import { PassThrough } from 'node:stream';
import type { Io } from '../../lib/cli/command';
import { main } from '../../lib/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON lines. */
  json<T = Record<string, unknown>>(): T[];
}

export interface TestIo extends Io {
  stdout: PassThrough & { isTTY?: boolean };
  stderr: PassThrough & { isTTY?: boolean };
  interrupt(): void;
  out(): string;
  err(): string;
}

export function testIo(o: { env?: NodeJS.ProcessEnv; stdin?: string; tty?: boolean } = {}): TestIo {
  const stdin = new PassThrough();
  stdin.end(o.stdin ?? '');
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean };
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (o.tty) {
    stdout.isTTY = true;
    stderr.isTTY = true;
  }
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on('data', (c: Buffer) => chunks.out.push(c));
  stderr.on('data', (c: Buffer) => chunks.err.push(c));
  let interrupt!: () => void;
  const interrupted = new Promise<void>((resolve) => {
    interrupt = resolve;
  });
  return {
    stdin,
    stdout,
    stderr,
    env: o.env ?? {},
    interrupted,
    interrupt,
    out: () => Buffer.concat(chunks.out).toString('utf8'),
    err: () => Buffer.concat(chunks.err).toString('utf8'),
  };
}

export async function cli(
  argv: string[],
  o: { env?: NodeJS.ProcessEnv; stdin?: string; tty?: boolean } = {},
): Promise<CliRun> {
  const io = testIo(o);
  const code = await main(argv, io);
  const stdout = io.out();
  return {
    code,
    stdout,
    stderr: io.err(),
    json: <T>() =>
      stdout
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as T),
  };
}

/** Resolves once `stream` has carried text matching `pattern` (event-driven, no timers). */
export function waitFor(stream: PassThrough, read: () => string, pattern: RegExp): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      const text = read();
      if (pattern.test(text)) {
        stream.off('data', check);
        resolve(text);
      }
    };
    stream.on('data', check);
    check();
  });
}

/** `--provider … --region … [--account …] [--app-id …]` for a target, as a person types them. */
export function targetFlags(t: {
  provider: string;
  region: string;
  account?: string;
  appId?: string;
}): string[] {
  const flags = ['--provider', t.provider, '--region', t.region];
  if (t.account !== undefined) flags.push('--account', t.account);
  if (t.appId !== undefined) flags.push('--app-id', t.appId);
  return flags;
}
