/**
 * The ledger's tests and bench on the local DynamoDB of `jobctl run` (lib/local/dynamo.ts: dynalite
 * on 127.0.0.1, the table created from serverless.yml's StateTable), with clients to it and more
 * tables of exactly that shape, so a test may keep its own table name.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ensureTable,
  LOCAL_CREDENTIALS,
  startLocalDynamo as startServer,
  tableInputFromServerless,
} from '../../lib/local/dynamo';

export interface LocalDynamo {
  endpoint: string;
  /** serverless.yml's table, already created. */
  tableName: string;
  client: (opts?: { maxAttempts?: number }) => DynamoDBClient;
  close(): Promise<void>;
}

export async function startLocalDynamo(): Promise<LocalDynamo> {
  const server = await startServer();
  const clients: DynamoDBClient[] = [];
  return {
    endpoint: server.endpoint,
    tableName: server.tableName,
    client(opts = {}) {
      const c = new DynamoDBClient({
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: opts.maxAttempts ?? 3,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close();
    },
  };
}

/** Another table shaped like serverless.yml's StateTable (keys, byPolicy and byTarget indexes). */
export async function createLedgerTable(client: DynamoDBClient, name: string): Promise<void> {
  await ensureTable(client, { ...(await tableInputFromServerless()), TableName: name });
}
