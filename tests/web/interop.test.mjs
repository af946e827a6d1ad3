// Interop: what the browser package writes decrypts natively with terrapin-core (the
// terrapin-pull host of tests/); history written by the real atuin CLI (ATUIN_BIN, atuin
// 18.24.x) shows up in the browser; scripts and kv go both ways: written in the browser, run
// and read by the CLI after `atuin sync`; made, edited and deleted by the CLI, seen so in the
// browser after its sync.
//   node --test tests/web/
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { open, root, suiteEnv, uniq } from "./harness.mjs";
import { atuinHost, needAtuin } from "../atuin-host.mjs";

const env = suiteEnv();

test("records written in the browser decrypt natively with terrapin-core", async () => {
  const server = env.worker.url;
  const { p, username } = await env.registered("interop");
  const key = await p.eval(async () => {
    await c.history.add({ command: "echo from the browser", cwd: "/tmp" });
    await c.history.add({ command: "git log --oneline", cwd: "/src" });
    await c.kv.set("web", "theme", "dark");
    await c.sync();
    return c.key();
  });
  const out = execFileSync(
    "cargo",
    ["run", "-q", "-p", "terrapin-tests", "--bin", "terrapin-pull", "--", server, username, "pw", key],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = out.trim().split("\n").sort();
  assert.deepEqual(lines, ["history\techo from the browser", "history\tgit log --oneline", "kv\tweb\ttheme\tdark"]);
  await p.context.close();
});

test("history written by the real atuin CLI shows up in the browser", { skip: needAtuin }, async () => {
  const server = env.worker.url;
  const username = uniq("atuin");
  const h = mkdtempSync(path.join(tmpdir(), "terrapin-atuin-"));
  try {
    const host = atuinHost(h, server);
    const atuin = host.atuinSync;
    atuin("register", "-u", username, "-e", `${username}@example.invalid`, "-p", "pw");
    writeFileSync(host.env.HISTFILE, "echo one\nls -la\ngit status\n");
    atuin("import", "bash");
    atuin("kv", "set", "-k", "colour", "blue"); // namespace "default"
    atuin("sync");
    const key = atuin("key", "--base64").trim();
    const p = await env.profile();
    const seen = await p.eval(
      async ({ server, username, key }) => {
        const c = await window.tw.Client.open({ server, profile: "atuin" });
        await c.login({ username, password: "pw", key });
        await c.sync();
        return { cmds: c.history.query({ limit: 100 }).entries.map((e) => e.command).sort(), kv: c.kv.get("default", "colour"), unreadable: c.unreadableCount() };
      },
      { server, username, key },
    );
    assert.deepEqual(seen.cmds, ["echo one", "git status", "ls -la"]);
    assert.equal(seen.kv, "blue");
    assert.equal(seen.unreadable, 0);
    await p.context.close();
  } finally {
    rmSync(h, { recursive: true, force: true });
  }
});

/** A CLI host on the worker in a fresh directory; `done()` removes it. */
function cliHost(name) {
  const dir = mkdtempSync(path.join(tmpdir(), "terrapin-atuin-"));
  const host = atuinHost(dir, env.worker.url, name);
  return { host, atuin: host.atuinSync, dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test("a script made and edited in the browser runs on a CLI host; kv set there reads back with atuin kv get", { skip: needAtuin }, async () => {
  const { p, username } = await env.registered("clirun");
  const made = await p.eval(async () => {
    const s = await c.scripts.set({ name: "hello", description: "Say it", shebang: "/usr/bin/env bash", tags: ["demo", "web"], script: 'echo "first body"' });
    // The first body reaches the server too: the CLI replays the create, then the edit.
    await c.sync();
    const edited = await c.scripts.set({ ...s, script: 'echo "edited body $((6 * 7))"' });
    await c.scripts.set({ name: "plain", script: "echo plain" });
    await c.kv.set("default", "colour", "teal");
    await c.kv.set("web", "theme", "dark");
    await c.kv.set("web", "theme", "light");
    await c.sync();
    return { id: edited.id, key: c.key() };
  });
  const { atuin, done } = cliHost("cli");
  try {
    atuin("login", "-u", username, "-p", "pw", "-k", made.key);
    atuin("sync");
    assert.equal(atuin("scripts", "run", "hello"), "edited body 42\n");
    // No shebang: atuin runs it with bash.
    assert.equal(atuin("scripts", "run", "plain"), "plain\n");
    assert.equal(
      atuin("scripts", "get", "hello"),
      ["---", "name: hello", `id: ${made.id}`, "description: |", "  Say it", "tags:", "  - demo", "  - web", "shebang: /usr/bin/env bash", "script: |", '  echo "edited body $((6 * 7))"', ""].join("\n"),
    );
    assert.equal(atuin("kv", "get", "colour"), "teal\n");
    assert.equal(atuin("kv", "get", "-n", "web", "theme"), "light\n");

    // Deleted in the browser: the CLI has no such script after its next sync.
    await p.eval(async (id) => {
      await c.scripts.delete(id);
      await c.kv.delete("web", "theme");
      await c.sync();
    }, made.id);
    atuin("sync");
    assert.throws(() => atuin("scripts", "run", "hello"), /script not found/);
    assert.equal(atuin("kv", "get", "-n", "web", "theme"), "");
    assert.match(atuin("scripts", "list"), /^Available scripts:\n- plain \n$/);
  } finally {
    done();
    await p.context.close();
  }
});

test("scripts and kv made, edited and deleted by the CLI appear, change and vanish in the browser", { skip: needAtuin }, async () => {
  const { atuin, dir, done } = cliHost("cli");
  const username = uniq("cliscripts");
  const file = (name, text) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const p = await env.profile();
  try {
    atuin("register", "-u", username, "-e", `${username}@example.invalid`, "-p", "pw");
    atuin("scripts", "new", "deploy", "-d", "Deploy the site", "-t", "web", "-t", "prod", "-s", "bash", "--script", file("deploy.sh", "rsync -a site/ web:/srv/www/\n"));
    atuin("scripts", "new", "scratch", "--script", file("scratch.sh", "echo scratch\n"));
    atuin("kv", "set", "-k", "editor", "vim");
    atuin("kv", "set", "-k", "pager", "less");
    atuin("kv", "set", "-n", "café", "-k", "clé", "naïve ☕");
    atuin("sync");
    const key = atuin("key", "--base64").trim();

    await open(p, env.worker.url, "cli");
    const read = () =>
      p.eval(async () => {
        await c.sync();
        return {
          scripts: c.scripts.list().map(({ id, ...s }) => s),
          kv: c.kv.list().map((e) => `${e.namespace}:${e.key}=${e.value}`).sort(),
          unreadable: c.unreadableCount(),
        };
      });
    await p.eval(({ username, key }) => c.login({ username, password: "pw", key }), { username, key });
    const first = await read();
    assert.deepEqual(first, {
      scripts: [
        { name: "deploy", description: "Deploy the site", shebang: "bash", tags: ["prod", "web"], script: "rsync -a site/ web:/srv/www/\n" },
        { name: "scratch", description: "", shebang: "", tags: [], script: "echo scratch\n" },
      ],
      kv: ["café:clé=naïve ☕", "default:editor=vim", "default:pager=less"],
      unreadable: 0,
    });

    // `scripts edit` opens $EDITOR on the body: this one rewrites it.
    const editor = file("editor.sh", `#!/bin/sh\nprintf 'rsync -a --delete site/ web:/srv/www/\\necho shipped\\n' > "$1"\n`);
    chmodSync(editor, 0o755);
    atuin("scripts", "edit", "deploy", "--rename", "ship", "-d", "Ship the site", "-t", "ops", { EDITOR: editor });
    atuin("scripts", "edit", "scratch", "--no-edit", "-s", "sh", "-t", "tmp");
    atuin("kv", "set", "-k", "editor", "helix");
    atuin("sync");
    const edited = await read();
    assert.deepEqual(edited.scripts, [
      { name: "scratch", description: "", shebang: "sh", tags: ["tmp"], script: "echo scratch\n" },
      { name: "ship", description: "Ship the site", shebang: "bash", tags: ["ops"], script: "rsync -a --delete site/ web:/srv/www/\necho shipped\n" },
    ]);
    assert.deepEqual(edited.kv, ["café:clé=naïve ☕", "default:editor=helix", "default:pager=less"]);

    atuin("scripts", "delete", "scratch", "--force");
    atuin("kv", "delete", "pager");
    atuin("kv", "delete", "-n", "café", "clé");
    atuin("sync");
    const deleted = await read();
    assert.deepEqual(deleted.scripts.map((s) => s.name), ["ship"]);
    assert.deepEqual(deleted.kv, ["default:editor=helix"]);
    assert.equal(deleted.unreadable, 0);
  } finally {
    done();
    await p.context.close();
  }
});
