/**
 * The COS codec as a table: each operation's request line, each documented answer, each
 * documented error and what kind the controller gets for it.
 */
import { describe, expect, it } from 'vitest';
import type { ErrorKind } from '../errors';
import {
  type CosHttpCall,
  cosErrorKind,
  DescribeJob,
  decodeError,
  ListJobs,
  queryString,
  UpdateJobPriority,
  UpdateJobStatus,
} from './wire';

const wireLine = (c: CosHttpCall) => `${c.method} ${c.path}${queryString(c.query)}`;

describe('requests', () => {
  it.each<[string, CosHttpCall, string, string]>([
    [
      'UpdateJobStatus with a reason',
      UpdateJobStatus.request('53dc6228', 'Ready', 'off-peak window opened'),
      'POST /jobs/53dc6228/status?requestedJobStatus=Ready&statusUpdateReason=off-peak%20window%20opened',
      '/jobs/53dc6228/status',
    ],
    [
      'UpdateJobStatus with an empty reason: the parameter is not sent',
      UpdateJobStatus.request('53dc6228', 'Cancelled', ''),
      'POST /jobs/53dc6228/status?requestedJobStatus=Cancelled',
      '/jobs/53dc6228/status',
    ],
    [
      'UpdateJobStatus without a reason',
      UpdateJobStatus.request('53dc6228', 'Ready', undefined),
      'POST /jobs/53dc6228/status?requestedJobStatus=Ready',
      '/jobs/53dc6228/status',
    ],
    [
      'UpdateJobStatus: reason with & = + % / CJK and emoji',
      UpdateJobStatus.request('j', 'Ready', 'a&b=c+d 100%/窗口🌙'),
      'POST /jobs/j/status?requestedJobStatus=Ready&statusUpdateReason=a%26b%3Dc%2Bd%20100%25%2F%E7%AA%97%E5%8F%A3%F0%9F%8C%99',
      '/jobs/j/status',
    ],
    [
      'a job id is one path segment, RFC 3986-encoded',
      UpdateJobPriority.request("a/b?c#d%e (f)!*'", 7),
      'POST /jobs/a%2Fb%3Fc%23d%25e%20%28f%29%21%2A%27/priority?priority=7',
      "/jobs/a/b?c#d%e (f)!*'/priority",
    ],
    ['DescribeJob', DescribeJob.request('53dc6228'), 'GET /jobs/53dc6228', '/jobs/53dc6228'],
    ['ListJobs with nothing', ListJobs.request({}), 'GET /jobs', '/jobs'],
    [
      'ListJobs with a status, a page size and a token',
      ListJobs.request({ status: 'Suspended', maxResults: 2, nextToken: 'job+2/x=' }),
      'GET /jobs?jobStatuses=Suspended&maxResults=2&nextToken=job%2B2%2Fx%3D',
      '/jobs',
    ],
  ])('%s', (_name, call, line, pathname) => {
    expect(wireLine(call)).toBe(line);
    expect(call.pathname).toBe(pathname);
  });

  it.each<[string, () => unknown]>([
    ['an empty job id', () => DescribeJob.request('')],
    ['a fractional priority', () => UpdateJobPriority.request('j', 1.5)],
    ['a negative priority', () => UpdateJobPriority.request('j', -1)],
    ['a priority above 2147483647', () => UpdateJobPriority.request('j', 2147483648)],
    ['maxResults 0', () => ListJobs.request({ maxResults: 0 })],
    ['maxResults 1001', () => ListJobs.request({ maxResults: 1001 })],
    ['a reason with a lone surrogate', () => UpdateJobStatus.request('j', 'Ready', 'a\ud800b')],
  ])('refuses %s before anything is sent', (_name, build) => {
    expect(build).toThrow(expect.objectContaining({ kind: 'invalid', code: 'InvalidArgument' }));
  });
});

describe('responses', () => {
  it('UpdateJobStatusResult', () => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>
<UpdateJobStatusResult>
  <JobId>007</JobId>
  <Status>Ready</Status>
  <StatusUpdateReason> off-peak &amp; 夜间 🌙 </StatusUpdateReason>
</UpdateJobStatusResult>`;
    expect(UpdateJobStatus.response(body)).toEqual({
      jobId: '007',
      status: 'Ready',
      statusUpdateReason: ' off-peak & 夜间 🌙 ',
    });
  });

  it('decodes numeric character references and the five XML entities, once', () => {
    const body =
      '<UpdateJobStatusResult><JobId>j</JobId><Status>Ready</Status>' +
      '<StatusUpdateReason>&#34;go&#34; &#39;now&#39;&#x9;&#xA;&#128512; &lt;&gt;&amp;&quot;&apos; &amp;lt; &#xD800; &bogus;</StatusUpdateReason>' +
      '</UpdateJobStatusResult>';
    expect(UpdateJobStatus.response(body).statusUpdateReason).toBe(
      '"go" \'now\'\t\n😀 <>&"\' &lt; &#xD800; &bogus;',
    );
  });

  it('UpdateJobStatusResult with an empty reason', () => {
    const body =
      '<UpdateJobStatusResult><JobId>j</JobId><Status>Cancelled</Status><StatusUpdateReason/></UpdateJobStatusResult>';
    expect(UpdateJobStatus.response(body)).toEqual({
      jobId: 'j',
      status: 'Cancelled',
      statusUpdateReason: null,
    });
  });

  it('UpdateJobPriorityResult', () => {
    const body =
      '<UpdateJobPriorityResult><JobId>0012</JobId><Priority>42</Priority></UpdateJobPriorityResult>';
    expect(UpdateJobPriority.response(body)).toEqual({ jobId: '0012', priority: 42 });
  });

  it('DescribeJobResult', () => {
    const body = `<DescribeJobResult>
  <Job>
    <ConfirmationRequired>true</ConfirmationRequired>
    <CreationTime>2026-11-23T22:00:00Z</CreationTime>
    <Description>nightly-restore &lt;eu&gt;</Description>
    <JobId>53dc6228-c50b-46f7-8ad7-65e7159f1aae</JobId>
    <Priority>10</Priority>
    <FailureReasons><JobFailure><FailureCode/><FailureReason/></JobFailure></FailureReasons>
    <Manifest>
      <Location><ETag>"15150651828fa9cdcb8356b6d1c7638b"</ETag><ObjectArn>qcs::cos:ap-chengdu::src-1250000000/manifest.csv</ObjectArn></Location>
      <Spec><Fields><member>Bucket</member><member>Key</member></Fields><Format>COSBatchOperations_CSV_V1</Format></Spec>
    </Manifest>
    <Operation><COSPutObjectCopy><TargetResource>qcs::cos:ap-chengdu::dst-1250000000</TargetResource></COSPutObjectCopy></Operation>
    <ProgressSummary><NumberOfTasksFailed>0</NumberOfTasksFailed><NumberOfTasksSucceeded>0</NumberOfTasksSucceeded><TotalNumberOfTasks>9</TotalNumberOfTasks></ProgressSummary>
    <Report><Bucket>qcs::cos:ap-chengdu::src-1250000000</Bucket><Enabled>true</Enabled><Format>Report_CSV_V1</Format><ReportScope>AllTasks</ReportScope></Report>
    <RoleArn>qcs::cam::uin/100000000001:roleName/COS_Batch_QcsRole</RoleArn>
    <Status>Suspended</Status>
    <StatusUpdateReason>waiting</StatusUpdateReason>
  </Job>
</DescribeJobResult>`;
    expect(DescribeJob.response(body)).toEqual({
      jobId: '53dc6228-c50b-46f7-8ad7-65e7159f1aae',
      status: 'Suspended',
      priority: 10,
      description: 'nightly-restore <eu>',
      creationTime: '2026-11-23T22:00:00Z',
      statusUpdateReason: 'waiting',
      progress: { total: 9, succeeded: 0, failed: 0 },
      failureReasons: [],
      report: 'qcs::cos:ap-chengdu::src-1250000000',
      terminationDate: null,
    });
  });

  it('DescribeJobResult of a failed job: its failure reasons, report location and end time', () => {
    const body = `<DescribeJobResult><Job><JobId>9</JobId><Status>Failed</Status>
    <FailureReasons><JobFailure><FailureCode>ManifestNotFound</FailureCode><FailureReason>no &lt;manifest&gt;</FailureReason></JobFailure><JobFailure><FailureCode>TooManyFailures</FailureCode><FailureReason>50%</FailureReason></JobFailure></FailureReasons>
    <Report><Bucket>qcs::cos:ap-chengdu::rep-1250000000</Bucket><Enabled>true</Enabled><Prefix>reports/</Prefix></Report>
    <TerminationDate>2026-11-24T00:00:00Z</TerminationDate></Job></DescribeJobResult>`;
    expect(DescribeJob.response(body)).toMatchObject({
      failureReasons: [
        { code: 'ManifestNotFound', reason: 'no <manifest>' },
        { code: 'TooManyFailures', reason: '50%' },
      ],
      report: 'qcs::cos:ap-chengdu::rep-1250000000/reports/',
      terminationDate: '2026-11-24T00:00:00Z',
    });
  });

  it('DescribeJobResult with optional fields absent', () => {
    const body = '<DescribeJobResult><Job><JobId>1</JobId><Status>New</Status></Job></DescribeJobResult>';
    expect(DescribeJob.response(body)).toEqual({
      jobId: '1',
      status: 'New',
      priority: null,
      description: null,
      creationTime: null,
      statusUpdateReason: null,
      progress: null,
      failureReasons: [],
      report: null,
      terminationDate: null,
    });
  });

  it('ListJobsResult with one member is still a list', () => {
    const body =
      '<ListJobsResult><Jobs><member><JobId>001</JobId><Status>Active</Status><Priority>3</Priority><Description>bulk-1</Description></member></Jobs><NextToken>001</NextToken></ListJobsResult>';
    expect(ListJobs.response(body)).toEqual({
      jobs: [
        {
          jobId: '001',
          status: 'Active',
          priority: 3,
          description: 'bulk-1',
          creationTime: null,
          statusUpdateReason: null,
          progress: null,
        },
      ],
      nextToken: '001',
    });
  });

  it('ListJobsResult with several members and no further page', () => {
    const body = `<ListJobsResult><Jobs>
  <member><JobId>a</JobId><Status>Suspended</Status></member>
  <member><JobId>b</JobId><Operation>COSPutObjectCopy</Operation><ProgressSummary><TotalNumberOfTasks>1</TotalNumberOfTasks></ProgressSummary><Status>Complete</Status><TerminationDate>2026-11-24T00:00:00Z</TerminationDate></member>
</Jobs><NextToken></NextToken></ListJobsResult>`;
    const page = ListJobs.response(body);
    expect(page.jobs.map((j) => [j.jobId, j.status, j.progress])).toEqual([
      ['a', 'Suspended', null],
      ['b', 'Complete', { total: 1, succeeded: 0, failed: 0 }],
    ]);
    expect(page.nextToken).toBeNull();
  });

  it('an empty ListJobsResult ends the listing even when a token comes back', () => {
    expect(ListJobs.response('<ListJobsResult><Jobs/><NextToken>z</NextToken></ListJobsResult>')).toEqual({
      jobs: [],
      nextToken: null,
    });
    expect(ListJobs.response('<ListJobsResult></ListJobsResult>')).toEqual({ jobs: [], nextToken: null });
  });

  it.each<[string, () => unknown]>([
    ['an HTML page', () => DescribeJob.response('<html><body>hello</body></html>')],
    ['an empty body', () => UpdateJobStatus.response('')],
    [
      'a job without JobId',
      () => DescribeJob.response('<DescribeJobResult><Job><Status>New</Status></Job></DescribeJobResult>'),
    ],
    [
      'a priority that is not an integer',
      () =>
        UpdateJobPriority.response(
          '<UpdateJobPriorityResult><JobId>j</JobId><Priority>x</Priority></UpdateJobPriorityResult>',
        ),
    ],
    [
      'a list member without Status',
      () =>
        ListJobs.response('<ListJobsResult><Jobs><member><JobId>j</JobId></member></Jobs></ListJobsResult>'),
    ],
  ])('a 2xx answer with %s is a retryable MalformedResponse', (_name, decode) => {
    expect(decode).toThrow(
      expect.objectContaining({ kind: 'server', code: 'MalformedResponse', retryable: true }),
    );
  });
});

const errorXml = (code: string, message: string, requestId = 'NjU3ZjIxYzJfOTVjYjA5MDlfMjQ3NV8x') =>
  `<?xml version='1.0' encoding='utf-8' ?>
<Error>
  <Code>${code}</Code>
  <Message>${message}</Message>
  <Resource>100000000001.cos-control.ap-guangzhou.myqcloud.com/jobs/j/status</Resource>
  <RequestId>${requestId}</RequestId>
  <TraceId>OGVmYzZiMmQzYjA2OWNh</TraceId>
</Error>`;

describe('errors', () => {
  it.each<[number, string, string, ErrorKind, boolean]>([
    [
      400,
      'InvalidArgument',
      'The value of the requestedJobStatus parameter must be Cancelled or Ready',
      'invalid',
      false,
    ],
    [400, 'InvalidRequest', 'The specified job has already been completed', 'conflict', false],
    [400, 'InvalidRequest', 'Error with the job status change', 'conflict', false],
    [404, 'NoSuchJob', 'The specified job does not exist or has already been completed', 'not-found', false],
    [403, 'AccessDenied', 'Access Denied.', 'auth', false],
    [403, 'SignatureDoesNotMatch', 'The Signature you specified is invalid.', 'auth', false],
    [403, 'InvalidAccessKeyId', 'The access key Id format you provided is invalid.', 'auth', false],
    [503, 'SlowDown', 'Please reduce your request rate.', 'throttled', true],
    [429, 'TooManyRequests', 'rate', 'throttled', true],
    [500, 'InternalError', 'We encountered an internal error.', 'server', true],
    [503, 'ServiceUnavailable', 'busy', 'server', true],
    [409, 'SomethingNew', 'unknown code, by status', 'conflict', false],
    [400, 'SomethingElse', 'unknown code, by status', 'invalid', false],
  ])('%i %s → %s', (status, code, message, kind, retryable) => {
    const e = decodeError(status, { 'x-cos-request-id': 'from-header' }, errorXml(code, message));
    expect(e).toMatchObject({
      kind,
      code,
      message,
      httpStatus: status,
      requestId: 'NjU3ZjIxYzJfOTVjYjA5MDlfMjQ3NV8x',
    });
    expect(e.retryable).toBe(retryable);
  });

  it('clips an endless message', () => {
    const e = decodeError(400, {}, errorXml('InvalidArgument', 'x'.repeat(100_000)));
    expect(e.message.length).toBeLessThanOrEqual(1025);
  });

  it('takes the request id from x-cos-request-id when the document has none', () => {
    const e = decodeError(
      404,
      { 'x-cos-request-id': 'hdr-1' },
      '<Error><Code>NoSuchJob</Code><Message>m</Message></Error>',
    );
    expect(e).toMatchObject({ kind: 'not-found', code: 'NoSuchJob', requestId: 'hdr-1' });
  });

  it.each<[number, string, string, ErrorKind]>([
    [502, '<html><body><h1>502 Bad Gateway</h1></body></html>', 'BadGateway', 'server'],
    [504, '', 'GatewayTimeout', 'server'],
    [429, 'slow down', 'TooManyRequests', 'throttled'],
    [403, '<html>denied</html>', 'Forbidden', 'auth'],
    [599, 'x', 'Http599', 'server'],
  ])(
    'a %i whose body is not a COS error document (%j) is still a ProviderError',
    (status, body, code, kind) => {
      const e = decodeError(status, { 'x-cos-request-id': 'rid' }, body);
      expect(e).toMatchObject({ kind, code, httpStatus: status, requestId: 'rid' });
      expect(e.message).toContain(String(status));
    },
  );

  it('cosErrorKind prefers the code over the status', () => {
    expect(cosErrorKind('SlowDown', 503)).toBe('throttled');
    expect(cosErrorKind('InvalidRequest', 400)).toBe('conflict');
    expect(cosErrorKind('Whatever', 502)).toBe('server');
  });
});
