// `next` pages through 10k records with no gap and no duplicate, both serially (following the
// last idx) and the way atuin 18.24 downloads: fixed-width pages fetched in parallel.
import assert from "node:assert/strict";
import { test } from "node:test";
import { workerSuite } from "./harness.mjs";
import { series, username, uuid } from "./client.mjs";

const TOTAL = 10_000;
let token;
let host;
let pushed;

const { api } = workerSuite({}, async (api) => {
  token = await api.register(username("pager"));
  host = uuid();
  pushed = series(host, "history", 0, TOTAL - 1);
  // 100 records per request, one after another, as atuin uploads (a batch that would leave a
  // hole is refused, so pushes into one series can't race ahead of each other)
  for (let i = 0; i < TOTAL; i += 100) {
    const r = await api.push(token, pushed.slice(i, i + 100).reverse());
    assert.equal(r.status, 200, r.text);
  }
});

function checkComplete(records) {
  assert.equal(records.length, TOTAL);
  const seen = new Set();
  records.forEach((r, i) => {
    assert.equal(r.idx, i, `gap or disorder at position ${i}`);
    assert.ok(!seen.has(r.id), `duplicate ${r.id}`);
    seen.add(r.id);
    assert.equal(r.id, pushed[i].id);
  });
}

test("status reports the last idx", async () => {
  assert.deepEqual((await api.status(token)).json, { hosts: { [host]: { history: TOTAL - 1 } } });
});

test("serial pages of 100 following the last idx", async () => {
  checkComplete(await api.all(token, host, "history", 100));
});

test("serial pages of odd width (333)", async () => {
  checkComplete(await api.all(token, host, "history", 333));
});

test("parallel fixed-width pages as atuin fetches them", async () => {
  const starts = [];
  for (let s = 0; s < TOTAL; s += 100) starts.push(s);
  const pages = [];
  for (let i = 0; i < starts.length; i += 8) {
    const got = await Promise.all(
      starts.slice(i, i + 8).map((start) => api.next(token, { host, tag: "history", start, count: 100 })),
    );
    for (const r of got) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.length, 100);
      pages.push(r.json);
    }
  }
  checkComplete(pages.flat());
  const beyond = await api.next(token, { host, tag: "history", start: TOTAL, count: 100 });
  assert.deepEqual(beyond.json, []);
});

test("answers are left to the edge's compression (Cloudflare's, emulated here)", async () => {
  const res = await fetch(`${api.url}/api/v0/record/next?host=${host}&tag=history&start=0&count=100`, {
    headers: { Authorization: `Token ${token}`, "Accept-Encoding": "gzip" },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-encoding"), "gzip");
  assert.equal((await res.json()).length, 100);
});
