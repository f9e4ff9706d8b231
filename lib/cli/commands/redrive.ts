/**
 * `jobctl redrive`: messages from the requests queue's dead-letter queue back onto the requests
 * queue, once whatever made them fail (a provider outage, missing keys) is fixed. The DLQ is the
 * one the requests queue's RedrivePolicy names. Each message is sent first and deleted from the
 * DLQ only once it is on the requests queue: a crash in between duplicates a transition (which
 * the controller reports as `unchanged`), it never loses one.
 */

import { createHash } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createSqsClient, isFifo, type QueueMessage, sendAll } from '../../lambda/sqs';
import { type Command, type Io, writeLine } from '../command';
import { QUEUE_ENV_HELP, requireEnv } from '../env';
import { type OptionTable, optionsHelp, parseOptions } from '../options';
import { progress } from '../progress';

const OPTIONS = {
  max: {
    kind: 'integer',
    arg: 'N',
    min: 1,
    max: 1_000_000_000,
    help: 'move at most N messages (default: all)',
  },
  'dlq-url': {
    kind: 'string',
    arg: 'URL',
    help: 'the dead-letter queue, instead of the one the RedrivePolicy names',
  },
  json: { kind: 'boolean', help: 'print {"moved":n,"failed":[{"messageId","code","message"}],"dlq":URL}' },
} as const satisfies OptionTable;

const HELP = `
usage: jobctl redrive [--max N] [--dlq-url URL] [--json]

Moves messages from the dead-letter queue back to the requests queue (REQUESTS_QUEUE_URL).
The DLQ is found from the requests queue's RedrivePolicy (deadLetterTargetArn), or given with
--dlq-url. Each message is sent to the requests queue first and deleted from the DLQ only after
it is there, so none is lost; on a FIFO queue it keeps its message group.

${optionsHelp(OPTIONS)}

environment:
  REQUESTS_QUEUE_URL       the requests queue
${QUEUE_ENV_HELP}

Progress is shown on stderr when it is a terminal.

exit codes: 0 done (also when the DLQ was empty), 2 bad options, 1 some messages could not be
            moved (they stay on the DLQ), or the queues are not configured
`;

export const command: Command = { help: HELP, run };

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseOptions(argv, OPTIONS);
  const max = values.max ?? Number.POSITIVE_INFINITY;
  const requestsUrl = requireEnv(io.env, 'REQUESTS_QUEUE_URL');
  const sqs = createSqsClient(io.env);
  const failed: { messageId: string; code: string; message: string }[] = [];
  let moved = 0;
  let dlqUrl = values['dlq-url'];
  const shown = progress(io, 'jobctl redrive:');
  try {
    dlqUrl ??= await deadLetterQueueOf(sqs, requestsUrl);
    shown.add(await approximateDepth(sqs, dlqUrl));
    const fifo = isFifo(requestsUrl);
    while (moved + failed.length < max) {
      const r = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: Math.min(10, max - moved - failed.length),
          // Long enough for "empty" to mean empty; a message we fail to move stays invisible
          // for the queue's visibility timeout, so the loop never meets it twice.
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId'],
        }),
      );
      const messages = r.Messages ?? [];
      if (messages.length === 0) break;
      const report = await sendAll(
        sqs,
        requestsUrl,
        messages.map((m) => requeued(m, fifo)),
      );
      for (const f of report.failed)
        failed.push({ messageId: messages[f.index]?.MessageId ?? '', code: f.code, message: f.message });
      const sent = report.sent.map((i) => messages[i]!);
      const notDeleted = await deleteAll(sqs, dlqUrl, sent);
      // Sent but still on the DLQ: a duplicate will follow if it is redriven again; say so.
      for (const m of notDeleted)
        failed.push({
          messageId: m.MessageId ?? '',
          code: 'DeleteFailed',
          message: 'sent, but still on the DLQ',
        });
      moved += sent.length - notDeleted.length;
      shown.tick(messages.length);
    }
  } finally {
    shown.done();
    sqs.destroy();
  }

  if (values.json) writeLine(io.stdout, JSON.stringify({ moved, failed, dlq: dlqUrl }));
  else {
    for (const f of failed)
      writeLine(io.stderr, `message ${f.messageId}: not moved (${f.code}: ${f.message})`);
    writeLine(
      io.stdout,
      `moved ${moved} message${moved === 1 ? '' : 's'} from ${nameOf(dlqUrl!)} to ${nameOf(requestsUrl)}`,
    );
  }
  return failed.length > 0 ? 1 : 0;
}

const nameOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** RedrivePolicy → deadLetterTargetArn (`arn:aws:sqs:<region>:<account>:<name>`) → its URL. */
async function deadLetterQueueOf(sqs: SQSClient, requestsUrl: string): Promise<string> {
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: requestsUrl, AttributeNames: ['RedrivePolicy'] }),
  );
  const policy = attrs.Attributes?.RedrivePolicy;
  if (!policy) throw new Error(`${nameOf(requestsUrl)} has no RedrivePolicy: give the DLQ with --dlq-url`);
  let arn: unknown;
  try {
    arn = (JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
  } catch {
    // below
  }
  const m = typeof arn === 'string' ? /^arn:[^:]+:sqs:[^:]*:([^:]*):(.+)$/.exec(arn) : null;
  if (!m) throw new Error(`${nameOf(requestsUrl)}'s RedrivePolicy names no dead-letter queue ARN`);
  const out = await sqs.send(
    new GetQueueUrlCommand({ QueueName: m[2]!, ...(m[1] ? { QueueOwnerAWSAccountId: m[1] } : {}) }),
  );
  if (!out.QueueUrl) throw new Error(`no URL for the dead-letter queue ${m[2]}`);
  return out.QueueUrl;
}

async function approximateDepth(sqs: SQSClient, url: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) || 0;
}

/**
 * The message as it goes back: same body, string attributes and (FIFO) group. The deduplication
 * id is new: the original's would make a FIFO queue drop the message as a duplicate of itself if
 * it is redriven within five minutes of its first send.
 */
function requeued(m: Message, fifo: boolean): QueueMessage {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {}))
    if (v.StringValue !== undefined && (v.DataType === 'String' || v.DataType?.startsWith('String.')))
      attributes[k] = v.StringValue;
  const q: QueueMessage = { body: m.Body ?? '' };
  if (Object.keys(attributes).length > 0) q.attributes = attributes;
  if (fifo) {
    q.groupId = m.Attributes?.MessageGroupId ?? 'jobctl';
    q.dedupId = createHash('sha256')
      .update(`${m.MessageId ?? ''}\n${m.ReceiptHandle ?? ''}`)
      .digest('hex');
  }
  return q;
}

/** Delete what was moved; returns the messages that could not be deleted. */
async function deleteAll(sqs: SQSClient, url: string, messages: Message[]): Promise<Message[]> {
  if (messages.length === 0) return [];
  const out = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
    }),
  );
  return (out.Failed ?? []).map((f) => messages[Number(f.Id)]!);
}
