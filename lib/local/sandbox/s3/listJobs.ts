/**
 * S3 ListJobs: `GET /v20180820/jobs?jobStatuses=…&jobStatuses=…&maxResults=&nextToken=`, newest
 * first, `<Jobs><member/>…</Jobs>`; maxResults 0–1000 as the API documents.
 */
import { parsePageSize, parseStatuses } from '../params';
import { InvalidNextToken } from '../store';
import type { Operation } from '../types';
import type { XmlNode } from '../xml';
import { s3Document, s3Error, s3JobListEntry } from './wire';

export const listJobs: Operation = (req, store) => {
  const statuses = parseStatuses(req.query, 'jobStatuses');
  if (statuses === null)
    throw s3Error.invalidRequest('jobStatuses contains a value that is not a job status');
  const maxResults = parsePageSize(req.query.get('maxResults'), 0, 1000, 1000);
  if (maxResults === undefined) throw s3Error.invalidRequest('maxResults must be an integer from 0 to 1000');
  let page: ReturnType<typeof store.list>;
  try {
    page = store.list(req.scope, {
      statuses,
      maxResults,
      nextToken: req.query.get('nextToken') || undefined,
    });
  } catch (e) {
    if (e instanceof InvalidNextToken) throw s3Error.invalidNextToken();
    throw e;
  }
  return s3Document('ListJobsResult', [
    ['NextToken', page.nextToken],
    ['Jobs', page.jobs.map((job): [string, XmlNode] => ['member', s3JobListEntry(job, store)])],
  ]);
};
