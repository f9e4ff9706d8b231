/**
 * Reading the ledger back: one job's story (one Query on its partition), or the recent jobs of a
 * policy (byPolicy) or a target (byTarget), newest first. Shared by `jobctl history` and tests.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { jobPk, type LedgerTarget, META_SK, policyPk, targetPk } from '../lambda/ledger-keys';

export interface HistoryEvent {
  at: string;
  kind: 'outcome' | 'status' | 'settled' | 'closed';
  provider: string;
  region: string;
  account: string | null;
  appId: string | null;
  jobId: string;
  /** The rest of the event as stored (outcome, from/to, verdict, …), keys and TTL left out. */
  detail: Record<string, unknown>;
}

export interface HistoryQuery {
  /** Only events at or after this ISO time. */
  since?: string | undefined;
  /** An outcome kind (`applied`, `rejected`, …) or a verdict (`partial`, …): only events that say it. */
  outcome?: string | undefined;
  /** Jobs read for a policy or target query (each job's story is one more Query). */
  maxJobs?: number | undefined;
}

type Item = Record<string, unknown>;

const docOf = (c: DynamoDBClient | DynamoDBDocumentClient) =>
  c instanceof DynamoDBDocumentClient ? c : DynamoDBDocumentClient.from(c);

const MAX_PAGES = 20;

async function queryAll(
  doc: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof QueryCommand>[0],
  limit = Infinity,
) {
  const items: Item[] = [];
  let start: Item | undefined;
  for (let page = 0; page < MAX_PAGES && items.length < limit; page++) {
    const r = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
    if (!start) break;
  }
  return items.slice(0, limit);
}

function matches(ev: Item, q: HistoryQuery): boolean {
  if (q.since && (ev.at as string) < q.since) return false;
  if (q.outcome && ev.outcome !== q.outcome && ev.verdict !== q.outcome) return false;
  return true;
}

function toEvent(
  meta: Item | undefined,
  ev: Item,
  fallback: { target: LedgerTarget; jobId: string },
): HistoryEvent {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, at, kind, ...detail } = ev;
  return {
    at: at as string,
    kind: kind as HistoryEvent['kind'],
    provider: (meta?.provider as string) ?? fallback.target.provider,
    region: (meta?.region as string) ?? fallback.target.region,
    account: (meta?.account as string) ?? fallback.target.account ?? null,
    appId: (meta?.appId as string) ?? fallback.target.appId ?? null,
    jobId: (meta?.jobId as string) ?? fallback.jobId,
    detail,
  };
}

/** One job's events, newest first: META and every event share the partition, so one Query. */
export async function jobHistory(
  client: DynamoDBClient | DynamoDBDocumentClient,
  table: string,
  target: LedgerTarget,
  jobId: string,
  q: HistoryQuery = {},
): Promise<HistoryEvent[]> {
  const doc = docOf(client);
  const items = await queryAll(doc, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': jobPk(target, jobId) },
    ScanIndexForward: false,
  });
  const meta = items.find((i) => i.sk === META_SK);
  const byKey = new Map<string, Item>();
  for (const i of items) if (i.sk !== META_SK) byKey.set(i.sk as string, i);
  // Events META still holds but history lacks (a crash between the two writes) are shown too.
  for (const e of (meta?.lastEvents as Item[] | undefined) ?? [])
    if (!byKey.has(e.sk as string)) byKey.set(e.sk as string, e);
  return [...byKey.values()]
    .filter((e) => matches(e, q))
    .map((e) => toEvent(meta, e, { target, jobId }))
    .sort(newestFirst);
}

/** Recent jobs of a policy or a target, and their events merged newest first. */
export async function recentHistory(
  client: DynamoDBClient | DynamoDBDocumentClient,
  table: string,
  by: { policy: string } | { target: LedgerTarget },
  q: HistoryQuery = {},
): Promise<HistoryEvent[]> {
  const doc = docOf(client);
  const [index, hash, range, value] =
    'policy' in by
      ? ['byPolicy', 'gsi1pk', 'gsi1sk', policyPk(by.policy)]
      : ['byTarget', 'gsi2pk', 'gsi2sk', targetPk(by.target)];
  const metas = await queryAll(
    doc,
    {
      TableName: table,
      IndexName: index,
      KeyConditionExpression: q.since ? `${hash} = :h AND ${range} >= :since` : `${hash} = :h`,
      ExpressionAttributeValues: { ':h': value, ...(q.since ? { ':since': q.since } : {}) },
      ScanIndexForward: false,
    },
    q.maxJobs ?? 50,
  );
  const all: HistoryEvent[] = [];
  for (const m of metas) {
    const target: LedgerTarget = {
      provider: m.provider as string,
      region: m.region as string,
      account: m.account as string | null,
      appId: m.appId as string | null,
    };
    all.push(...(await jobHistory(doc, table, target, m.jobId as string, q)));
  }
  return all.sort(newestFirst);
}

/** Within one instant, a verdict follows the status change that caused it. */
const RANK: Record<HistoryEvent['kind'], number> = { outcome: 0, status: 1, settled: 2, closed: 3 };
const newestFirst = (a: HistoryEvent, b: HistoryEvent): number =>
  a.at < b.at ? 1 : a.at > b.at ? -1 : RANK[b.kind] - RANK[a.kind];
