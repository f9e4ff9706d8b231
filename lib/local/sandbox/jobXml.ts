/**
 * The parts of a job's XML that the providers spell alike; each provider's wire.ts arranges
 * them (and formats time) its own way.
 */
import type { JobStore } from './store';
import type { SandboxJob } from './types';
import type { XmlNode, XmlValue } from './xml';

/** `ProgressSummary` children in COS's and OSS's order. */
export function progressSummary(job: SandboxJob, store: JobStore): XmlNode {
  const p = store.progress(job);
  return [
    ['NumberOfTasksFailed', p.failed],
    ['NumberOfTasksSucceeded', p.succeeded],
    ['TotalNumberOfTasks', p.total],
  ];
}

/** `FailureReasons`: one `item` element (`JobFailure`, or S3's `member`) per reason. */
export function failureReasons(job: SandboxJob, item: string): XmlNode {
  return job.failureReasons.map((f): [string, XmlNode] => [
    item,
    [
      ['FailureCode', f.code],
      ['FailureReason', f.reason],
    ],
  ]);
}

/** A ListJobs entry as COS and OSS both list it; `time` formats epoch ms their way. */
export function jobListEntry(
  job: SandboxJob,
  store: JobStore,
  time: (ms: number | null) => XmlValue,
): XmlNode {
  return [
    ['CreationTime', time(job.creationTime)],
    ['Description', job.description],
    ['JobId', job.jobId],
    ['Operation', job.operation],
    ['Priority', job.priority],
    ['ProgressSummary', progressSummary(job, store)],
    ['Status', job.status],
    ['TerminationDate', time(job.terminationTime)],
  ];
}
