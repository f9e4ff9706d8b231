/** S3 DescribeJob: `GET /v20180820/jobs/{id}` → `<DescribeJobResult><Job/>`. */
import type { Operation } from '../types';
import { s3Document, s3Error, s3JobDescriptor } from './wire';

export const describeJob: Operation = (req, store) => {
  const job = req.jobId === undefined ? undefined : store.get(req.scope, req.jobId);
  if (!job) throw s3Error.notFound();
  return s3Document('DescribeJobResult', [['Job', s3JobDescriptor(job, store)]]);
};
