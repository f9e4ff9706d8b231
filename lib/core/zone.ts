/**
 * Wall-clock arithmetic in IANA time zones, on nothing but `Intl`: enough to tell when a local
 * time was skipped by a daylight-saving change, or is being lived through for the second time.
 * EventBridge Scheduler evaluates every schedule in its `ScheduleExpressionTimezone`, so the
 * local runner must answer these questions exactly as AWS does.
 */

export interface WallTime {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
  /** 0–23 */
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when `timezone` is a name `Intl` (and so EventBridge's IANA database) knows. */
export function isTimeZone(timezone: string): boolean {
  if (timezone.trim() === '') return false;
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

/** The local wall-clock time of an instant in `timezone`. */
export function wallTime(instant: Date | number, timezone: string): WallTime {
  const parts = formatter(timezone).formatToParts(instant);
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** A wall time read as if it were UTC: a plain number to compare and subtract wall times with. */
export function wallMs(w: WallTime): number {
  const d = new Date(0);
  d.setUTCFullYear(w.year, w.month - 1, w.day);
  d.setUTCHours(w.hour, w.minute, w.second, 0);
  return d.getTime();
}

/** Offset from UTC in milliseconds (positive east of Greenwich) in effect at `instant`. */
export function offsetMs(instant: number, timezone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return wallMs(wallTime(whole, timezone)) - whole;
}

// No zone has moved its clocks by more than a few hours at once, nor twice within this window.
const LOOKBACK_MS = 6 * 3600_000;

/**
 * True when the wall time at `instant` already happened once, earlier, because the clocks were
 * set back in between (the second pass through a repeated hour on fall-back day).
 */
export function isRepeatedWallTime(instant: number, timezone: string): boolean {
  const now = offsetMs(instant, timezone);
  const before = offsetMs(instant - LOOKBACK_MS, timezone);
  if (before <= now) return false;
  // The same wall time under the earlier, larger offset lies `before - now` earlier.
  return offsetMs(instant - (before - now), timezone) === before;
}

/**
 * Every instant whose local time in `timezone` is `w`, earliest first: one normally, two on
 * fall-back day, none in a spring-forward gap.
 */
export function instantsOf(w: WallTime, timezone: string): number[] {
  const local = wallMs(w);
  const offsets = new Set<number>();
  for (let h = -LOOKBACK_MS; h <= LOOKBACK_MS; h += 3600_000) offsets.add(offsetMs(local + h, timezone));
  const out = [...offsets]
    .map((o) => local - o)
    .filter((t) => wallMs(wallTime(t, timezone)) === local)
    .sort((a, b) => a - b);
  return [...new Set(out)];
}

/**
 * The instant a local time names. A time repeated on fall-back day is its first occurrence; a
 * time skipped by spring-forward is read with the offset before the change, so it lands as far
 * after the gap as it was into it (02:30 in a 02:00→03:00 gap becomes 03:30), like JavaScript's
 * Temporal "compatible" disambiguation.
 */
export function instantOf(w: WallTime, timezone: string): number {
  const found = instantsOf(w, timezone)[0];
  if (found !== undefined) return found;
  const local = wallMs(w);
  return local - offsetMs(local - LOOKBACK_MS, timezone);
}
