// AI threads (`ai-session` records), imported only by `client.threads`: the package entry does
// not carry them. Decoding (zstd) and the fold are the core's, in their own wasm module
// (web/threads).
import initThreads, { Threads } from '../pkg/terrapin_threads.js';
import type { Thread, ThreadWithMessages } from './types.js';

let ready: Promise<unknown> | undefined;
/** The last records read, and their threads: read again only when the records changed. */
let last: { json: string; key: string; threads: Threads } | undefined;

/** The threads of `json` (wire JSON text of `ai-session` records) read with `key`. */
export async function threads(json: string, key: string): Promise<{ list(): Thread[]; get(id: string): ThreadWithMessages | undefined }> {
  ready ??= initThreads().catch((e: unknown) => {
    ready = undefined;
    throw e;
  });
  await ready;
  if (last?.json !== json || last.key !== key) {
    last?.threads.free();
    last = undefined;
    last = { json, key, threads: new Threads(json, key) };
  }
  const t = last.threads;
  return { list: () => t.list() as Thread[], get: (id) => t.get(id) as ThreadWithMessages | undefined };
}
