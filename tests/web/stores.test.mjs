// The package's scripts, aliases and variables (issue 26) in headless Chromium against the real
// worker: scripts created, edited and deleted in one profile reach another by sync; the API's
// errors; and the records the real atuin 18.24.4 wrote (tests/fixtures/atuin18: scripts, kv,
// legacy aliases and variables) list as atuin lists them.
//   node --test tests/web/stores.test.mjs
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { open, root, suiteEnv } from "./harness.mjs";

const env = suiteEnv();
const fixture = (f) => readFileSync(path.join(root, "tests/fixtures/atuin18", f), "utf8");

test("scripts: created, edited and deleted in one profile, seen in another after sync", async () => {
  const server = env.worker.url;
  const { p: a, username } = await env.registered("scripts");
  const made = await a.eval(async () => {
    const deploy = await c.scripts.set({ name: "deploy", description: "Ship it", shebang: "bash", tags: ["web", "ops", "web"], script: "echo v1" });
    const other = await c.scripts.set({ name: "backup", script: "tar czf /tmp/b.tgz ." });
    const edited = await c.scripts.set({ ...deploy, script: "echo v2", tags: ["prod"] });
    const report = await c.sync();
    return { deploy, other, edited, report, key: c.key(), list: c.scripts.list(), byName: c.scripts.get("deploy"), byId: c.scripts.get(deploy.id) };
  });
  assert.match(made.deploy.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a hyphenated UUID v7");
  // Tags come sorted, repeats dropped (atuin's unique index); absent fields are empty.
  assert.deepEqual(made.deploy, { id: made.deploy.id, name: "deploy", description: "Ship it", shebang: "bash", tags: ["ops", "web"], script: "echo v1" });
  assert.deepEqual(made.other, { id: made.other.id, name: "backup", description: "", shebang: "", tags: [], script: "tar czf /tmp/b.tgz ." });
  assert.deepEqual(made.edited, { ...made.deploy, tags: ["prod"], script: "echo v2" });
  assert.equal(made.report.uploaded, 3);
  // Sorted by name.
  assert.deepEqual(made.list.map((s) => s.name), ["backup", "deploy"]);
  assert.deepEqual(made.byName, made.edited);
  assert.deepEqual(made.byId, made.edited);

  const b = await env.profile();
  await open(b, server, "b");
  const seen = await b.eval(
    async ({ username, key }) => {
      await c.login({ username, password: "pw", key });
      const report = await c.sync();
      return { report, list: c.scripts.list() };
    },
    { username, key: made.key },
  );
  assert.equal(seen.report.downloaded, 3);
  assert.deepEqual(seen.list, [made.other, made.edited]);

  // Edited and deleted in the second profile: the first sees both after its sync.
  await b.eval(async (id) => {
    await c.scripts.set({ id, name: "ship", script: "echo v3" });
    const backup = c.scripts.get("backup");
    await c.scripts.delete(backup.id);
    await c.sync();
  }, made.deploy.id);
  const after = await a.eval(async () => {
    const report = await c.sync();
    return { report, list: c.scripts.list(), gone: c.scripts.get("backup") ?? null };
  });
  assert.equal(after.report.downloaded, 2);
  assert.equal(after.gone, null);
  assert.deepEqual(after.list, [{ id: made.deploy.id, name: "ship", description: "", shebang: "", tags: [], script: "echo v3" }]);

  // The views are kept beside the records: a reopened profile lists them before any key is set.
  const reopened = await a.eval(async ({ server }) => {
    c.close();
    const d = await window.tw.Client.open({ server, profile: "scripts" });
    return d.scripts.list().map((s) => s.name);
  }, { server });
  assert.deepEqual(reopened, ["ship"]);
  await a.context.close();
  await b.context.close();
});

test("scripts: what the API refuses, and why", async () => {
  const { p } = await env.registered("scripterr");
  const errors = await p.eval(async () => {
    const caught = async (f) => {
      try {
        await f();
        return "no error";
      } catch (e) {
        return { name: e.name, kind: e.kind, message: e.message };
      }
    };
    const s = await c.scripts.set({ name: "taken", script: "true" });
    const t = await c.scripts.set({ name: "free", script: "true" });
    const unknown = "0195c825-a35f-7982-bdb0-16168881cbc6";
    return {
      empty: await caught(() => c.scripts.set({ name: "  ", script: "x" })),
      taken: await caught(() => c.scripts.set({ name: "taken", script: "x" })),
      renameOnto: await caught(() => c.scripts.set({ ...t, name: "taken" })),
      // An id no live script has: created with it (Undo of a delete restores the same id).
      unknownId: await c.scripts.set({ id: unknown, name: "n", script: "x" }),
      deleted: await (async () => {
        await c.scripts.delete(unknown);
        const gone = c.scripts.get(unknown) === undefined;
        const back = await c.scripts.set({ id: unknown, name: "n", script: "y" });
        await c.scripts.delete(unknown);
        return { gone, back: [back.id, back.script] };
      })(),
      badId: await caught(() => c.scripts.set({ id: "nope", name: "n", script: "x" })),
      noName: await caught(() => c.scripts.set({ script: "x" })),
      badTags: await caught(() => c.scripts.set({ name: "n", script: "x", tags: "a,b" })),
      deleteUnknown: await caught(() => c.scripts.delete(unknown)),
      deleteBadId: await caught(() => c.scripts.delete("nope")),
      // Its own name is no clash; null fields are empty.
      keepName: await c.scripts.set({ ...s, description: null, script: "false" }),
      count: c.scripts.list().length,
      records: JSON.parse(await c.exportRecords()).filter((r) => r.tag === "script").length,
    };
  });
  const invalid = (message) => ({ name: "TerrapinError", kind: "invalid", message });
  assert.deepEqual(errors.empty, invalid("a script needs a name"));
  assert.deepEqual(errors.taken, invalid("a script named `taken` already exists"));
  assert.deepEqual(errors.renameOnto, invalid("a script named `taken` already exists"));
  assert.deepEqual([errors.unknownId.id, errors.unknownId.name], ["0195c825-a35f-7982-bdb0-16168881cbc6", "n"]);
  assert.deepEqual(errors.deleted, { gone: true, back: ["0195c825-a35f-7982-bdb0-16168881cbc6", "y"] });
  assert.equal(errors.badId.kind, "invalid");
  assert.match(errors.badId.message, /^script: id: /);
  assert.deepEqual(errors.noName, invalid("script: missing field `name`"));
  assert.equal(errors.badTags.kind, "invalid");
  assert.match(errors.badTags.message, /^script: tags: /);
  assert.deepEqual(errors.deleteUnknown, invalid("no script has the id 0195c825-a35f-7982-bdb0-16168881cbc6"));
  assert.equal(errors.deleteBadId.kind, "invalid");
  assert.match(errors.deleteBadId.message, /^script id: /);
  assert.equal(errors.keepName.script, "false");
  assert.equal(errors.keepName.description, "");
  assert.equal(errors.count, 2);
  // Nothing refused was written: two creates and one update.
  assert.equal(errors.records, 7);
  await p.context.close();
});

test("records the real atuin CLI wrote: scripts, kv, aliases and variables list as atuin lists them", async () => {
  const { p } = await env.registered("atuin18");
  const records = fixture("records.json");
  const key = fixture("key").trim();
  // What the page's client `c` holds, read in the page.
  const read = (c) => ({
    scripts: c.scripts.list(),
    ship: c.scripts.get("ship"),
    aliases: c.aliases.list(),
    vars: c.vars.list(),
    alias: c.aliases.get("k"),
    var: c.vars.get("PROMPT_MODE"),
    deletedAlias: c.aliases.get("gp") ?? null,
    deletedVar: c.vars.get("PAGER") ?? null,
    kv: c.kv.list(),
    unreadable: c.unreadableCount(),
  });
  const readIn = () => p.page.evaluate(`(${read})(window.c)`);
  const n = await p.eval(
    async ({ records, key }) => {
      await c.setKey(key);
      return c.importRecords(records);
    },
    { records, key },
  );
  const seen = await readIn();
  assert.equal(n, 20);
  assert.equal(seen.unreadable, 0);
  // `atuin scripts get ship` / `get greet` (expected-scripts-get.txt).
  assert.deepEqual(seen.scripts, [
    { id: "c8064e5e-c391-4fd0-b173-03d876ba5b0a", name: "greet", description: "", shebang: "python3", tags: [], script: 'print("grüße, 世界 🐢")\n' },
    { id: "7152cfcb-98e5-4b28-8d47-4e04cea0e24c", name: "ship", description: "Ship the site", shebang: "bash", tags: ["ops", "web"], script: 'rsync -a --delete site/ web:/srv/www/\necho "shipped {{ env }}"\n' },
  ]);
  assert.deepEqual(seen.ship, seen.scripts[1]);
  // `atuin dotfiles alias list` and `var list` (expected-aliases.txt, expected-vars.txt).
  const aliases = fixture("expected-aliases.txt").trim().split("\n");
  assert.deepEqual(seen.aliases.map((a) => `${a.name}=${a.value}`), aliases);
  assert.deepEqual(seen.alias, { name: "k", value: "kubectl --context prod" });
  assert.deepEqual(seen.vars, [
    { name: "EDITOR", value: "hx", export: true },
    { name: "PROMPT_MODE", value: 'fancy "quoted" $x', export: false },
  ]);
  const shown = seen.vars.map((v) => `${v.export ? "export " : ""}${v.name}=${v.value}`);
  assert.deepEqual(shown, fixture("expected-vars.txt").trim().split("\n"));
  assert.deepEqual(seen.var, seen.vars[1]);
  assert.equal(seen.deletedAlias, null);
  assert.equal(seen.deletedVar, null);
  // `atuin kv get` (expected-kv.tsv).
  const kv = fixture("expected-kv.tsv").trim().split("\n").map((l) => l.split("\t"));
  assert.deepEqual(
    seen.kv.map((e) => [`${e.namespace}:${e.key}`, e.value]).sort(),
    kv.sort(),
  );

  // Records stored before the key is known are read once it is set; a reopened profile has
  // them at once, from the kept views.
  const before = await p.eval(
    async ({ records }) => {
      await window.tw.deleteProfile("atuin18-late");
      window.c = await window.tw.Client.open({ server: "http://127.0.0.1:9", profile: "atuin18-late" });
      await c.importRecords(records);
      return c.scripts.list().length;
    },
    { records },
  );
  assert.equal(before, 0);
  await p.eval((key) => c.setKey(key), key);
  assert.deepEqual(await readIn(), seen);
  await p.eval(async () => {
    c.close();
    window.c = await window.tw.Client.open({ server: "http://127.0.0.1:9", profile: "atuin18-late" });
  });
  assert.deepEqual(await readIn(), seen);
  await p.context.close();
});
