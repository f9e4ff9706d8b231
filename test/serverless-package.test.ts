/**
 * `serverless package` as a deploy would run it, offline and without AWS credentials, and the
 * CloudFormation it produces: the stack issue 6 asks for, checked resource by resource. One
 * package run is shared by every assertion (it takes a while); a second run without the required
 * allowlist parameter must fail.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSchedules } from '../lib/local/serverless-yml';

const ALLOWED = 'cos:100000000001@ap-guangzhou,s3:123456789012';
const MAX_ZIP_BYTES = 1.5 * 1024 * 1024;
const FUNCTIONS = {
  transitions: 'TransitionsLambdaFunction',
  schedule: 'ScheduleLambdaFunction',
  reconcile: 'ReconcileLambdaFunction',
} as const;

// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON, walked by tests
type Json = Record<string, any>;
interface Run {
  code: number;
  output: string;
}

let dir: string;
let template: Json;
let resources: Record<string, Json>;
let withoutAllowlist: Run;
let devDefaults: Run;
const zipBytes: Record<string, number> = {};

function sls(args: string[], cwdTmp: string, command = 'package'): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
    // No credentials from anywhere: packaging must not need them.
    AWS_SHARED_CREDENTIALS_FILE: join(cwdTmp, 'no-credentials'),
    AWS_CONFIG_FILE: join(cwdTmp, 'no-config'),
    FORCE_COLOR: '0',
    // A build folder of our own (ignored like node_modules), safe from other packaging runs.
    JOBCTL_ESBUILD_WORK_FOLDER: join('node_modules', '.cache', `jobctl-package-test-${process.pid}`),
  };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
    delete env[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['node_modules/serverless/bin/serverless.js', command, ...args],
      { env, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error.code as number) ?? 1) : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jobctl-package-'));
  const out = join(dir, 'package');
  // The failing run stops at variable resolution, before any build, so both can run at once.
  const [ok, refused, dev] = await Promise.all([
    sls(['--package', out, `--param=allowedTargets=${ALLOWED}`], dir),
    sls(['--stage', 'prod', '--package', join(dir, 'refused')], dir),
    // `npm run package` as the README writes it: the dev stage, no parameter.
    sls(['--format', 'json', '--path', 'provider.environment'], dir, 'print'),
  ]);
  withoutAllowlist = refused;
  devDefaults = dev;
  if (ok.code !== 0) throw new Error(`serverless package failed:\n${ok.output}`);
  template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
  for (const name of Object.keys(FUNCTIONS)) zipBytes[name] = (await stat(join(out, `${name}.zip`))).size;
  console.log(`zip sizes (bytes): ${JSON.stringify(zipBytes)}`);
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });

/** Every IAM statement in the stack, from roles and policies alike. */
function statements(): Json[] {
  const out: Json[] = [];
  for (const [, r] of [
    ...ofType('AWS::IAM::Role'),
    ...ofType('AWS::IAM::Policy'),
    ...ofType('AWS::IAM::ManagedPolicy'),
  ]) {
    const docs =
      r.Type === 'AWS::IAM::Role'
        ? (r.Properties.Policies ?? []).map((p: Json) => p.PolicyDocument)
        : [r.Properties.PolicyDocument];
    for (const d of docs) out.push(...d.Statement);
  }
  return out;
}
const actionsOf = (s: Json): string[] => [s.Action ?? []].flat();

describe('the event source mapping', () => {
  it('reports partial batch failures, caps concurrency and batches from the requests queue', () => {
    const [[, mapping] = []] = ofType('AWS::Lambda::EventSourceMapping');
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(1);
    expect(mapping?.Properties).toMatchObject({
      EventSourceArn: getAtt('RequestsQueue'),
      FunctionName: getAtt(FUNCTIONS.transitions),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
      BatchSize: 10,
      Enabled: true,
    });
    // A batching window is refused on FIFO queues, so it only applies to the standard one.
    expect(mapping?.Properties.MaximumBatchingWindowInSeconds).toEqual({
      'Fn::If': ['UseFifo', { Ref: 'AWS::NoValue' }, 5],
    });
  });
});

describe('the queues', () => {
  it('redrives the requests queue to its DLQ after 5 receives', () => {
    expect(resources.RequestsQueue?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt('RequestsDeadLetterQueue'),
      maxReceiveCount: 5,
    });
  });

  it('keeps a message invisible at least 6 × the transitions timeout (plus the batching window)', () => {
    const timeout = resources[FUNCTIONS.transitions]?.Properties.Timeout as number;
    const visibility = resources.RequestsQueue?.Properties.VisibilityTimeout as number;
    expect(timeout).toBeGreaterThan(0);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout + 5);
  });

  it('encrypts every queue', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues.map(([id]) => id).sort()).toEqual([
      'RequestsDeadLetterQueue',
      'RequestsQueue',
      'ResultsQueue',
    ]);
    for (const [, q] of queues) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it('offers a FIFO requests queue (and DLQ) behind one parameter', () => {
    expect(template.Conditions.UseFifo).toEqual({ 'Fn::Equals': ['false', 'true'] });
    for (const id of ['RequestsQueue', 'RequestsDeadLetterQueue']) {
      expect(resources[id]?.Properties.FifoQueue).toEqual({
        'Fn::If': ['UseFifo', true, { Ref: 'AWS::NoValue' }],
      });
      expect(resources[id]?.Properties.QueueName['Fn::If'][1]).toMatch(/\.fifo$/);
    }
  });

  it('alarms as soon as the DLQ holds a message', () => {
    const [[, alarm] = []] = ofType('AWS::CloudWatch::Alarm');
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt('RequestsDeadLetterQueue', 'QueueName') }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('the functions', () => {
  it.each(Object.entries(FUNCTIONS))(
    '%s runs nodejs22.x on arm64 with the queue URLs and the allowlist',
    (name, id) => {
      const p = resources[id]?.Properties;
      expect(p).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: `functions/${name}.handler`,
      });
      expect(p.Environment.Variables).toMatchObject({
        REQUESTS_QUEUE_URL: { Ref: 'RequestsQueue' },
        RESULTS_QUEUE_URL: { Ref: 'ResultsQueue' },
        JOBCTL_ALLOWED_TARGETS: ALLOWED,
        JOBCTL_REQUIRE_ALLOWLIST: 'true',
        POWERTOOLS_SERVICE_NAME: 'jobctl',
        POWERTOOLS_METRICS_NAMESPACE: 'jobctl',
        JOBCTL_TABLE: 'jobctl-dev-state',
      });
    },
  );

  it('names SSM parameters for provider keys and holds no key itself', () => {
    const vars = resources[FUNCTIONS.transitions]?.Properties.Environment.Variables as Record<
      string,
      unknown
    >;
    expect(vars.TENCENTCLOUD_CREDENTIALS_PARAMETER).toBe('/jobctl/dev/tencentcloud-credentials');
    expect(vars.ALIBABA_CLOUD_CREDENTIALS_PARAMETER).toBe('/jobctl/dev/alibabacloud-credentials');
    const plainKeys = [
      'TENCENTCLOUD_SECRETID',
      'TENCENTCLOUD_SECRETKEY',
      'ALIBABA_CLOUD_ACCESS_KEY_ID',
      'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    ];
    for (const k of plainKeys) expect(vars).not.toHaveProperty(k);
  });
});

describe('EventBridge Scheduler schedules', () => {
  it('are the schedules loadSchedules reads, with time zones, DISABLED, through their own role', async () => {
    const declared = await loadSchedules('serverless.yml');
    const schedules = ofType('AWS::Scheduler::Schedule')
      .map(([, s]) => s.Properties)
      .filter((s) => s.Target.Arn['Fn::GetAtt'][0] === FUNCTIONS.schedule);
    expect(
      schedules.map((s) => [s.Name, s.ScheduleExpression, s.ScheduleExpressionTimezone, s.State]),
    ).toEqual(declared.map((d) => [d.name, d.expression, d.timezone, 'DISABLED']));
    expect(schedules).toHaveLength(3);
    for (const [i, s] of schedules.entries()) {
      expect(s.ScheduleExpressionTimezone).toBe('Asia/Shanghai');
      expect(s.Target.Arn).toEqual(getAtt(FUNCTIONS.schedule));
      expect(s.Target.RoleArn).toEqual(getAtt('SchedulerInvokeRole'));
      expect(JSON.parse(s.Target.Input)).toEqual(declared[i]?.input);
    }
  });
});

describe('the reconcile function', () => {
  it('ticks every 5 minutes (enabled) through its own scheduler role, one execution at a time', () => {
    const [tick, ...more] = ofType('AWS::Scheduler::Schedule')
      .map(([, s]) => s.Properties)
      .filter((s) => s.Target.Arn['Fn::GetAtt'][0] === FUNCTIONS.reconcile);
    expect(more).toEqual([]);
    expect(tick).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect(tick.Target.RoleArn).toEqual(getAtt('ReconcileSchedulerRole'));
    expect(JSON.parse(tick.Target.Input)).toEqual({ tickTime: '<aws.scheduler.scheduled-time>' });
    const fn = resources[FUNCTIONS.reconcile]?.Properties;
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect(fn.Role).toEqual(getAtt('ReconcileRole'));
    expect(fn.Environment.Variables.JOBCTL_RECONCILE_PERIOD_MINUTES).toBe('5');
    const invoke = (resources.ReconcileSchedulerRole!.Properties.Policies as Json[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    expect(invoke).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: getAtt(FUNCTIONS.reconcile) },
    ]);
  });

  it('may list and describe jobs, read provider keys, send to the two queues and use the ledger; nothing else', () => {
    const st = (resources.ReconcileRole!.Properties.Policies as Json[]).flatMap(
      (p) => p.PolicyDocument.Statement,
    );
    expect(st.flatMap(actionsOf).sort()).toEqual(
      [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:SendMessage',
        'ssm:GetParameter',
        'kms:Decrypt',
        's3:DescribeJob',
        's3:ListJobs',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:BatchWriteItem',
      ].sort(),
    );
    // The ledger: the state table and its indexes (the tick queries byTarget), nothing wider.
    expect(st.find((x) => actionsOf(x).includes('dynamodb:Query'))?.Resource).toEqual([
      getAtt('StateTable'),
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
      { 'Fn::Sub': '${StateTable.Arn}/index/*' },
    ]);
    expect(st.flatMap(actionsOf)).not.toContain('dynamodb:Scan');
    expect(st.flatMap(actionsOf)).not.toContain('dynamodb:DeleteItem');
    expect(st.find((x) => actionsOf(x).includes('sqs:SendMessage'))?.Resource).toEqual([
      getAtt('RequestsQueue'),
      getAtt('ResultsQueue'),
    ]);
    expect(resources.ReconcileRole?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
  });

  it('ships policies.yml beside the function, where functions/reconcile.ts reads it', async () => {
    const files = readZip(await readFile(join(dir, 'package', 'reconcile.zip')));
    expect(String(files['policies.yml'])).toContain('policies:');
  });
});

describe('IAM', () => {
  it('grants no wildcard action anywhere', () => {
    const all = statements();
    expect(all.length).toBeGreaterThan(5);
    for (const s of all) {
      expect(s).not.toHaveProperty('NotAction');
      for (const a of actionsOf(s)) expect(a).not.toContain('*');
    }
  });

  it('grants exactly the actions the functions use', () => {
    const granted = new Set(statements().flatMap(actionsOf));
    expect([...granted].sort()).toEqual(
      [
        // framework: logs, the event source mapping, EventBridge Scheduler
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'logs:TagResource',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'lambda:InvokeFunction',
        // ours
        'sqs:SendMessage',
        'sqs:ChangeMessageVisibility',
        'ssm:GetParameter',
        'kms:Decrypt',
        's3:UpdateJobStatus',
        's3:UpdateJobPriority',
        's3:DescribeJob',
        's3:ListJobs',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        // the ledger in the reconcile tick
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      ].sort(),
    );
  });

  it('scopes sends to the two queues and key reads to the two parameters through SSM', () => {
    const by = (action: string) => statements().filter((s) => actionsOf(s).includes(action));
    // Two roles send (the shared one and the reconcile function's): each to the two queues only.
    const sends = by('sqs:SendMessage');
    expect(sends).toHaveLength(2);
    for (const s of sends) expect(s.Resource).toEqual([getAtt('RequestsQueue'), getAtt('ResultsQueue')]);
    // A waiting transition's visibility is shortened on the requests queue only.
    expect(by('sqs:ChangeMessageVisibility').map((s) => s.Resource)).toEqual([[getAtt('RequestsQueue')]]);
    for (const [i, s] of by('ssm:GetParameter').entries())
      expect(s.Resource, `GetParameter statement ${i}`).toEqual(by('ssm:GetParameter')[0]?.Resource);
    for (const [i, k] of by('kms:Decrypt').entries())
      expect(k.Condition, `Decrypt statement ${i}`).toEqual(by('kms:Decrypt')[0]?.Condition);
    const [ssm] = by('ssm:GetParameter');
    expect(JSON.stringify(ssm?.Resource)).toContain('parameter/jobctl/dev/tencentcloud-credentials');
    expect(JSON.stringify(ssm?.Resource)).toContain('parameter/jobctl/dev/alibabacloud-credentials');
    const [kms] = by('kms:Decrypt');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
    const viaSsm = { 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' };
    expect(kms?.Condition.StringEquals['kms:ViaService']).toEqual(viaSsm);
    expect(kms?.Condition.StringEquals['kms:EncryptionContext:PARAMETER_ARN']).toEqual(ssm?.Resource);
  });

  it('lets only Lambda assume the functions role, and Scheduler only invoke the schedule function', () => {
    const trust = (id: string) => resources[id]?.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust('IamRoleLambdaExecution')).toEqual([
      { Effect: 'Allow', Principal: { Service: ['lambda.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
    ]);
    expect(trust('SchedulerInvokeRole')).toMatchObject([
      { Principal: { Service: ['scheduler.amazonaws.com'] } },
    ]);
    const policies = resources.SchedulerInvokeRole?.Properties.Policies as Json[];
    expect(policies.flatMap((p) => p.PolicyDocument.Statement)).toEqual([
      { Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: getAtt(FUNCTIONS.schedule) },
    ]);
  });
});

describe('the state table', () => {
  it('is keyed pk/sk with the two sparse indexes, on demand, PITR, SSE and TTL on expiresAt', () => {
    expect(ofType('AWS::DynamoDB::Table').map(([id]) => id)).toEqual(['StateTable']);
    const p = resources.StateTable?.Properties;
    expect(p.TableName).toBe('jobctl-dev-state');
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p).not.toHaveProperty('ProvisionedThroughput');
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byPolicy',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byTarget',
        KeySchema: [
          { AttributeName: 'gsi2pk', KeyType: 'HASH' },
          { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(
      Object.fromEntries((p.AttributeDefinitions as Json[]).map((a) => [a.AttributeName, a.AttributeType])),
    ).toEqual({ pk: 'S', sk: 'S', gsi1pk: 'S', gsi1sk: 'S', gsi2pk: 'S', gsi2sk: 'S' });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('is the only resource DynamoDB actions reach, and never through a wildcard', () => {
    const dynamo = statements().filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    const table = getAtt('StateTable');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax
    const index = { 'Fn::Sub': '${StateTable.Arn}/index/*' };
    for (const s of dynamo) {
      expect(s.Effect).toBe('Allow');
      for (const r of [s.Resource].flat()) expect([table, index]).toContainEqual(r);
      // Writes and item reads go to the table itself; only Query may reach its indexes.
      if (!actionsOf(s).every((a) => a === 'dynamodb:Query')) expect([s.Resource].flat()).toEqual([table]);
    }
  });
});

describe('the function packages', () => {
  it.each(Object.keys(FUNCTIONS))('%s.zip is small', (name) => {
    expect(zipBytes[name]).toBeGreaterThan(10_000);
    expect(zipBytes[name]).toBeLessThan(MAX_ZIP_BYTES);
  });

  it.each(Object.keys(FUNCTIONS))(
    '%s.zip holds an ES module that loads in plain Node and exports the handler',
    async (name) => {
      const files = readZip(await readFile(join(dir, 'package', `${name}.zip`)));
      expect(JSON.parse(String(files['functions/package.json']))).toEqual({ type: 'module' });
      const root = join(dir, `unzipped-${name}`);
      for (const [file, bytes] of Object.entries(files)) {
        await mkdir(dirname(join(root, file)), { recursive: true });
        await writeFile(join(root, file), bytes as Buffer);
      }
      // Plain Node, as Lambda's runtime imports an ES module handler, with no node_modules in reach.
      const entry = pathToFileURL(join(root, 'functions', `${name}.js`)).href;
      const probe = `import(${JSON.stringify(entry)}).then((m) => console.log(typeof m.handler))`;
      const loaded = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['-e', probe], { cwd: root }, (e, stdout, stderr) =>
          e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout.trim()),
        ),
      );
      expect(loaded).toBe('function');
    },
  );

  it.each(Object.keys(FUNCTIONS))(
    '%s: what only some paths need (Tencent STS, SSM) is shipped but not in the cold-start import graph',
    async (name) => {
      const files = readZip(await readFile(join(dir, 'package', `${name}.zip`)));
      const text = (f: string) => String(files[`functions/${f}`] ?? '');
      // The files a cold start reads: the entry and, transitively, its static imports.
      const staticGraph = new Set<string>();
      const visit = (f: string) => {
        if (staticGraph.has(f)) return;
        staticGraph.add(f);
        for (const m of text(f).matchAll(
          /(?:^|[;}])\s*import\s*(?:[\w${}\s,*]+from\s*)?["']\.\/([\w.-]+\.js)["']/g,
        ))
          visit(m[1]!);
      };
      visit(`${name}.js`);
      const lazy = (marker: string) =>
        Object.keys(files).filter((f) => f.endsWith('.js') && String(files[f]).includes(marker));
      for (const marker of ['sts.tencentcloudapi.com', 'AmazonSSM']) {
        const holders = lazy(marker);
        expect(holders.length, `${marker} is shipped`).toBeGreaterThan(0);
        for (const f of holders)
          expect(staticGraph.has(f.replace('functions/', '')), `${f} is lazy`).toBe(false);
      }
    },
  );
});

describe('the allowlist parameter', () => {
  it('defaults, on the dev stage only, to the sandbox example targets', () => {
    expect(devDefaults.code, devDefaults.output).toBe(0);
    const env = JSON.parse(devDefaults.output.slice(devDefaults.output.indexOf('{')));
    expect(env.JOBCTL_ALLOWED_TARGETS).toBe(
      'cos:100000000001@ap-guangzhou,oss:*@cn-hangzhou,s3:123456789012@us-east-1',
    );
  });

  it('is required on any other stage: packaging without it fails and writes nothing', async () => {
    expect(withoutAllowlist.code).not.toBe(0);
    expect(withoutAllowlist.output).toContain('JOBCTL_ALLOWED_TARGETS');
    expect(withoutAllowlist.output).toContain('param');
    expect(await readdir(dir)).not.toContain('refused');
  });
});

/** The entries of a zip (stored or deflated), enough to look inside a function package. */
function readZip(buf: Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = buf.readUInt32LE(end + 16);
  for (let n = buf.readUInt16LE(end + 10); n > 0; n--) {
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const skip = nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const local = buf.readUInt32LE(at + 42);
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(data, data + size);
    out[name] = method === 0 ? raw : inflateRawSync(raw);
    at += 46 + skip;
  }
  return out;
}
