/**
 * COS batch-job wire format (cloud.tencent.com/document/product/436/38610 and siblings): errors
 * as `<Error><Code/><Message/><Resource/><RequestId/><TraceId/></Error>`, jobs as
 * `DescribeJobResult/Job` and `ListJobsResult/Jobs/member`, timestamps in ISO 8601.
 */
import { SandboxError } from '../errors';
import { failureReasons, jobListEntry, progressSummary } from '../jobXml';
import { iso } from '../params';
import type { JobStore } from '../store';
import type { SandboxJob } from '../types';
import { type XmlNode, xmlDocument } from '../xml';

export const cosError = {
  noSuchJob: () => new SandboxError('NoSuchJob', 404, 'The specified job does not exist'),
  finished: () =>
    new SandboxError('NoSuchJob', 404, 'The specified job does not exist or has already been completed'),
  invalidArgument: (message: string) => new SandboxError('InvalidArgument', 400, message),
  invalidRequest: (message: string) => new SandboxError('InvalidRequest', 400, message),
  malformed: (message: string) => new SandboxError('MalformedXML', 400, message),
};

export const COS_MESSAGES = {
  requestedStatus: 'The value of the requestedJobStatus parameter must be Cancelled or Ready',
  priority: 'Priority must be an integer between 0 and 2,147,483,647',
  noPriority: 'No job priority is provided',
  completed: 'The specified job has already been completed',
  statusChange: 'Error with the job status change',
  jobStatuses: 'The jobStatuses parameter is invalid',
  maxResults: 'The maxResults parameter must be a positive integer',
  nextToken: 'The nextToken parameter is invalid',
  reason: 'The statusUpdateReason parameter must be 0-256 bytes',
  appId: 'x-cos-appid cannot be empty',
} as const;

export function cosErrorBody(e: SandboxError, requestId: string, resource: string): string {
  return xmlDocument('Error', [
    ['Code', e.code],
    ['Message', e.message],
    ['Resource', resource],
    ['RequestId', requestId],
    ['TraceId', requestId],
  ]);
}

export function cosJobDescriptor(job: SandboxJob, store: JobStore): XmlNode {
  return [
    ['ConfirmationRequired', job.confirmationRequired],
    ['CreationTime', iso(job.creationTime)],
    ['Description', job.description],
    ['FailureReasons', failureReasons(job, 'JobFailure')],
    ['JobId', job.jobId],
    ['Operation', [[job.operation, '']]],
    ['Priority', job.priority],
    ['ProgressSummary', progressSummary(job, store)],
    ['Status', job.status],
    ['StatusUpdateReason', job.statusUpdateReason],
    ['SuspendedCause', job.suspendedDate === null ? null : 'AwaitingConfirmation'],
    ['SuspendedDate', iso(job.suspendedDate)],
    ['TerminationDate', iso(job.terminationTime)],
  ];
}

export function cosJobListEntry(job: SandboxJob, store: JobStore): XmlNode {
  return jobListEntry(job, store, iso);
}
