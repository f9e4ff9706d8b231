/** OSS DescribeJob: `GET /?batchJob&batchJobId=` → `<DescribeJobResult><Job/>`. */
import type { Operation } from '../types';
import { xmlDocument } from '../xml';
import { OSS_MESSAGES, ossError, ossJobDescriptor } from './wire';

export const describeJob: Operation = (req, store) => {
  if (!req.jobId) throw ossError.invalidArgument(OSS_MESSAGES.jobId);
  const job = store.get(req.scope, req.jobId);
  if (!job) throw ossError.noSuchJob();
  return xmlDocument('DescribeJobResult', [['Job', ossJobDescriptor(job, store)]]);
};
