#!/usr/bin/env node
// terrapin-admin: the operator commands of atuin-server's `admin user`, against a Terrapin
// worker (local or deployed) through its /admin/ routes (docs/PROTOCOL.md §2).
//
//   node edge-worker/admin.mjs [--url URL] user create --email EMAIL USERNAME
//   node edge-worker/admin.mjs [--url URL] user set-password USERNAME
//   node edge-worker/admin.mjs [--url URL] user delete [--yes] USERNAME
//   node edge-worker/admin.mjs [--url URL] user list
//
// Passwords are read from a prompt, or from stdin when it is not a terminal. The token comes
// from TERRAPIN_ADMIN_TOKEN, else from edge-worker/.dev.vars (what `make dev` serves). The URL
// comes from --url, else TERRAPIN_URL, else http://127.0.0.1:8787.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = path.dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: terrapin-admin [--url URL] user <create --email EMAIL USERNAME | set-password USERNAME | delete [--yes] USERNAME | list>`;

function fail(msg, code = 1) {
  process.stderr.write(`terrapin-admin: ${msg}\n`);
  process.exit(code);
}

function parse(argv) {
  const out = { flags: {}, args: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--yes" || a === "-y") out.flags.yes = true;
    else if (a === "--help" || a === "-h") out.flags.help = true;
    else if (a.startsWith("--")) {
      const [k, v] = a.includes("=") ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[++i]];
      if (v === undefined) fail(`${a} needs a value\n${USAGE}`, 2);
      out.flags[k] = v;
    } else out.args.push(a);
  }
  return out;
}

function adminToken() {
  if (process.env.TERRAPIN_ADMIN_TOKEN) return process.env.TERRAPIN_ADMIN_TOKEN;
  try {
    const vars = readFileSync(path.join(here, ".dev.vars"), "utf8");
    const m = vars.match(/^\s*ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m);
    if (m) return m[1];
  } catch {}
  fail("no admin token: set TERRAPIN_ADMIN_TOKEN (the worker's ADMIN_TOKEN secret)");
}

async function readPassword(prompt) {
  if (!process.stdin.isTTY) {
    const chunks = [];
    for await (const c of process.stdin) chunks.push(c);
    const pw = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
    if (!pw) fail("empty password on stdin");
    return pw;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  rl._writeToOutput = (s) => {
    if (s.includes(prompt)) process.stderr.write(s);
  };
  const pw = await new Promise((resolve) => rl.question(prompt, resolve));
  rl.close();
  process.stderr.write("\n");
  if (!pw) fail("empty password");
  return pw;
}

async function confirm(question) {
  if (!process.stdin.isTTY) fail("refusing to delete without --yes when stdin is not a terminal");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise((resolve) => rl.question(question, resolve));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

async function call(base, method, route, body) {
  const res = await fetch(new URL(route, base), {
    method,
    headers: {
      Authorization: `Bearer ${adminToken()}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  }).catch((e) => fail(`cannot reach ${base}: ${e.cause?.message ?? e.message}`));
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  if (!res.ok) fail(`${method} ${route}: ${res.status} ${json?.reason ?? text}`);
  return json;
}

function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

const { flags, args } = parse(process.argv.slice(2));
if (flags.help || args[0] !== "user" || !args[1]) fail(USAGE, flags.help ? 0 : 2);
const base = flags.url ?? process.env.TERRAPIN_URL ?? "http://127.0.0.1:8787";
const [, command, username] = args;
const user = (u) => `/admin/users/${encodeURIComponent(u)}`;

switch (command) {
  case "create": {
    if (!username || !flags.email) fail(`user create needs --email and a username\n${USAGE}`, 2);
    const password = await readPassword(`password for ${username}: `);
    await call(base, "POST", "/admin/users", { username, email: flags.email, password });
    console.log(`created user ${username}`);
    break;
  }
  case "set-password": {
    if (!username) fail(`user set-password needs a username\n${USAGE}`, 2);
    const password = await readPassword(`new password for ${username}: `);
    await call(base, "PUT", `${user(username)}/password`, { password });
    console.log(`password of ${username} set; their machines stay logged in`);
    break;
  }
  case "delete": {
    if (!username) fail(`user delete needs a username\n${USAGE}`, 2);
    if (!flags.yes && !(await confirm(`delete ${username} with all their records? [y/N] `))) fail("not deleted");
    await call(base, "DELETE", user(username));
    console.log(`deleted user ${username} with their records`);
    break;
  }
  case "list": {
    const { users } = await call(base, "GET", "/admin/users");
    const rows = [["USERNAME", "EMAIL", "CREATED", "SESSIONS", "RECORDS", "STORED"]];
    for (const u of users) {
      rows.push([
        u.username,
        u.email,
        new Date(u.created_at).toISOString().slice(0, 10),
        String(u.sessions),
        String(u.records),
        formatBytes(u.bytes),
      ]);
    }
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
    break;
  }
  default:
    fail(`unknown command user ${command}\n${USAGE}`, 2);
}
