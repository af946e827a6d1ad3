// Live sync latency: from a push by another host to the entry rendered in the viewer (headless
// Chromium, real worker). The other host is the real atuin CLI (`atuin history start/end`, then
// `atuin sync`; timed from the start of `atuin sync`, so atuin's own status request counts too)
// when ATUIN_BIN is set; otherwise the native terrapin-core client tests/src/bin/terrapin-push.rs
// (one process; timed from the start of its sync, status request included). Prints p50/p95 over
// 20 runs. Goal: p95 <= 1 s locally.
//   node tests/bench/www_live.mjs
//   ATUIN_BIN=/work/atuin/bin/atuin node tests/bench/www_live.mjs
import { execFile, execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { connect, root, setup } from "../www/harness.mjs";
import { username } from "../edge/client.mjs";

const run = promisify(execFile);
const RUNS = 20;
const ATUIN = process.env.ATUIN_BIN;
const PASSWORD = "bench live pw";
const env = await setup();
const scratch = mkdtempSync(path.join(tmpdir(), "terrapin-live-bench-"));
try {
  const name = username("bench");
  const viewer = await env.profile();
  await connect(viewer.page, { mode: "register", username: name, password: PASSWORD });
  await viewer.page.locator("#view-newkey").waitFor();
  const key = await viewer.page.inputValue("#newkey-text");
  await viewer.page.click("#newkey-done");
  await viewer.page.waitForFunction(() => document.body.dataset.live === "live", null, { timeout: 30_000 });

  let push;
  let other;
  let stop = () => undefined;
  if (ATUIN) {
    const home = path.join(scratch, "atuin");
    const config = path.join(home, ".config", "atuin");
    mkdirSync(config, { recursive: true });
    mkdirSync(path.join(home, ".local", "share", "atuin"), { recursive: true });
    writeFileSync(path.join(config, "config.toml"), [`sync_address = "${env.worker.url}"`, "auto_sync = false", "update_check = false", 'sync_frequency = "0"', "[sync]", "records = true", "[daemon]", "enabled = false", ""].join("\n"));
    const e = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_DATA_HOME: path.join(home, ".local", "share"), ATUIN_CONFIG_DIR: config, ATUIN_HOST_NAME: "bench-cli", ATUIN_HOST_USER: "bench", ATUIN_SESSION: randomUUID().replaceAll("-", ""), TERM: "dumb", NO_COLOR: "1" };
    const atuin = (...args) => run(ATUIN, args, { env: e, timeout: 60_000 });
    await atuin("login", "-u", name, "-p", PASSWORD, "-k", key);
    await atuin("sync");
    push = async (command) => {
      const { stdout } = await atuin("history", "start", "--", command);
      await atuin("history", "end", "--exit", "0", stdout.trim());
      const t0 = Date.now();
      await atuin("sync");
      return t0;
    };
    other = "atuin CLI (`atuin sync`)";
  } else {
    execFileSync("cargo", ["build", "-q", "-p", "terrapin-tests", "--bin", "terrapin-push"], { cwd: root, stdio: "inherit" });
    const child = spawn(path.join(root, "target", "debug", "terrapin-push"), [env.worker.url, name, PASSWORD, key], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const failed = new Promise((_, reject) => child.on("exit", (code) => reject(new Error(`terrapin-push exited with ${code}`))));
    failed.catch(() => undefined);
    push = async (command) => {
      child.stdin.write(command + "\n");
      const { value } = await Promise.race([lines.next(), failed]);
      const m = /^pushed (\d+)$/.exec(value ?? "");
      if (!m) throw new Error(`terrapin-push said ${JSON.stringify(value)}`);
      return Number(m[1]);
    };
    stop = () => child.stdin.end();
    other = "native terrapin-core client (tests/src/bin/terrapin-push.rs)";
  }

  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const command = `live-bench-${i}-${Date.now()}`;
    const shown = viewer.page.waitForFunction((c) => document.querySelector(`#results .hrow .cmd[title="${c}"]`) && Date.now(), command, { timeout: 30_000, polling: "raf" });
    const t0 = await push(command);
    const t1 = await (await shown).jsonValue();
    times.push(t1 - t0);
  }
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  console.log(`other host: ${other}`);
  stop();
  console.log(`push -> rendered over ${RUNS} runs: p50 ${pct(50)} ms, p95 ${pct(95)} ms (min ${times[0]}, max ${times[times.length - 1]}); goal p95 <= 1000 ms`);
} finally {
  await env.dispose();
  rmSync(scratch, { recursive: true, force: true });
}
