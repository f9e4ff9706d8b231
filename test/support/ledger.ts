/**
 * TO BE REPLACED by lib/local/dynamo.ts (helper "state": starts dynalite and creates the table
 * from serverless.yml). Until then: a dynalite on 127.0.0.1 and the table exactly as TABLE.md
 * agrees it (pk/sk, GSIs byPolicy and byTarget, projection ALL), for the ledger's tests and bench.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
// @ts-expect-error dynalite ships no types
import dynalite from 'dynalite';

export interface LocalDynamo {
  endpoint: string;
  client: (opts?: { maxAttempts?: number }) => DynamoDBClient;
  close(): Promise<void>;
}

export async function startLocalDynamo(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBClient[] = [];
  return {
    endpoint,
    client(opts = {}) {
      const c = new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: opts.maxAttempts ?? 3,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function createLedgerTable(client: DynamoDBClient, name: string): Promise<void> {
  const gsi = (index: string, hash: string, range: string) => ({
    IndexName: index,
    KeySchema: [
      { AttributeName: hash, KeyType: 'HASH' as const },
      { AttributeName: range, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'ALL' as const },
  });
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map((a) => ({
        AttributeName: a,
        AttributeType: 'S' as const,
      })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [gsi('byPolicy', 'gsi1pk', 'gsi1sk'), gsi('byTarget', 'gsi2pk', 'gsi2sk')],
    }),
  );
}
