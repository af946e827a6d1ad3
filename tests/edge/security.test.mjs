// Accounts under attack (black-box, real worker in workerd with local D1): the login throttle
// under parallel guesses, victims not locked out, JSON-only bodies, strict JSON, session
// lifetimes, bodies refused before they are read, and the operator commands (edge-worker/admin.mjs).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import { configVars, edgeDir, startWorker, workerSuite } from "./harness.mjs";
import { Api, record, username, uuid } from "./client.mjs";

const ADMIN_TOKEN = "t".repeat(16) + "0123456789abcdef0123";
const vars = configVars();
const MAX = Number(vars.LOGIN_MAX_FAILURES);
const CEILING = Number(vars.LOGIN_USER_CEILING);
// A body limit far below the default 100 MiB, so its refusals are cheap to test.
const BODY_LIMIT = 8 * 1024 * 1024;
const suite = workerSuite({ SESSION_IDLE_SECONDS: "3", ADMIN_TOKEN, MAX_BODY_BYTES: String(BODY_LIMIT) });
const { api } = suite;

const from = (address) => ({ "CF-Connecting-IP": address });
const login = (name, password, address = "198.51.100.1") =>
  api.req("POST", "/login", { body: { username: name, password }, headers: from(address) });
const counts = (answers) => answers.reduce((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});

describe("login throttle", () => {
  test("50 parallel wrong passwords: at most LOGIN_MAX_FAILURES are checked, the rest 429 with Retry-After", async () => {
    const name = username("flood");
    await api.register(name, "right");
    const answers = await Promise.all(Array.from({ length: 50 }, () => login(name, "wrong", "203.0.113.7")));
    const c = counts(answers);
    assert.ok((c[401] ?? 0) <= MAX, `checked ${c[401]} of 50, limit ${MAX}: ${JSON.stringify(c)}`);
    assert.equal((c[401] ?? 0) + (c[429] ?? 0), 50, JSON.stringify(c));
    for (const r of answers.filter((r) => r.status === 429)) {
      const wait = Number(r.headers.get("retry-after"));
      assert.ok(wait >= 1 && wait <= Number(vars.LOGIN_LOCKOUT_SECONDS), `Retry-After ${r.headers.get("retry-after")}`);
      assert.match(r.json.reason, /try again/);
    }
    // the right password from the flooding address waits too
    assert.equal((await login(name, "right", "203.0.113.7")).status, 429);
    // the owner, elsewhere, is not locked out
    const owner = await login(name, "right", "192.0.2.10");
    assert.equal(owner.status, 200, owner.text);
  });

  test("past the per-username ceiling each address gets one attempt; the owner's first try still works", async () => {
    const name = username("spread");
    await api.register(name, "right");
    for (let i = 0; i * MAX < CEILING + MAX; i++) {
      await Promise.all(Array.from({ length: MAX }, () => login(name, "wrong", `203.0.113.${100 + i}`)));
    }
    // a new address: one attempt, then 429
    assert.equal((await login(name, "wrong", "198.51.100.200")).status, 401);
    assert.equal((await login(name, "wrong", "198.51.100.200")).status, 429);
    // the owner's first try from their own address
    assert.equal((await login(name, "right", "192.0.2.20")).status, 200);
  });

  test("password change and account deletion check the password under the same throttle", async () => {
    const name = username("guard");
    const token = await api.register(name, "right");
    const change = () =>
      api.req("PATCH", "/account/password", { token, headers: from("203.0.113.50"), body: { current_password: "wrong", new_password: "x" } });
    const changes = await Promise.all(Array.from({ length: 12 }, change));
    assert.ok(counts(changes)[401] <= MAX, JSON.stringify(counts(changes)));
    assert.ok(counts(changes)[429] >= 12 - MAX);
    const del = await api.req("DELETE", "/account", { token, headers: from("203.0.113.50"), body: { password: "right" } });
    assert.equal(del.status, 429, del.text);
    assert.ok(Number(del.headers.get("retry-after")) >= 1);
    assert.equal((await api.req("GET", "/api/v0/me", { token })).status, 200);
  });

  test("a cross-origin form or text/plain POST is refused with 415 and counts nothing", async () => {
    const name = username("csrf");
    await api.register(name, "right");
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          api.req("POST", "/login", { body: JSON.stringify({ username: name, password: "wrong" }), headers: { "Content-Type": type, Origin: "https://evil.example", ...from("192.0.2.30") } }),
        ),
      );
      assert.deepEqual(counts(answers), { 415: 8 }, type);
      assert.match(answers[0].json.reason, /application\/json/);
    }
    assert.equal((await login(name, "right", "192.0.2.30")).status, 200);
  });
});

describe("strict JSON", () => {
  test("a record naming a key twice is refused, and nothing is stored", async () => {
    const token = await api.register(username("dup"));
    const host = uuid();
    const json = JSON.stringify([record({ host, idx: 2 })]).replace('"idx":2', '"idx":2,"idx":3');
    const r = await api.push(token, json);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.reason, /record 0 .*duplicate key `idx`/);
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
  });

  test("objects only where the wire has objects", async () => {
    const r = await api.req("POST", "/register", { body: [`${username("arr")}@x.test`, username("arr"), "pw"] });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.reason, /invalid type: sequence/);
    const token = await api.register(username("hostarr"));
    const host = uuid();
    const bad = { ...record({ host, idx: 0 }), host: [host, ""] };
    const p = await api.push(token, [bad]);
    assert.equal(p.status, 400, p.text);
    assert.match(p.json.reason, /record 0/);
  });

  test("emails: one @, no control characters, a sane length", async () => {
    for (const [email, why] of [
      ["nobody", /@/],
      ["a@b@c.test", /more than one @/],
      ["a\u0000@b.test", /control/],
      ["victim@b.test\u0000x", /control/],
      ["a\u0007b@c.test", /control/],
      [`${"a".repeat(250)}@b.test`, /longer/],
    ]) {
      const r = await api.req("POST", "/register", { body: { username: username("mail"), email, password: "pw" } });
      assert.equal(r.status, 400, `${JSON.stringify(email)}: ${r.text}`);
      assert.match(r.json.reason, why);
    }
  });
});

describe("sessions", () => {
  test("a password change ends every other session and says how many", async () => {
    const name = username("sess");
    const first = await api.register(name, "old");
    const second = (await login(name, "old")).json.session;
    const third = (await login(name, "old", "192.0.2.40")).json.session;
    const r = await api.req("PATCH", "/account/password", { token: first, body: { current_password: "old", new_password: "new" } });
    assert.deepEqual([r.status, r.json], [200, { sessions_ended: 2 }]);
    assert.equal((await api.req("GET", "/api/v0/me", { token: first })).status, 200);
    for (const t of [second, third]) assert.equal((await api.req("GET", "/api/v0/me", { token: t })).status, 403);
    assert.equal((await api.status(second)).status, 403);
  });

  test("POST /logout ends the calling session only", async () => {
    const name = username("logout");
    const a = await api.register(name, "pw");
    const b = (await login(name, "pw")).json.session;
    const r = await api.req("POST", "/logout", { token: a });
    assert.deepEqual([r.status, r.json], [200, {}]);
    assert.equal((await api.req("GET", "/api/v0/me", { token: a })).status, 403);
    assert.equal((await api.req("GET", "/api/v0/me", { token: b })).status, 200);
  });

  test("sessions unused for SESSION_IDLE_SECONDS expire; used ones stay", async () => {
    const name = username("idle");
    const used = await api.register(name, "pw");
    const idle = (await login(name, "pw")).json.session;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await api.req("GET", "/api/v0/me", { token: used })).status, 200);
    }
    const r = await api.req("GET", "/api/v0/me", { token: idle });
    assert.equal(r.status, 403);
    assert.match(r.json.reason, /expired/);
  });
});

describe("bodies are refused before they are read", () => {
  test("an anonymous 8 MiB push is answered 403/401 without parsing; Content-Length over the limit is 413 at once", async () => {
    const big = "[" + Array.from({ length: 30_000 }, (_, i) => JSON.stringify(record({ host: uuid(), idx: i }))).join(",") + "]";
    const anon = await api.req("POST", "/api/v0/record", { token: "nobody", body: big });
    assert.equal(anon.status, 403, anon.text);
    const token = await api.register(username("big"));
    const over = await api.req("POST", "/api/v0/record", { token, body: "x".repeat(BODY_LIMIT + 1) });
    assert.equal(over.status, 413, over.text);
    assert.match(over.json.reason, /limit/);
    const typed = await api.req("POST", "/api/v0/record", { token, body: "[]", headers: { "Content-Type": "text/plain" } });
    assert.equal(typed.status, 415, typed.text);
  });

  test("the session is checked before the body is parsed: a broken body without a session is 403, not 400", async () => {
    const r = await api.req("POST", "/api/v0/record", { token: "nobody", body: "[{not json" });
    assert.equal(r.status, 403, r.text);
  });

  test("parsing stops at record limit + 1: what follows is never read", async () => {
    const token = await api.register(username("stop"));
    const host = uuid();
    const n = Number(vars.MAX_RECORDS_PER_BATCH) + 1;
    const valid = Array.from({ length: n }, (_, i) => JSON.stringify(record({ host, idx: i })));
    const r = await api.push(token, `[${valid.join(",")},{"broken": ]`);
    assert.equal(r.status, 413, r.text);
    assert.deepEqual((await api.status(token)).json, { hosts: {} });
  });

  test("record limit + 1 is refused naming the limit", async () => {
    const token = await api.register(username("many"));
    const host = uuid();
    const n = Number(vars.MAX_RECORDS_PER_BATCH) + 1;
    const r = await api.push(token, Array.from({ length: n }, (_, i) => record({ host, idx: i })));
    assert.equal(r.status, 413, r.text);
    assert.match(r.json.reason, new RegExp(`limit of ${n - 1}`));
  });
});

describe("operator commands (edge-worker/admin.mjs)", () => {
  const admin = (args, { input = "", token = ADMIN_TOKEN, url = suite.worker.url } = {}) => {
    const r = spawnSync(process.execPath, [path.join(edgeDir, "admin.mjs"), "--url", url, ...args], {
      input,
      encoding: "utf8",
      env: { ...process.env, TERRAPIN_ADMIN_TOKEN: token },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  test("create (registration closed), set-password, list with records and bytes, delete", async () => {
    const closed = await startWorker({ OPEN_REGISTRATION: "false", ADMIN_TOKEN });
    try {
      const capi = new Api(closed.url);
      const name = username("op");
      assert.equal((await capi.req("POST", "/register", { body: { username: name, email: `${name}@x.test`, password: "pw" } })).status, 400);
      const created = admin(["user", "create", "--email", `${name}@x.test`, name], { input: "first-pw\n", url: closed.url });
      assert.equal(created.code, 0, created.err);
      const session = await capi.req("POST", "/login", { body: { username: name, password: "first-pw" } });
      assert.equal(session.status, 200, session.text);
      const token = session.json.session;
      const host = uuid();
      assert.equal((await capi.push(token, Array.from({ length: 7 }, (_, i) => record({ host, idx: i })))).status, 200);

      const list = admin(["user", "list"], { url: closed.url });
      assert.equal(list.code, 0, list.err);
      const row = list.out.split("\n").find((l) => l.startsWith(name + " "));
      assert.ok(row, list.out);
      const cells = row.trim().split(/\s{2,}/);
      assert.deepEqual([cells[0], cells[1], cells[3], cells[4]], [name, `${name}@x.test`, "1", "7"]);
      assert.match(cells[5], /KiB|MiB/);

      const set = admin(["user", "set-password", name], { input: "second-pw\n", url: closed.url });
      assert.equal(set.code, 0, set.err);
      assert.equal((await capi.req("POST", "/login", { body: { username: name, password: "first-pw" } })).status, 401);
      assert.equal((await capi.req("POST", "/login", { body: { username: name, password: "second-pw" } })).status, 200);
      // as atuin-server's set-password: machines stay logged in
      assert.equal((await capi.status(token)).status, 200);

      assert.notEqual(admin(["user", "delete", name], { url: closed.url }).code, 0, "delete without --yes on a pipe");
      const del = admin(["user", "delete", "--yes", name], { url: closed.url });
      assert.equal(del.code, 0, del.err);
      assert.equal((await capi.req("GET", `/user/${name}`)).status, 404);
      assert.equal((await capi.status(token)).status, 403);
      const gone = admin(["user", "delete", "--yes", name], { url: closed.url });
      assert.equal(gone.code, 1);
      assert.match(gone.err, /404 no user named/);
    } finally {
      await closed.dispose();
    }
  });

  test("a wrong token is refused; without ADMIN_TOKEN the routes do not exist", async () => {
    const wrong = admin(["user", "list"], { token: "x".repeat(40) });
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /401/);
    const plain = await startWorker();
    try {
      const r = await new Api(plain.url).req("GET", "/admin/users", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(r.status, 404);
    } finally {
      await plain.dispose();
    }
  });
});
