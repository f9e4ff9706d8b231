/**
 * S3 Control batch-job wire format (restXml, 2018-08-20): responses in the
 * `http://awss3control.amazonaws.com/doc/2018-08-20/` namespace, errors as
 * `<ErrorResponse><Error><Code/><Message/></Error><RequestId/><HostId/></ErrorResponse>`, which the
 * SDK reads into its modeled exceptions (NotFoundException, JobStatusException, …) by `Code`.
 */
import { SandboxError } from '../errors';
import { failureReasons } from '../jobXml';
import { iso } from '../params';
import type { JobStore } from '../store';
import type { SandboxJob } from '../types';
import { type XmlNode, xmlDocument } from '../xml';

export const S3_XMLNS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';

export const s3Error = {
  notFound: () => new SandboxError('NotFoundException', 404, 'The specified job does not exist'),
  jobStatus: (message: string) => new SandboxError('JobStatusException', 400, message),
  badRequest: (message: string) => new SandboxError('BadRequestException', 400, message),
  invalidRequest: (message: string) => new SandboxError('InvalidRequestException', 400, message),
  invalidNextToken: () => new SandboxError('InvalidNextTokenException', 400, 'The nextToken is not valid'),
  idempotency: () =>
    new SandboxError('IdempotencyException', 409, 'A different request already used this ClientRequestToken'),
};

export function s3ErrorBody(e: SandboxError, requestId: string): string {
  return xmlDocument('ErrorResponse', [
    [
      'Error',
      [
        ['Code', e.code],
        ['Message', e.message],
      ],
    ],
    ['RequestId', requestId],
    ['HostId', requestId],
  ]);
}

export const s3Document = (root: string, children: XmlNode) => xmlDocument(root, children, S3_XMLNS);

function progress(job: SandboxJob, store: JobStore): XmlNode {
  const p = store.progress(job);
  return [
    ['TotalNumberOfTasks', p.total],
    ['NumberOfTasksSucceeded', p.succeeded],
    ['NumberOfTasksFailed', p.failed],
    ['Timers', [['ElapsedTimeInActiveSeconds', p.activeSeconds]]],
  ];
}

export function jobArn(job: SandboxJob): string {
  return `arn:aws:s3:${job.region ?? 'us-east-1'}:${job.namespace}:job/${job.jobId}`;
}

export function s3JobDescriptor(job: SandboxJob, store: JobStore): XmlNode {
  return [
    ['JobId', job.jobId],
    ['ConfirmationRequired', job.confirmationRequired],
    ['Description', job.description],
    ['JobArn', jobArn(job)],
    ['Status', job.status],
    ['Operation', [[job.operation, '']]],
    ['Priority', job.priority],
    ['ProgressSummary', progress(job, store)],
    ['StatusUpdateReason', job.statusUpdateReason],
    ['FailureReasons', failureReasons(job, 'member')],
    ['CreationTime', iso(job.creationTime)],
    ['TerminationDate', iso(job.terminationTime)],
    ['SuspendedDate', iso(job.suspendedDate)],
    ['SuspendedCause', job.suspendedDate === null ? null : 'AwaitingConfirmation'],
  ];
}

export function s3JobListEntry(job: SandboxJob, store: JobStore): XmlNode {
  return [
    ['JobId', job.jobId],
    ['Description', job.description],
    ['Operation', job.operation],
    ['Priority', job.priority],
    ['Status', job.status],
    ['CreationTime', iso(job.creationTime)],
    ['TerminationDate', iso(job.terminationTime)],
    ['ProgressSummary', progress(job, store)],
  ];
}
