// The viewer's Threads tab (issue 26) in headless Chromium against the real worker: an account
// with the key of tests/fixtures/atuin-ai gets the ai-session records atuin-client 18.24.4's
// own code wrote (client.importRecords) and syncs them up. The tab, hidden before, shows; it
// lists the threads atuin's sidecar made of them (agent, where, when, messages), newest first,
// and opens one's messages in order, by keyboard, with no axe violations. The view's code and
// the package's threads module load only then.
// Screenshots: tests/artifacts/www-threads-1-list.png, www-threads-2-thread.png.
//   node --test tests/www/threads.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { axeViolations, connect, suiteEnv, syncedStamp, uniq, waitSynced } from "./harness.mjs";
import { payloads, phrase, recordsJson, threads } from "../fixtures/atuin-ai/fixture.mjs";

const PASSWORD = "correct horse battery";
const env = suiteEnv();

/** What the list shows of each thread: its name and its facts. */
const listed = (page) =>
  page.$$eval("#threads-list li.thread", (lis) =>
    lis.map((li) => ({ name: li.querySelector(".thread-name").textContent, meta: li.querySelector(".thread-meta").textContent })),
  );

test("Threads tab: hidden without threads; the CLI's threads listed and read, by keyboard", async () => {
  const { page } = await env.profile();
  await connect(page, { mode: "register", username: uniq("threads"), password: PASSWORD, key: phrase });
  await page.locator("#view-app").waitFor();
  await waitSynced(page, 0);
  assert.equal(await page.isVisible("#tab-threads"), false, "no ai-session records: no tab");

  const since = await syncedStamp(page);
  const n = await page.evaluate((json) => window.__terrapin.client.importRecords(json), recordsJson);
  assert.equal(n, payloads.length);
  await page.click("#sync-btn");
  await waitSynced(page, since);
  await page.locator("#tab-threads").waitFor();

  // Along the tabs with the arrow keys, as the others: Search, Stats, Scripts, Aliases & vars, Threads.
  await page.focus("#tab-search");
  for (let i = 0; i < 4; i++) await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-threads");
  await page.waitForFunction(() => document.body.dataset.threads === "3");
  assert.equal(await page.textContent("#threads-count"), "3 threads");

  // Newest activity first, as atuin lists them; each named by its title, else agent and id.
  const got = await listed(page);
  const want = threads.map((t) => t.title ?? `${{ ClaudeCode: "Claude Code", Omp: "omp", Codex: "Codex" }[t.session.harness]} thread ${t.atuinId.slice(-8)}`);
  assert.deepEqual(got.map((t) => t.name), want);
  const claude = threads.find((t) => t.session.harness === "ClaudeCode");
  const meta = got[want.indexOf("Pod count")].meta;
  for (const part of ["Claude Code", `${claude.messageCount} messages`, "/home/ada/infra (main)", "claude-sonnet-4-5"]) assert.ok(meta.includes(part), `${part} in ${meta}`);
  await env.shot(page, "threads-1-list");

  // ↓ along the list, Enter opens the thread focused.
  await page.focus("#threads-list li.thread .thread-name");
  for (let i = 0; i < want.indexOf("Pod count"); i++) await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Pod count");
  await page.keyboard.press("Enter");
  await page.locator("#thread-view").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "thread-title");
  assert.equal(await page.textContent("#thread-title"), "Pod count");

  // Its messages in atuin's order; the duplicate line is not among them.
  const msgs = await page.$$eval("#thread-messages > li", (lis) => lis.map((li) => li.textContent));
  assert.equal(msgs.length, claude.messages.length);
  const order = ["How many pods are running? grüße 🐢", "Tool call: Bash", "Tool result", "Two pods are running: pod-a and pod-b."];
  order.forEach((text, i) => assert.ok(msgs[i].includes(text), `${text} in message ${i}: ${msgs[i]}`));
  assert.ok(!msgs.join("\n").includes("a duplicate"));
  assert.ok(msgs[2].includes("Changed notes.md → docs/notes.md, old.txt"), msgs[2]);
  // A tool call opens to its input.
  const call = '#thread-messages > li:nth-child(2) details:has(summary:text-is("Tool call: Bash"))';
  await page.click(`${call} summary`);
  assert.equal(await page.isVisible(`${call} pre`), true);
  assert.match(await page.textContent(`${call} pre`), /"command": "kubectl get pods"/);
  assert.deepEqual(await axeViolations(page), []);
  await env.shot(page, "threads-2-thread");
  // The service worker keeps the view's code and the package's threads module (JS and wasm) for
  // offline use.
  const cached = () =>
    page.evaluate(async () => (await (await caches.open("terrapin-www-v1")).keys()).map((r) => new URL(r.url).pathname.split("/").pop()));
  await page.waitForFunction(async () => {
    const names = (await (await caches.open("terrapin-www-v1")).keys()).map((r) => r.url);
    return names.some((u) => /terrapin_threads_bg-[^/]*\.wasm$/.test(u)) && names.filter((u) => /\/threads-[^/]*\.js$/.test(u)).length === 2;
  }, null, { timeout: 10_000 }).catch(async () => assert.fail(`not cached: ${await cached()}`));

  // ↓ between messages; Esc back to the list, on the thread it came from.
  await page.focus("#thread-messages > li:first-child");
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.evaluate(() => [...document.activeElement.parentElement.children].indexOf(document.activeElement)), 1);
  await page.keyboard.press("Escape");
  assert.equal(await page.isVisible("#thread-view"), false);
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Pod count");
  assert.deepEqual(await axeViolations(page), []);

  // The other threads: structural rows are not messages; a message of an unknown role and every
  // content block kind show.
  const omp = threads.find((t) => t.session.harness === "Omp");
  await page.click(`#threads-list li.thread:nth-child(${threads.indexOf(omp) + 1}) .thread-name`);
  await page.waitForFunction(() => document.body.dataset.thread === "Omp:omp-7");
  const ompText = await page.textContent("#thread-messages");
  for (const part of ["developer", "Reasoning · 120 tokens", "Earlier: set up the cluster.", "Error: rate limited", "Other content", "Done."]) assert.ok(ompText.includes(part), `${part} in ${ompText}`);
});
