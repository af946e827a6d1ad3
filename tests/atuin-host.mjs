// One simulated atuin host for the tests and benchmarks that drive the real CLI (ATUIN_BIN):
// its own HOME, XDG and atuin config directories under `dir`, synced to `url` with records on,
// no daemon and no automatic sync.
import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const execAsync = promisify(execFile);

/** The skip reason for tests that need the real CLI, or false when ATUIN_BIN is set. */
export const needAtuin = process.env.ATUIN_BIN ? false : "set ATUIN_BIN to an atuin 18.24.x binary";

/**
 * A host named `name` in `dir` (made if missing), talking to `url`. `atuin(...args)` runs the CLI
 * and resolves to `{ stdout, stderr }` (a last object argument adds environment variables);
 * `atuinSync(...args)` is the same, blocking, and returns stdout.
 */
export function atuinHost(dir, url, name = "host") {
  const bin = process.env.ATUIN_BIN;
  const home = path.join(dir, name);
  const config = path.join(home, ".config", "atuin");
  mkdirSync(config, { recursive: true });
  mkdirSync(path.join(home, ".local", "share", "atuin"), { recursive: true });
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
  const failed = (args, e) => new Error(`atuin ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  return {
    home,
    env,
    async atuin(...all) {
      const [args, extra] = split(all);
      try {
        const { stdout, stderr } = await execAsync(bin, args, { env: { ...env, ...extra }, timeout: 120_000, maxBuffer: 64 << 20 });
        return { stdout, stderr };
      } catch (e) {
        throw failed(args, e);
      }
    },
    atuinSync(...all) {
      const [args, extra] = split(all);
      try {
        return execFileSync(bin, args, { env: { ...env, ...extra }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000, maxBuffer: 64 << 20 });
      } catch (e) {
        throw failed(args, e);
      }
    },
  };
}
