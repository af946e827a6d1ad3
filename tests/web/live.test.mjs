// Live mode of the package in headless Chromium against the real worker: the leading tab's one
// socket carries the statuses and its syncs' pages (the other tabs open none); the profile's
// other tabs hear `changed` after a write and `loggedout` after a logout, the server's close of
// the session, and `deleteProfile`.
//   node --test tests/web/live.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { Api } from "../edge/client.mjs";
import { open, suiteEnv, uniq } from "./harness.mjs";

const env = suiteEnv();

/** A tab (page) of browser profile `p`'s context with the package and client `c` on `profile`. */
async function tab(p, profile) {
  const page = await p.context.newPage();
  await page.goto(env.site.url + "/");
  const t = { page, eval: (fn, arg) => page.evaluate(fn, arg) };
  await t.eval(async ({ from }) => {
    // Counts the live sockets this tab opens and the pages they bring.
    const Real = window.WebSocket;
    const seen = (window.seen = { sockets: 0, socketPages: 0, httpPages: 0, events: [] });
    window.WebSocket = class extends Real {
      constructor(url, protocols) {
        super(url, protocols);
        seen.sockets++;
        this.addEventListener("message", (ev) => {
          if (typeof ev.data === "string") seen.socketPages += ev.data.split("\n").filter((l) => l.startsWith('{"type":"page"')).length;
        });
      }
    };
    const real = window.fetch;
    window.fetch = (req, init) => {
      if (String(req.url ?? req).includes("/api/v0/record/next")) seen.httpPages++;
      return real(req, init);
    };
    window.tw = await import(from + "/pkg/index.js");
  }, { from: env.site.url });
  await open(t, env.worker.url, profile, 100);
  return t;
}

/** Starts live mode in tab `t` as `window.live`, recording its events in `seen.events`. */
const goLive = (t) =>
  t.eval(async () => {
    window.live = await c.live({ pollMs: 60_000 });
    for (const type of ["changed", "loggedout", "synced"]) live.addEventListener(type, (ev) => seen.events.push({ type, detail: type === "synced" ? ev.detail.entries.length : ev.detail }));
  });
const until = (t, fn, arg) => t.page.waitForFunction(fn, arg, { timeout: 20_000 });

test("one socket per profile leader carries statuses and pages; other tabs hear changed and loggedout", async () => {
  const { p: a, username } = await env.registered("live", 100);
  const key = await a.eval(async () => {
    await c.history.addMany(Array.from({ length: 300 }, (_, i) => ({ command: `echo ${i}` })));
    await c.sync();
    return c.key();
  });
  const b = await env.profile();
  const [b1, b2] = [await tab(b, "b"), await tab(b, "b")];
  await b1.eval(async ({ username, key }) => c.login({ username, password: "pw", key }), { username, key });
  await goLive(b1);
  await until(b1, () => live.leader && c.history.count() === 300);
  await goLive(b2);
  await until(b2, () => live.state.connection === "live" && !live.leader);
  // The leader's one socket brought the 3 pages of 100; the follower opened none.
  const seen1 = await b1.eval(() => window.seen);
  assert.equal(seen1.sockets, 1, JSON.stringify(seen1));
  assert.equal(seen1.httpPages, 0, JSON.stringify(seen1));
  assert.ok(seen1.socketPages >= 3, JSON.stringify(seen1));
  assert.equal((await b2.eval(() => window.seen)).sockets, 0);
  assert.equal(await b2.eval(() => live.pollMs), 60_000);

  // A push elsewhere comes over the same socket.
  await a.eval(async () => {
    await c.history.add({ command: "from a" });
    await c.sync();
  });
  await until(b2, () => c.history.count() === 301);
  assert.equal((await b1.eval(() => window.seen)).sockets, 1);

  // A write in one tab: the other reloads, then hears `changed`; the writer hears nothing.
  await b2.eval(() => c.history.add({ command: "written in b2" }));
  await until(b1, () => seen.events.some((e) => e.type === "changed"));
  const changed = await b1.eval(() => ({ e: seen.events.filter((e) => e.type === "changed"), count: c.history.count() }));
  assert.deepEqual(changed.e, [{ type: "changed", detail: { entries: 1 } }]);
  assert.equal(changed.count, 302, "reloaded before the event");
  assert.equal(await b2.eval(() => seen.events.filter((e) => e.type === "changed").length), 0);

  // A logout in the follower: every tab hears it once, with its reason.
  await b2.eval(() => c.logout());
  for (const t of [b1, b2]) await until(t, () => seen.events.some((e) => e.type === "loggedout"));
  await new Promise((r) => setTimeout(r, 500));
  for (const t of [b1, b2]) {
    const out = await t.eval(() => seen.events.filter((e) => e.type === "loggedout"));
    assert.deepEqual(out, [{ type: "loggedout", detail: { reason: "logout" } }]);
  }
  await a.context.close();
  await b.context.close();
});

test("the server's close of the session and deleteProfile: loggedout in every tab", async () => {
  const { p: a, username } = await env.registered("gone", 100);
  const key = await a.eval(() => c.key());
  const b = await env.profile();
  const [b1, b2] = [await tab(b, "b"), await tab(b, "b")];
  await b1.eval(async ({ username, key }) => c.login({ username, password: "pw", key }), { username, key });
  await goLive(b1);
  await until(b1, () => live.leader && live.state.connection === "live");
  await goLive(b2);
  await until(b2, () => live.state.connection === "live");
  // The session ends elsewhere (as another device's logout of it would): the socket closes 4001.
  const session = await b1.eval(() => c.session);
  assert.equal((await new Api(env.worker.url).req("POST", "/logout", { token: session })).status, 200);
  for (const t of [b1, b2]) {
    await until(t, () => seen.events.some((e) => e.type === "loggedout"));
    assert.deepEqual(await t.eval(() => seen.events.filter((e) => e.type === "loggedout")), [{ type: "loggedout", detail: { reason: "session-ended" } }]);
  }

  // deleteProfile in another tab of profile "d".
  const [d1, d2] = [await tab(b, "d"), await tab(b, "d")];
  await d1.eval(async ({ username, key }) => c.login({ username, password: "pw", key }), { username, key });
  await goLive(d1);
  await until(d1, () => live.state.connection === "live");
  await d2.eval(() => {
    window.live?.close();
    c.close();
    return tw.deleteProfile("d");
  });
  await until(d1, () => seen.events.some((e) => e.type === "loggedout"));
  assert.deepEqual(await d1.eval(() => seen.events.filter((e) => e.type === "loggedout")), [{ type: "loggedout", detail: { reason: "profile-deleted" } }]);
  await a.context.close();
  await b.context.close();
});
