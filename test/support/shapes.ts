/**
 * The request shapes each provider documents (docs/reference.md § Providers), as
 * a checker over what a client actually sent: method, path and query keys of one of the four
 * operations, and the job id exactly where the provider expects it. Anything else is a request
 * that input shaped.
 */
import type { ProviderName } from '../../lib/providers/types';
import type { SentRequest } from './reliability';

export interface Shape {
  operation: 'UpdateJobStatus' | 'UpdateJobPriority' | 'DescribeJob' | 'ListJobs';
  /** The job id as the provider will read it (percent-decoded), for the operations that name one. */
  jobId?: string;
}

/** `[key, value]` pairs of a raw query, percent-decoded; a bare key has value null. */
function queryPairs(raw: string): [string, string | null][] | undefined {
  if (raw === '') return [];
  const out: [string, string | null][] = [];
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    try {
      if (eq < 0) out.push([decodeURIComponent(part), null]);
      else out.push([decodeURIComponent(part.slice(0, eq)), decodeURIComponent(part.slice(eq + 1))]);
    } catch {
      return undefined;
    }
  }
  return out;
}

const subset = (keys: string[], allowed: string[]) => keys.every((k) => allowed.includes(k));
const decode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/** The documented operation `r` is, or undefined if its method, path or query is of no documented shape. */
export function documentedShape(provider: ProviderName, r: SentRequest): Shape | undefined {
  const q = r.path.indexOf('?');
  const path = q < 0 ? r.path : r.path.slice(0, q);
  const pairs = queryPairs(q < 0 ? '' : r.path.slice(q + 1));
  if (!pairs) return undefined;
  const keys = pairs.map(([k]) => k);
  const value = (k: string) => pairs.find(([key]) => key === k)?.[1];

  if (provider === 'oss') {
    if (path !== '/') return undefined;
    const [sub, ...restKeys] = keys;
    if (r.method === 'POST' && sub === 'batchJobStatus' && value('batchJobStatus') === null) {
      if (!subset(restKeys, ['batchJobId', 'requestedJobStatus', 'statusUpdateReason'])) return undefined;
      return { operation: 'UpdateJobStatus', jobId: value('batchJobId') ?? '' };
    }
    if (r.method === 'POST' && sub === 'batchJobPriority' && value('batchJobPriority') === null) {
      if (!subset(restKeys, ['batchJobId', 'targetPriority'])) return undefined;
      return { operation: 'UpdateJobPriority', jobId: value('batchJobId') ?? '' };
    }
    if (r.method === 'GET' && sub === 'batchJob' && value('batchJob') === null) {
      if (keys.includes('batchJobId') && subset(restKeys, ['batchJobId']))
        return { operation: 'DescribeJob', jobId: value('batchJobId') ?? '' };
      if (subset(restKeys, ['batchJobStatuses', 'max-keys', 'continuation-token']))
        return { operation: 'ListJobs' };
    }
    return undefined;
  }

  const prefix = provider === 's3' ? '/v20180820/jobs' : '/jobs';
  if (!path.startsWith(prefix)) return undefined;
  const tail = path.slice(prefix.length);
  if (tail === '' && r.method === 'GET') {
    return subset(keys, ['jobStatuses', 'maxResults', 'nextToken']) ? { operation: 'ListJobs' } : undefined;
  }
  const m = /^\/([^/?#]+)(\/status|\/priority)?$/.exec(tail);
  if (!m) return undefined;
  const jobId = decode(m[1]!);
  if (jobId === undefined) return undefined;
  // A path segment the URL parser would resolve ("." or ".." in any encoding) is not a job id.
  if (/^(?:\.|%2e){1,2}$/i.test(m[1]!)) return undefined;
  if (provider === 's3' && !/^[A-Za-z0-9_-]{5,36}$/.test(jobId)) return undefined;
  if (m[2] === undefined)
    return r.method === 'GET' && keys.length === 0 ? { operation: 'DescribeJob', jobId } : undefined;
  if (r.method !== 'POST') return undefined;
  if (m[2] === '/status')
    return keys.includes('requestedJobStatus') && subset(keys, ['requestedJobStatus', 'statusUpdateReason'])
      ? { operation: 'UpdateJobStatus', jobId }
      : undefined;
  return keys.length === 1 && keys[0] === 'priority' ? { operation: 'UpdateJobPriority', jobId } : undefined;
}
