//! `StoreStub`: the worker's handle on one account's `UserStore` (`store/`), by its internal
//! paths; answers are passed on as they are, with the rows the object counted.

use wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub, WebSocket};

use crate::db::Rows;
use crate::error::ApiError;
use crate::store::{Hangup, Stats, ROWS_HEADER, SESSION_HEADER};

/// The worker's handle on one account's store.
pub struct StoreStub(Stub);

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

/// Closes the live sockets of ended sessions of the account whose store is `store_id`: `which`
/// as in `/hangup`. Best effort: a failure is logged.
pub async fn hang_up(env: &Env, store_id: &str, which: Hangup) {
    match StoreStub::new(env, store_id) {
        Ok(store) => store.hang_up(&which).await,
        Err(e) => worker::console_error!("live hang up: {}", e.reason),
    }
}
