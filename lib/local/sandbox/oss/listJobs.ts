/**
 * OSS ListJobs: `GET /?batchJob&batchJobStatuses=&max-keys=&continuation-token=`, newest first;
 * statuses as one value separated by `|` (as OSS documents) or `,`, max-keys 1–1000 (default 100).
 */
import { parsePageSize, parseStatuses } from '../params';
import { InvalidNextToken } from '../store';
import type { Operation } from '../types';
import { type XmlNode, xmlDocument } from '../xml';
import { ossError, ossJobListEntry } from './wire';

export const listJobs: Operation = (req, store) => {
  const statuses = parseStatuses(req.query, 'batchJobStatuses');
  if (statuses === null)
    throw ossError.invalidArgument('batchJobStatuses contains a value that is not a job status');
  const maxResults = parsePageSize(req.query.get('max-keys'), 1, 1000, 100);
  if (maxResults === undefined) throw ossError.invalidArgument('max-keys must be an integer from 1 to 1000');
  let page: ReturnType<typeof store.list>;
  try {
    page = store.list(req.scope, {
      statuses,
      maxResults,
      nextToken: req.query.get('continuation-token') || undefined,
    });
  } catch (e) {
    if (e instanceof InvalidNextToken) throw ossError.invalidArgument('The continuation-token is not valid');
    throw e;
  }
  return xmlDocument('ListJobsResult', [
    ['NextToken', page.nextToken],
    ['Jobs', page.jobs.map((job): [string, XmlNode] => ['JobListDescriptor', ossJobListEntry(job, store)])],
  ]);
};
