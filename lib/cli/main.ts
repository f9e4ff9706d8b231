/**
 * `jobctl`: the command line. Each subcommand lives in lib/cli/commands/<name>.ts and is loaded
 * only when called, so `jobctl send` does not pay for the sandbox or the schedule parser.
 */
import { type Command, type Io, UsageError } from './command';

const COMMANDS: Record<string, () => Promise<{ command: Command }>> = {
  run: () => import('./commands/run'),
  apply: () => import('./commands/apply'),
  send: () => import('./commands/send'),
  results: () => import('./commands/results'),
  describe: () => import('./commands/describe'),
  list: () => import('./commands/list'),
  schedules: () => import('./commands/schedules'),
  redrive: () => import('./commands/redrive'),
  sandbox: () => import('./commands/sandbox'),
  plan: () => import('./commands/plan'),
  reconcile: () => import('./commands/reconcile'),
};

const SUMMARY: Record<string, string> = {
  run: 'the controller on one machine: queue consumer, schedules, sandbox (npm start)',
  apply: 'execute transition messages directly, print one outcome per line',
  send: 'put transition messages on the requests queue',
  results: 'read outcomes from the results queue',
  describe: 'show one job',
  list: 'list jobs (status filter, description prefix)',
  schedules: 'list the schedules in serverless.yml with their next fire times',
  redrive: 'move dead-lettered messages back to the requests queue',
  sandbox: 'run the sandbox provider alone',
  plan: 'what the reconciler would do now (or --at), and why (read-only)',
  reconcile: 'reconcile policies.yml now, through the requests queue',
};

export const usage = () =>
  [
    'usage: jobctl <command> [options]      (jobctl <command> --help for more)',
    '',
    ...Object.entries(SUMMARY).map(([n, s]) => `  ${n.padEnd(10)} ${s}`),
    '',
    'Configuration comes from the environment: see README.md § Configuration.',
  ].join('\n');

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.stderr.write(`jobctl: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 2;
  }
  const { command } = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.help.trim()}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`jobctl ${name}: ${e.message}\n(jobctl ${name} --help for usage)\n`);
      return 2;
    }
    io.stderr.write(`jobctl ${name}: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  } finally {
    const { closeIdleConnections } = await import('../providers/http');
    closeIdleConnections();
  }
}

function processIo(): Io {
  let interrupted: Promise<void> | undefined;
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    // Registered only when a long-running command asks, so Ctrl-C still ends the short ones at once.
    get interrupted() {
      interrupted ??= new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      return interrupted;
    },
  };
}
