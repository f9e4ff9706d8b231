/**
 * `jobctl`: the command line. Each subcommand lives in lib/cli/commands/<name>.ts and is loaded
 * only when called, so `jobctl send` does not pay for the sandbox or the schedule parser.
 */

import { didYouMean } from '../core/suggest';
import { closeIdleConnections } from '../providers/http';
import { type Command, type Io, UsageError } from './command';
import { connectionRefused, isBrokenPipe } from './errors';

/** The one list of commands: name → summary (for `jobctl --help`) and the module that runs it. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  run: {
    summary: 'the controller on one machine: queue consumer, schedules, sandbox (npm start)',
    load: () => import('./commands/run'),
  },
  apply: {
    summary: 'execute transition messages directly, print one outcome per line',
    load: () => import('./commands/apply'),
  },
  send: { summary: 'put transition messages on the requests queue', load: () => import('./commands/send') },
  results: { summary: 'read outcomes from the results queue', load: () => import('./commands/results') },
  describe: { summary: 'show one job', load: () => import('./commands/describe') },
  list: { summary: 'list jobs (status filter, description prefix)', load: () => import('./commands/list') },
  schedules: {
    summary: 'list the schedules in serverless.yml with their next fire times',
    load: () => import('./commands/schedules'),
  },
  redrive: {
    summary: 'move dead-lettered messages back to the requests queue',
    load: () => import('./commands/redrive'),
  },
  sandbox: { summary: 'run the sandbox provider alone', load: () => import('./commands/sandbox') },
  history: { summary: 'the job ledger, newest first', load: () => import('./commands/history') },
  plan: {
    summary: 'what the reconciler would do now (or --at), and why (read-only)',
    load: () => import('./commands/plan'),
  },
  reconcile: {
    summary: 'reconcile policies.yml now, through the requests queue',
    load: () => import('./commands/reconcile'),
  },
};

export const usage = () =>
  [
    'usage: jobctl <command> [options]      (jobctl <command> --help for more)',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
    '',
    'Configuration comes from the environment: see README.md § Configuration.',
  ].join('\n');

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    const near = didYouMean(name, Object.keys(COMMANDS));
    io.stderr.write(
      `jobctl: unknown command ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}\n\n${usage()}\n`,
    );
    return 2;
  }
  const { command } = await entry.load();
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
    // The reader went away (`jobctl list | head -1`): nothing left to say, and no one to say it to.
    if (isBrokenPipe(e)) return 0;
    const refused = connectionRefused(e);
    if (refused) {
      io.stderr.write(`jobctl ${name}: ${refused}\n`);
      return 1;
    }
    io.stderr.write(`jobctl ${name}: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  } finally {
    // Imported up front: on Ctrl-C the signal also reaches tsx's compiler service, so a module
    // first loaded now could not be compiled any more.
    closeIdleConnections();
  }
}

/**
 * The process's streams. A closed pipe on stdout (EPIPE) ends the process quietly with status 0,
 * as `head` expects of the commands it reads from, instead of an unhandled 'error' stack trace.
 */
function processIo(): Io {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
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
