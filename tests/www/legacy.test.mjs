// The viewer's Import tab on an old Atuin store: the records.db the real atuin 17.2.1 wrote
// (tests/fixtures/atuin17) is dropped on the app, migrated (series and counts shown), synced
// through the real worker, and a second browser profile sees the kv values in its Store tab.
// Dropping it again adds nothing; a records.db with a broken chain lists the problem and
// writes nothing. With ATUIN_BIN (atuin 18.24.x), an atuin host logged in to the same account
// prints the values with `atuin kv get`.
//   node --test tests/www/legacy.test.mjs
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import initSqlJs from "sql.js";
import { connect, registerInViewer, suiteEnv, syncedStamp, waitSynced } from "./harness.mjs";
import { atuinHost, needAtuin } from "../atuin-host.mjs";
import { expected as fixtureKv, hostId, phrase, recordsDb } from "../fixtures/atuin17/fixture.mjs";

// [namespace, key, value] rows, as the kv table shows them.
const expected = fixtureKv.map((e) => [e.namespace, e.key, e.value]);
const PASSWORD = "correct horse battery";
const username = `legacy${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

const env = suiteEnv();

const kvRows = (page) => page.$$eval("#kv-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
async function dropDb(page, buffer, name = "records.db") {
  await page.evaluate(() => {
    delete document.body.dataset.legacyImported;
    delete document.body.dataset.legacyProblems;
  });
  await page.setInputFiles("#import-file", { name, mimeType: "application/vnd.sqlite3", buffer });
  await page.waitForFunction(() => document.body.dataset.legacyImported !== undefined || document.body.dataset.legacyProblems !== undefined);
  return page.evaluate(() => ({ imported: document.body.dataset.legacyImported, problems: document.body.dataset.legacyProblems }));
}

let alice;
test("a dropped atuin 17 records.db is migrated, shown, synced; dropping it again adds nothing", async () => {
  alice = await env.profile();
  const { page } = alice;
  await registerInViewer(page, { username, password: PASSWORD, key: phrase });
  let since = await syncedStamp(page);
  const got = await dropDb(page, recordsDb);
  assert.deepEqual(got, { imported: "7", problems: undefined });
  await waitSynced(page, since);
  const series = await page.$$eval("#legacy-series tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(series.length, 1);
  assert.deepEqual(series[0].slice(0, 3), [hostId.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"), "kv", "7"]);
  assert.match(await page.textContent("#import-result"), /7 records in 1 series decrypted and re-encrypted; 7 new\.$/);
  await env.shot(page, "legacy-1-imported");

  await page.click("#tab-store");
  await page.locator("#kv-table tbody tr td").first().waitFor();
  assert.deepEqual(await kvRows(page), expected);

  since = await syncedStamp(page);
  assert.deepEqual(await dropDb(page, recordsDb), { imported: "0", problems: undefined });
  assert.match(await page.textContent("#import-result"), /all were already here/);
  const remote = await page.evaluate(async () => (await window.__terrapin.client.remoteStatus()).hosts);
  const kvSeries = Object.values(remote).filter((tags) => "kv" in tags);
  assert.deepEqual(kvSeries.map((t) => t.kv), [6], "one kv series on the server, idx 0..6");
});

test("a second browser profile sees the migrated kv values", async () => {
  const bob = await env.profile();
  const { page } = bob;
  await connect(page, { username, password: PASSWORD, key: phrase });
  await page.locator("#view-app").waitFor();
  await waitSynced(page, 0);
  await page.click("#tab-store");
  await page.locator("#kv-table tbody tr td").first().waitFor();
  assert.deepEqual(await kvRows(page), expected);
  assert.equal(await page.evaluate(() => window.__terrapin.client.unreadableCount()), 0);
  await env.shot(page, "legacy-2-second-profile");
  await bob.context.close();
});

test("a records.db with a broken chain lists the problem and writes nothing", async () => {
  const SQL = await initSqlJs();
  const db = new SQL.Database(recordsDb);
  const [[gone]] = db.exec("SELECT id FROM records ORDER BY rowid LIMIT 1 OFFSET 2")[0].values;
  const [[orphan]] = db.exec("SELECT id FROM records WHERE parent = ?", [gone])[0].values;
  db.run("DELETE FROM records WHERE id = ?", [gone]);
  const broken = Buffer.from(db.export());
  db.close();
  const { page } = alice;
  const before = await page.evaluate(async () => (await window.__terrapin.client.status()).hosts);
  assert.deepEqual(await dropDb(page, broken, "broken-records.db"), { imported: undefined, problems: "1" });
  const problems = await page.$$eval("#legacy-problems li", (lis) => lis.map((li) => li.textContent));
  const dashed = (s) => s.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
  assert.deepEqual(problems, [`record ${dashed(orphan)}: its parent ${dashed(gone)} is missing`]);
  assert.match(await page.textContent("#import-result"), /was not migrated: 1 problem \(nothing was written\)/);
  assert.deepEqual(await page.evaluate(async () => (await window.__terrapin.client.status()).hosts), before);
  await env.shot(page, "legacy-3-broken");
});

test("atuin 18 logged in to the same account prints the values with `atuin kv get`", { skip: needAtuin }, async () => {
  const h = mkdtempSync(path.join(tmpdir(), "terrapin-legacy-atuin-"));
  try {
    const atuin = atuinHost(h, env.worker.url).atuinSync;
    atuin("login", "-u", username, "-p", PASSWORD, "-k", phrase);
    atuin("sync");
    for (const [ns, k, v] of expected) assert.equal(atuin("kv", "get", "-n", ns, k).replace(/\n$/, ""), v, `${ns}/${k}`);
  } finally {
    rmSync(h, { recursive: true, force: true });
  }
});

