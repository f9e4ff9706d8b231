/** OSS CreateJob: `POST /?batchJob` with a `<CreateJobRequest>` body → `<CreateJobResult><JobId/>`. */
import { readCreateJobBody } from '../createJobBody';
import { newJobId } from '../ids';
import { MAX_DESCRIPTION_CHARS, parseBool, parsePriority } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { ossError } from './wire';

export const createJob: Operation = (req, store) => {
  const parsed = readCreateJobBody(req.body);
  if (!parsed.ok) throw ossError.malformed('The XML you provided was not well-formed');
  const b = parsed.body;
  if (!b.operation) throw ossError.malformed('Operation is required');
  const priority = parsePriority(b.priority ?? '10');
  if (priority === undefined)
    throw ossError.invalidArgument('Priority must be an integer between 0 and 2147483647');
  if (b.description !== undefined && b.description.length > MAX_DESCRIPTION_CHARS)
    throw ossError.invalidArgument('Description must be at most 256 characters');
  const confirmationRequired = parseBool(b.confirmationRequired);
  if (b.confirmationRequired !== undefined && confirmationRequired === undefined)
    throw ossError.invalidArgument('ConfirmationRequired must be true or false');
  const existing = b.clientRequestToken
    ? store.findByClientToken(req.scope, b.clientRequestToken)
    : undefined;
  if (existing) return xmlDocument('CreateJobResult', [['JobId', existing.jobId]]);
  const job = store.createJob(req.scope, {
    jobId: newJobId('oss'),
    priority,
    description: b.description,
    confirmationRequired: confirmationRequired ?? false,
    clientRequestToken: b.clientRequestToken,
    operation: b.operation,
    region: req.region,
  });
  return xmlDocument('CreateJobResult', [['JobId', job.jobId]]);
};
