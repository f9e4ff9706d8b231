/**
 * OSS UpdateJobStatus: `POST /?batchJobStatus&batchJobId=&requestedJobStatus=&statusUpdateReason=`.
 * OSS documents Ready from Suspended or Preparing, and no cancel from Cancelled, Cancelling,
 * Complete, Completing, Failed or Failing; a refused change is InvalidRequest (400).
 */
import { isRequestable } from '../lifecycle';
import { reasonFits } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { OSS_MESSAGES, ossError } from './wire';

export const updateJobStatus: Operation = (req, store) => {
  if (!req.jobId) throw ossError.invalidArgument(OSS_MESSAGES.jobId);
  const requested = req.query.get('requestedJobStatus') ?? '';
  if (!isRequestable(requested)) throw ossError.invalidArgument(OSS_MESSAGES.requestedStatus);
  const reason = req.query.get('statusUpdateReason');
  if (reason !== undefined && (reason === '' || !reasonFits(reason)))
    throw ossError.invalidArgument('statusUpdateReason must be 1 to 256 characters');
  const r = store.updateStatus(req.scope, req.jobId, requested, reason);
  if (!r.ok) {
    if (r.reason === 'not-found') throw ossError.noSuchJob();
    throw ossError.invalidRequest(
      r.reason === 'completed' ? OSS_MESSAGES.completed : OSS_MESSAGES.statusChange,
    );
  }
  return xmlDocument('UpdateJobStatusResult', [
    ['JobId', r.job.jobId],
    ['Status', r.job.status],
    ['StatusUpdateReason', r.job.statusUpdateReason],
  ]);
};
