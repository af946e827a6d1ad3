#!/usr/bin/env node
// Serves the built worker (build/, made by build.sh) with its bindings read from wrangler.toml
// and .dev.vars by wrangler itself, in workerd through Miniflare: the engine `wrangler dev` runs,
// without the proxy hops and file watchers `wrangler dev` puts in front of it (measured in
// edge-worker/README.md, "Benchmark"). Used by dev.sh; D1 and Durable Objects persist where
// `wrangler dev --persist-to DIR` keeps them, so the two read the same state.
//
//   node serve.mjs --port 8787 --persist-to DIR [--ip 127.0.0.1] [--var NAME:VALUE …]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const vars = {};
args.forEach((a, i) => {
  if (a !== "--var") return;
  const [name, ...value] = String(args[i + 1]).split(":");
  if (!name || !value.length) throw new Error(`--var wants NAME:VALUE, got ${args[i + 1]}`);
  vars[name] = value.join(":");
});
const persist = opt("persist-to");
if (!persist) throw new Error("--persist-to DIR is required");

const { workerOptions, main } = unstable_getMiniflareWorkerOptions(path.join(here, "wrangler.toml"));
const mf = new Miniflare({
  ...workerOptions,
  modules: true,
  scriptPath: main,
  bindings: { ...workerOptions.bindings, ...vars },
  host: opt("ip", "127.0.0.1"),
  port: Number(opt("port", 8787)),
  d1Persist: path.join(persist, "v3", "d1"),
  durableObjectsPersist: path.join(persist, "v3", "do"),
  log: new Log(LogLevel.INFO),
});
const url = await mf.ready;
console.log(`terrapin-edge: serving ${url}`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => mf.dispose().finally(() => process.exit(0)));
}
