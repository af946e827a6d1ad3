// Starts the real terrapin-edge worker (edge-worker/build, made by edge-worker/build.sh) in
// workerd through Miniflare, with a fresh local D1 migrated by `wrangler d1 migrations apply`,
// on 127.0.0.1 and a free port. Used by every edge test file.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { after, before } from "node:test";
import { Miniflare } from "miniflare";
import { configVars, miniflareOptions } from "../../edge-worker/miniflare.mjs";
import { Api } from "./client.mjs";

export { configVars };

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const edgeDir = path.join(root, "edge-worker");
const wrangler = path.join(root, "node_modules", ".bin", "wrangler");
const quietEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_D1_WARNING: "true",
};

/** Newest modification time under the given paths (files or directories), in ms. */
function newest(paths) {
  let max = 0;
  const visit = (p) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(path.join(p, e));
    else max = Math.max(max, st.mtimeMs);
  };
  paths.forEach(visit);
  return max;
}

/**
 * Builds the worker (edge-worker/build.sh) if edge-worker/build is missing or older than its
 * sources (edge-worker/src, core/src, Cargo manifests). TERRAPIN_SKIP_BUILD=1 trusts any build.
 */
export function ensureBuilt() {
  const out = path.join(edgeDir, "build", "index_bg.wasm");
  if (existsSync(out) && process.env.TERRAPIN_SKIP_BUILD === "1") return;
  const sources = [
    path.join(edgeDir, "src"),
    path.join(edgeDir, "Cargo.toml"),
    path.join(root, "core", "src"),
    path.join(root, "core", "Cargo.toml"),
    path.join(root, "Cargo.toml"),
  ];
  if (!existsSync(out) || statSync(out).mtimeMs < newest(sources)) {
    execFileSync(path.join(edgeDir, "build.sh"), { stdio: ["ignore", "inherit", "inherit"], env: quietEnv });
  }
}

/** Applies the D1 migrations of `migrationsDir` (default: the worker's own) to `persist`. */
export function applyMigrations(persist, migrationsDir) {
  let config = path.join(edgeDir, "wrangler.toml");
  if (migrationsDir) {
    // The same config with another migrations folder (e.g. only the v1 schema).
    const toml = readFileSync(config, "utf8")
      .replace(/^main\s*=.*$/m, `main = ${JSON.stringify(path.join(edgeDir, "build", "index.js"))}`)
      .replace(/^directory\s*=.*$/m, `directory = ${JSON.stringify(path.join(root, "www", "dist"))}`)
      .replace(/^migrations_dir\s*=.*$/m, `migrations_dir = ${JSON.stringify(migrationsDir)}`);
    config = path.join(persist, "wrangler.v.toml");
    writeFileSync(config, toml);
  }
  execFileSync(
    wrangler,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist, "--config", config],
    { cwd: edgeDir, env: quietEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
}

/**
 * Starts a worker. `vars` override wrangler.toml [vars]; `persist` reuses a state directory
 * (migrated to the current schema) instead of a fresh one, and is kept on dispose; `port` (default
 * any free one) lets a restarted worker answer where the stopped one did.
 * Returns { url, mf, d1(), store(storeId), dispose }.
 */
export async function startWorker(vars = {}, { persist: keep, port = 0 } = {}) {
  ensureBuilt();
  const persist = keep ?? mkdtempSync(path.join(tmpdir(), "terrapin-edge-test-"));
  applyMigrations(persist);
  const mf = new Miniflare({
    ...miniflareOptions({ persist, vars, port }),
    // workerd reports clients that hang up early (atuin exits with a request in flight) as
    // "Broken pipe" with a stack; keep everything else.
    handleRuntimeStdio(stdout, stderr) {
      for (const [from, to] of [[stdout, process.stdout], [stderr, process.stderr]]) {
        let skipStack = false;
        createInterface({ input: from }).on("line", (line) => {
          if (/disconnected: .*Broken pipe|Connection reset by peer/.test(line)) {
            skipStack = true;
            return;
          }
          if (skipStack && line.startsWith("stack:")) {
            skipStack = false;
            return;
          }
          skipStack = false;
          to.write(line + "\n");
        });
      }
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    url,
    mf,
    persist,
    /** The D1 database, for checks from outside the API. */
    d1: () => mf.getD1Database("DB"),
    /** Calls an internal operation of one account's store (e.g. "/stats"). */
    async store(storeId, op, init) {
      const ns = await mf.getDurableObjectNamespace("USER_STORE");
      const res = await ns.get(ns.idFromName(storeId)).fetch(`https://user-store${op}`, init);
      return { status: res.status, json: JSON.parse((await res.text()) || "null") };
    },
    async dispose() {
      await mf.dispose();
      if (!keep) rmSync(persist, { recursive: true, force: true });
    },
  };
}

/**
 * The test file's worker: started with `vars` before its tests (then `seed(api)` runs, if
 * given), stopped after them. `api` talks to it from the start; `worker` (startWorker's
 * handle) is set once the tests run.
 */
export function workerSuite(vars = {}, seed = async () => {}) {
  const suite = { worker: undefined, api: new Api(undefined) };
  before(async () => {
    suite.worker = await startWorker(vars);
    suite.api.url = suite.worker.url;
    await seed(suite.api);
  });
  after(async () => suite.worker?.dispose());
  return suite;
}
