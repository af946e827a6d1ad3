//! `UserStore`: one SQLite-backed Durable Object per account, holding that account's records in
//! pages (terrapin-core `pages`) and its live sockets (docs/ARCHITECTURE.md, "Edge store").
//!
//! The worker reaches it only through `StoreStub` (`stub.rs`) after authenticating the
//! request, with internal paths (`/status`, `/push`, `/import`, `/next`, `/records`, `/close`,
//! `/stats`, `/live`, `/hangup`), dispatched here. The SQL pages are in [`pages`], the live
//! sockets in [`sockets`].
//! An object runs one event at a time and its SQL is synchronous, so each push's reads, checks
//! and writes run with nothing in between; the writes also run in one `transactionSync`.

mod pages;
mod sockets;

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use terrapin_core::pages::StoredPage;
use terrapin_core::push::{self, PushLimits};
use terrapin_core::record::RecordIdx;
use terrapin_core::wire;
use wasm_bindgen::JsValue;
use worker::{
    durable_object, Env, Method, Request, Response, SqlStorage, SqlStorageValue, State, WebSocket,
    WebSocketIncomingMessage, WebSocketRequestResponsePair,
};

use self::pages::SCHEMA;
use crate::config::Config;
use crate::db::Rows;
use crate::error::{empty_ok, json, raw_json, ApiError, ApiResult};

/// Header on the object's answers: rows read and written by the request (SQL cursors).
pub const ROWS_HEADER: &str = "x-terrapin-store-rows";
/// Header of a `/live` request: the hash of the session the worker authenticated.
pub const SESSION_HEADER: &str = "x-terrapin-session";

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
                let _ = ws.close(Some(wire::CLOSE_ACCOUNT_DELETED), Some("account deleted"));
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
        match WebSocketRequestResponsePair::new(wire::LIVE_PING, wire::LIVE_PONG) {
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

    /// Page requests are answered on the socket ([`sockets`]); the keep-alive `ping` is
    /// answered by the runtime.
    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        if let WebSocketIncomingMessage::String(text) = message {
            self.socket_message(&ws, &text);
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        sockets::closed(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        Ok(())
    }
}
