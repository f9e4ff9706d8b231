// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${…} here is serverless.yml variable syntax, on purpose
/**
 * The schedules serverless.yml ships, and what makes a declared schedule unusable. The shipped
 * file is loaded for real: a broken example schedule fails here before it fails a deploy.
 */

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EXAMPLE_TARGETS } from '../providers/examples';
import {
  type DeclaredSchedule,
  describeSchedules,
  eventAt,
  loadSchedules,
  parseReconcileSchedule,
  parseScheduleInput,
  parseSchedules,
  ScheduleConfigError,
  transitionsOf,
} from './serverless-yml';

const COS = `{ provider: cos, region: ap-guangzhou, account: '100000000001', appId: '1250000000', select: { statuses: [Suspended], descriptionPrefix: nightly- }, action: UpdateJobStatus, requestedJobStatus: Ready }`;

/** A minimal serverless.yml around one schedule event (indented as an event's mapping). */
const yml = (schedule: string, extra = '') => `
service: svc
provider:
  name: aws
  stage: \${opt:stage, 'dev'}
params:
  default:
    tz: Asia/Shanghai
    hour: 3
  prod:
    hour: 4
custom:
  reason: from self
${extra}
functions:
  schedule:
    handler: functions/schedule.handler
    events:
      - schedule:
${schedule
  .trim()
  .split('\n')
  .map((l) => `          ${l}`)
  .join('\n')}
`;

const base = (over: Record<string, string> = {}) => {
  const fields: Record<string, string> = {
    name: 'svc-${sls:stage}-nightly',
    method: 'scheduler',
    rate: '[cron(0 1 * * ? *)]',
    timezone: 'Asia/Shanghai',
    enabled: 'false',
    input: `{ schedule: nightly, transitions: [${COS}] }`,
    ...over,
  };
  return Object.entries(fields)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
};

describe('the shipped serverless.yml', () => {
  it('declares the three example schedules, disabled, in Asia/Shanghai', async () => {
    const schedules = await loadSchedules('serverless.yml');
    expect(
      schedules.map(({ name, function: fn, expression, timezone, enabled, method }) => ({
        name,
        fn,
        expression,
        timezone,
        enabled,
        method,
      })),
    ).toEqual([
      {
        name: 'jobctl-dev-nightly-confirm',
        fn: 'schedule',
        expression: 'cron(0 1 * * ? *)',
        timezone: 'Asia/Shanghai',
        enabled: false,
        method: 'scheduler',
      },
      {
        name: 'jobctl-dev-bulk-daytime',
        fn: 'schedule',
        expression: 'cron(0 8 * * ? *)',
        timezone: 'Asia/Shanghai',
        enabled: false,
        method: 'scheduler',
      },
      {
        name: 'jobctl-dev-bulk-night',
        fn: 'schedule',
        expression: 'cron(0 20 * * ? *)',
        timezone: 'Asia/Shanghai',
        enabled: false,
        method: 'scheduler',
      },
    ]);
  });

  it('gives each example the transitions its description promises', async () => {
    const byName = new Map((await loadSchedules('serverless.yml')).map((s) => [s.input.schedule, s]));
    const target = EXAMPLE_TARGETS.cos;
    expect(transitionsOf(byName.get('nightly-confirm') as DeclaredSchedule)).toEqual([
      {
        ...target,
        select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-', max: 1000 },
        action: 'UpdateJobStatus',
        requestedJobStatus: 'Ready',
        statusUpdateReason: 'nightly window opened',
      },
    ]);
    const bulk = (name: string) => transitionsOf(byName.get(name) as DeclaredSchedule)[0];
    expect(bulk('bulk-daytime')).toMatchObject({
      ...target,
      select: { statuses: ['Active'], descriptionPrefix: 'bulk-' },
      action: 'UpdateJobPriority',
    });
    expect(bulk('bulk-night')).toMatchObject({
      ...target,
      select: { statuses: ['Active'], descriptionPrefix: 'bulk-' },
      action: 'UpdateJobPriority',
    });
    const lower = bulk('bulk-daytime') as { priority: number };
    const raise = bulk('bulk-night') as { priority: number };
    expect(lower.priority).toBeLessThan(raise.priority);
  });

  it('names schedules after the stage', async () => {
    const names = (await loadSchedules('serverless.yml', { stage: 'prod' })).map((s) => s.name);
    expect(names).toEqual([
      'jobctl-prod-nightly-confirm',
      'jobctl-prod-bulk-daytime',
      'jobctl-prod-bulk-night',
    ]);
  });

  it('lists the next fire times (08:00 and 20:00 Asia/Shanghai are 00:00 and 12:00 UTC)', async () => {
    const rows = describeSchedules(await loadSchedules('serverless.yml'), {
      from: new Date('2026-11-23T18:00:00Z'),
      count: 2,
    });
    expect(rows.map((r) => [r.name, r.next])).toEqual([
      ['jobctl-dev-nightly-confirm', ['2026-11-24T17:00:00.000Z', '2026-11-25T17:00:00.000Z']],
      ['jobctl-dev-bulk-daytime', ['2026-11-24T00:00:00.000Z', '2026-11-25T00:00:00.000Z']],
      ['jobctl-dev-bulk-night', ['2026-11-24T12:00:00.000Z', '2026-11-25T12:00:00.000Z']],
    ]);
    expect(rows[0]).toMatchObject({
      expression: 'cron(0 1 * * ? *)',
      timezone: 'Asia/Shanghai',
      enabled: false,
      function: 'schedule',
    });
    expect(rows[0]?.description).toContain('nightly-');
  });

  it('fills EventBridge Scheduler context attributes the way AWS does', async () => {
    const [nightly] = await loadSchedules('serverless.yml');
    const event = eventAt(nightly as DeclaredSchedule, new Date('2026-11-24T17:00:00.250Z'));
    expect(event.fireTime).toBe('2026-11-24T17:00:00Z');
    expect(event.schedule).toBe('nightly-confirm');
    expect(nightly?.input.fireTime).toBe('<aws.scheduler.scheduled-time>');
  });

  it.each([
    ['events/schedule-nightly.json', 'nightly-confirm'],
    ['events/schedule-bulk-daytime.json', 'bulk-daytime'],
    ['events/schedule-bulk-night.json', 'bulk-night'],
  ])('%s is the event %s sends when it fires', async (file, name) => {
    const event = JSON.parse(await readFile(file, 'utf8'));
    expect(parseScheduleInput(event, file)).toEqual(event);
    const declared = (await loadSchedules('serverless.yml')).find((s) => s.input.schedule === name);
    expect(declared).toBeDefined();
    const fired =
      (declared &&
        describeSchedules([declared], { from: new Date('2026-11-23T16:00:00Z'), count: 1 })[0]?.next[0]) ??
      '';
    expect(eventAt(declared as DeclaredSchedule, new Date(fired))).toEqual(event);
  });

  it('reports a file that cannot be read', async () => {
    await expect(loadSchedules('does-not-exist.yml')).rejects.toThrow(/cannot read does-not-exist\.yml/);
  });
});

describe('variables and declaration forms', () => {
  it.each([
    ['stage from the default', {}, 'svc-dev-nightly'],
    ['stage from options', { stage: 'prod' }, 'svc-prod-nightly'],
  ])('${sls:stage}: %s', (_what, options, name) => {
    expect(parseSchedules(yml(base()), options)[0]?.name).toBe(name);
  });

  it.each([
    ['params.default', {}, 'cron(0 3 * * ? *)'],
    ['params.<stage> over params.default', { stage: 'prod' }, 'cron(0 4 * * ? *)'],
    ['--param over both', { stage: 'prod', params: { hour: '5' } }, 'cron(0 5 * * ? *)'],
  ])('${param:…} from %s', (_what, options, expression) => {
    const s = parseSchedules(
      yml(base({ rate: '["cron(0 ${param:hour} * * ? *)"]', timezone: '${param:tz}' })),
      options,
    );
    expect(s[0]).toMatchObject({ expression, timezone: 'Asia/Shanghai' });
  });

  it('resolves ${self:…}, fallbacks and string inputs', () => {
    const input = JSON.stringify({
      schedule: 'nightly',
      transitions: [
        {
          provider: 's3',
          region: 'us-east-1',
          account: EXAMPLE_TARGETS.s3.account,
          jobId: 'job-1',
          action: 'UpdateJobPriority',
          priority: 3,
        },
      ],
    });
    const [s] = parseSchedules(
      yml(
        base({
          description: '${self:custom.reason}',
          timezone: "${param:nope, 'Europe/London'}",
          input: `'${input}'`,
        }),
      ),
    );
    expect(s).toMatchObject({ description: 'from self', timezone: 'Europe/London' });
    expect(s?.input.transitions).toHaveLength(1);
  });

  it('reads the short form and numbers unnamed schedules like the framework', () => {
    const text = `
functions:
  tick:
    handler: x.handler
    events:
      - schedule: rate(10 minutes)
      - schedule:
          rate: [cron(0 1 * * ? *), cron(0 2 * * ? *)]
          input: { schedule: two, transitions: [${COS}] }
`;
    // The short form has no input, which the schedule function would refuse.
    expect(() => parseSchedules(text)).toThrow(/"tick-schedule-1".*input must be/);
    const fixed = text.replace('      - schedule: rate(10 minutes)\n', '');
    expect(parseSchedules(fixed).map((s) => [s.name, s.expression, s.timezone, s.enabled, s.method])).toEqual(
      [
        ['tick-schedule-1', 'cron(0 1 * * ? *)', 'UTC', true, 'eventBus'],
        ['tick-schedule-2', 'cron(0 2 * * ? *)', 'UTC', true, 'eventBus'],
      ],
    );
  });
});

describe('a schedule that would not work is refused with its name', () => {
  it.each([
    [
      'a bad cron expression',
      { rate: '[cron(0 1 * * * *)]' },
      /"svc-dev-nightly".*day-of-month\/day-of-week/,
    ],
    ['a cron with 5 fields', { rate: '[cron(0 1 * * ?)]' }, /cron needs 6 fields/],
    [
      'an unknown time zone',
      { timezone: 'Asia/Beijing' },
      /timezone: "Asia\/Beijing" is not an IANA time zone/,
    ],
    [
      'a time zone without method: scheduler',
      { method: '' },
      /timezone: a time zone name, only with method: scheduler/,
    ],
    ['enabled as a string', { enabled: "'false'" }, /enabled must be true or false, not "false"/],
    ['no input', { input: '' }, /input must be \{"schedule"/],
    [
      'input without transitions',
      { input: '{ schedule: nightly }' },
      /input\.transitions must be a non-empty list/,
    ],
    ['an empty transitions list', { input: '{ schedule: nightly, transitions: [] }' }, /non-empty list/],
    [
      'input without its schedule name',
      { input: `{ transitions: [${COS}] }` },
      /input\.schedule must name the schedule/,
    ],
    [
      'an unknown input field',
      { input: `{ schedule: nightly, transitons: [${COS}] }` },
      /input\.transitons is not a known field/,
    ],
    ['input that is not JSON', { input: "'{nope'" }, /input is not valid JSON/],
    [
      'a transition with an unknown field',
      {
        input: `{ schedule: nightly, transitions: [{ provider: cos, region: ap-guangzhou, account: '1', appId: '1', jobId: j, action: UpdateJobStatus, requestedJobStatus: Ready, priorty: 1 }] }`,
      },
      /input\.transitions\[0\]\.priorty: unknown field/,
    ],
    [
      'a transition with a bad status',
      { input: `{ schedule: nightly, transitions: [${COS.replace('Suspended', 'Sleeping')}] }` },
      /input\.transitions\[0\]\.select\.statuses\.0: must be one of/,
    ],
    [
      'a COS transition without appId',
      { input: `{ schedule: nightly, transitions: [${COS.replace(", appId: '1250000000'", '')}] }` },
      /transitions\[0\]\.appId: is required for cos/,
    ],
    ['a name the framework refuses', { name: 'nightly confirm' }, /name must be 1-64/],
    [
      'a named schedule with two rates',
      { rate: '[cron(0 1 * * ? *), cron(0 2 * * ? *)]' },
      /exactly one rate/,
    ],
    [
      'a variable without a value',
      { timezone: '${param:missing}' },
      /\$\{param:missing\} has no value and no fallback/,
    ],
    ['a variable source that needs AWS', { timezone: '${ssm:/tz}' }, /cannot resolve \$\{ssm:\/tz\} offline/],
  ])('%s', (_what, over, message) => {
    let err: unknown;
    try {
      parseSchedules(yml(base(over)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleConfigError);
    expect((err as Error).message).toMatch(message);
  });

  it('refuses two schedules with one name', () => {
    const event = base()
      .split('\n')
      .map((l) => `          ${l}`)
      .join('\n');
    const text = `functions:\n  schedule:\n    handler: h\n    events:\n      - schedule:\n${event}\n      - schedule:\n${event}\n`;
    expect(() => parseSchedules(text)).toThrow(/"svc-dev-nightly" is declared twice/);
  });

  it('refuses what is not YAML', () => {
    expect(() => parseSchedules('functions: [unclosed')).toThrow(ScheduleConfigError);
  });
});

describe('the reconcile schedule', () => {
  it('is the shipped rate(${param:reconcileRateMinutes, 5} minutes), a --param overriding it', async () => {
    const text = await readFile('serverless.yml', 'utf8');
    expect(parseReconcileSchedule(text)).toEqual({
      expression: 'rate(5 minutes)',
      periodMs: 300_000,
      enabled: true,
    });
    expect(parseReconcileSchedule(text, { params: { reconcileRateMinutes: '2' } })?.periodMs).toBe(120_000);
  });

  it('is absent without a reconcile function, and refuses a cron() (a tick needs a period)', () => {
    expect(parseReconcileSchedule('functions: {}\n')).toBeNull();
    const cron =
      'functions:\n  reconcile:\n    handler: x\n    events:\n      - schedule: cron(0 1 * * ? *)\n';
    expect(() => parseReconcileSchedule(cron)).toThrow(/needs a rate\(\)/);
    const hours = 'functions:\n  reconcile:\n    handler: x\n    events:\n      - schedule: rate(1 hour)\n';
    expect(parseReconcileSchedule(hours)?.periodMs).toBe(3_600_000);
  });
});
