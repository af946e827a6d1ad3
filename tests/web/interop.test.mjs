// Interop: what the browser package writes decrypts natively with terrapin-core (the
// terrapin-pull host of tests/), and history written by the real atuin CLI (ATUIN_BIN, atuin
// 18.24.x) shows up in the browser.
//   node --test tests/web/
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { root, suiteEnv, uniq } from "./harness.mjs";
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
    atuin("kv", "set", "-k", "colour", "blue");
    atuin("sync");
    const key = atuin("key", "--base64").trim();
    const p = await env.profile();
    const seen = await p.eval(
      async ({ server, username, key }) => {
        const c = await window.tw.Client.open({ server, profile: "atuin" });
        await c.login({ username, password: "pw", key });
        await c.sync();
        return { cmds: c.history.query({ limit: 100 }).entries.map((e) => e.command).sort(), kv: c.kv.get("global", "colour"), unreadable: c.unreadableCount() };
      },
      { server, username, key },
    );
    assert.deepEqual(seen.cmds, ["echo one", "git status", "ls -la"]);
    assert.equal(seen.unreadable, 0);
    await p.context.close();
  } finally {
    rmSync(h, { recursive: true, force: true });
  }
});
