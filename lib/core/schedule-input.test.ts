import { describe, expect, it } from 'vitest';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { checkScheduleInput, normalFireTime } from './schedule-input';

const t = {
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  appId: EXAMPLE_TARGETS.cos.appId,
  jobId: 'aaaaaaaa-0000-4000-8000-000000000001',
  action: 'UpdateJobStatus',
  requestedJobStatus: 'Ready',
};

describe('one schedule-input schema for the function and the serverless.yml reader', () => {
  it('the name rule is the same for both', () => {
    for (const strict of [false, true]) {
      expect(checkScheduleInput({ schedule: 'nightly.v2_a-b', transitions: [t] }, strict)).toBeUndefined();
      expect(checkScheduleInput({ schedule: 'night ly', transitions: [t] }, strict)?.field).toBe('schedule');
      expect(checkScheduleInput({ schedule: 'x'.repeat(65), transitions: [t] }, strict)?.field).toBe(
        'schedule',
      );
      expect(checkScheduleInput({ schedule: 'n', transitions: [] }, strict)?.field).toBe('transitions');
    }
  });

  it('only the reader refuses unknown fields and invalid transitions (the function reports them as outcomes)', () => {
    expect(checkScheduleInput({ schedule: 'n', transitions: [t], extra: 1 }, true)?.field).toBe('extra');
    expect(checkScheduleInput({ schedule: 'n', transitions: [t], extra: 1 }, false)).toBeUndefined();
    const bad = { ...t, priority: 1 };
    expect(checkScheduleInput({ schedule: 'n', transitions: [bad] }, true)?.field).toBe(
      'transitions[0].priority',
    );
    expect(checkScheduleInput({ schedule: 'n', transitions: [bad] }, false)).toBeUndefined();
  });

  it('fire times: whole seconds, UTC, Z; not a time → now', () => {
    const now = Date.parse('2026-11-24T01:02:03.456Z');
    expect(normalFireTime('2026-11-24T17:00:00.789+08:00', now)).toBe('2026-11-24T09:00:00Z');
    expect(normalFireTime(new Date('2026-11-24T09:00:00.999Z'), now)).toBe('2026-11-24T09:00:00Z');
    expect(normalFireTime('<aws.scheduler.scheduled-time>', now)).toBe('2026-11-24T01:02:03Z');
    expect(normalFireTime(undefined, now)).toBe('2026-11-24T01:02:03Z');
  });
});
