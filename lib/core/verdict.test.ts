import { describe, expect, it } from 'vitest';
import { diff, isFinal, verdictOf } from './verdict';

describe('verdictOf', () => {
  it.each([
    ['Complete', { total: 10, succeeded: 10, failed: 0 }, 'succeeded'],
    ['Complete', null, 'succeeded'],
    ['Complete', { total: 10, succeeded: 9, failed: 1 }, 'partial'],
    ['Failed', { total: 10, succeeded: 10, failed: 0 }, 'failed'],
    ['Cancelled', { total: 10, succeeded: 3, failed: 0 }, 'cancelled'],
    ['Completing', { total: 10, succeeded: 9, failed: 1 }, null],
    ['Active', null, null],
    ['Failing', null, null],
  ] as const)('%s with %o → %s', (status, progress, verdict) => {
    expect(verdictOf(status, progress)).toBe(verdict);
    expect(isFinal(status)).toBe(verdict !== null);
  });
});

describe('diff: what is worth a write', () => {
  const p = (succeeded: number, failed = 0) => ({ total: 100, succeeded, failed });
  it.each([
    [
      'same status, progress moved: nothing',
      { status: 'Active', progress: p(1), settled: null },
      { status: 'Active', progress: p(50) },
      'none',
    ],
    [
      'status moved',
      { status: 'Ready', progress: null, settled: null },
      { status: 'Active', progress: p(1) },
      'status',
    ],
    [
      'reached a final status',
      { status: 'Active', progress: p(1), settled: null },
      { status: 'Complete', progress: p(99, 1) },
      'settle',
    ],
    [
      'final but already settled: nothing',
      { status: 'Complete', progress: p(99, 1), settled: 'partial' as const },
      { status: 'Complete', progress: p(99, 1) },
      'none',
    ],
    [
      'final, last recorded final too but not settled (a lost write): settle',
      { status: 'Complete', progress: p(100), settled: null },
      { status: 'Complete', progress: p(100) },
      'settle',
    ],
  ] as const)('%s', (_name, known, seen, kind) => {
    const d = diff(known, seen);
    expect(d.kind).toBe(kind);
    if (d.kind === 'settle') expect(d.verdict).toBe(verdictOf(seen.status, seen.progress));
    if (d.kind !== 'none')
      expect([d.from, d.to, d.progress]).toEqual([known.status, seen.status, seen.progress]);
  });
});
