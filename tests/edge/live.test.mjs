// The live status socket, GET /api/v0/live (black-box, real worker in workerd): refused before
// the upgrade without a good session (none, unknown, ended, wrong origin, no WebSocket), the
// session carried in the subprotocol and never echoed, the full status on connect, the new last
// idx after every push that stored something (statuses only, never records, never to another
// account), sockets of ended sessions closed, and page requests on terrapin.live.v2 sockets
// answered as GET /api/v0/record/next answers them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fetch } from "miniflare";
import { configVars, workerSuite } from "./harness.mjs";
import { series, username, uuid } from "./client.mjs";

const suite = workerSuite();
const { api } = suite;

/** Opens the live socket; `token` goes in the subprotocol unless `headers` say otherwise. */
async function live(token, { protocols, headers = {} } = {}) {
  const h = { Upgrade: "websocket", ...headers };
  const offered = protocols ?? (token ? ["terrapin.live.v1", `terrapin.token.${token}`] : ["terrapin.live.v1"]);
  if (offered.length) h["Sec-WebSocket-Protocol"] = offered.join(", ");
  const res = await fetch(`${suite.worker.url}/api/v0/live`, { headers: h });
  if (res.status !== 101) return { status: res.status, json: JSON.parse((await res.text()) || "null") };
  const ws = res.webSocket;
  const messages = [];
  // The raw frames: a frame may carry several messages, one per line.
  const frames = [];
  const waiters = [];
  let closed;
  const done = new Promise((r) => (closed = r));
  ws.addEventListener("message", (ev) => {
    if (ev.data === "pong") return;
    frames.push(ev.data);
    for (const line of ev.data.split("\n")) messages.push(JSON.parse(line));
    for (const w of waiters.splice(0)) w();
  });
  ws.addEventListener("close", (ev) => closed({ code: ev.code, reason: ev.reason }));
  ws.accept();
  return {
    status: 101,
    protocol: res.headers.get("sec-websocket-protocol"),
    ws,
    messages,
    frames,
    closed: done,
    /** Waits for `n` messages in all (or fails after `ms`). */
    async wait(n, ms = 5000) {
      const end = Date.now() + ms;
      while (messages.length < n) {
        if (Date.now() > end) throw new Error(`waited for ${n} messages, got ${JSON.stringify(messages)}`);
        await Promise.race([new Promise((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 100))]);
      }
      return messages;
    },
  };
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

describe("refused before the upgrade", () => {
  test("no session, an unknown one, no WebSocket, a token without the live subprotocol, a foreign origin", async () => {
    const token = await api.register(username("live"));
    assert.equal((await live(null)).status, 401);
    const unknown = await live("x".repeat(43));
    assert.equal(unknown.status, 403);
    assert.match(unknown.json.reason, /session/);
    const plain = await api.req("GET", "/api/v0/live", { token });
    assert.equal(plain.status, 426, plain.text);
    assert.equal((await live(token, { protocols: [`terrapin.token.${token}`] })).status, 401);
    assert.equal((await live(token, { protocols: ["terrapin.live.v1", "terrapin.token.a", `terrapin.token.${token}`] })).status, 401);
    const foreign = await live(token, { headers: { Origin: "https://evil.example" } });
    assert.equal(foreign.status, 403);
    assert.match(foreign.json.reason, /origin/);
    // the same token is fine
    const ok = await live(token);
    assert.equal(ok.status, 101);
    ok.ws.close(1000);
  });

  test("an ended session (logout) is refused at once", async () => {
    const token = await api.register(username("live"));
    // used once, so any cache of it is warm
    assert.equal((await api.status(token)).status, 200);
    assert.equal((await api.req("POST", "/logout", { token })).status, 200);
    const r = await live(token);
    assert.equal(r.status, 403);
  });
});

describe("statuses after pushes", () => {
  test("greeted with the full status; the subprotocol answered is terrapin.live.v1, never the token", async () => {
    const token = await api.register(username("live"));
    const host = uuid();
    assert.equal((await api.push(token, series(host, "history", 0, 2))).status, 200);
    const s = await live(token);
    assert.equal(s.status, 101);
    assert.equal(s.protocol, "terrapin.live.v1");
    const [hello] = await s.wait(1);
    assert.deepEqual(hello, { type: "status", hosts: { [host]: { history: 2 } } });
    s.ws.close(1000);
  });

  test("each push that stores something sends the new last idx of its series to the account's sockets only", async () => {
    const alice = await api.register(username("alice"));
    const bob = await api.register(username("bob"));
    const [a1, a2, b] = [await live(alice), await live(alice), await live(bob)];
    await Promise.all([a1.wait(1), a2.wait(1), b.wait(1)]);
    const host = uuid();
    const history = series(host, "history", 0, 4);
    const t0 = Date.now();
    assert.equal((await api.push(alice, [...history, ...series(host, "kv", 0, 0)])).status, 200);
    const [, pushed] = await a1.wait(2);
    const latency = Date.now() - t0;
    assert.deepEqual(pushed, { type: "push", hosts: { [host]: { history: 4, kv: 0 } } });
    assert.deepEqual((await a2.wait(2))[1], pushed);
    // statuses only: nothing of the records (ids, data) travels
    assert.doesNotMatch(JSON.stringify(a1.messages), /v4\.local|data|id"/);
    // the same records again store nothing and send nothing; a refused push sends nothing
    assert.equal((await api.push(alice, history.slice(3))).status, 200);
    assert.equal((await api.push(alice, [{ ...history[2], id: uuid() }])).status, 409);
    assert.equal((await api.push(alice, series(host, "history", 5, 5))).status, 200);
    const [, , next] = await a1.wait(3);
    assert.deepEqual(next, { type: "push", hosts: { [host]: { history: 5 } } });
    assert.equal(a1.messages.length, 3, JSON.stringify(a1.messages));
    // bob heard nothing of alice's pushes
    await pause(200);
    assert.deepEqual(b.messages, [{ type: "status", hosts: {} }]);
    const bhost = uuid();
    assert.equal((await api.push(bob, series(bhost, "history", 0, 0))).status, 200);
    assert.deepEqual((await b.wait(2))[1], { type: "push", hosts: { [bhost]: { history: 0 } } });
    await pause(200);
    assert.equal(a1.messages.length, 3);
    console.log(`push to message: ${latency} ms`);
    for (const s of [a1, a2, b]) s.ws.close(1000);
  });

  test("keep-alive: ping is answered pong", async () => {
    const token = await api.register(username("live"));
    const s = await live(token);
    await s.wait(1);
    s.ws.send("ping");
    const got = await new Promise((resolve) => s.ws.addEventListener("message", (ev) => resolve(ev.data), { once: true }));
    assert.equal(got, "pong");
    s.ws.close(1000);
  });

  test("Authorization works too (native clients)", async () => {
    const token = await api.register(username("live"));
    const s = await live(null, { protocols: [], headers: { Authorization: `Token ${token}` } });
    assert.equal(s.status, 101);
    assert.equal(s.protocol, null);
    assert.deepEqual((await s.wait(1))[0], { type: "status", hosts: {} });
    s.ws.close(1000);
  });
});

describe("ended sessions lose their sockets", () => {
  test("logout closes that session's sockets; a password change closes the other sessions'", async () => {
    const name = username("live");
    const first = await api.register(name, "pw-one-two");
    const login = async (password) => (await api.req("POST", "/login", { body: { username: name, password } })).json.session;
    const second = await login("pw-one-two");
    const third = await login("pw-one-two");
    const [s1, s2, s3] = [await live(first), await live(second), await live(third)];
    await Promise.all([s1.wait(1), s2.wait(1), s3.wait(1)]);
    assert.equal((await api.req("POST", "/logout", { token: second })).status, 200);
    assert.equal((await s2.closed).code, 4001);
    const r = await api.req("PATCH", "/account/password", { token: first, body: { current_password: "pw-one-two", new_password: "pw-three-four" } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await s3.closed).code, 4001);
    // the session that changed the password keeps its socket, and hears pushes
    const host = uuid();
    assert.equal((await api.push(first, series(host, "history", 0, 0))).status, 200);
    assert.deepEqual((await s1.wait(2))[1], { type: "push", hosts: { [host]: { history: 0 } } });
    s1.ws.close(1000);
  });

  test("deleting the account closes its sockets", async () => {
    const token = await api.register(username("live"), "pw-del");
    const s = await live(token);
    await s.wait(1);
    const r = await api.req("DELETE", "/account", { token, body: { password: "pw-del" } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await s.closed).code, 4003);
  });
});

describe("pages over the socket (terrapin.live.v2)", () => {
  const v2 = (token) => live(token, { protocols: ["terrapin.live.v2", "terrapin.live.v1", `terrapin.token.${token}`] });
  /**
   * Sends `requests` at once and returns the answers in request order (a text request is
   * answered by an error without id). Statuses sent meanwhile (after pushes) are skipped.
   * `lines`: the requests are one text of that many lines; their answers are returned in order.
   */
  async function ask(s, requests, lines) {
    const before = s.messages.length;
    for (const r of requests) s.ws.send(typeof r === "string" ? r : JSON.stringify(r));
    const answers = () => {
      const got = s.messages.slice(before);
      if (lines) {
        const pages = got.filter((m) => m.type === "page" || m.type === "error");
        return Array.from({ length: lines }, (_, i) => pages[i]);
      }
      return requests.map((r) =>
        typeof r === "string" ? got.find((m) => m.type === "error" && m.id === undefined) : got.find((m) => m.id === r.id),
      );
    };
    for (let n = before + 1; !answers().every(Boolean); n++) await s.wait(n);
    return answers();
  }
  const q = (host, tag, start, count) => new URLSearchParams({ host, tag, start: String(start), count: String(count) }).toString();
  /** A new account holding history idx 0..`last` of one host, and its v2 socket, greeted. */
  async function opened(last, prefix = "pages") {
    const token = await api.register(username(prefix));
    const host = uuid();
    assert.equal((await api.push(token, series(host, "history", 0, last))).status, 200);
    const s = await v2(token);
    assert.equal(s.status, 101);
    await s.wait(1);
    return { token, host, s };
  }

  test("selected when offered; eight requests in flight answer exactly what GET /api/v0/record/next answers", async () => {
    const { token, host, s } = await opened(599);
    assert.equal(s.protocol, "terrapin.live.v2");
    assert.equal((await api.push(token, series(host, "kv", 0, 2))).status, 200);
    const cases = [
      ["history", 0, 100], ["history", 100, 100], ["history", 550, 100], ["history", 600, 10],
      ["history", 0, 100000], ["kv", 1, 5], ["other", 0, 5], ["history", 255, 3],
    ];
    const answers = await ask(s, cases.map(([tag, start, count], i) => ({ type: "next", id: 100 + i, query: q(host, tag, start, count) })));
    for (const [i, [tag, start, count]] of cases.entries()) {
      const http = await api.next(token, { host, tag, start, count });
      assert.equal(http.status, 200);
      assert.deepEqual(answers[i], { type: "page", id: 100 + i, records: http.json }, `${tag} ${start} ${count}`);
    }
    // the cap on count is the same: MAX_PAGE_SIZE
    assert.equal(answers[4].records.length, Math.min(600, Number(configVars().MAX_PAGE_SIZE)));
    s.ws.close(1000);
  });

  test("a bad request is refused on the socket with the reason HTTP gives; the socket stays usable", async () => {
    const { token, host, s } = await opened(2);
    const [badCount, noHost, unknown, unreadable, fine] = await ask(s, [
      { type: "next", id: 1, query: q(host, "history", 0, -1) },
      { type: "next", id: 2, query: "tag=history&count=5" },
      { type: "fetch", id: 3, query: q(host, "history", 0, 1) },
      "{not json",
      { type: "next", id: 5, query: q(host, "history", 1, 5) },
    ]);
    const http = await api.req("GET", `/api/v0/record/next?${q(host, "history", 0, -1)}`, { token });
    assert.deepEqual(badCount, { type: "error", id: 1, status: 400, reason: http.json.reason });
    assert.match(badCount.reason, /count/);
    assert.equal(noHost.status, 400);
    assert.match(noHost.reason, /host/);
    assert.equal(unknown.status, 400);
    assert.match(unknown.reason, /"fetch"/);
    assert.equal(unreadable.type, "error");
    assert.equal(unreadable.status, 400);
    assert.match(unreadable.reason, /bad socket request/);
    assert.deepEqual(fine.records.map((r) => r.idx), [1, 2]);
    s.ws.close(1000);
  });

  test("requests sent together, one per line, are answered together, in order, one per line", async () => {
    const { token, host, s } = await opened(299);
    // Frames of answers (statuses after pushes come in frames of their own).
    const answerFrames = (from) => s.frames.slice(from).filter((f) => /^\{"type":"(page|error)"/.test(f));
    const frames = s.frames.length;
    const together = [
      { type: "next", id: 1, query: q(host, "history", 0, 100) },
      { type: "next", id: 2, query: q(host, "history", 0, -1) },
      { type: "next", id: 3, query: q(host, "history", 200, 100) },
    ];
    const answers = await ask(s, [together.map((r) => JSON.stringify(r)).join("\n")], together.length);
    assert.equal(answerFrames(frames).length, 1);
    assert.deepEqual(answers.map((a) => a.id), [1, 2, 3]);
    assert.deepEqual(answers[0].records, (await api.next(token, { host, tag: "history", start: 0, count: 100 })).json);
    assert.equal(answers[1].status, 400);
    assert.deepEqual(answers[2].records.map((r) => r.idx), Array.from({ length: 100 }, (_, i) => 200 + i));
    // Answers past 4 MiB in all start a new frame: two pages of ~3 MB come in two.
    const big = { data: "v4.local." + "x".repeat(150_000) };
    assert.equal((await api.push(token, series(host, "big", 0, 19, big))).status, 200);
    assert.equal((await api.push(token, series(host, "big", 20, 39, big))).status, 200);
    const pages = [0, 20].map((start, i) => JSON.stringify({ type: "next", id: 10 + i, query: q(host, "big", start, 20) }));
    const before = s.frames.length;
    const [a, b] = await ask(s, [pages.join("\n")], 2);
    assert.deepEqual([a.records.length, b.records.length], [20, 20]);
    assert.equal(answerFrames(before).length, 2);
    assert.ok(answerFrames(before).every((f) => !f.includes("\n") && f.length <= 4 << 20));
    s.ws.close(1000);
  });

  test("a message's work is bounded: 20,000 requests get 64 pages and 413s naming the bound; 32 MiB of answers ends it too", async () => {
    const { token, host, s } = await opened(299, "flood");
    const many = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ type: "next", id: i, query: q(host, "history", 0, 100) }));
    const answers = await ask(s, [many.join("\n")], many.length);
    assert.equal(answers.filter((a) => a.type === "page").length, 64);
    assert.deepEqual(answers.slice(0, 64).map((a) => a.id), Array.from({ length: 64 }, (_, i) => i));
    assert.deepEqual(answers[64], { type: "error", id: 64, status: 413, reason: answers[64].reason });
    assert.match(answers[64].reason, /at most 64/);
    assert.equal(answers[19_999].id, 19_999);
    // Past 32 MiB of answers (pages of ~4 MiB here), the rest are refused, each by id.
    const big = { data: "v4.local." + "x".repeat(200_000) };
    for (let at = 0; at < 400; at += 100) assert.equal((await api.push(token, series(host, "big", at, at + 99, big))).status, 200);
    const pages = Array.from({ length: 12 }, (_, i) => JSON.stringify({ type: "next", id: 100 + i, query: q(host, "big", i * 20, 20) }));
    const got = await ask(s, [pages.join("\n")], pages.length);
    const served = got.filter((a) => a.type === "page").length;
    assert.ok(served >= 8 && served < 12, `${served} pages served`);
    assert.match(got[11].reason, /32 MiB/);
    assert.equal(got[11].status, 413);
    // The socket still answers the next message.
    const [after] = await ask(s, [{ type: "next", id: 9, query: q(host, "history", 5, 2) }]);
    assert.deepEqual(after.records.map((r) => r.idx), [5, 6]);
    s.ws.close(1000);
  });

  test("pages read after a push hold it: rows read for earlier pages are not served stale", async () => {
    const { token, host, s } = await opened(9);
    const [first] = await ask(s, [{ type: "next", id: 1, query: q(host, "history", 0, 5) }]);
    assert.deepEqual(first.records.map((r) => r.idx), [0, 1, 2, 3, 4]);
    // The same stored row grows: later pages must see the new records.
    assert.equal((await api.push(token, series(host, "history", 10, 19))).status, 200);
    const [socket] = await ask(s, [{ type: "next", id: 2, query: q(host, "history", 5, 100) }]);
    assert.deepEqual(socket.records.map((r) => r.idx), Array.from({ length: 15 }, (_, i) => 5 + i));
    const http = await api.next(token, { host, tag: "history", start: 7, count: 100 });
    assert.deepEqual(http.json.map((r) => r.idx), Array.from({ length: 13 }, (_, i) => 7 + i));
    // Deleting the records: nothing is served from before.
    assert.equal((await api.req("DELETE", "/api/v0/store", { token })).status, 200);
    const [gone] = await ask(s, [{ type: "next", id: 3, query: q(host, "history", 5, 100) }]);
    assert.deepEqual(gone.records, []);
    s.ws.close(1000);
  });

  test("only the account's own records; a socket of a deleted account is closed", async () => {
    const alice = await api.register(username("alice"), "pw-a");
    const bob = await api.register(username("bob"));
    const host = uuid();
    assert.equal((await api.push(alice, series(host, "history", 0, 4))).status, 200);
    const b = await v2(bob);
    await b.wait(1);
    const [none] = await ask(b, [{ type: "next", id: 1, query: q(host, "history", 0, 10) }]);
    assert.deepEqual(none, { type: "page", id: 1, records: [] });
    const a = await v2(alice);
    await a.wait(1);
    const r = await api.req("DELETE", "/account", { token: alice, body: { password: "pw-a" } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await a.closed).code, 4003);
    b.ws.close(1000);
  });
});
