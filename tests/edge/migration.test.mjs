// v1 -> v2: a deployment whose D1 holds records in the v1 schema (one row per record) is
// migrated (`0002_store_v2.sql`) and served by the current worker. Every account reads back
// exactly what v1 answered, through the API, and D1 is emptied of records as they move into
// each account's store. One account's move is found half done (cut off between importing a
// step and deleting it from D1) and must finish without loss or duplicates.
import assert from "node:assert/strict";
import { createHash, pbkdf2Sync, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { Miniflare } from "miniflare";
import { applyMigrations, edgeDir, startWorker } from "./harness.mjs";
import { Api, record, uuid } from "./client.mjs";

const BIG_TIMESTAMP = "1732533145123456789"; // above 2^53: must survive exactly
let scratch;
let worker;
let api;
const users = [];

/** A v1 password hash (PBKDF2-SHA256, the worker's stored format). */
function passwordHash(password) {
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, 1000, 32, "sha256");
  const b64 = (b) => b.toString("base64").replace(/=+$/, "");
  return `pbkdf2-sha256$1000$${b64(salt)}$${b64(hash)}`;
}

/** What v1's `next` answered for a row: Atuin's record JSON with an empty host name. */
function v1Json(r) {
  const ts = r.timestamp === BIG_TIMESTAMP ? BIG_TIMESTAMP : String(r.timestamp);
  return `{"id":${JSON.stringify(r.id)},"idx":${r.idx},"host":{"id":${JSON.stringify(r.host.id)},"name":""},` +
    `"timestamp":${ts},"version":${JSON.stringify(r.version)},"tag":${JSON.stringify(r.tag)},` +
    `"data":{"data":${JSON.stringify(r.data.data)},"content_encryption_key":${JSON.stringify(r.data.content_encryption_key)}}}`;
}

/** Writes v1 rows straight into D1 (as the v1 worker stored them). */
async function seedV1(persist) {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    d1Databases: { DB: "00000000-0000-0000-0000-000000000000" },
    d1Persist: path.join(persist, "v3", "d1"),
  });
  const db = await mf.getD1Database("DB");
  const spec = [
    { name: "alice", series: [["h1", "history", 1500], ["h1", "kv", 3], ["h2", "history", 100]] },
    { name: "bob", series: [["h3", "history", 25, 200_000], ["h3", "kv", [0, 1, 5]]] },
    { name: "carol", series: [] },
  ];
  for (const [u, s] of spec.entries()) {
    const token = randomBytes(32).toString("base64url");
    const password = `password of ${s.name}`;
    const hosts = {};
    const records = [];
    for (const [h, tag, n, size = 40] of s.series) {
      hosts[h] ??= uuid();
      const idxs = Array.isArray(n) ? n : [...Array(n).keys()];
      for (const idx of idxs) {
        const r = record({ host: hosts[h], tag, idx, data: `v4.local.${"y".repeat(size)}${idx}` });
        if (s.name === "alice" && h === "h2" && idx === 7) r.timestamp = BIG_TIMESTAMP;
        records.push(r);
      }
    }
    await db.prepare("INSERT INTO users (id, username, username_lower, email, password, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)")
      .bind(u + 1, s.name, s.name, `${s.name}@example.test`, passwordHash(password)).run();
    await db.prepare("INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?1, ?2, 0)")
      .bind(createHash("sha256").update(token).digest("hex"), u + 1).run();
    const insert = records.map((r) =>
      db.prepare(`INSERT INTO records (user_id, host, tag, idx, id, timestamp, version, data, cek)
                  VALUES (?1, ?2, ?3, ?4, ?5, ${r.timestamp}, ?6, ?7, ?8)`)
        .bind(u + 1, r.host.id, r.tag, r.idx, r.id, r.version, r.data.data, r.data.content_encryption_key));
    for (let i = 0; i < insert.length; i += 200) await db.batch(insert.slice(i, i + 200));
    const last = {};
    for (const r of records) last[`${r.host.id}/${r.tag}`] = Math.max(last[`${r.host.id}/${r.tag}`] ?? -1, r.idx);
    for (const [k, idx] of Object.entries(last)) {
      const [host, tag] = k.split("/");
      await db.prepare("INSERT INTO store_idx_cache (user_id, host, tag, idx) VALUES (?1, ?2, ?3, ?4)").bind(u + 1, host, tag, idx).run();
    }
    users.push({ id: u + 1, name: s.name, password, token, records });
  }
  await mf.dispose();
}

before(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), "terrapin-migration-"));
  const persist = path.join(scratch, "state");
  const v1 = path.join(scratch, "v1-migrations");
  mkdirSync(persist);
  mkdirSync(v1);
  copyFileSync(path.join(edgeDir, "migrations", "0001_init.sql"), path.join(v1, "0001_init.sql"));
  applyMigrations(persist, v1);
  await seedV1(persist);
  // The upgrade: today's migrations, today's worker, the same state.
  worker = await startWorker({}, { persist });
  api = new Api(worker.url);
});
after(async () => {
  await worker?.dispose();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("v1 -> v2: every account reads back what v1 stored; D1 keeps no records", { timeout: 300_000 }, async () => {
  const d1 = await worker.d1();
  const count = async (sql, ...args) => (await d1.prepare(sql).bind(...args).first()).n;
  assert.equal(await count("SELECT count(*) AS n FROM users WHERE legacy_records = 1"), 2);

  // bob's move was cut off after its first step reached the store but before D1 forgot it
  const bob = users.find((u) => u.name === "bob");
  const bobStore = (await d1.prepare("SELECT store_id FROM users WHERE id = ?1").bind(bob.id).first()).store_id;
  const firstStep = bob.records.slice(0, 10).map(v1Json).join(",");
  assert.equal((await worker.store(bobStore, "/import", { method: "POST", body: `[${firstStep}]` })).status, 200);

  for (const u of users) {
    // status, as v1's idx cache said
    const expected = {};
    for (const r of u.records) {
      expected[r.host.id] ??= {};
      expected[r.host.id][r.tag] = Math.max(expected[r.host.id][r.tag] ?? -1, r.idx);
    }
    const status = await api.status(u.token);
    assert.equal(status.status, 200, status.text);
    assert.deepEqual(status.json, { hosts: expected }, u.name);
    // every record, byte for byte as v1 answered it, paging as atuin does
    const bySeries = {};
    for (const r of u.records) (bySeries[`${r.host.id}/${r.tag}`] ??= []).push(r);
    for (const [key, recs] of Object.entries(bySeries)) {
      const [host, tag] = key.split("/");
      const texts = [];
      for (let start = 0; ; ) {
        const page = await api.next(u.token, { host, tag, start, count: 100 });
        assert.equal(page.status, 200, page.text);
        if (page.json.length === 0) break;
        texts.push(page.text.slice(1, -1));
        start = page.json.at(-1).idx + 1;
      }
      const want = recs.sort((a, b) => a.idx - b.idx).map(v1Json).join(",");
      assert.equal(texts.join(","), want, `${u.name} ${key}`);
    }
    assert.equal(await count("SELECT count(*) AS n FROM records WHERE user_id = ?1", u.id), 0, u.name);
    assert.equal(await count("SELECT count(*) AS n FROM store_idx_cache WHERE user_id = ?1", u.id), 0, u.name);
  }
  assert.equal(await count("SELECT count(*) AS n FROM users WHERE legacy_records = 1"), 0);

  // the moved records behave like any: a duplicate is accepted, a conflict refused, the next
  // idx appended; the password still logs in
  const alice = users.find((u) => u.name === "alice");
  const r0 = alice.records[0];
  assert.equal((await api.push(alice.token, [r0])).status, 200);
  const conflict = await api.push(alice.token, [{ ...r0, id: uuid() }]);
  assert.equal(conflict.status, 409, conflict.text);
  const h1 = r0.host.id;
  assert.equal((await api.push(alice.token, [record({ host: h1, idx: 1500 })])).status, 200);
  assert.equal((await api.status(alice.token)).json.hosts[h1].history, 1500);
  const login = await api.req("POST", "/login", { body: { username: "alice", password: alice.password } });
  assert.equal(login.status, 200, login.text);
});
