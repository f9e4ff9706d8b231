/**
 * EventBridge Scheduler expressions as a table: each row an expression, a time zone, a starting
 * instant and the fire times AWS documents for it, worked out by hand from the cron reference
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html) and the
 * Scheduler's daylight-saving rules (skipped on spring-forward, once on fall-back).
 *
 * Calendar anchors used: 2024-01-01 is a Monday, 2022-10-01 a Saturday. America/New_York 2024:
 * clocks go 02:00 EST → 03:00 EDT on 03-10 (07:00Z) and 02:00 EDT → 01:00 EST on 11-03 (06:00Z).
 * Europe/London 2024: 01:00 GMT → 02:00 BST on 03-31, 02:00 BST → 01:00 GMT on 10-27.
 */
import { describe, expect, it } from 'vitest';
import { instantOf, isRepeatedWallTime, isTimeZone, wallTime } from '../core/zone';
import { parseScheduleExpression, ScheduleExpressionError } from './cron';

interface Row {
  what: string;
  expr: string;
  tz?: string;
  from: string;
  /** Every fire time after `from`, in order; a shorter list than `n` means "and then never". */
  fires: string[];
  n?: number;
  start?: string;
}

const z = (s: string) => `${s}:00.000Z`;

const TABLE: Row[] = [
  // ── basics, from the AWS examples ──
  {
    what: 'every day 10:00',
    expr: 'cron(0 10 * * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T10:00'), z('2024-01-02T10:00')],
  },
  {
    what: 'strictly after a fire time',
    expr: 'cron(15 12 * * ? *)',
    from: '2024-01-01T12:15:00Z',
    fires: [z('2024-01-02T12:15'), z('2024-01-03T12:15')],
  },
  {
    what: 'first of the month 08:00',
    expr: 'cron(0 8 1 * ? *)',
    from: '2024-01-15T00:00:00Z',
    fires: [z('2024-02-01T08:00'), z('2024-03-01T08:00')],
  },
  // ── day-of-week 1–7 = SUN–SAT, and names ──
  {
    what: 'MON-FRI over a weekend',
    expr: 'cron(0 18 ? * MON-FRI *)',
    from: '2024-01-05T19:00:00Z',
    fires: [z('2024-01-08T18:00'), z('2024-01-09T18:00')],
  },
  {
    what: '2-6 is MON-FRI',
    expr: 'cron(0 18 ? * 2-6 *)',
    from: '2024-01-05T19:00:00Z',
    fires: [z('2024-01-08T18:00'), z('2024-01-09T18:00')],
  },
  {
    what: '1 is Sunday',
    expr: 'cron(0 6 ? * 1 *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-07T06:00'), z('2024-01-14T06:00')],
  },
  {
    what: '7 is Saturday',
    expr: 'cron(0 6 ? * 7 *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-06T06:00'), z('2024-01-13T06:00')],
  },
  {
    what: 'a list of names',
    expr: 'cron(0 6 ? * SAT,SUN *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-06T06:00'), z('2024-01-07T06:00'), z('2024-01-13T06:00')],
  },
  {
    what: 'names in any case, a one-year window',
    expr: 'cron(0 0 ? jan mon 2024)',
    from: '2023-12-31T00:00:00Z',
    n: 6,
    fires: [
      z('2024-01-01T00:00'),
      z('2024-01-08T00:00'),
      z('2024-01-15T00:00'),
      z('2024-01-22T00:00'),
      z('2024-01-29T00:00'),
    ],
  },
  // ── months ──
  {
    what: 'month names in a list',
    expr: 'cron(0 0 1 JAN,APR,JUL,OCT ? *)',
    from: '2024-02-01T00:00:00Z',
    fires: [z('2024-04-01T00:00'), z('2024-07-01T00:00'), z('2024-10-01T00:00'), z('2025-01-01T00:00')],
  },
  {
    what: 'month increments',
    expr: 'cron(0 0 1 1/3 ? *)',
    from: '2024-02-01T00:00:00Z',
    fires: [z('2024-04-01T00:00'), z('2024-07-01T00:00'), z('2024-10-01T00:00'), z('2025-01-01T00:00')],
  },
  {
    what: 'a month-name range',
    expr: 'cron(0 0 1 OCT-DEC ? *)',
    from: '2024-01-15T00:00:00Z',
    fires: [z('2024-10-01T00:00'), z('2024-11-01T00:00'), z('2024-12-01T00:00'), z('2025-10-01T00:00')],
  },
  // ── ranges, lists, increments ──
  {
    what: '0/15 from the top of the hour',
    expr: 'cron(0/15 * * * ? *)',
    from: '2024-01-01T00:07:00Z',
    fires: [z('2024-01-01T00:15'), z('2024-01-01T00:30'), z('2024-01-01T00:45'), z('2024-01-01T01:00')],
  },
  {
    what: '*/20',
    expr: 'cron(*/20 * * * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T00:20'), z('2024-01-01T00:40'), z('2024-01-01T01:00')],
  },
  {
    what: '5/20 starts at minute 5',
    expr: 'cron(5/20 * * * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T00:05'), z('2024-01-01T00:25'), z('2024-01-01T00:45'), z('2024-01-01T01:05')],
  },
  {
    what: 'every 10 minutes on weekdays',
    expr: 'cron(0/10 * ? * MON-FRI *)',
    from: '2024-01-05T23:45:00Z',
    fires: [z('2024-01-05T23:50'), z('2024-01-08T00:00')],
  },
  {
    what: 'every 5 minutes, 8-17, weekdays',
    expr: 'cron(0/5 8-17 ? * MON-FRI *)',
    from: '2024-01-05T17:50:00Z',
    fires: [z('2024-01-05T17:55'), z('2024-01-08T08:00')],
  },
  {
    what: 'a range with an increment',
    expr: 'cron(0 8-18/5 * * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T08:00'), z('2024-01-01T13:00'), z('2024-01-01T18:00'), z('2024-01-02T08:00')],
  },
  {
    what: 'a list of hours',
    expr: 'cron(0 10,15 * * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T10:00'), z('2024-01-01T15:00'), z('2024-01-02T10:00')],
  },
  {
    what: 'a list of days of the month',
    expr: 'cron(0 0 1,15 * ? *)',
    from: '2024-01-02T00:00:00Z',
    fires: [z('2024-01-15T00:00'), z('2024-02-01T00:00'), z('2024-02-15T00:00')],
  },
  // ── L ──
  {
    what: 'L: last day of the month, leap February',
    expr: 'cron(0 0 L * ? *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-31T00:00'), z('2024-02-29T00:00'), z('2024-03-31T00:00'), z('2024-04-30T00:00')],
  },
  {
    what: 'L in February across years',
    expr: 'cron(30 23 L 2 ? *)',
    from: '2025-01-01T00:00:00Z',
    fires: [z('2025-02-28T23:30'), z('2026-02-28T23:30'), z('2027-02-28T23:30'), z('2028-02-29T23:30')],
  },
  {
    what: 'L alone in day-of-week: Saturday',
    expr: 'cron(0 12 ? * L *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-06T12:00'), z('2024-01-13T12:00')],
  },
  {
    what: '6L: last Friday (AWS example), years 2019-2022',
    expr: 'cron(15 10 ? * 6L 2019-2022)',
    from: '2022-10-01T00:00:00Z',
    n: 4,
    fires: [z('2022-10-28T10:15'), z('2022-11-25T10:15'), z('2022-12-30T10:15')],
  },
  {
    what: 'FRIL: last Friday by name',
    expr: 'cron(0 9 ? * FRIL *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-26T09:00'), z('2024-02-23T09:00'), z('2024-03-29T09:00')],
  },
  // ── W, LW ──
  {
    what: '15W: Sat→Fri, Sun→Mon',
    expr: 'cron(0 0 15W * ? *)',
    from: '2024-06-01T00:00:00Z',
    fires: [z('2024-06-14T00:00'), z('2024-07-15T00:00'), z('2024-08-15T00:00'), z('2024-09-16T00:00')],
  },
  {
    what: '1W never leaves the month: Sat 1st → Mon 3rd',
    expr: 'cron(0 0 1W * ? *)',
    from: '2024-05-15T00:00:00Z',
    fires: [z('2024-06-03T00:00'), z('2024-07-01T00:00'), z('2024-08-01T00:00'), z('2024-09-02T00:00')],
  },
  {
    what: '31W on a Saturday → Friday 30th',
    expr: 'cron(0 0 31W * ? *)',
    from: '2024-08-01T00:00:00Z',
    n: 1,
    fires: [z('2024-08-30T00:00')],
  },
  {
    what: 'LW: last weekday of the month',
    expr: 'cron(0 0 LW * ? *)',
    from: '2024-03-01T00:00:00Z',
    fires: [z('2024-03-29T00:00'), z('2024-04-30T00:00'), z('2024-05-31T00:00'), z('2024-06-28T00:00')],
  },
  // ── # ──
  {
    what: '3#2: second Tuesday',
    expr: 'cron(0 9 ? * 3#2 *)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-09T09:00'), z('2024-02-13T09:00'), z('2024-03-12T09:00')],
  },
  {
    what: '2#1: first Monday (AWS example)',
    expr: 'cron(0 9 ? * 2#1 *)',
    from: '2024-01-02T00:00:00Z',
    fires: [z('2024-02-05T09:00'), z('2024-03-04T09:00'), z('2024-04-01T09:00')],
  },
  {
    what: 'MON#5: only months with five Mondays',
    expr: 'cron(0 0 ? * MON#5 2024)',
    from: '2024-01-01T00:00:00Z',
    n: 5,
    fires: [
      z('2024-01-29T00:00'),
      z('2024-04-29T00:00'),
      z('2024-07-29T00:00'),
      z('2024-09-30T00:00'),
      z('2024-12-30T00:00'),
    ],
  },
  // ── year ──
  {
    what: 'a single year',
    expr: 'cron(0 0 1 1 ? 2030)',
    from: '2024-01-01T00:00:00Z',
    n: 2,
    fires: [z('2030-01-01T00:00')],
  },
  {
    what: 'year increments',
    expr: 'cron(0 0 1 1 ? 2026/2)',
    from: '2025-06-01T00:00:00Z',
    fires: [z('2026-01-01T00:00'), z('2028-01-01T00:00'), z('2030-01-01T00:00')],
  },
  {
    what: 'a list of years',
    expr: 'cron(0 0 1 1 ? 2025,2027)',
    from: '2024-01-01T00:00:00Z',
    n: 3,
    fires: [z('2025-01-01T00:00'), z('2027-01-01T00:00')],
  },
  {
    what: 'the last year AWS knows',
    expr: 'cron(0 0 31 12 ? 2199)',
    from: '2199-01-01T00:00:00Z',
    n: 2,
    fires: [z('2199-12-31T00:00')],
  },
  { what: 'nothing after 2199', expr: 'cron(0 0 31 12 ? *)', from: '2199-12-31T00:00:00Z', n: 1, fires: [] },
  { what: 'a year gone by', expr: 'cron(0 0 1 1 ? 1970)', from: '2024-01-01T00:00:00Z', n: 1, fires: [] },
  {
    what: 'a date that never comes',
    expr: 'cron(0 0 30 2 ? *)',
    from: '2024-01-01T00:00:00Z',
    n: 1,
    fires: [],
  },
  // ── time zones ──
  {
    what: 'Asia/Shanghai 01:00 (the nightly example)',
    expr: 'cron(0 1 * * ? *)',
    tz: 'Asia/Shanghai',
    from: '2026-11-23T18:00:00Z',
    fires: [z('2026-11-24T17:00'), z('2026-11-25T17:00')],
  },
  {
    what: 'Asia/Shanghai weekdays 08:00',
    expr: 'cron(0 8 ? * MON-FRI *)',
    tz: 'Asia/Shanghai',
    from: '2024-01-05T01:00:00Z',
    fires: [z('2024-01-08T00:00'), z('2024-01-09T00:00')],
  },
  {
    what: 'Asia/Shanghai: the weekday is the local one',
    expr: 'cron(30 0 ? * MON *)',
    tz: 'Asia/Shanghai',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-07T16:30'), z('2024-01-14T16:30')],
  },
  {
    what: 'Asia/Shanghai: the last day is the local one',
    expr: 'cron(0 23 L * ? *)',
    tz: 'Asia/Shanghai',
    from: '2024-02-01T00:00:00Z',
    fires: [z('2024-02-29T15:00'), z('2024-03-31T15:00')],
  },
  // ── daylight saving: America/New_York ──
  {
    what: 'NY spring-forward: 02:30 is skipped that day',
    expr: 'cron(30 2 * * ? *)',
    tz: 'America/New_York',
    from: '2024-03-09T00:00:00Z',
    fires: [z('2024-03-09T07:30'), z('2024-03-11T06:30'), z('2024-03-12T06:30')],
  },
  {
    what: 'NY spring-forward: an interval jumps the gap',
    expr: 'cron(0/30 * * * ? *)',
    tz: 'America/New_York',
    from: '2024-03-10T06:15:00Z',
    fires: [z('2024-03-10T06:30'), z('2024-03-10T07:00'), z('2024-03-10T07:30')],
  },
  {
    what: 'NY spring-forward: 03:00 exists',
    expr: 'cron(0 3 * * ? *)',
    tz: 'America/New_York',
    from: '2024-03-09T12:00:00Z',
    fires: [z('2024-03-10T07:00'), z('2024-03-11T07:00')],
  },
  {
    what: 'NY fall-back: 01:30 fires once',
    expr: 'cron(30 1 * * ? *)',
    tz: 'America/New_York',
    from: '2024-11-02T12:00:00Z',
    fires: [z('2024-11-03T05:30'), z('2024-11-04T06:30')],
  },
  {
    what: 'NY fall-back: an interval does not repeat the hour',
    expr: 'cron(0/30 * * * ? *)',
    tz: 'America/New_York',
    from: '2024-11-03T04:45:00Z',
    fires: [z('2024-11-03T05:00'), z('2024-11-03T05:30'), z('2024-11-03T07:00'), z('2024-11-03T07:30')],
  },
  {
    what: 'NY fall-back: an hour range',
    expr: 'cron(0 1-2 * * ? *)',
    tz: 'America/New_York',
    from: '2024-11-03T04:00:00Z',
    fires: [z('2024-11-03T05:00'), z('2024-11-03T07:00'), z('2024-11-04T06:00')],
  },
  // ── daylight saving: Europe/London ──
  {
    what: 'London spring-forward: 01:30 is skipped',
    expr: 'cron(30 1 * * ? *)',
    tz: 'Europe/London',
    from: '2024-03-30T00:00:00Z',
    fires: [z('2024-03-30T01:30'), z('2024-04-01T00:30')],
  },
  {
    what: 'London fall-back: 01:30 fires once, in BST',
    expr: 'cron(30 1 * * ? *)',
    tz: 'Europe/London',
    from: '2024-10-26T12:00:00Z',
    fires: [z('2024-10-27T00:30'), z('2024-10-28T01:30')],
  },
  {
    what: 'London weekdays 09:00 across spring-forward',
    expr: 'cron(0 9 ? * MON-FRI *)',
    tz: 'Europe/London',
    from: '2024-03-29T10:00:00Z',
    fires: [z('2024-04-01T08:00'), z('2024-04-02T08:00')],
  },
  // ── rate ──
  {
    what: 'rate(5 minutes)',
    expr: 'rate(5 minutes)',
    from: '2024-01-01T00:00:00Z',
    fires: [z('2024-01-01T00:05'), z('2024-01-01T00:10'), z('2024-01-01T00:15')],
  },
  {
    what: 'rate(2 hours) without a start',
    expr: 'rate(2 hours)',
    from: '2024-01-01T00:10:00Z',
    fires: [z('2024-01-01T02:10'), z('2024-01-01T04:10')],
  },
  {
    what: 'rate(1 hour) from a start date',
    expr: 'rate(1 hour)',
    start: '2024-01-01T00:00:00Z',
    from: '2023-12-31T00:00:00Z',
    fires: [z('2024-01-01T00:00'), z('2024-01-01T01:00')],
  },
  {
    what: 'rate(1 day) is 24 hours, even across DST',
    expr: 'rate(1 day)',
    tz: 'America/New_York',
    start: '2024-03-09T12:00:00Z',
    from: '2024-03-09T13:00:00Z',
    fires: [z('2024-03-10T12:00'), z('2024-03-11T12:00')],
  },
  // ── at ──
  {
    what: 'at() in Asia/Shanghai, once',
    expr: 'at(2026-11-24T01:00:00)',
    tz: 'Asia/Shanghai',
    from: '2026-01-01T00:00:00Z',
    n: 2,
    fires: [z('2026-11-23T17:00')],
  },
  {
    what: 'at() in a spring-forward gap: after the gap',
    expr: 'at(2024-03-10T02:30:00)',
    tz: 'America/New_York',
    from: '2024-01-01T00:00:00Z',
    n: 2,
    fires: [z('2024-03-10T07:30')],
  },
  {
    what: 'at() on a repeated time: the first one',
    expr: 'at(2024-11-03T01:30:00)',
    tz: 'America/New_York',
    from: '2024-01-01T00:00:00Z',
    n: 2,
    fires: [z('2024-11-03T05:30')],
  },
  {
    what: 'at() already past',
    expr: 'at(2024-01-01T00:00:00)',
    from: '2024-01-01T00:00:00Z',
    n: 1,
    fires: [],
  },
];

describe('parseScheduleExpression: fire times', () => {
  it.each(TABLE)('$what: $expr', (row) => {
    const options = row.start ? { start: new Date(row.start) } : {};
    const s = parseScheduleExpression(row.expr, row.tz ?? 'UTC', options);
    const n = row.n ?? row.fires.length;
    const got = s.nextN(new Date(row.from), n).map((d) => d.toISOString());
    expect(got).toEqual(row.fires);
    // next() agrees with nextN() and never returns `from` itself.
    expect(s.next(new Date(row.from))?.toISOString() ?? null).toBe(row.fires[0] ?? null);
  });

  it('reports kind, expression and time zone', () => {
    expect(parseScheduleExpression('cron(0 1 * * ? *)', 'Asia/Shanghai')).toMatchObject({
      kind: 'cron',
      expression: 'cron(0 1 * * ? *)',
      timezone: 'Asia/Shanghai',
    });
    expect(parseScheduleExpression('rate(1 day)').kind).toBe('rate');
    expect(parseScheduleExpression('at(2030-01-01T00:00:00)').timezone).toBe('UTC');
  });
});

const INVALID: [expr: string, field: string | null, says: string, tz?: string][] = [
  ['cron(0 1 * * * *)', 'day-of-month/day-of-week', 'exactly one of the two must be "?"'],
  ['cron(0 1 ? * ? *)', 'day-of-month/day-of-week', 'only one of the two can be "?"'],
  ['cron(0 1 * * ?)', null, 'cron needs 6 fields'],
  ['cron(0 0 1 * * ? *)', null, 'found 7'],
  ['cron()', null, 'found 0'],
  ['cron(60 1 * * ? *)', 'minutes', '60 is out of range 0-59'],
  ['cron(0 24 * * ? *)', 'hours', '24 is out of range 0-23'],
  ['cron(0 1 32 * ? *)', 'day-of-month', '32 is out of range 1-31'],
  ['cron(0 1 0 * ? *)', 'day-of-month', '0 is out of range 1-31'],
  ['cron(0 1 * 13 ? *)', 'month', '13 is out of range 1-12'],
  ['cron(0 1 ? * 0 *)', 'day-of-week', '1 = SUN … 7 = SAT'],
  ['cron(0 1 ? * 8 *)', 'day-of-week', '8 is out of range 1-7'],
  ['cron(0 1 * * ? 1969)', 'year', '1969 is out of range 1970-2199'],
  ['cron(0 1 * * ? 2200)', 'year', '2200 is out of range 1970-2199'],
  ['cron(0 1 ? * MON/2 *)', 'day-of-week', 'increments ("/") are not allowed'],
  ['cron(0 1 ? * 3#6 *)', 'day-of-week', 'must be 1-5'],
  ['cron(0 1 ? * 3#1,6#3 *)', 'day-of-week', 'exactly one expression'],
  ['cron(0 1 ? * 6L,2 *)', 'day-of-week', 'stands alone'],
  ['cron(0 1 L,15 * ? *)', 'day-of-month', 'stand alone'],
  ['cron(0 1 1-15W * ? *)', 'day-of-month', 'stand alone'],
  ['cron(0 1 L-3 * ? *)', 'day-of-month', 'not EventBridge syntax'],
  ['cron(0 1 ? * FRI-MON *)', 'day-of-week', 'runs backwards'],
  ['cron(0 0 1 NOV-FEB ? *)', 'month', 'runs backwards'],
  ['cron(0 1 ? * FOO *)', 'day-of-week', '"FOO" is not a value'],
  ['cron(0 1 * JANUARY ? *)', 'month', '"JANUARY" is not a value'],
  ['cron(0 1 MON * ? *)', 'day-of-month', '"MON" is not a value'],
  ['cron(0/0 1 * * ? *)', 'minutes', 'increment'],
  ['cron(0 ? * * ? *)', 'hours', '"?" is only allowed in day-of-month and day-of-week'],
  ['cron(0 1,,2 * * ? *)', 'hours', 'empty list item'],
  ['cron(0 1 * * ? *', null, 'must be cron('],
  ['every day at one', null, 'must be cron('],
  ['CRON(0 1 * * ? *)', null, 'must be cron('],
  ['rate(0 minutes)', 'value', 'positive whole number'],
  ['rate(05 minutes)', 'value', 'without leading zeros'],
  ['rate(1 minutes)', 'unit', 'singular'],
  ['rate(5 minute)', 'unit', 'plural'],
  ['rate(5 weeks)', null, 'minute(s), hour(s) or day(s)'],
  ['rate(-5 minutes)', null, 'positive whole number'],
  ['at(2026-02-30T01:00:00)', 'date', 'not a calendar date'],
  ['at(2026-11-24 01:00:00)', null, 'at(yyyy-mm-ddThh:mm:ss)'],
  ['at(2026-11-24T01:00:00+08:00)', null, 'without offset'],
  ['at(2026-11-24T24:00:00)', 'time', 'not a time of day'],
  ['cron(0 1 * * ? *)', 'timezone', 'not an IANA time zone', 'Mars/Olympus'],
  ['cron(0 1 * * ? *)', 'timezone', 'not an IANA time zone', ''],
];

describe('parseScheduleExpression: invalid expressions name what is wrong', () => {
  it.each(INVALID)('%s', (expr, field, says, tz) => {
    let err: unknown;
    try {
      parseScheduleExpression(expr, tz ?? 'UTC');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScheduleExpressionError);
    const e = err as ScheduleExpressionError;
    expect(e.field).toBe(field);
    expect(e.message).toContain(says);
    expect(e.message).toContain(JSON.stringify(expr));
  });
});

describe('zone helpers', () => {
  it.each([
    ['2024-11-03T05:30:00Z', 'America/New_York', false],
    ['2024-11-03T06:30:00Z', 'America/New_York', true],
    ['2024-11-03T07:30:00Z', 'America/New_York', false],
    ['2024-10-27T01:30:00Z', 'Europe/London', true],
    ['2024-10-27T00:30:00Z', 'Europe/London', false],
    ['2024-10-27T01:30:00Z', 'Asia/Shanghai', false],
  ] as const)('isRepeatedWallTime(%s, %s) = %s', (iso, tz, repeated) => {
    expect(isRepeatedWallTime(Date.parse(iso), tz)).toBe(repeated);
  });

  it('reads wall times and maps them back', () => {
    expect(wallTime(new Date('2026-11-23T17:00:00Z'), 'Asia/Shanghai')).toEqual({
      year: 2026,
      month: 11,
      day: 24,
      hour: 1,
      minute: 0,
      second: 0,
    });
    const w = { year: 2024, month: 11, day: 3, hour: 1, minute: 30, second: 0 };
    expect(new Date(instantOf(w, 'America/New_York')).toISOString()).toBe('2024-11-03T05:30:00.000Z');
  });

  it.each([
    ['UTC', true],
    ['Asia/Shanghai', true],
    ['Mars/Olympus', false],
    ['', false],
  ] as const)('isTimeZone(%j) = %s', (tz, ok) => {
    expect(isTimeZone(tz)).toBe(ok);
  });
});
