// An in-page stand-in for the sync server, installed as `fetch`: Atuin's v0 API in memory,
// with the push rules (idempotent, 409 on a taken idx), a page-size cap, and hooks to fail or
// abort after a number of requests. Tests use it where a real server would make them slow.
export function install(opts) {
  const o = Object.assign({ pageCap: 100, failEvery: 0 }, opts || {});
  const s = { users: new Map(), sessions: new Map(), records: new Map(), requests: 0, abortAfter: 0, controller: null, failEvery: o.failEvery };
  globalThis.__fake = s;
  const json = (status, body, extra) => new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: Object.assign({ 'Atuin-Version': '18.24.4', 'Content-Type': 'application/json' }, extra || {}) });
  const user = (req) => {
    const a = req.headers.get('Authorization') || '';
    return s.sessions.get(a.replace(/^Token /, ''));
  };
  const series = (u) => { if (!s.records.has(u)) s.records.set(u, new Map()); return s.records.get(u); };
  globalThis.fetch = async (req) => {
    s.requests++;
    if (req.signal && req.signal.aborted) throw new DOMException('aborted', 'AbortError');
    if (s.abortAfter && s.requests >= s.abortAfter && s.controller) { s.abortAfter = 0; s.controller.abort(); throw new DOMException('aborted', 'AbortError'); }
    if (s.failEvery && s.requests % s.failEvery === 0) return json(503, { reason: 'flaky' });
    const url = new URL(req.url);
    const p = url.pathname;
    const body = req.method === 'GET' ? null : await req.text();
    if (p === '/api/v0/capabilities') return json(200, { version: 'x', capabilities: { 'sh.atuin.server/records.page_size': { version: 1, page_size: o.pageCap } } });
    if (p === '/register') {
      const b = JSON.parse(body);
      if (s.users.has(b.username.toLowerCase())) return json(400, { reason: 'username taken' });
      s.users.set(b.username.toLowerCase(), b.password);
      const t = 'sess-' + Math.random(); s.sessions.set(t, b.username.toLowerCase());
      return json(200, { session: t, auth: 'cli' });
    }
    if (p === '/login') {
      const b = JSON.parse(body);
      const pw = s.users.get(b.username.toLowerCase());
      if (pw === undefined) return json(404, { reason: 'no such user' });
      if (pw !== b.password) return json(401, { reason: 'wrong password' });
      const t = 'sess-' + Math.random(); s.sessions.set(t, b.username.toLowerCase());
      return json(200, { session: t, auth: 'cli' });
    }
    const u = user(req);
    if (!u) return json(401, { reason: 'no session' });
    const store = series(u);
    if (p === '/api/v0/me') return json(200, { username: u });
    if (p === '/api/v0/record' && req.method === 'GET') {
      const hosts = {};
      for (const [k, v] of store) { const [h, t] = k.split('\u0000'); (hosts[h] ||= {})[t] = v.length - 1; }
      return json(200, { hosts });
    }
    if (p === '/api/v0/record/next') {
      const k = url.searchParams.get('host') + '\u0000' + url.searchParams.get('tag');
      const start = Number(url.searchParams.get('start') || 0);
      const count = Math.min(Number(url.searchParams.get('count')), o.pageCap);
      const v = store.get(k) || [];
      return new Response('[' + v.slice(start, start + count).join(',') + ']', { status: 200, headers: { 'Atuin-Version': '18.24.4' } });
    }
    if (p === '/api/v0/record' && req.method === 'POST') {
      // Keep each record's exact JSON text: 64-bit timestamps must survive.
      const texts = splitArray(body);
      const parsed = texts.map((t) => JSON.parse(t));
      const lens = new Map();
      const fresh = [];
      for (let i = 0; i < parsed.length; i++) {
        const r = parsed[i];
        const k = r.host.id + '\u0000' + r.tag;
        const v = store.get(k) || [];
        const len = lens.has(k) ? lens.get(k) : v.length;
        if (r.idx < v.length) {
          if (JSON.parse(v[r.idx]).id !== r.id) return json(409, { reason: `idx ${r.idx} of ${k} is taken` });
        } else if (r.idx === len) { lens.set(k, len + 1); fresh.push([k, texts[i]]); }
        else return json(400, { reason: `gap at idx ${r.idx}` });
      }
      for (const [k, t] of fresh) { if (!store.has(k)) store.set(k, []); store.get(k).push(t); }
      return new Response(null, { status: 200, headers: { 'Atuin-Version': '18.24.4' } });
    }
    return json(404, { reason: 'not found' });
  };
}

// Split a JSON array of objects into the objects' texts (records hold no brackets in strings
// that could confuse depth counting except inside strings, which are skipped).
function splitArray(text) {
  const out = []; let depth = 0; let start = -1; let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) { if (c === '\\') i++; else if (c === '"') inStr = false; continue; }
    if (c === '"') inStr = true;
    else if (c === '{') { if (depth === 0) start = i; depth++; }
    else if (c === '}') { depth--; if (depth === 0) out.push(text.slice(start, i + 1)); }
  }
  return out;
}

export function set_abort_after(n, controller) { globalThis.__fake.abortAfter = globalThis.__fake.requests + n; globalThis.__fake.controller = controller; }
export function clear_abort() { globalThis.__fake.abortAfter = 0; }
export function set_fail_every(n) { globalThis.__fake.failEvery = n; }
export function requests() { return globalThis.__fake.requests; }
export function server_count(user) { let n = 0; for (const v of (globalThis.__fake.records.get(user) || new Map()).values()) n += v.length; return n; }
export function server_ids(user) { const ids = []; for (const v of (globalThis.__fake.records.get(user) || new Map()).values()) for (const t of v) ids.push(JSON.parse(t).id); return JSON.stringify(ids); }
