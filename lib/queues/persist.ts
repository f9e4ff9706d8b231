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
 * and its queues' methods are wrapped per instance. `assertShape` fails loudly if a fauxqs
 * upgrade moves what is wrapped here.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
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

let storeClass: Promise<StoreClass> | undefined;

/** A fresh fauxqs store (no persistence): the embedded queue sets how it names its queues. */
export async function newSqsStore(): Promise<FqStore> {
  return new (await loadStoreClass())();
}

/** fauxqs's SqsStore class: the same module its app.js imports, found beside the entry point. */
function loadStoreClass(): Promise<StoreClass> {
  storeClass ??= (async () => {
    const url = new URL('./sqs/sqsStore.js', import.meta.resolve('fauxqs'));
    const mod = (await import(url.href)) as { SqsStore?: StoreClass };
    if (typeof mod.SqsStore !== 'function') throw new Error(`fauxqs: no SqsStore in ${url.href}`);
    assertShape(new mod.SqsStore());
    return mod.SqsStore;
  })();
  return storeClass;
}

function assertShape(store: FqStore): void {
  const q = store.createQueue('probe', 'http://probe/0/probe', 'arn:aws:sqs:x:0:probe');
  const missing = [
    ...['getQueue', 'deleteQueue', 'purgeAll', 'buildQueueUrl'].filter(
      (k) => typeof (store as unknown as Record<string, unknown>)[k] !== 'function',
    ),
    ...[
      'isFifo',
      'enqueue',
      'dequeue',
      'deleteMessage',
      'changeVisibility',
      'purge',
      'setAttributes',
      'recordDeduplication',
    ].filter((k) => typeof (q as unknown as Record<string, unknown>)[k] !== 'function'),
    ...(['tags', 'inflightMessages', 'fifoLockedGroups'] as const).filter((k) => !(q[k] instanceof Map)),
    ...(typeof q.sequenceCounter === 'number' ? [] : ['sequenceCounter']),
  ];
  if (missing.length)
    throw new Error(
      `this fauxqs version does not have what queue persistence wraps (${missing.join(', ')}); ` +
        'run without --data-dir or pin fauxqs 1.9.x',
    );
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
  /** Lines that were not JSON: a last line cut short by a kill, or the remains of a failed write. */
  tornLines: number;
}

/** Read a journal (absent → empty). A file that is not ours is refused rather than overwritten. */
export function replayJournal(file: string): ReplayReport {
  const image: Image = new Map();
  if (!existsSync(file)) return { image, tornLines: 0 };
  const lines = readFileSync(file, 'utf8').split('\n');
  let tornLines = 0;
  let first = true;
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    let r: JournalRecord;
    try {
      r = JSON.parse(line) as JournalRecord;
    } catch {
      tornLines++;
      continue;
    }
    if (first && (r.t !== 'head' || r.format !== FORMAT))
      throw new Error(`${file} is not a ${FORMAT} journal; move it away to start an empty queue`);
    first = false;
    try {
      applyRecord(image, r);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  }
  return { image, tornLines };
}

// ── the journal file ────────────────────────────────────────────────────────────────────────

class Journal {
  private fd: number | undefined;
  private pending: string[] = [];
  private depth = 0;
  /** A write failed part-way: the next one starts on a fresh line so only that line is lost. */
  private cut = false;
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
    const data = Buffer.from((this.cut ? '\n' : '') + this.pending.join(''));
    this.pending = [];
    try {
      for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off, data.length - off);
      this.cut = false;
    } catch (e) {
      // The caller's request fails, so its change was never acknowledged; a send is retried.
      this.cut = true;
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
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
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
    this.cut = false;
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
  tornLines: number;
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
 * One process per data directory: a second one would compact the file from under the first,
 * whose later lines would land in the replaced file and be lost. The lock names its owner's
 * pid; a lock whose owner is gone (kill -9) is taken over.
 */
function lockDataDir(dataDir: string): { release(): void } {
  const path = resolve(dataDir, LOCK_FILE);
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
  for (const qi of image.values()) {
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
  return { queues: image.size, messages, inFlight };
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
