/**
 * OSS batch-job wire format (help.aliyun.com …/developer-reference/listjobs and siblings): errors as
 * `<Error><Code/><Message/><RequestId/><HostId/><EC/></Error>`, jobs as `DescribeJobResult/Job` and
 * `ListJobsResult/Jobs/JobListDescriptor`, timestamps in epoch seconds as OSS documents them.
 *
 * EC values: `0017-00001002` (invalid job id) is Alibaba's documented one; the others are
 * sandbox-assigned in a `…-9…` range that real OSS does not use, so nobody mistakes them for OSS's.
 */
import { SandboxError } from '../errors';
import { failureReasons, jobListEntry, progressSummary } from '../jobXml';
import { epochSeconds } from '../params';
import type { JobStore } from '../store';
import type { SandboxJob } from '../types';
import { type XmlNode, xmlDocument } from '../xml';

export const OSS_EC = {
  noSuchJob: '0017-00001002',
  invalidArgument: '0017-90000001',
  invalidRequest: '0017-90000002',
  malformed: '0017-90000003',
  auth: '0002-90000001',
  fault: '0000-90000001',
} as const;

export const ossError = {
  noSuchJob: () => new SandboxError('NoSuchJob', 404, 'The specified job does not exist', OSS_EC.noSuchJob),
  invalidArgument: (message: string) =>
    new SandboxError('InvalidArgument', 400, message, OSS_EC.invalidArgument),
  invalidRequest: (message: string) =>
    new SandboxError('InvalidRequest', 400, message, OSS_EC.invalidRequest),
  malformed: (message: string) => new SandboxError('MalformedXML', 400, message, OSS_EC.malformed),
};

export const OSS_MESSAGES = {
  requestedStatus: 'requestedJobStatus must be Cancelled or Ready',
  priority: 'targetPriority must be an integer between 0 and 2147483647',
  statusChange: 'The job status does not allow the requested status change',
  completed: 'The specified job has already been completed',
  jobId: 'batchJobId is required',
} as const;

export function ossErrorBody(e: SandboxError, requestId: string, hostId: string): string {
  return xmlDocument('Error', [
    ['Code', e.code],
    ['Message', e.message],
    ['RequestId', requestId],
    ['HostId', hostId],
    ['EC', e.ec ?? null],
  ]);
}

export function ossJobDescriptor(job: SandboxJob, store: JobStore): XmlNode {
  return [
    ['ConfirmationRequired', job.confirmationRequired],
    ['CreationTime', epochSeconds(job.creationTime)],
    ['FailureReasons', failureReasons(job, 'JobFailure')],
    ['JobId', job.jobId],
    ['Operation', [[job.operation, '']]],
    ['Description', job.description],
    ['Priority', job.priority],
    ['StatusUpdateReason', job.statusUpdateReason],
    ['ProgressSummary', progressSummary(job, store)],
    ['Status', job.status],
    ['TerminationDate', epochSeconds(job.terminationTime)],
  ];
}

export function ossJobListEntry(job: SandboxJob, store: JobStore): XmlNode {
  return jobListEntry(job, store, epochSeconds);
}
