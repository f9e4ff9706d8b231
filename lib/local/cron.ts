/**
 * EventBridge Scheduler's schedule expressions (`cron(…)`, `rate(…)`, `at(…)`), evaluated exactly
 * as AWS evaluates them, so that `jobctl run` fires a schedule when the deployed stack would.
 *
 * AWS cron is Quartz-like, not Unix cron: six fields `minutes hours day-of-month month day-of-week
 * year`; exactly one of day-of-month and day-of-week is `?` (the two are never OR-ed); day-of-week
 * 1–7 = SUN–SAT; `L`, `W`, `LW`, `#`; years 1970–2199. We parse and validate that grammar here
 * (croner accepts more, and says less about what is wrong), then hand croner a pattern made only of
 * numbers and the modifiers it shares with AWS, in Quartz weekday mode with AND-ed day fields.
 *
 * Daylight saving follows the EventBridge Scheduler documentation rather than croner's Vixie-cron
 * rules: a local time skipped by spring-forward does not fire at all, and a local time repeated on
 * fall-back fires once, on its first occurrence. `rate()` counts real elapsed time (a day is 24
 * hours, whatever the clocks do). For `at()` AWS documents neither case; we fire once: at the
 * first occurrence of a repeated time, and for a skipped time as far past the gap as it was into
 * it (02:30 in a 02:00→03:00 gap fires at 03:30).
 *
 * @example
 * const s = parseScheduleExpression('cron(0 1 * * ? *)', 'Asia/Shanghai');
 * s.next(new Date('2026-11-23T18:00:00Z')); // 2026-11-23T17:00:00Z is past: 2026-11-24T17:00:00.000Z
 */
import { Cron } from 'croner';
import { instantOf, isRepeatedWallTime, isTimeZone, wallTime } from '../core/zone';

export type ScheduleKind = 'cron' | 'rate' | 'at';

export interface Schedule {
  readonly kind: ScheduleKind;
  /** The expression as written. */
  readonly expression: string;
  /** The IANA time zone cron and at expressions are read in (rate ignores it). */
  readonly timezone: string;
  /** The first fire time strictly after `from`, or null when the schedule never fires again. */
  next(from: Date): Date | null;
  /** Up to `n` fire times strictly after `from`, earliest first. */
  nextN(from: Date, n: number): Date[];
}

export interface ScheduleOptions {
  /**
   * `rate()` only: the first fire time (EventBridge's `StartDate`); later fires follow at whole
   * periods from it. Without it, a rate schedule fires one period after whatever `from` it is asked
   * about, as a schedule created at that moment would.
   */
  start?: Date;
}

/** An expression EventBridge would refuse; the message names the field and the rule broken. */
export class ScheduleExpressionError extends Error {
  override readonly name = 'ScheduleExpressionError';
  constructor(
    readonly expression: string,
    /** `minutes`, `day-of-week`, `timezone`, …; null when the expression as a whole is wrong. */
    readonly field: string | null,
    readonly rule: string,
  ) {
    super(`${JSON.stringify(expression)}: ${field === null ? '' : `${field}: `}${rule}`);
  }
}

export const MIN_YEAR = 1970;
export const MAX_YEAR = 2199;

/**
 * Parse an EventBridge Scheduler schedule expression in a time zone (default UTC).
 * @throws ScheduleExpressionError naming what is wrong.
 */
export function parseScheduleExpression(
  expression: string,
  timezone = 'UTC',
  options: ScheduleOptions = {},
): Schedule {
  if (typeof expression !== 'string')
    throw new ScheduleExpressionError(String(expression), null, 'must be a string');
  if (!isTimeZone(timezone))
    throw new ScheduleExpressionError(
      expression,
      'timezone',
      `${JSON.stringify(timezone)} is not an IANA time zone name (e.g. Asia/Shanghai, America/New_York, UTC)`,
    );
  const m = /^(cron|rate|at)\((.*)\)$/s.exec(expression.trim());
  if (!m)
    throw new ScheduleExpressionError(
      expression,
      null,
      'must be cron(minutes hours day-of-month month day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss)',
    );
  const body = m[2] as string;
  switch (m[1]) {
    case 'cron':
      return cronSchedule(expression, body, timezone);
    case 'rate':
      return rateSchedule(expression, body, timezone, options.start);
    default:
      return atSchedule(expression, body, timezone);
  }
}

function nextN(s: Pick<Schedule, 'next'>, from: Date, n: number): Date[] {
  const out: Date[] = [];
  for (let t = s.next(from); t !== null && out.length < n; t = s.next(t)) out.push(t);
  return out;
}

// ── rate(value unit) ────────────────────────────────────────────────────────────────────────

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

function rateSchedule(expression: string, body: string, timezone: string, start?: Date): Schedule {
  const m = /^(\d+) (minute|hour|day)(s?)$/.exec(body);
  if (!m)
    throw new ScheduleExpressionError(
      expression,
      null,
      'rate must be rate(value unit): a positive whole number and minute(s), hour(s) or day(s), e.g. rate(5 minutes)',
    );
  const [, digits = '', unit = 'minute', plural] = m;
  const value = Number(digits);
  if (value < 1 || digits.startsWith('0'))
    throw new ScheduleExpressionError(
      expression,
      'value',
      'must be a positive whole number without leading zeros',
    );
  // EventBridge (and the framework's schema) insist: 1 takes the singular, anything else the plural.
  if ((value === 1) !== (plural === ''))
    throw new ScheduleExpressionError(
      expression,
      'unit',
      value === 1 ? `must be singular for 1: rate(1 ${unit})` : `must be plural: rate(${value} ${unit}s)`,
    );
  if (start !== undefined && Number.isNaN(start.getTime()))
    throw new ScheduleExpressionError(expression, 'start', 'must be a valid date');
  const period = value * UNIT_MS[unit as keyof typeof UNIT_MS];
  const s: Schedule = {
    kind: 'rate',
    expression,
    timezone,
    next(from) {
      const f = from.getTime();
      if (start === undefined) return new Date(f + period);
      const s0 = start.getTime();
      if (f < s0) return new Date(s0);
      return new Date(s0 + (Math.floor((f - s0) / period) + 1) * period);
    },
    nextN: (from, n) => nextN(s, from, n),
  };
  return s;
}

// ── at(yyyy-mm-ddThh:mm:ss) ─────────────────────────────────────────────────────────────────

function atSchedule(expression: string, body: string, timezone: string): Schedule {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!m)
    throw new ScheduleExpressionError(
      expression,
      null,
      'at must be at(yyyy-mm-ddThh:mm:ss), a local time without offset, e.g. at(2026-11-24T01:00:00)',
    );
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || probe.getUTCDate() !== day || probe.getUTCMonth() !== month - 1)
    throw new ScheduleExpressionError(expression, 'date', `${m[1]}-${m[2]}-${m[3]} is not a calendar date`);
  if (hour > 23 || minute > 59 || second > 59)
    throw new ScheduleExpressionError(expression, 'time', `${m[4]}:${m[5]}:${m[6]} is not a time of day`);
  const at = instantOf({ year, month, day, hour, minute, second }, timezone);
  const s: Schedule = {
    kind: 'at',
    expression,
    timezone,
    next: (from) => (at > from.getTime() ? new Date(at) : null),
    nextN: (from, n) => nextN(s, from, n),
  };
  return s;
}

// ── cron(minutes hours day-of-month month day-of-week year) ────────────────────────────────

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names standing for min, min+1, … (JAN–DEC, SUN–SAT). */
  names?: readonly string[];
  /** Whether AWS allows `/` increments in this field. */
  step: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59, step: true };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23, step: true };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31, step: true };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTHS, step: true };
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, step: false };
const YEAR: FieldSpec = { name: 'year', min: MIN_YEAR, max: MAX_YEAR, step: true };

class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(rule);
  }
}

function cronSchedule(expression: string, body: string, timezone: string): Schedule {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6 || fields[0] === '')
    throw new ScheduleExpressionError(
      expression,
      null,
      `cron needs 6 fields (minutes hours day-of-month month day-of-week year), found ${fields[0] === '' ? 0 : fields.length}`,
    );
  const [min, hour, dom, month, dow, year] = fields.map((f) => f.toUpperCase()) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  try {
    if ((dom === '?') === (dow === '?'))
      throw new FieldError(
        'day-of-month/day-of-week',
        dom === '?'
          ? 'only one of the two can be "?"'
          : 'exactly one of the two must be "?" (EventBridge never combines them), e.g. cron(0 1 * * ? *) or cron(0 1 ? * MON *)',
      );
    const minutes = parseList(min, MINUTES);
    const hours = parseList(hour, HOURS);
    const pattern = [
      '0',
      minutes.join(','),
      hours.join(','),
      dom === '?' ? '*' : dayOfMonth(dom),
      parseList(month, MONTH).join(','),
      dow === '?' ? '*' : dayOfWeek(dow),
      parseList(year, YEAR).join(','),
    ].join(' ');
    return compiled(expression, timezone, pattern, new Set(minutes), new Set(hours));
  } catch (e) {
    if (e instanceof FieldError) throw new ScheduleExpressionError(expression, e.field, e.rule);
    throw e;
  }
}

function compiled(
  expression: string,
  timezone: string,
  pattern: string,
  minutes: ReadonlySet<number>,
  hours: ReadonlySet<number>,
): Schedule {
  let cron: Cron;
  try {
    cron = new Cron(pattern, {
      timezone,
      mode: '7-part',
      alternativeWeekdays: true, // Quartz numbering: 1 = SUN … 7 = SAT, as AWS
      domAndDow: true, // one side is always `*` (from `?`): AND is "the other field alone"
      paused: true,
    });
  } catch (e) {
    // Our grammar is stricter than croner's, so this is a bug here, not a user error; say both.
    throw new ScheduleExpressionError(expression, null, `cannot be evaluated (${(e as Error).message})`);
  }
  // Croner moves a fixed-time job out of a spring-forward gap and repeats interval jobs through a
  // fall-back hour; EventBridge Scheduler does neither, so such candidates are passed over.
  const firesAt = (t: Date) => {
    const w = wallTime(t, timezone);
    return minutes.has(w.minute) && hours.has(w.hour) && !isRepeatedWallTime(t.getTime(), timezone);
  };
  const s: Schedule = {
    kind: 'cron',
    expression,
    timezone,
    next(from) {
      let t: Date | null = from;
      // A handful of candidates at most are passed over per daylight-saving change.
      for (let i = 0; i < 1000 && t; i++) {
        t = cron.nextRun(t);
        if (t && firesAt(t)) return t;
      }
      return null;
    },
    nextN: (from, n) => nextN(s, from, n),
  };
  return s;
}

/** A plain field (no `?`, `L`, `W`, `#`) as the sorted set of values it selects. */
function parseList(text: string, spec: FieldSpec): number[] {
  if (text === '') throw new FieldError(spec.name, 'is empty');
  if (text === '?') throw new FieldError(spec.name, '"?" is only allowed in day-of-month and day-of-week');
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new FieldError(spec.name, `${JSON.stringify(text)} has an empty list item`);
    const [range = '', step, extra] = item.split('/');
    if (extra !== undefined) throw new FieldError(spec.name, `${JSON.stringify(item)} has more than one "/"`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = spec.min;
      hi = spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = '', more] = range.split('-');
      if (more !== undefined) throw new FieldError(spec.name, `${JSON.stringify(item)} is not a range a-b`);
      lo = parseValue(a, spec);
      hi = parseValue(b, spec);
      if (lo > hi)
        throw new FieldError(spec.name, `range ${JSON.stringify(range)} runs backwards (${lo} > ${hi})`);
    } else {
      lo = parseValue(range, spec);
      // `a/n` means from a to the end of the field in steps of n.
      hi = step === undefined ? lo : spec.max;
    }
    let by = 1;
    if (step !== undefined) {
      if (!spec.step) throw new FieldError(spec.name, `increments ("/") are not allowed in ${spec.name}`);
      if (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > spec.max - spec.min + 1)
        throw new FieldError(
          spec.name,
          `increment in ${JSON.stringify(item)} must be a whole number from 1 to ${spec.max - spec.min + 1}`,
        );
      by = Number(step);
    }
    for (let v = lo; v <= hi; v += by) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function parseValue(token: string, spec: FieldSpec): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n >= spec.min && n <= spec.max) return n;
    const hint = spec === DAY_OF_WEEK ? ' (1 = SUN … 7 = SAT)' : '';
    throw new FieldError(spec.name, `${token} is out of range ${spec.min}-${spec.max}${hint}`);
  }
  const i = spec.names?.indexOf(token) ?? -1;
  if (i >= 0) return spec.min + i;
  const names = spec.names ? ` or ${spec.names[0]}-${spec.names.at(-1)}` : '';
  throw new FieldError(
    spec.name,
    `${JSON.stringify(token)} is not a value (${spec.min}-${spec.max}${names}); wildcards allowed here: ${
      spec === DAY_OF_WEEK ? ', - * ? L #' : spec === DAY_OF_MONTH ? ', - * ? / L W' : ', - * /'
    }`,
  );
}

/** Day-of-month in croner's words: a list, or `L` / `LW` / `nW`, which AWS only allows alone. */
function dayOfMonth(text: string): string {
  if (!/[LW]/.test(text)) return parseList(text, DAY_OF_MONTH).join(',');
  if (text === 'L' || text === 'LW') return text;
  if (/^L-\d+$/.test(text))
    throw new FieldError(DAY_OF_MONTH.name, `${text}: offsets from the last day are not EventBridge syntax`);
  const w = /^(\d+)W$/.exec(text);
  if (w) return `${parseValue(w[1] as string, DAY_OF_MONTH)}W`;
  throw new FieldError(
    DAY_OF_MONTH.name,
    `${JSON.stringify(text)}: L, LW and nW (e.g. 15W) stand alone, not in lists, ranges or increments`,
  );
}

/** Day-of-week in croner's words: a list, `L` (Saturday), `nL` (last n of the month), `n#k`. */
function dayOfWeek(text: string): string {
  if (text.includes('#')) {
    const m = /^([A-Z]+|\d+)#(\d+)$/.exec(text);
    if (!m)
      throw new FieldError(
        DAY_OF_WEEK.name,
        `${JSON.stringify(text)}: with "#" the field holds exactly one expression, e.g. 3#2 (second Tuesday)`,
      );
    const nth = Number(m[2]);
    if (nth < 1 || nth > 5)
      throw new FieldError(DAY_OF_WEEK.name, `${text}: the occurrence after "#" must be 1-5`);
    return `${parseValue(m[1] as string, DAY_OF_WEEK)}#${nth}`;
  }
  // "L" alone is the last day of the week; Quartz and AWS count weeks from Sunday.
  if (text === 'L') return '7';
  // No weekday name contains an L, so any L here is the modifier.
  if (text.includes('L')) {
    const day = text.slice(0, -1);
    if (text.endsWith('L') && /^([A-Z]{3}|\d+)$/.test(day)) return `${parseValue(day, DAY_OF_WEEK)}#L`;
    throw new FieldError(
      DAY_OF_WEEK.name,
      `${JSON.stringify(text)}: nL (e.g. 6L or FRIL, the last Friday) stands alone, not in a list or range`,
    );
  }
  return parseList(text, DAY_OF_WEEK).join(',');
}
