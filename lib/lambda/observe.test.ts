import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Outcome } from '../core/outcome';
import { EXAMPLE_TARGETS } from '../providers/examples';
import { createObserver } from './observe';

/** Powertools writes through a private Console; point it (and the metrics') at a buffer. */
function capture(target: object): string[] {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  (target as { console: Console }).console = new Console({ stdout: sink, stderr: sink });
  return lines;
}

const outcome = (kind: Outcome['outcome'], id: string): Outcome => ({
  id,
  provider: 'cos',
  region: EXAMPLE_TARGETS.cos.region,
  account: EXAMPLE_TARGETS.cos.account,
  jobId: 'j',
  action: 'UpdateJobStatus',
  outcome: kind,
  status: null,
  priority: null,
  error: null,
  attempts: 1,
  trigger: { type: 'cli' },
  startedAt: '2026-11-24T00:00:00Z',
  finishedAt: '2026-11-24T00:00:01Z',
  raw: '{"secret":"do not log the body"}',
});

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('createObserver', () => {
  it('one JSON line per outcome, with the transition id as correlation id and without the raw body', () => {
    const o = createObserver('t');
    o.logger.setLogLevel('INFO');
    const lines = capture(o.logger);
    o.outcome(outcome('applied', 'a/1'));
    o.outcome(outcome('failed', 'a/2'));
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((p) => [p.level, p.message, p.correlation_id])).toEqual([
      ['INFO', 'transition applied', 'a/1'],
      ['WARN', 'transition failed', 'a/2'],
    ]);
    expect(lines.join('\n')).not.toContain('do not log the body');
  });

  it('counts outcomes by kind as EMF metrics, flushed once per invocation', () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    const o = createObserver('t');
    o.logger.setLogLevel('SILENT');
    o.outcome(outcome('applied', '1'));
    o.outcome(outcome('applied', '2'));
    o.outcome(outcome('rejected', '3'));
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      o.flush();
    } finally {
      spy.mockRestore();
    }
    const emf = JSON.parse(written.join('').trim().split('\n').at(-1)!);
    // A second flush with nothing recorded since writes nothing (no empty-metrics warning either).
    const again: string[] = [];
    const spy2 = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      again.push(String(chunk));
      return true;
    });
    const warnings: string[] = [];
    const spy3 = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      warnings.push(String(chunk));
      return true;
    });
    try {
      o.flush();
    } finally {
      spy2.mockRestore();
      spy3.mockRestore();
    }
    expect(again).toEqual([]);
    expect(warnings).toEqual([]);
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('jobctl');
    expect(emf.applied).toEqual([1, 1]);
    expect(emf.rejected).toBe(1);
  });
});
