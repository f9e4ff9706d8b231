/**
 * Which provider and operation a request is, from its method, path and sub-resources alone:
 * COS `/jobs…`, S3 `/v20180820/jobs…`, OSS `/?batchJob…`. The table below is the whole API surface.
 */
import type { ProviderName } from '../../providers/types';
import * as cos from './cos/operations';
import * as oss from './oss/operations';
import * as s3 from './s3/operations';
import type { Operation, QueryParams } from './types';

export const OPERATION_NAMES = [
  'CreateJob',
  'DescribeJob',
  'ListJobs',
  'UpdateJobStatus',
  'UpdateJobPriority',
] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

export type Route =
  | {
      ok: true;
      provider: ProviderName;
      operation: OperationName;
      handler: Operation;
      jobId: string | undefined;
    }
  | { ok: false; provider: ProviderName | null; httpStatus: 404 | 405 };

type PathRoutes = [method: string, pattern: RegExp, operation: OperationName, handler: Operation][];

const COS: PathRoutes = [
  ['POST', /^\/jobs$/, 'CreateJob', cos.createJob],
  ['GET', /^\/jobs$/, 'ListJobs', cos.listJobs],
  ['GET', /^\/jobs\/([^/]+)$/, 'DescribeJob', cos.describeJob],
  ['POST', /^\/jobs\/([^/]+)\/status$/, 'UpdateJobStatus', cos.updateJobStatus],
  ['POST', /^\/jobs\/([^/]+)\/priority$/, 'UpdateJobPriority', cos.updateJobPriority],
];

const S3: PathRoutes = [
  ['POST', /^\/v20180820\/jobs$/, 'CreateJob', s3.createJob],
  ['GET', /^\/v20180820\/jobs$/, 'ListJobs', s3.listJobs],
  ['GET', /^\/v20180820\/jobs\/([^/]+)$/, 'DescribeJob', s3.describeJob],
  ['POST', /^\/v20180820\/jobs\/([^/]+)\/status$/, 'UpdateJobStatus', s3.updateJobStatus],
  ['POST', /^\/v20180820\/jobs\/([^/]+)\/priority$/, 'UpdateJobPriority', s3.updateJobPriority],
];

/** OSS routes on the sub-resource: [method, sub-resource, has batchJobId?]. */
const OSS: [
  method: string,
  sub: string,
  withId: boolean | null,
  operation: OperationName,
  handler: Operation,
][] = [
  ['POST', 'batchJob', null, 'CreateJob', oss.createJob],
  ['GET', 'batchJob', true, 'DescribeJob', oss.describeJob],
  ['GET', 'batchJob', false, 'ListJobs', oss.listJobs],
  ['POST', 'batchJobStatus', null, 'UpdateJobStatus', oss.updateJobStatus],
  ['POST', 'batchJobPriority', null, 'UpdateJobPriority', oss.updateJobPriority],
];
const OSS_SUBRESOURCES = new Set(OSS.map((r) => r[1]));

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function byPath(routes: PathRoutes, provider: ProviderName, method: string, path: string): Route {
  let pathMatched = false;
  for (const [m, pattern, operation, handler] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (m !== method) continue;
    const raw = match[1];
    const jobId = raw === undefined ? undefined : decodeSegment(raw);
    if (raw !== undefined && jobId === undefined) return { ok: false, provider, httpStatus: 404 };
    return { ok: true, provider, operation, handler, jobId };
  }
  return { ok: false, provider, httpStatus: pathMatched ? 405 : 404 };
}

export function route(method: string, rawPath: string, query: QueryParams): Route {
  if (rawPath === '/v20180820' || rawPath.startsWith('/v20180820/')) return byPath(S3, 's3', method, rawPath);
  if (rawPath === '/jobs' || rawPath.startsWith('/jobs/')) return byPath(COS, 'cos', method, rawPath);
  if (rawPath === '/' && [...OSS_SUBRESOURCES].some((s) => query.has(s))) {
    const hasId = query.has('batchJobId');
    let sawSub = false;
    for (const [m, sub, withId, operation, handler] of OSS) {
      if (!query.has(sub)) continue;
      sawSub = true;
      if (m !== method || (withId !== null && withId !== hasId)) continue;
      return { ok: true, provider: 'oss', operation, handler, jobId: query.get('batchJobId') || undefined };
    }
    return { ok: false, provider: 'oss', httpStatus: sawSub ? 405 : 404 };
  }
  return { ok: false, provider: null, httpStatus: 404 };
}
