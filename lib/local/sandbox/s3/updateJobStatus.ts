/**
 * S3 UpdateJobStatus: `POST /v20180820/jobs/{id}/status?requestedJobStatus=&statusUpdateReason=`.
 * A change the job's status does not allow is JobStatusException (400), an unknown job
 * NotFoundException (404), a malformed parameter BadRequestException (400) — S3 Control's modeled errors.
 */
import { isRequestable } from '../lifecycle';
import { reasonFits } from '../params';
import type { Operation } from '../types';
import { s3Document, s3Error } from './wire';

export const updateJobStatus: Operation = (req, store) => {
  const requested = req.query.get('requestedJobStatus') ?? '';
  if (!isRequestable(requested)) throw s3Error.badRequest('requestedJobStatus must be Cancelled or Ready');
  const reason = req.query.get('statusUpdateReason');
  if (reason !== undefined && (reason === '' || !reasonFits(reason)))
    throw s3Error.badRequest('statusUpdateReason must be 1 to 256 characters');
  const r = store.updateStatus(req.scope, req.jobId ?? '', requested, reason);
  if (!r.ok) {
    if (r.reason === 'not-found') throw s3Error.notFound();
    throw s3Error.jobStatus(`Job status ${r.job?.status} does not allow the requested status ${requested}`);
  }
  return s3Document('UpdateJobStatusResult', [
    ['JobId', r.job.jobId],
    ['Status', r.job.status],
    ['StatusUpdateReason', r.job.statusUpdateReason],
  ]);
};
