// Starts the real terrapin-edge worker (edge-worker/build, made by edge-worker/build.sh) in
// workerd through Miniflare, with a fresh local D1 migrated by `wrangler d1 migrations apply`,
// on 127.0.0.1 and a free port. Used by every edge test file.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { Miniflare } from "miniflare";

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

/** Builds the worker unless edge-worker/build is present and newer than the sources. */
export function ensureBuilt() {
  const out = path.join(edgeDir, "build", "index.js");
  if (process.env.TERRAPIN_SKIP_BUILD === "1" && existsSync(out)) return;
  if (!existsSync(out)) {
    execFileSync(path.join(edgeDir, "build.sh"), { stdio: "inherit", env: quietEnv });
  }
}

function databaseId() {
  const toml = readFileSync(path.join(edgeDir, "wrangler.toml"), "utf8");
  const m = toml.match(/database_id\s*=\s*"([^"]+)"/);
  if (!m) throw new Error("no database_id in wrangler.toml");
  return m[1];
}

/**
 * Starts a worker. `vars` override wrangler.toml [vars]. Returns { url, fetch, dispose }.
 */
export async function startWorker(vars = {}) {
  ensureBuilt();
  const persist = mkdtempSync(path.join(tmpdir(), "terrapin-edge-test-"));
  execFileSync(
    wrangler,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist],
    { cwd: edgeDir, env: quietEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  const toml = readFileSync(path.join(edgeDir, "wrangler.toml"), "utf8");
  const baseVars = {};
  const varsBlock = toml.split("[vars]")[1] ?? "";
  for (const line of varsBlock.split("\n")) {
    const m = line.match(/^\s*([A-Z_]+)\s*=\s*"([^"]*)"/);
    if (m) baseVars[m[1]] = m[2];
  }
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: true,
    scriptPath: path.join(edgeDir, "build", "index.js"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: "2025-09-01",
    d1Databases: { DB: databaseId() },
    d1Persist: path.join(persist, "v3", "d1"),
    bindings: { ...baseVars, ...vars },
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
    async dispose() {
      await mf.dispose();
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
