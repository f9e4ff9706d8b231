/**
 * Transition state shared by every invocation, in the jobctl DynamoDB table (JOBCTL_TABLE): what
 * keeps "never two contradicting outcomes for one id" true when SQS delivers a message twice, late,
 * or while its first delivery is still being handled, and keeps an older change from overwriting a
 * newer one on the same job.
 *
 * Items (the table's layout, shared with the ledger, is in serverless.yml `StateTable`):
 *
 * - Transition record — pk `TRANSITION#<transition id>`, sk `TRANSITION`:
 *   `status` INPROGRESS | COMPLETED, `owner` (a random token of the delivery holding it),
 *   `inProgressUntil` (epoch ms: the holder's hard deadline), `outcome` (JSON, once COMPLETED),
 *   `expiresAt` (epoch s; now + JOBCTL_IDEMPOTENCY_TTL_S, default 24 h, renewed on completion).
 * - Ordering record — pk `JOB#<JOBKEY>`, sk `LATEST#status` | `LATEST#priority`:
 *   the newest transition applied: `requestedAt` (ISO, as sent), `appliedAt` (the same instant in
 *   epoch ms, what is compared), `transitionId`, `value`; the lease of a send in flight: `leaseId`,
 *   `leaseAt` (its requestedAt, epoch ms), `leaseUntil` (epoch ms); `expiresAt` (epoch s, now +
 *   14 days: an older message can wait that long in the DLQ and be redriven).
 *
 * Transitions are ordered by (requestedAt, transition id): ids break ties, so the order is total.
 *
 * Invariants:
 * 1. At most one delivery of a transition id acts at a time: `begin` is a conditional put that
 *    succeeds only on no record, an expired one, or an INPROGRESS one past its `inProgressUntil`.
 *    `inProgressUntil` is the holder's hard deadline, after which Lambda has stopped it, so a
 *    takeover never overlaps a live holder.
 * 2. After a transition id completed (within `expiresAt`), no delivery acts again: `begin` answers
 *    the stored outcome, which the caller republishes. A `failed` outcome is not stored: `release`
 *    deletes the record so that the queue's retry acts.
 * 3. At most one transition per job and attribute is between "claimed" and "finished": `claimOrder`
 *    takes the lease only if no other transition holds an unexpired one; the lease ends at the
 *    holder's hard deadline, like (1). A transition that finds the lease held fails back to the
 *    queue (retry later) and sends nothing — whichever of the two is newer.
 * 4. Nothing older than the applied transition is sent: `claimOrder` also requires the recorded
 *    applied (requestedAt, id) to be ≤ its own; otherwise it answers `superseded`, naming the
 *    newer transition. `finishOrder` records applied (applied or unchanged outcomes) only while it
 *    still holds the lease, or, having lost it, only if still newer than what is recorded.
 *    Together with (3): the provider's last send for a job and attribute is the newest applied.
 * 5. Every record carries `expiresAt`; DynamoDB's TTL deletes lazily (and dynalite never), so every
 *    condition and read here treats an expired record as absent.
 * 6. The store unreachable, throttled or slow (any error but a refused condition, and every
 *    request bounded by `requestTimeoutMs`) is `StateUnavailable`: the caller must not act blind.
 *
 * Requests per transition, happy path: begin (Put) + claimOrder (Update) + finishOrder (Update) +
 * complete (Update) = 4 writes in 3 round trips (guarded.ts sends the last two together). A
 * duplicate of a completed or in-progress id: Put (refused) + Get = 2. A transition told to wait:
 * Put + Update (refused) + Get + Delete = 4.
 * `requests` counts them.
 *
 * Powertools' idempotency utility was weighed and not used: with a sort key its DynamoDB layer puts
 * every record under one static partition key (`idempotency#<prefix>`) and names records by a hash
 * of the payload, not `TRANSITION#<id>` — against this table's layout — and its in-progress state
 * cannot hold the ordering lease, which must be claimed and released inside the same guarded call.
 *
 * @example
 * const store = stateStoreFromEnv(process.env);
 * const b = await store.begin('t-1', hardDeadline);
 * if (b.kind === 'proceed') { ...act...; await store.complete(b.claim, outcome); }
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { envCredentials } from '../providers/aws-env';
import type { Target } from '../providers/types';

export const DEFAULT_TTL_S = 24 * 3600;
export const DEFAULT_ORDER_TTL_S = 14 * 24 * 3600;
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
/** Lost races retried inside one call before answering "try later". */
const MAX_RACES = 3;

/** The state store cannot be trusted to answer now: nothing may be sent; the queue retries. */
export class StateUnavailable extends Error {
  override readonly name = 'StateUnavailable';
  readonly code = 'StateUnavailable';
}

export type Attribute = 'status' | 'priority';

/** The holder's proof, for `complete` and `release`. */
export interface TransitionClaim {
  id: string;
  token: string;
}

export type Begun =
  | { kind: 'proceed'; claim: TransitionClaim }
  /** Another delivery holds it until `until` (epoch ms): fail back to the queue. */
  | { kind: 'inProgress'; until: number }
  /** Done before: republish `outcome`, act on nothing. */
  | { kind: 'completed'; outcome: unknown };

export interface OrderRequest {
  /** `jobKey(target, jobId)`. */
  job: string;
  attribute: Attribute;
  transitionId: string;
  /** ISO 8601 with offset. */
  requestedAt: string;
}

export interface OrderLease extends OrderRequest {
  at: number;
  until: number;
}

export interface AppliedTransition {
  transitionId: string;
  requestedAt: string;
  value: string | number | null;
}

export type OrderClaim =
  | { kind: 'leased'; lease: OrderLease }
  /** A newer transition is already applied: send nothing, report `superseded` naming it. */
  | { kind: 'superseded'; by: AppliedTransition }
  /** Another transition's send is in flight: fail back to the queue and try later. */
  | { kind: 'wait'; holder: string | null; until: number };

export interface StateStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  ttlS?: number;
  orderTtlS?: number;
  requestTimeoutMs?: number;
  now?: () => number;
}

/** `<provider>#<account or ->#<region>#<appId or ->#<jobId>`: one job, across every table item. */
export function jobKey(t: Target, jobId: string): string {
  return `${t.provider}#${t.account ?? '-'}#${t.region}#${t.appId ?? '-'}#${jobId}`;
}

const REFUSED = Symbol('condition refused');
type Refused = typeof REFUSED;
type Item = Record<string, unknown>;

const seconds = (ms: number) => Math.floor(ms / 1000);

/** Attribute names as placeholders: `status`, `value`, `owner` are DynamoDB reserved words. */
const names = (...xs: string[]) => Object.fromEntries(xs.map((x) => [`#${x}`, x]));

export class StateStore {
  /** DynamoDB requests sent so far (for benchmarks and the report). */
  requests = 0;
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly ttlS: number;
  private readonly orderTtlS: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(o: StateStoreOptions) {
    this.doc = o.client;
    this.table = o.tableName;
    this.ttlS = o.ttlS ?? DEFAULT_TTL_S;
    this.orderTtlS = Math.max(o.orderTtlS ?? DEFAULT_ORDER_TTL_S, this.ttlS);
    this.timeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.now = o.now ?? Date.now;
  }

  /** Claim transition `id` until `deadline` (epoch ms, the caller's hard deadline). */
  async begin(id: string, deadline: number): Promise<Begun> {
    const Key = { pk: `TRANSITION#${id}`, sk: 'TRANSITION' };
    const token = randomUUID();
    for (let race = 0; race < MAX_RACES; race++) {
      const now = this.now();
      const put = await this.call((abortSignal) =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              ...Key,
              status: 'INPROGRESS',
              owner: token,
              inProgressUntil: deadline,
              expiresAt: seconds(now) + this.ttlS,
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR #expiresAt < :nowS OR (#status = :inProgress AND #inProgressUntil < :nowMs)',
            ExpressionAttributeNames: names('expiresAt', 'status', 'inProgressUntil'),
            ExpressionAttributeValues: { ':nowS': seconds(now), ':nowMs': now, ':inProgress': 'INPROGRESS' },
          }),
          { abortSignal },
        ),
      );
      if (put !== REFUSED) return { kind: 'proceed', claim: { id, token } };
      const item = await this.read(Key);
      const later = this.now();
      if (!item || Number(item.expiresAt) < seconds(later)) continue; // gone meanwhile: claim again
      if (item.status === 'COMPLETED')
        return { kind: 'completed', outcome: JSON.parse(String(item.outcome)) };
      if (Number(item.inProgressUntil) >= later)
        return { kind: 'inProgress', until: Number(item.inProgressUntil) };
    }
    return { kind: 'inProgress', until: this.now() };
  }

  /**
   * Store the outcome of a claimed transition: later deliveries republish it. False when the claim
   * was lost (the holder outlived its deadline and another delivery took over): nothing stored.
   */
  async complete(claim: TransitionClaim, outcome: unknown): Promise<boolean> {
    const r = await this.call((abortSignal) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `TRANSITION#${claim.id}`, sk: 'TRANSITION' },
          UpdateExpression:
            'SET #status = :completed, #outcome = :outcome, #expiresAt = :exp REMOVE #inProgressUntil',
          ConditionExpression: '#owner = :token',
          ExpressionAttributeNames: names('status', 'outcome', 'expiresAt', 'inProgressUntil', 'owner'),
          ExpressionAttributeValues: {
            ':completed': 'COMPLETED',
            ':outcome': JSON.stringify(outcome),
            ':exp': seconds(this.now()) + this.ttlS,
            ':token': claim.token,
          },
        }),
        { abortSignal },
      ),
    );
    return r !== REFUSED;
  }

  /** Give a claimed transition back (it failed and will be retried): the next delivery acts. */
  async release(claim: TransitionClaim): Promise<void> {
    await this.call((abortSignal) =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { pk: `TRANSITION#${claim.id}`, sk: 'TRANSITION' },
          ConditionExpression: '#owner = :token',
          ExpressionAttributeNames: names('owner'),
          ExpressionAttributeValues: { ':token': claim.token },
        }),
        { abortSignal },
      ),
    );
  }

  /** Take the job's ordering lease for `req` until `until` (epoch ms), if `req` may be sent at all. */
  async claimOrder(req: OrderRequest, until: number): Promise<OrderClaim> {
    const at = Date.parse(req.requestedAt);
    if (Number.isNaN(at)) throw new TypeError(`requestedAt is not a time: ${req.requestedAt.slice(0, 40)}`);
    const Key = { pk: `JOB#${req.job}`, sk: `LATEST#${req.attribute}` };
    for (let race = 0; race < MAX_RACES; race++) {
      const now = this.now();
      const r = await this.call((abortSignal) =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: 'SET #leaseId = :id, #leaseAt = :at, #leaseUntil = :until, #expiresAt = :exp',
            ConditionExpression:
              '(attribute_not_exists(#appliedAt) OR #expiresAt < :nowS OR #appliedAt < :at OR (#appliedAt = :at AND #transitionId <= :id))' +
              ' AND (attribute_not_exists(#leaseUntil) OR #expiresAt < :nowS OR #leaseUntil < :nowMs OR #leaseId = :id)',
            ExpressionAttributeNames: names(
              'leaseId',
              'leaseAt',
              'leaseUntil',
              'expiresAt',
              'appliedAt',
              'transitionId',
            ),
            ExpressionAttributeValues: {
              ':id': req.transitionId,
              ':at': at,
              ':until': until,
              ':exp': seconds(now) + this.orderTtlS,
              ':nowS': seconds(now),
              ':nowMs': now,
            },
          }),
          { abortSignal },
        ),
      );
      if (r !== REFUSED) return { kind: 'leased', lease: { ...req, at, until } };
      const item = await this.read(Key);
      const later = this.now();
      if (!item || Number(item.expiresAt) < seconds(later)) continue;
      if (item.appliedAt !== undefined && isOlder(at, req.transitionId, item))
        return {
          kind: 'superseded',
          by: {
            transitionId: String(item.transitionId),
            requestedAt: String(item.requestedAt),
            value: (item.value as string | number | undefined) ?? null,
          },
        };
      if (item.leaseId !== req.transitionId && Number(item.leaseUntil) >= later)
        return { kind: 'wait', holder: String(item.leaseId), until: Number(item.leaseUntil) };
    }
    return { kind: 'wait', holder: null, until: this.now() };
  }

  /**
   * End a lease. `applied` (the job now has `value`: outcome applied or unchanged) records the
   * transition as the newest applied; null just frees the lease (rejected, expired, failed…).
   */
  async finishOrder(lease: OrderLease, applied: { value: string | number } | null): Promise<void> {
    const Key = { pk: `JOB#${lease.job}`, sk: `LATEST#${lease.attribute}` };
    const exp = seconds(this.now()) + this.orderTtlS;
    const lost = await this.call((abortSignal) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: applied
            ? 'SET #appliedAt = :at, #requestedAt = :iso, #transitionId = :id, #value = :value, #expiresAt = :exp REMOVE #leaseId, #leaseAt, #leaseUntil'
            : 'REMOVE #leaseId, #leaseAt, #leaseUntil',
          ConditionExpression: '#leaseId = :id',
          ExpressionAttributeNames: applied
            ? names(
                'appliedAt',
                'requestedAt',
                'transitionId',
                'value',
                'expiresAt',
                'leaseId',
                'leaseAt',
                'leaseUntil',
              )
            : names('leaseId', 'leaseAt', 'leaseUntil'),
          ExpressionAttributeValues: applied
            ? {
                ':at': lease.at,
                ':iso': lease.requestedAt,
                ':id': lease.transitionId,
                ':value': applied.value,
                ':exp': exp,
              }
            : { ':id': lease.transitionId },
        }),
        { abortSignal },
      ),
    );
    if (lost !== REFUSED || !applied) return;
    // The lease expired and was taken: record this one only if it is still the newest applied.
    await this.call((abortSignal) =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression:
            'SET #appliedAt = :at, #requestedAt = :iso, #transitionId = :id, #value = :value, #expiresAt = :exp',
          ConditionExpression:
            'attribute_not_exists(#appliedAt) OR #appliedAt < :at OR (#appliedAt = :at AND #transitionId <= :id)',
          ExpressionAttributeNames: names('appliedAt', 'requestedAt', 'transitionId', 'value', 'expiresAt'),
          ExpressionAttributeValues: {
            ':at': lease.at,
            ':iso': lease.requestedAt,
            ':id': lease.transitionId,
            ':value': applied.value,
            ':exp': exp,
          },
        }),
        { abortSignal },
      ),
    );
  }

  private async read(Key: Item): Promise<Item | undefined> {
    const got = await this.call((abortSignal) =>
      this.doc.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }), { abortSignal }),
    );
    return got === REFUSED ? undefined : got.Item;
  }

  /** One request, bounded in time; a refused condition is an answer, anything else is StateUnavailable. */
  private async call<R>(send: (abortSignal: AbortSignal) => Promise<R>): Promise<R | Refused> {
    this.requests++;
    try {
      return await send(AbortSignal.timeout(this.timeoutMs));
    } catch (e) {
      const err = e as Error;
      if (err?.name === 'ConditionalCheckFailedException') return REFUSED;
      throw new StateUnavailable(
        `state store unavailable: ${err?.name ?? 'Error'}: ${String(err?.message ?? e).slice(0, 200)}`,
        { cause: e },
      );
    }
  }
}

/** Is (at, id) before the applied transition recorded in `item`? */
function isOlder(at: number, id: string, item: Item): boolean {
  const appliedAt = Number(item.appliedAt);
  return at < appliedAt || (at === appliedAt && id < String(item.transitionId));
}

/** The DocumentClient for JOBCTL_TABLE's endpoint: AWS_ENDPOINT_URL_DYNAMODB locally. */
export function createStateClient(env: NodeJS.ProcessEnv = process.env): DynamoDBDocumentClient {
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB;
  const credentials = envCredentials(env);
  const client = new DynamoDBClient({
    region: env.AWS_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // One retry: a throttled store answers StateUnavailable within the transition's deadline,
    // and the queue retries the transition itself.
    maxAttempts: 2,
  });
  return DynamoDBDocumentClient.from(client);
}

/** The store JOBCTL_TABLE names, or null when it names none. */
export function stateStoreFromEnv(env: NodeJS.ProcessEnv = process.env): StateStore | null {
  const tableName = env.JOBCTL_TABLE;
  if (!tableName) return null;
  const ttl = Number(env.JOBCTL_IDEMPOTENCY_TTL_S);
  return new StateStore({
    client: createStateClient(env),
    tableName,
    ...(Number.isInteger(ttl) && ttl > 0 ? { ttlS: ttl } : {}),
  });
}
