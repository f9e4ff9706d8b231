/**
 * `jobctl results`: outcomes (and fan-out reports) from the results queue, as they arrive.
 *
 * Each record is considered once per run: records it does not delete (filtered out by
 * `--outcome`, or all of them with `--peek`) are kept out of sight while it reads — otherwise a
 * long poll would hand the same ones back at once, forever — and made visible again
 * (ChangeMessageVisibility 0) the moment it stops, so the next reader sees them immediately.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { OUTCOME_KINDS } from '../../core/outcome';
import type { ResultRecord } from '../../lambda/publisher';
import { createSqsClient } from '../../lambda/sqs';
import { type Command, type Io, UsageError, writeLine } from '../command';
import { QUEUE_ENV_HELP, requireEnv } from '../env';
import { head, recordLine, wantJson } from '../format';
import { type OptionTable, optionsHelp, parseOptions } from '../options';

const KINDS = [...OUTCOME_KINDS, 'fanout'] as const;
/** Every message on the results queue has one of these `type`s (outcomes written before types: `outcome`). */
const TYPES = ['outcome', 'fanout', 'reconcile', 'settled'] as const;

const OPTIONS = {
  follow: {
    kind: 'boolean',
    help: 'keep reading (long polls) until Ctrl-C; without it, stop when the queue\nreads empty',
  },
  outcome: {
    kind: 'string',
    arg: 'KIND',
    multiple: true,
    help: `only records of this kind (repeatable):\n${KINDS.join(', ')}\n(a body that is neither prints as "unreadable", JSON {"type":"unreadable","raw":…})`,
  },
  type: {
    kind: 'string',
    arg: 'TYPE',
    multiple: true,
    help: `only messages of this type (repeatable): ${TYPES.join(', ')}`,
  },
  peek: { kind: 'boolean', help: 'print without deleting' },
  json: { kind: 'boolean', help: 'JSON lines even on a terminal' },
  max: { kind: 'integer', arg: 'N', min: 1, max: 1_000_000_000, help: 'stop after printing N records' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl results [--follow] [--outcome KIND]… [--type TYPE]… [--peek] [--json] [--max N]

Reads outcomes from the results queue (RESULTS_QUEUE_URL) and prints each: a compact line on a
terminal, one JSON object per line when piped or with --json. Fan-out reports (a select or a
schedule expanding into jobs) print as "fanout".

Printed records are deleted from the queue unless --peek. Records not deleted (filtered out by
--outcome, or all with --peek) are kept out of sight while the command reads, so each is
considered once, and made visible again as soon as it stops.

${optionsHelp(OPTIONS)}

With nothing waiting it says so on a terminal ("no results waiting"), and prints nothing when
piped, so a script reads an empty stream.

environment:
  RESULTS_QUEUE_URL        the queue to read
${QUEUE_ENV_HELP}

exit codes: 0 done (also after Ctrl-C), 2 bad options, 1 the queue is not configured or
            cannot be read
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  for (const k of values.outcome ?? [])
    if (!(KINDS as readonly string[]).includes(k))
      throw new UsageError(`--outcome must be one of ${KINDS.join(', ')}, not ${JSON.stringify(k)}`);
  for (const k of values.type ?? [])
    if (!(TYPES as readonly string[]).includes(k))
      throw new UsageError(`--type must be one of ${TYPES.join(', ')}, not ${JSON.stringify(k)}`);
  const kinds = values.outcome ? new Set(values.outcome) : null;
  const types = values.type ? new Set<string>(values.type) : null;
  const wanted =
    kinds || types
      ? { has: (r: Decoded) => (!kinds || kinds.has(kindOf(r))) && (!types || types.has(typeOf(r))) }
      : null;
  const max = values.max ?? Number.POSITIVE_INFINITY;
  const follow = values.follow === true;
  const json = wantJson(io, values.json);
  const queueUrl = requireEnv(io.env, 'RESULTS_QUEUE_URL');

  const sqs = createSqsClient(io.env);
  const stop = new AbortController();
  // Only a following reader waits for Ctrl-C; asking registers the signal handlers.
  if (follow) void io.interrupted.then(() => stop.abort());
  /** MessageId → latest receipt handle, of records left on the queue. */
  const held = new Map<string, string>();
  let printed = 0;

  try {
    while (!stop.signal.aborted && printed < max) {
      let messages: Message[];
      try {
        const r = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: Math.min(10, max - printed),
            // A short long poll to tell "empty" reliably; a following reader waits the full 20 s.
            WaitTimeSeconds: follow ? 20 : 1,
          }),
          { abortSignal: stop.signal },
        );
        messages = r.Messages ?? [];
      } catch (e) {
        if (stop.signal.aborted) break;
        throw e;
      }
      const done: Message[] = [];
      let fresh = 0;
      for (const m of messages) {
        const id = m.MessageId ?? '';
        if (held.has(id)) {
          // Back after its visibility timeout: already considered; keep holding the new receipt.
          held.set(id, m.ReceiptHandle!);
          continue;
        }
        fresh++;
        const record = decode(m.Body ?? '');
        if (printed >= max || (wanted && !wanted.has(record))) {
          held.set(id, m.ReceiptHandle!);
          continue;
        }
        writeLine(io.stdout, json ? JSON.stringify(record) : lineOf(record));
        printed++;
        if (values.peek) held.set(id, m.ReceiptHandle!);
        else done.push(m);
      }
      await deleteAll(sqs, queueUrl, done);
      if (!follow && fresh === 0) break;
    }
  } finally {
    await release(sqs, queueUrl, [...held.values()]).finally(() => sqs.destroy());
  }
  // A person at a terminal deserves to know the silence means "nothing"; a pipe gets an empty stream.
  if (printed === 0 && io.stdout.isTTY === true && !json)
    writeLine(
      io.stdout,
      `no results waiting${kinds || types ? ` (of ${[...(types ?? []), ...(kinds ?? [])].join(', ')})` : ''}`,
    );
  return 0;
}

type Other = { type: 'reconcile' | 'settled'; [k: string]: unknown };
type Decoded = ResultRecord | Other | { type: 'unreadable'; raw: string };

function decode(body: string): Decoded {
  try {
    const v = JSON.parse(body) as Record<string, unknown> | null;
    if (v && typeof v === 'object' && (v.type === 'reconcile' || v.type === 'settled')) return v as Other;
    if (v && typeof v === 'object' && (v.type === 'fanout' || typeof v.outcome === 'string'))
      return v as unknown as ResultRecord;
  } catch {
    // below
  }
  return { type: 'unreadable', raw: body.slice(0, 8192) };
}

function kindOf(r: Decoded): string {
  if ('type' in r && (r.type as string) !== 'outcome') return r.type as string;
  return (r as { outcome: string }).outcome;
}

function typeOf(r: Decoded): string {
  return 'type' in r && typeof r.type === 'string' ? r.type : 'outcome';
}

function lineOf(r: Decoded): string {
  if ('type' in r && r.type === 'unreadable')
    return `${'?'.padEnd(9)} ${JSON.stringify((r as { raw: string }).raw.slice(0, 100))}`;
  if ('type' in r && r.type === 'settled') return settledLine(r as Other);
  if ('type' in r && r.type === 'reconcile') return reconcileLine(r as Other);
  return recordLine(r as ResultRecord);
}

const str = (v: unknown, dflt = '-') => (typeof v === 'string' && v !== '' ? v : dflt);

/** `settled   cos 100000000001 53dc6228 partial   Complete 990/1000 ok, 10 failed  nightly-window`. */
export function settledLine(r: Record<string, unknown>): string {
  const t = r.tasks as { total?: number; succeeded?: number; failed?: number } | null | undefined;
  const tasks = t ? `${t.succeeded ?? 0}/${t.total ?? 0} ok, ${t.failed ?? 0} failed` : 'no task counts';
  const reasons = Array.isArray(r.failureReasons) ? (r.failureReasons as { code?: string }[]) : [];
  return [
    'settled'.padEnd(9),
    str(r.provider).padEnd(3),
    str(r.account, str(r.region)).padEnd(12),
    head(str(r.jobId), 8).padEnd(9),
    str(r.verdict, '?').padEnd(9),
    str(r.status).padEnd(9),
    tasks,
    ...(reasons.length > 0 ? [`[${reasons.map((f) => str(f.code, '?')).join(', ')}]`] : []),
    ...(typeof r.policy === 'string' ? [r.policy] : []),
  ].join(' ');
}

/** `reconcile 2026-12-06T01:05:00Z enqueued 2, holds 3, unlisted 1`. */
function reconcileLine(r: Record<string, unknown>): string {
  const pols = Array.isArray(r.policies) ? (r.policies as { actions?: number; holds?: number }[]) : [];
  const sum = (k: 'actions' | 'holds') => pols.reduce((n, p) => n + (p[k] ?? 0), 0);
  const unlisted = Array.isArray(r.unlisted) ? r.unlisted.length : 0;
  const ledger = r.ledger as { ok?: boolean; settled?: number } | null | undefined;
  return [
    'reconcile'.padEnd(9),
    str(r.tickTime),
    `actions ${sum('actions')}, enqueued ${Number(r.enqueued ?? 0)}, holds ${sum('holds')}`,
    ...(unlisted ? [`unlisted ${unlisted}`] : []),
    ...(ledger ? [ledger.ok === false ? 'ledger unavailable' : `settled ${ledger.settled ?? 0}`] : []),
    ...(r.stoppedAtDeadline ? ['stopped at deadline'] : []),
  ].join(' ');
}

async function deleteAll(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  if (messages.length === 0) return;
  const out = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
    }),
  );
  if (out.Failed?.length)
    throw new Error(`could not delete ${out.Failed.length} printed record(s): ${out.Failed[0]?.Code ?? ''}`);
}

/** Visible again at once, for the next reader. */
async function release(sqs: SQSClient, queueUrl: string, receipts: string[]): Promise<void> {
  for (let i = 0; i < receipts.length; i += 10) {
    const chunk = receipts.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
}
