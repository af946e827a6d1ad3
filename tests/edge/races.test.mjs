// Concurrency against the real worker (workerd, local D1 and Durable Objects): pushes racing
// each other, store deletes and account deletes. Each account's store runs one request at a
// time, so every check and write of a push happens with nothing in between.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { workerSuite } from "./harness.mjs";
import { record, series, username, uuid } from "./client.mjs";

// Cheap password hashes: this file makes many logins.
const suite = workerSuite({ PBKDF2_ITERATIONS: "1000", LOGIN_MAX_FAILURES: "1000" });
const { api } = suite;

const no5xx = (answers) => {
  for (const r of answers) assert.ok(r.status < 500, `${r.status} ${r.text}`);
};

async function storeIdOf(name) {
  const row = await (await suite.worker.d1()).prepare("SELECT store_id FROM users WHERE username = ?1").bind(name).first();
  return row.store_id;
}

/** Status equals the highest idx the records hold, series by series. */
async function assertStatusMatchesRecords(token) {
  const status = (await api.status(token)).json;
  for (const [host, tags] of Object.entries(status.hosts)) {
    for (const [tag, last] of Object.entries(tags)) {
      const all = await api.all(token, host, tag, 1000);
      assert.equal(Math.max(...all.map((r) => r.idx)), last, `${host}/${tag}`);
    }
  }
  return status;
}

describe("races", () => {
  test("ten concurrent pushes to one slot: exactly one 200, the rest 409", async () => {
    const token = await api.register(username("slot"));
    const host = uuid();
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => api.push(token, [record({ host, idx: round })])),
      );
      no5xx(answers);
      const codes = answers.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, ...Array(9).fill(409)], JSON.stringify(answers.map((r) => r.text)));
      for (const r of answers.filter((a) => a.status === 409)) {
        assert.match(r.json.reason, new RegExp(`${host}/history at idx ${round}`));
      }
    }
    const all = await api.all(token, host, "history");
    assert.deepEqual(all.map((r) => r.idx), [0, 1, 2, 3, 4]);
  });

  test("pushes racing DELETE /api/v0/store: status always equals the records' max idx", async () => {
    const token = await api.register(username("wipe"));
    const hosts = [uuid(), uuid(), uuid()];
    for (let round = 0; round < 4; round++) {
      const pushes = hosts.flatMap((h, i) =>
        Array.from({ length: 4 }, (_, k) => api.push(token, series(h, i % 2 ? "kv" : "history", k * 50, k * 50 + 49))),
      );
      const answers = await Promise.all([...pushes, api.req("DELETE", "/api/v0/store", { token }), ...pushes.slice(0, 2)]);
      no5xx(answers);
      await assertStatusMatchesRecords(token);
    }
    // and a final delete leaves nothing
    assert.equal((await api.req("DELETE", "/api/v0/store", { token })).status, 200);
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
  });

  test("pushes and logins racing DELETE /account leave nothing of the user anywhere", async () => {
    for (let round = 0; round < 3; round++) {
      const name = username("gone");
      const password = "racing password";
      const token = await api.register(name, password);
      const storeId = await storeIdOf(name);
      const host = uuid();
      await api.push(token, series(host, "history", 0, 99));
      const pushes = Array.from({ length: 12 }, (_, k) => api.push(token, series(host, "history", 100 + k * 10, 109 + k * 10)));
      const logins = Array.from({ length: 6 }, () =>
        api.req("POST", "/login", { body: { username: name, password } }),
      );
      const del = api.req("DELETE", "/account", { token, body: { password } });
      const answers = await Promise.all([...pushes.slice(0, 6), ...logins, del, ...pushes.slice(6)]);
      no5xx(answers);
      assert.equal((await del).status, 200, (await del).text);
      // nothing in D1
      const d1 = await suite.worker.d1();
      for (const [table, where, arg] of [
        ["users", "username = ?1", name],
        ["sessions", "user_id NOT IN (SELECT id FROM users)", undefined],
        ["records", "user_id NOT IN (SELECT id FROM users)", undefined],
        ["store_idx_cache", "user_id NOT IN (SELECT id FROM users)", undefined],
        ["login_attempts", "username_lower = ?1", name.toLowerCase()],
      ]) {
        const stmt = d1.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`);
        const { n } = await (arg === undefined ? stmt : stmt.bind(arg)).first();
        assert.equal(n, 0, `${table} still holds rows of ${name}`);
      }
      // nothing in the store, which refuses anything later
      const stats = await suite.worker.store(storeId, "/stats");
      assert.deepEqual([stats.json.closed, stats.json.pages, stats.json.records], [true, 0, 0]);
      const late = await suite.worker.store(storeId, "/push", { method: "POST", body: JSON.stringify(series(host, "history", 500, 501)) });
      assert.equal(late.status, 403);
      assert.equal((await suite.worker.store(storeId, "/stats")).json.records, 0);
      // every session of the user is gone
      assert.equal((await api.status(token)).status, 403);
      for (const l of logins) {
        const r = await l;
        if (r.status === 200) assert.equal((await api.status(r.json.session)).status, 403);
      }
    }
  });
});
