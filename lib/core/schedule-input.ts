/**
 * The input a schedule fires with, in one place: the type, the name rule and the fire-time
 * normalisation shared by the deployed schedule function (lib/lambda/schedule.ts), which receives it,
 * and the serverless.yml reader (lib/local/serverless-yml.ts), which refuses at load time an
 * input that function would refuse.
 */
import { parseTransition } from './transition';

/** What functions/schedule.ts receives, as declared under a schedule's `input` in serverless.yml. */
export interface ScheduleInput {
  schedule: string;
  transitions: unknown[];
  /** EventBridge Scheduler fills `<aws.scheduler.scheduled-time>`; absent → the time of the call. */
  fireTime?: string;
}

export const SCHEDULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const SCHEDULE_NAME_RULE = '1–64 of [A-Za-z0-9_.-]';
const INPUT_KEYS = new Set(['schedule', 'transitions', 'fireTime']);

/** The first thing wrong with a schedule input: `field` is `schedule`, `transitions[2].priority`, … */
export interface InputProblem {
  field: string;
  rule: string;
}

/**
 * Check an input. The function checks what it needs to run (`strict: false`: a name and a
 * non-empty list; each transition is judged on its own, an invalid one reported as an `invalid`
 * outcome). The loader is `strict`: no unknown field, a string fireTime, every transition valid,
 * because a shipped schedule must not misfire.
 */
export function checkScheduleInput(input: unknown, strict: boolean): InputProblem | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { field: '', rule: 'must be {"schedule": "<name>", "transitions": [ … ]}' };
  const o = input as Record<string, unknown>;
  if (strict)
    for (const key of Object.keys(o))
      if (!INPUT_KEYS.has(key)) return { field: key, rule: 'is not a known field' };
  if (typeof o.schedule !== 'string' || !SCHEDULE_NAME.test(o.schedule))
    return { field: 'schedule', rule: `must name the schedule: ${SCHEDULE_NAME_RULE}` };
  if (strict && o.fireTime !== undefined && typeof o.fireTime !== 'string')
    return { field: 'fireTime', rule: 'must be a string, usually <aws.scheduler.scheduled-time>' };
  if (!Array.isArray(o.transitions) || o.transitions.length === 0)
    return { field: 'transitions', rule: 'must be a non-empty list of transitions' };
  if (strict)
    for (const [i, t] of o.transitions.entries()) {
      const r = parseTransition(t);
      if (!r.ok) return { field: `transitions[${i}].${r.error.field}`, rule: r.error.message };
    }
  return undefined;
}

/**
 * A fire time as the schedule's ids and triggers carry it: whole seconds, UTC, `…Z` (what
 * `<aws.scheduler.scheduled-time>` looks like). `at` that is not a time → `now`.
 */
export function normalFireTime(at: string | number | Date | undefined, now: number): string {
  const ms =
    at instanceof Date ? at.getTime() : typeof at === 'number' ? at : at ? Date.parse(at) : Number.NaN;
  const fired = Number.isNaN(ms) ? now : ms;
  return new Date(Math.floor(fired / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
