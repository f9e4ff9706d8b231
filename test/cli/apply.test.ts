/**
 * `jobctl apply` end to end against the sandbox, for COS, OSS and S3: each outcome kind, the
 * exit codes (worst outcome wins), input forms, order, selects, and the bin as a child process.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../lib/core/outcome';
import { DEFAULT_SEED_FILE } from '../../lib/local/sandbox/seed';
import { type Sandbox, scopeOf, startSandbox } from '../../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import type { Target } from '../../lib/providers/types';
import { cli } from '../support/io';

let sb: Sandbox;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  sb = await startSandbox({ seed: DEFAULT_SEED_FILE, pace: false });
  env = { ...sb.env, AWS_REGION: 'us-east-1', JOBCTL_RETRY_BUDGET_MS: '3000' };
});
afterAll(async () => {
  await sb.close();
});

interface Case {
  target: Target & Record<string, string>;
  /** Suspended in the seed: Ready is accepted once. */
  suspended: string;
  /** Another Suspended job, for the priority change. */
  other: string;
  missing: string;
  notFound: string;
}

const CASES: Record<'cos' | 'oss' | 's3', Case> = {
  cos: {
    target: EXAMPLE_TARGETS.cos,
    suspended: '2ff6a2e9-d4bd-4da7-80c9-12e04e8ee28a',
    other: 'db7a7f73-4206-42c1-93a5-1fe218228a48',
    missing: '00000000-0000-4000-8000-000000000000',
    notFound: 'NoSuchJob',
  },
  oss: {
    target: EXAMPLE_TARGETS.oss,
    suspended: 'M2RjNmMwNDQxMzFkNDJiZjdkNjAwNzMxMDg2YjU0MWE=',
    other: 'M2JmODU3NDczZjg5MGM4NjJjZDcyZDM4OGQ5NzlkMGU=',
    missing: 'bm8tc3VjaC1qb2I=',
    notFound: 'NoSuchJob',
  },
  s3: {
    target: EXAMPLE_TARGETS.s3,
    suspended: 'e6381dea-87db-4c5b-a7e0-a9dd26cf14ec',
    other: '1f0146d1-ec6d-437a-8e52-3fd2accb00d3',
    missing: 'no-such-job-00001',
    notFound: 'NotFoundException',
  },
};

const ready = (c: Case, jobId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ...c.target, jobId, action: 'UpdateJobStatus', requestedJobStatus: 'Ready', ...extra });

const statusOf = (c: Case, jobId: string) => sb.store.get(scopeOf(c.target), jobId)?.status;

describe.each(Object.entries(CASES))('jobctl apply against the %s sandbox', (_name, c) => {
  it('applies a change (exit 0), then reports the same change again as unchanged (exit 0)', async () => {
    expect(statusOf(c, c.suspended)).toBe('Suspended');
    const first = await cli(['apply', '-'], { env, stdin: ready(c, c.suspended, { id: 'first' }) });
    expect(first.code).toBe(0);
    expect(first.json<Outcome>()).toEqual([
      expect.objectContaining({
        id: 'first',
        provider: c.target.provider,
        jobId: c.suspended,
        outcome: 'applied',
        error: null,
        trigger: { type: 'cli' },
      }),
    ]);
    expect(statusOf(c, c.suspended)).toBe('Ready');

    const again = await cli(['apply'], { env, stdin: ready(c, c.suspended) });
    expect(again.code).toBe(0);
    expect(again.json<Outcome>()).toEqual([
      expect.objectContaining({ id: 'cli/1', outcome: 'unchanged', status: 'Ready' }),
    ]);
  });

  it('reports a job the provider does not know as rejected with its own code (exit 3)', async () => {
    const r = await cli(['apply', '-'], { env, stdin: ready(c, c.missing) });
    expect(r.code).toBe(3);
    const [o] = r.json<Outcome>();
    expect(o).toMatchObject({
      outcome: 'rejected',
      jobId: c.missing,
      error: { code: c.notFound, httpStatus: 404 },
    });
  });

  it('turns a bad field into an invalid outcome naming it, sending nothing (exit 2)', async () => {
    const before = sb.stats().requests;
    const r = await cli(['apply', '-'], { env, stdin: ready(c, c.other, { requestedJobStatus: 'Paused' }) });
    expect(r.code).toBe(2);
    const [o] = r.json<Outcome>();
    expect(o).toMatchObject({
      outcome: 'invalid',
      error: { code: 'InvalidTransition', field: 'requestedJobStatus' },
    });
    expect(o!.error!.message).toMatch(/^requestedJobStatus: must be Ready or Cancelled/);
    expect(o!.raw).toContain('"Paused"');
    expect(sb.stats().requests).toBe(before);
    expect(statusOf(c, c.other)).toBe('Suspended');
  });

  it('does not send a transition handled after its notAfter: expired (exit 3)', async () => {
    const before = sb.stats().requests;
    const r = await cli(['apply', '-'], {
      env,
      stdin: ready(c, c.other, { notAfter: '2020-01-01T00:00:00+08:00' }),
    });
    expect(r.code).toBe(3);
    expect(r.json<Outcome>()[0]).toMatchObject({ outcome: 'expired', error: { code: 'Expired' } });
    expect(sb.stats().requests).toBe(before);
    expect(statusOf(c, c.other)).toBe('Suspended');
  });

  it('changes a priority', async () => {
    const r = await cli(['apply', '-'], {
      env,
      stdin: JSON.stringify({ ...c.target, jobId: c.other, action: 'UpdateJobPriority', priority: 77 }),
    });
    expect(r.code).toBe(0);
    expect(r.json<Outcome>()[0]).toMatchObject({ outcome: 'applied', priority: 77 });
    expect(sb.store.get(scopeOf(c.target), c.other)?.priority).toBe(77);
  });
});

describe('jobctl apply: input, order and exit codes', () => {
  const cos = CASES.cos;

  it('reads JSON Lines and prints one outcome per line in input order; the worst outcome sets the exit code', async () => {
    const lines = [
      JSON.stringify({ ...cos.target, jobId: cos.missing, action: 'UpdateJobPriority', priority: 1 }),
      '{"provider": "cos", "region": "ap-guangzhou", "oops": true}',
      '',
      'this is not JSON',
      JSON.stringify({
        ...cos.target,
        jobId: '9e5e78ed-bef2-465f-beb3-b080f4146c91',
        action: 'UpdateJobPriority',
        priority: 4,
      }),
    ].join('\n');
    const r = await cli(['apply', '--concurrency', '2'], { env, stdin: lines });
    expect(r.json<Outcome>().map((o) => [o.id, o.outcome])).toEqual([
      ['cli/1', 'rejected'],
      ['cli/2', 'invalid'],
      ['cli/3', 'invalid'],
      ['cli/4', 'applied'],
    ]);
    // The highest code wins: rejected (3) over invalid (2).
    expect(r.code).toBe(3);
    expect(r.json<Outcome>()[2]!.raw).toBe('this is not JSON');
  });

  it('reads a JSON array and a file, and runs transitions of one job in input order', async () => {
    const job = '01d4c4e9-12d7-4403-8592-3e634d35a377';
    // A priority change reads first: run at the same time, all three would read the old priority
    // and all three would be applied; one after the other, the second and third find it done.
    const arr = [1, 2, 3].map((i) => ({
      ...cos.target,
      jobId: job,
      action: 'UpdateJobPriority',
      priority: 6,
      id: `same-${i}`,
    }));
    const dir = await mkdtemp(`${tmpdir()}/jobctl-apply-`);
    const path = `${dir}/in.json`;
    await writeFile(path, JSON.stringify(arr, null, 2));
    const r = await cli(['apply', path, '--concurrency', '8'], { env });
    await rm(dir, { recursive: true });
    expect(r.code).toBe(0);
    expect(r.json<Outcome>().map((o) => [o.id, o.outcome])).toEqual([
      ['same-1', 'applied'],
      ['same-2', 'unchanged'],
      ['same-3', 'unchanged'],
    ]);
  });

  it('expands a select into one outcome per matching job, ids derived from the item', async () => {
    const r = await cli(['apply', '-'], {
      env,
      stdin: JSON.stringify({
        ...CASES.s3.target,
        select: { statuses: ['Active'], descriptionPrefix: 'bulk-' },
        action: 'UpdateJobPriority',
        priority: 2,
      }),
    });
    expect(r.code).toBe(0);
    const outs = r.json<Outcome>();
    expect(outs.map((o) => o.jobId).sort()).toEqual(
      ['5ccef3cf-b8aa-4034-90cb-056cdcf9a66e', 'b0eb09aa-3149-4b0a-ba0d-57d7ae700fae'].sort(),
    );
    for (const o of outs)
      expect(o).toMatchObject({ outcome: 'applied', priority: 2, id: `cli/1/${o.jobId}` });
  });

  it('says on stderr when a select matches nothing, and exits 0', async () => {
    const r = await cli(['apply', '-'], {
      env,
      stdin: JSON.stringify({
        ...cos.target,
        select: { descriptionPrefix: 'no-such-prefix-' },
        action: 'UpdateJobPriority',
        priority: 2,
      }),
    });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('line 1: the select matched no jobs');
  });

  it('a provider repeating its ListJobs page token: the select stops after two pages, failed (exit 4) (12.4)', async () => {
    // Fake COS that answers every ListJobs with the same NextToken and a job the select does
    // not match: today's loop listed until killed (158,772 calls in 30 s).
    const urls: string[] = [];
    const fake = createServer((req, res) => {
      urls.push(req.url ?? '');
      req.resume();
      if (urls.length > 1_000) return void res.destroy(); // bounded even if the loop comes back
      res.writeHead(200, { 'content-type': 'application/xml', 'x-cos-request-id': `r${urls.length}` });
      res.end(
        '<ListJobsResult><Jobs><member><JobId>53dc6228</JobId><Status>Suspended</Status><Priority>1</Priority></member></Jobs><NextToken>same</NextToken></ListJobsResult>',
      );
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const r = await cli(['apply', '-'], {
        env: { ...env, COS_ENDPOINT: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` },
        stdin: JSON.stringify({
          ...cos.target,
          id: 'loop',
          select: { statuses: ['Suspended'], descriptionPrefix: 'nightly-' },
          action: 'UpdateJobStatus',
          requestedJobStatus: 'Ready',
        }),
      });
      expect(urls).toHaveLength(2);
      expect(urls[1]).toContain('nextToken=same');
      expect(r.code).toBe(4);
      expect(r.json<Outcome>()).toEqual([
        expect.objectContaining({
          id: 'loop',
          outcome: 'failed',
          error: expect.objectContaining({ code: 'RepeatedPageToken' }),
        }),
      ]);
    } finally {
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('rejects targets outside JOBCTL_ALLOWED_TARGETS without a request, for jobs and selects alike', async () => {
    const before = sb.stats().requests;
    const r = await cli(['apply', '-'], {
      env: { ...env, JOBCTL_ALLOWED_TARGETS: 'oss:*@cn-hangzhou' },
      stdin: [
        ready(cos, cos.other),
        JSON.stringify({
          ...cos.target,
          select: { statuses: ['Suspended'] },
          action: 'UpdateJobPriority',
          priority: 3,
        }),
      ].join('\n'),
    });
    expect(r.code).toBe(3);
    expect(r.json<Outcome>()).toEqual([
      expect.objectContaining({
        id: 'cli/1',
        outcome: 'rejected',
        error: expect.objectContaining({ code: 'TargetNotAllowed' }),
      }),
      expect.objectContaining({
        id: 'cli/2',
        outcome: 'rejected',
        jobId: null,
        error: expect.objectContaining({ code: 'TargetNotAllowed' }),
      }),
    ]);
    expect(sb.stats().requests).toBe(before);
  });

  it('reports transient trouble that outlives the retries as failed (exit 4)', async () => {
    const r = await cli(['apply', '-'], {
      env: {
        ...env,
        COS_ENDPOINT: 'http://127.0.0.1:1',
        JOBCTL_MAX_ATTEMPTS: '2',
        JOBCTL_RETRY_BUDGET_MS: '1000',
      },
      stdin: ready(cos, cos.other),
    });
    expect(r.code).toBe(4);
    expect(r.json<Outcome>()[0]).toMatchObject({ outcome: 'failed', attempts: 2 });
  });

  it('refuses empty input and bad options with exit 2', async () => {
    expect((await cli(['apply', '-'], { env, stdin: '  \n' })).code).toBe(2);
    const bad = await cli(['apply', '--concurrency', '0'], { env, stdin: ready(cos, cos.other) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--concurrency must be an integer from 1 to 64');
    expect((await cli(['apply', 'a', 'b'], { env })).code).toBe(2);
  });

  it('shows progress on stderr only when stderr is a terminal', async () => {
    const piped = await cli(['apply', '-'], { env, stdin: ready(cos, cos.missing) });
    expect(piped.stderr).toBe('');
    const tty = await cli(['apply', '-'], { env, stdin: ready(cos, cos.missing), tty: true });
    expect(tty.stderr).toContain('jobctl apply: 1/1');
    // stdout stays one JSON outcome per line even on a terminal
    expect(tty.json<Outcome>()[0]).toMatchObject({ outcome: 'rejected' });
  });
});

describe('bin/jobctl.mjs', () => {
  it('runs `jobctl apply -` as a child process, reading stdin and exiting with the outcome code', async () => {
    const bin = fileURLToPath(new URL('../../bin/jobctl.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'apply', '-'], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.end(
      [
        ready(CASES.oss, 'MDI0YzJlYTQ5ZWFiYmMyZDgyODhkZGM1OTE5NWVhNWY='),
        ready(CASES.oss, CASES.oss.missing),
      ].join('\n'),
    );
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const outcomes = Buffer.concat(out)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Outcome);
    expect({ code, stderr: Buffer.concat(err).toString('utf8') }).toEqual({ code: 3, stderr: '' });
    expect(outcomes.map((o) => o.outcome)).toEqual(['applied', 'rejected']);
    expect(statusOf(CASES.oss, 'MDI0YzJlYTQ5ZWFiYmMyZDgyODhkZGM1OTE5NWVhNWY=')).toBe('Ready');
  });
});
