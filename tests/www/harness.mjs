// Shared by the www Playwright suite and the P3 benchmark: builds the npm package (if needed)
// and the app (vite build), starts the real worker (workerd + fresh local D1), and serves
// www/dist on 127.0.0.1 with every other path proxied to the worker, so the app's default
// server URL (its own origin) is the sync server, as when the worker serves the app itself.
import { execFileSync } from "node:child_process";
import { createServer, request } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../edge/harness.mjs";
import { ensurePackage, launchBrowser, suiteEnv as packageSuiteEnv } from "../web/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "../..");
export const wwwDir = path.join(root, "www");
export const dist = process.env.TERRAPIN_WWW_DIST ?? path.join(wwwDir, "dist");
/** Where the app lives on the site (as in the worker's static assets: www/dist/app → /app/). */
export const APP_PATH = "/app/";
export const artifacts = path.join(root, "tests", "artifacts");

/** vite build of www/ (TERRAPIN_SKIP_WWW_BUILD=1 reuses an existing www/dist). */
export function buildApp() {
  ensurePackage();
  if (process.env.TERRAPIN_SKIP_WWW_BUILD === "1" && existsSync(path.join(dist, "app", "index.html"))) return;
  rmSync(dist, { recursive: true, force: true });
  execFileSync(path.join(root, "node_modules", ".bin", "vite"), ["build", "--logLevel", "warn"], {
    cwd: wwwDir,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Serves www/dist (the app at /app/); anything that isn't a file there goes to the worker at `api`. */
export async function serveApp(api) {
  const target = new URL(api);
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const rel = url.pathname.endsWith("/") ? url.pathname + "index.html" : url.pathname;
    const file = path.join(dist, path.normalize(rel));
    if (req.method === "GET" && file.startsWith(dist) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, {
        "Content-Type": types[path.extname(file)] ?? "application/octet-stream",
        "Cache-Control": rel.includes("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      });
      res.end(readFileSync(file));
      return;
    }
    const fwd = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    // The worker is down: the connection drops, as with a server that can't be reached.
    fwd.on("error", () => res.destroy());
    req.pipe(fwd);
  });
  // WebSocket upgrades (the live status socket) pass through as they are.
  server.on("upgrade", (req, socket, head) => {
    const fwd = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } });
    fwd.on("upgrade", (up, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      if (upHead?.length) socket.write(upHead);
      if (head?.length) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      upSocket.on("error", () => socket.destroy());
      socket.on("error", () => upSocket.destroy());
      upSocket.on("close", () => socket.destroy());
      socket.on("close", () => upSocket.destroy());
    });
    fwd.on("response", (up) => {
      // Refused before the upgrade: the answer as it came.
      const lines = [`HTTP/1.1 ${up.statusCode} ${up.statusMessage}`];
      for (let i = 0; i < up.rawHeaders.length; i += 2) lines.push(`${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}`);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      up.pipe(socket);
    });
    fwd.on("error", () => socket.destroy());
    socket.on("error", () => fwd.destroy());
    fwd.end();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

export async function setup(workerVars = {}) {
  buildApp();
  mkdirSync(artifacts, { recursive: true });
  // Kept across a worker restart (stopWorker/startWorker), removed by dispose.
  const persist = mkdtempSync(path.join(tmpdir(), "terrapin-www-test-"));
  const vars = { CORS_ORIGINS: "*", ...workerVars };
  let [worker, browser] = await Promise.all([startWorker(vars, { persist }), launchBrowser()]);
  const site = await serveApp(worker.url);
  /** Every Content-Security-Policy violation any page reported. */
  const csp = [];
  /** A fresh browser profile (own IndexedDB) on the app. */
  async function profile(opts = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...opts });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: site.url });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e));
    page.on("console", (m) => {
      if (/Content Security Policy/.test(m.text())) csp.push(m.text());
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) console.error("console:", m.text());
    });
    await page.goto(site.url + APP_PATH);
    return { context, page };
  }
  return {
    get worker() {
      return worker;
    },
    /** Stops the worker (the site stays up: API calls then fail as with a server down). */
    async stopWorker() {
      await worker.dispose();
    },
    /** Starts it again on the same port with the same state. */
    async startWorker() {
      worker = await startWorker(vars, { persist, port: Number(new URL(worker.url).port) });
    },
    site,
    browser,
    profile,
    csp,
    shot: (page, name) => page.screenshot({ path: path.join(artifacts, `www-${name}.png`), fullPage: false }),
    async dispose() {
      await browser.close();
      await site.close();
      await worker.dispose().catch(() => undefined);
      rmSync(persist, { recursive: true, force: true });
    },
  };
}

/** Fills the connect form and submits it. */
export async function connect(page, { mode = "login", username, password, email, key = "", passphrase = "" }) {
  await page.locator("#view-connect").waitFor();
  await page.check(`input[name=mode][value=${mode}]`);
  await page.fill("#f-username", username);
  if (mode === "register") await page.fill("#f-email", email ?? `${username}@example.com`);
  await page.fill("#f-password", password);
  await page.fill("#f-key", key);
  await page.fill("#f-passphrase", passphrase);
  await page.click("#connect-submit");
}

/** Registers through the connect form and waits for the first sync. With no `key` the viewer
 * makes one, taken from its dialog; returns the key, as the viewer showed it or as given. */
export async function registerInViewer(page, { username, password, email, key }) {
  await connect(page, { mode: "register", username, password, email, key });
  if (!key) {
    await page.locator("#view-newkey").waitFor();
    key = await page.inputValue("#newkey-text");
    await page.click("#newkey-done");
  }
  await page.locator("#view-app").waitFor();
  await waitSynced(page, 0);
  return key;
}

/** Logs out of `page`, confirmed, and waits for it and `others` (tabs of the same profile) to
 * show the connect view. */
export async function logOut(page, others = []) {
  await page.click("#logout-btn");
  await page.locator("#confirm-dialog[open]").waitFor();
  await page.click("#confirm-ok");
  for (const p of [page, ...others]) await p.locator("#view-connect").waitFor({ timeout: 10_000 });
}

/** What the viewer keeps in a profile: its databases, its settings, its search preferences. */
export const kept = (page) =>
  page.evaluate(async () => ({
    dbs: (await indexedDB.databases()).map((d) => d.name).filter((n) => n.startsWith("terrapin-www")),
    settings: localStorage.getItem("terrapin-www"),
    prefs: Object.keys(localStorage).filter((k) => k.startsWith("terrapin-www-search:")),
  }));

/** Waits for a sync that ends after `since` (the body's data-synced stamp). */
export async function waitSynced(page, since = 0, timeout = 60_000) {
  await page.waitForFunction((since) => Number(document.body.dataset.synced ?? 0) > since, since, { timeout });
}
export const syncedStamp = (page) => page.evaluate(() => Number(document.body.dataset.synced ?? 0));

const axeSource = path.join(root, "node_modules", "axe-core", "axe.min.js");
/** axe-core violations of impact serious or critical on the page as it is now. */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol: the app's CSP (rightly) refuses an inline script tag.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(readFileSync(axeSource, "utf8"));
  const v = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return v.filter((x) => x.impact === "serious" || x.impact === "critical");
}

/** The test file's environment (`setup`), as `suiteEnv` of the package's harness makes it. */
export const suiteEnv = (workerVars) => packageSuiteEnv(workerVars, setup);

/** A fresh name for an account or a profile. */
export const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
