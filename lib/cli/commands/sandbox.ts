/**
 * `jobctl sandbox`: the sandbox provider alone — the COS, OSS and S3 job-control APIs on one local
 * port, seeded with the example jobs — for trying `jobctl apply`, `describe` and `list`, or another
 * client, without a cloud account. The only command that prints credentials: the sandbox's own,
 * which open nothing else.
 */

import { isIP } from 'node:net';
import { sandboxEnvLines } from '../../local/sandbox/env-lines';
import { DEFAULT_SEED_FILE } from '../../local/sandbox/seed';
import { type FaultOptions, type SandboxOptions, startSandbox } from '../../local/sandbox/server';
import { EXAMPLE_TARGETS } from '../../providers/examples';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const OPTIONS = {
  port: {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 65_535,
    default: 0,
    help: 'port to listen on (default 0: any free port)',
  },
  host: {
    kind: 'string',
    arg: 'ADDR',
    default: '127.0.0.1',
    help: "address to listen on (default 127.0.0.1; anything else exposes the\nsandbox's well-known keys to the network)",
  },
  'data-dir': {
    kind: 'string',
    arg: 'DIR',
    help: 'keep the jobs in DIR across restarts, even a kill -9 (every change is on\ndisk before its answer); one sandbox per DIR',
  },
  seed: {
    kind: 'string',
    arg: 'FILE',
    help: 'the jobs to start with (default events/sandbox-jobs.json); ignored when\n--data-dir already holds state',
  },
  'pace-ms': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 86_400_000,
    default: 10_000,
    help: 'one lifecycle step (e.g. Ready → Active) per N ms; 0 freezes jobs\n(default 10000)',
  },
  'latency-ms': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 600_000,
    default: 0,
    help: 'added to every answer (default 0)',
  },
  'fault-rate': {
    kind: 'number',
    arg: 'X',
    min: 0,
    max: 1,
    default: 0,
    help: 'fraction 0–1 of requests answered with a transient error, spread evenly over\n503 SlowDown, 500 InternalError and 429 throttling (default 0)',
  },
  'fault-seed': {
    kind: 'integer',
    arg: 'N',
    min: 0,
    max: 2 ** 32 - 1,
    default: 0,
    help: 'seed of the fault sequence, so a run repeats (default 0)',
  },
} as const satisfies OptionTable;

/**
 * Loopback, judged by what the name is: an IPv4 literal in 127/8, ::1, or localhost. A name that
 * merely begins with `127.` (`127.evil.example`) resolves wherever its owner likes.
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

const { cos: COS, oss: OSS, s3: S3 } = EXAMPLE_TARGETS;

const HELP = `
usage: jobctl sandbox [--port N] [--host 127.0.0.1] [--data-dir DIR] [--seed FILE]
                      [--pace-ms N] [--latency-ms N] [--fault-rate X] [--fault-seed N]

Runs the sandbox provider: one HTTP server speaking the COS, OSS and S3 batch-job control APIs,
seeded with the example jobs (COS account ${COS.account} / appId ${COS.appId} / ${COS.region}, OSS
${OSS.region}, S3 account ${S3.account} / ${S3.region}). Once listening it prints KEY=value lines
(COS_ENDPOINT, OSS_ENDPOINT, AWS_ENDPOINT_URL_S3_CONTROL and the sandbox's own credentials) to
stdout, ready to export in another terminal:

  jobctl sandbox > sandbox.env &   then   set -a; . ./sandbox.env; set +a

It runs until Ctrl-C.

${optionsHelp(OPTIONS)}

A --host that is not loopback (127.0.0.0/8, ::1, localhost) gets a warning; a host name that is
not an IP address but begins with "127." is refused: it only looks like loopback.

exit codes: 0 stopped by Ctrl-C, 2 bad options, 1 could not start (e.g. the port is taken)
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const { port, host } = values;
  const paceMs = values['pace-ms'];
  const latencyMs = values['latency-ms'];
  const faultSeed = values['fault-seed'];
  const rate = values['fault-rate'];
  if (host.startsWith('127.') && isIP(host) === 0)
    throw new UsageError(
      `--host ${host} is a name, not the loopback address it looks like; give an IP address (127.0.0.1) or localhost`,
    );

  const faults: FaultOptions = { seed: faultSeed, latencyMs };
  if (rate > 0)
    Object.assign(faults, { slowDownRate: rate / 3, serverErrorRate: rate / 3, throttleRate: rate / 3 });
  const opts: SandboxOptions = {
    host,
    port,
    seed: values.seed ?? DEFAULT_SEED_FILE,
    pace: paceMs === 0 ? false : { stepMs: paceMs },
    faults,
  };
  if (values['data-dir'] !== undefined) opts.dataDir = values['data-dir'];

  const sb = await startSandbox(opts);
  try {
    for (const line of sandboxEnvLines(sb)) writeLine(io.stdout, line);
    if (!isLoopback(host))
      writeLine(
        io.stderr,
        `jobctl sandbox: listening on ${host}: anyone who can reach it can use the printed keys`,
      );
    writeLine(io.stderr, `jobctl sandbox: ${sb.url}, ${sb.store.count()} jobs; Ctrl-C to stop`);
    await io.interrupted;
  } finally {
    await sb.close();
  }
  writeLine(io.stderr, 'jobctl sandbox: stopped');
  return 0;
}
