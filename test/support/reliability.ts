/**
 * What the reliability suite needs beyond test/support/harness.ts: the run's size (shortened in `npm test`,
 * full in `npm run test:reliability`), the example targets, a recorder of every HTTP request the
 * process sends (to count and shape-check provider requests and to learn the signatures the
 * clients computed), a results queue that loses a seeded share of sends, log capture from the real
 * Powertools observer, and the secret scanner.
 */

import { Console } from 'node:console';
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { Writable } from 'node:stream';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import type { Outcome } from '../../lib/core/outcome';
import { createObserver, type Observer } from '../../lib/lambda/observe';
import { isFanout, type ResultRecord } from '../../lib/lambda/publisher';
import type { Runtime } from '../../lib/lambda/runtime';
import { createSqsClient } from '../../lib/lambda/sqs';
import { mulberry32 } from '../../lib/local/sandbox/faults';
import type { SandboxOptions } from '../../lib/local/sandbox/server';
import { EXAMPLE_TARGETS } from '../../lib/providers/examples';
import { context, drainResults, type Stack, sqsEvent, startStack } from './harness';

/** `npm run test:reliability` runs the full sizes; `npm test` a shortened form of the same tests. */
export const FULL = process.env.JOBCTL_RELIABILITY === 'full';
export const size = (full: number, shortened: number) => (FULL ? full : shortened);

/** The example targets of docs/reference.md (the sandbox namespaces: COS appId, OSS region, S3 account). */
export const COS = EXAMPLE_TARGETS.cos;
export const OSS = EXAMPLE_TARGETS.oss;
export const S3 = EXAMPLE_TARGETS.s3;
export const TARGETS = { cos: COS, oss: OSS, s3: S3 } as const;

/** Temporary-key session tokens, distinctive so that a leak is unmistakable. */
export const TOKENS = {
  TENCENTCLOUD_SESSIONTOKEN: 'cosSessionToken-7f3a9c1e5b2d4f60a8e1c3b5d7f9a2c4',
  ALIBABA_CLOUD_SECURITY_TOKEN: 'ossSecurityToken-CAIS9x2Lq8vN4mR7tY1uW3zK6pB5dE0f',
  AWS_SESSION_TOKEN: 'awsSessionToken-IQoJb3JpZ2luX2VjEJr0aGVzZWN1cmVzZXNzaW9u',
} as const;

/**
 * The stack of test/support/harness.ts, with temporary keys (session tokens) for all three providers.
 * The S3 provider signs with the AWS SDK's default chain, which reads `process.env` only, so the
 * sandbox's AWS keys and token are put there too (vitest isolates each test file's process env).
 */
export async function startReliabilityStack(
  o: {
    sandbox?: SandboxOptions;
    env?: NodeJS.ProcessEnv;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
    state?: boolean;
  } = {},
): Promise<Stack> {
  const stack = await startStack({ ...o, env: { ...TOKENS, ...o.env } });
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] as const)
    process.env[k] = stack.env[k];
  return stack;
}

/** A runtime on `stack` with its own env, SQS client and observer, used by `stack.handlers` from now on. */
export function installRuntime(
  stack: Stack,
  o: { env?: NodeJS.ProcessEnv; sqs?: SQSClient; observer?: Observer } = {},
): Runtime {
  return stack.rewire(o);
}

export const outcomesOf = (records: ResultRecord[]): Outcome[] =>
  records.filter((r): r is Outcome => !isFanout(r));

/**
 * Invoke the real transitions handler once with `bodies` and read back what it published.
 * Returns the response, the outcomes keyed by SQS message id (`trigger.messageId`), and the
 * sandbox's request count during the call.
 */
export async function invoke(
  stack: Stack,
  bodies: (string | object)[],
  timeoutMs = 30_000,
): Promise<{
  response: SQSBatchResponse;
  messageIds: string[];
  byMessage: Map<string, Outcome[]>;
  records: ResultRecord[];
  requests: number;
}> {
  const event = sqsEvent(bodies);
  const before = stack.sandbox.stats().requests;
  const response = await stack.handlers.transitions(event, context(timeoutMs));
  const requests = stack.sandbox.stats().requests - before;
  const records = await drainResults(stack);
  const byMessage = new Map<string, Outcome[]>();
  for (const o of outcomesOf(records)) {
    if (o.trigger.type !== 'sqs') continue;
    const list = byMessage.get(o.trigger.messageId) ?? [];
    list.push(o);
    byMessage.set(o.trigger.messageId, list);
  }
  return { response, messageIds: event.Records.map((r) => r.messageId), byMessage, records, requests };
}

// ── outgoing requests ─────────────────────────────────────────────────────────────────────────

export interface SentRequest {
  method: string;
  /** Where the socket connects. */
  hostname: string;
  /** The Host header as sent. */
  host: string;
  /** Path and query exactly as sent on the request line. */
  path: string;
  authorization: string;
  headers: Record<string, string>;
}

/**
 * Every HTTP request this process starts (node:http's `http.client.request.start` channel): the
 * hand-written COS/OSS transport, the AWS SDK's S3 Control and SQS clients all go through it.
 */
export function recordRequests(): { sent: SentRequest[]; stop(): void } {
  const sent: SentRequest[] = [];
  const onStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.getHeaders()))
      headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : String(v);
    // The state table's traffic (local DynamoDB) is not a provider's nor a queue's: not recorded.
    if (headers['x-amz-target']?.startsWith('DynamoDB_')) return;
    sent.push({
      method: request.method,
      hostname: request.host,
      host: headers.host ?? '',
      path: request.path,
      authorization: headers.authorization ?? '',
      headers,
    });
  };
  diagnostics.subscribe('http.client.request.start', onStart);
  return { sent, stop: () => diagnostics.unsubscribe('http.client.request.start', onStart) };
}

/** The signature values in Authorization headers: COS `q-signature=` (40 hex), SigV4 / OSS V4 `Signature=` (64 hex). */
export function signaturesOf(requests: readonly SentRequest[]): Set<string> {
  const out = new Set<string>();
  for (const r of requests)
    for (const m of r.authorization.matchAll(/(?:q-signature|Signature)=([0-9a-fA-F]{40,64})/g))
      out.add(m[1]!.toLowerCase());
  return out;
}

/** Host `127.0.0.1:PORT` of a `http://127.0.0.1:PORT` URL. */
export const hostOf = (url: string) => new URL(url).host;

// ── a results queue that loses sends ──────────────────────────────────────────────────────────

export interface LossyStats {
  /** SendMessageBatch calls to the results queue. */
  calls: number;
  /** Of those, thrown by the seeded share (a network failure). */
  dropped: number;
  /** Entries refused because they are poisoned outcomes. */
  poisoned: number;
}

/**
 * An SQS client on `env` whose SendMessageBatch calls to `queueUrl` throw, as a network failure
 * would, for a seeded share of calls, and whose entries matching `poison` are always refused
 * (retryable, entry by entry). Everything else goes to the real queue unchanged.
 */
export function lossySqs(
  env: NodeJS.ProcessEnv,
  o: { queueUrl: string; rate: number; seed: number; poison?: (body: string) => boolean },
): { sqs: SQSClient; stats: LossyStats } {
  const sqs = createSqsClient(env);
  const random = mulberry32(o.seed);
  const stats: LossyStats = { calls: 0, dropped: 0, poisoned: 0 };
  sqs.middlewareStack.add(
    (next, ctx) => async (args) => {
      const input = args.input as { QueueUrl?: string; Entries?: { MessageBody?: string }[] };
      if (ctx.commandName === SendMessageBatchCommand.name && input.QueueUrl === o.queueUrl) {
        stats.calls++;
        const networkError = (why: string) =>
          Object.assign(new Error(`socket hang up (${why})`), {
            name: 'NetworkingError',
            code: 'ECONNRESET',
          });
        if (random() < o.rate) {
          stats.dropped++;
          throw networkError('injected');
        }
        const entries = (input.Entries ?? []) as SendMessageBatchRequestEntry[];
        const poisoned = entries.filter((e) => o.poison?.(e.MessageBody ?? ''));
        if (poisoned.length > 0) {
          // Refused entry by entry, as SQS refuses what it cannot take: the rest of the batch goes through.
          stats.poisoned += poisoned.length;
          const failed = poisoned.map((e) => ({
            Id: e.Id,
            SenderFault: false,
            Code: 'ServiceUnavailable',
            Message: 'poisoned by the test',
          }));
          const rest = entries.filter((e) => !poisoned.includes(e));
          if (rest.length === 0)
            return { output: { Successful: [], Failed: failed, $metadata: {} } } as never;
          const result = (await next({
            ...args,
            input: { ...input, Entries: rest } as typeof args.input,
          })) as {
            output: { Failed?: unknown[] };
          };
          result.output.Failed = [...(result.output.Failed ?? []), ...failed];
          return result as never;
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'reliabilityLossyResults' },
  );
  return { sqs, stats };
}

// ── logs ──────────────────────────────────────────────────────────────────────────────────────

/**
 * The product's own observer (lib/lambda/observe.ts), logging at DEBUG into `lines` instead of stdout.
 * Powertools' Logger writes through its private `console` (a node Console over process.stdout);
 * replacing it with a Console over a capturing stream keeps every other behaviour as shipped.
 */
export function capturingObserver(service = 'jobctl-reliability'): { observer: Observer; lines: string[] } {
  const lines: string[] = [];
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (p !== '') lines.push(p);
      done();
    },
  });
  const observer = createObserver(service);
  observer.logger.setLogLevel('DEBUG');
  (observer.logger as unknown as { console: Console }).console = new Console({ stdout: sink, stderr: sink });
  return { observer, lines };
}

// ── secrets ───────────────────────────────────────────────────────────────────────────────────

export interface SecretSet {
  /** Literal values that must never appear: secret keys, session tokens. */
  literals: Record<string, string>;
  /** Signatures the clients computed (lower-case hex). */
  signatures: ReadonlySet<string>;
}

export interface Leak {
  what: string;
  where: string;
  excerpt: string;
}

/**
 * The configured secrets of an environment: the three providers' secret keys and session tokens,
 * and, stricter than needed, their key ids too (nothing the controller reports has a use for them).
 */
export function secretsOf(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [
    'TENCENTCLOUD_SECRETID',
    'ALIBABA_CLOUD_ACCESS_KEY_ID',
    'AWS_ACCESS_KEY_ID',
    'TENCENTCLOUD_SECRETKEY',
    'TENCENTCLOUD_SESSIONTOKEN',
    'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
    'ALIBABA_CLOUD_SECURITY_TOKEN',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ])
    if (env[k]) out[k] = env[k]!;
  return out;
}

/**
 * Every place in `texts` where a secret shows: a configured secret or token (as is, or as it
 * would look JSON-escaped), a `q-signature=` / `Signature=` parameter, or any 40- or 64-hex-digit
 * run that equals a signature a client sent.
 */
export function findLeaks(texts: Iterable<[where: string, text: string]>, secrets: SecretSet): Leak[] {
  const leaks: Leak[] = [];
  const needles = Object.entries(secrets.literals).flatMap(([name, value]) => {
    const escaped = JSON.stringify(value).slice(1, -1);
    return escaped === value ? [[name, value] as const] : [[name, value] as const, [name, escaped] as const];
  });
  const excerpt = (text: string, at: number) => text.slice(Math.max(0, at - 40), at + 80);
  for (const [where, text] of texts) {
    for (const [name, value] of needles) {
      const at = text.indexOf(value);
      if (at >= 0) leaks.push({ what: name, where, excerpt: excerpt(text, at) });
    }
    for (const m of text.matchAll(/q-signature=|Signature=/gi))
      leaks.push({ what: 'signature parameter', where, excerpt: excerpt(text, m.index) });
    for (const m of text.matchAll(/(?<![0-9a-fA-F])[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?(?![0-9a-fA-F])/g))
      if (secrets.signatures.has(m[0].toLowerCase()))
        leaks.push({ what: 'a signature sent', where, excerpt: excerpt(text, m.index) });
  }
  return leaks;
}
