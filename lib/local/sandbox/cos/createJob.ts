/** COS CreateJob: `POST /jobs` with a `<CreateJobRequest>` body → `<CreateJobResult><JobId/>`. */
import { readCreateJobBody } from '../createJobBody';
import { newJobId } from '../ids';
import { MAX_DESCRIPTION_CHARS, parseBool, parsePriority } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { COS_MESSAGES, cosError } from './wire';

export const createJob: Operation = (req, store) => {
  const parsed = readCreateJobBody(req.body);
  if (!parsed.ok)
    throw parsed.reason === 'empty'
      ? cosError.invalidRequest('Empty request body')
      : cosError.malformed('Invalid request format');
  const b = parsed.body;
  if (!b.operation) throw cosError.malformed('Incorrect Operation format');
  const priority = parsePriority(b.priority);
  if (priority === undefined) throw cosError.invalidArgument(COS_MESSAGES.priority);
  if (b.description !== undefined && b.description.length > MAX_DESCRIPTION_CHARS)
    throw cosError.invalidArgument('Invalid parameter');
  const confirmationRequired = parseBool(b.confirmationRequired);
  if (b.confirmationRequired !== undefined && confirmationRequired === undefined)
    throw cosError.invalidArgument('Invalid parameter');
  // COS refuses a repeated token (S3 answers it idempotently instead).
  if (b.clientRequestToken && store.findByClientToken(req.scope, b.clientRequestToken))
    throw cosError.invalidRequest('The ClientRequestToken parameter already exists');
  const job = store.createJob(req.scope, {
    jobId: newJobId('cos'),
    priority,
    description: b.description,
    confirmationRequired: confirmationRequired ?? false,
    clientRequestToken: b.clientRequestToken,
    operation: b.operation,
  });
  return xmlDocument('CreateJobResult', [['JobId', job.jobId]]);
};
