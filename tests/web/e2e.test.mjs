// The npm package in headless Chromium against the real worker (workerd + local D1):
// two browser profiles (own IndexedDB each) register, push, pull, delete; cut-off syncs.
//   node --test tests/web/
import assert from "node:assert/strict";
import { test } from "node:test";
import { open, suiteEnv, uniq } from "./harness.mjs";

const env = suiteEnv();

test("two profiles: register, push, pull, delete, see the deletion", async () => {
  const server = env.worker.url;
  const username = uniq("alice");
  const a = await env.profile();
  await open(a, server, "a");
  const key = await a.eval(
    async ({ username }) => {
      await c.register({ username, email: `${username}@example.com`, password: "correct horse" });
      await c.history.add({ command: "git status", cwd: "/src", exit: 0, session: "s1", hostname: "laptop:alice" });
      await c.history.add({ command: "cargo test -p terrapin-web", cwd: "/src", exit: 101, session: "s1", hostname: "laptop:alice" });
      await c.history.add({ command: "ls -la", cwd: "/home", exit: 0, session: "s2", hostname: "laptop:alice" });
      await c.kv.set("env", "EDITOR", "hx");
      const r = await c.sync();
      if (r.uploaded !== 4) throw new Error("uploaded " + JSON.stringify(r));
      return c.key();
    },
    { username },
  );
  assert.match(key, /^[A-Za-z0-9+/=]+$/);

  const b = await env.profile();
  await open(b, server, "b");
  const seen = await b.eval(
    async ({ username, key }) => {
      await c.login({ username, password: "correct horse", key });
      const events = [];
      const r = await c.sync({ onProgress: (p) => events.push(p) });
      const page = c.history.query({ text: "cargo", mode: "fuzzy" });
      return { r, last: events.at(-1), count: c.history.count(), page, kv: c.kv.get("env", "EDITOR"), me: await c.me(), local: await c.status(), remote: await c.remoteStatus() };
    },
    { username, key },
  );
  assert.deepEqual(seen.r, { uploaded: 0, downloaded: 4, keyCheck: "verified", damaged: [] });
  assert.equal(seen.last.allDone, 4);
  assert.equal(seen.count, 3);
  assert.equal(seen.page.entries[0].command, "cargo test -p terrapin-web");
  assert.equal(seen.page.entries[0].exit, 101);
  assert.equal(seen.kv, "hx");
  assert.equal(seen.me.username, username);
  assert.deepEqual(seen.local, seen.remote);

  const deleted = await b.eval(async () => {
    const id = c.history.query({ text: "git status", mode: "prefix" }).entries[0].id;
    await c.history.delete(id);
    const r = await c.sync();
    return { id, r };
  });
  assert.equal(deleted.r.uploaded, 1);

  const afterDelete = await a.eval(async (id) => {
    const r = await c.sync();
    return { r, gone: c.history.get(id) === undefined, count: c.history.count() };
  }, deleted.id);
  assert.equal(afterDelete.r.downloaded, 1);
  assert.ok(afterDelete.gone);
  assert.equal(afterDelete.count, 2);

  // A wrong key is refused before anything is uploaded.
  const c = await env.profile();
  await open(c, server, "c");
  const wrong = await c.eval(async ({ username }) => {
    await c.login({ username, password: "correct horse", key: await window.tw.generateKey() });
    await c.history.add({ command: "echo must not upload" });
    try {
      await c.sync();
      return "synced";
    } catch (e) {
      return e.kind;
    }
  }, { username });
  assert.equal(wrong, "wrong_key");
  // Nothing of that profile reached the server.
  const remote = await a.eval(async () => (await c.remoteStatus()).hosts);
  const wrongHost = await c.eval(() => c.hostId);
  assert.equal(Object.keys(remote).length, 2, JSON.stringify(remote));
  assert.equal(remote[wrongHost], undefined);
  for (const p of [a, b, c]) await p.context.close();
});

test("cut-off: a sync of 10k records aborted at 20 random points loses and duplicates nothing", async () => {
  const server = env.worker.url;
  const { p: a, username } = await env.registered("bob");
  const n = 10_000;
  const up = await a.eval(
    async ({ n }) => {
      const entries = Array.from({ length: n }, (_, i) => ({ command: `make target-${i}`, cwd: "/w", exit: i % 3, session: "s" }));
      await c.history.addMany(entries);
      // Upload, cut off a few times at random moments.
      let cuts = 0;
      for (;;) {
        const ctl = new AbortController();
        const t = setTimeout(() => ctl.abort(), 20 + Math.random() * 400);
        try {
          await c.sync({ signal: ctl.signal });
          clearTimeout(t);
          break;
        } catch (e) {
          if (e.kind !== "aborted") throw e;
          cuts++;
        }
      }
      const ids = JSON.parse(await c.exportRecords()).map((r) => r.id);
      return { cuts, key: c.key(), ids };
    },
    { n },
  );
  assert.equal(up.ids.length, n);

  const b = await env.profile();
  await open(b, server, "b", 100);
  const down = await b.eval(
    async ({ username, key }) => {
      await c.login({ username, password: "pw", key });
      // 20 distinct random cut points among the ~100 pages (page size 100), each one aborting
      // the sync right after that page; every run resumes from the statuses.
      const points = new Set();
      while (points.size < 20) points.add(1 + Math.floor(Math.random() * 95));
      const cutAt = [...points].sort((x, y) => x - y);
      let pages = 0;
      let cuts = 0;
      for (let runs = 0; ; runs++) {
        if (runs > 100) throw new Error("no progress");
        const ctl = new AbortController();
        try {
          await c.sync({
            signal: ctl.signal,
            onProgress: () => {
              pages++;
              if (!ctl.signal.aborted && cutAt.length && pages >= cutAt[0]) {
                cutAt.shift();
                ctl.abort();
              }
            },
          });
          break;
        } catch (e) {
          if (e.kind !== "aborted") throw e;
          cuts++;
        }
      }
      const ids = JSON.parse(await c.exportRecords()).map((r) => r.id);
      return { cuts, ids, count: c.history.count() };
    },
    { username, key: up.key },
  );
  assert.equal(down.cuts, 20);
  assert.equal(down.ids.length, n, "nothing duplicated");
  assert.equal(new Set(down.ids).size, n);
  assert.deepEqual([...down.ids].sort(), [...up.ids].sort(), "nothing lost");
  assert.equal(down.count, n);
  await a.context.close();
  await b.context.close();
});

/**
 * Wraps the page's fetch, which the package calls for every request (the page socket is taken
 * away: every page comes over HTTP), and adds `syncWithCuts()`: syncs until one completes, each
 * try aborted as a random request starts (a sync cut off mid-request): the first try within its
 * first 6 requests, the others within 40 (a download has 8 requests under way at once, so
 * earlier cuts alone would store nothing); returns how many were cut off.
 */
async function cutOffMidRequest(p) {
  await p.eval(() => {
    window.WebSocket = undefined;
    const real = window.fetch;
    let left = 0;
    let ctl = null;
    window.fetch = (req, init) => {
      if (ctl && --left <= 0) {
        ctl.abort();
        ctl = null;
      }
      return real(req, init);
    };
    window.syncWithCuts = async () => {
      for (let cuts = 0; cuts <= 100; cuts++) {
        ctl = new AbortController();
        left = 1 + Math.floor(Math.random() * (cuts === 0 ? 6 : 40));
        try {
          await c.sync({ signal: ctl.signal });
          ctl = null;
          return cuts;
        } catch (e) {
          if (e.kind !== "aborted") throw e;
        }
      }
      throw new Error("no progress");
    };
  });
}

test("cut-off mid-request: syncs aborted as a random request starts, up and down, lose and duplicate nothing", async () => {
  const server = env.worker.url;
  const n = 600;
  const { p: a, username } = await env.registered("cut", 50);
  await cutOffMidRequest(a);
  const up = await a.eval(async ({ n }) => {
    await c.history.addMany(Array.from({ length: n }, (_, i) => ({ command: `echo ${i}`, session: "s" })));
    const cuts = await syncWithCuts();
    return { cuts, key: c.key(), host: c.hostId, records: await c.exportRecords(), remote: await c.remoteStatus() };
  }, { n });
  assert.ok(up.cuts > 0);
  assert.deepEqual(up.remote, { hosts: { [up.host]: { history: n - 1 } } });

  const b = await env.profile();
  await open(b, server, "b", 50);
  await cutOffMidRequest(b);
  const down = await b.eval(async ({ username, key }) => {
    await c.login({ username, password: "pw", key });
    const cuts = await syncWithCuts();
    return { cuts, records: await c.exportRecords(), count: c.history.count() };
  }, { username, key: up.key });
  assert.ok(down.cuts > 0);
  assert.deepEqual(byId(down.records), byId(up.records), "the same records, none lost or doubled");
  assert.equal(down.count, n);
  await a.context.close();
  await b.context.close();
});

test("a flaky server (every third request first answered 503) is retried through whole syncs, up and down", async () => {
  const server = env.worker.url;
  const n = 450;
  /** Answers every third request to the worker with a 503 instead of passing it on (a retry of it passes). */
  const flaky = async (p) => {
    let seen = 0;
    const failed = new Set();
    await p.page.route(`${server}/**`, async (r) => {
      const req = r.request();
      const what = `${req.method()} ${req.url()} ${req.postData() ?? ""}`;
      if (req.method() !== "OPTIONS" && ++seen % 3 === 0 && !failed.has(what)) {
        failed.add(what);
        await r.fulfill({ status: 503, contentType: "application/json", headers: { "Atuin-Version": "18.24.4" }, body: '{"reason":"flaky"}' });
      } else await r.continue();
    });
    return failed;
  };
  const { p: a, username } = await env.registered("flaky", 100);
  const failedUp = await flaky(a);
  const up = await a.eval(async ({ n }) => {
    await c.history.addMany(Array.from({ length: n }, (_, i) => ({ command: `echo ${i}`, session: "s" })));
    return { r: await c.sync(), key: c.key() };
  }, { n });
  assert.equal(up.r.uploaded, n);
  assert.ok(failedUp.size > 0);

  const b = await env.profile();
  await open(b, server, "b", 100);
  await b.eval(async ({ username, key }) => c.login({ username, password: "pw", key }), { username, key: up.key });
  // Every page over HTTP, where the 503s are (no page socket).
  await b.eval(() => (window.WebSocket = undefined));
  const failedDown = await flaky(b);
  const down = await b.eval(async () => ({ r: await c.sync(), count: c.history.count() }));
  assert.equal(down.r.downloaded, n);
  assert.equal(down.count, n);
  assert.ok(failedDown.size > 0);
  await a.context.close();
  await b.context.close();
});

test("the vault keeps session and key sealed across page loads", async () => {
  const server = env.worker.url;
  const { p, username } = await env.registered("vault");
  const key = await p.eval(async () => {
    await c.saveVault("a long passphrase", { memoryKiB: 8192, iterations: 1 });
    return c.key();
  });
  await p.page.reload();
  await p.eval(async () => {
    window.tw = await import("/pkg/index.js");
  });
  await open(p, server, "vault");
  const r = await p.eval(async () => {
    const before = c.loggedIn;
    let wrong;
    try {
      await c.unlock("nope");
    } catch (e) {
      wrong = e.kind;
    }
    await c.unlock("a long passphrase");
    return { before, wrong, key: c.key(), me: (await c.me()).username };
  });
  assert.equal(r.before, false);
  assert.equal(r.wrong, "wrong_passphrase");
  assert.equal(r.key, key);
  assert.equal(r.me, username);
  await p.context.close();
});

test("the package works in a Web Worker", async () => {
  const server = env.worker.url;
  const username = uniq("worker");
  const p = await env.profile();
  const r = await p.eval(
    async ({ server, username }) => {
      const src = `
        import { Client } from "${location.origin}/pkg/index.js";
        onmessage = async ({ data }) => {
          try {
            const c = await Client.open({ server: data.server, profile: "in-worker" });
            await c.register({ username: data.username, email: data.username + "@example.com", password: "pw" });
            await c.history.add({ command: "echo from a worker" });
            const rep = await c.sync();
            postMessage({ ok: true, rep, found: c.history.query({ text: "worker" }).total });
          } catch (e) {
            postMessage({ ok: false, error: String(e) });
          }
        };`;
      const url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
      const w = new Worker(url, { type: "module" });
      const answer = new Promise((resolve) => (w.onmessage = (m) => resolve(m.data)));
      w.postMessage({ server, username });
      return answer;
    },
    { server, username },
  );
  assert.ok(r.ok, r.error);
  assert.deepEqual(r.rep, { uploaded: 1, downloaded: 0, keyCheck: "nothing_synced", damaged: [] });
  assert.equal(r.found, 1);
  await p.context.close();
});

test("a profile open in another tab gives way: deleteProfile finishes; that tab's writes then fail", async () => {
  const server = env.worker.url;
  const p = await env.profile();
  const tab2 = await p.context.newPage();
  await tab2.goto(p.page.url());
  await tab2.evaluate(async (server) => {
    const tw = await import("/pkg/index.js");
    window.c = await tw.Client.open({ server, profile: "shared" });
    await c.setKey(await tw.generateKey());
    await c.history.add({ command: "echo kept open" });
  }, server);
  const r = await p.eval(async () => {
    // IndexedDB deletes a database once every connection to it is closed.
    const waited = new Promise((resolve) => setTimeout(() => resolve("still blocked"), 5000));
    return Promise.race([tw.deleteProfile("shared").then(() => "deleted"), waited]);
  });
  assert.equal(r, "deleted");
  const after = await tab2.evaluate(async () => {
    try {
      await c.history.add({ command: "echo too late" });
      return "written";
    } catch (e) {
      return `${e.kind}: ${e.message}`;
    }
  });
  assert.match(after, /^store: IndexedDB: InvalidStateError: .*connection is closing/);
  await p.context.close();
});

test("register and login are never retried: a lost answer is an error, not a 409 on a second try", async () => {
  const server = env.worker.url;
  const username = uniq("lost");
  const p = await env.profile();
  await open(p, server, "lost");
  const seen = { register: 0, login: 0 };
  // The worker does the work; the answer is lost on the way back (replaced by a 502).
  for (const route of ["register", "login"]) {
    await p.page.route(`${server}/${route}`, async (r) => {
      seen[route]++;
      await r.fetch();
      await r.fulfill({ status: 502, contentType: "application/json", body: '{"reason":"bad gateway"}' });
    });
  }
  const outcome = await p.eval(async ({ username }) => {
    const out = {};
    for (const [name, call] of [
      ["register", () => c.register({ username, email: `${username}@example.com`, password: "pw" })],
      ["login", () => c.login({ username, password: "pw", key: "" })],
    ]) {
      try {
        await call();
        out[name] = "ok";
      } catch (e) {
        out[name] = `${e.kind} ${e.status ?? ""}`.trim();
      }
    }
    return out;
  }, { username });
  assert.equal(seen.register, 1, "register was retried");
  assert.equal(outcome.register, "server 502");
  await p.page.unroute(`${server}/register`);
  await p.page.unroute(`${server}/login`);
  // the account the lost answer made is there: login works
  const login = await fetch(`${server}/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password: "pw" }) });
  assert.equal(login.status, 200);
  await p.context.close();
});

test("pushes are split by bytes as well as count: 80 entries of 100 KiB go up under an 8 MiB body limit", async () => {
  const server = env.worker.url;
  const { p } = await env.registered("big", 1000);
  const posts = [];
  p.page.on("request", (r) => {
    if (r.method() === "POST" && r.url() === `${server}/api/v0/record`) posts.push(r.postData()?.length ?? 0);
  });
  const r = await p.eval(async () => {
    for (let i = 0; i < 80; i++) await c.history.add({ command: `echo ${i} ${"x".repeat(100 * 1024)}` });
    const r = await c.sync();
    return { r, remote: await c.remoteStatus() };
  });
  assert.equal(r.r.uploaded, 80);
  assert.ok(posts.length >= 3, `${posts.length} pushes`);
  for (const size of posts) assert.ok(size <= 4 * 1024 * 1024, `a push of ${size} bytes`);
  await p.context.close();
});

test("commands of megabytes go up, and come down over the page socket into IndexedDB, whole", async () => {
  // A 600 KB command (a 1.07 MB record: atuin-server's size) and a 3 MB one (a record past a
  // 2 MB storage row and past one socket message's 4 MiB join bound) among 400 small ones.
  const n = 400;
  const { p: a, username } = await env.registered("huge", 100);
  const big = { 150: "A".repeat(600 * 1024), 151: "B".repeat(3 * 1024 * 1024) };
  const up = await a.eval(async ({ n, big }) => {
    await c.history.addMany(Array.from({ length: n }, (_, i) => ({ command: big[i] ? `echo ${big[i]}` : `echo ${i}`, session: "s" })));
    return { r: await c.sync(), key: c.key(), records: await c.exportRecords() };
  }, { n, big });
  assert.equal(up.r.uploaded, n);
  const b = await watched(env.worker.url, "b");
  const down = await b.eval(async ({ username, key }) => {
    await c.login({ username, password: "pw", key });
    const r = await c.sync();
    const lengths = c.history.query({ limit: 1000 }).entries.map((e) => e.command.length).sort((x, y) => y - x);
    return { r, seen: window.seen, records: await c.exportRecords(), lengths, count: c.history.count() };
  }, { username, key: up.key });
  assert.equal(down.r.downloaded, n);
  assert.ok(down.seen.socketPages >= 1, JSON.stringify(down.seen));
  assert.deepEqual(byId(down.records), byId(up.records));
  assert.equal(down.count, n);
  assert.deepEqual(down.lengths.slice(0, 2), [5 + 3 * 1024 * 1024, 5 + 600 * 1024]);
  await a.context.close();
  await b.context.close();
});

test("logout ends the session on the server, not only in the browser", async () => {
  const server = env.worker.url;
  const { p } = await env.registered("bye");
  let token;
  p.page.on("request", (r) => {
    const auth = r.headers()["authorization"];
    if (auth?.startsWith("Token ")) token = auth.slice(6);
  });
  await p.eval(() => c.me());
  const me = () => fetch(`${server}/api/v0/me`, { headers: { Authorization: `Token ${token}` } });
  assert.equal((await me()).status, 200);
  await p.eval(() => c.logout());
  assert.equal((await me()).status, 403);
  await p.context.close();
});

/**
 * Counts, in the page, the pages that come over the page socket and the `next` requests over
 * HTTP; `window.onSocketPage(ws, n)` (if set) runs as the n-th socket page arrives.
 */
async function watchPages(p) {
  await p.eval(() => {
    const Real = window.WebSocket;
    const seen = (window.seen = { socketPages: 0, socketFrames: 0, httpPages: 0, sockets: 0 });
    window.WebSocket = class extends Real {
      constructor(url, protocols) {
        super(url, protocols);
        seen.sockets++;
        this.addEventListener("message", (ev) => {
          // A frame may carry several pages, one per line.
          const pages = typeof ev.data === "string" ? ev.data.split("\n").filter((l) => l.startsWith('{"type":"page"')) : [];
          if (pages.length) {
            seen.socketPages += pages.length;
            seen.socketFrames++;
            window.onSocketPage?.(this, seen.socketPages);
          }
        });
      }
    };
    const real = window.fetch;
    window.fetch = (req, init) => {
      if (String(req.url ?? req).includes("/api/v0/record/next")) seen.httpPages++;
      return real(req, init);
    };
  });
}

/**
 * A new user whose profile `a` (page size 100) uploaded `n` entries (`up`: the key and the
 * records), and a fresh profile `b` of the same server, logged in, whose pages are counted.
 */
async function uploaded(name, n) {
  const { p: a, username } = await env.registered(name, 100);
  const up = await a.eval(async ({ n }) => {
    await c.history.addMany(Array.from({ length: n }, (_, i) => ({ command: `echo ${i}`, session: "s" })));
    await c.sync();
    return { key: c.key(), records: await c.exportRecords() };
  }, { n });
  const b = await watched(env.worker.url, "b");
  await b.eval(async ({ username, key }) => c.login({ username, password: "pw", key }), { username, key: up.key });
  return { a, b, username, up };
}

/** A fresh profile `name` on `server` (page size 100) whose pages are counted (watchPages). */
async function watched(server, name) {
  const p = await env.profile();
  await open(p, server, name, 100);
  await watchPages(p);
  return p;
}

const byId = (json) => JSON.parse(json).sort((x, y) => (x.id < y.id ? -1 : 1));

test("pages come over the page socket; a socket that closes mid-download hands over to HTTP, losing nothing", async () => {
  const server = env.worker.url;
  const n = 3000;
  // A whole download over the socket.
  const { a, b, username, up } = await uploaded("sock", n);
  const whole = await b.eval(async () => ({ r: await c.sync(), seen: window.seen, records: await c.exportRecords() }));
  assert.equal(whole.r.downloaded, n);
  assert.equal(whole.seen.sockets, 1);
  // 30 pages of 100: the first two over HTTP, the rest over the socket (those made while it
  // opens wait for it), several to a frame.
  assert.equal(whole.seen.httpPages, 2, JSON.stringify(whole.seen));
  assert.ok(whole.seen.socketPages >= 28, JSON.stringify(whole.seen));
  assert.ok(whole.seen.socketFrames <= whole.seen.socketPages / 2, JSON.stringify(whole.seen));
  assert.deepEqual(byId(whole.records), byId(up.records));

  // The socket closes once it brought 5 pages: the rest comes over HTTP, in the same sync.
  const d = await watched(server, "d");
  const cut = await d.eval(async ({ username, key }) => {
    await c.login({ username, password: "pw", key });
    window.onSocketPage = (ws, k) => k >= 5 && ws.close();
    const r = await c.sync();
    return { r, seen: window.seen, records: await c.exportRecords(), count: c.history.count() };
  }, { username, key: up.key });
  assert.equal(cut.r.downloaded, n);
  assert.ok(cut.seen.socketPages >= 5 && cut.seen.socketPages < 20, JSON.stringify(cut.seen));
  assert.ok(cut.seen.httpPages >= 10, JSON.stringify(cut.seen));
  assert.deepEqual(byId(cut.records), byId(up.records), "the same records, none lost or doubled");
  assert.equal(cut.count, n);
  // A sync of one page (live mode's kind) opens no socket.
  await a.eval(async () => {
    await c.history.addMany([{ command: "echo more", session: "s" }]);
    await c.sync();
  });
  const small = await b.eval(async () => ({ r: await c.sync(), seen: window.seen }));
  assert.equal(small.r.downloaded, 1);
  assert.equal(small.seen.sockets, 1, JSON.stringify(small.seen));
  for (const p of [a, b, d]) await p.context.close();
});

test("cut-off over the page socket: syncs aborted as a random socket page arrives lose and duplicate nothing", async () => {
  const n = 2000;
  const { a, b, up } = await uploaded("sockcut", n);
  const down = await b.eval(async () => {
    let cuts = 0;
    for (let runs = 0; ; runs++) {
      if (runs > 50) throw new Error("no progress");
      const ctl = new AbortController();
      const at = window.seen.socketPages + 1 + Math.floor(Math.random() * 4);
      window.onSocketPage = (_ws, k) => k >= at && ctl.abort();
      try {
        await c.sync({ signal: ctl.signal });
        break;
      } catch (e) {
        if (e.kind !== "aborted") throw e;
        cuts++;
      }
    }
    return { cuts, seen: window.seen, records: await c.exportRecords(), count: c.history.count() };
  });
  assert.ok(down.cuts >= 3, JSON.stringify(down));
  // Cut syncs are cut by a socket frame, each on a socket of its own (the last sync may need
  // too few pages to open one).
  assert.ok(down.seen.sockets >= down.cuts, `each cut sync had its own socket: ${JSON.stringify({ cuts: down.cuts, seen: down.seen })}`);
  assert.deepEqual(byId(down.records), byId(up.records), "the same records, none lost or doubled");
  assert.equal(down.count, n);
  await a.context.close();
  await b.context.close();
});
