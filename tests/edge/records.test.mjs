// Black-box tests of the record routes of the real worker (workerd + local D1): push rules,
// idempotence, conflicts, refusals that store nothing, isolation, status, next, store delete.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configVars, workerSuite } from "./harness.mjs";
import { record, series, username, uuid } from "./client.mjs";

const suite = workerSuite();
const { api } = suite;

const ok = (r) => assert.equal(r.status, 200, r.text);
const refused = (r, status, pattern) => {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.reason, "string", r.text);
  if (pattern) assert.match(r.json.reason, pattern);
};

/** Everything a user holds: status plus every record of every series in it. */
async function snapshot(token) {
  const status = (await api.status(token)).json;
  const records = {};
  for (const [host, tags] of Object.entries(status.hosts)) {
    for (const tag of Object.keys(tags)) records[`${host}/${tag}`] = await api.all(token, host, tag);
  }
  return { status, records };
}

describe("push, status and next", () => {
  test("round trip keeps every field exactly, including 64-bit timestamps", async () => {
    const token = await api.register(username("rt"));
    const host = uuid();
    const id = uuid();
    // built by hand: a nanosecond timestamp above 2^53 must survive byte for byte
    const body = `[{"id":"${id}","idx":0,"host":{"id":"${host}","name":""},"timestamp":1732533145123456789,"version":"v1","tag":"kv","data":{"data":"v4.local.abc","content_encryption_key":"{\\"wpk\\":\\"k4.local-wrap.pie.x\\",\\"kid\\":\\"k4.lid.y\\"}"}}]`;
    ok(await api.req("POST", "/api/v0/record", { token, body }));
    const r = await api.next(token, { host, tag: "kv", count: 10 });
    ok(r);
    assert.equal(r.text, body);
    assert.deepEqual((await api.status(token)).json, { hosts: { [host]: { kv: 0 } } });
  });

  test("an empty batch is accepted and stores nothing", async () => {
    const token = await api.register(username("empty"));
    ok(await api.push(token, []));
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
  });

  test("the same batch pushed three times is stored once", async () => {
    const token = await api.register(username("idem"));
    const host = uuid();
    const batch = series(host, "history", 0, 49);
    for (let i = 0; i < 3; i++) ok(await api.push(token, batch));
    const all = await api.all(token, host, "history");
    assert.equal(all.length, 50);
    assert.deepEqual(all, batch);
    assert.deepEqual((await api.status(token)).json, { hosts: { [host]: { history: 49 } } });
    // and concurrently
    const more = series(host, "history", 50, 99);
    const answers = await Promise.all([1, 2, 3, 4].map(() => api.push(token, more)));
    for (const r of answers) ok(r);
    assert.equal((await api.all(token, host, "history")).length, 100);
    // a batch overlapping stored records with identical ones is fine too
    ok(await api.push(token, [...batch.slice(40), ...series(host, "history", 100, 100)]));
    assert.equal((await api.status(token)).json.hosts[host].history, 100);
  });

  test("next pages ascend from start and cap count", async () => {
    const token = await api.register(username("next"));
    const host = uuid();
    // pushed out of order within two batches
    const recs = series(host, "history", 0, 29);
    ok(await api.push(token, recs.slice(0, 15).reverse()));
    ok(await api.push(token, recs.slice(15).reverse()));
    const page = await api.next(token, { host, tag: "history", start: 10, count: 5 });
    assert.deepEqual(page.json.map((r) => r.idx), [10, 11, 12, 13, 14]);
    const noStart = await api.next(token, { host, tag: "history", count: 3 });
    assert.deepEqual(noStart.json.map((r) => r.idx), [0, 1, 2]);
    assert.deepEqual((await api.next(token, { host, tag: "history", start: 30, count: 5 })).json, []);
    assert.deepEqual((await api.next(token, { host, tag: "kv", count: 5 })).json, []);
    assert.deepEqual((await api.next(token, { host: uuid(), tag: "history", count: 5 })).json, []);
  });

  test("count is capped at MAX_PAGE_SIZE", async () => {
    const token = await api.register(username("cap"));
    const host = uuid();
    const max = Number(configVars().MAX_PAGE_SIZE);
    for (let i = 0; i < max + 200; i += 500) ok(await api.push(token, series(host, "history", i, i + 499)));
    const r = await api.next(token, { host, tag: "history", count: 1_000_000 });
    ok(r);
    assert.equal(r.json.length, max);
  });

  test("next refuses bad parameters with 400", async () => {
    const token = await api.register(username("badnext"));
    const host = uuid();
    const cases = [
      `tag=history&count=1`,
      `host=${host}&count=1`,
      `host=${host}&tag=history`,
      `host=not-a-uuid&tag=history&count=1`,
      `host=${host}&tag=&count=1`,
      `host=${host}&tag=history&count=-1`,
      `host=${host}&tag=history&count=0`,
      `host=${host}&tag=history&count=abc`,
      `host=${host}&tag=history&count=1e9`,
      `host=${host}&tag=history&count=99999999999999999999999999`,
      `host=${host}&tag=history&start=-1&count=1`,
      `host=${host}&tag=history&start=9007199254740992&count=1`,
      `host=${host}&tag=history&start=1.5&count=1`,
    ];
    for (const q of cases) refused(await api.req("GET", `/api/v0/record/next?${q}`, { token }), 400);
  });

  test("DELETE /api/v0/store removes records and status, keeps the account", async () => {
    const token = await api.register(username("wipe"));
    const host = uuid();
    ok(await api.push(token, series(host, "history", 0, 9)));
    ok(await api.push(token, series(host, "kv", 0, 2)));
    const del = await api.req("DELETE", "/api/v0/store", { token });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
    assert.deepEqual((await api.next(token, { host, tag: "history", count: 100 })).json, []);
    ok(await api.req("GET", "/api/v0/me", { token }));
    // a fresh upload from idx 0 works after the wipe (atuin store push --force)
    ok(await api.push(token, series(host, "history", 0, 4)));
    assert.equal((await api.status(token)).json.hosts[host].history, 4);
  });
});

describe("batches spanning many series", () => {
  test("300 series in one batch: stored, re-pushed idempotently, a conflict in one refuses all", async () => {
    const token = await api.register(username("wide"));
    const hosts = Array.from({ length: 100 }, () => uuid());
    const batch = hosts.flatMap((h) => [record({ host: h, idx: 0 }), record({ host: h, tag: "kv", idx: 0 }), record({ host: h, tag: "kv", idx: 1 })]);
    ok(await api.push(token, batch));
    ok(await api.push(token, batch));
    const want = Object.fromEntries(hosts.map((h) => [h, { history: 0, kv: 1 }]));
    assert.deepEqual((await api.status(token)).json, { hosts: want });
    const before = await snapshot(token);
    const next = hosts.map((h) => record({ host: h, tag: "kv", idx: 2 }));
    next.push(record({ host: hosts[57], tag: "kv", idx: 1 }));
    const r = await api.push(token, next);
    refused(r, 409, /kv/);
    assert.ok(r.json.reason.includes(hosts[57]), r.json.reason);
    assert.deepEqual(await snapshot(token), before);
  });
});

describe("conflicts", () => {
  test("a conflicting idx is refused with 409 naming series and idx; store unchanged", async () => {
    const token = await api.register(username("conflict"));
    const host = uuid();
    ok(await api.push(token, series(host, "history", 0, 9)));
    const before = await snapshot(token);
    // a batch of new records plus one that claims occupied idx 7 with another id
    const bad = [...series(host, "history", 10, 19), record({ host, idx: 7 })];
    const r = await api.push(token, bad);
    refused(r, 409);
    assert.ok(r.json.reason.includes(host), r.json.reason);
    assert.match(r.json.reason, /history/);
    assert.match(r.json.reason, /idx 7\b/);
    assert.deepEqual(await snapshot(token), before);
  });

  test("two different records for one slot in one batch conflict", async () => {
    const token = await api.register(username("selfconflict"));
    const host = uuid();
    const r = await api.push(token, [record({ host, idx: 0 }), record({ host, idx: 1 }), record({ host, idx: 1 })]);
    refused(r, 409, /idx 1\b/);
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
  });

  test("racing conflicting pushes: exactly one wins, the other stores nothing", async () => {
    const token = await api.register(username("race"));
    const host = uuid();
    const a = series(host, "history", 0, 49);
    const b = series(host, "history", 0, 49);
    const [ra, rb] = await Promise.all([api.push(token, a), api.push(token, b)]);
    const statuses = [ra.status, rb.status].sort();
    assert.deepEqual(statuses, [200, 409], `${ra.text} / ${rb.text}`);
    const winner = ra.status === 200 ? a : b;
    assert.deepEqual(await api.all(token, host, "history"), winner);
  });
});

describe("gaps: stored as atuin-server stores them", () => {
  const storeIdOf = async (name) =>
    (await (await suite.worker.d1()).prepare("SELECT store_id FROM users WHERE username = ?1").bind(name).first()).store_id;
  const idx = (records) => records.map((r) => r.idx);

  test("a series may start above 0 and a batch may step over idx: stored, status is the last idx, next steps over", async () => {
    const token = await api.register(username("gap"));
    const host = uuid();
    ok(await api.push(token, [record({ host, tag: "kv", idx: 5 })]));
    assert.deepEqual((await api.status(token)).json, { hosts: { [host]: { kv: 5 } } });
    assert.deepEqual(idx((await api.next(token, { host, tag: "kv", count: 10 })).json), [5]);
    // a gap inside a batch and after the last idx, in any order, with another series riding along
    const other = uuid();
    const batch = [...series(host, "history", 13, 14), ...series(other, "kv", 0, 3), ...series(host, "history", 0, 9)].reverse();
    ok(await api.push(token, batch));
    assert.deepEqual(idx(await api.all(token, host, "history")), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14]);
    assert.deepEqual(idx((await api.next(token, { host, tag: "history", start: 10, count: 1 })).json), [13]);
    assert.equal((await api.status(token)).json.hosts[host].history, 14);
    // the same gappy batch again (a retry) is harmless; a record in a gap fills it
    ok(await api.push(token, batch));
    ok(await api.push(token, [record({ host, idx: 11 })]));
    assert.deepEqual(idx(await api.all(token, host, "history")).slice(9, 12), [9, 11, 13]);
    // the largest idx, far above the rest
    ok(await api.push(token, [record({ host, idx: 2 ** 53 - 1 })]));
    assert.deepEqual(idx((await api.next(token, { host, tag: "history", start: 15, count: 5 })).json), [2 ** 53 - 1]);
    assert.equal((await api.status(token)).json.hosts[host].history, 2 ** 53 - 1);
  });

  test("atuin's store push --force after a purge: each series re-uploaded from its first record, stepping over the purged", async () => {
    // The CLI reads `idx >= start ORDER BY idx LIMIT page` from its own store and posts it.
    const token = await api.register(username("purged"));
    const host = uuid();
    const kept = series(host, "history", 0, 29).filter((r) => r.idx % 7 !== 3);
    for (let at = 0; at < kept.length; at += 10) ok(await api.push(token, kept.slice(at, at + 10)));
    assert.deepEqual(await api.all(token, host, "history"), kept);
    // a second pass, as the CLI makes when it counts what it sent against the span, stores nothing new
    for (let at = 0; at < kept.length; at += 10) ok(await api.push(token, kept.slice(at, at + 10)));
    assert.deepEqual(await api.all(token, host, "history"), kept);
  });

  test("a different record in a taken slot is still refused with 409 naming series and idx; nothing stored", async () => {
    const token = await api.register(username("taken"));
    const host = uuid();
    ok(await api.push(token, [record({ host, idx: 4 })]));
    const before = await snapshot(token);
    const r = await api.push(token, [record({ host, idx: 0 }), record({ host, idx: 4 })]);
    refused(r, 409, /idx 4\b/);
    assert.ok(r.json.reason.includes(`${host}/history`), r.json.reason);
    assert.deepEqual(await snapshot(token), before);
  });

  test("records imported with holes read back as they are; pushes may step over and fill", async () => {
    const name = username("imported");
    const token = await api.register(name);
    const storeId = await storeIdOf(name);
    const host = uuid();
    const holey = [...series(host, "history", 0, 2), ...series(host, "history", 5, 6)];
    const imp = await suite.worker.store(storeId, "/import", { method: "POST", body: JSON.stringify(holey) });
    assert.equal(imp.status, 200, imp.text);
    assert.deepEqual((await api.status(token)).json, { hosts: { [host]: { history: 6 } } });
    assert.deepEqual(await api.all(token, host, "history"), holey);
    ok(await api.push(token, series(host, "history", 8, 8)));
    ok(await api.push(token, [record({ host, idx: 3 })]));
    assert.deepEqual(idx(await api.all(token, host, "history")), [0, 1, 2, 3, 5, 6, 8]);
  });
});

describe("big records and big batches", () => {
  const storeIdOf = async (name) =>
    (await (await suite.worker.d1()).prepare("SELECT store_id FROM users WHERE username = ?1").bind(name).first()).store_id;

  test("a 600 KB command's record (1.07 MB) and a 5 MB record, beyond one 2 MB row, read back byte for byte", async () => {
    const name = username("big");
    const token = await api.register(name);
    const host = uuid();
    const cli = record({ host, idx: 1, data: "v4.local." + "A".repeat(1_067_000) });
    const huge = record({ host, idx: 2, data: "v4.local." + "B".repeat(5_000_000) });
    const body = [record({ host, idx: 0 }), cli, huge, record({ host, idx: 3 })];
    ok(await api.push(token, body));
    assert.deepEqual(await api.all(token, host, "history"), body);
    // the 5 MB record alone past the answer's 4 MiB bound; it starts the answer
    const r = await api.next(token, { host, tag: "history", start: 2, count: 10 });
    assert.deepEqual(r.json.map((x) => x.idx), [2]);
    assert.equal(r.json[0].data.data.length, huge.data.data.length);
    // a retry stores nothing new; filling around the big page keeps it whole
    ok(await api.push(token, body));
    ok(await api.push(token, series(host, "history", 4, 6)));
    assert.deepEqual((await api.all(token, host, "history")).slice(0, 4), body);
    const stats = (await suite.worker.store(await storeIdOf(name), "/stats")).json;
    assert.equal(stats.records, 7);
    // deleting the store leaves no part behind: the same slots take other records
    ok(await api.req("DELETE", "/api/v0/store", { token }));
    const again = record({ host, idx: 2, data: "v4.local." + "C".repeat(3_000_000) });
    ok(await api.push(token, [again]));
    assert.deepEqual(await api.all(token, host, "history"), [again]);
  });

  test("a batch of the page size whose records total 20 MB is stored whole", async () => {
    const token = await api.register(username("bulk"));
    const host = uuid();
    const n = Number(configVars().MAX_RECORDS_PER_BATCH);
    const batch = series(host, "history", 0, n - 1).map((r) => ({ ...r, data: { ...r.data, data: "v4.local." + "D".repeat(10_000) } }));
    ok(await api.push(token, batch));
    assert.equal((await api.status(token)).json.hosts[host].history, n - 1);
    const back = await api.all(token, host, "history");
    assert.equal(back.length, n);
    assert.deepEqual(back[n - 1], batch[n - 1]);
  });
});

describe("refused batches store nothing", () => {
  const good = (host, idx) => record({ host, idx });
  const cases = [
    ["malformed JSON", () => "[{", 400, /malformed JSON/],
    ["not an array", () => "{}", 400, /array/],
    ["a string", () => '"records"', 400, /array/],
    ["bad record UUID", (h) => [good(h, 0), { ...good(h, 1), id: "not-a-uuid" }], 400, /record 1/],
    ["bad host UUID", (h) => [{ ...good(h, 0), host: { id: "1234", name: "" } }], 400, /record 0/],
    ["missing host", (h) => [{ ...good(h, 0), host: undefined }], 400, /record 0/],
    ["empty tag", (h) => [good(h, 0), { ...good(h, 1), tag: "" }], 400, /empty tag/],
    ["negative idx", (h) => [good(h, 0), { ...good(h, 1), idx: -1 }], 400, /record 1/],
    ["fractional idx", (h) => [{ ...good(h, 0), idx: 0.5 }], 400, /record 0/],
    ["absurd idx", (h) => [good(h, 0), { ...good(h, 1), idx: 2 ** 53 }], 400, /idx/],
    ["idx as string", (h) => [{ ...good(h, 0), idx: "0" }], 400, /record 0/],
    ["negative timestamp", (h) => [{ ...good(h, 0), timestamp: -5 }], 400, /record 0/],
    ["missing data", (h) => [{ ...good(h, 0), data: undefined }], 400, /record 0/],
    ["oversized record, named by series and idx", (h) => [good(h, 0), record({ host: h, idx: 1, data: "x".repeat(Number(configVars().MAX_RECORD_BYTES)) })], 413, /record 1 \(.*\/history idx 1\) is .* more than the limit of 8388608/],
    ["too many records", (h) => series(h, "history", 0, Number(configVars().MAX_RECORDS_PER_BATCH)), 413, /more records than the limit/],
  ];
  for (const [name, make, status, pattern] of cases) {
    test(name, async () => {
      const token = await api.register(username("refuse"));
      const host = uuid();
      ok(await api.push(token, series(host, "history", 0, 2)));
      const before = await snapshot(token);
      const body = make(host);
      refused(await api.push(token, body), status, pattern);
      assert.deepEqual(await snapshot(token), before);
    });
  }
});

describe("isolation between users", () => {
  test("two users can't see, push into or delete each other's records", async () => {
    const alice = await api.register(username("alice"));
    const bob = await api.register(username("bob"));
    const host = uuid();
    const aliceRecs = series(host, "history", 0, 9);
    ok(await api.push(alice, aliceRecs));
    // bob sees nothing of alice's
    assert.deepEqual((await api.status(bob)).json, { hosts: {} });
    assert.deepEqual((await api.next(bob, { host, tag: "history", count: 100 })).json, []);
    // bob pushes into the same host/tag/idx: his own store, no conflict with alice
    const bobRecs = series(host, "history", 0, 4);
    ok(await api.push(bob, bobRecs));
    assert.deepEqual(await api.all(bob, host, "history"), bobRecs);
    assert.deepEqual(await api.all(alice, host, "history"), aliceRecs);
    // alice's identical records pushed by bob land in bob's store only
    ok(await api.push(bob, aliceRecs.slice(5)));
    assert.equal((await api.status(alice)).json.hosts[host].history, 9);
    // bob wipes his store: alice keeps hers
    assert.equal((await api.req("DELETE", "/api/v0/store", { token: bob })).status, 200);
    assert.deepEqual((await api.status(bob)).json, { hosts: {} });
    assert.deepEqual(await api.all(alice, host, "history"), aliceRecs);
    // bob deletes his account: alice keeps hers
    const bobName = (await api.req("GET", "/api/v0/me", { token: bob })).json.username;
    assert.ok(bobName);
    ok(await api.req("DELETE", "/account", { token: bob, body: { password: "correct horse battery staple" } }));
    assert.deepEqual(await api.all(alice, host, "history"), aliceRecs);
    ok(await api.req("GET", "/api/v0/me", { token: alice }));
  });
});

describe("status", () => {
  test("equals the max idx per series after interleaved pushes from several hosts", async () => {
    const token = await api.register(username("multi"));
    const hosts = [uuid(), uuid(), uuid()];
    const tags = ["history", "kv", "my-plugin"];
    const sizes = {};
    const next = {};
    for (const h of hosts) for (const t of tags) next[`${h}/${t}`] = 0;
    // each host pushes its own series in small batches; hosts run concurrently
    let round = 0;
    const want = {};
    for (const h of hosts) want[h] = {};
    await Promise.all(
      hosts.map(async (h, hi) => {
        for (let step = 0; step < 8; step++) {
          const t = tags[(step + hi) % tags.length];
          const key = `${h}/${t}`;
          const n = 1 + ((step * 7 + hi * 3) % 13);
          const from = next[key];
          next[key] = from + n;
          ok(await api.push(token, series(h, t, from, from + n - 1)));
          want[h][t] = from + n - 1;
          round++;
        }
      }),
    );
    assert.ok(round > 0);
    assert.deepEqual((await api.status(token)).json, { hosts: want });
    for (const h of hosts) {
      for (const [t, last] of Object.entries(want[h])) {
        const all = await api.all(token, h, t);
        assert.deepEqual(all.map((r) => r.idx), Array.from({ length: last + 1 }, (_, i) => i));
        sizes[`${h}/${t}`] = all.length;
      }
    }
  });
});
