// A tiny HTTP client for the edge tests: raw requests, accounts and record builders.
import { randomUUID } from "node:crypto";

export const uuid = () => randomUUID();

export class Api {
  constructor(url) {
    this.url = url;
  }

  /** Sends a request; `body` objects are JSON-encoded, strings/buffers sent as is. */
  async req(method, path, { token, body, headers = {} } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Token ${token}`;
    let payload;
    if (body !== undefined) {
      payload = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
      h["Content-Type"] ??= "application/json";
    }
    const res = await fetch(this.url + path, { method, headers: h, body: payload });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  async register(username, password = "correct horse battery staple", email) {
    const r = await this.req("POST", "/register", {
      body: { username, password, email: email ?? `${username}@example.test` },
    });
    if (r.status !== 200) throw new Error(`register ${username}: ${r.status} ${r.text}`);
    return r.json.session;
  }

  status(token) {
    return this.req("GET", "/api/v0/record", { token });
  }

  push(token, records) {
    return this.req("POST", "/api/v0/record", { token, body: records });
  }

  next(token, { host, tag, start, count }) {
    const q = new URLSearchParams({ host, tag, count: String(count) });
    if (start !== undefined) q.set("start", String(start));
    return this.req("GET", `/api/v0/record/next?${q}`, { token });
  }

  /** Every record of one series, paging `count` at a time. */
  async all(token, host, tag, count = 100) {
    const out = [];
    for (let start = 0; ; ) {
      const r = await this.next(token, { host, tag, start, count });
      if (r.status !== 200) throw new Error(`next: ${r.status} ${r.text}`);
      if (r.json.length === 0) return out;
      out.push(...r.json);
      start = r.json[r.json.length - 1].idx + 1;
    }
  }
}

let unique = 0;
/** A fresh valid username. */
export const username = (prefix = "u") => `${prefix}-${process.pid}-${Date.now().toString(36)}-${unique++}`;

/** A record as Atuin sends it (the payload is opaque to the server). */
export function record({ host, tag = "history", idx, id = uuid(), timestamp = 1_700_000_000_000_000, version = "v0", data }) {
  return {
    id,
    idx,
    host: { id: host, name: "" },
    timestamp,
    version,
    tag,
    data: {
      data: data ?? `v4.local.${Buffer.from(`${host}/${tag}/${idx}`).toString("base64url")}`,
      content_encryption_key: '{"wpk":"k4.local-wrap.pie.test","kid":"k4.lid.test"}',
    },
  };
}

/** Records idx `from`..`to` (inclusive) of one series. */
export function series(host, tag, from, to, extra = {}) {
  const out = [];
  for (let i = from; i <= to; i++) out.push(record({ host, tag, idx: i, ...extra }));
  return out;
}
