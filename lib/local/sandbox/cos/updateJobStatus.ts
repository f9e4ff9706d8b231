/**
 * COS UpdateJobStatus: `POST /jobs/{JobId}/status?requestedJobStatus=&statusUpdateReason=`.
 * Refusals as documented: InvalidArgument for a status other than Ready/Cancelled, InvalidRequest
 * for a change the job's status does not allow, NoSuchJob (404) for an unknown job and for a
 * finished one (Complete, Cancelled, Failed: the batch error table's "does not exist or has
 * already been completed", which DescribeJob still answers).
 */
import { isRequestable, TERMINAL } from '../lifecycle';
import { reasonFits } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { COS_MESSAGES, cosError } from './wire';

export const updateJobStatus: Operation = (req, store) => {
  const requested = req.query.get('requestedJobStatus') ?? '';
  if (!isRequestable(requested)) throw cosError.invalidArgument(COS_MESSAGES.requestedStatus);
  const reason = req.query.get('statusUpdateReason') || undefined;
  if (reason !== undefined && !reasonFits(reason)) throw cosError.invalidArgument(COS_MESSAGES.reason);
  if (req.jobId === undefined) throw cosError.invalidRequest('No job ID is provided');
  const r = store.updateStatus(req.scope, req.jobId, requested, reason);
  if (!r.ok) {
    if (r.reason === 'not-found') throw cosError.noSuchJob();
    if (r.job && TERMINAL.has(r.job.status)) throw cosError.finished();
    throw cosError.invalidRequest(COS_MESSAGES.statusChange);
  }
  return xmlDocument('UpdateJobStatusResult', [
    ['JobId', r.job.jobId],
    ['Status', r.job.status],
    ['StatusUpdateReason', r.job.statusUpdateReason],
  ]);
};
