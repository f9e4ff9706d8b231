/**
 * Issue 13 (the first hour) and issue 12.1: the messages a new user meets — unknown options, a
 * negative priority, a host that only looks like loopback, `apply --json`, an empty results
 * queue, settings left over from a stopped `jobctl run` — and `jobctl run` never printing the
 * caller's own AWS keys.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopback } from '../../lib/cli/commands/sandbox';
import { main } from '../../lib/cli/main';
import { didYouMean, unknownFieldMessage } from '../../lib/core/suggest';
import { createSqsClient } from '../../lib/lambda/sqs';
import { createQueueSet, type EmbeddedQueue, startEmbeddedQueue } from '../../lib/local/queue/embedded';
import { parseQueueConsumer } from '../../lib/local/serverless-yml';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { cli, targetFlags, testIo, waitFor } from '../support/io';
import { freePort, ISOLATED_RUN } from '../support/run-child';

const COS = targetFlags(EXAMPLE_TARGETS.cos);

describe('unknown options', () => {
  it("are named in jobctl's words, with the command's valid options and a near miss", async () => {
    const r = await cli(['list', ...COS, '--staus', 'Suspended']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option --staus (did you mean --status?)');
    expect(r.stderr).toContain(
      'valid options: --provider, --region, --account, --app-id, --status, --prefix',
    );
    // Node's own text quotes the option unevenly and names nothing else.
    expect(r.stderr).not.toMatch(/Unknown option '/);
  });

  it('offer no guess when nothing is near', async () => {
    const r = await cli(['results', '--zzzzzz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option --zzzzzz;');
    expect(r.stderr).not.toContain('did you mean');
  });

  it('an unknown command gets a near miss too', async () => {
    const r = await cli(['resutls']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('did you mean results?');
  });
});

describe('didYouMean (options and message fields)', () => {
  it.each([
    ['--staus', ['--status', '--prefix'], '--status'],
    ['jobid', ['jobId', 'appId'], 'jobId'],
    ['app_id', ['appId', 'jobId'], 'appId'],
    ['requestedJobStaus', ['requestedJobStatus', 'statusUpdateReason'], 'requestedJobStatus'],
    ['--mix', ['--max'], '--max'],
    ['--color', ['--max', '--json'], undefined],
  ])('%s → %s', (word, known, expected) => {
    expect(didYouMean(word, known)).toBe(expected);
  });
});

describe('unknownFieldMessage (for the message validator)', () => {
  it('names the field and the near one', () => {
    expect(unknownFieldMessage('jobid', ['jobId', 'appId', 'select'])).toBe(
      'unknown field "jobid" (did you mean "jobId"?)',
    );
    expect(unknownFieldMessage('colour', ['jobId', 'appId'])).toBe('unknown field "colour"');
  });
});

describe('numbers', () => {
  it('--priority -1 meets the range rule, not "argument is ambiguous"', async () => {
    const r = await cli(['send', ...COS, '--job', 'j-1', '--priority', '-1', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--priority: must be an integer from 0 to 2147483647');
    expect(r.stderr).not.toContain('ambiguous');
  });

  it("a command's own integer option states its range", async () => {
    const r = await cli(['schedules', '--count', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--count must be an integer from 1 to 100, not 0');
  });
});

describe('jobctl sandbox --host', () => {
  it('refuses a name that merely begins with 127.', async () => {
    const r = await cli(['sandbox', '--host', '127.0.0.1.nip.example', '--pace-ms', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a name, not the loopback address it looks like');
  });

  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['localhost', true],
    ['127.evil.example', false],
    ['0.0.0.0', false],
    ['10.0.0.1', false],
  ])('isLoopback(%s) = %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('jobctl apply --json', () => {
  it('is accepted (outcomes are JSON lines anyway)', async () => {
    const r = await cli(['apply', '--json', '-'], { stdin: '{"provider":"cos","jobid":"x"}\n' });
    expect(r.code).toBe(2);
    const [o] = r.json<{ outcome: string }>();
    expect(o?.outcome).toBe('invalid');
  });
});

describe('serverless.yml is where jobctl run reads its event source mapping', () => {
  const text = readFileSync('serverless.yml', 'utf8');

  it('reads the deployed settings', () => {
    expect(parseQueueConsumer(text)).toEqual({
      function: 'transitions',
      batchSize: 10,
      batchingWindowMs: 5000,
      maxConcurrency: 5,
      functionTimeoutS: 60,
      visibilityTimeoutS: 420,
      maxReceiveCount: 5,
    });
  });

  it('follows a change to the file (no copy in the CLI)', () => {
    const changed = text
      .replace('batchSize: 10', 'batchSize: 7')
      .replace('maxReceiveCount: 5 #', 'maxReceiveCount: 9 #')
      .replace('transitionsTimeout: 60', 'transitionsTimeout: 30');
    expect(parseQueueConsumer(changed)).toMatchObject({
      batchSize: 7,
      maxReceiveCount: 9,
      functionTimeoutS: 30,
    });
  });
});

describe('jobctl results on an empty queue', () => {
  let queue: EmbeddedQueue;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    queue = await startEmbeddedQueue();
    env = {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: queue.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const set = await createQueueSet(createSqsClient(env), { prefix: 'first-hour' });
    env.RESULTS_QUEUE_URL = set.resultsQueueUrl;
    env.REQUESTS_QUEUE_URL = set.requestsQueueUrl;
  });
  afterAll(() => queue.stop());

  it('says so on a terminal', async () => {
    const r = await cli(['results'], { env, tty: true });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('no results waiting');
  });

  it('prints nothing when piped', async () => {
    const r = await cli(['results'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });

  it('prints queue URLs a plain SQS client can use without an endpoint override', () => {
    expect(env.RESULTS_QUEUE_URL).toBe(`${queue.endpoint}/000000000000/first-hour-results`);
  });
});

describe('settings left over from a stopped jobctl run', () => {
  let env: NodeJS.ProcessEnv;
  let port: number;

  beforeAll(async () => {
    port = await freePort(); // nothing listens on it
    const base = `http://127.0.0.1:${port}`;
    env = {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: base,
      REQUESTS_QUEUE_URL: `${base}/000000000000/jobctl-local-requests`,
      RESULTS_QUEUE_URL: `${base}/000000000000/jobctl-local-results`,
      AWS_ACCESS_KEY_ID: 'jobctl-local',
      AWS_SECRET_ACCESS_KEY: 'jobctl-local-not-a-secret',
      COS_ENDPOINT: base,
      TENCENTCLOUD_SECRETID: 'id',
      TENCENTCLOUD_SECRETKEY: 'key',
      JOBCTL_MAX_ATTEMPTS: '1',
    };
  });

  const fix = /nothing is listening at 127\.0\.0\.1:(\d+) \(connection refused\): is `jobctl run`.*re-export/;

  it.each([
    ['results', ['results']],
    ['send', ['send', ...COS, '--job', 'j-1', '--status', 'Ready']],
    ['list', ['list', ...COS]],
    ['describe', ['describe', ...COS, '--job', 'j-1']],
  ])('%s names the endpoint and the fix', async (_, argv) => {
    const r = await cli(argv, { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(fix);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('jobctl run refuses to announce ready, naming the variable', async () => {
    const r = await cli(['run', '--no-schedules', ...ISOLATED_RUN], {
      env,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('JOBCTL_READY');
    expect(r.stderr).toContain(`AWS_ENDPOINT_URL_SQS=http://127.0.0.1:${port}: nothing is listening there`);
  });
});

describe('jobctl run and the caller’s AWS keys (issue 12.1)', () => {
  const MARKER = 'caller-secret-MARKER-9f3b2c';
  const dir = mkdtempSync(join(tmpdir(), 'jobctl-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['with the sandbox', []],
    ['without the sandbox', ['--no-sandbox']],
  ])(
    'never prints them (%s), on stdout or in --export-file',
    async (_, extra) => {
      const file = join(dir, `env-${extra.length}`);
      const io = testIo({
        env: {
          AWS_ACCESS_KEY_ID: 'AKIACALLERKEYID00001',
          AWS_SECRET_ACCESS_KEY: MARKER,
          AWS_REGION: 'us-east-1',
        },
      });
      const running = main(['run', '--no-schedules', ...ISOLATED_RUN, '--export-file', file, ...extra], io);
      await waitFor(io.stdout, io.out, /JOBCTL_READY=1/);
      io.interrupt();
      expect(await running).toBe(0);
      const printed = io.out() + readFileSync(file, 'utf8');
      expect(printed).not.toContain(MARKER);
      expect(printed).not.toContain('AKIACALLERKEYID00001');
      expect(io.err()).not.toContain(MARKER);
      // --ephemeral: on stop it says what it discarded, and how to keep it.
      expect(io.err()).toMatch(/discarded \d+ queued request\(s\), \d+ result\(s\).*kept in \.jobctl\/data/);
      if (extra.length === 0) expect(printed).toMatch(/AWS_SECRET_ACCESS_KEY='?sandbox/);
      else expect(printed).not.toContain('AWS_SECRET_ACCESS_KEY');
    },
    30_000,
  );
});

describe('a closed pipe', () => {
  it('`jobctl apply - | head -1` ends quietly (no EPIPE stack trace)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobctl-epipe-'));
    try {
      const input = join(dir, 'in.jsonl');
      // Enough outcomes to overflow the pipe after head has gone.
      writeFileSync(input, `${'{"provider":"cos","bogus":1}\n'.repeat(20_000)}`);
      const r = spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; node bin/jobctl.mjs apply - < '${input}' | head -1; echo "status \${PIPESTATUS[0]}" >&2`,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).not.toContain('EPIPE');
      expect(r.stderr).not.toMatch(/Error|at .*\.ts:\d+/);
      expect(r.stderr).toContain('status 0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);
});

describe('jobctl run on a terminal', () => {
  it('shows the DLQ depth and fire times as `jobctl schedules` does; log lines go above the view', async () => {
    const io = testIo({ tty: true, env: {} });
    const running = main(['run', '--all-schedules', ...ISOLATED_RUN], io);
    await waitFor(io.stderr, io.err, /dead-lettered 0/);
    await waitFor(io.stderr, io.err, /next {3}\S+ \d{4}-\d\d-\d\d \d\d:\d\d \+08:00/);
    io.interrupt();
    expect(await running).toBe(0);
    const err = io.err();
    expect(err).not.toMatch(/\d\d:\d\dZ/);
    // The reconciler's line: serverless.yml's 5-minute period, its first tick in local wall time.
    expect(err).toMatch(/tick {3}every 300 s, first at \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d · verdicts 0/);
    // The stop lines are written after the view is cleared, each on a line of its own.
    expect(err).toMatch(/\njobctl run: stopping: finishing in-flight batches…\n/);
  }, 30_000);

  it('names the flag when its fixed port is taken', async () => {
    const taken = await startEmbeddedQueue();
    try {
      const r = await cli([
        'run',
        '--ephemeral',
        '--no-schedules',
        '--queue-port',
        String(taken.port),
        '--sandbox-port',
        '0',
        '--dynamodb-port',
        '0',
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`port ${taken.port} for the embedded queue is taken`);
      expect(r.stderr).toContain('--queue-port N');
      expect(r.stdout).not.toContain('JOBCTL_READY');
    } finally {
      await taken.stop();
    }
  }, 30_000);
});
