/**
 * Keeps the store on disk under a data directory so `jobctl run` finds its jobs again, and so
 * that no answer the sandbox gave is contradicted after a crash: every change an API call makes
 * is appended to `<dataDir>/sandbox.jsonl` (the whole job, as it now stands) inside the store
 * call, and fsynced before the answer is written (one fsync shared by the answers waiting for it).
 * A kill -9 — or a power cut — right after an answer therefore loses nothing that answer reported.
 *
 * `<dataDir>/sandbox.json` is the snapshot the journal continues: written on start, on close and
 * whenever the journal has grown well past it (temporary file, fsync, rename, so a crash leaves
 * the previous snapshot whole), after which the journal starts again under the snapshot's
 * generation. A journal from an older generation than the snapshot is already contained in it and
 * is ignored. Lifecycle steps that time alone makes (Ready → Active → Complete) are not journaled:
 * they follow from the journaled state and the clock, and are recomputed after a restart.
 *
 * One process per directory (`sandbox.lock`, the same lock the embedded queue takes on its own
 * file): a second sandbox would compact the files from under the first.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { lockDataDir, readJournalLines, writeAllSync } from '../queue/persist';
import type { JobStore, StoreSnapshot } from './store';
import type { SandboxJob } from './types';

export const STATE_FILE = 'sandbox.json';
export const JOURNAL_FILE = 'sandbox.jsonl';
export const LOCK_FILE = 'sandbox.lock';
const FORMAT = 'jobctl-sandbox/1';
const JOURNAL_FORMAT = 'jobctl-sandbox-journal/1';
const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;

/** The snapshot on disk: the store's, plus the generation its journal must carry. */
interface SavedSnapshot extends StoreSnapshot {
  gen?: number;
}

type JournalLine = { t: 'head'; format: string; gen: number } | { t: 'job'; j: SandboxJob };

/** What the directory holds: the snapshot with the journal's changes applied, and its generation. */
export interface SavedState {
  snapshot: StoreSnapshot;
  gen: number;
  /** Changes found in the journal (applied). */
  journaled: number;
  /** A last journal line cut short by a kill mid-write (dropped: it was never answered). */
  tornLine: boolean;
}

/** Read snapshot and journal (both absent → undefined). Damage refuses, naming the file and place. */
export function readState(dataDir: string): SavedState | undefined {
  const path = join(dataDir, STATE_FILE);
  const journalPath = join(dataDir, JOURNAL_FILE);
  let saved: SavedSnapshot | undefined;
  if (existsSync(path)) saved = parseSnapshot(path, readFileSync(path, 'utf8'));
  const gen = saved?.gen ?? 0;
  const jobs = new Map<string, SandboxJob>();
  for (const j of saved?.jobs ?? []) jobs.set(jobKey(j), j);
  let journaled = 0;
  let tornLine = false;
  if (existsSync(journalPath)) {
    const { records, torn } = readJournalLines(journalPath);
    tornLine = torn;
    const head = records[0];
    if (head) {
      const h = head.value as Partial<Extract<JournalLine, { t: 'head' }>>;
      if (h?.t !== 'head' || h.format !== JOURNAL_FORMAT || typeof h.gen !== 'number')
        throw new Error(
          `${journalPath}:1: not a ${JOURNAL_FORMAT} journal; move it away to start from ${STATE_FILE}`,
        );
      // An older generation was folded into the snapshot by a compaction that a crash cut short.
      if (h.gen === gen) {
        if (!saved && gen !== 0) throw new Error(`${journalPath}: its snapshot ${path} is missing`);
        for (const { line, value } of records.slice(1)) {
          const r = value as Partial<Extract<JournalLine, { t: 'job' }>>;
          if (r?.t !== 'job') throw new Error(`${journalPath}:${line}: not a sandbox journal record`);
          checkJob(r.j, `${journalPath}:${line}`);
          jobs.set(jobKey(r.j), r.j);
          journaled++;
        }
      } else if (h.gen > gen) {
        throw new Error(`${journalPath}: generation ${h.gen} is newer than ${path} (${gen}); files mixed up`);
      }
    }
  }
  if (!saved && journaled === 0) return undefined;
  const seq = Math.max(saved?.seq ?? 0, ...[...jobs.values()].map((j) => j.seq));
  return { snapshot: { format: FORMAT, seq, jobs: [...jobs.values()] }, gen, journaled, tornLine };
}

function parseSnapshot(path: string, text: string): SavedSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `${path}: not valid JSON (${(e as Error).message}${where(text, e as Error)}); move it away to start afresh`,
    );
  }
  const o = value as Partial<SavedSnapshot> | null;
  if (typeof o !== 'object' || o === null || o.format !== FORMAT || !Array.isArray(o.jobs))
    throw new Error(`${path}: not a ${FORMAT} state file; move it away to start afresh`);
  for (const [i, j] of o.jobs.entries()) checkJob(j, `${path}: jobs[${i}]`);
  return o as SavedSnapshot;
}

/** Enough of a job's shape that restoring it cannot fail half-way with a TypeError. */
function checkJob(j: unknown, where: string): asserts j is SandboxJob {
  const o = j as Record<string, unknown> | null;
  const bad =
    typeof o !== 'object' || o === null
      ? 'not an object'
      : ((['provider', 'namespace', 'jobId', 'status'] as const).find((k) => typeof o[k] !== 'string') ??
        (['creationTime', 'statusSince', 'seq', 'priority'] as const).find((k) => !Number.isFinite(o[k])) ??
        (Array.isArray(o.failureReasons) ? undefined : 'failureReasons'));
  if (bad) throw new Error(`${where}: not a sandbox job (${bad}); move the file away to start afresh`);
}

/**
 * Where a JSON text breaks, as ` at line L column C`. Node 20's JSON.parse names a position for
 * some errors only, so on failure the text is scanned again to find the first bad character.
 */
export function where(text: string, _e?: Error): string {
  const at = jsonErrorOffset(text);
  const before = text.slice(0, at).split('\n');
  return ` at line ${before.length} column ${before[before.length - 1]!.length + 1}`;
}

/** The offset of the first character that cannot continue a JSON text (its length if it ends early). */
function jsonErrorOffset(t: string): number {
  let i = 0;
  const ws = () => {
    while (i < t.length && ' \t\n\r'.includes(t[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const string = () => {
    if (t[i] !== '"') fail();
    i++;
    while (i < t.length && t[i] !== '"') {
      if (t.charCodeAt(i) < 0x20) fail();
      if (t[i] === '\\') {
        i++;
        if (t[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(t[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= t.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = t[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (t[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          string();
          ws();
          if (t[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (t[i] === ',') i++;
        else if (t[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(t.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

const jobKey = (j: Pick<SandboxJob, 'provider' | 'namespace' | 'jobId'>) =>
  `${j.provider}\n${j.namespace}\n${j.jobId}`;

export interface Persister {
  /**
   * Journal these changed jobs: written before this returns (so a kill -9 after it keeps them,
   * and a later read never shows what the file lacks); fsynced by the next `durable()`.
   */
  changed(jobs: readonly SandboxJob[]): void;
  /**
   * Resolves once everything journaled so far is fsynced (undefined: it already is). The server
   * awaits it before every answer; concurrent answers share one fsync.
   */
  durable(): Promise<void> | undefined;
  /** Write the snapshot, remove the journal, release the directory. */
  close(): void;
}

export interface PersisterOptions {
  /** Compact once the journal has grown past this (and twice the snapshot). */
  compactAfterBytes?: number;
}

export interface OpenOptions extends PersisterOptions {
  /** Put the saved state into the store. */
  load(saved: SavedState): void;
  /** Nothing saved yet: fill the store (its first snapshot is written at once). */
  seed(): void;
}

/**
 * Take the directory, load what it holds (or seed), write the store as the new snapshot, and
 * journal from here on.
 */
export function openPersister(dataDir: string, store: () => JobStore, opts: OpenOptions): Persister {
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir, LOCK_FILE);
  const path = join(dataDir, STATE_FILE);
  const journalPath = join(dataDir, JOURNAL_FILE);
  const tmp = `${path}.tmp`;
  const compactAfter = opts.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
  let gen = 0;
  let fd: number | undefined;
  let pos = 0;
  let snapshotBytes = 0;

  const compact = () => {
    const data = Buffer.from(JSON.stringify({ ...store().snapshot(), gen: gen + 1 } satisfies SavedSnapshot));
    const out = openSync(tmp, 'w');
    try {
      writeAllSync(out, data, 0);
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    try {
      renameSync(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    syncDir(dataDir);
    gen++;
    snapshotBytes = data.length;
    // From here the snapshot holds everything; the journal restarts under its generation.
    if (fd !== undefined) retire(fd);
    fd = openSync(journalPath, 'w');
    const head = Buffer.from(
      `${JSON.stringify({ t: 'head', format: JOURNAL_FORMAT, gen } satisfies JournalLine)}\n`,
    );
    pos = writeAllSync(fd, head, 0);
    fdatasyncSync(fd);
    synced = written;
  };

  // Group commit: lines are written at once, and one fdatasync covers every line written before
  // it started, so concurrent requests wait for the same sync instead of each paying for one.
  let written = 0;
  let synced = 0;
  let syncing: Promise<void> | undefined;
  const syncOnce = (): Promise<void> => {
    const upTo = written;
    const on = fd!;
    return new Promise<void>((resolve, reject) =>
      fdatasync(on, (e) => {
        syncing = undefined;
        if (e) return reject(e);
        synced = Math.max(synced, upTo);
        resolve();
      }),
    );
  };
  // A descriptor replaced by a compaction is closed once no fdatasync is running on it.
  const retire = (old: number) => {
    if (syncing)
      void syncing.then(
        () => closeSync(old),
        () => closeSync(old),
      );
    else closeSync(old);
  };

  try {
    // A temporary file is only ever left by a kill mid-compaction: the snapshot it was to replace is whole.
    rmSync(tmp, { force: true });
    const saved = readState(dataDir);
    if (saved) {
      gen = saved.gen;
      opts.load(saved);
    } else opts.seed();
    compact();
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    lock.release();
    throw e;
  }

  return {
    changed(jobs) {
      if (fd === undefined || jobs.length === 0) return;
      const data = Buffer.from(
        jobs.map((j) => `${JSON.stringify({ t: 'job', j } satisfies JournalLine)}\n`).join(''),
      );
      try {
        pos = writeAllSync(fd, data, pos);
        written++;
      } catch (e) {
        // Cut the partial line off, so that the file never holds a torn line before a whole one.
        try {
          ftruncateSync(fd, pos);
        } catch {
          // The next replay reports the torn line (it is the last one) if this failed too.
        }
        throw e;
      }
      if (pos > Math.max(compactAfter, 2 * snapshotBytes)) {
        try {
          compact();
        } catch {
          // This change is journaled; try again once as much more has been written.
          snapshotBytes = pos;
        }
      }
    },
    durable() {
      if (synced >= written || fd === undefined) return undefined;
      const target = written;
      return (async () => {
        while (synced < target) {
          syncing ??= syncOnce();
          await syncing;
        }
      })();
    },
    close() {
      if (fd === undefined) return;
      try {
        compact();
        retire(fd);
        fd = undefined;
        // The snapshot holds everything and the journal only its head.
        rmSync(journalPath, { force: true });
      } finally {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
        lock.release();
      }
    },
  };
}

/** A rename is durable once its directory is: without this a power cut could undo it. */
function syncDir(dir: string): void {
  let dfd: number | undefined;
  try {
    dfd = openSync(dir, 'r');
    fsyncSync(dfd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (dfd !== undefined) closeSync(dfd);
  }
}
