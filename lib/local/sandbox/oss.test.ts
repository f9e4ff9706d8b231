/**
 * The OSS dialect, driven by requests signed with ali-oss's own `authorizationV4` (a signer nobody
 * on the team wrote): every operation, the documented errors with their EC, refused signatures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, errorOf, type OssCall, ossCall, rawRequest } from '../../../test/support/sandbox';
import { JOB_ID_PATTERNS } from './ids';
import { OSS_EC } from './oss/wire';
import { type Sandbox, startSandbox } from './server';
import type { Scope } from './types';

const REGION = EXAMPLE.oss.region;
const SCOPE: Scope = { provider: 'oss', namespace: REGION };
const STEP = 60_000;
const T0 = Date.UTC(2026, 10, 24, 1, 0, 0);
const t = T0;
let sb: Sandbox;

const ID = (n: number) => Buffer.from(`${String(n).padStart(32, '0')}`).toString('base64');
const SUSPENDED_1 = ID(1);
const SUSPENDED_2 = ID(2);
const ACTIVE_1 = ID(3);
const COMPLETE_1 = ID(4);
const PREPARING_1 = ID(5);

beforeAll(async () => {
  sb = await startSandbox({
    now: () => t,
    pace: { stepMs: STEP },
    seed: [
      {
        provider: 'oss',
        region: REGION,
        jobId: SUSPENDED_1,
        status: 'Suspended',
        description: 'nightly-a',
        ageMinutes: 30,
      },
      {
        provider: 'oss',
        region: REGION,
        jobId: SUSPENDED_2,
        status: 'Suspended',
        description: 'nightly-b',
        ageMinutes: 20,
      },
      {
        provider: 'oss',
        region: REGION,
        jobId: ACTIVE_1,
        status: 'Active',
        description: 'bulk-a',
        ageMinutes: 10,
        priority: 40,
      },
      {
        provider: 'oss',
        region: REGION,
        jobId: COMPLETE_1,
        status: 'Complete',
        description: 'done',
        ageMinutes: 500,
      },
      {
        provider: 'oss',
        region: REGION,
        jobId: PREPARING_1,
        status: 'Preparing',
        description: 'prep',
        ageMinutes: 1,
        confirmationRequired: true,
      },
      {
        provider: 'oss',
        region: 'cn-shanghai',
        jobId: ID(9),
        status: 'Suspended',
        description: 'nightly-sh',
      },
    ],
  });
});
afterAll(async () => sb.close());

const ok = async (call: OssCall) => {
  const r = await ossCall(sb, call);
  if (r.status !== 200) throw new Error(`expected 200, got ${r.status}: ${r.body}`);
  return r.xml!;
};

describe('operations', () => {
  it('CreateJob: POST /?batchJob makes a job with an OSS-shaped id', async () => {
    const body =
      '<CreateJobRequest><ConfirmationRequired>true</ConfirmationRequired><Priority>3</Priority>' +
      '<Description>nightly-created</Description><Operation><PutObjectTagging><TagSet/></PutObjectTagging></Operation>' +
      '<ClientRequestToken>oss-token</ClientRequestToken></CreateJobRequest>';
    const r = await ok({ method: 'POST', query: { batchJob: null }, body });
    const jobId = (r.CreateJobResult as { JobId: string }).JobId;
    expect(jobId).toMatch(JOB_ID_PATTERNS.oss);
    expect(jobId).toHaveLength(44);
    expect(sb.store.get(SCOPE, jobId)).toMatchObject({ status: 'New', priority: 3, region: REGION });
    // The same token again is the same job.
    const again = await ok({ method: 'POST', query: { batchJob: null }, body });
    expect((again.CreateJobResult as { JobId: string }).JobId).toBe(jobId);
  });

  it('DescribeJob: GET /?batchJob&batchJobId= with epoch-second timestamps', async () => {
    const r = await ok({ method: 'GET', query: { batchJob: null, batchJobId: ACTIVE_1 } });
    expect((r.DescribeJobResult as { Job: unknown }).Job).toMatchObject({
      JobId: ACTIVE_1,
      Status: 'Active',
      Priority: '40',
      Description: 'bulk-a',
      ConfirmationRequired: 'false',
      CreationTime: String((T0 - 10 * 60_000) / 1000),
      ProgressSummary: { TotalNumberOfTasks: '1000' },
    });
  });

  it('ListJobs: `|`-separated statuses, max-keys and continuation-token', async () => {
    const first = await ok({
      method: 'GET',
      query: { batchJob: null, batchJobStatuses: 'Suspended|Complete', 'max-keys': '2' },
    });
    const page1 = first.ListJobsResult as {
      NextToken: string;
      Jobs: { JobListDescriptor: { JobId: string }[] };
    };
    const second = await ok({
      method: 'GET',
      query: {
        batchJob: null,
        batchJobStatuses: 'Suspended|Complete',
        'max-keys': '2',
        'continuation-token': page1.NextToken,
      },
    });
    const page2 = second.ListJobsResult as { NextToken?: string; Jobs: { JobListDescriptor: unknown } };
    const ids = [...page1.Jobs.JobListDescriptor, ...[page2.Jobs.JobListDescriptor].flat()].map(
      (j) => (j as { JobId: string }).JobId,
    );
    expect(ids).toEqual([SUSPENDED_2, SUSPENDED_1, COMPLETE_1]);
    expect(page2.NextToken).toBeUndefined();
  });

  it('ListJobs: namespaced by the signature’s region', async () => {
    const r = await ok({ method: 'GET', query: { batchJob: null }, region: 'cn-shanghai' });
    const list = r.ListJobsResult as { Jobs: { JobListDescriptor: { JobId: string } } };
    expect(list.Jobs.JobListDescriptor.JobId).toBe(ID(9));
  });

  it('UpdateJobStatus: Ready from Preparing (OSS only) and from Suspended; cancel lands in Cancelling', async () => {
    for (const jobId of [PREPARING_1, SUSPENDED_1]) {
      const r = await ok({
        method: 'POST',
        query: {
          batchJobStatus: null,
          batchJobId: jobId,
          requestedJobStatus: 'Ready',
          statusUpdateReason: 'go now',
        },
      });
      expect(r.UpdateJobStatusResult).toEqual({
        JobId: jobId,
        Status: 'Ready',
        StatusUpdateReason: 'go now',
      });
    }
    const c = await ok({
      method: 'POST',
      query: { batchJobStatus: null, batchJobId: SUSPENDED_2, requestedJobStatus: 'Cancelled' },
    });
    expect((c.UpdateJobStatusResult as { Status: string }).Status).toBe('Cancelling');
  });

  it('UpdateJobPriority: POST /?batchJobPriority&targetPriority=', async () => {
    const r = await ok({
      method: 'POST',
      query: { batchJobPriority: null, batchJobId: ACTIVE_1, targetPriority: '9' },
    });
    expect(r.UpdateJobPriorityResult).toEqual({ JobId: ACTIVE_1, Priority: '9' });
  });
});

describe('documented errors', () => {
  const cases: { name: string; call: OssCall; status: number; code: string; ec: string }[] = [
    {
      name: 'DescribeJob of an unknown job',
      call: { method: 'GET', query: { batchJob: null, batchJobId: ID(77) } },
      status: 404,
      code: 'NoSuchJob',
      ec: OSS_EC.noSuchJob,
    },
    {
      name: 'UpdateJobStatus of an unknown job',
      call: {
        method: 'POST',
        query: { batchJobStatus: null, batchJobId: ID(77), requestedJobStatus: 'Ready' },
      },
      status: 404,
      code: 'NoSuchJob',
      ec: OSS_EC.noSuchJob,
    },
    {
      name: 'UpdateJobPriority of an unknown job',
      call: { method: 'POST', query: { batchJobPriority: null, batchJobId: ID(77), targetPriority: '1' } },
      status: 404,
      code: 'NoSuchJob',
      ec: OSS_EC.noSuchJob,
    },
    {
      name: 'a status change the job does not allow',
      call: {
        method: 'POST',
        query: { batchJobStatus: null, batchJobId: COMPLETE_1, requestedJobStatus: 'Cancelled' },
      },
      status: 400,
      code: 'InvalidRequest',
      ec: OSS_EC.invalidRequest,
    },
    {
      name: 'requestedJobStatus other than Ready/Cancelled',
      call: {
        method: 'POST',
        query: { batchJobStatus: null, batchJobId: ACTIVE_1, requestedJobStatus: 'Paused' },
      },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'an empty statusUpdateReason (OSS takes 1–256)',
      call: {
        method: 'POST',
        query: {
          batchJobStatus: null,
          batchJobId: ACTIVE_1,
          requestedJobStatus: 'Cancelled',
          statusUpdateReason: '',
        },
      },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'targetPriority out of range',
      call: {
        method: 'POST',
        query: { batchJobPriority: null, batchJobId: ACTIVE_1, targetPriority: '2147483648' },
      },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'targetPriority missing',
      call: { method: 'POST', query: { batchJobPriority: null, batchJobId: ACTIVE_1 } },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'batchJobId missing',
      call: { method: 'POST', query: { batchJobStatus: null, requestedJobStatus: 'Ready' } },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'batchJobStatuses with a non-status',
      call: { method: 'GET', query: { batchJob: null, batchJobStatuses: 'Active|Running' } },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'max-keys 0',
      call: { method: 'GET', query: { batchJob: null, 'max-keys': '0' } },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'a continuation-token that names no job',
      call: { method: 'GET', query: { batchJob: null, 'continuation-token': 'bogus' } },
      status: 400,
      code: 'InvalidArgument',
      ec: OSS_EC.invalidArgument,
    },
    {
      name: 'CreateJob with a body that is not XML',
      call: { method: 'POST', query: { batchJob: null }, body: 'not xml' },
      status: 400,
      code: 'MalformedXML',
      ec: OSS_EC.malformed,
    },
  ];

  it.each(cases)('$name → $status $code', async ({ call, status, code, ec }) => {
    const r = await ossCall(sb, call);
    const err = errorOf(r);
    expect({ status: r.status, code: err.Code, ec: err.EC }).toEqual({ status, code, ec });
    expect(r.headers['x-oss-ec']).toBe(ec);
    expect(err.RequestId).toBe(r.headers['x-oss-request-id']);
  });
});

describe('signatures', () => {
  const cancel: OssCall = {
    method: 'POST',
    query: { batchJobStatus: null, batchJobId: ACTIVE_1, requestedJobStatus: 'Cancelled' },
  };

  it.each([
    [
      'a query changed after signing',
      { tamper: (r: { query: Record<string, string | null> }) => (r.query.batchJobId = COMPLETE_1) },
      'SignatureDoesNotMatch',
    ],
    [
      'a flipped signature character',
      {
        tamper: (r: { headers: Record<string, string> }) =>
          (r.headers.authorization = r.headers.authorization!.replace(
            /Signature=(.)/,
            (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`,
          )),
      },
      'SignatureDoesNotMatch',
    ],
    ['a wrong secret', { accessKeySecret: 'not-the-sandbox-secret' }, 'SignatureDoesNotMatch'],
    ['an unknown access key id', { accessKeyId: 'LTAI5tUnknown000000000' }, 'InvalidAccessKeyId'],
  ] as [string, Partial<OssCall>, string][])('refuses %s with 403 %s', async (_name, change, code) => {
    const r = await ossCall(sb, { ...cancel, ...change });
    const err = errorOf(r);
    expect({ status: r.status, code: err.Code, ec: err.EC }).toEqual({ status: 403, code, ec: OSS_EC.auth });
    expect(sb.store.get(SCOPE, ACTIVE_1)!.status).toBe('Active');
  });

  it('refuses a request without Authorization', async () => {
    const r = await rawRequest(`${sb.url}/?batchJob`, { method: 'GET' });
    expect({ status: r.status, code: errorOf(r).Code }).toEqual({
      status: 403,
      code: 'AccessDenied',
    });
  });

  it('accepts the unaltered request (the control for the cases above)', async () => {
    const r = await ossCall(sb, cancel);
    expect(r.status).toBe(200);
    expect(sb.store.get(SCOPE, ACTIVE_1)!.status).toBe('Cancelling');
  });
});
