/**
 * COS UpdateJobPriority: `POST /jobs/{JobId}/priority?priority=`. A finished job answers NoSuchJob,
 * as COS documents ("does not exist or has already been completed").
 */
import { parsePriority } from '../params';
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { COS_MESSAGES, cosError } from './wire';

export const updateJobPriority: Operation = (req, store) => {
  const raw = req.query.get('priority');
  if (raw === undefined || raw === '') throw cosError.invalidRequest(COS_MESSAGES.noPriority);
  const priority = parsePriority(raw);
  if (priority === undefined) throw cosError.invalidArgument(COS_MESSAGES.priority);
  if (req.jobId === undefined) throw cosError.invalidRequest('No job ID is provided');
  const r = store.updatePriority(req.scope, req.jobId, priority);
  if (!r.ok) throw r.reason === 'not-found' ? cosError.noSuchJob() : cosError.finished();
  return xmlDocument('UpdateJobPriorityResult', [
    ['JobId', r.job.jobId],
    ['Priority', r.job.priority],
  ]);
};
