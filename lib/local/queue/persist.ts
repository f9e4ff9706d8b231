/**
 * Persistence for the embedded queue. fauxqs keeps everything in memory, so `jobctl run
 * --data-dir` wraps its store: every change (queue created or changed, message sent, received,
 * deleted, made visible again, moved to the DLQ, purged) is appended to `<dataDir>/queue.jsonl`
 * as one JSON line, synchronously, inside the store call that makes it. fauxqs's handlers are
 * synchronous up to their reply, so the line is written before the response leaves: an
 * acknowledged SendMessage, receive or delete is in the file. No fsync per line: the OS page
 * cache outlives a killed process (kill -9, a crash), not a power cut or a kernel panic.
 *
 * On start the file is replayed into a fresh store and rewritten as a snapshot of what is left
 * (atomically: temporary file, fsync, rename), and journaling resumes on top of it; a long run
 * compacts the same way once the journal has grown well past the snapshot. A last line torn by
 * a kill mid-write is dropped: its change was never acknowledged.
 *
 * Messages received but not deleted come back as they would on SQS: in flight, under the same
 * receipt handle, until their visibility timeout runs out, with their receive count kept, so
 * the redrive policy counts the receive that a dead consumer never finished.
 *
 * The seam is fauxqs's SqsStore, which its package does not export: it is loaded from the
 * installed package's own files (next to its entry point) and handed to `buildApp({ stores })`,
 * and its queues' methods are wrapped per instance. FAUXQS_SURFACES lists every private surface
 * this relies on; `checkFauxqsSurfaces` fails loudly, naming it, if a fauxqs upgrade moves one.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';

export const JOURNAL_FILE = 'queue.jsonl';
const LOCK_FILE = 'queue.lock';
const FORMAT = 'jobctl-queue/1';
/** fauxqs's FIFO deduplication window (sqsStore.js DEDUP_WINDOW_MS). */
const DEDUP_WINDOW_MS = 5 * 60_000;

// ── fauxqs internals, as far as this module touches them ───────────────────────────────────

export interface FqMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }>;
  md5OfMessageAttributes: string;
  sentTimestamp: number;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  delayUntil?: number;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
}

interface FqInflight {
  message: FqMessage;
  receiptHandle: string;
  visibilityDeadline: number;
}

export interface FqQueue {
  name: string;
  url: string;
  arn: string;
  createdTimestamp: number;
  lastModifiedTimestamp: number;
  attributes: Record<string, string>;
  tags: Map<string, string>;
  inflightMessages: Map<string, FqInflight>;
  fifoLockedGroups: Map<string, number>;
  sequenceCounter: number;
  isFifo(): boolean;
  enqueue(msg: FqMessage): void;
  dequeue(max: number, visibilityTimeout?: number, dlqResolver?: unknown): { ReceiptHandle: string }[];
  deleteMessage(receiptHandle: string): boolean;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  purge(): void;
  setAttributes(attrs: Record<string, string>): void;
  recordDeduplication(dedupId: string, messageId: string, sequenceNumber: string): void;
}

export interface FqStore {
  queues: Map<string, FqQueue>;
  queuesByName: Map<string, FqQueue>;
  region?: string;
  /** `sqs.<region>.<host>` in queue URLs; '' names them after the request's own host. */
  host: string;
  createQueue(
    name: string,
    url: string,
    arn: string,
    attributes?: Record<string, string>,
    tags?: Record<string, string>,
  ): FqQueue;
  deleteQueue(url: string): boolean;
  getQueue(url: string): FqQueue | undefined;
  purgeAll(): void;
  buildQueueUrl(name: string, port: string, requestHost: string, region?: string): string;
}

type StoreClass = new () => FqStore;

/**
 * Every fauxqs-internal surface this module depends on, in one place: checked against fauxqs
 * 1.9.2. None of it is fauxqs's public API, so an upgrade may move any of it; `checkFauxqsSurfaces`
 * tests each (at start, and in persist.test.ts) and names what moved. Behaviour relied on but not
 * checkable here: fauxqs's handlers run synchronously from the store call to the reply (so a line
 * written inside the call is on disk before the answer), and TagQueue/UntagQueue edit `queue.tags`
 * in place.
 */
export const FAUXQS_SURFACES = [
  'dist/sqs/sqsStore.js exports class SqsStore (not exported by the package)',
  'buildApp({ stores: { sqsStore } }) uses the store it is given (dist/app.js)',
  'SqsStore#createQueue/deleteQueue/getQueue/purgeAll/buildQueueUrl, #queues and #queuesByName Maps',
  'SqsQueue#isFifo/enqueue/dequeue/deleteMessage/changeVisibility/purge/setAttributes/recordDeduplication',
  'SqsQueue#tags, #inflightMessages, #fifoLockedGroups are Maps; #sequenceCounter a number',
  'SqsQueue#inflightMessages values are { message, receiptHandle, visibilityDeadline } keyed by receipt handle',
  'SqsQueue#dequeue moves a message past maxReceiveCount by calling the DLQ queue’s enqueue during the dequeue',
  'FIFO deduplication window DEDUP_WINDOW_MS = 5 minutes (sqsStore.js)',
  'FIFO group key of a message without MessageGroupId is "__default" (fifoLockedGroups)',
] as const;

let storeClass: Promise<StoreClass> | undefined;

const sqsStoreUrl = () => new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs'));

/** A fresh fauxqs store (no persistence): the embedded queue sets how it names its queues. */
export async function newSqsStore(): Promise<FqStore> {
  return new (await loadStoreClass())();
}

/** fauxqs's SqsStore class: the same module its app.js imports, found beside the entry point. */
function loadStoreClass(): Promise<StoreClass> {
  storeClass ??= (async () => {
    const problems = await checkFauxqsSurfaces();
    if (problems.length)
      throw new Error(
        `this fauxqs version does not have what queue persistence wraps (${problems.join('; ')}); ` +
          'run without --data-dir or pin fauxqs 1.9.x',
      );
    return ((await import(sqsStoreUrl().href)) as { SqsStore: StoreClass }).SqsStore;
  })();
  return storeClass;
}

/** What of FAUXQS_SURFACES the installed fauxqs no longer has, each naming the surface. */
export async function checkFauxqsSurfaces(): Promise<string[]> {
  const url = sqsStoreUrl();
  let mod: { SqsStore?: StoreClass };
  try {
    mod = (await import(url.href)) as { SqsStore?: StoreClass };
  } catch (e) {
    return [`${FAUXQS_SURFACES[0]}: cannot load ${url.href} (${(e as Error).message})`];
  }
  if (typeof mod.SqsStore !== 'function') return [`${FAUXQS_SURFACES[0]}: no SqsStore in ${url.href}`];
  const problems: string[] = [];
  const source = readFileSync(url, 'utf8');
  const app = readFileSync(new URL('../app.js', url), 'utf8');
  if (!/options\?\.stores\?\.sqsStore/.test(app)) problems.push(FAUXQS_SURFACES[1]);
  if (!/DEDUP_WINDOW_MS = 5 \* 60 \* 1000/.test(source)) problems.push(FAUXQS_SURFACES[7]);
  if (!/messageGroupId \?\? "__default"/.test(source)) problems.push(FAUXQS_SURFACES[8]);

  const store = new mod.SqsStore();
  const fn = (o: object, k: string) => typeof (o as Record<string, unknown>)[k] === 'function';
  const missingStore = ['createQueue', 'deleteQueue', 'getQueue', 'purgeAll', 'buildQueueUrl'].filter(
    (k) => !fn(store, k),
  );
  if (!(store.queues instanceof Map)) missingStore.push('queues');
  if (!(store.queuesByName instanceof Map)) missingStore.push('queuesByName');
  if (missingStore.length) return [...problems, `${FAUXQS_SURFACES[2]}: missing ${missingStore.join(', ')}`];

  const dlq = store.createQueue('probe-dlq', 'http://probe/0/probe-dlq', 'arn:aws:sqs:x:0:probe-dlq');
  const q = store.createQueue('probe', 'http://probe/0/probe', 'arn:aws:sqs:x:0:probe', {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }),
  });
  const missingQueue = [
    'isFifo',
    'enqueue',
    'dequeue',
    'deleteMessage',
    'changeVisibility',
    'purge',
    'setAttributes',
    'recordDeduplication',
  ].filter((k) => !fn(q, k));
  if (missingQueue.length) return [...problems, `${FAUXQS_SURFACES[3]}: missing ${missingQueue.join(', ')}`];
  const notMaps = (['tags', 'inflightMessages', 'fifoLockedGroups'] as const).filter(
    (k) => !(q[k] instanceof Map),
  );
  if (notMaps.length || typeof q.sequenceCounter !== 'number')
    problems.push(`${FAUXQS_SURFACES[4]}: ${[...notMaps, 'sequenceCounter'].join(', ')}`);

  // Behaviour: one receive puts the message in flight as recorded; the next moves it to the DLQ
  // through the DLQ's enqueue, inside the dequeue.
  try {
    const msg: FqMessage = {
      messageId: 'probe-1',
      body: 'probe',
      md5OfBody: '',
      messageAttributes: {},
      md5OfMessageAttributes: '',
      sentTimestamp: Date.now(),
      approximateReceiveCount: 0,
    };
    q.enqueue(msg);
    const resolver = (arn: string) => (arn === dlq.arn ? dlq : undefined);
    const [got] = q.dequeue(1, 30, resolver);
    const e = got && q.inflightMessages.get(got.ReceiptHandle);
    if (
      !e ||
      e.message !== msg ||
      e.receiptHandle !== got.ReceiptHandle ||
      typeof e.visibilityDeadline !== 'number'
    )
      problems.push(FAUXQS_SURFACES[5]);
    q.changeVisibility(got?.ReceiptHandle ?? '', 0);
    let movedDuringDequeue = false;
    let inDequeue = false;
    const enqueue = dlq.enqueue.bind(dlq);
    dlq.enqueue = (m) => {
      movedDuringDequeue = inDequeue && m.messageId === msg.messageId;
      enqueue(m);
    };
    inDequeue = true;
    q.dequeue(1, 30, resolver);
    inDequeue = false;
    if (!movedDuringDequeue) problems.push(FAUXQS_SURFACES[6]);
  } catch (e) {
    problems.push(`${FAUXQS_SURFACES[5]} / ${FAUXQS_SURFACES[6]}: ${(e as Error).message}`);
  }
  return problems;
}

// ── the journal's records ──────────────────────────────────────────────────────────────────

interface QueueMeta {
  q: string;
  url: string;
  arn: string;
  /** Attributes, tags, created and last-modified timestamps (s). */
  a: Record<string, string>;
  g: Record<string, string>;
  c: number;
  l: number;
}

/** One line of the file. Short keys: a line is written for every message, several times. */
export type JournalRecord =
  | { t: 'head'; format: string }
  | ({ t: 'q'; s: number } & QueueMeta)
  | { t: 'dq'; q: string }
  | { t: 'reset' }
  | { t: 'purge'; q: string }
  /** A new message; on a FIFO queue also its deduplication entry. */
  | { t: 'send'; q: string; m: FqMessage }
  /** Snapshot: a message as it stands, with receipt handle and deadline when in flight. */
  | { t: 'm'; q: string; m: FqMessage; h?: string; v?: number }
  /** Snapshot: a FIFO deduplication entry still inside its window. */
  | { t: 'dd'; q: string; k: string; id: string; s: string; at: number }
  | { t: 'recv'; q: string; id: string; h: string; v: number; n: number; f?: number }
  /** Visibility changed; a deadline in the past (0) means visible again. */
  | { t: 'vis'; q: string; id: string; h: string; v: number }
  | { t: 'del'; q: string; id: string }
  /** Moved to the dead-letter queue `to` by a receive past maxReceiveCount. */
  | { t: 'move'; q: string; to: string; id: string; n: number; f?: number };

interface MessageImage {
  m: FqMessage;
  h?: string | undefined;
  v?: number | undefined;
}

interface QueueImage {
  meta: QueueMeta;
  seq: number;
  msgs: Map<string, MessageImage>;
  dedup: Map<string, { id: string; s: string; at: number }>;
}

/** What the file says the store holds: rebuilt by replay, then kept current by every record. */
type Image = Map<string, QueueImage>;

/** Every record sets state rather than adjusting it, so replaying one twice does no harm. */
export function applyRecord(image: Image, r: JournalRecord): void {
  switch (r.t) {
    case 'head':
      return;
    case 'q': {
      const { t: _, s, ...meta } = r;
      const q = image.get(r.q);
      if (q) {
        q.meta = meta;
        q.seq = Math.max(q.seq, s);
      } else image.set(r.q, { meta, seq: s, msgs: new Map(), dedup: new Map() });
      return;
    }
    case 'dq':
      image.delete(r.q);
      return;
    case 'reset':
      image.clear();
      return;
    case 'purge':
      image.get(r.q)?.msgs.clear();
      return;
    case 'send':
    case 'm': {
      const q = image.get(r.q);
      if (!q) return;
      q.msgs.set(r.m.messageId, r.t === 'm' ? { m: r.m, h: r.h, v: r.v } : { m: r.m });
      if (r.t === 'm' || !r.m.sequenceNumber) return;
      // A FIFO send: it advances the queue's sequence and opens a deduplication window.
      q.seq = Math.max(q.seq, Number(r.m.sequenceNumber));
      if (r.m.messageDeduplicationId)
        q.dedup.set(r.m.messageDeduplicationId, {
          id: r.m.messageId,
          s: r.m.sequenceNumber,
          at: r.m.sentTimestamp,
        });
      return;
    }
    case 'dd':
      image.get(r.q)?.dedup.set(r.k, { id: r.id, s: r.s, at: r.at });
      return;
    case 'recv': {
      const e = image.get(r.q)?.msgs.get(r.id);
      if (!e) return;
      e.m.approximateReceiveCount = r.n;
      if (r.f !== undefined) e.m.approximateFirstReceiveTimestamp = r.f;
      e.h = r.h;
      e.v = r.v;
      return;
    }
    case 'vis': {
      const e = image.get(r.q)?.msgs.get(r.id);
      if (e) {
        e.h = r.h;
        e.v = r.v;
      }
      return;
    }
    case 'del':
      image.get(r.q)?.msgs.delete(r.id);
      return;
    case 'move': {
      const from = image.get(r.q);
      const e = from?.msgs.get(r.id);
      from?.msgs.delete(r.id);
      const to = image.get(r.to);
      if (!e || !to) return;
      e.m.approximateReceiveCount = r.n;
      if (r.f !== undefined) e.m.approximateFirstReceiveTimestamp = r.f;
      to.msgs.set(r.id, { m: e.m });
      return;
    }
    default:
      throw new Error(`unknown record type ${JSON.stringify((r as { t: unknown }).t)}`);
  }
}

export interface ReplayReport {
  image: Image;
  /** 1 when the last line was cut short by a kill mid-write (dropped: never acknowledged), else 0. */
  tornLines: number;
}

/**
 * Read a journal (absent → empty). Only a last line without its newline may be damaged: a kill
 * mid-write leaves that, and its change was never acknowledged. Anything else — a bad line
 * before the last, a file that is not ours, random bytes — refuses, naming the file and the line,
 * rather than start an empty queue over messages that were promised.
 */
export function replayJournal(file: string): ReplayReport {
  const image: Image = new Map();
  if (!existsSync(file)) return { image, tornLines: 0 };
  const { records, torn } = readJournalLines(file);
  for (const [k, { line, value }] of records.entries()) {
    const r = value as JournalRecord;
    if (k === 0 && (r?.t !== 'head' || (r as { format?: unknown }).format !== FORMAT))
      throw new Error(`${file}:${line}: not a ${FORMAT} journal; move it away to start an empty queue`);
    try {
      if (typeof r !== 'object' || r === null) throw new Error('not a record');
      applyRecord(image, r);
    } catch (e) {
      throw new Error(`${file}:${line}: ${(e as Error).message}; the journal is damaged`);
    }
  }
  return { image, tornLines: torn ? 1 : 0 };
}

export interface JournalLines {
  /** Every whole line, decoded, with its 1-based line number. */
  records: { line: number; value: unknown }[];
  /** The file ended in a partial line (no newline), which was dropped. */
  torn: boolean;
}

/**
 * The lines of a JSON-lines journal, strictly: every line ends in a newline and is JSON, except
 * that a last line without its newline (a write cut short) is dropped and reported. A file whose
 * only content is such a fragment is not a journal at all, so it is refused, not read as empty.
 */
export function readJournalLines(file: string): JournalLines {
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const torn = tail.length > 0;
  if (torn && lines.length === 0)
    throw new Error(`${file}:1: not a journal (no complete line); move it away to start afresh`);
  const records = lines.map((text, i) => {
    try {
      if (!text) throw new Error('empty line');
      return { line: i + 1, value: JSON.parse(text) as unknown };
    } catch (e) {
      throw new Error(
        `${file}:${i + 1}: not a journal line (${(e as Error).message}); the file is damaged, ` +
          'and only its last line may be cut short — move it away to start afresh',
      );
    }
  });
  return { records, torn };
}

/** Write all of `data` at `pos`; returns the position after it. */
export function writeAllSync(fd: number, data: Buffer, pos: number): number {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off, pos + off);
  return pos + data.length;
}

// ── the journal file ────────────────────────────────────────────────────────────────────────

class Journal {
  private fd: number | undefined;
  private pending: string[] = [];
  private depth = 0;
  /** Where the next line goes: the end of the last whole line. */
  private pos = 0;
  private bytes = 0;
  private snapshotBytes = 0;
  live = false;
  /** Stopping: receives get nothing (see QueuePersistence.stopReceiving). */
  draining = false;
  /** The queue whose receive is running: an enqueue during it is a move to its DLQ. */
  receiving: FqQueue | undefined;

  constructor(
    readonly file: string,
    readonly image: Image,
    private readonly compactAfterBytes: number,
  ) {}

  /** Run one store call; what it records is written, in one write, before it returns. */
  op<T>(fn: () => T): T {
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) this.flush();
    }
  }

  record(r: JournalRecord): void {
    if (!this.live) return;
    applyRecord(this.image, r);
    this.pending.push(`${JSON.stringify(r)}\n`);
  }

  private flush(): void {
    if (this.pending.length === 0 || this.fd === undefined) {
      this.pending = [];
      return;
    }
    const data = Buffer.from(this.pending.join(''));
    this.pending = [];
    try {
      this.pos = writeAllSync(this.fd, data, this.pos);
    } catch (e) {
      // The caller's request fails, so its change was never acknowledged; a send is retried.
      // Cut the partial line off: a torn line may only ever be the last one (see replayJournal).
      try {
        ftruncateSync(this.fd, this.pos);
      } catch {
        // If this fails too the torn line is the last one, unless a later write succeeds.
      }
      throw e;
    }
    this.bytes += data.length;
    if (this.bytes > Math.max(this.compactAfterBytes, 2 * this.snapshotBytes)) {
      try {
        this.compact();
      } catch {
        // Not this request's problem: its line is written. Journal on; try again as much later.
        this.bytes = 0;
      }
    }
  }

  /** Rewrite the file as the image it describes; replaces it atomically. */
  compact(): void {
    const now = Date.now();
    const out: string[] = [JSON.stringify({ t: 'head', format: FORMAT } satisfies JournalRecord)];
    for (const q of this.image.values()) {
      out.push(JSON.stringify({ t: 'q', s: q.seq, ...q.meta } satisfies JournalRecord));
      for (const e of q.msgs.values()) {
        const inFlight = e.h !== undefined && e.v !== undefined && e.v > now;
        out.push(
          JSON.stringify({
            t: 'm',
            q: q.meta.q,
            m: e.m,
            ...(inFlight ? { h: e.h, v: e.v } : {}),
          } satisfies JournalRecord),
        );
      }
      for (const [k, d] of q.dedup) {
        if (d.at + DEDUP_WINDOW_MS <= now) q.dedup.delete(k);
        else out.push(JSON.stringify({ t: 'dd', q: q.meta.q, k, ...d } satisfies JournalRecord));
      }
    }
    const data = Buffer.from(`${out.join('\n')}\n`);
    const tmp = `${this.file}.tmp`;
    // The descriptor written here is the one journaling continues on, so that no failure after
    // the rename can leave lines going to a file that is no longer there.
    const fd = openSync(tmp, 'w');
    try {
      writeAllSync(fd, data, 0);
      // Once per compaction: a rename that a power cut could undo would lose the whole file.
      fsyncSync(fd);
      renameSync(tmp, this.file);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = fd;
    this.pos = data.length;
    this.bytes = 0;
    this.snapshotBytes = data.length;
  }

  close(): void {
    this.live = false;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

// ── the store, wrapped ──────────────────────────────────────────────────────────────────────

export interface RestoreReport {
  queues: number;
  /** Messages restored, and of them those still in flight (they return after their deadline). */
  messages: number;
  inFlight: number;
  /** Messages restored per queue name (in flight included). */
  perQueue: Record<string, number>;
  tornLines: number;
}

/** One line for a person: what a restart found (`jobctl run` prints it). */
export function describeRestore(r: RestoreReport): string {
  const per = Object.entries(r.perQueue)
    .map(([q, n]) => `${q} ${n}`)
    .join(', ');
  return (
    `restored ${r.messages} message(s) in ${r.queues} queue(s)${per ? ` (${per})` : ''}, ${r.inFlight} in flight` +
    (r.tornLines ? '; dropped a last journal line cut short by a kill (never acknowledged)' : '')
  );
}

export interface QueuePersistence {
  /** The store to hand to fauxqs's `buildApp({ stores: { sqsStore } })`. */
  store: FqStore;
  restored: RestoreReport;
  /** Once listening: give the restored queues this run's URLs (the old ones keep working). */
  attach(port: number): void;
  /**
   * Before the server closes: fauxqs answers pending long polls on shutdown by dequeuing, and
   * a message handed to a reply that never arrives would sit in flight after a restart.
   */
  stopReceiving(): void;
  /** Stop journaling and release the data directory. */
  close(): void;
}

export interface PersistenceOptions {
  /** Compact while running once the journal has grown past this (and twice the snapshot). */
  compactAfterBytes?: number;
  /** Where a dropped torn line is reported; default stderr. */
  warn?: (message: string) => void;
}

/**
 * Replay `<dataDir>/queue.jsonl` into a new fauxqs store, compact the file, and journal every
 * change from here on.
 */
export async function openQueuePersistence(
  dataDir: string,
  opts: PersistenceOptions = {},
): Promise<QueuePersistence> {
  const SqsStore = await loadStoreClass();
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  let journal: Journal;
  let store: FqStore;
  let restored: RestoreReport;
  try {
    const file = join(dataDir, JOURNAL_FILE);
    const { image, tornLines } = replayJournal(file);
    if (tornLines)
      (opts.warn ?? ((m) => process.stderr.write(`jobctl: ${m}\n`)))(
        `${file}: dropped its last line, cut short by a kill mid-write (that change was never acknowledged)`,
      );
    journal = new Journal(file, image, opts.compactAfterBytes ?? 64 * 1024 * 1024);
    store = new SqsStore();
    instrumentStore(store, journal);
    restored = { ...restore(store, image), tornLines };
    journal.compact();
    journal.live = true;
  } catch (e) {
    lock.release();
    throw e;
  }
  return {
    store,
    restored,
    attach(port) {
      journal.op(() => {
        const queues = [...store.queues.values()];
        store.queues.clear();
        for (const q of queues) {
          const region = q.arn.split(':')[3] || store.region;
          q.url = store.buildQueueUrl(q.name, String(port), `127.0.0.1:${port}`, region);
          store.queues.set(q.url, q);
          journal.record(queueRecord(q));
        }
      });
    },
    stopReceiving() {
      journal.draining = true;
    },
    close() {
      journal.close();
      lock.release();
    },
  };
}

/**
 * One process per data directory (per lock file: the queue and the sandbox each take their own):
 * a second one would compact the file from under the first, whose later lines would land in the
 * replaced file and be lost. The lock names its owner's pid; a lock whose owner is gone (kill -9)
 * is taken over.
 */
export function lockDataDir(dataDir: string, lockFile = LOCK_FILE): { release(): void } {
  const path = resolve(dataDir, lockFile);
  if (heldLocks.has(path)) throw new Error(`${dataDir} is in use by process ${process.pid} (this one)`);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      heldLocks.add(path);
      return {
        release() {
          if (heldLocks.delete(path)) rmSync(path, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    // Our own pid in the file without our holding it: a previous life with the same pid (containers).
    const owner = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner))
      throw new Error(
        `${dataDir} is in use by process ${owner} (${path}); stop it, or remove the lock if it is not jobctl`,
      );
    rmSync(path, { force: true });
  }
}

const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function queueRecord(q: FqQueue): JournalRecord {
  return {
    t: 'q',
    q: q.name,
    url: q.url,
    arn: q.arn,
    a: { ...q.attributes },
    g: Object.fromEntries(q.tags),
    c: q.createdTimestamp,
    l: q.lastModifiedTimestamp,
    s: q.sequenceCounter,
  };
}

/** fauxqs's key for a message's group (processTimers and dequeueFifo agree on it). */
const groupOf = (m: FqMessage) => m.messageGroupId ?? '__default';

function restore(store: FqStore, image: Image): Omit<RestoreReport, 'tornLines'> {
  const now = Date.now();
  let messages = 0;
  let inFlight = 0;
  const perQueue: Record<string, number> = {};
  for (const qi of image.values()) {
    perQueue[qi.meta.q] = qi.msgs.size;
    const { q: name, url, arn, a, g, c, l } = qi.meta;
    const q = store.createQueue(name, url, arn, a, g);
    q.createdTimestamp = c;
    q.lastModifiedTimestamp = l;
    q.sequenceCounter = qi.seq;
    const entries = [...qi.msgs.values()];
    // FIFO order is the sequence number order (DLQ'd messages keep their source's numbers).
    if (q.isFifo())
      entries.sort((x, y) => (x.m.sequenceNumber ?? '').localeCompare(y.m.sequenceNumber ?? ''));
    for (const e of entries) {
      messages++;
      if (e.h !== undefined && e.v !== undefined && e.v > now) {
        inFlight++;
        q.inflightMessages.set(e.h, { message: e.m, receiptHandle: e.h, visibilityDeadline: e.v });
        if (q.isFifo()) q.fifoLockedGroups.set(groupOf(e.m), (q.fifoLockedGroups.get(groupOf(e.m)) ?? 0) + 1);
      } else {
        e.h = undefined;
        e.v = undefined;
        q.enqueue(e.m);
      }
    }
    for (const [k, d] of qi.dedup) if (d.at + DEDUP_WINDOW_MS > now) q.recordDeduplication(k, d.id, d.s);
  }
  return { queues: image.size, messages, inFlight, perQueue };
}

/** Map whose changes are journaled: fauxqs's TagQueue / UntagQueue edit `queue.tags` directly. */
class TagMap extends Map<string, string> {
  onChange: (() => void) | undefined;
  override set(k: string, v: string) {
    super.set(k, v);
    this.onChange?.();
    return this;
  }
  override delete(k: string) {
    const had = super.delete(k);
    if (had) this.onChange?.();
    return had;
  }
  override clear() {
    super.clear();
    this.onChange?.();
  }
}

function instrumentStore(store: FqStore, j: Journal): void {
  const createQueue = store.createQueue.bind(store);
  const deleteQueue = store.deleteQueue.bind(store);
  const getQueue = store.getQueue.bind(store);
  const purgeAll = store.purgeAll.bind(store);

  // Queue URLs carry the port, which changes between runs: a URL from an earlier run still
  // names its queue (same path), as a real SQS URL would keep working.
  store.getQueue = (url) => {
    const exact = getQueue(url);
    if (exact) return exact;
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return undefined;
    }
    const q = store.queuesByName.get(path.split('/').pop() ?? '');
    return q && new URL(q.url).pathname === path ? q : undefined;
  };
  store.createQueue = (name, url, arn, attributes, tags) =>
    j.op(() => {
      if (store.queuesByName.has(name)) j.record({ t: 'dq', q: name });
      const q = createQueue(name, url, arn, attributes, tags);
      instrumentQueue(q, j);
      j.record(queueRecord(q));
      return q;
    });
  store.deleteQueue = (url) =>
    j.op(() => {
      const q = store.getQueue(url);
      if (!q || !deleteQueue(q.url)) return false;
      j.record({ t: 'dq', q: q.name });
      return true;
    });
  store.purgeAll = () =>
    j.op(() => {
      purgeAll();
      j.record({ t: 'reset' });
    });
}

function instrumentQueue(q: FqQueue, j: Journal): void {
  const enqueue = q.enqueue.bind(q);
  const dequeue = q.dequeue.bind(q);
  const deleteMessage = q.deleteMessage.bind(q);
  const changeVisibility = q.changeVisibility.bind(q);
  const purge = q.purge.bind(q);
  const setAttributes = q.setAttributes.bind(q);
  const tags = new TagMap(q.tags);
  tags.onChange = () => j.op(() => j.record(queueRecord(q)));
  q.tags = tags;

  q.enqueue = (m) =>
    j.op(() => {
      enqueue(m);
      const from = j.receiving;
      if (from && from !== q)
        j.record({
          t: 'move',
          q: from.name,
          to: q.name,
          id: m.messageId,
          n: m.approximateReceiveCount,
          ...(m.approximateFirstReceiveTimestamp ? { f: m.approximateFirstReceiveTimestamp } : {}),
        });
      else j.record({ t: 'send', q: q.name, m });
    });
  q.dequeue = (max, visibilityTimeout, dlqResolver) =>
    j.op(() => {
      if (j.draining) return [];
      const outer = j.receiving;
      j.receiving = q;
      let got: ReturnType<FqQueue['dequeue']>;
      try {
        got = dequeue(max, visibilityTimeout, dlqResolver);
      } finally {
        j.receiving = outer;
      }
      for (const r of got) {
        const e = q.inflightMessages.get(r.ReceiptHandle);
        if (!e) continue;
        j.record({
          t: 'recv',
          q: q.name,
          id: e.message.messageId,
          h: e.receiptHandle,
          v: e.visibilityDeadline,
          n: e.message.approximateReceiveCount,
          ...(e.message.approximateFirstReceiveTimestamp
            ? { f: e.message.approximateFirstReceiveTimestamp }
            : {}),
        });
      }
      return got;
    });
  q.deleteMessage = (h) =>
    j.op(() => {
      const e = q.inflightMessages.get(h);
      const deleted = deleteMessage(h);
      if (deleted && e) j.record({ t: 'del', q: q.name, id: e.message.messageId });
      return deleted;
    });
  q.changeVisibility = (h, timeoutSeconds) =>
    j.op(() => {
      const e = q.inflightMessages.get(h);
      changeVisibility(h, timeoutSeconds);
      if (e)
        j.record({
          t: 'vis',
          q: q.name,
          id: e.message.messageId,
          h,
          v: timeoutSeconds === 0 ? 0 : e.visibilityDeadline,
        });
    });
  q.purge = () =>
    j.op(() => {
      purge();
      j.record({ t: 'purge', q: q.name });
    });
  q.setAttributes = (attrs) =>
    j.op(() => {
      setAttributes(attrs);
      j.record(queueRecord(q));
    });
}
