// The viewer's Scripts, Aliases & vars and kv views (issue 26) in headless Chromium against the
// real worker: an account with the key of tests/fixtures/atuin18 gets the records the real
// atuin 18.24.4 wrote (scripts, kv, legacy aliases and vars) with `client.importRecords` and
// syncs them up; the views show them as the CLI lists them. A script is made, edited, copied,
// deleted and brought back with Undo in the viewer; a second browser profile (and a second tab
// of it) sees every change arrive by sync. A kv value is set and deleted from the Store tab.
// The shell lines (www/src/shell.ts) are checked against what atuin-dotfiles writes.
// Screenshots: tests/artifacts/www-17..23-*.png.
//   node --test tests/www/stores.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { axeViolations, connect, registerInViewer, root, suiteEnv, syncedStamp, uniq, waitSynced } from "./harness.mjs";

const fixture = path.join(root, "tests", "fixtures", "atuin18");
const phrase = readFileSync(path.join(fixture, "key-phrase.txt"), "utf8").trim();
const recordsJson = readFileSync(path.join(fixture, "records.json"), "utf8");
/** `atuin dotfiles alias list` / `var list` of the fixture: `name=value` lines, `export ` for exported vars. */
const cliAliases = readFileSync(path.join(fixture, "expected-aliases.txt"), "utf8").trim().split("\n");
const cliVars = readFileSync(path.join(fixture, "expected-vars.txt"), "utf8").trim().split("\n");
const PASSWORD = "correct horse battery";
const username = uniq("stores");

const env = suiteEnv();
let alice, bob, bobTab2;

/** The scripts listed: name, shebang, tags, description, the run line (in order). */
const listed = (page) =>
  page.$$eval("#scripts-list li.script", (lis) =>
    lis.map((li) => ({
      name: li.querySelector(".script-name").textContent,
      shebang: li.querySelector(".shebang").textContent,
      tags: [...li.querySelectorAll(".tag")].map((t) => t.textContent),
      description: li.querySelector(".script-desc").textContent,
      run: li.querySelector(".runline").textContent,
      peek: li.querySelector(".script-peek").textContent,
    })),
  );
const names = async (page) => (await listed(page)).map((s) => s.name);
const kvRows = (page) => page.$$eval("#kv-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
const script = (page, name) => page.evaluate((n) => window.__terrapin.client.scripts.get(n) ?? null, name);
/** Waits until the scripts `page` lists satisfy `want` (polled; a second browser gets them by sync). */
async function waitListed(page, want, what, timeout = 30_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const l = await listed(page);
    if (want(l)) return l;
    if (Date.now() > end) throw new Error(`${what}: the list is ${JSON.stringify(l)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("shell lines: aliases and variables quoted as atuin-dotfiles wrote them for bash and zsh; the run line", async () => {
  // www/src/shell.ts has no DOM: loaded here as it is, its types stripped.
  const shellTs = readFileSync(path.join(root, "www", "src", "shell.ts"), "utf8");
  const src = ts.transpileModule(shellTs, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const { aliasLine, varLine, runLine } = await import(`data:text/javascript;base64,${Buffer.from(src).toString("base64")}`);
  // One pair of quotes around the value dropped (either kind, or backticks), then single quotes.
  for (const [value, line] of [
    ["ls -la", "alias x='ls -la'"],
    ["'git status'", "alias x='git status'"],
    ['"git status"', "alias x='git status'"],
    ["`pwd`", "alias x='pwd'"],
    ["'unclosed", "alias x=''unclosed'"],
    ["'", "alias x='''"],
    ["''", "alias x=''"],
    ["", "alias x=''"],
  ]) assert.equal(aliasLine({ name: "x", value }), line, JSON.stringify(value));
  // Bare when only letters and digits of any script and `_ - / .`; else double quotes with
  // `\ " $ backtick` escaped (the same values through atuin-dotfiles 18.24.4's Rust gave these).
  for (const [value, shown] of [
    ["hx", "hx"],
    ["", ""],
    ["café", "café"],
    ["½٣Ⅻ", "½٣Ⅻ"],
    ["ß-_/.", "ß-_/."],
    ["日本", "日本"],
    ["a b", '"a b"'],
    ['a`b\\c$d"e', '"a\\`b\\\\c\\$d\\"e"'],
    ["x:y", '"x:y"'],
  ]) {
    assert.equal(varLine({ name: "V", value, export: true }), `export V=${shown}`, JSON.stringify(value));
    assert.equal(varLine({ name: "V", value, export: false }), `V=${shown}`, JSON.stringify(value));
  }
  assert.equal(runLine("pods"), "atuin scripts run pods");
  assert.equal(runLine("k8s/pods-v2.sh"), "atuin scripts run k8s/pods-v2.sh");
  assert.equal(runLine("my script"), "atuin scripts run 'my script'");
  assert.equal(runLine("it's"), "atuin scripts run 'it'\\''s'");
});

test("the CLI's records (scripts, kv, legacy aliases and vars) imported and synced up", async () => {
  alice = await env.profile();
  const { page } = alice;
  await registerInViewer(page, { username, password: PASSWORD, key: phrase });
  const since = await syncedStamp(page);
  const n = await page.evaluate((json) => window.__terrapin.client.importRecords(json), recordsJson);
  assert.equal(n, 20);
  await page.click("#sync-btn");
  await waitSynced(page, since);
  // The CLI host's four series, whole, on the server.
  const host = readFileSync(path.join(fixture, "host_id"), "utf8").trim();
  const remote = await page.evaluate(async () => (await window.__terrapin.client.remoteStatus()).hosts);
  assert.deepEqual(remote[host], { script: 5, kv: 4, "config-shell-alias": 4, "dotfiles-var": 3 });
});

test("Scripts tab: the CLI's scripts as `atuin scripts list` and `get` show them; search", async () => {
  const { page } = alice;
  // Arrow keys along the tabs, as the others.
  await page.focus("#tab-search");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-scripts");
  assert.equal(await page.isVisible("#panel-scripts"), true);
  await page.waitForFunction(() => document.body.dataset.scripts === "2");
  // `atuin scripts list`: ship [tags: ops, web] (Ship the site), greet (no tags); sorted by name.
  assert.deepEqual(await listed(page), [
    { name: "greet", shebang: "#!python3", tags: [], description: "No description", run: "atuin scripts run greet", peek: 'print("grüße, 世界 🐢")' },
    { name: "ship", shebang: "#!bash", tags: ["ops", "web"], description: "Ship the site", run: "atuin scripts run ship", peek: 'rsync -a --delete site/ web:/srv/www/\necho "shipped {{ env }}"' },
  ]);
  assert.equal(await page.textContent("#scripts-count"), "2 scripts");
  await env.shot(page, "17-scripts");
  // Search: body, tag, description, every word somewhere; none.
  for (const [q, want] of [["rsync", ["ship"]], ["OPS", ["ship"]], ["site ship", ["ship"]], ["世界", ["greet"]], ["print site", []], ["", ["greet", "ship"]]]) {
    await page.fill("#scripts-q", q);
    assert.deepEqual(await names(page), want, `search ${JSON.stringify(q)}`);
  }
  await page.fill("#scripts-q", "nothing-like-this");
  assert.match(await page.textContent("#scripts-list"), /No script matches/);
  assert.equal(await page.textContent("#scripts-count"), "0 of 2 scripts");
  // Esc in the search clears it.
  await page.focus("#scripts-q");
  await page.keyboard.press("Escape");
  assert.equal(await page.inputValue("#scripts-q"), "");
  assert.deepEqual(await names(page), ["greet", "ship"]);
});

let podsId;
test("a script made, edited and copied in the viewer, with the keyboard", async () => {
  const { page } = alice;
  await page.click("#script-new");
  assert.equal(await page.evaluate(() => document.activeElement.id), "sf-name");
  // Save without a name: a clear message, the name field focused, nothing written.
  await page.click("#sf-save");
  assert.equal(await page.textContent("#sf-error"), "A script needs a name.");
  assert.equal(await page.getAttribute("#sf-name", "aria-invalid"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "sf-name");
  // A name another script has.
  await page.fill("#sf-name", "ship");
  await page.click("#sf-save");
  assert.equal(await page.textContent("#sf-error"), "A script named “ship” already exists.");
  await page.fill("#sf-name", "pods");
  // Typing clears the message.
  assert.equal(await page.isVisible("#sf-error"), false);
  assert.equal(await page.getAttribute("#sf-name", "aria-invalid"), null);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "sf-shebang");
  await page.keyboard.type("bash");
  await page.fill("#sf-description", "List the pods");
  await page.fill("#sf-tags", "k8s, ops, k8s,  ");
  await page.fill("#sf-body", 'kubectl get pods -n "$1"\necho pods-v1');
  await env.shot(page, "18-script-editor");
  await page.focus("#sf-body");
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => document.body.dataset.scriptEditor === undefined);
  const made = await script(page, "pods");
  assert.ok(made, "pods saved");
  podsId = made.id;
  assert.deepEqual({ ...made, id: undefined }, { id: undefined, name: "pods", description: "List the pods", shebang: "bash", tags: ["k8s", "ops"], script: 'kubectl get pods -n "$1"\necho pods-v1' });
  assert.deepEqual(await names(page), ["greet", "pods", "ship"]);
  // The focus is back on the script saved.
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "pods");

  // Edit: Enter in the search opens the first match; the body is focused; Esc with changes asks.
  await page.fill("#scripts-q", "pods");
  await page.press("#scripts-q", "Enter");
  assert.equal(await page.textContent("#script-form-title"), "Edit pods");
  assert.equal(await page.evaluate(() => document.activeElement.id), "sf-body");
  await page.fill("#sf-body", "echo pods-v2");
  await page.keyboard.press("Escape");
  await page.locator("#confirm-dialog[open]").waitFor();
  await page.click("#confirm-cancel");
  assert.equal(await page.isVisible("#script-form"), true, "still editing");
  await page.fill("#sf-description", "List the pods (v2)");
  await page.click("#sf-save");
  await page.waitForFunction(() => document.body.dataset.scriptEditor === undefined);
  const edited = await script(page, "pods");
  assert.equal(edited.id, podsId, "an edit keeps the id");
  assert.deepEqual([edited.script, edited.description, edited.tags], ["echo pods-v2", "List the pods (v2)", ["k8s", "ops"]]);
  await page.fill("#scripts-q", "");

  // Copy the run line.
  await page.click('#scripts-list li.script:has(.script-name:text-is("pods")) [data-act=copy]');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "atuin scripts run pods");
  // Arrow keys along the list.
  await page.focus("#scripts-q");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "greet");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "pods");
});

test("a second browser profile gets the script by sync; a second tab follows this tab's edits", async () => {
  const since = await syncedStamp(alice.page);
  await alice.page.click("#sync-btn");
  await waitSynced(alice.page, since);
  bob = await env.profile();
  await connect(bob.page, { username, password: PASSWORD, key: phrase });
  await bob.page.locator("#view-app").waitFor();
  await waitSynced(bob.page, 0);
  await bob.page.click("#tab-scripts");
  await waitListed(bob.page, (l) => l.map((s) => s.name).join() === "greet,pods,ship", "bob's scripts");
  const got = await script(bob.page, "pods");
  assert.deepEqual(got, await script(alice.page, "pods"));
  // A second tab of bob's profile, on the Scripts tab.
  bobTab2 = await bob.context.newPage();
  await bobTab2.goto(bob.page.url());
  await bobTab2.locator("#view-app").waitFor();
  await bobTab2.click("#tab-scripts");
  await waitListed(bobTab2, (l) => l.length === 3, "bob's second tab");
  // Bob edits in his first tab: his second tab shows it at once (the package's `changed`),
  // alice's viewer after the push (live).
  await bob.page.click('#scripts-list li.script:has(.script-name:text-is("pods")) [data-act=edit]');
  await bob.page.fill("#sf-body", "echo pods-v3");
  await bob.page.click("#sf-save");
  await waitListed(bobTab2, (l) => l.some((s) => s.name === "pods" && s.peek === "echo pods-v3"), "bob's second tab after the edit");
  await waitListed(alice.page, (l) => l.some((s) => s.name === "pods" && s.peek === "echo pods-v3"), "alice after bob's edit");
  assert.equal((await script(alice.page, "pods")).id, podsId);
});

test("delete with undo: the script goes, Undo brings it back, everywhere", async () => {
  const { page } = alice;
  const before = await script(page, "pods");
  await page.focus('#scripts-list li.script:has(.script-name:text-is("pods")) .script-name');
  await page.keyboard.press("Delete");
  await page.locator("#scripts-undo").waitFor();
  assert.deepEqual(await names(page), ["greet", "ship"]);
  assert.equal(await script(page, "pods"), null);
  assert.equal(await page.textContent("#scripts-undo-text"), "Deleted pods.");
  // The focus moved to the script now in its place.
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "ship");
  await env.shot(page, "19-script-deleted");
  await waitListed(bob.page, (l) => l.map((s) => s.name).join() === "greet,ship", "bob after the delete");
  await page.click("#scripts-undo-btn");
  await page.locator("#scripts-undo").waitFor({ state: "hidden" });
  const back = await script(page, "pods");
  assert.deepEqual(back, before, "every field back, the id too");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "pods");
  await waitListed(bob.page, (l) => l.some((s) => s.name === "pods" && s.peek === "echo pods-v3"), "bob after the undo");
  assert.deepEqual(await script(bob.page, "pods"), back);
  // Deleting from the editor, then dismissing the undo bar: gone for good.
  await page.click('#scripts-list li.script:has(.script-name:text-is("pods")) [data-act=edit]');
  await page.click("#sf-delete");
  await page.locator("#scripts-undo").waitFor();
  assert.equal(await page.isVisible("#script-form"), false);
  await page.click("#scripts-undo-close");
  assert.deepEqual(await names(page), ["greet", "ship"]);
  await waitListed(bob.page, (l) => l.map((s) => s.name).join() === "greet,ship", "bob after the second delete");
});

test("Store tab: kv per namespace; set and delete a value, seen by the other profile", async () => {
  const { page } = alice;
  await page.click("#tab-store");
  await page.locator("#kv-table tbody tr td").first().waitFor();
  // The CLI's `atuin kv` values (tests/fixtures/atuin18/expected-kv.tsv).
  assert.deepEqual(await kvRows(page), [["café", "clé", "naïve ☕"], ["default", "editor", "helix"]]);
  await page.selectOption("#kv-ns", "default");
  assert.deepEqual(await kvRows(page), [["default", "editor", "helix"]]);
  await page.selectOption("#kv-ns", "");
  // A key without one: a clear message.
  await page.fill("#kv-f-ns", "env");
  await page.click("#kv-set");
  assert.equal(await page.textContent("#kv-error"), "A kv entry needs a key.");
  assert.equal(await page.evaluate(() => document.activeElement.id), "kv-f-key");
  await page.fill("#kv-f-key", "EDITOR");
  await page.fill("#kv-f-value", "nvim --clean");
  assert.equal(await page.isDisabled("#kv-delete"), true, "nothing to delete yet");
  await page.press("#kv-f-value", "Control+Enter");
  await page.waitForFunction(() => [...document.querySelectorAll("#kv-table td")].some((td) => td.textContent === "nvim --clean"));
  assert.deepEqual(await kvRows(page), [["café", "clé", "naïve ☕"], ["default", "editor", "helix"], ["env", "EDITOR", "nvim --clean"]]);
  assert.equal(await page.evaluate(() => window.__terrapin.client.kv.get("env", "EDITOR")), "nvim --clean");
  // The CLI's value, changed: the key opens it in the form.
  await page.click('#kv-table button[aria-label="Edit editor in default"]');
  assert.deepEqual([await page.inputValue("#kv-f-ns"), await page.inputValue("#kv-f-key"), await page.inputValue("#kv-f-value")], ["default", "editor", "helix"]);
  assert.equal(await page.evaluate(() => document.activeElement.id), "kv-f-value");
  await page.fill("#kv-f-value", "hx");
  await page.click("#kv-set");
  await page.waitForFunction(() => [...document.querySelectorAll("#kv-table td")].some((td) => td.textContent === "hx"));
  await env.shot(page, "20-kv");
  await bob.page.click("#tab-store");
  await bob.page.waitForFunction(() => [...document.querySelectorAll("#kv-table td")].some((td) => td.textContent === "nvim --clean"), null, { timeout: 30_000 });
  assert.deepEqual(await kvRows(bob.page), [["café", "clé", "naïve ☕"], ["default", "editor", "hx"], ["env", "EDITOR", "nvim --clean"]]);
  // Delete, confirmed.
  await page.click('#kv-table button[aria-label="Edit EDITOR in env"]');
  assert.equal(await page.isDisabled("#kv-delete"), false);
  await page.click("#kv-delete");
  await page.locator("#confirm-dialog[open]").waitFor();
  assert.match(await page.textContent("#confirm-cmd"), /env · EDITOR = nvim --clean/);
  await page.click("#confirm-ok");
  await page.waitForFunction(() => ![...document.querySelectorAll("#kv-table td")].some((td) => td.textContent === "nvim --clean"));
  assert.equal(await page.evaluate(() => window.__terrapin.client.kv.get("env", "EDITOR") ?? null), null);
  await bob.page.waitForFunction(() => ![...document.querySelectorAll("#kv-table td")].some((td) => td.textContent === "nvim --clean"), null, { timeout: 30_000 });
  assert.deepEqual(await kvRows(bob.page), [["café", "clé", "naïve ☕"], ["default", "editor", "hx"]]);
});

test("Aliases & vars: the legacy stores as a shell got them, and as `atuin dotfiles … list` lists them", async () => {
  for (const p of [alice.page, bob.page]) {
    await p.click("#tab-dotfiles");
    await p.waitForFunction(() => document.body.dataset.dotfiles !== undefined);
    // atuin-dotfiles: `alias NAME='value'`; `export NAME=value`, double-quoted when it has more
    // than letters, digits and `_ - / .` (`\ " $ \`` escaped).
    assert.equal(await p.textContent("#aliases-sh"), "alias k='kubectl --context prod'\nalias ll='ls -la --color=auto'");
    assert.equal(await p.textContent("#vars-sh"), 'export EDITOR=hx\nPROMPT_MODE="fancy \\"quoted\\" \\$x"');
    assert.equal(await p.textContent("#aliases-count"), "(2)");
    // The same names and values as the CLI listed.
    const aliases = await p.evaluate(() => window.__terrapin.client.aliases.list());
    assert.deepEqual(aliases.map((a) => `${a.name}=${a.value}`), cliAliases);
    const vars = await p.evaluate(() => window.__terrapin.client.vars.list());
    assert.deepEqual(vars.map((v) => `${v.export ? "export " : ""}${v.name}=${v.value}`), cliVars);
  }
  await alice.page.click("#aliases-copy");
  assert.equal(await alice.page.evaluate(() => navigator.clipboard.readText()), "alias k='kubectl --context prod'\nalias ll='ls -la --color=auto'");
  await env.shot(alice.page, "21-aliases-vars");
  await alice.page.emulateMedia({ colorScheme: "dark" });
  await env.shot(alice.page, "22-aliases-vars-dark");
  await alice.page.emulateMedia({ colorScheme: "light" });
});

/** Waits for the message toast to have faded out (axe would check it half-faded). */
async function noToast(page) {
  await page.waitForFunction(() => !document.querySelector("#toast.show"));
  await page.waitForTimeout(300);
}

/** Reloads `page` and waits for its scripts and dotfiles views to list the fixture's again. */
async function reloadViews(page, who) {
  await page.reload();
  await page.locator("#view-app").waitFor();
  await page.click("#tab-scripts");
  await waitListed(page, (l) => l.map((s) => s.name).join() === "greet,ship", who);
  await page.click("#tab-dotfiles");
  await page.waitForFunction(() => document.body.dataset.dotfiles === "2/2");
}

test("after a reload the views read the stores kept in IndexedDB", async () => {
  const { page } = alice;
  await reloadViews(page, "alice after a reload");
  assert.equal(await page.textContent("#aliases-sh"), "alias k='kubectl --context prod'\nalias ll='ls -la --color=auto'");
});

test("the new views pass axe (no serious or critical violations), light and dark, on a phone too", async () => {
  const { page } = alice;
  const found = {};
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const tab of ["scripts", "dotfiles", "store"]) {
      await page.click(`#tab-${tab}`);
      await noToast(page);
      const v = await axeViolations(page);
      if (v.length) found[`${scheme} ${tab}`] = v;
    }
    await page.click("#tab-scripts");
    await page.click("#script-new");
    await noToast(page);
    const v = await axeViolations(page);
    if (v.length) found[`${scheme} script editor`] = v;
    await page.click("#sf-cancel");
  }
  await page.emulateMedia({ colorScheme: "light" });
  assert.deepEqual(found, {});
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#scripts-list li.script:has(.script-name:text-is("ship")) [data-act=edit]');
  await env.shot(page, "23-script-editor-mobile");
  await page.click("#sf-cancel");
  await page.setViewportSize({ width: 1280, height: 860 });
  await bobTab2?.close();
});

test("offline: the new views open from the service worker's copy, with what IndexedDB kept", async () => {
  // Their code is fetched after the app loaded, and kept, before any of them was shown.
  const fresh = await env.profile();
  await fresh.page.waitForFunction(() => !!navigator.serviceWorker.controller);
  await fresh.page.waitForFunction(async () => {
    const keys = await (await caches.open("terrapin-www-v1")).keys();
    const names = keys.map((r) => new URL(r.url).pathname.split("/").pop());
    return ["scripts-", "dotfiles-", "kv-", "shell-"].every((p) => names.some((n) => n.startsWith(p) && n.endsWith(".js")));
  }, null, { timeout: 30_000 });
  await fresh.context.close();
  const { page, context } = bob;
  await page.waitForFunction(() => !!navigator.serviceWorker.controller);
  await context.setOffline(true);
  try {
    await reloadViews(page, "bob offline");
    await page.click("#tab-store");
    await page.waitForFunction(() => document.body.dataset.kv === "2");
    assert.deepEqual(await kvRows(page), [["café", "clé", "naïve ☕"], ["default", "editor", "hx"]]);
    for (const panel of ["scripts", "dotfiles", "store"]) assert.equal(await page.isVisible(`#panel-${panel} .view-failed`), false, panel);
  } finally {
    await context.setOffline(false);
  }
});
