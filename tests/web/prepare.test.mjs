// `history.prepare()` (issue 28): the search index built in steps gives the same results as the
// one a query builds in one go, with entries added and deleted midway and a query midway; it
// rejects once the client is closed. In headless Chromium, no server.
//   node --test tests/web/prepare.test.mjs
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ensurePackage, launchBrowser, openProfile, servePackage } from "./harness.mjs";

let site, browser, p;
before(async () => {
  ensurePackage();
  [site, browser] = await Promise.all([servePackage(), launchBrowser()]);
  p = await openProfile(browser, site);
});
after(async () => {
  await browser?.close();
  await site?.close();
});

// 10,000 entries: several of the build's sorted runs; timestamps out of id order, with ties.
const N = 10_000;

test("a stepped build answers as a build in one go, with changes and a query midway", async () => {
  const r = await p.eval(async ({ N }) => {
    const server = "http://127.0.0.1:9";
    const a = await tw.Client.open({ server, profile: "prepare" });
    const key = await tw.generateKey();
    await a.setKey(key);
    a.setSession("s");
    const entries = [];
    for (let j = 0; j < N; j++) {
      entries.push({ command: `make t${j % 97} ${j % 5 ? "build" : "test"}`, timestamp: 1_700_000_000_000 + ((j * 7919) % 4001) * 1000, cwd: `/p${j % 3}`, exit: j % 4, session: `s${j % 9}`, hostname: "box:me" });
    }
    await a.history.addMany(entries);
    a.close();
    const queries = [
      { text: "" },
      { text: "", unique: true, offset: 5, limit: 30 },
      { text: "t1 test", mode: "full-text", limit: 50 },
      { text: "make t9", mode: "prefix", unique: true },
      { text: "mkt3", mode: "fuzzy", limit: 40 },
      { text: "bld", mode: "fuzzy", unique: true, exit: 1 },
    ];
    const pages = (c) => queries.map((q) => c.history.query(q));
    const out = {};

    // Stepped (a step per call when given 0 ms), with an entry added and one deleted midway.
    const b = await tw.Client.open({ server, profile: "prepare" });
    await b.setKey(key);
    await b.history.loaded();
    const w = b.history;
    let steps = 0;
    while (steps < 3 && !w.step(0)) steps++;
    out.steppedMidway = steps;
    const added = await b.history.add({ command: "make t5 test added", timestamp: 1_700_009_000_000, cwd: "/p0" });
    const gone = b.history.query({ text: "make t9", mode: "prefix", limit: 1 }).entries[0];
    out.finishedByQuery = w.step(0);
    await b.history.delete(gone.id);
    await b.history.prepare();
    out.ready = w.step(0);
    out.stepped = pages(b);
    out.added = added.id;
    out.gone = gone.id;
    // The same profile, the index built in one go by the first query.
    const oneGo = async () => {
      const c = await tw.Client.open({ server, profile: "prepare" });
      await c.history.loaded();
      const got = pages(c);
      c.close();
      return got;
    };
    out.oneGo = await oneGo();

    // A build that no query finished: stepped to the end, a change midway.
    const d = await tw.Client.open({ server, profile: "prepare" });
    await d.setKey(key);
    await d.history.loaded();
    const dw = d.history;
    for (let i = 0; i < 4; i++) dw.step(0);
    await d.history.add({ command: "make t7 build later", timestamp: 1_700_000_500_000 });
    let more = 0;
    while (!dw.step(0)) more++;
    out.moreSteps = more;
    out.prepared = pages(d);
    out.oneGoAfter = await oneGo();
    b.close();
    d.close();
    out.closed = await b.history.prepare().then(() => "resolved", (e) => String(e));
    return out;
  }, { N });
  assert.equal(r.steppedMidway, 3, "not built in 3 steps");
  assert.equal(r.finishedByQuery, true, "a query finishes the build");
  assert.equal(r.ready, true);
  assert.ok(r.moreSteps > 3, `${r.moreSteps} steps`);
  assert.deepEqual(r.stepped, r.oneGo);
  assert.deepEqual(r.prepared, r.oneGoAfter);
  assert.equal(r.prepared[0].total, N + 1);
  const ids = (page) => page.entries.map((e) => e.id);
  assert.equal(ids(r.stepped[0])[0], r.added);
  assert.ok(!ids(r.stepped[4]).includes(r.gone) && r.stepped[4].total > 0);
  assert.equal(r.stepped[0].total, N);
  assert.match(r.closed, /null pointer|moved|freed|closed/i);
});
