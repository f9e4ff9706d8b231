/**
 * S3 CreateJob: `POST /v20180820/jobs` with `<CreateJobRequest>`. The ClientRequestToken makes it
 * idempotent: the same token again returns the job it created.
 */
import { readCreateJobBody } from '../createJobBody';
import { newJobId } from '../ids';
import { MAX_DESCRIPTION_CHARS, parseBool, parsePriority } from '../params';
import type { Operation } from '../types';
import { s3Document, s3Error } from './wire';

export const createJob: Operation = (req, store) => {
  const parsed = readCreateJobBody(req.body);
  if (!parsed.ok) throw s3Error.badRequest('The request body is not a CreateJobRequest');
  const b = parsed.body;
  if (!b.operation) throw s3Error.badRequest('Operation is required');
  if (!b.clientRequestToken) throw s3Error.badRequest('ClientRequestToken is required');
  const priority = parsePriority(b.priority);
  if (priority === undefined) throw s3Error.badRequest('Priority must be an integer from 0 to 2147483647');
  if (b.description !== undefined && b.description.length > MAX_DESCRIPTION_CHARS)
    throw s3Error.badRequest('Description must be at most 256 characters');
  const confirmationRequired = parseBool(b.confirmationRequired);
  if (b.confirmationRequired !== undefined && confirmationRequired === undefined)
    throw s3Error.badRequest('ConfirmationRequired must be true or false');
  const existing = store.findByClientToken(req.scope, b.clientRequestToken);
  if (existing) {
    if (existing.description !== (b.description ?? '') || existing.priority !== priority)
      throw s3Error.idempotency();
    return s3Document('CreateJobResult', [['JobId', existing.jobId]]);
  }
  const job = store.createJob(req.scope, {
    jobId: newJobId('s3'),
    priority,
    description: b.description,
    confirmationRequired: confirmationRequired ?? false,
    clientRequestToken: b.clientRequestToken,
    operation: b.operation,
    region: req.region,
  });
  return s3Document('CreateJobResult', [['JobId', job.jobId]]);
};
