/**
 * `jobctl sandbox`: the sandbox provider alone — the COS, OSS and S3 job-control APIs on one local
 * port, seeded with the example jobs — for trying `jobctl apply`, `describe` and `list`, or another
 * client, without a cloud account. The only command that prints credentials: the sandbox's own,
 * which open nothing else.
 */
import { sandboxEnvLines } from '../../sandbox/main';
import { DEFAULT_SEED_FILE } from '../../sandbox/seed';
import { type FaultOptions, type SandboxOptions, startSandbox } from '../../sandbox/server';
import { type Command, type Io, parseOptions, UsageError, writeLine } from '../command';
import { intOption } from '../flags';

const HELP = `
usage: jobctl sandbox [--port N] [--host 127.0.0.1] [--data-dir DIR] [--seed FILE]
                      [--pace-ms N] [--latency-ms N] [--fault-rate X] [--fault-seed N]

Runs the sandbox provider: one HTTP server speaking the COS, OSS and S3 batch-job control APIs,
seeded with the example jobs (COS account 100000000001 / appId 1250000000 / ap-guangzhou, OSS
cn-hangzhou, S3 account 123456789012 / us-east-1). Once listening it prints KEY=value lines
(COS_ENDPOINT, OSS_ENDPOINT, AWS_ENDPOINT_URL_S3_CONTROL and the sandbox's own credentials) to
stdout, ready to export in another terminal:

  jobctl sandbox > sandbox.env &   then   set -a; . ./sandbox.env; set +a

It runs until Ctrl-C.

options:
  --port N          port to listen on (default 0: any free port)
  --host ADDR       address to listen on (default 127.0.0.1; anything else exposes the
                    sandbox's well-known keys to the network)
  --data-dir DIR    keep the jobs in DIR across restarts, even a kill -9 (every change is on
                    disk before its answer); one sandbox per DIR
  --seed FILE       the jobs to start with (default events/sandbox-jobs.json); ignored when
                    --data-dir already holds state
  --pace-ms N       one lifecycle step (e.g. Ready → Active) per N ms; 0 freezes jobs
                    (default 10000)
  --latency-ms N    added to every answer (default 0)
  --fault-rate X    fraction 0–1 of requests answered with a transient error, spread evenly over
                    503 SlowDown, 500 InternalError and 429 throttling (default 0)
  --fault-seed N    seed of the fault sequence, so a run repeats (default 0)

exit codes: 0 stopped by Ctrl-C, 2 bad options, 1 could not start (e.g. the port is taken)
`;

export const command: Command = {
  name: 'sandbox',
  summary: 'run the sandbox provider alone',
  help: HELP,
  run,
};

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    seed: { type: 'string' },
    'pace-ms': { type: 'string' },
    'latency-ms': { type: 'string' },
    'fault-rate': { type: 'string' },
    'fault-seed': { type: 'string' },
  });
  const port = intOption('port', values.port, 0, 0, 65_535);
  const paceMs = intOption('pace-ms', values['pace-ms'], 10_000, 0, 86_400_000);
  const latencyMs = intOption('latency-ms', values['latency-ms'], 0, 0, 600_000);
  const faultSeed = intOption('fault-seed', values['fault-seed'], 0, 0, 2 ** 32 - 1);
  const rate = values['fault-rate'] === undefined ? 0 : Number(values['fault-rate']);
  if (!(rate >= 0 && rate <= 1)) throw new UsageError('--fault-rate must be a number from 0 to 1');
  const host = values.host ?? '127.0.0.1';

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
    if (!/^(127\.|::1$|localhost$)/.test(host))
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
