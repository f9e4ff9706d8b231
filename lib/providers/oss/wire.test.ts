/**
 * The OSS wire codec as a specification: the exact query each operation sends, the shapes each
 * answer is read into, and the error table (OSS code / HTTP status → kind).
 */
import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../errors';
import { OSS_DEFAULT_CANCEL_REASON } from '../rules';
import { MAX_MESSAGE_CHARS } from '../xml';
import {
  DescribeJob,
  decodeError,
  encodeQuery,
  isoTime,
  ListJobs,
  type OssOperation,
  UpdateJobPriority,
  UpdateJobStatus,
} from './wire';

const JOB_ID = 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU=';
const JOB_ID_ENC = 'MzRjZGU2NGQ3YTY5NGRhMTkxZmZhYzY5OTM5YTcxYWU%3D';

describe('requests: method and query, byte for byte', () => {
  it.each<[string, OssOperation, 'GET' | 'POST', string]>([
    [
      'UpdateJobStatus with a reason (id ending "=", spaces)',
      UpdateJobStatus.request(JOB_ID, 'Ready', 'off-peak window opened'),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=off-peak%20window%20opened`,
    ],
    [
      'UpdateJobStatus Ready without a reason: none is sent',
      UpdateJobStatus.request(JOB_ID, 'Ready', undefined),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready`,
    ],
    [
      'UpdateJobStatus Cancelled without a reason: the documented default is sent (OSS wants 1–256)',
      UpdateJobStatus.request(JOB_ID, 'Cancelled', undefined),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Cancelled&statusUpdateReason=cancelled%20by%20jobctl`,
    ],
    [
      'UpdateJobStatus with an empty reason: never sent empty (Ready: left out)',
      UpdateJobStatus.request(JOB_ID, 'Ready', ''),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready`,
    ],
    [
      'UpdateJobStatus Cancelled with an empty reason: the default',
      UpdateJobStatus.request(JOB_ID, 'Cancelled', ''),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Cancelled&statusUpdateReason=${encodeURIComponent(OSS_DEFAULT_CANCEL_REASON)}`,
    ],
    [
      'UpdateJobStatus, CJK reason',
      UpdateJobStatus.request(JOB_ID, 'Ready', '夜间窗口'),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=%E5%A4%9C%E9%97%B4%E7%AA%97%E5%8F%A3`,
    ],
    [
      'UpdateJobStatus, emoji reason',
      UpdateJobStatus.request(JOB_ID, 'Ready', 'go 🚀'),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=go%20%F0%9F%9A%80`,
    ],
    [
      'UpdateJobStatus, reason with reserved characters',
      UpdateJobStatus.request(JOB_ID, 'Ready', "it's (50%)!* a&b=c"),
      'POST',
      `batchJobStatus&batchJobId=${JOB_ID_ENC}&requestedJobStatus=Ready&statusUpdateReason=it%27s%20%2850%25%29%21%2A%20a%26b%3Dc`,
    ],
    [
      'an opaque id with "+" and "/" is escaped, not refused',
      DescribeJob.request('ab+cd/ef=='),
      'GET',
      'batchJob&batchJobId=ab%2Bcd%2Fef%3D%3D',
    ],
    [
      'UpdateJobPriority sends targetPriority',
      UpdateJobPriority.request(JOB_ID, 42),
      'POST',
      `batchJobPriority&batchJobId=${JOB_ID_ENC}&targetPriority=42`,
    ],
    [
      'UpdateJobPriority at both limits (0)',
      UpdateJobPriority.request(JOB_ID, 0),
      'POST',
      `batchJobPriority&batchJobId=${JOB_ID_ENC}&targetPriority=0`,
    ],
    [
      'UpdateJobPriority at both limits (2147483647)',
      UpdateJobPriority.request(JOB_ID, 2147483647),
      'POST',
      `batchJobPriority&batchJobId=${JOB_ID_ENC}&targetPriority=2147483647`,
    ],
    ['DescribeJob', DescribeJob.request(JOB_ID), 'GET', `batchJob&batchJobId=${JOB_ID_ENC}`],
    ['ListJobs, no filter', ListJobs.request({}), 'GET', 'batchJob'],
    [
      'ListJobs, several statuses joined by "|"',
      ListJobs.request({ statuses: ['Suspended', 'Active'], maxResults: 50 }),
      'GET',
      'batchJob&batchJobStatuses=Suspended%7CActive&max-keys=50',
    ],
    [
      'ListJobs, max-keys capped at 1000 and a token with +/=',
      ListJobs.request({ statuses: ['Suspended'], maxResults: 5000, nextToken: 'a+b/c:d==' }),
      'GET',
      'batchJob&batchJobStatuses=Suspended&max-keys=1000&continuation-token=a%2Bb%2Fc%3Ad%3D%3D',
    ],
    [
      'ListJobs, max-keys at least 1, no empty token',
      ListJobs.request({ maxResults: 0, nextToken: '' }),
      'GET',
      'batchJob&max-keys=1',
    ],
    ['ListJobs, an empty status list is no filter', ListJobs.request({ statuses: [] }), 'GET', 'batchJob'],
  ])('%s', (_name, op, method, query) => {
    expect(op.method).toBe(method);
    expect(encodeQuery(op.query)).toBe(query);
  });
});

describe('requests refused before anything is sent', () => {
  it.each<[string, () => unknown]>([
    ['an empty job id', () => DescribeJob.request('')],
    ['a negative priority', () => UpdateJobPriority.request(JOB_ID, -1)],
    ['a fractional priority', () => UpdateJobPriority.request(JOB_ID, 1.5)],
    ['a priority above 2147483647', () => UpdateJobPriority.request(JOB_ID, 2147483648)],
    [
      'a reason over 256 bytes of UTF-8 (86 CJK characters)',
      () => UpdateJobStatus.request(JOB_ID, 'Ready', '中'.repeat(86)),
    ],
    [
      'a reason with a lone surrogate',
      () => encodeQuery(UpdateJobStatus.request(JOB_ID, 'Ready', 'bad \ud800').query),
    ],
  ])('%s', (_name, f) => {
    expect(f).toThrow(
      expect.objectContaining({ name: 'ProviderError', kind: 'invalid', code: 'InvalidArgument' }),
    );
  });

  it('a reason of exactly 256 bytes is sent', () => {
    const reason = '中'.repeat(85) + 'a'; // 255 + 1 bytes
    expect(UpdateJobStatus.request(JOB_ID, 'Ready', reason).query.statusUpdateReason).toBe(reason);
  });
});

describe('answers', () => {
  it('UpdateJobStatusResult (the documented example)', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<UpdateJobStatusResult>
  <JobId>${JOB_ID}</JobId>
  <Status>Cancelling</Status>
  <StatusUpdateReason>User requested cancellation</StatusUpdateReason>
</UpdateJobStatusResult>`;
    expect(UpdateJobStatus.response(body)).toEqual({
      jobId: JOB_ID,
      status: 'Cancelling',
      statusUpdateReason: 'User requested cancellation',
    });
  });

  it('UpdateJobStatusResult without a reason', () => {
    const body = `<UpdateJobStatusResult><JobId>${JOB_ID}</JobId><Status>Ready</Status><StatusUpdateReason/></UpdateJobStatusResult>`;
    expect(UpdateJobStatus.response(body).statusUpdateReason).toBeNull();
  });

  it.each([
    ['&lt;a&gt; &quot;b&quot; &apos;c&apos; &amp; d', `<a> "b" 'c' & d`],
    ['&#x4E2D;&#25991; &#x1F680;', '中文 🚀'],
    ['&amp;#38; stays literal', '&#38; stays literal'],
    ['&unknown; &#xD800; &#x110000;', '&unknown; &#xD800; &#x110000;'],
  ])('XML text %j reads as %j', (xmlText, plain) => {
    const body = `<UpdateJobStatusResult><JobId>a</JobId><Status>Ready</Status><StatusUpdateReason>${xmlText}</StatusUpdateReason></UpdateJobStatusResult>`;
    expect(UpdateJobStatus.response(body).statusUpdateReason).toBe(plain);
  });

  it('UpdateJobPriorityResult', () => {
    const body = `<UpdateJobPriorityResult><JobId>${JOB_ID}</JobId><Priority>20</Priority></UpdateJobPriorityResult>`;
    expect(UpdateJobPriority.response(body)).toEqual({ jobId: JOB_ID, priority: 20 });
  });

  it('DescribeJobResult, with CreationTime in epoch seconds and entities decoded', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeJobResult>
  <Job>
    <ConfirmationRequired>true</ConfirmationRequired>
    <CreationTime>1749983400</CreationTime>
    <FailureReasons><JobFailure/></FailureReasons>
    <JobId>${JOB_ID}</JobId>
    <Operation><RestoreObject><Days>1</Days></RestoreObject></Operation>
    <Description>nightly-&#x6279;&#37327; &amp; more</Description>
    <Priority>10</Priority>
    <StatusUpdateReason>waiting 🌙</StatusUpdateReason>
    <ProgressSummary><TotalNumberOfTasks>3</TotalNumberOfTasks></ProgressSummary>
    <Status>Suspended</Status>
  </Job>
</DescribeJobResult>`;
    expect(DescribeJob.response(body)).toEqual({
      jobId: JOB_ID,
      status: 'Suspended',
      priority: 10,
      description: 'nightly-批量 & more',
      creationTime: '2025-06-15T10:30:00.000Z',
      statusUpdateReason: 'waiting 🌙',
      progress: { total: 3, succeeded: 0, failed: 0 },
      failureReasons: [],
      report: null,
      terminationDate: null,
    });
  });

  it('ListJobsResult: ids stay strings, a single member is still a list, a token is kept', () => {
    const body = `<ListJobsResult>
  <NextToken>next+page/456=</NextToken>
  <Jobs>
    <JobListDescriptor>
      <CreationTime>1749983400</CreationTime>
      <Description> nightly-a </Description>
      <JobId>0012</JobId>
      <Operation>PutObjectTagging</Operation>
      <Priority>5</Priority>
      <ProgressSummary><NumberOfTasksFailed>1</NumberOfTasksFailed><NumberOfTasksSucceeded>7</NumberOfTasksSucceeded><TotalNumberOfTasks>10</TotalNumberOfTasks></ProgressSummary>
      <Status>Suspended</Status>
    </JobListDescriptor>
  </Jobs>
</ListJobsResult>`;
    expect(ListJobs.response(body)).toEqual({
      nextToken: 'next+page/456=',
      jobs: [
        {
          jobId: '0012',
          status: 'Suspended',
          priority: 5,
          description: ' nightly-a ',
          creationTime: '2025-06-15T10:30:00.000Z',
          statusUpdateReason: null,
          progress: { total: 10, succeeded: 7, failed: 1 },
        },
      ],
    });
  });

  it('ListJobsResult with several jobs, in order, without a token', () => {
    const job = (id: string, status: string) =>
      `<JobListDescriptor><JobId>${id}</JobId><Status>${status}</Status></JobListDescriptor>`;
    const page = ListJobs.response(
      `<ListJobsResult><Jobs>${job('1e3', 'Active')}${job('b', 'Complete')}</Jobs><NextToken></NextToken></ListJobsResult>`,
    );
    expect(page.nextToken).toBeNull();
    expect(page.jobs.map((j) => [j.jobId, j.status, j.priority, j.creationTime])).toEqual([
      ['1e3', 'Active', null, null],
      ['b', 'Complete', null, null],
    ]);
  });

  it.each([
    '<ListJobsResult><Jobs></Jobs></ListJobsResult>',
    '<ListJobsResult><Jobs/><NextToken/></ListJobsResult>',
    '<ListJobsResult>\n  <Jobs>\n  </Jobs>\n  <NextToken>\n  </NextToken>\n</ListJobsResult>',
    '<ListJobsResult/>',
  ])('an empty ListJobsResult: %j', (body) => {
    expect(ListJobs.response(body)).toEqual({ jobs: [], nextToken: null });
  });

  it.each<[string, () => unknown]>([
    ['not XML', () => UpdateJobStatus.response('<<<')],
    ['an empty body', () => UpdateJobStatus.response('')],
    [
      'the wrong root',
      () => UpdateJobStatus.response('<UpdateJobPriorityResult><JobId>a</JobId></UpdateJobPriorityResult>'),
    ],
    [
      'no JobId',
      () => UpdateJobStatus.response('<UpdateJobStatusResult><Status>Ready</Status></UpdateJobStatusResult>'),
    ],
    [
      'no Priority',
      () => UpdateJobPriority.response('<UpdateJobPriorityResult><JobId>a</JobId></UpdateJobPriorityResult>'),
    ],
    [
      'a non-integer Priority',
      () =>
        UpdateJobPriority.response(
          '<UpdateJobPriorityResult><JobId>a</JobId><Priority>x</Priority></UpdateJobPriorityResult>',
        ),
    ],
    ['no Job', () => DescribeJob.response('<DescribeJobResult></DescribeJobResult>')],
    [
      'a job without Status',
      () => DescribeJob.response('<DescribeJobResult><Job><JobId>a</JobId></Job></DescribeJobResult>'),
    ],
  ])('a 2xx that cannot be read (%s) is a retryable MalformedResponse', (_name, f) => {
    expect(f).toThrow(
      expect.objectContaining({ kind: 'server', code: 'MalformedResponse', retryable: true }),
    );
  });

  it.each([
    ['1749983400', '2025-06-15T10:30:00.000Z'],
    ['1749983400000', '2025-06-15T10:30:00.000Z'],
    ['2025-06-15T10:30:00Z', '2025-06-15T10:30:00Z'],
    ['', null],
    [undefined, null],
  ])('CreationTime %j → %j', (raw, iso) => {
    expect(isoTime(raw)).toBe(iso);
  });
});

describe('errors: OSS code and HTTP status → kind', () => {
  const xml = (code: string, ec = '0017-00000000', requestId = '5C3D9175B6FC201293AD****') =>
    `<?xml version="1.0" encoding="UTF-8"?>
<Error>
  <Code>${code}</Code>
  <Message>message for ${code}</Message>
  <RequestId>${requestId}</RequestId>
  <HostId>oss-cn-hangzhou.aliyuncs.com</HostId>
  <EC>${ec}</EC>
</Error>`;

  it.each<[number, string, string, ErrorKind, boolean]>([
    [404, xml('NoSuchJob', '0017-00001003'), 'NoSuchJob', 'not-found', false],
    [400, xml('InvalidRequest', '0017-00001005'), 'InvalidRequest', 'conflict', false],
    [409, xml('JobStatusConflict'), 'JobStatusConflict', 'conflict', false],
    [400, xml('InvalidArgument', '0017-00001002'), 'InvalidArgument', 'invalid', false],
    [403, xml('AccessDenied', '0003-00000001'), 'AccessDenied', 'auth', false],
    [403, xml('SignatureDoesNotMatch', '0002-00000040'), 'SignatureDoesNotMatch', 'auth', false],
    [403, xml('InvalidAccessKeyId', '0002-00000902'), 'InvalidAccessKeyId', 'auth', false],
    // Our clock, not the request: never a refusal for good (the client re-signs once first).
    [403, xml('RequestTimeTooSkewed'), 'RequestTimeTooSkewed', 'config', false],
    [400, xml('SomethingNew'), 'SomethingNew', 'invalid', false],
    [404, xml('SomethingElse'), 'SomethingElse', 'not-found', false],
    [503, xml('SlowDown'), 'SlowDown', 'throttled', true],
    [400, xml('Throttling'), 'Throttling', 'throttled', true],
    [429, xml('TooManyRequests'), 'TooManyRequests', 'throttled', true],
    [500, xml('InternalError'), 'InternalError', 'server', true],
    [503, xml('ServiceUnavailable'), 'ServiceUnavailable', 'server', true],
    // 5xx stays transient even under a code that would otherwise be a refusal.
    [500, xml('InvalidRequest'), 'InvalidRequest', 'server', true],
  ])('%i %#: %s', (status, body, code, kind, retryable) => {
    const e = decodeError(status, {}, body);
    expect(e).toMatchObject({ name: 'ProviderError', kind, code, httpStatus: status, retryable });
    expect(e.message).toBe(`message for ${code}`);
    expect(e.requestId).toBe('5C3D9175B6FC201293AD****');
  });

  it('keeps EC, and the body request id over the header', () => {
    const e = decodeError(
      404,
      { 'x-oss-request-id': 'from-header' },
      xml('NoSuchJob', '0017-00001003', 'from-body'),
    );
    expect(e.ec).toBe('0017-00001003');
    expect(e.requestId).toBe('from-body');
  });

  it.each<[number, string, string, ErrorKind]>([
    [502, '<html><body>Bad gateway</body></html>', 'BadGateway', 'server'],
    [429, '', 'TooManyRequests', 'throttled'],
    [403, 'denied', 'Forbidden', 'auth'],
    [404, '<Error></Error>', 'NotFound', 'not-found'],
    [599, '', 'Http599', 'server'],
  ])('without OSS error XML, %i is named after the status', (status, body, code, kind) => {
    const e = decodeError(status, { 'x-oss-request-id': 'REQ-1' }, body);
    expect(e).toMatchObject({ kind, code, httpStatus: status, requestId: 'REQ-1', ec: null });
  });

  it('a missing request id is null, and long messages are cut', () => {
    const body = `<Error><Code>InvalidArgument</Code><Message>${'x'.repeat(2000)}</Message></Error>`;
    const e = decodeError(400, {}, body);
    expect(e.requestId).toBeNull();
    expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + 1);
    expect(e.message.length).toBeLessThan(2000);
  });
});
