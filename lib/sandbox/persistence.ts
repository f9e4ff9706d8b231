/**
 * Keeps the store on disk under a data directory so `jobctl run` finds its jobs again: changes are
 * written at most once per debounce window, to a temporary file renamed over the last one, so a
 * crash mid-write leaves the previous state intact rather than half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobStore, StoreSnapshot } from './store';

export const STATE_FILE = 'sandbox.json';
export const DEFAULT_DEBOUNCE_MS = 250;

export async function readState(dataDir: string): Promise<StoreSnapshot | undefined> {
  const path = join(dataDir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as StoreSnapshot;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message}); move it away to start afresh`);
  }
}

export interface Persister {
  /** Note a change; the write follows within the debounce window. */
  changed(): void;
  /** Write now if anything is pending, and wait for it. */
  flush(): Promise<void>;
}

export function createPersister(
  dataDir: string,
  store: () => JobStore,
  debounceMs = DEFAULT_DEBOUNCE_MS,
): Persister {
  const path = join(dataDir, STATE_FILE);
  let timer: NodeJS.Timeout | undefined;
  let dirty = false;
  let writing: Promise<void> = Promise.resolve();
  let tmpCounter = 0;

  const write = async () => {
    if (!dirty) return;
    dirty = false;
    const text = JSON.stringify(store().snapshot());
    const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
    await mkdir(dataDir, { recursive: true });
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, path);
  };
  // Writes are chained so two never interleave their renames.
  const enqueue = () => {
    writing = writing.then(write, write);
    return writing;
  };

  return {
    changed() {
      dirty = true;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void enqueue().catch(() => {
          // A failed background write is retried by the next change or the final flush.
          dirty = true;
        });
      }, debounceMs);
      timer.unref();
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      await enqueue();
    },
  };
}
