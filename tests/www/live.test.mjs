// Live sync in the viewer (headless Chromium, real worker): an entry another host pushes shows
// up without a click and without moving the selection; two tabs of a profile hold one socket
// and hand it over when the leader closes; sockets with a revoked session or another account's
// are refused or hear nothing; with the worker stopped the indicator says offline, and after a
// restart it is live again by itself.
//   node --test tests/www/live.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect, setup, waitSynced } from "./harness.mjs";
import { Api, username as newName } from "../edge/client.mjs";

const PASSWORD = "correct horse battery";
let env, name, key, alice, other;

before(async () => {
  env = await setup();
  name = newName("live");
});
after(async () => env?.dispose());

const liveState = (page) => page.evaluate(() => document.body.dataset.live);
const waitLive = (page, state = "live", timeout = 30_000) =>
  page.waitForFunction((s) => document.body.dataset.live === s, state, { timeout });
/** Adds an entry on the page's own host and syncs it up (the package, not the UI). */
const pushFrom = (page, command) =>
  page.evaluate(async (command) => {
    const { client, live } = window.__terrapin;
    await client.history.add({ command, cwd: "/elsewhere" });
    // as the Sync button does; a second call runs after a sync already under way
    await live.sync();
    await live.sync();
  }, command);
const rowShown = (page, command, timeout = 10_000) =>
  page.locator(`#results .hrow .cmd[title="${command}"]`).waitFor({ timeout });
/** Open live sockets of a page, as Chromium saw them. */
function trackSockets(page) {
  const open = new Set();
  page.on("websocket", (ws) => {
    if (!ws.url().endsWith("/api/v0/live")) return;
    open.add(ws);
    ws.on("close", () => open.delete(ws));
  });
  return open;
}

test("an entry pushed by another host appears without a click, keeping the selection", async () => {
  alice = await env.profile();
  await connect(alice.page, { mode: "register", username: name, password: PASSWORD });
  await alice.page.locator("#view-newkey").waitFor();
  key = await alice.page.inputValue("#newkey-text");
  await alice.page.click("#newkey-done");
  await alice.page.locator("#view-app").waitFor();
  await waitLive(alice.page);
  await pushFrom(alice.page, "seed one");
  await pushFrom(alice.page, "seed two");
  await rowShown(alice.page, "seed two");

  other = await env.profile();
  await connect(other.page, { username: name, password: PASSWORD, key });
  await other.page.locator("#view-app").waitFor();
  await waitSynced(other.page);

  // alice selects the second row ("seed one")
  await alice.page.click('#results .hrow[data-i="1"] .cmd');
  const selectedCmd = () => alice.page.evaluate(() => document.querySelector('#results .hrow[aria-selected="true"] .cmd')?.title);
  assert.equal(await selectedCmd(), "seed one");
  await pushFrom(other.page, "from the other host");
  await rowShown(alice.page, "from the other host");
  assert.equal(await selectedCmd(), "seed one", "the selection stays on its entry");
  assert.equal(await liveState(alice.page), "live");
  assert.match(await alice.page.textContent("#live-indicator"), /Live/);
  await env.shot(alice.page, "live-01-pushed");
});

test("two tabs hold one socket between them; closing the leader hands over", async () => {
  const second = await alice.context.newPage();
  const sockets = [trackSockets(alice.page), trackSockets(second)];
  await second.goto(env.site.url + "/app/");
  await second.locator("#view-app").waitFor();
  await rowShown(second, "from the other host");
  await second.waitForTimeout(1000);
  const leaders = await Promise.all([alice.page, second].map((p) => p.evaluate(() => window.__terrapin.live?.leader)));
  assert.deepEqual(leaders, [true, false]);
  // the first tab's socket was open before tracking began: the second tab opened none
  assert.equal(sockets[1].size, 0);
  // the follower sees what the leader syncs
  await pushFrom(other.page, "seen by both tabs");
  await rowShown(second, "seen by both tabs");
  await rowShown(alice.page, "seen by both tabs");
  // the leader closes: the other tab takes over within a second
  const t0 = Date.now();
  await alice.page.close();
  await second.waitForFunction(() => window.__terrapin.live?.leader && document.body.dataset.live === "live", null, { timeout: 5000 });
  const handover = Date.now() - t0;
  assert.ok(handover < 1000, `handed over in ${handover} ms`);
  assert.equal(sockets[1].size, 1);
  await pushFrom(other.page, "after the handover");
  await rowShown(second, "after the handover");
  alice.page = second;
});

test("a socket with a revoked session is refused; another account's socket hears nothing of this one", async () => {
  const api = new Api(env.worker.url);
  const revoked = await api.register(newName("gone"));
  assert.equal((await api.req("POST", "/logout", { token: revoked })).status, 200);
  const bob = await api.register(newName("bob"));
  const page = alice.page;
  const result = await page.evaluate(async ({ revoked, bob }) => {
    const url = location.origin.replace(/^http/, "ws") + "/api/v0/live";
    const open = (token) => {
      const ws = new WebSocket(url, ["terrapin.live.v1", `terrapin.token.${token}`]);
      const got = [];
      ws.onmessage = (ev) => got.push(JSON.parse(ev.data));
      return { ws, got, done: new Promise((r) => { ws.onopen = () => r("open"); ws.onclose = (e) => r(`closed ${e.code}`); }) };
    };
    const r = open(revoked);
    const b = open(bob);
    const rev = await r.done;
    const bobOpen = await b.done;
    // alice pushes (through her client) while bob's socket listens
    await window.__terrapin.client.history.add({ command: "not for bob" });
    await window.__terrapin.live.sync();
    await window.__terrapin.live.sync();
    await new Promise((r) => setTimeout(r, 500));
    b.ws.close();
    return { rev, bobOpen, bobGot: b.got };
  }, { revoked, bob });
  assert.equal(result.rev, "closed 1006", "refused before the upgrade");
  assert.equal(result.bobOpen, "open");
  assert.deepEqual(result.bobGot, [{ type: "status", hosts: {} }]);
});

test("worker stopped: the indicator says offline; restarted: live again by itself", async () => {
  const page = alice.page;
  await waitLive(page);
  await env.stopWorker();
  await waitLive(page, "offline", 30_000);
  assert.match(await page.textContent("#live-indicator"), /Offline/);
  await env.shot(page, "live-02-offline");
  await env.startWorker();
  await waitLive(page, "live", 30_000);
  await pushFrom(other.page, "after the restart");
  await rowShown(page, "after the restart");
  assert.deepEqual(env.csp, []);
});
