// AI threads in the browser package, on the ai-session records atuin-client 18.24.4's own code
// wrote (tests/fixtures/atuin-ai): imported by one profile and synced through the real worker,
// read by a second profile after its sync. client.threads lists the threads atuin's sidecar
// made of them and gives each one's messages as atuin wrote them; its code (threads.js and its
// wasm) loads on first use only.
//   node --test tests/web/threads.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { suiteEnv, uniq } from "./harness.mjs";
import { payloads, phrase, recordsJson, threads } from "../fixtures/atuin-ai/fixture.mjs";

const env = suiteEnv();

const loaded = () => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname.split("/").pop());

test("ai-session records from atuin: synced, then listed and read as atuin folds them", async () => {
  const server = env.worker.url;
  const username = uniq("threads");
  const a = await env.profile();
  const added = await a.eval(
    async ({ server, username, phrase, recordsJson }) => {
      const c = await window.tw.Client.open({ server, profile: "threads-a" });
      await c.register({ username, email: `${username}@example.com`, password: "pw", key: phrase });
      const added = await c.importRecords(recordsJson);
      const r = await c.sync();
      return { added, uploaded: r.uploaded };
    },
    { server, username, phrase, recordsJson },
  );
  assert.deepEqual(added, { added: payloads.length, uploaded: payloads.length });

  const b = await env.profile();
  const got = await b.eval(
    async ({ server, username, phrase, loadedSrc }) => {
      const loaded = new Function(`return (${loadedSrc})()`);
      const c = await window.tw.Client.open({ server, profile: "threads-b" });
      await c.login({ username, password: "pw", key: phrase });
      const r = await c.sync();
      const before = loaded();
      const list = await c.threads.list();
      const full = [];
      for (const t of list) full.push(await c.threads.get(t.id));
      return { downloaded: r.downloaded, before, after: loaded(), list, full, missing: await c.threads.get("Codex:nope") };
    },
    { server, username, phrase, loadedSrc: loaded.toString() },
  );
  assert.equal(got.downloaded, payloads.length);
  assert.ok(!got.before.some((f) => f === "threads.js" || f === "terrapin_threads_bg.wasm"), `threads loaded before use: ${got.before}`);
  assert.ok(got.after.includes("threads.js") && got.after.includes("terrapin_threads_bg.wasm"), `${got.after}`);
  assert.equal(got.missing, undefined);

  // The threads atuin made, newest first, each with its messages in atuin's order.
  const shape = got.list.map((t, i) => {
    const { id, ...rest } = t;
    assert.equal(id, `${t.session.harness}:${t.session.session}`);
    const { messages, ...head } = got.full[i];
    assert.deepEqual(head, t);
    return { ...rest, messages: messages.map((m) => m.id) };
  });
  assert.deepEqual(shape, threads);

  // Each message as atuin wrote it, with the host of its record.
  const byId = new Map(payloads.map((p) => [p.message.id, p]));
  for (const m of got.full.flatMap((t) => t.messages)) {
    const p = byId.get(m.id);
    assert.ok(p, m.id);
    assert.deepEqual({ ...m, host: null }, p.message, p.name);
    assert.equal(m.host, p.host, p.name);
  }
  await a.context.close();
  await b.context.close();
});
