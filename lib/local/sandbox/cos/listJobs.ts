/**
 * COS ListJobs: `GET /jobs?jobStatuses=&maxResults=&nextToken=`, newest first; `nextToken` is the
 * last JobId of the previous page, as COS documents it.
 */
import { parsePageSize, parseStatuses } from '../params';
import { InvalidNextToken } from '../store';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { COS_MESSAGES, cosError, cosJobListEntry } from './wire';

export const listJobs: Operation = (req, store) => {
  const statuses = parseStatuses(req.query, 'jobStatuses');
  if (statuses === null) throw cosError.invalidArgument(COS_MESSAGES.jobStatuses);
  const maxResults = parsePageSize(req.query.get('maxResults'), 1, 1000, 1000);
  if (maxResults === undefined) throw cosError.invalidArgument(COS_MESSAGES.maxResults);
  const token = req.query.get('nextToken') || undefined;
  let page: ReturnType<typeof store.list>;
  try {
    page = store.list(req.scope, { statuses, maxResults, nextToken: token });
  } catch (e) {
    if (e instanceof InvalidNextToken) throw cosError.invalidArgument(COS_MESSAGES.nextToken);
    throw e;
  }
  return xmlDocument('ListJobsResult', [
    [
      'Jobs',
      page.jobs.map((job): [string, ReturnType<typeof cosJobListEntry>] => [
        'member',
        cosJobListEntry(job, store),
      ]),
    ],
    ['NextToken', page.nextToken],
  ]);
};
