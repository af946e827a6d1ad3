// The history viewer (www/dist) in headless Chromium against the real worker (workerd + local
// D1): register, seed, log in on a second profile, sync, search in every mode, filter, keyboard
// and copy, delete (seen by the first profile after its sync), import, stats, store, wrong
// password / wrong key / wrong passphrase / offline messages, log out. Screenshots go to
// tests/artifacts/www-*.png.
//   node --test tests/www/
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { artifacts, axeViolations, connect, kept, logOut, registerInViewer, setup, syncedStamp, waitSynced } from "./harness.mjs";

const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const PASSWORD = "correct horse battery";

// The seeded history: deterministic, spread over 30 days from 2026-10-01 (local time).
const BASE = new Date(2026, 9, 1, 8, 0).getTime();
const COMMANDS = ["git status", "git commit -m 'fix build'", "cargo test -p core", "ls -la", "docker ps", "npm run build", "kubectl get pods -n prod", "make test", "vim README.md", "git stash pop"];
const HOSTS = ["laptop", "server1", "ci-box"];
const CWDS = ["/home/alice/src", "/srv/app", "/tmp"];
function seedEntries() {
  const out = [];
  for (let i = 0; i < 240; i++) {
    out.push({
      command: COMMANDS[i % COMMANDS.length],
      timestamp: BASE + i * 3 * 3600_000,
      duration: (i % 13) * 250_000_000,
      exit: i % 11 === 0 ? 1 : i % 17 === 0 ? 2 : 0,
      cwd: CWDS[i % CWDS.length],
      session: `sess${i % 4}`,
      hostname: `${HOSTS[i % HOSTS.length]}:alice`,
    });
  }
  out.push({ command: "echo unique-marker-to-delete", timestamp: BASE + 5 * 3600_000 + 1, exit: 0, cwd: "/tmp", session: "sess9", hostname: "laptop:alice" });
  out.push({ command: "terraform plan -out=plan.tfplan", timestamp: BASE + 7 * 3600_000 + 1, exit: 0, cwd: "/srv/infra", session: "sess9", hostname: "laptop:alice" });
  return out;
}
const SEED = seedEntries();
const count = (f) => SEED.filter(f).length;

let env, alice, bob, username, key;

before(async () => {
  env = await setup();
  username = uniq("alice");
});
after(async () => {
  await env?.dispose();
});

const results = (page) => page.evaluate(() => Number(document.body.dataset.results));
const visibleCommands = (page) =>
  page.$$eval("#results .hrow", (rows) =>
    rows
      .map((r) => ({ i: Number(r.dataset.i), cmd: r.querySelector(".cmd").title, meta: r.querySelector(".meta").textContent }))
      .sort((a, b) => a.i - b.i),
  );
async function search(page, text, mode) {
  await page.selectOption("#mode", mode);
  await page.fill("#q", text);
  await page.waitForFunction((t) => document.querySelector("#q").value === t, text);
}

test("register in the app (server URL defaults to the serving origin), seed, sync up", async () => {
  alice = await env.profile();
  const { page } = alice;
  await page.locator("#view-connect").waitFor();
  assert.equal(await page.inputValue("#f-server"), env.site.url);
  await env.shot(page, "01-connect");
  key = await registerInViewer(page, { username, password: PASSWORD });
  // As `atuin key` prints it: 24 words, or base64 (--base64).
  assert.ok(key.trim().split(/\s+/).length === 24 || /^[A-Za-z0-9+/]+=*$/.test(key.trim()), `an Atuin key, got ${key}`);
  const since = await syncedStamp(page);
  const added = await page.evaluate(async (entries) => {
    const c = window.__terrapin.client;
    const n = await c.history.addMany(entries);
    await c.kv.set("env", "EDITOR", "hx");
    await c.kv.set("dotfiles", "alias.gs", "git status");
    return n;
  }, SEED);
  assert.equal(added, SEED.length);
  await page.click("#sync-btn");
  await waitSynced(page, since);
  assert.match(await page.textContent("#sync-status"), new RegExp(`Synced .*↑ ${SEED.length + 2}`));
});

test("log in on a second browser: wrong password, then the key; sync pulls everything", async () => {
  bob = await env.profile();
  const { page } = bob;
  await connect(page, { username, password: "not the password", key });
  await page.locator("#alert").waitFor({ state: "visible" });
  assert.match(await page.textContent("#alert-text"), /Wrong username or password/);
  await env.shot(page, "02-wrong-password");
  await connect(page, { username, password: PASSWORD, key });
  await page.locator("#view-app").waitFor();
  await waitSynced(page, 0);
  assert.match(await page.textContent("#sync-status"), /↓ 244|244 entries/);
  // As atuin: fuzzy, each distinct command once (its newest run), with its number of runs.
  const distinct = new Set(SEED.map((e) => e.command)).size;
  await page.waitForFunction((n) => Number(document.body.dataset.results) === n, distinct);
  assert.equal(await page.inputValue("#mode"), "fuzzy");
  assert.equal(await page.isChecked("#unique"), true);
  assert.equal(await page.textContent("#result-count"), `${distinct} distinct commands · ${SEED.length} entries`);
  const runs = await page.$$eval("#results .hrow", (rows) => Object.fromEntries(rows.map((r) => [r.querySelector(".cmd").title, Number(r.dataset.runs)])));
  assert.equal(runs["git status"], count((e) => e.command === "git status"));
  assert.equal(runs["terraform plan -out=plan.tfplan"], 1);
  // Every run: the toggle (remembered for this profile).
  await page.uncheck("#unique");
  await page.waitForFunction((n) => Number(document.body.dataset.results) === n, SEED.length);
  assert.equal(await page.textContent("#result-count"), `${SEED.length} entries`);
  const rows = await visibleCommands(page);
  assert.ok(rows.length > 5, "rows rendered");
  // Newest first.
  assert.equal(rows[0].cmd, SEED[239].command);
  await env.shot(page, "03-synced");
});

test("search as you type: prefix, full-text, fuzzy", async () => {
  const { page } = bob;
  await search(page, "git st", "prefix");
  assert.equal(await results(page), count((e) => e.command.startsWith("git st")));
  for (const r of await visibleCommands(page)) assert.ok(r.cmd.startsWith("git st"), r.cmd);
  await env.shot(page, "04-prefix");

  await search(page, "status", "prefix");
  assert.equal(await results(page), 0);
  assert.match(await page.textContent("#results"), /No matches/);

  await search(page, "TEST cargo", "full-text");
  assert.equal(await results(page), count((e) => e.command.includes("cargo") && e.command.includes("test")));
  for (const r of await visibleCommands(page)) assert.match(r.cmd, /cargo test/);
  await env.shot(page, "05-full-text");

  await search(page, "tfpln", "fuzzy");
  const fuzzy = await visibleCommands(page);
  assert.ok(fuzzy.length >= 1);
  assert.equal(fuzzy[0].cmd, "terraform plan -out=plan.tfplan");
  await env.shot(page, "06-fuzzy");
  await search(page, "", "full-text");
  assert.equal(await results(page), SEED.length);
});

test("filters: host, directory, exit status, session, date range", async () => {
  const { page } = bob;
  await page.click("#filters-toggle");
  await page.fill("#f-host", "server1");
  assert.equal(await results(page), count((e) => e.hostname.startsWith("server1:")));
  for (const r of await visibleCommands(page)) assert.match(r.meta, /server1$/);
  await page.fill("#f-exit", "1");
  assert.equal(await results(page), count((e) => e.hostname.startsWith("server1:") && e.exit === 1));
  await env.shot(page, "07-filter-host-exit");
  await page.click("#filters-clear");
  await page.fill("#f-cwd", "/srv/app");
  await page.fill("#f-session", "sess1");
  assert.equal(await results(page), count((e) => e.cwd === "/srv/app" && e.session === "sess1"));
  await page.click("#filters-clear");
  await page.fill("#f-after", "2026-10-05");
  await page.fill("#f-before", "2026-10-06");
  const lo = new Date(2026, 9, 5).getTime(), hi = new Date(2026, 9, 7).getTime();
  assert.equal(await results(page), count((e) => e.timestamp >= lo && e.timestamp < hi));
  await page.fill("#q", "git");
  assert.equal(await results(page), count((e) => e.timestamp >= lo && e.timestamp < hi && e.command.includes("git")));
  await page.click("#filters-clear");
  await page.fill("#q", "");
  await page.click("#filters-toggle");
  assert.equal(await results(page), SEED.length);
});

test("keyboard: arrows move the selection, Enter copies the command", async () => {
  const { page } = bob;
  await page.focus("#q");
  await search(page, "kubectl", "full-text");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowUp");
  const sel = await page.$eval('#results .hrow[aria-selected="true"]', (r) => Number(r.dataset.i));
  assert.equal(sel, 1);
  assert.equal(await page.getAttribute("#q", "aria-activedescendant"), "row-1");
  await page.keyboard.press("Enter");
  await page.locator("#toast.show").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "kubectl get pods -n prod");
  // Long lists scroll with the selection (virtualised: only a window of rows exists).
  await search(page, "", "full-text");
  await page.focus("#results");
  await page.keyboard.press("End");
  await page.locator(`#row-${SEED.length - 1}[aria-selected="true"]`).waitFor();
  const rendered = await page.$$eval("#results .hrow", (r) => r.length);
  assert.ok(rendered < 60, `virtualised: ${rendered} rows in the DOM`);
  await page.keyboard.press("Home");
});

test("delete with confirmation: the delete record reaches the server and the other browser", async () => {
  const { page } = bob;
  await search(page, "unique-marker", "full-text");
  assert.equal(await results(page), 1);
  const id = await page.$eval("#results .hrow", (r) => r.dataset.id);
  // Cancel first: nothing happens.
  await page.click("#results .hrow .btn[data-act=delete]");
  await page.locator("#confirm-dialog[open]").waitFor();
  await env.shot(page, "08-confirm-delete");
  await page.click("#confirm-cancel");
  assert.equal(await results(page), 1);
  const since = await syncedStamp(page);
  // Keyboard this time: Delete on the focused list, then confirm.
  await page.focus("#results");
  await page.keyboard.press("Delete");
  await page.locator("#confirm-dialog[open]").waitFor();
  await page.click("#confirm-ok");
  await page.waitForFunction(() => Number(document.body.dataset.results) === 0, null, { timeout: 15_000 }).catch(async (e) => {
    const state = await page.evaluate(() => ({
      results: document.body.dataset.results,
      alert: document.querySelector("#alert-text").textContent,
      status: document.querySelector("#sync-status").textContent,
      dialog: document.querySelector("#confirm-dialog").open,
      toast: document.querySelector("#toast").textContent,
      q: document.querySelector("#q").value,
      returnValue: document.querySelector("#confirm-dialog").returnValue,
      active: document.activeElement?.id,
    }));
    state.probe = await page.evaluate(async (id) => {
      const c = window.__terrapin.client;
      const timeout = (p) => Promise.race([p.then(() => "resolved", (e) => "rejected " + e.kind), new Promise((r) => setTimeout(() => r("hung 3s"), 3000))]);
      return { stillThere: c.history.get(id) !== undefined, status: await timeout(c.status()), kvSet: await timeout(c.kv.set("probe", "k", "v")), pendingDeletes: window.__terrapin.metrics.pendingDeletes };
    }, id);
    throw new Error(`${e.message}: ${JSON.stringify(state)}`);
  });
  await waitSynced(page, since);
  // The first browser (live) hears of the push, syncs by itself and loses the entry.
  await alice.page.waitForFunction((id) => window.__terrapin.client.history.get(id) === undefined, id, { timeout: 15_000 });
  await search(page, "", "full-text");
});

test("import a dropped zsh history file: a host named for this browser, synced", async () => {
  const { page } = bob;
  const zsh = [
    ": 1790000000:3;ssh deploy@prod-imported",
    ": 1790000100:0;echo first line \\",
    "second line",
    ": 1790000200:12;rsync -av ./imported-dir remote:/backup",
    "",
  ].join("\n");
  const since = await syncedStamp(page);
  // A real drop: DataTransfer with a File, dispatched on the page.
  const dt = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], ".zsh_history", { type: "text/plain" }));
    return dt;
  }, zsh);
  await page.dispatchEvent("main", "dragenter", { dataTransfer: dt });
  assert.equal(await page.isVisible("#drop-overlay"), true);
  await page.dispatchEvent("main", "drop", { dataTransfer: dt });
  await page.waitForFunction(() => document.body.dataset.imported === "3");
  await waitSynced(page, since);
  assert.match(await page.textContent("#import-result"), /Imported 3 commands/);
  await env.shot(page, "09-import");
  const hostname = await page.evaluate(() => {
    const c = window.__terrapin.client;
    return c.history.query({ text: "ssh deploy@prod-imported" }).entries[0].hostname;
  });
  assert.match(hostname, new RegExp(`^chromium-[0-9a-f]{6}:${username}$`));
  // The first browser (live) syncs by itself.
  await alice.page.waitForFunction(() => window.__terrapin.client.history.query({ text: "echo first line", mode: "prefix" }).total > 0, null, { timeout: 15_000 });
  const atAlice = await alice.page.evaluate(() => {
    const e = window.__terrapin.client.history.query({ text: "echo first line", mode: "prefix" }).entries[0];
    return e && { command: e.command, host: e.host, ts: e.timestamp };
  });
  assert.deepEqual(atAlice, { command: "echo first line \nsecond line", host: hostname.split(":")[0], ts: 1790000100_000 });
  await page.click("#tab-search");
  await search(page, "imported", "full-text");
  assert.equal(await results(page), 2);
  await search(page, "", "full-text");
});

test("import bash and fish files through the file picker", async () => {
  const { page } = bob;
  await page.click("#tab-import");
  const bash = "#1790001000\ngit pull --rebase\n#1790001060\nmake bash-imported\nls /bash-imported\n";
  const fish = "- cmd: fish-imported --flag\n  when: 1790002000\n- cmd: echo fish-imported\\nsecond\n  when: 1790002001\n  paths:\n    - foo\n";
  for (const [name, text, n] of [[".bash_history", bash, 3], ["fish_history", fish, 2]]) {
    const since = await syncedStamp(page);
    await page.evaluate(() => delete document.body.dataset.imported);
    await page.setInputFiles("#import-file", { name, mimeType: "text/plain", buffer: Buffer.from(text) });
    await page.waitForFunction((n) => document.body.dataset.imported === String(n), n);
    await waitSynced(page, since);
    assert.match(await page.textContent("#import-result"), new RegExp(`Imported ${n} commands from ${name}`));
  }
  const got = await page.evaluate(() => {
    const q = (text) => window.__terrapin.client.history.query({ text }).entries.map((e) => [e.command, e.timestamp]);
    return { bash: q("bash-imported"), fish: q("fish-imported") };
  });
  assert.deepEqual(got.bash[1], ["make bash-imported", 1790001060_000]);
  assert.equal(got.bash.length, 2);
  assert.deepEqual(got.fish.map(([c]) => c).sort(), ["echo fish-imported\nsecond", "fish-imported --flag"]);
  assert.ok(got.fish.some(([c, t]) => c === "fish-imported --flag" && t === 1790002000_000));
  await page.click("#tab-search");
});

test("a second tab on the same profile sees changes made in the first", async () => {
  // Without a passphrase the session and key live in the first tab's memory only: the second
  // tab reads the synced history from IndexedDB and follows the first tab's changes.
  const tab2 = await bob.context.newPage();
  await tab2.goto(bob.page.url());
  await tab2.locator("#view-app").waitFor();
  await tab2.waitForFunction(() => Number(document.body.dataset.results) > 0);
  await search(tab2, "second-tab-marker", "full-text");
  assert.equal(await results(tab2), 0);
  const since = await syncedStamp(bob.page);
  await bob.page.setInputFiles("#import-file", { name: "more_history", mimeType: "text/plain", buffer: Buffer.from("echo second-tab-marker\n") });
  await waitSynced(bob.page, since);
  await tab2.waitForFunction(() => Number(document.body.dataset.results) === 1, null, { timeout: 10_000 });
  await tab2.close();
  await bob.page.click("#tab-search");
});

test("stats: top commands, per day, success rate, busiest hours", async () => {
  const { page } = bob;
  await page.click("#tab-stats");
  const total = SEED.length - 1 + 3 + 3 + 2 + 1;
  await page.waitForFunction((n) => Number(document.body.dataset.stats) === n, total);
  for (const id of ["chart-top", "chart-success", "chart-days", "chart-hours"]) {
    assert.equal(await page.locator(`#${id} svg[role=img]`).count(), 1, id);
  }
  const top = await page.getAttribute("#chart-top svg", "aria-label");
  assert.match(top, /^Top commands: git 7\d/);
  assert.match(await page.getAttribute("#chart-success svg", "aria-label"), /Success rate \d+\.\d%/);
  assert.ok((await page.locator("#chart-days svg rect.bar").count()) >= 30);
  assert.equal(await page.locator("#chart-hours svg rect.bar").count(), 24);
  await env.shot(page, "10-stats");
  await page.emulateMedia({ colorScheme: "dark" });
  await env.shot(page, "11-stats-dark");
  await page.emulateMedia({ colorScheme: "light" });
});

test("store: status per host and tag, kv entries", async () => {
  const { page } = bob;
  await page.click("#tab-store");
  await page.locator("#status-table tbody tr td").first().waitFor();
  const rows = await page.$$eval("#status-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const hostIds = new Set(rows.map((r) => r[0]));
  assert.equal(hostIds.size, 2, JSON.stringify(rows));
  assert.ok(rows.some((r) => r[0].endsWith("(this browser)") && r[2] === "history" && r[3] !== "—"), JSON.stringify(rows));
  assert.ok(rows.some((r) => r[2] === "kv" && r[3] === "1"), JSON.stringify(rows));
  // Host ids named by the hostnames in their history: alice's browser wrote the seed.
  assert.ok(rows.some((r) => !r[0].endsWith("(this browser)") && r[1] === "laptop:alice, ci-box:alice, server1:alice"), JSON.stringify(rows));
  assert.ok(rows.some((r) => r[0].endsWith("(this browser)") && new RegExp(`^chromium-[0-9a-f]{6}:${username}$`).test(r[1])), JSON.stringify(rows));
  // The server's idx beside ours, all in sync after a sync.
  for (const r of rows) assert.deepEqual([r[4], r[5]], [r[3], "in sync"], JSON.stringify(rows));
  const kv = await page.$$eval("#kv-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepEqual(kv, [["dotfiles", "alias.gs", "git status"], ["env", "EDITOR", "hx"]]);
  await page.selectOption("#kv-ns", "env");
  assert.equal(await page.locator("#kv-table tbody tr").count(), 1);
  await env.shot(page, "12-store");
});

test("offline: a clear message, search keeps working", async () => {
  const { page, context } = bob;
  await page.click("#tab-search");
  await context.setOffline(true);
  try {
  await page.click("#sync-btn");
  await page.waitForFunction(() => /Offline/.test(document.querySelector("#sync-status").textContent), null, { timeout: 30_000 });
  assert.match(await page.textContent("#alert-text"), /Offline/);
  await search(page, "docker", "prefix");
  assert.equal(await results(page), count((e) => e.command.startsWith("docker")));
  await env.shot(page, "13-offline");
  // The app itself opens offline (service worker) with the synced history. The session and key
  // were held in memory only (no passphrase), so syncing now asks to log in again.
  await page.reload();
  await page.locator("#view-app").waitFor();
  await page.waitForFunction(() => Number(document.body.dataset.results) > 200);
  await page.waitForFunction(() => /log in/i.test(document.querySelector("#alert-text").textContent), null, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => !!navigator.serviceWorker.controller), true);
  } finally {
    await context.setOffline(false);
  }
  await search(page, "", "full-text");
});

test("wrong key: refused at sync with a clear message", async () => {
  const carol = await env.profile();
  const { page } = carol;
  const otherKey = await page.evaluate(() => window.__terrapin.generateKey());
  await connect(page, { username, password: PASSWORD, key: otherKey });
  await page.locator("#view-app").waitFor();
  await page.waitForFunction(() => document.body.dataset.syncError === "wrong_key", null, { timeout: 30_000 });
  assert.match(await page.textContent("#alert-text"), /Wrong key/);
  await env.shot(page, "14-wrong-key");
  // "Log in again" with the right key: same profile, the sync goes through.
  await page.click("#alert-relogin");
  await connect(page, { username, password: PASSWORD, key });
  await page.locator("#view-app").waitFor();
  // Unique commands by default: the entries are counted in the package.
  await page.waitForFunction(() => window.__terrapin.client?.history.count() > 200 && Number(document.body.dataset.results) > 10, null, { timeout: 30_000 });
  assert.equal(await page.isVisible("#alert"), false);
  await carol.context.close();
});

test("passphrase vault: locked after reload, wrong passphrase refused, then unlocked, online and offline", async () => {
  const dave = await env.profile({ viewport: { width: 390, height: 800 } });
  const { page } = dave;
  await connect(page, { username, password: PASSWORD, key, passphrase: "tortoise shell" });
  await page.locator("#view-app").waitFor();
  await waitSynced(page, 0);
  await page.reload();
  await page.locator("#view-unlock").waitFor();
  await page.fill("#f-unlock", "hare");
  await page.click("#unlock-form button[type=submit]");
  await page.waitForFunction(() => /Wrong passphrase/.test(document.querySelector("#alert-text").textContent), null, { timeout: 30_000 });
  await env.shot(page, "15-unlock-mobile");
  await page.fill("#f-unlock", "tortoise shell");
  await page.click("#unlock-form button[type=submit]");
  await page.locator("#view-app").waitFor();
  await page.waitForFunction(() => Number(document.body.dataset.results) > 0);
  await env.shot(page, "16-mobile");
  // Offline too: the service worker keeps the package's extras module (Argon2id) with the app.
  await page.waitForFunction(async () => {
    const keys = await (await caches.open("terrapin-www-v1")).keys();
    return keys.some((r) => /terrapin_extras_bg[^/]*\.wasm$/.test(r.url));
  }, null, { timeout: 30_000 });
  await dave.context.setOffline(true);
  try {
    await page.reload();
    await page.locator("#view-unlock").waitFor();
    await page.fill("#f-unlock", "tortoise shell");
    await page.click("#unlock-form button[type=submit]");
    await page.locator("#view-app").waitFor();
    await page.waitForFunction(() => Number(document.body.dataset.results) > 0);
  } finally {
    await dave.context.setOffline(false);
  }
  await dave.context.close();
});

test("accessibility: no serious or critical axe-core violations, light and dark", async () => {
  const { page } = bob;
  const found = {};
  const check = async (name) => {
    const v = await axeViolations(page);
    if (v.length) found[name] = v;
  };
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.click("#tab-search");
    await check(`${scheme} search`);
    await page.click("#filters-toggle");
    await check(`${scheme} filters`);
    await page.click("#filters-toggle");
    for (const tab of ["stats", "store", "import"]) {
      await page.click(`#tab-${tab}`);
      await check(`${scheme} ${tab}`);
    }
    await page.click("#tab-search");
    await page.click("#results .hrow .btn[data-act=delete]");
    await page.locator("#confirm-dialog[open]").waitFor();
    await check(`${scheme} delete dialog`);
    await page.click("#confirm-cancel");
  }
  await page.emulateMedia({ colorScheme: "light" });
  const fresh = await env.profile();
  await fresh.page.locator("#view-connect").waitFor();
  const v = await axeViolations(fresh.page);
  if (v.length) found.connect = v;
  await fresh.context.close();
  writeFileSync(path.join(artifacts, "www-axe.json"), JSON.stringify(found, null, 2));
  assert.deepEqual(found, {}, "see tests/artifacts/www-axe.json");
});

test("reload without a passphrase goes straight to the history; log out forgets everything", async () => {
  const { page } = bob;
  await page.selectOption("#mode", "prefix");
  await page.reload();
  await page.locator("#view-app").waitFor();
  await page.waitForFunction(() => Number(document.body.dataset.results) > 0);
  // The search mode and unique-or-all are remembered for this profile.
  assert.equal(await page.inputValue("#mode"), "prefix");
  assert.equal(await page.isChecked("#unique"), false);
  assert.equal(await page.evaluate(() => document.body.dataset.unique), "false");
  // A second tab holds the profile's database open: logging out still deletes it (IndexedDB
  // waits for every connection to close), and that tab leaves the account too.
  const tab2 = await bob.context.newPage();
  await tab2.goto(page.url());
  await tab2.locator("#view-app").waitFor();
  await logOut(page, [tab2]);
  assert.equal(await tab2.textContent("#toast"), "Logged out in another tab; local data deleted");
  assert.deepEqual(await kept(page), { dbs: [], settings: null, prefs: [] });
  await page.reload();
  await page.locator("#view-connect").waitFor();
  await alice.context.close();
  await bob.context.close();
});

test("Content-Security-Policy: scripts from the app's origin and its wasm only, and nothing in the whole suite violated it", async () => {
  // every page of the suite so far ran under the policy without a violation
  assert.deepEqual(env.csp, []);
  const { context, page } = await env.profile();
  await page.locator("#view-connect").waitFor();
  const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.doesNotMatch(policy, /unsafe-inline/);
  // an injected inline script does not run, and is reported
  const ran = await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__inline = 1";
    document.body.append(s);
    return window.__inline === 1;
  });
  assert.equal(ran, false);
  await page.waitForTimeout(100);
  assert.equal(env.csp.length, 1, env.csp.join("\n"));
  await context.close();
});
