#!/usr/bin/env node
// Serves the built worker (build/, made by build.sh) in workerd through Miniflare, configured
// from wrangler.toml and .dev.vars by wrangler (miniflare.mjs): the engine `wrangler dev` runs,
// without the proxy hops and file watchers `wrangler dev` puts in front of it (measured in
// edge-worker/README.md, "Benchmark"). Used by dev.sh.
//
//   node serve.mjs --persist-to DIR [--port 8787] [--ip 127.0.0.1] [--var NAME:VALUE …]
import { Log, LogLevel, Miniflare } from "miniflare";
import { miniflareOptions } from "./miniflare.mjs";

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
// Answers go out uncompressed: this serves one machine, where compressing costs CPU and saves
// nothing. A deployment's are compressed by Cloudflare's edge, off the worker's CPU;
// `--var COMPRESS_ANSWERS:true` emulates that here (edge-worker/README.md, "Benchmark").
vars.COMPRESS_ANSWERS ??= "false";
const persist = opt("persist-to");
if (!persist) throw new Error("--persist-to DIR is required");

const mf = new Miniflare({
  ...miniflareOptions({ persist, vars, host: opt("ip", "127.0.0.1"), port: Number(opt("port", 8787)), devVars: true }),
  log: new Log(LogLevel.INFO),
});
console.log(`terrapin-edge: serving ${await mf.ready}`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => mf.dispose().finally(() => process.exit(0)));
}
