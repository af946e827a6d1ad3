// The worker as Miniflare runs it, configured from wrangler.toml by wrangler itself: bindings,
// Durable Object classes, rate limits, the viewer's assets and module rules. One reading of the
// config for `make dev` (serve.mjs) and for every test that starts the worker.
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";

export const edgeDir = path.dirname(fileURLToPath(import.meta.url));
export const configPath = path.join(edgeDir, "wrangler.toml");

/** The `[vars]` of wrangler.toml. */
export function configVars() {
  return { ...unstable_readConfig({ config: configPath }).vars };
}

/**
 * Miniflare options serving the built worker on `host:port`, its D1 and Durable Objects kept
 * under `persist` (where `wrangler dev --persist-to` keeps them). `vars` override [vars];
 * `devVars` adds the secrets of .dev.vars (make dev's ADMIN_TOKEN), which tests leave out. Assets
 * are served as deployed; before the viewer is built (make dev builds it first), from an empty
 * folder, so requests still pass the assets router as they do in production.
 */
export function miniflareOptions({ persist, vars = {}, host = "127.0.0.1", port = 0, devVars = false }) {
  const config = unstable_readConfig({ config: configPath });
  if (config.assets && !existsSync(path.resolve(edgeDir, config.assets.directory))) {
    config.assets.directory = path.join(tmpdir(), "terrapin-no-assets");
    mkdirSync(config.assets.directory, { recursive: true });
  }
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions(config, undefined, {
    // An empty list still reads .dev.vars; a file that does not exist reads nothing.
    envFiles: devVars ? undefined : [path.join(edgeDir, "no-env-files")],
  });
  return {
    ...workerOptions,
    // As wrangler dev names it: Durable Object state is kept per worker name.
    name: config.name,
    modules: true,
    scriptPath: main,
    bindings: { ...workerOptions.bindings, ...vars },
    host,
    port,
    d1Persist: path.join(persist, "v3", "d1"),
    durableObjectsPersist: path.join(persist, "v3", "do"),
  };
}
