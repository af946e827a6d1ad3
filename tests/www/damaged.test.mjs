// The viewer against the real worker holding damaged series (imported with holes, as records
// moved from atuin-server can be): the browser syncs every other series, the Store tab names the
// holes, and once the server has the records again the next sync completes the series.
//   node --test tests/www/damaged.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { registerInViewer, suiteEnv, syncedStamp, waitSynced } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const env = suiteEnv();

/** Records of another machine, written under `key` in a profile that never syncs: wire JSON texts by idx. */
async function otherMachine(page, key, name, n) {
  return page.evaluate(
    async ({ key, name, n }) => {
      const Client = window.__terrapin.client.constructor;
      const c = await Client.open({ server: location.origin, profile: `${name}-${Math.random()}` });
      await c.setKey(key);
      const entries = Array.from({ length: n }, (_, i) => ({ command: `${name} ${i}`, timestamp: 1_790_000_000_000 + i * 1000, hostname: `${name}:me` }));
      await c.history.addMany(entries);
      // Timestamps are 64-bit nanoseconds: keep their digits (JSON.parse source text).
      const recs = JSON.parse(await c.exportRecords(), (k, v, ctx) => (k === "timestamp" ? ctx.source : v));
      const host = c.hostId;
      c.close();
      return { host, records: recs.map((r) => JSON.stringify(r).replace(/"timestamp":"(\d+)"/, '"timestamp":$1')) };
    },
    { key, name, n },
  );
}

test("a series with holes on the server: every other series syncs, the Store tab shows the damage; filled, the next sync completes it", async () => {
  const username = `holes${Date.now().toString(36)}`;
  const { page } = await env.profile();
  const key = await registerInViewer(page, { username, password: PASSWORD });

  // Two other machines: one healthy, one whose series the server holds with holes at its start
  // (0–1) and in its middle (10–14).
  const healthy = await otherMachine(page, key, "healthy", 30);
  const holey = await otherMachine(page, key, "holey", 40);
  const gone = new Set([0, 1, 10, 11, 12, 13, 14]);
  const storeId = (await (await env.worker.d1()).prepare("SELECT store_id FROM users WHERE username = ?1").bind(username).first()).store_id;
  const importRecords = async (texts) => {
    const r = await env.worker.store(storeId, "/import", { method: "POST", body: `[${texts.join(",")}]` });
    assert.equal(r.status, 200, r.text);
  };
  await importRecords(healthy.records);
  await importRecords(holey.records.filter((_, i) => !gone.has(i)));

  // This browser writes an entry of its own: it goes up in the same sync.
  await page.evaluate(() => window.__terrapin.client.history.add({ command: "echo mine" }));
  let since = await syncedStamp(page);
  await page.click("#sync-btn");
  await waitSynced(page, since);
  assert.equal(await page.evaluate(() => document.body.dataset.damaged), "1");
  assert.match(await page.textContent("#sync-status"), /1 damaged series/);
  assert.equal(await page.evaluate(() => window.__terrapin.client.history.count()), 1 + 30 + 40 - gone.size);
  const status = await page.evaluate(() => window.__terrapin.client.remoteStatus());
  const me = await page.evaluate(() => window.__terrapin.client.hostId);
  assert.equal(status.hosts[me].history, 0, "our own entry was uploaded");

  await page.click("#tab-store");
  await page.locator("#damage").waitFor({ state: "visible" });
  const rows = await page.$$eval("#damage-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0][0], holey.host);
  assert.deepEqual(rows[0].slice(1, 3), ["history", "0–1, 10–14"]);
  assert.match(rows[0][3], /server lacks these records/);
  const states = await page.$$eval("#status-table tbody tr", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const row = (host) => states.find((r) => r[0].startsWith(host));
  assert.deepEqual(row(holey.host).slice(3), ["39", "39", "in sync, 7 missing on the server"]);
  assert.deepEqual(row(healthy.host).slice(3), ["29", "29", "in sync"]);
  await env.shot(page, "damaged-store");
  // The viewer keeps working: search finds records from both sides of the holes.
  await page.click("#tab-search");
  await page.fill("#q", "holey 15");
  await page.waitForFunction(() => Number(document.body.dataset.results) === 1);

  // The server gets the missing records back: the next sync fills the holes.
  await importRecords(holey.records.filter((_, i) => gone.has(i)));
  since = await syncedStamp(page);
  await page.click("#sync-btn");
  await waitSynced(page, since);
  assert.equal(await page.evaluate(() => document.body.dataset.damaged), "0");
  assert.equal(await page.evaluate(() => window.__terrapin.client.history.count()), 1 + 30 + 40);
  assert.deepEqual(await page.evaluate(() => window.__terrapin.client.missing()), []);
  await page.click("#tab-store");
  await page.locator("#damage").waitFor({ state: "hidden" });
});
