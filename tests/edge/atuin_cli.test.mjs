// The real atuin CLI against the worker: register, import history, sync; a second host logs in
// with the key and pulls everything; a history delete and a `kv set` on one host reach the
// other after both sync. Runs when ATUIN_BIN points at an atuin 18.24.x binary; skips otherwise.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { root, startWorker } from "./harness.mjs";
import { username } from "./client.mjs";
import { atuinHost } from "../atuin-host.mjs";

const run = promisify(execFile);
const ATUIN = process.env.ATUIN_BIN;
const skip = ATUIN ? false : "ATUIN_BIN is not set: skipping the atuin CLI compatibility check";
if (skip) console.log(`# ${skip}`);

let worker;
let scratch;

/** One atuin "host": its own HOME, config and data directories. */
const host = (name) => atuinHost(scratch, worker.url, name);

before(async () => {
  if (skip) return;
  worker = await startWorker();
  scratch = mkdtempSync(path.join(tmpdir(), "terrapin-atuin-"));
});
after(async () => {
  await worker?.dispose();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const commands = (out) => new Set(out.split("\n").map((l) => l.trim()).filter(Boolean));

test("atuin CLI: register, import, sync; second host pulls; delete and kv propagate", { skip, timeout: 600_000 }, async () => {
  const user = username("atuin");
  const password = "terrapin-atuin-pw";
  const a = host("host-a");
  const b = host("host-b");

  // host A: history to import
  const histfile = path.join(a.home, ".bash_history");
  const lines = [...Array.from({ length: 250 }, (_, i) => `echo terrapin-${i}`), "echo delete-me-please"];
  writeFileSync(histfile, lines.join("\n") + "\n");
  await a.atuin("register", "-u", user, "-e", `${user}@example.test`, "-p", password);
  await a.atuin("import", "bash", { HISTFILE: histfile });
  await a.atuin("sync");
  const key = (await a.atuin("key")).stdout.trim();
  assert.ok(key.length > 20, `key: ${key}`);

  // host B: log in with the key and pull
  await b.atuin("login", "-u", user, "-p", password, "-k", key);
  await b.atuin("sync");
  const onB = commands((await b.atuin("history", "list", "--cmd-only")).stdout);
  for (const l of lines) assert.ok(onB.has(l), `host B lacks ${l}`);

  // a delete and a kv set on A reach B
  await a.atuin("search", "--delete", "--search-mode", "full-text", "delete-me-please");
  await a.atuin("kv", "set", "-k", "greeting", "hello from A");
  await a.atuin("sync");
  await b.atuin("sync");
  const afterB = commands((await b.atuin("history", "list", "--cmd-only")).stdout);
  assert.ok(onB.has("echo delete-me-please"));
  assert.ok(!afterB.has("echo delete-me-please"), "the deleted command is still on host B");
  assert.ok(afterB.has("echo terrapin-8"));
  assert.equal((await b.atuin("kv", "get", "greeting")).stdout.trim(), "hello from A");

  // A third host on terrapin-core (tests/src/bin/terrapin-pull.rs) reads what atuin wrote,
  // with the 24-word phrase `atuin key` printed.
  await run("cargo", ["build", "-q", "-p", "terrapin-tests", "--bin", "terrapin-pull"], { cwd: root });
  const pulled = (await run(path.join(root, "target", "debug", "terrapin-pull"), [worker.url, user, password, key], { maxBuffer: 64 << 20 })).stdout;
  const rows = pulled.split("\n").filter(Boolean).map((l) => l.split("\t"));
  const history = new Set(rows.filter((r) => r[0] === "history").map((r) => r[1]));
  for (const l of lines.slice(0, -1)) assert.ok(history.has(l), `terrapin-core lacks ${l}`);
  assert.ok(!history.has("echo delete-me-please"), "terrapin-core still shows the deleted entry");
  assert.deepEqual(rows.filter((r) => r[0] === "kv"), [["kv", "default", "greeting", "hello from A"]]);

  // account management through the CLI
  await a.atuin("account", "change-password", "-c", password, "-n", "new-pw-2");
  const login = await fetch(`${worker.url}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: user, password: "new-pw-2" }) });
  assert.equal(login.status, 200);
  await a.atuin("account", "delete", "-p", "new-pw-2");
  assert.equal((await fetch(`${worker.url}/user/${user}`)).status, 404);
});
