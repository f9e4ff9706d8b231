/**
 * The lifecycle rules as a table: every (status, requested status) pair, for each provider, first
 * against the rule itself and then over the wire through each provider's third-party client.
 */
import { S3ControlServiceException, UpdateJobStatusCommand } from '@aws-sdk/client-s3-control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosCall, cosSdk, EXAMPLE, ossCall, s3Sdk } from '../../../test/support/sandbox';
import { JOB_STATUSES, type JobStatus, PROVIDERS, type ProviderName } from '../../providers/types';
import {
  ACTIVE_STEPS,
  AUTOMATIC,
  automaticStep,
  decideStatusChange,
  REQUESTABLE,
  type Requestable,
  TASKS_PER_STEP,
  TERMINAL,
} from './lifecycle';
import { type Sandbox, startSandbox } from './server';
import type { SeedJob } from './types';

type Expected = { status: JobStatus } | { refused: 'completed' | 'transition' };

/** The documented rules, written out independently of the implementation. */
function expected(provider: ProviderName, current: JobStatus, requested: Requestable): Expected {
  if (requested === 'Ready') {
    if (current === 'Suspended' || (provider === 'oss' && current === 'Preparing'))
      return { status: 'Ready' };
  } else if (['New', 'Preparing', 'Suspended', 'Ready', 'Active', 'Pausing', 'Paused'].includes(current)) {
    return { status: 'Cancelling' };
  }
  return { refused: current === 'Complete' ? 'completed' : 'transition' };
}

const NAMESPACE: Record<ProviderName, string> = {
  cos: EXAMPLE.cos.appId,
  oss: EXAMPLE.oss.region,
  s3: EXAMPLE.s3.account,
};

const PAIRS = PROVIDERS.flatMap((provider) =>
  JOB_STATUSES.flatMap((status) => REQUESTABLE.map((requested) => ({ provider, status, requested }))),
);

describe('decideStatusChange', () => {
  it('covers 13 statuses × 2 requested statuses × 3 providers', () => {
    expect(PAIRS).toHaveLength(78);
  });

  it.each(PAIRS)('$provider: $status → $requested', ({ provider, status, requested }) => {
    const want = expected(provider, status, requested);
    const got = decideStatusChange(provider, status, requested);
    expect(got).toEqual(
      'status' in want ? { ok: true, status: want.status } : { ok: false, reason: want.refused },
    );
  });
});

describe('automatic transitions', () => {
  const pace = { stepMs: 1000, suspendedTimeoutMs: 60_000 };
  const job = (confirmationRequired: boolean, totalTasks = 1000, tasksSucceeded = 0) => ({
    confirmationRequired,
    totalTasks,
    tasksSucceeded,
    tasksFailed: 0,
  });
  const walk = (confirmationRequired: boolean) => {
    const path: JobStatus[] = ['New'];
    for (let s: JobStatus = 'New'; ; ) {
      const next = automaticStep(s, job(confirmationRequired), pace);
      if (!next || path.length > 20) break;
      path.push(next.status);
      s = next.status;
    }
    return path;
  };

  it('runs New → Preparing → Ready → Active → Completing → Complete without confirmation', () => {
    expect(walk(false)).toEqual(['New', 'Preparing', 'Ready', 'Active', 'Completing', 'Complete']);
  });

  it('stops a job that requires confirmation in Suspended, which fails after the timeout', () => {
    expect(walk(true)).toEqual(['New', 'Preparing', 'Suspended', 'Failed']);
    expect(automaticStep('Suspended', job(true), pace)).toEqual({
      status: 'Failed',
      afterMs: 60_000,
    });
  });

  it.each([
    ['Pausing', 'Paused'],
    ['Cancelling', 'Cancelled'],
    ['Failing', 'Failed'],
  ] as const)('moves %s on to %s one step later', (from, to) => {
    expect(automaticStep(from, job(false), pace)).toEqual({ status: to, afterMs: 1000 });
  });

  it.each([
    [1000, 0, ACTIVE_STEPS],
    [0, 0, ACTIVE_STEPS],
    [100_000, 10_000, 90_000 / TASKS_PER_STEP],
    [100_001, 0, Math.ceil(100_001 / TASKS_PER_STEP)],
  ])('keeps a job of %i tasks (%i done) Active for %i steps', (total, done, steps) => {
    expect(automaticStep('Active', job(false, total, done), pace)).toEqual({
      status: 'Completing',
      afterMs: steps * 1000,
    });
  });

  it.each(['Paused', 'Complete', 'Cancelled', 'Failed'] as const)('leaves %s where it is', (s) => {
    expect(AUTOMATIC[s]).toBeNull();
  });

  it('freezes everything but the Suspended timeout when there is no pace', () => {
    const frozen = { stepMs: null, suspendedTimeoutMs: 5 };
    expect(automaticStep('Active', job(false), frozen)).toBeNull();
    expect(automaticStep('Suspended', job(true), frozen)).toEqual({
      status: 'Failed',
      afterMs: 5,
    });
  });
});

describe('every pair over the wire', () => {
  let sb: Sandbox;
  const jobIds = new Map<string, string>();
  const key = (p: ProviderName, s: JobStatus, r: Requestable) => `${p}/${s}/${r}`;

  beforeAll(async () => {
    const seeds: SeedJob[] = PAIRS.map(({ provider, status }, i) => ({
      provider,
      appId: EXAMPLE.cos.appId,
      account: provider === 's3' ? EXAMPLE.s3.account : undefined,
      region: provider === 'oss' ? EXAMPLE.oss.region : undefined,
      status,
      description: `pair-${i}`,
    }));
    sb = await startSandbox({ seed: seeds, pace: false });
    for (const job of sb.store.all()) {
      const pair = PAIRS[Number(job.description.slice('pair-'.length))]!;
      jobIds.set(key(pair.provider, pair.status, pair.requested), job.jobId);
    }
  });
  afterAll(async () => sb.close());

  it.each(PAIRS)('$provider: $status → $requested', async ({ provider, status, requested }) => {
    const jobId = jobIds.get(key(provider, status, requested))!;
    const want = expected(provider, status, requested);
    const reason = 'lifecycle table';
    const got = await send(sb, provider, jobId, requested, reason);
    if ('status' in want) {
      expect(got).toEqual({ httpStatus: 200, status: want.status, reason });
    } else if (provider === 'cos') {
      // COS's batch error table: a finished job is NoSuchJob (404) to UpdateJobStatus.
      expect(got).toEqual(
        TERMINAL.has(status)
          ? {
              httpStatus: 404,
              code: 'NoSuchJob',
              message: 'The specified job does not exist or has already been completed',
            }
          : { httpStatus: 400, code: 'InvalidRequest', message: 'Error with the job status change' },
      );
    } else if (provider === 's3') {
      expect(got).toMatchObject({ httpStatus: 400, code: 'JobStatusException' });
    } else {
      expect(got).toMatchObject({
        httpStatus: 400,
        code: 'InvalidRequest',
        ec: expect.stringMatching(/^0017-/),
      });
    }
    // A refusal leaves the job untouched.
    const after = sb.store.get({ provider, namespace: NAMESPACE[provider] }, jobId)!;
    expect(after.status).toBe('status' in want ? want.status : status);
  });
});

type Answer =
  | { httpStatus: number; status: string; reason: string }
  | { httpStatus: number; code: string; message?: string; ec?: string };

async function send(
  sb: Sandbox,
  provider: ProviderName,
  jobId: string,
  requested: Requestable,
  reason: string,
): Promise<Answer> {
  if (provider === 'cos') {
    const r = await cosCall(cosSdk(sb), sb, {
      method: 'POST',
      path: `/jobs/${jobId}/status`,
      query: { requestedJobStatus: requested, statusUpdateReason: reason },
    });
    if (!r.ok) return { httpStatus: r.error.statusCode, code: r.error.code, message: r.error.message };
    const body = r.result.body.UpdateJobStatusResult as Record<string, string>;
    return { httpStatus: r.result.statusCode, status: body.Status!, reason: body.StatusUpdateReason! };
  }
  if (provider === 's3') {
    const client = s3Sdk(sb);
    try {
      const out = await client.send(
        new UpdateJobStatusCommand({
          AccountId: EXAMPLE.s3.account,
          JobId: jobId,
          RequestedJobStatus: requested,
          StatusUpdateReason: reason,
        }),
      );
      return {
        httpStatus: out.$metadata.httpStatusCode ?? 0,
        status: out.Status!,
        reason: out.StatusUpdateReason!,
      };
    } catch (e) {
      if (!(e instanceof S3ControlServiceException)) throw e;
      return { httpStatus: e.$metadata.httpStatusCode ?? 0, code: e.name, message: e.message };
    } finally {
      client.destroy();
    }
  }
  const r = await ossCall(sb, {
    method: 'POST',
    query: {
      batchJobStatus: null,
      batchJobId: jobId,
      requestedJobStatus: requested,
      statusUpdateReason: reason,
    },
  });
  if (r.status === 200) {
    const body = r.xml!.UpdateJobStatusResult as Record<string, string>;
    return { httpStatus: 200, status: body.Status!, reason: body.StatusUpdateReason! };
  }
  const err = r.xml!.Error as Record<string, string>;
  return { httpStatus: r.status, code: err.Code!, message: err.Message!, ec: err.EC! };
}
