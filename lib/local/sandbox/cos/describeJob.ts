/** COS DescribeJob: `GET /jobs/{JobId}` → `<DescribeJobResult><Job/>`. */
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { cosError, cosJobDescriptor } from './wire';

export const describeJob: Operation = (req, store) => {
  const job = req.jobId === undefined ? undefined : store.get(req.scope, req.jobId);
  if (!job) throw cosError.noSuchJob();
  return xmlDocument('DescribeJobResult', [['Job', cosJobDescriptor(job, store)]]);
};
