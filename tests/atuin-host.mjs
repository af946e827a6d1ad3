// The real atuin CLI (ATUIN_BIN) and server (ATUIN_SERVER_BIN) for the tests and benchmarks:
// simulated hosts, each with its own HOME, XDG and atuin config directories, synced with records
// on, no daemon and no automatic sync; atuin-server on SQLite as the anchor; and the accounts the
// benchmarks push and pull.
import { execFile, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { promisify } from "node:util";

const execAsync = promisify(execFile);

/** The skip reason for tests that need the real CLI, or false when ATUIN_BIN is set. */
export const needAtuin = process.env.ATUIN_BIN ? false : "set ATUIN_BIN to an atuin 18.24.x binary";

/**
 * A host named `name` in `dir` (made if missing), talking to `url`. `atuin(...args)` runs the CLI
 * and resolves to `{ stdout, stderr }` (a last object argument adds environment variables);
 * `atuinSync(...args)` is the same, blocking, and returns stdout; `atuinTimed(...args)` also
 * resolves to the wall-clock `seconds` and the CLI's own CPU seconds (`cpu`, user + sys). A
 * command that fails throws an Error carrying the CLI's `stdout`, `stderr` and exit `code`.
 */
export function atuinHost(dir, url, name = "host") {
  const bin = process.env.ATUIN_BIN;
  const home = path.join(dir, name);
  const config = path.join(home, ".config", "atuin");
  const data = path.join(home, ".local", "share", "atuin");
  mkdirSync(config, { recursive: true });
  mkdirSync(data, { recursive: true });
  writeFileSync(
    path.join(config, "config.toml"),
    [`sync_address = "${url}"`, "auto_sync = false", "update_check = false", 'sync_frequency = "0"', "[sync]", "records = true", "[daemon]", "enabled = false", ""].join("\n"),
  );
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    ATUIN_CONFIG_DIR: config,
    ATUIN_HOST_NAME: name,
    ATUIN_HOST_USER: "tester",
    ATUIN_SESSION: randomUUID().replaceAll("-", ""),
    HISTFILE: path.join(home, ".bash_history"),
    TERM: "dumb",
    NO_COLOR: "1",
  };
  const split = (args) => (args.length && typeof args[args.length - 1] === "object" ? [args.slice(0, -1), args[args.length - 1]] : [args, {}]);
  // The error keeps the CLI's `stdout`, `stderr` and exit `code`; its message clips long
  // arguments and output (a test may pass a 600 KB command).
  const clip = (s, n) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
  const failed = (args, e) => {
    const how = typeof e.code === "number" ? `exit ${e.code}` : e.signal ? `signal ${e.signal}` : clip(e.message, 500);
    const out = (s) => clip(String(s ?? ""), 20_000);
    const error = new Error(`atuin ${clip(args.join(" "), 300)} failed (${how}):\n${out(e.stdout)}\n${out(e.stderr)}`);
    return Object.assign(error, { stdout: String(e.stdout ?? ""), stderr: String(e.stderr ?? ""), code: e.code });
  };
  const limits = { timeout: 600_000, maxBuffer: 256 << 20 };
  return {
    home,
    /** atuin's data directory: history.db, records.db, kv.db, the key file `key`, host_id. */
    data,
    env,
    async atuin(...all) {
      const [args, extra] = split(all);
      try {
        const { stdout, stderr } = await execAsync(bin, args, { env: { ...env, ...extra }, ...limits });
        return { stdout, stderr };
      } catch (e) {
        throw failed(args, e);
      }
    },
    atuinSync(...all) {
      const [args, extra] = split(all);
      try {
        return execFileSync(bin, args, { env: { ...env, ...extra }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...limits });
      } catch (e) {
        throw failed(args, e);
      }
    },
    async atuinTimed(...all) {
      const [args, extra] = split(all);
      // Through bash's `time`, which writes the CPU seconds to CPU_FILE.
      const cpuFile = path.join(home, "cpu");
      const t = performance.now();
      try {
        const { stdout, stderr } = await execAsync(
          "bash",
          ["-c", 'TIMEFORMAT="%U %S"; { time "$@" 2>&3 ; } 3>&2 2>"$CPU_FILE"', "atuin", bin, ...args],
          { env: { ...env, ...extra, CPU_FILE: cpuFile }, ...limits },
        );
        const seconds = (performance.now() - t) / 1000;
        const [u, s] = readFileSync(cpuFile, "utf8").trim().split(/\s+/).map(Number);
        return { stdout, stderr, seconds, cpu: u + s };
      } catch (e) {
        throw failed(args, e);
      }
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Waits until `url` (or its /healthz) answers 2xx; fails if `child` exits first. */
export async function waitUp(url, child, what) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok || (await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

/** CPU seconds (user + sys) used so far by every live process in `child`'s process group. */
export function groupCpu(child) {
  let ticks = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // Fields after the command name: state ppid pgrp … utime (14th field) stime (15th).
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop().split(" ");
      if (Number(f[2]) === child.pid) ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return ticks / 100; // USER_HZ
}

/** Stops a child started with `detached: true` (its whole process group). */
export const stopChild = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.on("exit", resolve);
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      child.kill("SIGTERM");
    }
  });

/**
 * atuin-server (ATUIN_SERVER_BIN) on SQLite on a free port: a `server.toml` in a fresh directory
 * under `scratch` (host, port, open_registration, db_uri), started as
 * `ATUIN_CONFIG_DIR=DIR atuin-server start`. Resolves to `{ url, name, cpu(), stop }`.
 */
export async function startAtuinServer(scratch) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(scratch, "atuin-server-"));
  writeFileSync(
    path.join(dir, "server.toml"),
    `host = "127.0.0.1"\nport = ${port}\nopen_registration = true\ndb_uri = "sqlite://${dir}/atuin-server.db"\n`,
  );
  const child = spawn(process.env.ATUIN_SERVER_BIN, ["start"], {
    detached: true,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, ATUIN_CONFIG_DIR: dir, RUST_LOG: "warn" },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUp(url, child, "atuin-server");
  return { url, name: "atuin-server", cpu: () => groupCpu(child), stop: () => stopChild(child) };
}

/** Writes `n` distinct bash history lines to `file`. */
export function writeBashHistory(file, n) {
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => `git commit -m "change ${i}" && cargo test -p crate-${i % 97} -- --nocapture ${i}`).join("\n") + "\n",
  );
}

/**
 * A new account on `url` whose host (`host`, in a fresh directory under `scratch`) holds the
 * entries of the bash history `histfile` in its record store, not pushed yet (`atuin sync` on
 * it pushes them). Resolves to `{ user, password, host }`.
 */
export async function cliAccount(url, scratch, histfile) {
  const user = `cli${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const password = "bench password";
  const host = atuinHost(mkdtempSync(path.join(scratch, "host-")), url, "a");
  await host.atuin("register", "-u", user, "-e", `${user}@example.test`, "-p", password);
  await host.atuin("import", "bash", { HISTFILE: histfile });
  await host.atuin("history", "init-store");
  return { user, password, host };
}

/** A new, empty host (in a fresh directory under `scratch`) logged into `account` with its key. */
export async function cliLogin(url, scratch, account) {
  const key = (await account.host.atuin("key")).stdout.trim();
  const host = atuinHost(mkdtempSync(path.join(scratch, "host-")), url, "b");
  await host.atuin("login", "-u", account.user, "-p", account.password, "-k", key);
  return host;
}

/** How many history entries `host` lists. */
export async function historyCount(host) {
  return (await host.atuin("history", "list", "--cmd-only")).stdout.split("\n").filter(Boolean).length;
}
