/**
 * The local DynamoDB: the table serverless.yml declares, created idempotently, in memory or kept
 * on disk across restarts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTable, LOCAL_CREDENTIALS, startLocalDynamo, tableInputFromServerless } from './dynamo';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const clientOf = (endpoint: string) =>
  new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS });

describe('startLocalDynamo', () => {
  it('serves, on 127.0.0.1, the table serverless.yml declares', async () => {
    const db = await startLocalDynamo({ stage: 'qa' });
    const c = clientOf(db.endpoint);
    try {
      expect(db.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(db.tableName).toBe('jobctl-qa-state');
      const { Table } = await c.send(new DescribeTableCommand({ TableName: db.tableName }));
      expect(Table?.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const gsis = Object.fromEntries(
        (Table?.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, [g.KeySchema, g.Projection]]),
      );
      expect(gsis).toEqual({
        byPolicy: [
          [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          { ProjectionType: 'ALL' },
        ],
        byTarget: [
          [
            { AttributeName: 'gsi2pk', KeyType: 'HASH' },
            { AttributeName: 'gsi2sk', KeyType: 'RANGE' },
          ],
          { ProjectionType: 'ALL' },
        ],
      });
    } finally {
      c.destroy();
      await db.close();
    }
  });

  it('keeps items under a data directory across restarts, reusing the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobctl-dynamo-'));
    dirs.push(dir);
    const Key = { pk: { S: 'TRANSITION#x' }, sk: { S: 'TRANSITION' } };
    const first = await startLocalDynamo({ dataDir: dir });
    const c1 = clientOf(first.endpoint);
    await c1.send(
      new PutItemCommand({ TableName: first.tableName, Item: { ...Key, status: { S: 'COMPLETED' } } }),
    );
    c1.destroy();
    await first.close();

    const second = await startLocalDynamo({ dataDir: dir });
    const c2 = clientOf(second.endpoint);
    try {
      const got = await c2.send(new GetItemCommand({ TableName: second.tableName, Key }));
      expect(got.Item?.status).toEqual({ S: 'COMPLETED' });
    } finally {
      c2.destroy();
      await second.close();
    }
  });

  it('refuses an existing table whose keys differ from the declared ones', async () => {
    const db = await startLocalDynamo();
    const c = clientOf(db.endpoint);
    try {
      const declared = await tableInputFromServerless();
      await expect(
        ensureTable(c, {
          ...declared,
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      ).rejects.toThrow(/exists with keys/);
      await expect(ensureTable(c, declared)).resolves.toBeUndefined();
    } finally {
      c.destroy();
      await db.close();
    }
  });
});
