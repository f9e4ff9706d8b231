/** Every operation this provider's sandbox answers: the folder listing, as one import. */
export { createJob } from './createJob';
export { describeJob } from './describeJob';
export { listJobs } from './listJobs';
export { updateJobPriority } from './updateJobPriority';
export { updateJobStatus } from './updateJobStatus';
