// The legacy migration in the browser package, on the records.db the real atuin 17.2.1 wrote
// (tests/fixtures/atuin17): migrateLegacy reads the SQLite file (sql.js, loaded only then),
// decrypts and re-encrypts every record, the import syncs, and another profile reads the kv
// values (the second logging in with the key's words, which loads the extras module that reads
// them). A second import adds nothing; a broken chain or a wrong key names its records and
// nothing is imported.
//   node --test tests/web/legacy.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { suiteEnv, uniq } from "./harness.mjs";
import { expected, hostId, legacyJson, phrase, recordsDb } from "../fixtures/atuin17/fixture.mjs";

const dbBytes = [...recordsDb];

const env = suiteEnv();

const loaded = () => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname.split("/").pop());

test("records.db from atuin 17.2.1: migrated, synced, read by a second profile; again adds nothing", async () => {
  const server = env.worker.url;
  const username = uniq("legacy");
  const a = await env.profile();
  const got = await a.eval(
    async ({ server, username, phrase, dbBytes, loadedSrc }) => {
      const loaded = new Function(`return (${loadedSrc})()`);
      const c = await window.tw.Client.open({ server, profile: "legacy-a" });
      await c.register({ username, email: `${username}@example.com`, password: "pw", key: phrase });
      await c.sync();
      const before = loaded();
      const m = await window.tw.migrateLegacy(new Blob([new Uint8Array(dbBytes)]), c.key());
      const added = await c.importRecords(m.records);
      const report = await c.sync();
      const again = await window.tw.migrateLegacy(new Uint8Array(dbBytes), phrase);
      const addedAgain = await c.importRecords(again.records);
      const report2 = await c.sync();
      return {
        before, after: loaded(), series: m.series, added, addedAgain, uploaded: report.uploaded,
        uploaded2: report2.uploaded, kv: c.kv.list(), unreadable: c.unreadableCount(),
      };
    },
    { server, username, phrase, dbBytes, loadedSrc: loaded.toString() },
  );
  assert.ok(!got.before.includes("sqlite.wasm") && !got.before.includes("legacy-db.js"), `SQLite loaded before use: ${got.before}`);
  assert.ok(got.after.includes("sqlite.wasm") && got.after.includes("legacy-db.js"), `${got.after}`);
  assert.equal(got.series.length, 1);
  assert.equal(got.series[0].host.replaceAll("-", ""), hostId);
  assert.equal(got.series[0].tag, "kv");
  assert.equal(got.series[0].records, 7);
  assert.notEqual(got.series[0].migratedHost.replaceAll("-", ""), hostId);
  assert.equal(got.added, 7);
  assert.equal(got.uploaded, 7);
  assert.equal(got.addedAgain, 0);
  assert.equal(got.uploaded2, 0);
  assert.equal(got.unreadable, 0);
  assert.deepEqual(got.kv, expected);

  const b = await env.profile();
  const seen = await b.eval(
    async ({ server, username, phrase, loadedSrc }) => {
      const loaded = new Function(`return (${loadedSrc})()`);
      const c = await window.tw.Client.open({ server, profile: "legacy-b" });
      const before = loaded();
      const refused = (key) => c.login({ username, password: "pw", key }).then(() => "logged in", (e) => `${e.name} ${e.kind}: ${e.message}`);
      const words = phrase.trim().split(/\s+/);
      const bad = [await refused(words.slice(1).join(" ")), await refused([...words].reverse().join(" "))];
      await c.login({ username, password: "pw", key: phrase });
      const r = await c.sync();
      return { before, after: loaded(), bad, downloaded: r.downloaded, kv: c.kv.list(), unreadable: c.unreadableCount() };
    },
    { server, username, phrase, loadedSrc: loaded.toString() },
  );
  // A key given as words is read by the extras module, loaded the first time; its errors are
  // the client's.
  assert.ok(!seen.before.includes("extras.js"), `extras loaded before use: ${seen.before}`);
  assert.ok(seen.after.includes("extras.js"), `${seen.after}`);
  assert.deepEqual(seen.bad, [
    "TerrapinError bad_key: the Atuin key is not valid: a key phrase has 24 words, this one has 23",
    "TerrapinError bad_key: the Atuin key is not valid: the key phrase's checksum does not match (a word is wrong or out of order)",
  ]);
  assert.equal(seen.downloaded, 7);
  assert.equal(seen.unreadable, 0);
  assert.deepEqual(seen.kv, expected);
  await a.context.close();
  await b.context.close();
});

test("JSON input; a broken chain and a wrong key name their records and import nothing", async () => {
  const p = await env.profile();
  const legacy = JSON.parse(legacyJson);
  const res = await p.eval(
    async ({ legacyJson, gapJson, phrase }) => {
      const catching = (f) => f().then(() => null, (e) => ({ kind: e.kind, message: e.message, problems: e.problems, series: e.series }));
      const ok = await window.tw.migrateLegacy(legacyJson, phrase);
      const gap = await catching(() => window.tw.migrateLegacy(gapJson, phrase));
      const wrong = await catching(async () => window.tw.migrateLegacy(legacyJson, await window.tw.generateKey()));
      const notDb = await catching(() => window.tw.migrateLegacy(new TextEncoder().encode("SQLite format 3\0 but not really"), phrase));
      return { ok: JSON.parse(ok.records).length, gap, wrong, notDb };
    },
    { legacyJson, gapJson: JSON.stringify(legacy.filter((_, i) => i !== 2)), phrase },
  );
  assert.equal(res.ok, 7);
  assert.equal(res.gap.kind, "legacy");
  assert.deepEqual(res.gap.problems, [{ kind: "missing_parent", record: uuid(legacy[3].id), parent: uuid(legacy[2].id) }]);
  assert.equal(res.gap.series[0].records, 6);
  assert.equal(res.wrong.kind, "legacy");
  assert.deepEqual(res.wrong.problems.map((x) => [x.kind, x.record]).sort(), legacy.map((r) => ["undecryptable", uuid(r.id)]).sort());
  assert.match(res.wrong.message, /wrong key for record/);
  assert.ok(res.notDb, "a file with the SQLite magic but no database is refused");
  await p.context.close();
});

function uuid(simple) {
  return `${simple.slice(0, 8)}-${simple.slice(8, 12)}-${simple.slice(12, 16)}-${simple.slice(16, 20)}-${simple.slice(20)}`;
}
