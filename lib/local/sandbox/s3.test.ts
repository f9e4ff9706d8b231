/**
 * The S3 Control dialect, driven by @aws-sdk/client-s3-control with its own endpointProvider
 * pointing at the sandbox: every operation, every modeled error, and refused signatures.
 */

import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  DescribeJobCommand,
  ListJobsCommand,
  paginateListJobs,
  S3ControlClient,
  S3ControlServiceException,
  UpdateJobPriorityCommand,
  UpdateJobStatusCommand,
} from '@aws-sdk/client-s3-control';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, errorOf, rawRequest, s3Sdk } from '../../../test/support/sandbox';
import { JOB_ID_PATTERNS } from './ids';
import { generateJobs } from './seed';
import { type Sandbox, startSandbox } from './server';
import type { Scope } from './types';

const ACCOUNT = EXAMPLE.s3.account;
const SCOPE: Scope = { provider: 's3', namespace: ACCOUNT };
const BIG_ACCOUNT = '210987654321';
const STEP = 60_000;
const T0 = Date.UTC(2026, 10, 24, 1, 0, 0);
let t = T0;
let sb: Sandbox;
let s3: ReturnType<typeof s3Sdk>;

beforeAll(async () => {
  sb = await startSandbox({
    now: () => t,
    pace: { stepMs: STEP },
    seed: [
      {
        provider: 's3',
        account: ACCOUNT,
        region: 'us-east-1',
        jobId: 'suspended-0001',
        status: 'Suspended',
        description: 'nightly-a',
        ageMinutes: 30,
      },
      {
        provider: 's3',
        account: ACCOUNT,
        jobId: 'suspended-0002',
        status: 'Suspended',
        description: 'nightly-b',
        ageMinutes: 20,
      },
      {
        provider: 's3',
        account: ACCOUNT,
        jobId: 'active-0001',
        status: 'Active',
        description: 'bulk-a',
        ageMinutes: 10,
        priority: 40,
        totalTasks: 500,
      },
      {
        provider: 's3',
        account: ACCOUNT,
        jobId: 'complete-0001',
        status: 'Complete',
        description: 'done',
        ageMinutes: 500,
      },
      ...generateJobs(2500, { provider: 's3', account: BIG_ACCOUNT }),
    ],
  });
  s3 = s3Sdk(sb);
});
afterAll(async () => {
  s3.destroy();
  await sb.close();
});

async function refusal(
  p: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; requestId?: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof S3ControlServiceException)
      return { name: e.name, status: e.$metadata.httpStatusCode, requestId: e.$metadata.requestId };
    throw e;
  }
  throw new Error('expected the request to be refused');
}

const createInput = (over: Partial<CreateJobCommandInput> = {}): CreateJobCommandInput => ({
  AccountId: ACCOUNT,
  ConfirmationRequired: true,
  Operation: { S3PutObjectTagging: { TagSet: [{ Key: 'tier', Value: 'cold' }] } },
  Report: { Enabled: false },
  ClientRequestToken: 'token-1',
  Priority: 12,
  RoleArn: 'arn:aws:iam::123456789012:role/batch',
  Description: 'nightly-created',
  Manifest: {
    Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
    Location: { ObjectArn: 'arn:aws:s3:::manifests/m.csv', ETag: 'abc' },
  },
  ...over,
});

describe('operations', () => {
  it('CreateJob: creates a job in New; the same ClientRequestToken returns the same job', async () => {
    const a = await s3.send(new CreateJobCommand(createInput()));
    expect(a.JobId).toMatch(JOB_ID_PATTERNS.s3);
    const again = await s3.send(new CreateJobCommand(createInput()));
    expect(again.JobId).toBe(a.JobId);
    expect(sb.store.get(SCOPE, a.JobId!)).toMatchObject({
      status: 'New',
      priority: 12,
      operation: 'S3PutObjectTagging',
      region: 'us-east-1',
    });
    t += 2 * STEP;
    const d = await s3.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: a.JobId! }));
    expect(d.Job?.Status).toBe('Suspended');
    expect(d.Job?.SuspendedDate).toEqual(new Date(t));
  });

  it('DescribeJob: returns the job as the SDK models it', async () => {
    const d = await s3.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: 'active-0001' }));
    expect(d.Job).toMatchObject({
      JobId: 'active-0001',
      Status: 'Active',
      Priority: 40,
      Description: 'bulk-a',
      ConfirmationRequired: false,
      JobArn: `arn:aws:s3:us-east-1:${ACCOUNT}:job/active-0001`,
      CreationTime: new Date(T0 - 10 * 60_000),
      ProgressSummary: { TotalNumberOfTasks: 500, NumberOfTasksFailed: 0 },
    });
    // Two steps of five in Active: two fifths done.
    expect(d.Job?.ProgressSummary?.NumberOfTasksSucceeded).toBe(200);
    expect(d.Job?.ProgressSummary?.Timers?.ElapsedTimeInActiveSeconds).toBe((2 * STEP) / 1000);
  });

  it('ListJobs: filters on several statuses, newest first', async () => {
    const r = await s3.send(new ListJobsCommand({ AccountId: ACCOUNT, JobStatuses: ['Active', 'Complete'] }));
    expect(r.Jobs?.map((j) => [j.JobId, j.Status])).toEqual([
      ['active-0001', 'Active'],
      ['complete-0001', 'Complete'],
    ]);
    expect(r.NextToken).toBeUndefined();
  });

  it('ListJobs: the SDK paginator walks 2,500 jobs in pages of 1,000', async () => {
    const pages: number[] = [];
    const ids = new Set<string>();
    for await (const page of paginateListJobs(
      { client: s3, pageSize: 1000 },
      { AccountId: BIG_ACCOUNT, JobStatuses: ['Suspended'] },
    )) {
      pages.push(page.Jobs?.length ?? 0);
      for (const j of page.Jobs ?? []) ids.add(j.JobId!);
    }
    expect(pages).toEqual([1000, 1000, 500]);
    expect(ids.size).toBe(2500);
  });

  it('UpdateJobStatus: confirms a Suspended job and cancels another', async () => {
    const ready = await s3.send(
      new UpdateJobStatusCommand({
        AccountId: ACCOUNT,
        JobId: 'suspended-0001',
        RequestedJobStatus: 'Ready',
        StatusUpdateReason: 'window open',
      }),
    );
    expect([ready.JobId, ready.Status, ready.StatusUpdateReason]).toEqual([
      'suspended-0001',
      'Ready',
      'window open',
    ]);
    const cancel = await s3.send(
      new UpdateJobStatusCommand({
        AccountId: ACCOUNT,
        JobId: 'suspended-0002',
        RequestedJobStatus: 'Cancelled',
      }),
    );
    expect(cancel.Status).toBe('Cancelling');
    t += STEP;
    expect(sb.store.get(SCOPE, 'suspended-0002')!.status).toBe('Cancelled');
    expect(sb.store.get(SCOPE, 'suspended-0001')!.status).toBe('Active');
  });

  it('UpdateJobPriority: sets the priority', async () => {
    const r = await s3.send(
      new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'active-0001', Priority: 0 }),
    );
    expect([r.JobId, r.Priority]).toEqual(['active-0001', 0]);
  });

  it('scopes jobs by region too: a request signed for another region finds no job, as S3 answers', async () => {
    const west = new S3ControlClient({
      region: 'us-west-2',
      credentials: {
        accessKeyId: sb.credentials.s3.accessKeyId,
        secretAccessKey: sb.credentials.s3.secretAccessKey,
      },
      endpointProvider: () => ({ url: new URL(sb.url) }),
      maxAttempts: 1,
    });
    const err = await west
      .send(
        new UpdateJobStatusCommand({
          AccountId: ACCOUNT,
          JobId: 'suspended-0001',
          RequestedJobStatus: 'Cancelled',
        }),
      )
      .catch((e: S3ControlServiceException) => e);
    expect(err).toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
    const listed = await west.send(new ListJobsCommand({ AccountId: ACCOUNT }));
    expect((listed.Jobs ?? []).map((j) => j.JobId)).not.toContain('suspended-0001');
    // The right region still sees it, untouched.
    const d = await s3.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: 'suspended-0001' }));
    expect(d.Job?.JobId).toBe('suspended-0001');
  });

  it('keeps accounts apart: another account sees none of these jobs', async () => {
    const r = await s3.send(new ListJobsCommand({ AccountId: '999999999999' }));
    expect(r.Jobs ?? []).toEqual([]);
  });
});

describe('modeled errors', () => {
  const cases: { name: string; send: () => Promise<unknown>; error: string; status: number }[] = [
    {
      name: 'DescribeJob of an unknown job',
      send: () => s3.send(new DescribeJobCommand({ AccountId: ACCOUNT, JobId: 'no-such-job' })),
      error: 'NotFoundException',
      status: 404,
    },
    {
      name: 'UpdateJobStatus of an unknown job',
      send: () =>
        s3.send(
          new UpdateJobStatusCommand({
            AccountId: ACCOUNT,
            JobId: 'no-such-job',
            RequestedJobStatus: 'Ready',
          }),
        ),
      error: 'NotFoundException',
      status: 404,
    },
    {
      name: 'UpdateJobPriority of an unknown job',
      send: () =>
        s3.send(new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'no-such-job', Priority: 1 })),
      error: 'NotFoundException',
      status: 404,
    },
    {
      name: 'a status change the job does not allow',
      send: () =>
        s3.send(
          new UpdateJobStatusCommand({
            AccountId: ACCOUNT,
            JobId: 'complete-0001',
            RequestedJobStatus: 'Cancelled',
          }),
        ),
      error: 'JobStatusException',
      status: 400,
    },
    {
      // An error the S3 Control model declares for UpdateJobPriority (JobStatusException is not one).
      name: 'a priority change on a finished job',
      send: () =>
        s3.send(new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'complete-0001', Priority: 1 })),
      error: 'BadRequestException',
      status: 400,
    },
    {
      name: 'requestedJobStatus other than Ready/Cancelled',
      send: () =>
        s3.send(
          new UpdateJobStatusCommand({
            AccountId: ACCOUNT,
            JobId: 'active-0001',
            RequestedJobStatus: 'Active' as 'Ready',
          }),
        ),
      error: 'BadRequestException',
      status: 400,
    },
    {
      name: 'priority above 2147483647',
      send: () =>
        s3.send(
          new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'active-0001', Priority: 2147483648 }),
        ),
      error: 'BadRequestException',
      status: 400,
    },
    {
      name: 'a nextToken that names no job',
      send: () => s3.send(new ListJobsCommand({ AccountId: ACCOUNT, NextToken: 'bogus' })),
      error: 'InvalidNextTokenException',
      status: 400,
    },
    {
      name: 'jobStatuses with a non-status',
      send: () => s3.send(new ListJobsCommand({ AccountId: ACCOUNT, JobStatuses: ['Running' as 'Active'] })),
      error: 'InvalidRequestException',
      status: 400,
    },
    {
      name: 'maxResults above 1000',
      send: () => s3.send(new ListJobsCommand({ AccountId: ACCOUNT, MaxResults: 1001 })),
      error: 'InvalidRequestException',
      status: 400,
    },
    {
      name: 'CreateJob reusing a token for a different job',
      send: () => s3.send(new CreateJobCommand(createInput({ Priority: 99 }))),
      error: 'IdempotencyException',
      status: 409,
    },
    {
      name: 'CreateJob with a priority out of range',
      send: () => s3.send(new CreateJobCommand(createInput({ ClientRequestToken: 'token-2', Priority: -1 }))),
      error: 'BadRequestException',
      status: 400,
    },
  ];

  it.each(cases)('$name → $status $error', async ({ send, error, status }) => {
    const r = await refusal(send());
    expect({ name: r.name, status: r.status }).toEqual({ name: error, status });
    expect(r.requestId).toMatch(/^[0-9A-F]{24}$/);
  });
});

describe('signatures', () => {
  it.each([
    [
      'a wrong secret key',
      { secretAccessKey: 'not/the/sandbox/secret/key/000000000000' },
      'SignatureDoesNotMatch',
    ],
    ['an unknown access key id', { accessKeyId: 'AKIAUNKNOWN000000000' }, 'InvalidAccessKeyId'],
  ])('refuses %s with 403 %s', async (_name, key, code) => {
    const client = s3Sdk(sb, key);
    try {
      const r = await refusal(client.send(new ListJobsCommand({ AccountId: ACCOUNT })));
      expect({ name: r.name, status: r.status }).toEqual({ name: code, status: 403 });
    } finally {
      client.destroy();
    }
  });

  it('refuses a request changed after the SDK signed it', async () => {
    const client = s3Sdk(sb);
    // The deserialize step runs after signing: change the query the signature covered.
    client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { query: Record<string, string> };
        req.query.priority = '77';
        return next(args);
      },
      { step: 'deserialize', name: 'tamper' },
    );
    try {
      const r = await refusal(
        client.send(new UpdateJobPriorityCommand({ AccountId: ACCOUNT, JobId: 'active-0001', Priority: 5 })),
      );
      expect({ name: r.name, status: r.status }).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
      expect(sb.store.get(SCOPE, 'active-0001')!.priority).toBe(0);
    } finally {
      client.destroy();
    }
  });

  /** A request signed with AWS's own signer, for what the SDK would never send. */
  async function signedRaw(headers: Record<string, string>, date = new Date()) {
    const url = new URL(`${sb.url}/v20180820/jobs`);
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: sb.credentials.s3.accessKeyId,
        secretAccessKey: sb.credentials.s3.secretAccessKey,
      },
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: {},
        headers: { host: url.host, ...headers },
      },
      { signingDate: date },
    );
    return rawRequest(url.href, { method: 'GET', headers: signed.headers as Record<string, string> });
  }

  it('accepts a request signed by AWS’s signer (the control for the cases below)', async () => {
    const r = await signedRaw({ 'x-amz-account-id': ACCOUNT });
    expect(r.status).toBe(200);
    expect(Object.keys(r.xml ?? {})).toContain('ListJobsResult');
  });

  it('refuses a request without x-amz-account-id', async () => {
    const r = await signedRaw({});
    expect(r.status).toBe(400);
    expect(errorOf(r)).toEqual({
      Code: 'InvalidRequest',
      Message: 'Missing required header for this request: x-amz-account-id',
    });
  });

  it('refuses a request signed more than 15 minutes off', async () => {
    const r = await signedRaw({ 'x-amz-account-id': ACCOUNT }, new Date(Date.now() - 16 * 60_000));
    expect(r.status).toBe(403);
    expect(errorOf(r).Code).toBe('RequestTimeTooSkewed');
  });

  it('refuses a request without Authorization as AccessDenied', async () => {
    const r = await rawRequest(`${sb.url}/v20180820/jobs`, {
      method: 'GET',
      headers: { 'x-amz-account-id': ACCOUNT },
    });
    expect(r.status).toBe(403);
    expect(errorOf(r).Code).toBe('AccessDenied');
    expect(r.headers['x-amz-request-id']).toMatch(/^[0-9A-F]{24}$/);
  });
});
