// AI threads (`ai-session` records), imported only by `client.threads`: the package entry does
// not carry them. Decoding (zstd) and the fold are the core's, in their own wasm module
// (web/threads).
import initThreads, { Threads } from '../pkg/terrapin_threads.js';
import type { Thread, ThreadWithMessages } from './types.js';

/** The wasm client, as far as the threads are read from it. */
interface Source {
  key(): string | undefined;
  exportRecords(tag?: string): Promise<string>;
  /** Moves whenever records other than history and kv may have changed. */
  readonly otherChanges: number;
}

let ready: Promise<unknown> | undefined;
/** Per client, its threads and when they were read: read again only when its records may have changed. */
const last = new WeakMap<Source, { at: number; key: string; threads: Threads }>();

/** The threads of the `ai-session` records of `w` (its own per-tag read), read with its key. */
export async function threads(w: Source): Promise<{ list(): Thread[]; get(id: string): ThreadWithMessages | undefined }> {
  ready ??= initThreads().catch((e: unknown) => {
    ready = undefined;
    throw e;
  });
  await ready;
  const at = w.otherChanges;
  const key = w.key() ?? '';
  let l = last.get(w);
  if (l?.at !== at || l.key !== key) {
    const json = await w.exportRecords('ai-session');
    l?.threads.free();
    l = { at, key, threads: new Threads(json, key) };
    last.set(w, l);
  }
  const t = l.threads;
  return { list: () => t.list() as Thread[], get: (id) => t.get(id) as ThreadWithMessages | undefined };
}
