/**
 * `jobctl run` as a child process, the way a user starts it: resolves with its KEY=value lines
 * once it prints JOBCTL_READY=1. The caller's own endpoints and queue settings are removed from
 * its environment, so a developer's exported settings never point a test at another stack.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * `jobctl run` keeping nothing and on ports the OS picks: parallel tests would otherwise collide on
 * the fixed default ports and the shared `.jobctl/data`.
 */
export const ISOLATED_RUN = [
  '--ephemeral',
  '--queue-port',
  '0',
  '--sandbox-port',
  '0',
  '--dynamodb-port',
  '0',
] as const;

/** A port free a moment ago (bound, then released): for a dead endpoint, or one to reuse across a restart. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface RunChild {
  child: ChildProcess;
  printed: Record<string, string>;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
}

const CALLER_SETTINGS = /^(REQUESTS_|RESULTS_|COS_|OSS_|TENCENTCLOUD_|ALIBABA_|AWS_ENDPOINT|JOBCTL_TABLE)/;

export function startJobctlRun(args: string[]): Promise<RunChild> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (CALLER_SETTINGS.test(k)) delete env[k];
  const child = spawn(process.execPath, ['bin/jobctl.mjs', 'run', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const printed: Record<string, string> = {};
  let buf = '';
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`jobctl run exited ${code} before ready: ${stderr}`)));
    child.stdout!.on('data', (d) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (m) printed[m[1]!] = m[2]!;
        if (line === 'JOBCTL_READY=1') resolve({ child, printed, stderr: () => stderr });
      }
    });
  });
}
