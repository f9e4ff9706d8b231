/**
 * A DynamoDB for one machine: dynalite in a worker thread of this process, on 127.0.0.1, holding
 * the jobctl table created from serverless.yml's own `StateTable` resource, so local runs and
 * tests speak the real DynamoDB wire to the table a deploy would create — never a mock.
 *
 * Storage: in memory, or LevelDB files under `dataDir` (dynalite's `level` → classic-level, which
 * loads a prebuilt binary from its package: nothing is compiled at install time).
 *
 * What dynalite cannot hold is still declared, and checked by test/serverless-package.test.ts:
 * TTL, PITR and SSE have no local effect (dynalite implements neither UpdateTimeToLive nor
 * UpdateContinuousBackups), which is why readers of the table honour `expiresAt` themselves.
 *
 * @example
 * const db = await startLocalDynamo({ dataDir: '.jobctl' });
 * env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint; env.JOBCTL_TABLE = db.tableName;
 * await db.close();
 */
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { type LoadOptions, loadResource } from './serverless-yml';

/** serverless.yml's logical id of the table. */
export const TABLE_RESOURCE = 'StateTable';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  /** The value of JOBCTL_TABLE. */
  tableName: string;
  close(): Promise<void>;
}

export interface LocalDynamoOptions extends LoadOptions {
  /** Keep the data in `<dataDir>/dynamodb` (LevelDB); in memory when absent. */
  dataDir?: string;
  port?: number;
  serverlessYml?: string;
}

/** Fixed keys: dynalite checks that requests are signed, not by whom. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export async function startLocalDynamo(o: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const input = await tableInputFromServerless(o.serverlessYml, o);
  let path: string | undefined;
  if (o.dataDir) {
    path = join(o.dataDir, 'dynamodb');
    await mkdir(path, { recursive: true });
  }
  const server = await serveInThread({
    ...(path ? { path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    port: o.port ?? 0,
  });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const close = server.close;
  try {
    const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS });
    try {
      await ensureTable(client, input);
    } finally {
      client.destroy();
    }
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
  return { endpoint, tableName: input.TableName as string, close };
}

/**
 * The CreateTable request for serverless.yml's table resource: its CloudFormation properties are
 * CreateTable's own names, except the ones applied by later calls (TTL, PITR) and tags.
 */
export async function tableInputFromServerless(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Promise<CreateTableCommandInput> {
  const resource = await loadResource(TABLE_RESOURCE, path, options);
  if (resource.Type !== 'AWS::DynamoDB::Table')
    throw new Error(`${path}: ${TABLE_RESOURCE} is ${resource.Type}, not AWS::DynamoDB::Table`);
  const {
    TimeToLiveSpecification: _ttl,
    PointInTimeRecoverySpecification: _pitr,
    Tags: _tags,
    ...create
  } = resource.Properties;
  if (typeof create.TableName !== 'string') throw new Error(`${path}: ${TABLE_RESOURCE} needs a TableName`);
  return create as unknown as CreateTableCommandInput;
}

/** Create the table, or accept the one already there if its keys are the declared ones. */
export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) throw e;
  }
  // Bounded: dynalite turns ACTIVE after createTableMs (0 here); a real endpoint takes seconds.
  for (let i = 0; i < 100; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
    const want = JSON.stringify(input.KeySchema);
    if (JSON.stringify(Table?.KeySchema) !== want)
      throw new Error(
        `table ${input.TableName} exists with keys ${JSON.stringify(Table?.KeySchema)}, not ${want}`,
      );
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${input.TableName} did not become ACTIVE`);
}

/**
 * dynalite in a worker thread: its request parsing and LevelDB work would otherwise share the event
 * loop with the runner it serves, and every DynamoDB request would wait behind provider traffic.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { port, ...options } = workerData.options;
const server = require(workerData.dynalite)(options);
server.on('error', (e) => { throw e; });
server.listen(port, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => server.close(() => process.exit(0)));
`;

async function serveInThread(
  options: Record<string, unknown>,
): Promise<{ port: number; close(): Promise<void> }> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { dynalite: createRequire(import.meta.url).resolve('dynalite'), options },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`local DynamoDB exited (${code}) before listening`)));
  });
  worker.removeAllListeners();
  // A crash later surfaces where it matters: every request then fails as StateUnavailable.
  worker.on('error', () => {});
  const close = async () => {
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    // Bounded: a close that hangs (a client holding a connection open) ends the thread.
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  };
  return { port, close };
}
