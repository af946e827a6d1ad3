// The real atuin CLI against the worker: register, import history, sync; a second host logs in
// with the key and pulls everything; a history delete and a `kv set` on one host reach the
// other after both sync. Runs when ATUIN_BIN points at an atuin 18.24.x binary; skips otherwise.
//
// Then the CLI off the happy path (`store purge`, `store push --force`, `store pull --force`,
// `store rebuild`, `store rekey`, a 600 KB command, a 120 KB kv value, a password change on
// another host). Each scenario is one function run against Terrapin and, when ATUIN_SERVER_BIN
// points at atuin-server 18.24.x, against a real atuin-server started for it (SQLite): Terrapin
// must do at least what atuin-server does, as the user sees it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { root, startWorker } from "./harness.mjs";
import { username } from "./client.mjs";
import { atuinHost, startAtuinServer } from "../atuin-host.mjs";

const run = promisify(execFile);
const ATUIN = process.env.ATUIN_BIN;
const ATUIN_SERVER = process.env.ATUIN_SERVER_BIN;
const skip = ATUIN ? false : "ATUIN_BIN is not set: skipping the atuin CLI compatibility check";
if (skip) console.log(`# ${skip}`);
else if (!ATUIN_SERVER) console.log("# ATUIN_SERVER_BIN is not set: the off-happy-path scenarios run against Terrapin only, without atuin-server beside it");

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

// ---------------------------------------------------------------------------------------------
// Off the happy path, on both servers.

const SLOW = { skip, timeout: 1_800_000 };

/** The history `host` lists (commands only), as a set. */
async function history(host) {
  return commands((await host.atuin("history", "list", "--cmd-only")).stdout);
}

/** Runs `words` on `host` as its shell hooks do: `history start`, then `history end`. */
async function ran(host, ...words) {
  const id = (await host.atuin("history", "start", "--", ...words)).stdout.trim();
  assert.match(id, /^[0-9a-f-]{32,36}$/, `history start printed no id for ${words.join(" ").slice(0, 80)}`);
  await host.atuin("history", "end", id, "--exit", "0", "--duration", "1000000");
}

/** Imports `lines` into `host` as its bash history. */
async function importLines(host, lines) {
  const histfile = path.join(host.home, ".bash_history");
  writeFileSync(histfile, lines.join("\n") + "\n");
  await host.atuin("import", "bash", { HISTFILE: histfile });
}

/** The part of a failed command's stderr that atuin shows as its error (from `Error:` on). */
function said(error) {
  const err = String(error.stderr ?? error.message ?? error);
  const at = err.search(/^Error:/m);
  // Without the "Location:" of the source line that color-eyre adds.
  const text = (at >= 0 ? err.slice(at) : err).split(/\n\s*Location:/)[0].trim();
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}

/** A scenario's failure in a few lines: the command and what atuin said, or the assertion. */
function failure(error) {
  const message = String(error?.message ?? error);
  return error?.stderr !== undefined ? `${message.split("\n")[0]} ${said(error)}` : message.slice(0, 3000);
}

/** Runs an atuin command that may fail: `{ ok, stdout, stderr }` or `{ ok: false, said }`. */
async function attempt(host, ...args) {
  try {
    return { ok: true, ...(await host.atuin(...args)) };
  } catch (e) {
    return { ok: false, said: said(e), stderr: e.stderr ?? "" };
  }
}

/**
 * Runs `scenario(ctx, seen)` against Terrapin (the file's worker) and, when ATUIN_SERVER_BIN is set,
 * against a real atuin-server started here on its own SQLite database and stopped after. Each run
 * gets its own directory for its hosts, and `ctx` = `{ server, url, host(name), user, password,
 * register(host), login(host, key) }`. Both runs happen whatever the other's outcome; the test
 * then fails if either failed, saying which and what the CLI said. `compare(terrapin, anchor)`
 * gets what each run noted in its `seen` object, once both passed (`anchor` undefined without
 * ATUIN_SERVER_BIN).
 */
async function onEachServer(t, scenario, compare) {
  const servers = ATUIN_SERVER ? ["atuin-server", "terrapin"] : ["terrapin"];
  const outcome = {};
  for (const server of servers) {
    const dir = mkdtempSync(path.join(scratch, `${server}-`));
    let anchor;
    try {
      anchor = server === "atuin-server" ? await startAtuinServer(dir) : undefined;
      const url = anchor ? anchor.url : worker.url;
      const ctx = {
        server,
        url,
        host: (name) => atuinHost(dir, url, name),
        user: username("cli"),
        password: "terrapin-cli-pw",
        async register(h) {
          await h.atuin("register", "-u", ctx.user, "-e", `${ctx.user}@example.test`, "-p", ctx.password);
          return (await h.atuin("key")).stdout.trim();
        },
        login: (h, key, password = ctx.password) => h.atuin("login", "-u", ctx.user, "-p", password, "-k", key),
      };
      const seen = {};
      await scenario(ctx, seen);
      outcome[server] = { ok: true, value: seen };
    } catch (error) {
      outcome[server] = { ok: false, error };
    } finally {
      await anchor?.stop();
    }
    t.diagnostic(`${server}: ${outcome[server].ok ? "passed" : `FAILED: ${failure(outcome[server].error)}`}`);
  }
  const failed = servers.filter((s) => !outcome[s].ok);
  if (failed.length) {
    const note = failed.includes("atuin-server") ? "\n\n(atuin-server failed too: the scenario expects something atuin-server does not do)" : "";
    throw new Error(failed.map((s) => `on ${s}: ${outcome[s].error?.stack ?? outcome[s].error}`).join("\n\n") + note);
  }
  compare?.(outcome.terrapin.value, outcome["atuin-server"]?.value);
}

/**
 * What the server holds, as its API shows it (logged in over HTTP as `ctx.user`): the idx of
 * every record of every series, `{ "<host>/<tag>": [idx, …] }`.
 */
async function serverSeries(ctx) {
  const headers = { "Content-Type": "application/json", "Atuin-Version": "18.24.4" };
  const login = await fetch(`${ctx.url}/login`, { method: "POST", headers, body: JSON.stringify({ username: ctx.user, password: ctx.password }) });
  assert.equal(login.status, 200, "login over HTTP");
  const auth = { ...headers, Authorization: `Token ${(await login.json()).session}` };
  const get = async (route) => {
    const res = await fetch(`${ctx.url}${route}`, { headers: auth });
    assert.equal(res.status, 200, route);
    return res.json();
  };
  const series = {};
  for (const [h, tags] of Object.entries((await get("/api/v0/record")).hosts)) {
    for (const [tag, last] of Object.entries(tags)) {
      const idx = [];
      for (let start = 0; start <= last; ) {
        const page = await get(`/api/v0/record/next?host=${h}&tag=${encodeURIComponent(tag)}&start=${start}&count=100`);
        if (!page.length) break;
        idx.push(...page.map((r) => r.idx));
        start = page[page.length - 1].idx + 1;
      }
      series[`${h}/${tag}`] = idx;
    }
  }
  return series;
}

/** `lines` made distinct per scenario. */
const bashLines = (tag, n) => Array.from({ length: n }, (_, i) => `echo ${tag}-${i}`);

/** Registers host `a` on the scenario's server, imports `lines`, sets each of `kv`, and syncs;
 * returns the account's key. */
async function seeded(ctx, a, lines, kv = {}) {
  const key = await ctx.register(a);
  await importLines(a, lines);
  for (const [k, v] of Object.entries(kv)) await a.atuin("kv", "set", "-k", k, v);
  await a.atuin("sync");
  return key;
}

test("atuin CLI, both servers: store purge, then store push --force (gaps in a series); a second host gets everything readable", SLOW, async (t) => {
  await onEachServer(t, async (ctx) => {
    const a = ctx.host("a");
    const c = ctx.host("c");
    const b = ctx.host("b");
    const aLines = bashLines("purge-a", 20);
    const key = await seeded(ctx, a, aLines);

    // Host C, logged in with the account's key, writes 15 commands, the middle five while its key
    // file held another key (as a host set up with a wrong key would): its series holds idx 0-4
    // and 10-14 under the account's key, 5-9 under another. It syncs them up.
    await ctx.login(c, key);
    const other = ctx.host("z");
    await other.atuin("kv", "set", "-k", "seed", "a key for this host"); // makes z's own key
    const keyFile = path.join(c.data, "key");
    const rightKey = readFileSync(keyFile);
    const wrongKey = readFileSync(path.join(other.data, "key"));
    assert.notDeepEqual(wrongKey, rightKey);
    const cLines = bashLines("purge-c", 15);
    for (const [i, l] of cLines.entries()) {
      writeFileSync(keyFile, i >= 5 && i < 10 ? wrongKey : rightKey);
      await ran(c, l);
    }
    writeFileSync(keyFile, rightKey);
    await c.atuin("sync");

    // A pulls them, purges what it can't decrypt, and replaces the server's store with its own:
    // push --force uploads C's series as idx 0-4 and 10-14, in one batch, a gap inside it.
    await a.atuin("sync");
    const readable = [...aLines, ...cLines.slice(0, 5), ...cLines.slice(10)];
    assert.deepEqual([...(await history(a))].sort(), [...readable].sort(), "host A before the purge");
    const verify = await a.atuin("store", "verify");
    assert.match(verify.stdout + verify.stderr, /failed to verify/, "store verify on A should report the records it can't decrypt");
    await a.atuin("store", "purge");
    await a.atuin("store", "push", "--force");
    const held = Object.values(await serverSeries(ctx)).map((idx) => idx.join(",")).sort();
    const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    assert.deepEqual(held, [range(0, 19).join(","), [...range(0, 4), ...range(10, 14)].join(",")].sort(), "the server's series after push --force");
    await a.atuin("sync");

    // B, logged in with the key, gets every readable command and nothing else.
    await ctx.login(b, key);
    await b.atuin("sync");
    assert.deepEqual([...(await history(b))].sort(), [...readable].sort(), "host B after push --force");
    const bVerify = await b.atuin("store", "verify");
    assert.match(bVerify.stdout + bVerify.stderr, /verified OK/, "host B holds a record it can't decrypt");

    // The store stays usable: a new command on B reaches A.
    await ran(b, "echo purge-after");
    await b.atuin("sync");
    await a.atuin("sync");
    assert.ok((await history(a)).has("echo purge-after"), "host A lacks B's command after the push --force");
  });
});

test("atuin CLI, both servers: store pull --force replaces the local store; the host keeps syncing", SLOW, async (t) => {
  await onEachServer(t, async (ctx) => {
    const a = ctx.host("a");
    const b = ctx.host("b");
    const aLines = bashLines("pull-a", 30);
    const key = await seeded(ctx, a, aLines, { colour: "teal" });

    await ctx.login(b, key);
    for (const l of ["echo pull-b-0", "echo pull-b-1", "echo pull-b-2"]) await ran(b, l);
    await b.atuin("sync");
    await ran(b, "echo pull-b-3"); // not synced: pull --force drops its record, not its history
    await b.atuin("store", "pull", "--force");
    const onB = await history(b);
    for (const l of [...aLines, "echo pull-b-0", "echo pull-b-2", "echo pull-b-3"]) assert.ok(onB.has(l), `host B lacks ${l} after pull --force`);
    assert.equal((await b.atuin("kv", "get", "colour")).stdout.trim(), "teal");

    // B's next sync puts the dropped command back into its store and up; new commands follow.
    await b.atuin("sync");
    await ran(b, "echo pull-b-4");
    await b.atuin("sync");
    await a.atuin("sync");
    const onA = await history(a);
    for (const l of ["echo pull-b-0", "echo pull-b-3", "echo pull-b-4"]) assert.ok(onA.has(l), `host A lacks ${l}`);
  });
});

test("atuin CLI, both servers: store rebuild history and kv rebuild from the record store", SLOW, async (t) => {
  await onEachServer(t, async (ctx) => {
    const a = ctx.host("a");
    const b = ctx.host("b");
    const aLines = [...bashLines("rebuild-a", 40), "echo rebuild-delete-me"];
    const key = await ctx.register(a);
    await importLines(a, aLines);
    await a.atuin("kv", "set", "-k", "editor", "hx");
    await a.atuin("kv", "set", "-k", "pager", "less");
    await a.atuin("kv", "delete", "pager");
    await a.atuin("sync");
    await a.atuin("search", "--delete", "--search-mode", "full-text", "rebuild-delete-me");
    await a.atuin("sync");

    await ctx.login(b, key);
    await b.atuin("sync");
    const expected = aLines.slice(0, -1);
    assert.deepEqual([...(await history(b))].sort(), [...expected].sort(), "host B after sync");

    // B loses its history and kv databases; the record store rebuilds them.
    for (const f of ["history.db", "kv.db"]) for (const x of ["", "-wal", "-shm"]) rmSync(path.join(b.data, f + x), { force: true });
    await b.atuin("store", "rebuild", "history");
    await b.atuin("kv", "rebuild");
    assert.deepEqual([...(await history(b))].sort(), [...expected].sort(), "host B after store rebuild history");
    assert.equal((await b.atuin("kv", "get", "editor")).stdout.trim(), "hx");
    assert.equal((await b.atuin("kv", "get", "pager")).stdout.trim(), "");

    // B keeps syncing both ways.
    await ran(b, "echo rebuild-from-b");
    await b.atuin("sync");
    await ran(a, "echo rebuild-from-a");
    await a.atuin("sync");
    await b.atuin("sync");
    assert.ok((await history(a)).has("echo rebuild-from-b"));
    assert.ok((await history(b)).has("echo rebuild-from-a"));
  });
});

test("atuin CLI, both servers: store rekey, then push --force; a host logs in with the new key; an old one rekeys to it", SLOW, async (t) => {
  await onEachServer(
    t,
    async (ctx, seen) => {
      const a = ctx.host("a");
      const old = ctx.host("old");
      const fresh = ctx.host("fresh");
      const aLines = bashLines("rekey-a", 25);
      const key = await seeded(ctx, a, aLines, { shell: "fish" });
      await ctx.login(old, key);
      await ran(old, "echo rekey-from-old");
      await old.atuin("sync");
      await a.atuin("sync");

      await a.atuin("store", "rekey");
      const newKey = (await a.atuin("key")).stdout.trim();
      assert.notEqual(newKey, key);
      // The server still holds the records under the old key: what does a plain sync do now?
      seen.syncAfterRekey = await attempt(a, "sync");
      await a.atuin("store", "push", "--force");
      await a.atuin("sync");

      // A new host with the new key gets everything.
      await ctx.login(fresh, newKey);
      await fresh.atuin("sync");
      const all = [...aLines, "echo rekey-from-old"];
      assert.deepEqual([...(await history(fresh))].sort(), [...all].sort(), "the host logged in with the new key");
      assert.equal((await fresh.atuin("kv", "get", "shell")).stdout.trim(), "fish");

      // The host with the old key is told, then follows the advice and rekeys to the new key.
      seen.oldKeySync = await attempt(old, "sync");
      assert.ok(!seen.oldKeySync.ok, "a host with the old key synced");
      assert.match(seen.oldKeySync.said, /key/i);
      await old.atuin("store", "rekey", newKey);
      await old.atuin("sync");
      await ran(old, "echo rekey-old-again");
      await old.atuin("sync");
      await fresh.atuin("sync");
      assert.ok((await history(fresh)).has("echo rekey-old-again"), "the rekeyed old host's command did not arrive");
    },
    (terrapin, anchor) => {
      for (const [name, s] of [["atuin-server", anchor], ["Terrapin", terrapin]]) {
        if (s) t.diagnostic(`${name}: sync right after rekey ${s.syncAfterRekey.ok ? "works" : `fails: ${s.syncAfterRekey.said}`}`);
        if (s) t.diagnostic(`${name}: sync on the host with the old key fails: ${s.oldKeySync.said}`);
      }
      if (anchor?.syncAfterRekey.ok) assert.ok(terrapin.syncAfterRekey.ok, `sync after rekey works on atuin-server but not on Terrapin: ${terrapin.syncAfterRekey.said}`);
    },
  );
});

test("atuin CLI, both servers: a 600 KB command syncs and reads back on a second host", SLOW, async (t) => {
  await onEachServer(t, async (ctx) => {
    const a = ctx.host("a");
    const b = ctx.host("b");
    const key = await ctx.register(a);
    // One argument holds at most 128 KiB, so the command is five words of 120,000 characters.
    const words = Array.from({ length: 5 }, (_, w) => `w${w}:` + Array.from({ length: 14_000 }, (_, i) => String(i % 10_000).padStart(9, "-")).join("").slice(0, 119_997));
    const big = words.join(" ");
    assert.equal(big.length, 600_004);
    await ran(a, "echo", "before-big");
    await ran(a, ...words);
    await ran(a, "echo", "after-big");
    assert.ok((await history(a)).has(big), "host A did not record the 600 KB command");
    await a.atuin("sync");

    await ctx.login(b, key);
    await b.atuin("sync");
    const onB = await history(b);
    assert.ok(onB.has(big), "host B lacks the 600 KB command");
    assert.ok(onB.has("echo before-big") && onB.has("echo after-big"));
  });
});

test("atuin CLI, both servers: a 120 KB kv value syncs and reads back with kv get on a second host", SLOW, async (t) => {
  await onEachServer(t, async (ctx) => {
    const a = ctx.host("a");
    const b = ctx.host("b");
    const key = await ctx.register(a);
    const value = Array.from({ length: 14_000 }, (_, i) => `v${String(i).padStart(8, "0")}`).join("").slice(0, 120_000);
    assert.equal(value.length, 120_000);
    await a.atuin("kv", "set", "-k", "big", value);
    await a.atuin("kv", "set", "-k", "small", "after the big one");
    await a.atuin("sync");

    await ctx.login(b, key);
    await b.atuin("sync");
    assert.equal((await b.atuin("kv", "get", "big")).stdout.replace(/\n$/, ""), value, "host B's kv value differs");
    assert.equal((await b.atuin("kv", "get", "small")).stdout.trim(), "after the big one");
  });
});

test("atuin CLI, both servers: change-password on host A, then host B's next sync; B logs in again and syncs", SLOW, async (t) => {
  await onEachServer(
    t,
    async (ctx, seen) => {
      const a = ctx.host("a");
      const b = ctx.host("b");
      const key = await seeded(ctx, a, bashLines("pw-a", 10));
      await ctx.login(b, key);
      await b.atuin("sync");

      const newPassword = "terrapin-cli-pw-2";
      await a.atuin("account", "change-password", "-c", ctx.password, "-n", newPassword);
      await ran(a, "echo pw-after-change");
      await a.atuin("sync"); // the host that changed the password keeps its session

      seen.bSync = await attempt(b, "sync");
      if (!seen.bSync.ok) {
        // The user must learn that the session is the problem (atuin-server, for a session it
        // does not know: "403 Forbidden - session not found").
        assert.match(seen.bSync.said, /session/i, `B's failed sync does not say why: ${seen.bSync.said}`);
        // …and what to do about it (atuin's login alone does nothing while a session is saved).
        if (ctx.server === "terrapin") assert.match(seen.bSync.said, /atuin logout`, then `atuin login/, seen.bSync.said);
        seen.bSyncAgain = await attempt(b, "sync");
        seen.bLogin = await attempt(b, "login", "-u", ctx.user, "-p", newPassword, "-k", key);
        seen.bSyncAfterLogin = await attempt(b, "sync");
      }
      // Logging in again (out first: atuin's login does nothing while a session is saved).
      await b.atuin("logout");
      await ctx.login(b, key, newPassword);
      await b.atuin("sync");
      assert.ok((await history(b)).has("echo pw-after-change"), "host B lacks A's command after logging in again");
      await ran(b, "echo pw-from-b");
      await b.atuin("sync");
      await a.atuin("sync");
      assert.ok((await history(a)).has("echo pw-from-b"));
    },
    (terrapin, anchor) => {
      const printed = (o) => `${o.stdout}\n${o.stderr}`.trim().split("\n").filter(Boolean).slice(-3).join(" / ");
      const show = (o) => (o ? (o.ok ? `ok${printed(o) ? ` (it says: ${printed(o)})` : ""}` : `fails: ${o.said}`) : "not run");
      for (const [name, s] of [["atuin-server", anchor], ["Terrapin", terrapin]]) {
        if (!s) continue;
        t.diagnostic(`${name}: B's sync after A's password change: ${show(s.bSync)}`);
        if (s.bSyncAgain) t.diagnostic(`${name}: B's second sync: ${show(s.bSyncAgain)}; \`atuin login\` with the new password: ${show(s.bLogin)}; sync after it: ${show(s.bSyncAfterLogin)}`);
      }
      if (anchor && !anchor.bSync.ok) assert.ok(terrapin.bSync.ok || /session/i.test(terrapin.bSync.said));
    },
  );
});
