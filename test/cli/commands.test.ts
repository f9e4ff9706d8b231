/**
 * The command line as a whole: `--help` of every command, `jobctl schedules`, `jobctl sandbox`,
 * and how input is split into transitions.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { splitTransitions } from '../../lib/cli/input';
import { main } from '../../lib/cli/main';
import type { ScheduleRow } from '../../lib/local/serverless-yml';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { cli, targetFlags, testIo, waitFor } from '../support/io';

const SERVERLESS_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));

/** Every flag each command takes: its --help must mention them all. */
const FLAGS: Record<string, string[]> = {
  apply: [
    '--concurrency',
    'JOBCTL_ALLOWED_TARGETS',
    'COS_ENDPOINT',
    'OSS_ENDPOINT',
    'AWS_ENDPOINT_URL_S3_CONTROL',
  ],
  send: [
    '--provider',
    '--region',
    '--account',
    '--app-id',
    '--job',
    '--status',
    '--reason',
    '--priority',
    '--select-status',
    '--prefix',
    '--older-than',
    '--max',
    '--id',
    '--not-after',
    '--json',
    '--dry-run',
    'REQUESTS_QUEUE_URL',
    'AWS_ENDPOINT_URL_SQS',
  ],
  results: [
    '--follow',
    '--outcome',
    '--peek',
    '--json',
    '--max',
    'RESULTS_QUEUE_URL',
    'AWS_ENDPOINT_URL_SQS',
  ],
  describe: ['--provider', '--region', '--account', '--app-id', '--job', '--json', 'COS_ENDPOINT'],
  list: [
    '--provider',
    '--region',
    '--account',
    '--app-id',
    '--status',
    '--prefix',
    '--max',
    '--json',
    'OSS_ENDPOINT',
  ],
  schedules: ['--file', '--stage', '--from', '--count', '--json'],
  redrive: ['--max', '--dlq-url', '--json', 'REQUESTS_QUEUE_URL'],
  sandbox: [
    '--port',
    '--host',
    '--data-dir',
    '--seed',
    '--pace-ms',
    '--latency-ms',
    '--fault-rate',
    '--fault-seed',
  ],
};

describe('--help', () => {
  it.each(Object.entries(FLAGS))(
    'jobctl %s --help exits 0 and documents every flag, the environment and exit codes',
    async (name, flags) => {
      const r = await cli([name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: jobctl ${name}`));
      for (const f of flags) expect(r.stdout).toContain(f);
      expect(r.stdout).toContain('exit codes');
    },
  );

  it.each(Object.keys(FLAGS))(
    'jobctl %s refuses an unknown flag (exit 2) and points at --help',
    async (name) => {
      const r = await cli([name, '--no-such-flag']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`(jobctl ${name} --help for usage)`);
    },
  );
});

describe('jobctl schedules', () => {
  it('--json prints one object per schedule with its next fire times, from the given instant', async () => {
    const r = await cli([
      'schedules',
      '--file',
      SERVERLESS_YML,
      '--from',
      '2026-11-24T00:00:00Z',
      '--count',
      '2',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const rows = r.json<ScheduleRow>();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual([
        'description',
        'enabled',
        'expression',
        'function',
        'name',
        'next',
        'timezone',
      ]);
      expect(typeof row.enabled).toBe('boolean');
      expect(row.next.length).toBeLessThanOrEqual(2);
      for (const t of row.next) expect(Date.parse(t)).toBeGreaterThan(Date.parse('2026-11-24T00:00:00Z'));
    }
    const nightly = rows.find((x) => x.name.endsWith('-nightly-confirm'))!;
    expect(nightly).toMatchObject({
      name: 'jobctl-dev-nightly-confirm',
      function: 'schedule',
      expression: 'cron(0 1 * * ? *)',
      timezone: 'Asia/Shanghai',
      enabled: false,
      // 01:00 in Shanghai is 17:00 UTC the day before
      next: ['2026-11-24T17:00:00.000Z', '2026-11-25T17:00:00.000Z'],
    });
  });

  it('resolves variables for --stage', async () => {
    const r = await cli(['schedules', '--file', SERVERLESS_YML, '--stage', 'prod', '--json']);
    expect(r.json<{ name: string }>().some((x) => x.name === 'jobctl-prod-nightly-confirm')).toBe(true);
  });

  it('prints a table on a terminal, fire times in the schedule own time zone', async () => {
    const r = await cli(
      ['schedules', '--file', SERVERLESS_YML, '--from', '2026-11-24T00:00:00Z', '--count', '2'],
      { tty: true },
    );
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME +ENABLED +EXPRESSION +TIME ZONE +NEXT$/);
    const i = lines.findIndex((l) => l.startsWith('jobctl-dev-nightly-confirm '));
    expect(lines[i]).toMatch(/ no +cron\(0 1 \* \* \? \*\) +Asia\/Shanghai +2026-11-25 01:00 \+08:00$/);
    expect(lines[i + 1]).toMatch(/^ +2026-11-26 01:00 \+08:00$/);
  });

  it('names a schedule that would not deploy (exit 2), and refuses a bad --from', async () => {
    const dir = await mkdtemp(`${tmpdir()}/jobctl-schedules-`);
    const file = `${dir}/serverless.yml`;
    await writeFile(
      file,
      [
        'service: x',
        'functions:',
        '  f:',
        '    handler: h.h',
        '    events:',
        '      - schedule:',
        '          name: broken',
        '          rate: cron(0 25 * * ? *)',
        '',
      ].join('\n'),
    );
    const r = await cli(['schedules', '--file', file]);
    await rm(dir, { recursive: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('broken');
    const bad = await cli(['schedules', '--file', SERVERLESS_YML, '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from must be an ISO 8601 time');
  });
});

describe('jobctl sandbox', () => {
  it('prints KEY=value lines to export, serves the example jobs, and stops on interrupt', async () => {
    const io = testIo();
    const running = main(['sandbox', '--pace-ms', '0'], io);
    const text = await waitFor(io.stdout, io.out, /AWS_SECRET_ACCESS_KEY=.*\n/);
    const vars = Object.fromEntries(
      text
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(vars).sort()).toEqual(
      [
        'ALIBABA_CLOUD_ACCESS_KEY_ID',
        'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
        'AWS_ACCESS_KEY_ID',
        'AWS_ENDPOINT_URL_S3_CONTROL',
        'AWS_SECRET_ACCESS_KEY',
        'COS_ENDPOINT',
        'OSS_ENDPOINT',
        'TENCENTCLOUD_SECRETID',
        'TENCENTCLOUD_SECRETKEY',
      ].sort(),
    );
    expect(vars.COS_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // the printed lines are all another command needs
    const list = await cli(['list', ...targetFlags(EXAMPLE_TARGETS.s3), '--prefix', 'nightly-'], {
      env: { ...vars, AWS_REGION: 'us-east-1' },
    });
    expect(list.code).toBe(0);
    expect(list.json()).toHaveLength(4);
    io.interrupt();
    expect(await running).toBe(0);
    expect(io.err()).toContain('jobctl sandbox: stopped');
    // closed: the port no longer answers
    const after = await cli(['describe', ...targetFlags(EXAMPLE_TARGETS.oss), '--job', 'x'], {
      env: { ...vars, JOBCTL_MAX_ATTEMPTS: '1' },
    });
    expect(after.code).toBe(4);
  });

  it('refuses bad options (exit 2)', async () => {
    expect((await cli(['sandbox', '--fault-rate', '2'])).code).toBe(2);
    expect((await cli(['sandbox', '--port', '70000'])).code).toBe(2);
  });
});

describe('input: one object, an array, or JSON Lines', () => {
  it.each([
    ['{"a":1}', [{ where: 'line 1', body: '{"a":1}' }]],
    ['\n\n  {\n "a": 1\n}\n', [{ where: 'line 3', body: '{\n "a": 1\n}' }]],
    [
      '[{"a":1}, 2]',
      [
        { where: 'item 1', body: '{"a":1}' },
        { where: 'item 2', body: '2' },
      ],
    ],
    [
      '{"a":1}\n\n{"b":2}\nnope\n',
      [
        { where: 'line 1', body: '{"a":1}' },
        { where: 'line 3', body: '{"b":2}' },
        { where: 'line 4', body: 'nope' },
      ],
    ],
    ['[{"a":1},', [{ where: 'line 1', body: '[{"a":1},' }]],
    ['  \n ', []],
  ])('%j', (text, items) => {
    expect(splitTransitions(text)).toEqual(items);
  });
});
