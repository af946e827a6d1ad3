//! `UserStore`: one SQLite-backed Durable Object per account, holding that account's records in
//! pages (terrapin-core `pages`) and nothing else (docs/ARCHITECTURE.md, "Edge store").
//!
//! The worker reaches it only through [`StoreStub`] after authenticating the request, with
//! internal paths (`/status`, `/push`, `/import`, `/next`, `/records`, `/close`, `/stats`,
//! `/live`, `/hangup`).
//! An object runs one event at a time and its SQL is synchronous, so each push's reads, checks
//! and writes run with nothing in between; the writes also run in one `transactionSync`.
//!
//! Live sync (docs/PROTOCOL.md §2, "Live status"): `/live` accepts a WebSocket through the
//! hibernation API (an idle socket costs nothing), tagged with the session's hash. After each
//! push that stored something, the object sends the new last idx of the series it wrote to this
//! account's sockets: statuses only, never records.

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use terrapin_core::pages::{
    self, NextPage, PageError, PagePushError, StoredPage, NEXT_MAX_BYTES, PAGE_MAX_BYTES,
    ROW_MAX_BYTES,
};
use terrapin_core::push::{self, PushLimits, SeriesRange};
use terrapin_core::record::{HostId, RecordIdx, SeriesKey, Tag};
use terrapin_core::status::Status;
use terrapin_core::wire::{self, NextQuery};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{
    durable_object, Env, Headers, Method, Request, RequestInit, Response, SqlStorage,
    SqlStorageValue, State, Stub, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    WebSocketRequestResponsePair,
};

use crate::config::Config;
use crate::error::{empty_ok, json, raw_json, ApiError, ApiResult};
use crate::http::query_pairs;

/// Header on the object's answers: rows read and written by the request (SQL cursors).
pub const ROWS_HEADER: &str = "x-terrapin-store-rows";
/// Header of a `/live` request: the hash of the session the worker authenticated.
pub const SESSION_HEADER: &str = "x-terrapin-session";
/// Prefix of a live socket's tag; the rest is its session's hash.
const SESSION_TAG: &str = "s:";
/// Live sockets per account; the oldest is closed to make room.
const MAX_SOCKETS: usize = 64;
/// Close codes of live sockets: the session ended, the account was deleted, too many sockets.
pub const CLOSE_SESSION_ENDED: u16 = 4001;
pub const CLOSE_ACCOUNT_DELETED: u16 = 4003;
pub const CLOSE_REPLACED: u16 = 4008;

const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS pages (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    count INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (host, tag, first_idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parts (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    part INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (host, tag, first_idx, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    last_idx INTEGER NOT NULL,
    PRIMARY KEY (host, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;";

#[wasm_bindgen]
extern "C" {
    type SyncTransactions;
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &SyncTransactions,
        f: &mut dyn FnMut() -> Result<(), JsValue>,
    ) -> Result<JsValue, JsValue>;
}

#[durable_object]
pub struct UserStore {
    state: State,
    sql: SqlStorage,
    cfg: Config,
    /// Set once the account is deleted: the object then refuses every request but `/close`.
    closed: Cell<bool>,
    rows: Cell<Rows>,
    /// The rows `next` read last, newest last, each with its last idx: requests for small
    /// pages read each row several times. Emptied by every other operation, so it never
    /// outlives a write.
    read: RefCell<Vec<(Rc<StoredPage>, RecordIdx)>>,
}

/// Rows kept by [`UserStore::read`]; a page longer than `PAGE_MAX_BYTES` (one big record) is
/// not kept.
const READ_CACHE: usize = 4;

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn n(v: RecordIdx) -> JsValue {
    // idx is at most 2^53 - 1 (wire::MAX_IDX): exact as a JS number.
    JsValue::from_f64(v as f64)
}

fn as_idx(v: &SqlStorageValue) -> Option<RecordIdx> {
    match v {
        SqlStorageValue::Integer(i) => u64::try_from(*i).ok(),
        SqlStorageValue::Float(f) if *f >= 0.0 => Some(*f as u64),
        _ => None,
    }
}

fn as_str(v: &SqlStorageValue) -> &str {
    match v {
        SqlStorageValue::String(s) => s,
        _ => "",
    }
}

impl UserStore {
    /// Runs one statement, counting its rows, and returns every row it yields.
    fn query(&self, sql: &str, args: Vec<JsValue>) -> worker::Result<Vec<Vec<SqlStorageValue>>> {
        let cursor = self.sql.exec_raw(sql, args)?;
        let rows = cursor.raw().collect::<worker::Result<Vec<_>>>()?;
        self.count(cursor.rows_read(), cursor.rows_written());
        Ok(rows)
    }

    fn count(&self, read: usize, written: usize) {
        let r = self.rows.get();
        self.rows.set(Rows {
            read: r.read + read,
            written: r.written + written,
        });
    }

    /// Runs `f` in one SQLite transaction: everything it wrote is rolled back if it fails.
    fn transaction(&self, mut f: impl FnMut() -> Result<(), ApiError>) -> Result<(), ApiError> {
        let mut failure = None;
        let storage = self.state.storage();
        let tx: &SyncTransactions = storage.as_raw().unchecked_ref();
        let done = tx.transaction_sync(&mut || {
            f().map_err(|e| {
                let msg = e.reason.clone();
                failure = Some(e);
                JsValue::from_str(&msg)
            })
        });
        match (done, failure) {
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(ApiError::internal("storage error", format!("{e:?}"))),
            (Ok(_), None) => Ok(()),
        }
    }

    /// The last idx of every series, from the `series` table (one row per series, raised in
    /// the same transaction as the pages): its cost does not grow with the records.
    fn status(&self) -> worker::Result<Status> {
        let mut status = Status::new();
        for row in self.query("SELECT host, tag, last_idx FROM series", vec![])? {
            if let (Ok(host), Some(idx)) = (as_str(&row[0]).parse::<HostId>(), as_idx(&row[2])) {
                status.set(SeriesKey::new(host, Tag::from(as_str(&row[1]))), idx);
            }
        }
        Ok(status)
    }

    /// The pages a batch touches in one series: from the page holding `first` (or the start)
    /// up to `last`, each read whole ([`Self::whole`]).
    fn load(&self, r: &SeriesRange, out: &mut Vec<StoredPage>) -> Result<(), ApiError> {
        let host = r.series.host.to_string();
        let rows = self.query(
            "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 AND first_idx <= ?4 \
             AND first_idx >= coalesce((SELECT max(first_idx) FROM pages \
             WHERE host = ?1 AND tag = ?2 AND first_idx <= ?3), 0) ORDER BY first_idx",
            vec![s(&host), s(r.series.tag.as_str()), n(r.first), n(r.last)],
        )?;
        for row in rows {
            if let (Some(first), Some(SqlStorageValue::Blob(head))) =
                (as_idx(&row[0]), row.into_iter().nth(1))
            {
                out.push(self.whole(&r.series, first, head)?);
            }
        }
        Ok(())
    }

    /// A page read whole from its head row: the parts that follow a head cut at
    /// `ROW_MAX_BYTES` are read and appended (docs/ARCHITECTURE.md, "Edge store").
    fn whole(
        &self,
        series: &SeriesKey,
        first: RecordIdx,
        mut body: Vec<u8>,
    ) -> Result<StoredPage, ApiError> {
        let damaged = |reason| {
            ApiError::internal(
                "damaged store",
                PageError {
                    series: series.clone(),
                    first,
                    reason,
                },
            )
        };
        let len = pages::body_len(&body).map_err(damaged)?;
        if len > body.len() {
            body.reserve_exact(len - body.len());
            let parts = self.query(
                "SELECT body FROM parts WHERE host = ?1 AND tag = ?2 AND first_idx = ?3 \
                 ORDER BY part",
                vec![
                    s(&series.host.to_string()),
                    s(series.tag.as_str()),
                    n(first),
                ],
            )?;
            for part in parts {
                if let Some(SqlStorageValue::Blob(b)) = part.first() {
                    body.extend_from_slice(b);
                }
            }
            if body.len() != len {
                return Err(damaged("parts do not add up to the page"));
            }
        }
        Ok(StoredPage {
            series: series.clone(),
            first,
            body,
        })
    }

    /// The last idx of one series, if the store holds it.
    fn last_idx(&self, series: &SeriesKey) -> worker::Result<Option<RecordIdx>> {
        let rows = self.query(
            "SELECT last_idx FROM series WHERE host = ?1 AND tag = ?2",
            vec![s(&series.host.to_string()), s(series.tag.as_str())],
        )?;
        Ok(rows.first().and_then(|r| as_idx(&r[0])))
    }

    /// Stores a validated batch: duplicates skipped, any conflict refuses all of it; gaps are
    /// kept (docs/PROTOCOL.md §2). Returns the series it wrote (empty when every record was
    /// already stored).
    fn store(&self, batch: Vec<push::EncRecord>) -> Result<Vec<SeriesKey>, ApiError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut loaded = Vec::new();
        for r in push::ranges(&batch) {
            self.load(&r, &mut loaded)?;
        }
        // Pages kept in several rows: their parts go when the page is rewritten or moved.
        let cut: Vec<(&SeriesKey, RecordIdx)> = loaded
            .iter()
            .filter(|p| p.body.len() > ROW_MAX_BYTES)
            .map(|p| (&p.series, p.first))
            .collect();
        let writes = pages::plan_push(batch, &loaded).map_err(|e| match e {
            PagePushError::Push(e) => ApiError::from(e),
            PagePushError::Damaged(e) => ApiError::internal("damaged store", e),
        })?;
        if writes.put.is_empty() && writes.delete.is_empty() {
            return Ok(Vec::new());
        }
        let key = |series: &SeriesKey, first: RecordIdx| {
            vec![
                s(&series.host.to_string()),
                s(series.tag.as_str()),
                n(first),
            ]
        };
        let drop_parts = |series: &SeriesKey, first: RecordIdx| -> Result<(), ApiError> {
            if cut.contains(&(series, first)) {
                self.query(
                    "DELETE FROM parts WHERE host = ?1 AND tag = ?2 AND first_idx = ?3",
                    key(series, first),
                )?;
            }
            Ok(())
        };
        self.transaction(|| {
            for (series, first) in &writes.delete {
                self.query(
                    "DELETE FROM pages WHERE host = ?1 AND tag = ?2 AND first_idx = ?3",
                    key(series, *first),
                )?;
                drop_parts(series, *first)?;
            }
            // The status row of each series written: its highest idx, never lowered.
            for (series, idx) in &writes.last_idx {
                self.query(
                    "INSERT INTO series (host, tag, last_idx) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (host, tag) DO UPDATE SET \
                     last_idx = max(last_idx, excluded.last_idx)",
                    key(series, *idx),
                )?;
            }
            for p in &writes.put {
                drop_parts(&p.series, p.first)?;
                let mut rows = pages::rows(&p.body);
                let mut args = key(&p.series, p.first);
                args.push(n(p.count as u64));
                // Each row is copied once, straight into a Uint8Array.
                args.push(Uint8Array::from(rows.next().unwrap_or_default()).into());
                self.query(
                    "INSERT INTO pages (host, tag, first_idx, count, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, tag, first_idx) \
                     DO UPDATE SET count = excluded.count, body = excluded.body",
                    args,
                )?;
                for (part, row) in rows.enumerate() {
                    let mut args = key(&p.series, p.first);
                    args.push(n(part as u64 + 1));
                    args.push(Uint8Array::from(row).into());
                    self.query(
                        "INSERT INTO parts (host, tag, first_idx, part, body) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        args,
                    )?;
                }
            }
            Ok(())
        })?;
        Ok(writes
            .last_idx
            .iter()
            .map(|(series, _)| series.clone())
            .collect())
    }

    /// Sends `{"type": "push", "hosts": {host: {tag: last idx}}}` (the series' new last idx,
    /// read back after the commit) to every live socket of this account.
    fn announce(&self, written: &[SeriesKey]) -> worker::Result<()> {
        let sockets = self.state.get_websockets();
        if sockets.is_empty() || written.is_empty() {
            return Ok(());
        }
        let mut status = Status::new();
        for series in written {
            if let Some(last) = self.last_idx(series)? {
                status.set(series.clone(), last);
            }
        }
        let text = live_message("push", &status)?;
        for ws in sockets {
            // A socket that is closing can't take it; the others still do.
            let _ = ws.send_with_str(&text);
        }
        Ok(())
    }

    /// Accepts a live socket for the session `session` (a hash): tagged with it, greeted with the
    /// full status (`{"type": "status", ...}`) so a client catches up without asking.
    fn accept_live(&self, req: &Request) -> ApiResult {
        let upgrade = req.headers().get("Upgrade").ok().flatten();
        if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
            return Err(ApiError::new(426, "expected a WebSocket upgrade"));
        }
        let session = req
            .headers()
            .get(SESSION_HEADER)
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::internal("store error", "live socket without a session"))?;
        let mut open = self.state.get_websockets();
        if open.len() >= MAX_SOCKETS {
            // Oldest first (the runtime keeps accept order).
            let _ = open
                .remove(0)
                .close(Some(CLOSE_REPLACED), Some("too many live sockets"));
        }
        let pair = WebSocketPair::new()?;
        let tag = format!("{SESSION_TAG}{session}");
        self.state.accept_websocket_with_tags(&pair.server, &[&tag]);
        pair.server
            .send_with_str(live_message("status", &self.status()?)?)?;
        Ok(Response::from_websocket(pair.client)?)
    }

    /// Closes live sockets: those of `session`, or all but those of `except`, or all.
    fn hang_up(&self, h: &Hangup) {
        let sockets = match &h.session {
            Some(s) => self
                .state
                .get_websockets_with_tag(&format!("{SESSION_TAG}{s}")),
            None => self.state.get_websockets(),
        };
        let keep = h.except.as_ref().map(|s| format!("{SESSION_TAG}{s}"));
        for ws in sockets {
            if keep
                .as_ref()
                .is_some_and(|k| self.state.get_tags(&ws).contains(k))
            {
                continue;
            }
            let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
        }
    }

    fn next(&self, q: &NextQuery) -> Result<Vec<u8>, ApiError> {
        let series = SeriesKey::new(q.host, q.tag.clone());
        let mut page = NextPage::new(q.count, NEXT_MAX_BYTES);
        let damaged = |e| ApiError::internal("damaged store", e);
        // A row read before that holds `start` (rows split a series by idx, so no other row
        // can): the answer begins there, and only the rows after it are read.
        let cached = self
            .read
            .borrow()
            .iter()
            .rev()
            .find(|(p, last)| p.series == series && p.first <= q.start && *last >= q.start)
            .map(|(p, _)| p.clone());
        if let Some(p) = &cached {
            page.add(p, q.start).map_err(damaged)?;
            if page.is_full() {
                return Ok(page.finish());
            }
        }
        let (host, tag) = (s(&q.host.to_string()), s(q.tag.as_str()));
        let cursor = match &cached {
            Some(p) => self.sql.exec_raw(
                "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 \
                 AND first_idx > ?3 ORDER BY first_idx",
                vec![host, tag, n(p.first)],
            )?,
            None => self.sql.exec_raw(
                "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 \
                 AND first_idx >= coalesce((SELECT max(first_idx) FROM pages \
                 WHERE host = ?1 AND tag = ?2 AND first_idx <= ?3), 0) ORDER BY first_idx",
                vec![host, tag, n(q.start)],
            )?,
        };
        // Rows are stepped one at a time: reading stops with the last page needed.
        let mut rows = cursor.raw();
        while !page.is_full() {
            let Some(row) = rows.next() else { break };
            let mut row = row?;
            let (Some(SqlStorageValue::Blob(head)), Some(first)) =
                (row.pop(), row.first().and_then(as_idx))
            else {
                continue;
            };
            let stored = Rc::new(self.whole(&series, first, head)?);
            let Some(last) = page.add(&stored, q.start).map_err(damaged)? else {
                continue;
            };
            if stored.body.len() > PAGE_MAX_BYTES {
                continue;
            }
            let mut read = self.read.borrow_mut();
            if read.len() >= READ_CACHE {
                read.remove(0);
            }
            read.push((stored, last));
        }
        self.count(cursor.rows_read(), cursor.rows_written());
        Ok(page.finish())
    }

    /// `next` for the query of `url` (`/next?…`), read by the wire rules.
    fn next_at(&self, url: &worker::Url) -> Result<Vec<u8>, ApiError> {
        let pairs = query_pairs(url);
        let q = NextQuery::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.cfg.max_page_size,
        )?;
        self.next(&q)
    }

    /// The answer to one request line of a socket message.
    fn socket_answer(&self, line: &str) -> String {
        match serde_json::from_str::<wire::SocketRequest>(line) {
            Ok(r) if r.kind == wire::SOCKET_NEXT => self.socket_next(r.id, &r.query),
            Ok(r) => wire::socket_error(
                Some(r.id),
                400,
                &format!("unknown request type {:?}: expected \"next\"", r.kind),
            ),
            Err(e) => wire::socket_error(None, 400, &format!("bad socket request: {e}")),
        }
    }

    /// The answer to page request `id`: `query` read as `/next` reads its URL query.
    fn socket_next(&self, id: u64, query: &str) -> String {
        if self.closed.get() {
            return wire::socket_error(Some(id), 403, "account deleted");
        }
        let url = match worker::Url::parse(&format!("https://user-store/next?{query}")) {
            Ok(url) => url,
            Err(e) => return wire::socket_error(Some(id), 400, &format!("bad query: {e}")),
        };
        match self.next_at(&url) {
            Ok(json) => wire::socket_page(id, &String::from_utf8_lossy(&json)),
            Err(e) => wire::socket_error(Some(id), e.status, &e.reason),
        }
    }

    fn stats(&self) -> worker::Result<Stats> {
        let rows = if self.closed.get() {
            vec![]
        } else {
            self.query(
                "SELECT count(*), coalesce(sum(count), 0) FROM pages",
                vec![],
            )?
        };
        let get = |i: usize| rows.first().and_then(|r| as_idx(&r[i])).unwrap_or(0);
        Ok(Stats {
            pages: get(0),
            records: get(1),
            closed: self.closed.get(),
            bytes: self.sql.database_size(),
        })
    }

    async fn handle(&self, mut req: Request) -> ApiResult {
        // The only await: from here on the request runs to its end with no other event in
        // between, so a close can't land between a check and a write.
        let body = if req.method() == Method::Post {
            req.bytes().await?
        } else {
            Vec::new()
        };
        self.rows.set(Rows::default());
        let path = req.path();
        if !(req.method() == Method::Get && path == "/next") {
            self.read.borrow_mut().clear();
        }
        if path == "/close" {
            // Account deletion: drop every record and refuse all later requests.
            self.transaction(|| {
                self.query("DROP TABLE IF EXISTS pages", vec![])?;
                self.query("DROP TABLE IF EXISTS parts", vec![])?;
                self.query("DROP TABLE IF EXISTS series", vec![])?;
                self.query(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('closed', 1)",
                    vec![],
                )?;
                Ok(())
            })?;
            self.closed.set(true);
            for ws in self.state.get_websockets() {
                let _ = ws.close(Some(CLOSE_ACCOUNT_DELETED), Some("account deleted"));
            }
            return Ok(empty_ok());
        }
        if path == "/stats" {
            return json(200, &self.stats()?);
        }
        if self.closed.get() {
            return Err(ApiError::new(403, "account deleted"));
        }
        match (req.method(), path.as_str()) {
            (Method::Get, "/status") => json(200, &self.status()?),
            (Method::Post, "/push") => {
                let batch = push::parse_batch(&body, &self.cfg.push)?;
                drop(body);
                let written = self.store(batch)?;
                // Statuses only; the push already committed, so a failure here is only logged.
                if let Err(e) = self.announce(&written) {
                    worker::console_error!("live announce: {e}");
                }
                Ok(empty_ok())
            }
            (Method::Post, "/import") => {
                // Records moved from the v1 store: validated when they were first pushed.
                let unlimited = PushLimits {
                    max_body_bytes: usize::MAX,
                    max_records: usize::MAX,
                    max_record_bytes: usize::MAX,
                };
                let batch = push::parse_batch(&body, &unlimited)?;
                self.store(batch)?;
                Ok(empty_ok())
            }
            (Method::Get, "/next") => Ok(raw_json(200, self.next_at(&req.url()?)?)),
            (Method::Get, "/live") => self.accept_live(&req),
            (Method::Post, "/hangup") => {
                let h: Hangup = serde_json::from_slice(&body)
                    .map_err(|e| ApiError::internal("store error", e))?;
                self.hang_up(&h);
                Ok(empty_ok())
            }
            (Method::Delete, "/records") => {
                self.transaction(|| {
                    self.query("DELETE FROM pages", vec![])?;
                    self.query("DELETE FROM parts", vec![])?;
                    self.query("DELETE FROM series", vec![])?;
                    Ok(())
                })?;
                Ok(empty_ok())
            }
            _ => Err(ApiError::not_found("no such store operation")),
        }
    }
}

/// The body of `/hangup`: which live sockets to close (see [`UserStore::hang_up`]).
#[derive(Default, Serialize, Deserialize)]
pub struct Hangup {
    pub session: Option<String>,
    pub except: Option<String>,
}

/// A live message: `{"type": ty, "hosts": {host: {tag: last idx}}}`.
fn live_message(ty: &str, status: &Status) -> worker::Result<String> {
    #[derive(Serialize)]
    struct Live<'a> {
        #[serde(rename = "type")]
        ty: &'a str,
        #[serde(flatten)]
        status: &'a Status,
    }
    Ok(serde_json::to_string(&Live { ty, status })?)
}

/// What `/stats` reports (tests and operators).
#[derive(Serialize, Deserialize)]
pub struct Stats {
    pub pages: u64,
    pub records: u64,
    pub closed: bool,
    /// The object's database size on disk.
    pub bytes: usize,
}

impl worker::DurableObject for UserStore {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let store = Self {
            sql,
            state,
            cfg: Config::from_env(&env),
            closed: Cell::new(false),
            rows: Cell::new(Rows::default()),
            read: RefCell::new(Vec::new()),
        };
        // Keep-alive pings are answered by the runtime without waking the object.
        match WebSocketRequestResponsePair::new("ping", "pong") {
            Ok(pair) => store.state.set_websocket_auto_response(&pair),
            Err(e) => worker::console_error!("live auto response: {e:?}"),
        }
        let closed = store
            .sql
            .exec(SCHEMA, None)
            .and_then(|_| store.query("SELECT value FROM meta WHERE key = 'closed'", vec![]))
            .map(|rows| !rows.is_empty());
        match closed {
            Ok(c) => store.closed.set(c),
            Err(e) => worker::console_error!("user store schema: {e}"),
        }
        store
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let resp = self.handle(req).await.unwrap_or_else(|e| e.into_response());
        let Rows { read, written } = self.rows.get();
        let _ = resp
            .headers()
            .set(ROWS_HEADER, &format!("{read} {written}"));
        Ok(resp)
    }

    /// Page requests ([`wire::SocketRequest`]) are answered on the socket, by the rules of
    /// `/next`; anything else a client sends is ignored (the keep-alive `ping` is answered by
    /// the runtime).
    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let WebSocketIncomingMessage::String(text) = message else {
            return Ok(());
        };
        if text == "ping" {
            return Ok(());
        }
        // The requests of a message are answered in order, within the bounds of a message, in
        // as few messages as the byte bound allows (docs/PROTOCOL.md §2, "Pages over the socket").
        let answers = wire::socket_answers(&text, |line| self.socket_answer(line));
        wire::socket_join(answers, |message| {
            // A socket that is closing can't take it: its client asks again elsewhere.
            let _ = ws.send_with_str(&message);
        });
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        // Complete the closing handshake (codes 1005/1006 can't be sent back).
        let code = u16::try_from(code)
            .ok()
            .filter(|c| *c != 1005 && *c != 1006);
        let _ = ws.close(code.or(Some(1000)), Some("bye"));
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}

/// The worker's handle on one account's store.
pub struct StoreStub(Stub);

/// Rows read and written, as counted by SQL cursors (D1 meta or the object's).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rows {
    pub read: usize,
    pub written: usize,
}

impl StoreStub {
    /// The store named `store_id` (a random id kept with the account in D1).
    pub fn new(env: &Env, store_id: &str) -> Result<Self, ApiError> {
        if store_id.is_empty() {
            return Err(ApiError::internal(
                "store error",
                "account without a store id",
            ));
        }
        let ns = env
            .durable_object("USER_STORE")
            .map_err(|e| ApiError::internal("store binding missing", e))?;
        Ok(Self(ns.get_by_name(store_id)?))
    }

    /// Sends one operation; answers are passed on as they are (status and JSON body), with the
    /// rows the object counted.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<JsValue>,
    ) -> Result<(Response, Rows), ApiError> {
        let mut init = RequestInit::new();
        init.with_method(method);
        init.with_body(body);
        let req = Request::new_with_init(&format!("https://user-store{path_and_query}"), &init)?;
        let resp = self.0.fetch_with_request(req).await?;
        let rows = resp
            .headers()
            .get(ROWS_HEADER)
            .ok()
            .flatten()
            .and_then(|v| {
                let mut it = v.split(' ').map(|x| x.parse::<usize>().ok());
                Some(Rows {
                    read: it.next()??,
                    written: it.next()??,
                })
            })
            .unwrap_or_default();
        // A fresh answer: the fetched one's headers are immutable.
        let status = resp.status_code();
        let content_type = resp.headers().get("Content-Type").ok().flatten();
        let (_, body) = resp.into_parts();
        let out = Response::builder().with_status(status).body(body);
        if let Some(t) = content_type {
            let _ = out.headers().set("Content-Type", &t);
        }
        Ok((out, rows))
    }

    /// Opens a live socket on the store for the session whose hash is `session`: the client end
    /// of the pair, to hand to the browser in a 101 answer.
    pub async fn live(&self, session: &str) -> Result<WebSocket, ApiError> {
        let headers = Headers::new();
        headers.set("Upgrade", "websocket")?;
        headers.set(SESSION_HEADER, session)?;
        let mut init = RequestInit::new();
        init.with_headers(headers);
        let req = Request::new_with_init("https://user-store/live", &init)?;
        let mut resp = self.0.fetch_with_request(req).await?;
        if resp.status_code() != 101 {
            return Err(refusal(&mut resp).await);
        }
        resp.websocket()
            .ok_or_else(|| ApiError::internal("store error", "live answer without a socket"))
    }

    /// Closes live sockets (session ended, password changed). Best effort: a failure is logged.
    pub async fn hang_up(&self, which: &Hangup) {
        let body = serde_json::to_string(which).unwrap_or_default();
        if let Err(e) = self
            .expect_ok(Method::Post, "/hangup", Some(JsValue::from_str(&body)))
            .await
        {
            worker::console_error!("live hang up: {}", e.reason);
        }
    }

    /// The store's record count and size.
    pub async fn stats(&self) -> Result<Stats, ApiError> {
        let (mut resp, _) = self.call(Method::Get, "/stats", None).await?;
        resp.json::<Stats>()
            .await
            .map_err(|e| ApiError::internal("store error", e))
    }

    /// Like [`Self::call`], turning an error answer into an [`ApiError`] with its reason.
    pub async fn expect_ok(
        &self,
        method: Method,
        path: &str,
        body: Option<JsValue>,
    ) -> Result<Rows, ApiError> {
        let (mut resp, rows) = self.call(method, path, body).await?;
        if resp.status_code() == 200 {
            return Ok(rows);
        }
        Err(refusal(&mut resp).await)
    }
}

/// A store's error answer as an [`ApiError`] with its status and reason.
async fn refusal(resp: &mut Response) -> ApiError {
    let reason = resp
        .json::<terrapin_core::wire::ErrorResponse>()
        .await
        .map(|e| e.reason)
        .unwrap_or_else(|_| "store error".to_owned());
    ApiError::new(resp.status_code(), reason)
}
