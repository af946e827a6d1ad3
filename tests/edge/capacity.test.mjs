// Many accounts on one deployment: 1,000 users, each with records in its own store. Every
// status is that user's own, and no user reads another's records.
import assert from "node:assert/strict";
import { test } from "node:test";
import { workerSuite } from "./harness.mjs";
import { series, username, uuid } from "./client.mjs";

const USERS = 1000;
const PARALLEL = 16;
// Registration hashes passwords: keep that cheap here, it is not what is tested.
const suite = workerSuite({ PBKDF2_ITERATIONS: "1000" });
const { api } = suite;

/** Runs `fn(i)` for i in 0..n with at most `width` in flight. */
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

test(`${USERS} users: each status is its own, no records cross accounts`, { timeout: 600_000 }, async () => {
  const users = [];
  await pool(USERS, PARALLEL, async (i) => {
    const token = await api.register(username(`cap${i}`));
    const host = uuid();
    // user i holds (i % 7) + 1 history records and, for every third user, two kv records
    const last = i % 7;
    const r = await api.push(token, [...series(host, "history", 0, last), ...(i % 3 === 0 ? series(host, "kv", 0, 1) : [])]);
    assert.equal(r.status, 200, r.text);
    users[i] = { token, host, last };
  });
  await pool(USERS, PARALLEL, async (i) => {
    const u = users[i];
    const want = { [u.host]: { history: u.last, ...(i % 3 === 0 ? { kv: 1 } : {}) } };
    const s = await api.status(u.token);
    assert.equal(s.status, 200, s.text);
    assert.deepEqual(s.json, { hosts: want }, `user ${i}`);
    // someone else's host reads as empty through this account
    const other = users[(i + 1) % USERS];
    const theirs = await api.next(u.token, { host: other.host, tag: "history", count: 100 });
    assert.deepEqual(theirs.json, [], `user ${i} sees user ${(i + 1) % USERS}`);
    const mine = await api.next(u.token, { host: u.host, tag: "history", count: 100 });
    assert.deepEqual(mine.json.map((r) => r.idx), [...Array(u.last + 1).keys()]);
  });
  const d1 = await suite.worker.d1();
  const { n, stores } = await d1.prepare("SELECT count(*) AS n, count(DISTINCT store_id) AS stores FROM users").first();
  assert.ok(n >= USERS);
  assert.equal(stores, n, "every account has a store of its own");
});
