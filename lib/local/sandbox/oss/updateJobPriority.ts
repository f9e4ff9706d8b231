/** OSS UpdateJobPriority: `POST /?batchJobPriority&batchJobId=&targetPriority=`. */
import { parsePriority } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { OSS_MESSAGES, ossError } from './wire';

export const updateJobPriority: Operation = (req, store) => {
  if (!req.jobId) throw ossError.invalidArgument(OSS_MESSAGES.jobId);
  const priority = parsePriority(req.query.get('targetPriority'));
  if (priority === undefined) throw ossError.invalidArgument(OSS_MESSAGES.priority);
  const r = store.updatePriority(req.scope, req.jobId, priority);
  if (!r.ok) {
    if (r.reason === 'not-found') throw ossError.noSuchJob();
    throw ossError.invalidRequest(OSS_MESSAGES.completed);
  }
  return xmlDocument('UpdateJobPriorityResult', [
    ['JobId', r.job.jobId],
    ['Priority', r.job.priority],
  ]);
};
