// Black-box tests of the account routes, headers, errors, capabilities and CORS of the real
// worker (workerd + local D1).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configVars, startWorker, workerSuite } from "./harness.mjs";
import { Api, record, username, uuid } from "./client.mjs";

const ALLOWED = "https://app.example.test";
const suite = workerSuite({ CORS_ORIGINS: `${ALLOWED},https://other.example.test` });
const { api } = suite;

const isJsonError = (r, status) => {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.reason, "string", `not {"reason"}: ${r.text}`);
  assert.ok(r.json.reason.length > 0);
};

describe("server identity", () => {
  test("GET / answers homage and version", async () => {
    const r = await api.req("GET", "/");
    assert.equal(r.status, 200);
    assert.match(r.json.homage, /A'Tuin/);
    assert.equal(r.json.version, "18.24.4");
  });

  test("GET /healthz", async () => {
    const r = await api.req("GET", "/healthz");
    assert.deepEqual([r.status, r.json], [200, { status: "healthy" }]);
  });

  test("every answer carries Atuin-Version with major >= 18", async () => {
    const answers = [
      await api.req("GET", "/"),
      await api.req("GET", "/healthz"),
      await api.req("GET", "/api/v0/capabilities"),
      await api.req("GET", "/nope"),
      await api.req("GET", "/api/v0/me"),
      await api.req("POST", "/login", { body: "{" }),
      await api.req("OPTIONS", "/api/v0/record", { headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST" } }),
    ];
    for (const r of answers) {
      const v = r.headers.get("atuin-version");
      assert.ok(v, `missing header on ${r.status} ${r.text}`);
      assert.ok(Number(v.split(".")[0]) >= 18, v);
    }
  });

  test("unknown routes and methods are JSON errors", async () => {
    isJsonError(await api.req("GET", "/nope"), 404);
    isJsonError(await api.req("GET", "/api/v0/records"), 404);
    isJsonError(await api.req("GET", "/api/v1/record"), 404);
    isJsonError(await api.req("PUT", "/api/v0/record", { body: [] }), 405);
    isJsonError(await api.req("GET", "/register"), 405);
  });
});

describe("capabilities", () => {
  test("advertise exactly the negotiation protocol and the page size", async () => {
    const r = await api.req("GET", "/api/v0/capabilities");
    assert.equal(r.status, 200);
    assert.match(r.json.version, /^[0-9a-f]{16}$/);
    assert.deepEqual(r.json.capabilities, {
      "sh.atuin.server/capabilities": { version: 1 },
      "sh.atuin.server/records.page_size": { version: 1, page_size: Number(configVars().PAGE_SIZE) },
    });
  });

  test("a stale token is answered with ours, and refused with 412 when enforced", async () => {
    const { json: caps } = await api.req("GET", "/api/v0/capabilities");
    const fresh = await api.req("GET", "/", { headers: { "X-Atuin-Capabilities-Known": caps.version } });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.headers.get("x-atuin-capabilities-available"), null);
    const stale = await api.req("GET", "/", { headers: { "X-Atuin-Capabilities-Known": "deadbeefdeadbeef" } });
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get("x-atuin-capabilities-available"), caps.version);
    const enforced = await api.req("GET", "/", {
      headers: { "X-Atuin-Capabilities-Known": "deadbeefdeadbeef", "X-Atuin-Capabilities-Enforce": "1" },
    });
    isJsonError(enforced, 412);
    assert.equal(enforced.headers.get("x-atuin-capabilities-available"), caps.version);
  });
});

describe("accounts", () => {
  test("register, user lookup, me", async () => {
    const name = username("Reg");
    assert.equal((await api.req("GET", `/user/${name}`)).status, 404);
    const r = await api.req("POST", "/register", { body: { username: name, email: `${name}@x.test`, password: "pw-1" } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.auth, "cli");
    assert.ok(Buffer.from(r.json.session, "base64url").length >= 24, "session has at least 192 bits");
    const u = await api.req("GET", `/user/${name}`);
    assert.deepEqual([u.status, u.json], [200, { username: name }]);
    const lower = await api.req("GET", `/user/${name.toLowerCase()}`);
    assert.deepEqual(lower.json, { username: name });
    const me = await api.req("GET", "/api/v0/me", { token: r.json.session });
    assert.deepEqual([me.status, me.json], [200, { username: name }]);
  });

  test("registration refusals", async () => {
    const name = username("dup");
    await api.register(name, "pw", `${name}@x.test`);
    const cases = [
      [{ username: name.toUpperCase(), email: "new@x.test", password: "pw" }, 409],
      [{ username: username("other"), email: `${name.toUpperCase()}@X.TEST`, password: "pw" }, 409],
      [{ username: "has space", email: "a@x.test", password: "pw" }, 400],
      [{ username: "under_score", email: "b@x.test", password: "pw" }, 400],
      [{ username: "", email: "c@x.test", password: "pw" }, 400],
      [{ username: username("nopw"), email: "d@x.test", password: "" }, 400],
      [{ username: username("noemail"), email: "", password: "pw" }, 400],
      [{ username: username("missing") }, 400],
    ];
    for (const [body, status] of cases) {
      isJsonError(await api.req("POST", "/register", { body }), status);
    }
    isJsonError(await api.req("POST", "/register", { body: "{not json" }), 400);
    isJsonError(await api.req("POST", "/register", { body: "x".repeat(70_000) }), 413);
  });

  test("login issues a new working session; wrong password 401; unknown user 404", async () => {
    const name = username("login");
    const first = await api.register(name, "secret-1");
    const t0 = performance.now();
    const r = await api.req("POST", "/login", { body: { username: name, password: "secret-1" } });
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, r.text);
    assert.notEqual(r.json.session, first);
    assert.equal((await api.req("GET", "/api/v0/me", { token: r.json.session })).status, 200);
    assert.equal((await api.req("GET", "/api/v0/me", { token: first })).status, 200);
    isJsonError(await api.req("POST", "/login", { body: { username: name, password: "nope" } }), 401);
    isJsonError(await api.req("POST", "/login", { body: { username: username("ghost"), password: "x" } }), 404);
    isJsonError(await api.req("POST", "/login", { body: { username: name } }), 400);
    console.log(`# login round trip (PBKDF2-SHA256, 100000 iterations): ${ms.toFixed(1)} ms`);
  });

  test("repeated failed logins are refused with 429", async () => {
    const name = username("brute");
    await api.register(name, "right");
    for (let i = 0; i < 5; i++) {
      isJsonError(await api.req("POST", "/login", { body: { username: name, password: `wrong-${i}` } }), 401);
    }
    const locked = await api.req("POST", "/login", { body: { username: name, password: "right" } });
    isJsonError(locked, 429);
    assert.match(locked.json.reason, /try again/);
    // other users are not affected
    const other = username("bystander");
    await api.register(other, "pw");
    assert.equal((await api.req("POST", "/login", { body: { username: other, password: "pw" } })).status, 200);
  });

  test("authentication failures", async () => {
    isJsonError(await api.req("GET", "/api/v0/me"), 401);
    isJsonError(await api.req("GET", "/api/v0/me", { headers: { Authorization: "Bearer abc" } }), 401);
    isJsonError(await api.req("GET", "/api/v0/me", { headers: { Authorization: "Token" } }), 401);
    isJsonError(await api.req("GET", "/api/v0/me", { token: "not-a-session" }), 403);
    for (const [m, p] of [["GET", "/api/v0/record"], ["POST", "/api/v0/record"], ["GET", "/api/v0/record/next?host=x&tag=y&count=1"], ["DELETE", "/api/v0/store"], ["DELETE", "/account"], ["PATCH", "/account/password"]]) {
      isJsonError(await api.req(m, p, { token: "bogus", body: m === "GET" ? undefined : [] }), 403);
    }
  });

  test("a request refused before its body is read leaves the connection usable", async () => {
    // The same keep-alive connection carries the next request; an unread body used to cost it.
    for (const [m, p] of [["PATCH", "/account/password"], ["DELETE", "/account"], ["POST", "/api/v0/record"], ["POST", "/admin/users"], ["PUT", "/api/v0/record"], ["POST", "/nope"]]) {
      for (let i = 0; i < 20; i++) {
        const refused = await api.req(m, p, { token: "bogus", body: { password: "x".repeat(2000) } });
        assert.ok([403, 404, 405].includes(refused.status), `${m} ${p}: ${refused.status}`);
        assert.equal((await api.req("GET", "/api/v0/capabilities")).status, 200, `after ${m} ${p}`);
      }
    }
  });

  test("change password", async () => {
    const name = username("chpw");
    const token = await api.register(name, "old-pw");
    isJsonError(await api.req("PATCH", "/account/password", { token, body: { current_password: "wrong", new_password: "new-pw" } }), 401);
    isJsonError(await api.req("PATCH", "/account/password", { token, body: { current_password: "old-pw" } }), 400);
    const ok = await api.req("PATCH", "/account/password", { token, body: { current_password: "old-pw", new_password: "new-pw" } });
    assert.deepEqual([ok.status, ok.json], [200, { sessions_ended: 0 }]);
    isJsonError(await api.req("POST", "/login", { body: { username: name, password: "old-pw" } }), 401);
    assert.equal((await api.req("POST", "/login", { body: { username: name, password: "new-pw" } })).status, 200);
  });

  test("delete account removes user, sessions and records", async () => {
    const name = username("del");
    const token = await api.register(name, "pw");
    const second = (await api.req("POST", "/login", { body: { username: name, password: "pw" } })).json.session;
    const host = uuid();
    assert.equal((await api.push(token, [record({ host, idx: 0 }), record({ host, idx: 1 })])).status, 200);
    isJsonError(await api.req("DELETE", "/account", { token, body: { password: "wrong" } }), 401);
    isJsonError(await api.req("DELETE", "/account", { token }), 415);
    const del = await api.req("DELETE", "/account", { token, body: { password: "pw" } });
    assert.deepEqual([del.status, del.json], [200, {}]);
    isJsonError(await api.req("GET", "/api/v0/me", { token }), 403);
    isJsonError(await api.req("GET", "/api/v0/me", { token: second }), 403);
    isJsonError(await api.req("GET", `/user/${name}`), 404);
    // the name is free again, and the new account starts empty
    const again = await api.register(name, "pw2");
    assert.deepEqual((await api.status(again)).json, { hosts: {} });
    assert.deepEqual((await api.next(again, { host, tag: "history", count: 10 })).json, []);
  });
});

describe("closed registration", () => {
  test("OPEN_REGISTRATION=false refuses new accounts", async () => {
    const closed = await startWorker({ OPEN_REGISTRATION: "false" });
    try {
      const r = await new Api(closed.url).req("POST", "/register", { body: { username: "x", email: "x@x.test", password: "pw" } });
      isJsonError(r, 400);
      assert.match(r.json.reason, /not open/);
    } finally {
      await closed.dispose();
    }
  });
});

describe("CORS", () => {
  test("preflight from an allowed origin", async () => {
    const r = await api.req("OPTIONS", "/api/v0/record", {
      headers: { Origin: ALLOWED, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type" },
    });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(r.headers.get("access-control-allow-headers"), /Authorization/i);
    assert.match(r.headers.get("access-control-allow-methods"), /POST/);
    assert.match(r.headers.get("access-control-allow-methods"), /DELETE/);
  });

  test("preflight from another origin is refused", async () => {
    const r = await api.req("OPTIONS", "/api/v0/record", { headers: { Origin: "https://evil.test", "Access-Control-Request-Method": "POST" } });
    isJsonError(r, 403);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });

  test("answers to allowed origins are readable, others are not", async () => {
    const name = username("cors");
    const token = await api.register(name);
    const ok = await api.req("GET", "/api/v0/me", { token, headers: { Origin: ALLOWED } });
    assert.equal(ok.headers.get("access-control-allow-origin"), ALLOWED);
    assert.match(ok.headers.get("access-control-expose-headers"), /Atuin-Version/);
    const err = await api.req("GET", "/api/v0/me", { headers: { Origin: ALLOWED } });
    assert.equal(err.headers.get("access-control-allow-origin"), ALLOWED);
    const evil = await api.req("GET", "/api/v0/me", { token, headers: { Origin: "https://evil.test" } });
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    const same = await api.req("GET", "/", { headers: { Origin: suite.worker.url } });
    assert.equal(same.headers.get("access-control-allow-origin"), suite.worker.url);
  });
});
