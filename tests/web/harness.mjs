// Shared by the browser end-to-end tests and benchmarks: builds the npm package if needed,
// serves it on 127.0.0.1, starts the real worker (CORS open to the page) and headless
// Chromium through playwright-core (the system's /usr/bin/chromium, never a download).
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startWorker } from "../edge/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const webDir = path.join(root, "web");

/** Builds web/pkg unless it is there (TERRAPIN_REBUILD_WEB=1 forces a build). */
export function ensurePackage() {
  const wasm = path.join(webDir, "pkg", "terrapin_web_bg.wasm");
  if (process.env.TERRAPIN_REBUILD_WEB === "1" || !existsSync(wasm)) {
    execFileSync(path.join(webDir, "build.sh"), { stdio: "inherit" });
  }
}

const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".json": "application/json" };

/** Serves web/ (the package) with a blank page at `/`. */
export async function servePackage() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname === "/") {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<!doctype html><title>terrapin-web test</title>");
      return;
    }
    const file = path.join(webDir, path.normalize(url.pathname));
    if (!file.startsWith(webDir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404);
      res.end();
      return;
    }
    // Any origin may load it (openProfile's pages on the worker's origin import it from here).
    res.writeHead(200, {
      "Content-Type": types[path.extname(file)] ?? "application/octet-stream",
      "Access-Control-Allow-Origin": "*",
    });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A fresh browser profile (own IndexedDB) of `browser` on the page of `site`, the package loaded
 * as `window.tw`. With `origin` (e.g. the worker's URL, as the viewer is served), the page is
 * one of that origin (its `/`), loaded from it as a browser would, and the package is imported
 * from `site`: requests to the worker are same-origin (no CORS preflights), and the page has
 * the worker's address, as Chromium's local network checks of sockets expect.
 */
export async function openProfile(browser, site, { origin } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto((origin ?? site.url) + "/");
  await page.evaluate(
    async ({ from, load }) => {
      window.tw = await import(from + "/pkg/index.js");
      if (load) await window.tw.initialize();
    },
    { from: site.url, load: Boolean(origin) },
  );
  return { context, page, eval: (fn, arg) => page.evaluate(fn, arg) };
}

/** Everything a test needs; `profile()` is a fresh browser profile (own IndexedDB) with the package loaded. */
export async function setup(workerVars = {}) {
  ensurePackage();
  const [worker, site, browser] = await Promise.all([
    startWorker({ CORS_ORIGINS: "*", ...workerVars }),
    servePackage(),
    launchBrowser(),
  ]);
  const profile = () => openProfile(browser, site);
  return {
    worker,
    site,
    browser,
    profile,
    /** A fresh profile with its client (`c` in the page) registered as a new user (password "pw"). */
    async registered(name, pageSize) {
      const username = uniq(name);
      const p = await profile();
      await open(p, worker.url, name, pageSize);
      await p.eval(({ username }) => c.register({ username, email: `${username}@example.com`, password: "pw" }), { username });
      return { p, username };
    },
    async dispose() {
      await browser.close();
      await site.close();
      await worker.dispose();
    },
  };
}

/**
 * The test file's environment (what `make(workerVars)` resolves to): made before its tests,
 * disposed after them. The object is usable at once; its fields exist while the tests run.
 */
export function suiteEnv(workerVars, make = setup) {
  let env;
  before(async () => {
    env = await make(workerVars);
  });
  after(async () => {
    await env?.dispose();
  });
  return new Proxy({}, { get: (_, k) => env[k] });
}

/** A fresh name for an account or a profile. */
/**
 * Builds the package with the benchmark hooks (the `bench` feature) beside the package, in
 * web/pkg-bench, and evaluates `fn(arg)` in a page served from web/ (`fn` imports
 * `/pkg-bench/terrapin_web.js`); returns its result.
 */
export async function inBenchPackage(fn, arg) {
  execFileSync(path.join(webDir, "build.sh"), {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, WEB_FEATURES: "bench", WEB_OUT: path.join(webDir, "pkg-bench") },
  });
  const site = await servePackage();
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(site.url + "/");
    return await page.evaluate(fn, arg);
  } finally {
    await browser.close();
    await site.close();
  }
}

export const uniq = (p) => `${p}${Date.now()}${Math.floor(Math.random() * 1e6)}`;

/** Opens a client on `server` for `profile` in the page, as `window.c` (quick retries). */
export async function open(p, server, profile, pageSize) {
  await p.eval(
    async ({ server, profile, pageSize }) => {
      window.c = await window.tw.Client.open({ server, profile, pageSize, retry: { attempts: 3, baseMs: 50, maxMs: 200 } });
    },
    { server, profile, pageSize },
  );
}
