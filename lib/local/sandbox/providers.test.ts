/**
 * The project's own provider clients against the sandbox, through the `JobControl` interface the
 * controller uses: the same calls and the same error kinds for COS, OSS and S3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE } from '../../../test/support/sandbox';
import { createCosControl } from '../../providers/cos/client';
import { ProviderError } from '../../providers/errors';
import { closeIdleConnections } from '../../providers/http';
import { createOssControl } from '../../providers/oss/client';
import { createS3Control, type S3JobControl } from '../../providers/s3/client';
import type { JobControl, ProviderName, Target } from '../../providers/types';
import { type Sandbox, startSandbox } from './server';
import type { SeedJob } from './types';

const TARGETS: Record<ProviderName, Target> = EXAMPLE;

/** Per provider: a Suspended, an Active and a Complete job with ids in that provider's format. */
const IDS: Record<ProviderName, { suspended: string; active: string; complete: string; missing: string }> = {
  cos: {
    suspended: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
    active: '53dc6228-c50b-46f7-8ad7-65e7159f1aaf',
    complete: '53dc6228-c50b-46f7-8ad7-65e7159f1ab0',
    missing: '00000000-0000-4000-8000-000000000000',
  },
  oss: {
    suspended: Buffer.from('1'.repeat(32)).toString('base64'),
    active: Buffer.from('2'.repeat(32)).toString('base64'),
    complete: Buffer.from('3'.repeat(32)).toString('base64'),
    missing: Buffer.from('9'.repeat(32)).toString('base64'),
  },
  s3: { suspended: 'job-suspended', active: 'job-active', complete: 'job-complete', missing: 'job-missing' },
};

let sb: Sandbox;
let controls: Record<ProviderName, JobControl>;

beforeAll(async () => {
  const seed: SeedJob[] = (['cos', 'oss', 's3'] as const).flatMap((p) => {
    const t = TARGETS[p];
    const base = { provider: p, appId: t.appId, account: t.account, region: t.region };
    return [
      { ...base, jobId: IDS[p].suspended, status: 'Suspended', description: 'nightly-x', ageMinutes: 30 },
      { ...base, jobId: IDS[p].active, status: 'Active', description: 'bulk-x', ageMinutes: 20 },
      { ...base, jobId: IDS[p].complete, status: 'Complete', description: 'done', ageMinutes: 10 },
    ] satisfies SeedJob[];
  });
  sb = await startSandbox({ seed, pace: false });
  const key =
    <T>(v: T) =>
    async () =>
      v;
  controls = {
    cos: createCosControl({
      endpoint: sb.env.COS_ENDPOINT,
      credentials: key({
        accessKeyId: sb.credentials.cos.secretId,
        secretAccessKey: sb.credentials.cos.secretKey,
      }),
    }),
    oss: createOssControl({
      endpoint: sb.env.OSS_ENDPOINT,
      credentials: key({
        accessKeyId: sb.credentials.oss.accessKeyId,
        secretAccessKey: sb.credentials.oss.accessKeySecret,
      }),
    }),
    s3: createS3Control({
      endpoint: sb.env.AWS_ENDPOINT_URL_S3_CONTROL,
      credentials: {
        accessKeyId: sb.credentials.s3.accessKeyId,
        secretAccessKey: sb.credentials.s3.secretAccessKey,
      },
    }),
  };
});
afterAll(async () => {
  (controls.s3 as S3JobControl).close();
  closeIdleConnections();
  await sb.close();
});

const kindOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ProviderError) return { kind: e.kind, code: e.code, httpStatus: e.httpStatus };
    throw e;
  }
  throw new Error('expected a ProviderError');
};

describe.each(['cos', 'oss', 's3'] as const)('%s client', (p) => {
  it('describes a job', async () => {
    const job = await controls[p].describe(TARGETS[p], IDS[p].active);
    expect(job).toMatchObject({
      jobId: IDS[p].active,
      status: 'Active',
      priority: 10,
      description: 'bulk-x',
    });
    expect(Number.isNaN(Date.parse(job.creationTime ?? ''))).toBe(false);
  });

  it('lists newest first', async () => {
    const page = await controls[p].list(TARGETS[p], { maxResults: 10 });
    expect(page.jobs.map((j) => j.jobId)).toEqual([IDS[p].complete, IDS[p].active, IDS[p].suspended]);
    expect(page.nextToken).toBeNull();
  });

  it('pages a listing filtered on several statuses to the end', async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await controls[p].list(TARGETS[p], {
        statuses: ['Suspended', 'Complete'],
        maxResults: 1,
        nextToken,
      });
      seen.push(...page.jobs.map((j) => j.jobId));
      if (page.nextToken === null) break;
      nextToken = page.nextToken;
    }
    expect(seen.sort()).toEqual([IDS[p].complete, IDS[p].suspended].sort());
  });

  it('updates priority and status', async () => {
    expect(await controls[p].updatePriority(TARGETS[p], IDS[p].suspended, 42)).toMatchObject({
      priority: 42,
    });
    expect(await controls[p].updateStatus(TARGETS[p], IDS[p].suspended, 'Ready', 'window')).toMatchObject({
      jobId: IDS[p].suspended,
      status: 'Ready',
    });
  });

  it('reads a refused change as a conflict and an unknown job as not-found', async () => {
    // COS answers a change to a finished job with NoSuchJob (404), as its batch error table says.
    expect(
      await kindOf(controls[p].updateStatus(TARGETS[p], IDS[p].complete, 'Cancelled', undefined)),
    ).toMatchObject(
      p === 'cos'
        ? { kind: 'not-found', code: 'NoSuchJob', httpStatus: 404 }
        : { kind: 'conflict', httpStatus: 400 },
    );
    expect(await kindOf(controls[p].describe(TARGETS[p], IDS[p].missing))).toMatchObject({
      kind: 'not-found',
      httpStatus: 404,
    });
  });
});
