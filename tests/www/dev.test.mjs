// What `make dev` serves (scripts/dev.sh → edge-worker/dev.sh → edge-worker/serve.mjs): the
// worker with bindings from wrangler.toml and .dev.vars, the viewer from its static assets, and
// `--var` overrides. Driven as a user would: the viewer registers and syncs in Chromium on the
// same origin, and the operator lists accounts with admin.mjs.
//   node --test tests/www/dev.test.mjs
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { launchBrowser } from "../web/harness.mjs";
import { APP_PATH, buildApp, registerInViewer, root, uniq } from "./harness.mjs";

const run = promisify(execFile);
let child, url, persist;
const output = [];

before(async () => {
  buildApp();
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  persist = mkdtempSync(path.join(tmpdir(), "terrapin-dev-test-"));
  child = spawn(path.join(root, "edge-worker", "dev.sh"), ["--var", "PAGE_SIZE:500"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, PORT: String(port), TERRAPIN_EDGE_PERSIST: persist, CI: "true" },
  });
  for (const s of [child.stdout, child.stderr]) s.on("data", (d) => output.push(String(d)));
  url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`dev.sh exited with ${child.exitCode}:\n${output.join("")}`);
    try {
      if ((await fetch(`${url}/api/v0/capabilities`)).ok) break;
    } catch {}
    if (i > 600) throw new Error(`dev.sh did not come up:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.on("exit", r));
    process.kill(-child.pid, "SIGTERM");
    await exited;
  }
  if (persist) rmSync(persist, { recursive: true, force: true });
});

test("--var reaches the worker: the advertised page size", async () => {
  const caps = await (await fetch(`${url}/api/v0/capabilities`)).json();
  assert.equal(caps.capabilities["sh.atuin.server/records.page_size"].page_size, 500);
});

test("the viewer is served from the worker's assets, and registers and syncs on that origin", async () => {
  const res = await fetch(`${url}${APP_PATH}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.match(await res.text(), /Content-Security-Policy/);

  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => /Content Security Policy/.test(m.text()) && problems.push(m.text()));
    await page.goto(`${url}${APP_PATH}`);
    const username = uniq("devuser");
    await registerInViewer(page, { username, password: "correct horse battery" });
    assert.deepEqual(problems, []);

    // The operator's command finds the account, with the token make dev wrote to .dev.vars.
    const { stdout } = await run("node", [path.join(root, "edge-worker", "admin.mjs"), "--url", url, "user", "list"]);
    assert.match(stdout, new RegExp(`^${username}\\s`, "m"));
  } finally {
    await browser.close();
  }
});

test("answers go out uncompressed, as this machine is their only reader", async () => {
  const res = await fetch(`${url}/api/v0/capabilities`, { headers: { "Accept-Encoding": "gzip" } });
  assert.equal(res.headers.get("content-encoding"), "identity");
  assert.equal((await res.json()).capabilities["sh.atuin.server/records.page_size"].page_size, 500);
});

test("requests are logged, as wrangler dev logs them", async () => {
  await fetch(`${url}/api/v0/capabilities`);
  await new Promise((r) => setTimeout(r, 200));
  assert.match(output.join(""), /GET \/api\/v0\/capabilities 200/);
});
