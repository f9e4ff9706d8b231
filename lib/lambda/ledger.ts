/**
 * The job ledger (issue 17): every outcome jobctl publishes and every status change of a watched
 * job, in the shared DynamoDB table, and exactly one `settled` message per watched job that ends.
 *
 * Guarantees, stated plainly:
 * - A quiet tick writes nothing: `observe` reads META items with BatchGetItem (100 keys a request)
 *   and writes only where `diff` (lib/core/verdict.ts) finds a status change.
 * - Every write of META is conditional on the `version` it read, so two ticks racing over the same
 *   job cannot both record a change; the settle write also requires `attribute_not_exists(settled)`.
 *   Only the tick whose write won publishes the verdict.
 * - Crash window: the winner writes `settledState = 'pending'` with the full message and a lease,
 *   publishes, then marks `published`. A tick that finds `pending` with an expired lease takes the
 *   lease (conditional) and republishes the stored message byte for byte. Two copies are therefore
 *   only possible if a process dies (or the ledger fails) after SQS accepted the message and before
 *   the mark; the body is identical, so the FIFO results queue's content deduplication drops the
 *   second copy within its 5-minute window (the lease is 60 s), and the message `id`
 *   (`settled/<JOBKEY>`) lets any consumer drop a later one. Never zero: `pending` stays until published.
 * - DynamoDB Local / dynalite has no TransactWriteItems, so META and history are written apart: META
 *   first (the conditional decision), then its events with deterministic keys; META also keeps those
 *   events (`lastEvents`) and the next change writes them again, so an event lost to a crash in
 *   between appears at the job's next change at the latest (idempotent put, same key).
 * - Outcomes (`recordOutcome`) never block a transition: a failed record goes to a bounded
 *   in-process backlog that the next `observe` (the tick) or `flushBacklog` retries; event keys
 *   derive from the outcome id, so a retry never duplicates. A process that dies with a backlog
 *   loses those records from the ledger (the outcomes themselves are on the results queue).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Outcome } from '../core/outcome';
import { diff, isFinal, type Progress, type Verdict, verdictOf } from '../core/verdict';
import {
  datedSk,
  eventSk,
  expiresAt,
  jobKey,
  jobPk,
  type LedgerTarget,
  META_SK,
  OPEN_PREFIX,
  openSk,
  policyPk,
  TARGETS_PK,
  targetKey,
  targetPk,
} from './ledger-keys';

export type { LedgerTarget } from './ledger-keys';

/** A job as the tick sees it: the providers' normalized Job, with what DescribeJob adds when known. */
export interface ObservedJob {
  jobId: string;
  status: string;
  priority?: number | null;
  description?: string | null;
  creationTime?: string | null;
  progress?: Progress | null;
  failureReasons?: { code: string; reason: string }[] | null;
  /** The completion report's location (bucket/prefix or URL), where the job has one. */
  report?: string | null;
  /** When the job ended, as the provider says (TerminationDate). */
  terminationDate?: string | null;
}

export interface SettledMessage {
  type: 'settled';
  /** `settled/<JOBKEY>`: the same for every copy, so duplicates are recognizable. */
  id: string;
  provider: string;
  region: string;
  account: string | null;
  appId: string | null;
  jobId: string;
  description: string | null;
  policy: string | null;
  status: string;
  verdict: Verdict;
  tasks: Progress | null;
  failureReasons: { code: string; reason: string }[];
  report: string | null;
  createdAt: string | null;
  confirmedAt: string | null;
  /** The provider's termination date, else when the ledger first saw the final status. */
  endedAt: string;
  outcomeIds: string[];
  settledAt: string;
}

/** What the transition asked, beyond the outcome (which has no appId nor the requested value). */
export interface Asked {
  appId?: string | null | undefined;
  requestedJobStatus?: string | undefined;
  priority?: number | undefined;
  statusUpdateReason?: string | undefined;
}

export interface LedgerCounters {
  /** DynamoDB requests the ledger sent (SDK-internal retries not counted). */
  readRequests: number;
  writeRequests: number;
  /** Conditional writes another writer won. */
  conditionalLosses: number;
}

export interface LedgerDeps {
  client: DynamoDBClient | DynamoDBDocumentClient;
  table: string;
  /** Publishes a settled message on the results queue; resolves once it is there. */
  publish: (m: SettledMessage) => Promise<void>;
  retentionDays?: number;
  /** How long a publisher holds a pending verdict before another tick may republish it. */
  leaseMs?: number;
  /**
   * Wall clock for leases (epoch ms), default Date.now. Not the tick's `now`: a lease is about how
   * long a live process may still be publishing, whatever time the tick says it observed at.
   */
  clock?: () => number;
  /** Outcome records kept for retry while the ledger is unavailable. */
  backlogMax?: number;
  /** Parallel conditional writes in one tick. */
  writeConcurrency?: number;
}

export type RecordResult =
  | { recorded: true }
  | { recorded: false; reason: 'no-job' }
  | { recorded: false; reason: 'ledger-unavailable'; error: string; backlog: number };

export interface ObserveOptions {
  /** The policy that matches a job, if any: such a job is watched even if jobctl never touched it. */
  policyOf?: (job: ObservedJob) => string | undefined;
  /** DescribeJob, to add failure reasons, report and end time to a verdict. */
  describe?: (jobId: string) => Promise<ObservedJob>;
  /**
   * `true` (default): `jobs` is the target's whole ListJobs sweep. The ledger reads the target's
   * open jobs with one byTarget Query (1 MB pages, about 1,000 jobs each) and reports the open
   * ones the sweep lacks as `missing`. `false`: `jobs` are a few DescribeJob answers; their META
   * items are read by key (BatchGetItem, 100 a request).
   */
  sweep?: boolean;
}

export interface ObserveResult {
  /** Jobs passed in. */
  seen: number;
  /** Of those, watched (META present or created now). */
  watched: number;
  /** Status changes recorded (including verdicts). */
  changes: number;
  /** Verdicts published by this call (first publication or a republish of a pending one). */
  published: SettledMessage[];
  /** Changes another writer recorded first. */
  lost: number;
  /** Outcome records from the backlog written now. */
  backlogFlushed: number;
  /**
   * Sweep only: open watched jobs the sweep did not list — finished (a sweep of live statuses
   * drops them), deleted, or beyond a truncated listing. The tick DescribeJobs each and passes
   * the answers back with `sweep: false`, or calls `closeJob` on NoSuchJob.
   */
  missing: WatchedJob[];
  errors: string[];
}

/** A watched job not yet settled or closed, as the ledger last knew it. */
export interface WatchedJob {
  target: LedgerTarget;
  jobId: string;
  status: string;
  policy: string | null;
}

export interface Ledger {
  recordOutcome(o: Outcome, asked?: Asked): Promise<RecordResult>;
  observe(
    target: LedgerTarget,
    jobs: readonly ObservedJob[],
    now: Date,
    opts?: ObserveOptions,
  ): Promise<ObserveResult>;
  watchedOutside(targets: readonly LedgerTarget[]): Promise<WatchedJob[]>;
  unsettled(target: LedgerTarget): Promise<WatchedJob[]>;
  closeJob(target: LedgerTarget, jobId: string, reason: string, now: Date): Promise<boolean>;
  flushBacklog(): Promise<number>;
  backlog(): number;
  readonly counters: LedgerCounters;
  resetCounters(): void;
}

const OUTCOME_IDS_CAP = 50;
/** `failed` is transient trouble: the job exists as far as anyone knows. */
const WATCHING_OUTCOMES = new Set<string>(['applied', 'unchanged', 'failed', 'superseded']);
const BATCH_GET = 100;
const BATCH_WRITE = 25;
const UNPROCESSED_ROUNDS = 8;
/** Pages a target query may read (1 MB each, ~1,000 open jobs): bounds one read of a target. */
const MAX_QUERY_PAGES = 200;

type Item = Record<string, unknown>;

interface Meta extends Item {
  pk: string;
  version: number;
  status: string;
  progress?: Progress | null;
  settled?: Verdict;
  settledState?: 'pending' | 'published';
  settledLeaseUntil?: number;
  settledMessage?: SettledMessage;
  closed?: string;
  policy?: string;
  outcomeIds?: string[];
  createdAt?: string | null;
  confirmedAt?: string | null;
  description?: string | null;
  lastEvents?: Item[];
}

const isConditionalFailure = (e: unknown): boolean =>
  (e as { name?: string })?.name === 'ConditionalCheckFailedException';

const message = (e: unknown): string =>
  (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).slice(0, 300);

export function createLedger(deps: LedgerDeps): Ledger {
  const doc =
    deps.client instanceof DynamoDBDocumentClient
      ? deps.client
      : DynamoDBDocumentClient.from(deps.client, { marshallOptions: { removeUndefinedValues: true } });
  const table = deps.table;
  const days = deps.retentionDays ?? 400;
  const leaseMs = deps.leaseMs ?? 60_000;
  const clock = deps.clock ?? Date.now;
  const backlogMax = deps.backlogMax ?? 1000;
  const concurrency = deps.writeConcurrency ?? 16;
  const counters: LedgerCounters = { readRequests: 0, writeRequests: 0, conditionalLosses: 0 };
  const pendingOutcomes: { o: Outcome; asked: Asked }[] = [];
  const knownTargets = new Set<string>();

  const read = <T>(p: () => Promise<T>) => {
    counters.readRequests++;
    return p();
  };
  const write = <T>(p: () => Promise<T>) => {
    counters.writeRequests++;
    return p();
  };

  async function rememberTarget(t: LedgerTarget, nowMs: number): Promise<void> {
    const key = targetKey(t);
    if (knownTargets.has(key)) return;
    await write(() =>
      doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk: TARGETS_PK,
            sk: key,
            provider: t.provider,
            region: t.region,
            account: t.account || null,
            appId: t.appId || null,
            expiresAt: expiresAt(nowMs, days),
          },
        }),
      ),
    );
    knownTargets.add(key);
  }

  async function writeEvents(items: Item[]): Promise<void> {
    for (let i = 0; i < items.length; i += BATCH_WRITE) {
      let requests: { PutRequest: { Item: Item } }[] = items
        .slice(i, i + BATCH_WRITE)
        .map((Item) => ({ PutRequest: { Item } }));
      for (let round = 0; requests.length > 0; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new Error('BatchWriteItem: items left unprocessed');
        if (round > 0) await sleep(20 * 2 ** round);
        const r = await write(() => doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } })));
        requests = (r.UnprocessedItems?.[table] ?? []) as typeof requests;
      }
    }
  }

  async function readMetas(keys: { pk: string; sk: string }[]): Promise<Map<string, Meta>> {
    const out = new Map<string, Meta>();
    const chunks: { pk: string; sk: string }[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET) chunks.push(keys.slice(i, i + BATCH_GET));
    await pool(chunks, 4, async (chunk) => {
      let pending: Item[] = chunk;
      for (let round = 0; pending.length > 0; round++) {
        if (round >= UNPROCESSED_ROUNDS) throw new Error('BatchGetItem: keys left unprocessed');
        if (round > 0) await sleep(20 * 2 ** round);
        const r = await read(() =>
          doc.send(
            // Eventually consistent: half the read units; a stale read can only make a conditional
            // write lose (counted), never record a change twice.
            new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }),
          ),
        );
        for (const it of r.Responses?.[table] ?? []) out.set(it.pk as string, it as Meta);
        pending = (r.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
      }
    });
    return out;
  }

  /** The target's open META items (followed, or verdict unpublished): a key-range Query on byTarget. */
  async function readOpen(t: LedgerTarget): Promise<Map<string, Meta>> {
    const out = new Map<string, Meta>();
    let start: Item | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_QUERY_PAGES)
        throw new Error(`more than ${MAX_QUERY_PAGES} pages of open jobs in ${targetKey(t)}`);
      const r = await read(() =>
        doc.send(
          new QueryCommand({
            TableName: table,
            IndexName: 'byTarget',
            KeyConditionExpression: 'gsi2pk = :pk AND begins_with(gsi2sk, :open)',
            ExpressionAttributeValues: { ':pk': targetPk(t), ':open': OPEN_PREFIX },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const it of r.Items ?? []) out.set(it.pk as string, it as Meta);
      start = r.LastEvaluatedKey;
      if (!start) return out;
    }
  }

  async function recordOne(o: Outcome, asked: Asked): Promise<void> {
    const t: LedgerTarget = {
      provider: o.provider!,
      region: o.region!,
      account: o.account,
      appId: asked.appId,
    };
    const at = o.finishedAt;
    const nowMs = Date.parse(at) || Date.now();
    const ttl = expiresAt(nowMs, days);
    const pk = jobPk(t, o.jobId!);
    await write(() =>
      doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk,
            sk: eventSk(at, 'outcome', o.id),
            kind: 'outcome',
            at,
            outcomeId: o.id,
            action: o.action,
            requestedJobStatus: asked.requestedJobStatus ?? null,
            requestedPriority: asked.priority ?? null,
            statusUpdateReason: asked.statusUpdateReason ?? null,
            outcome: o.outcome,
            status: o.status,
            error: o.error ? { code: o.error.code, message: o.error.message } : null,
            trigger: o.trigger.type,
            expiresAt: ttl,
          },
        }),
      ),
    );
    // Only an outcome that reached an existing job starts watching it; a refusal (TargetNotAllowed,
    // NoSuchJob, invalid, expired) is recorded on the job's history without following the job.
    const watches = WATCHING_OUTCOMES.has(o.outcome);
    const confirms =
      o.action === 'UpdateJobStatus' &&
      asked.requestedJobStatus === 'Ready' &&
      (o.outcome === 'applied' || o.outcome === 'unchanged');
    const base = {
      ':provider': t.provider,
      ':region': t.region,
      ':account': t.account || null,
      ':appId': t.appId || null,
      ':jobId': o.jobId,
      ':status': o.status ?? 'unknown',
      ':zero': 0,
      ':one': 1,
      ':ttl': ttl,
      ':g2pk': targetPk(t),
      ':g2sk': openSk(o.jobId!),
      ':at': at,
    };
    const sets = [
      'provider = :provider',
      '#region = :region',
      'account = :account',
      'appId = :appId',
      'jobId = :jobId',
      '#status = if_not_exists(#status, :status)',
      'version = if_not_exists(version, :zero) + :one',
      'expiresAt = :ttl',
      'gsi2pk = :g2pk',
      // A later outcome (say, a refused cancel of a finished job) must not reopen a settled job.
      'gsi2sk = if_not_exists(gsi2sk, :g2sk)',
      'lastChangeAt = :at',
    ];
    const values: Item = { ...base };
    if (confirms) sets.push('confirmedAt = if_not_exists(confirmedAt, :at)');
    const names = { '#region': 'region', '#status': 'status' };
    try {
      await write(() =>
        doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk, sk: META_SK },
            UpdateExpression: `SET ${sets.join(', ')}, outcomeIds = list_append(if_not_exists(outcomeIds, :empty), :ids)`,
            ConditionExpression: `${watches ? '' : 'attribute_exists(pk) AND '}(attribute_not_exists(outcomeIds) OR (size(outcomeIds) < :cap AND NOT contains(outcomeIds, :id)))`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ...values,
              ':empty': [],
              ':ids': [o.id],
              ':cap': OUTCOME_IDS_CAP,
              ':id': o.id,
            },
          }),
        ),
      );
    } catch (e) {
      if (!isConditionalFailure(e)) throw e;
      // Already listed (a retry), the list is full, or a refusal for an unwatched job: the event is written.
    }
    if (watches) await rememberTarget(t, nowMs);
  }

  async function flushBacklog(): Promise<number> {
    let done = 0;
    while (pendingOutcomes.length > 0) {
      const next = pendingOutcomes[0]!;
      await recordOne(next.o, next.asked);
      pendingOutcomes.shift();
      done++;
    }
    return done;
  }

  function metaSets(
    t: LedgerTarget,
    job: ObservedJob,
    nowIso: string,
    nowMs: number,
    policy: string | undefined,
  ): { sets: string[]; values: Item } {
    const key = jobKey(t, job.jobId);
    const sets = [
      '#status = :status',
      'priority = :priority',
      'progress = :progress',
      'lastSeenAt = :now',
      'lastChangeAt = :now',
      'expiresAt = :ttl',
      'gsi2pk = :g2pk',
      'version = version + :one',
      'lastEvents = :events',
    ];
    const values: Item = {
      ':status': job.status,
      ':priority': job.priority ?? null,
      ':progress': job.progress ?? null,
      ':now': nowIso,
      ':ttl': expiresAt(nowMs, days),
      ':g2pk': targetPk(t),
      ':one': 1,
    };
    if (policy) {
      sets.push(
        'policy = if_not_exists(policy, :policy)',
        'gsi1pk = if_not_exists(gsi1pk, :g1pk)',
        'gsi1sk = :g1sk',
      );
      Object.assign(values, { ':policy': policy, ':g1pk': policyPk(policy), ':g1sk': `${nowIso}#${key}` });
    }
    return { sets, values };
  }

  function statusEvent(
    pk: string,
    nowIso: string,
    version: number,
    from: string | null,
    job: ObservedJob,
    ttl: number,
  ): Item {
    return {
      pk,
      sk: eventSk(nowIso, 'status', `${pk}#v${version}`),
      kind: 'status',
      at: nowIso,
      from,
      to: job.status,
      progress: job.progress ?? null,
      expiresAt: ttl,
    };
  }

  async function observe(
    target: LedgerTarget,
    jobs: readonly ObservedJob[],
    now: Date,
    opts: ObserveOptions = {},
  ): Promise<ObserveResult> {
    const result: ObserveResult = {
      seen: jobs.length,
      watched: 0,
      changes: 0,
      published: [],
      lost: 0,
      backlogFlushed: 0,
      missing: [],
      errors: [],
    };
    const sweep = opts.sweep ?? true;
    if (pendingOutcomes.length > 0) {
      try {
        result.backlogFlushed = await flushBacklog();
      } catch (e) {
        result.errors.push(`outcome backlog (${pendingOutcomes.length} left): ${message(e)}`);
      }
    }
    const nowIso = now.toISOString();
    const nowMs = now.getTime();
    const ttl = expiresAt(nowMs, days);
    // A paginated ListJobs can return a job twice when jobs move between pages, and
    // BatchGetItem refuses duplicate keys outright: the last sighting of each job counts.
    jobs = [...new Map(jobs.map((j) => [j.jobId, j] as const)).values()];
    let metas: Map<string, Meta>;
    try {
      metas = sweep
        ? await readOpen(target)
        : await readMetas(jobs.map((j) => ({ pk: jobPk(target, j.jobId), sk: META_SK })));
    } catch (e) {
      result.errors.push(`read: ${message(e)}`);
      return result;
    }

    interface Plan {
      job: ObservedJob;
      run: () => Promise<{
        events: Item[];
        change: boolean;
        settle?: { pk: string; msg: SettledMessage };
      } | null>;
    }
    const plans: Plan[] = [];
    for (const job of jobs) {
      const pk = jobPk(target, job.jobId);
      const meta = metas.get(pk);
      const policy = opts.policyOf?.(job);
      if (!meta) {
        // A policy match is watched from the first sighting; a job seen only after it ended was
        // never followed, so it gets no verdict (that would flood the queue with old jobs).
        if (!policy || isFinal(job.status)) continue;
        result.watched++;
        plans.push({ job, run: () => startWatching(target, job, policy, pk, nowIso, nowMs, ttl) });
        continue;
      }
      result.watched++;
      if (meta.closed) continue;
      if (meta.settled) {
        // A sweep handles pending verdicts below, listed or not.
        if (!sweep && meta.settledState === 'pending' && (meta.settledLeaseUntil ?? 0) < clock())
          plans.push({ job, run: () => takeOverPending(pk, meta) });
        continue;
      }
      const change = diff(
        { status: meta.status, progress: meta.progress ?? null, settled: null },
        { status: job.status, progress: job.progress ?? null },
      );
      if (change.kind === 'none') continue;
      plans.push({
        job,
        run: () => recordChange(target, job, meta, policy, pk, nowIso, nowMs, ttl, opts.describe),
      });
    }

    if (sweep) {
      const listed = new Set(jobs.map((j) => jobPk(target, j.jobId)));
      for (const [pk, meta] of metas) {
        if (meta.settled) {
          if (
            meta.settledState === 'pending' &&
            (meta.settledLeaseUntil ?? 0) < clock() &&
            meta.settledMessage
          )
            plans.push({
              job: { jobId: meta.settledMessage.jobId, status: meta.status },
              run: () => takeOverPending(pk, meta),
            });
        } else if (!meta.closed && !listed.has(pk))
          result.missing.push({
            target,
            jobId: meta.jobId as string,
            status: meta.status,
            policy: meta.policy ?? null,
          });
      }
    }

    const settles: { pk: string; msg: SettledMessage }[] = [];
    const events: Item[] = [];
    await pool(plans, concurrency, async (p) => {
      try {
        const r = await p.run();
        if (!r) return;
        events.push(...r.events);
        if (r.settle) settles.push(r.settle);
        if (r.change) result.changes++;
      } catch (e) {
        if (isConditionalFailure(e)) {
          counters.conditionalLosses++;
          result.lost++;
        } else result.errors.push(`${p.job.jobId}: ${message(e)}`);
      }
    });
    try {
      await writeEvents(events);
    } catch (e) {
      // META keeps these events (lastEvents): the job's next change writes them again.
      result.errors.push(`history: ${message(e)}`);
    }
    await pool(settles, concurrency, async (s) => {
      try {
        await deps.publish(s.msg);
      } catch (e) {
        // Stays pending: a tick after the lease republishes the same message.
        result.errors.push(`publish ${s.msg.jobId}: ${message(e)}`);
        return;
      }
      result.published.push(s.msg);
      try {
        await write(() =>
          doc.send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: s.pk, sk: META_SK },
              // Out of the open range only now: until published, every tick sees it there.
              UpdateExpression: 'SET settledState = :published, gsi2sk = :dated REMOVE settledLeaseUntil',
              ConditionExpression: 'settledState = :pending',
              ExpressionAttributeValues: {
                ':published': 'published',
                ':pending': 'pending',
                ':dated': datedSk(s.msg.settledAt, s.msg.jobId),
              },
            }),
          ),
        );
      } catch (e) {
        if (!isConditionalFailure(e)) result.errors.push(`mark published ${s.msg.jobId}: ${message(e)}`);
      }
    });
    return result;
  }

  async function startWatching(
    t: LedgerTarget,
    job: ObservedJob,
    policy: string,
    pk: string,
    nowIso: string,
    nowMs: number,
    ttl: number,
  ) {
    const event = statusEvent(pk, nowIso, 1, null, job, ttl);
    await write(() =>
      doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk,
            sk: META_SK,
            provider: t.provider,
            region: t.region,
            account: t.account || null,
            appId: t.appId || null,
            jobId: job.jobId,
            description: job.description ?? null,
            policy,
            status: job.status,
            priority: job.priority ?? null,
            progress: job.progress ?? null,
            createdAt: job.creationTime ?? null,
            // No confirmedAt: the outcome's `if_not_exists(confirmedAt, …)` would take a null as set.
            lastSeenAt: nowIso,
            lastChangeAt: nowIso,
            outcomeIds: [],
            version: 1,
            expiresAt: ttl,
            gsi1pk: policyPk(policy),
            gsi1sk: `${nowIso}#${jobKey(t, job.jobId)}`,
            gsi2pk: targetPk(t),
            gsi2sk: openSk(job.jobId),
            lastEvents: [event],
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    await rememberTarget(t, nowMs);
    return { events: [event], change: true };
  }

  async function recordChange(
    t: LedgerTarget,
    seen: ObservedJob,
    meta: Meta,
    policy: string | undefined,
    pk: string,
    nowIso: string,
    nowMs: number,
    ttl: number,
    describe: ObserveOptions['describe'],
  ) {
    const verdict = verdictOf(seen.status, seen.progress ?? null);
    let job = seen;
    if (verdict !== null && describe) {
      // The verdict carries the failure reasons and report only DescribeJob returns. If it fails
      // the job is left as it was and the next tick tries again: late rather than incomplete.
      const d = await describe(seen.jobId);
      job = { ...seen, ...d, progress: d.progress ?? seen.progress ?? null };
    }
    const finalVerdict = verdict === null ? null : verdictOf(job.status, job.progress ?? null);
    const version = meta.version + 1;
    const { sets, values } = metaSets(t, job, nowIso, nowMs, policy ?? meta.policy);
    if (job.description != null) {
      sets.push('description = :description');
      values[':description'] = job.description;
    }
    if (job.creationTime) {
      sets.push('createdAt = if_not_exists(createdAt, :createdAt)');
      values[':createdAt'] = job.creationTime;
    }
    const events: Item[] = [statusEvent(pk, nowIso, version, meta.status, job, ttl)];
    let settle: { pk: string; msg: SettledMessage } | undefined;
    let condition = 'version = :v';
    if (finalVerdict !== null) {
      const msg: SettledMessage = {
        type: 'settled',
        id: `settled/${jobKey(t, job.jobId)}`,
        provider: t.provider,
        region: t.region,
        account: t.account || null,
        appId: t.appId || null,
        jobId: job.jobId,
        description: job.description ?? meta.description ?? null,
        policy: meta.policy ?? policy ?? null,
        status: job.status,
        verdict: finalVerdict,
        tasks: job.progress ?? null,
        failureReasons: job.failureReasons ?? [],
        report: job.report ?? null,
        createdAt: meta.createdAt ?? job.creationTime ?? null,
        confirmedAt: meta.confirmedAt ?? null,
        endedAt: job.terminationDate ?? nowIso,
        outcomeIds: meta.outcomeIds ?? [],
        settledAt: nowIso,
      };
      events.push({
        pk,
        sk: eventSk(nowIso, 'settled', `${pk}#settled`),
        kind: 'settled',
        at: nowIso,
        verdict: finalVerdict,
        status: job.status,
        tasks: msg.tasks,
        failureReasons: msg.failureReasons,
        report: msg.report,
        expiresAt: ttl,
      });
      sets.push(
        'settled = :verdict',
        'settledState = :pending',
        'settledLeaseUntil = :lease',
        'settledMessage = :msg',
        'endedAt = :ended',
      );
      Object.assign(values, {
        ':verdict': finalVerdict,
        ':pending': 'pending',
        ':lease': clock() + leaseMs,
        ':msg': msg,
        ':ended': msg.endedAt,
      });
      condition += ' AND attribute_not_exists(settled)';
      settle = { pk, msg };
    }
    values[':events'] = events;
    values[':v'] = meta.version;
    await write(() =>
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk, sk: META_SK },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
    // The previous change's events again (idempotent): covers a crash between its META write and its history write.
    return { events: [...(meta.lastEvents ?? []), ...events], change: true, ...(settle ? { settle } : {}) };
  }

  async function takeOverPending(pk: string, meta: Meta) {
    if (!meta.settledMessage) return null;
    await write(() =>
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk, sk: META_SK },
          UpdateExpression: 'SET settledLeaseUntil = :lease',
          ConditionExpression: 'settledState = :pending AND settledLeaseUntil = :old',
          ExpressionAttributeValues: {
            ':lease': clock() + leaseMs,
            ':pending': 'pending',
            ':old': meta.settledLeaseUntil ?? 0,
          },
        }),
      ),
    );
    return { events: meta.lastEvents ?? [], change: false, settle: { pk, msg: meta.settledMessage } };
  }

  async function unsettled(t: LedgerTarget): Promise<WatchedJob[]> {
    const open = await readOpen(t);
    return [...open.values()]
      .filter((m) => !m.settled && !m.closed)
      .map((m) => ({ target: t, jobId: m.jobId as string, status: m.status, policy: m.policy ?? null }));
  }

  async function watchedOutside(targets: readonly LedgerTarget[]): Promise<WatchedJob[]> {
    const inside = new Set(targets.map(targetKey));
    const known: LedgerTarget[] = [];
    let start: Item | undefined;
    for (let page = 0; page < MAX_QUERY_PAGES; page++) {
      const r = await read(() =>
        doc.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': TARGETS_PK },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const it of r.Items ?? [])
        if (!inside.has(it.sk as string))
          known.push({
            provider: it.provider as string,
            region: it.region as string,
            account: (it.account as string) ?? null,
            appId: (it.appId as string) ?? null,
          });
      start = r.LastEvaluatedKey;
      if (!start) break;
    }
    const out: WatchedJob[] = [];
    for (const t of known) out.push(...(await unsettled(t)));
    return out;
  }

  async function closeJob(t: LedgerTarget, jobId: string, reason: string, now: Date): Promise<boolean> {
    const pk = jobPk(t, jobId);
    const nowIso = now.toISOString();
    const ttl = expiresAt(now.getTime(), days);
    const event = {
      pk,
      sk: eventSk(nowIso, 'closed', `${pk}#closed`),
      kind: 'closed',
      at: nowIso,
      reason,
      expiresAt: ttl,
    };
    try {
      await write(() =>
        doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk, sk: META_SK },
            UpdateExpression:
              'SET closed = :reason, closedAt = :now, lastChangeAt = :now, gsi2sk = :g2sk, expiresAt = :ttl, version = version + :one, lastEvents = :events',
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(settled) AND attribute_not_exists(closed)',
            ExpressionAttributeValues: {
              ':reason': reason,
              ':now': nowIso,
              ':g2sk': datedSk(nowIso, jobId),
              ':ttl': ttl,
              ':one': 1,
              ':events': [event],
            },
          }),
        ),
      );
    } catch (e) {
      if (isConditionalFailure(e)) return false;
      throw e;
    }
    await writeEvents([event]);
    return true;
  }

  return {
    async recordOutcome(o, asked = {}) {
      if (!o.jobId || !o.provider || !o.region) return { recorded: false, reason: 'no-job' };
      try {
        await recordOne(o, asked);
        return { recorded: true };
      } catch (e) {
        if (pendingOutcomes.length >= backlogMax) pendingOutcomes.shift();
        pendingOutcomes.push({ o, asked });
        return {
          recorded: false,
          reason: 'ledger-unavailable',
          error: message(e),
          backlog: pendingOutcomes.length,
        };
      }
    },
    observe,
    watchedOutside,
    unsettled,
    closeJob,
    flushBacklog,
    backlog: () => pendingOutcomes.length,
    counters,
    resetCounters() {
      counters.readRequests = 0;
      counters.writeRequests = 0;
      counters.conditionalLosses = 0;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
