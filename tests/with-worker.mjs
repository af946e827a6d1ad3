// Runs a command with the real worker (workerd + fresh local D1) up on 127.0.0.1, its URL in
// TERRAPIN_URL; stops the worker afterwards and exits with the command's status.
//   node tests/with-worker.mjs cargo test -p terrapin-tests
import { spawn } from "node:child_process";
import { startWorker } from "./edge/harness.mjs";

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  console.error("usage: node tests/with-worker.mjs COMMAND [ARGS...]");
  process.exit(2);
}
const worker = await startWorker();
console.error(`with-worker: worker at ${worker.url}`);
const child = spawn(cmd, args, {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, TERRAPIN_URL: worker.url },
});
const code = await new Promise((resolve) => child.on("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await worker.dispose();
process.exit(code);
