/**
 * S3 UpdateJobPriority: `POST /v20180820/jobs/{id}/priority?priority=`. A finished job is refused
 * with BadRequestException (400): the S3 Control model declares only BadRequestException,
 * NotFoundException, TooManyRequestsException and InternalServiceException for this operation
 * (JobStatusException belongs to UpdateJobStatus), and the job still exists, so not NotFound.
 */
import { parsePriority } from '../params';
import type { Operation } from '../types';
import { s3Document, s3Error } from './wire';

export const updateJobPriority: Operation = (req, store) => {
  const priority = parsePriority(req.query.get('priority'));
  if (priority === undefined) throw s3Error.badRequest('priority must be an integer from 0 to 2147483647');
  const r = store.updatePriority(req.scope, req.jobId ?? '', priority);
  if (!r.ok) {
    if (r.reason === 'not-found') throw s3Error.notFound();
    throw s3Error.badRequest(`Job status ${r.job?.status} does not allow a priority change`);
  }
  return s3Document('UpdateJobPriorityResult', [
    ['JobId', r.job.jobId],
    ['Priority', r.job.priority],
  ]);
};
