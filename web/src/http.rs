//! The sync server over fetch: the core's [`Remote`] plus the account calls.
//!
//! Every request carries `Authorization: Token <session>` (when logged in) and every answer
//! must carry `Atuin-Version` with major version 18 or later. Failures are classified:
//! network errors, 5xx and 429 are [transient](HttpError::is_transient) and retried with
//! bounded exponential backoff and full jitter (honouring `Retry-After`); 4xx are permanent
//! and carry the server's `{"reason"}`. An `AbortSignal` cancels the request in flight and
//! any wait between tries.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use gloo_net::http::{Method, Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use terrapin_core::record::{RecordIdx, SeriesKey};
use terrapin_core::status::Status;
use terrapin_core::sync::{EncRecord, Remote};
use terrapin_core::wire::{self, CapabilitiesResponse, LoginRequest, MeResponse, RegisterRequest};
use web_sys::AbortSignal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("network error talking to {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("server error {status} on {url}: {reason}")]
    Server {
        status: u16,
        url: String,
        reason: String,
    },
    #[error("rate limited on {url}: {reason}")]
    RateLimited {
        url: String,
        reason: String,
        retry_after_ms: Option<u64>,
    },
    #[error("{status} on {url}: {reason}")]
    Refused {
        status: u16,
        url: String,
        reason: String,
    },
    #[error("{url} did not answer like an Atuin server: {reason}")]
    BadResponse { url: String, reason: String },
    #[error("not logged in")]
    NoSession,
    #[error("aborted")]
    Aborted,
}

impl HttpError {
    /// Worth trying again: network failures, 5xx and 429 (the core's
    /// [`wire::is_transient`]).
    pub fn is_transient(&self) -> bool {
        wire::is_transient(self.kind())
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Server { status, .. } | Self::Refused { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// A server's refusal with `status` (not 2xx) and its reason: 429, 5xx or any other.
    pub fn answered(status: u16, url: &str, reason: String, retry_after_ms: Option<u64>) -> Self {
        let url = url.to_owned();
        match status {
            429 => Self::RateLimited {
                url,
                reason,
                retry_after_ms,
            },
            500..=599 => Self::Server {
                status,
                url,
                reason,
            },
            _ => Self::Refused {
                status,
                url,
                reason,
            },
        }
    }

    /// A short machine-readable kind, for JavaScript callers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Network { .. } => "network",
            Self::Server { .. } => "server",
            Self::RateLimited { .. } => "rate_limited",
            Self::Refused {
                status: 401 | 403, ..
            } => "unauthorized",
            Self::Refused { status: 404, .. } => "not_found",
            Self::Refused { status: 409, .. } => "conflict",
            Self::Refused { .. } => "refused",
            Self::BadResponse { .. } => "bad_response",
            Self::NoSession => "no_session",
            Self::Aborted => "aborted",
        }
    }
}

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub attempts: u32,
    /// The first wait's upper bound; doubled after each failure.
    pub base_ms: u64,
    /// No wait is longer than this.
    pub max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base_ms: 250,
            max_ms: 8_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before try `attempt + 1` (attempt counts from 1): full jitter over an
    /// exponentially growing, capped window; a server's `Retry-After` is a floor.
    pub fn delay_ms(&self, attempt: u32, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
        let window = self
            .base_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
            .min(self.max_ms);
        let d = (window as f64 * jitter.clamp(0.0, 1.0)) as u64;
        d.max(retry_after_ms.unwrap_or(0).min(self.max_ms))
    }
}

/// Calls `f` in `ms` milliseconds (the global `setTimeout`, in a window or a worker).
pub(crate) fn set_timeout(f: &js_sys::Function, ms: u64) {
    use wasm_bindgen::{JsCast, JsValue};
    let ms = ms.min(i32::MAX as u64) as i32;
    let global = js_sys::global();
    let set_timeout = js_sys::Reflect::get(&global, &JsValue::from_str("setTimeout"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(set_timeout) = set_timeout {
        let _ = set_timeout.call2(&global, f, &JsValue::from(ms));
    } else {
        let _ = f.call0(&JsValue::NULL);
    }
}

/// Sleep `ms` milliseconds; an abort of `signal` ends the wait at once.
pub(crate) async fn sleep(ms: u64, signal: Option<&AbortSignal>) -> Result<(), HttpError> {
    let signal2 = signal.cloned();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
        if let Some(s) = &signal2 {
            // An abort resolves the wait (with the event, which is not read).
            let _ = s.add_event_listener_with_callback("abort", &resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    match signal {
        Some(s) if s.aborted() => Err(HttpError::Aborted),
        _ => Ok(()),
    }
}

/// A connection to one sync server.
#[derive(Clone)]
pub struct HttpRemote {
    base: String,
    session: Rc<RefCell<Option<String>>>,
    signal: Option<AbortSignal>,
    pub retry: RetryPolicy,
    /// Records per push request (Atuin's default page size unless the server says otherwise).
    pub push_batch: usize,
    /// Bytes of JSON per push request: 4 MiB, far within Terrapin's body limit (`MAX_BODY_BYTES`,
    /// 100 MiB); a larger record goes alone.
    pub push_max_bytes: usize,
}

impl HttpRemote {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            session: Rc::new(RefCell::new(None)),
            signal: None,
            retry: RetryPolicy::default(),
            push_batch: wire::DEFAULT_PAGE_SIZE as usize,
            push_max_bytes: 4 * 1024 * 1024,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn set_session(&self, session: Option<String>) {
        *self.session.borrow_mut() = session;
    }

    pub fn session(&self) -> Option<String> {
        self.session.borrow().clone()
    }

    /// The same server and session, cancelled by `signal` (for one sync).
    pub fn with_signal(&self, signal: Option<AbortSignal>) -> Self {
        Self {
            signal,
            ..self.clone()
        }
    }

    pub fn signal(&self) -> Option<&AbortSignal> {
        self.signal.as_ref()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn builder(&self, method: Method, url: &str, auth: bool) -> Result<RequestBuilder, HttpError> {
        // Answers are never reused: kept out of the HTTP cache, which would store every page.
        let mut b = RequestBuilder::new(url)
            .method(method)
            .header("Accept", "application/json")
            .cache(web_sys::RequestCache::NoStore)
            .abort_signal(self.signal.as_ref());
        if auth {
            let s = self.session.borrow();
            let s = s.as_deref().ok_or(HttpError::NoSession)?;
            b = b.header("Authorization", &format!("Token {s}"));
        }
        Ok(b)
    }

    /// One try: send, then classify the answer.
    async fn try_once(&self, req: Request, url: &str) -> Result<Response, HttpError> {
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                if self.signal.as_ref().is_some_and(|s| s.aborted()) {
                    return Err(HttpError::Aborted);
                }
                return Err(HttpError::Network {
                    url: url.into(),
                    reason: e.to_string(),
                });
            }
        };
        let status = resp.status();
        if (200..300).contains(&status) {
            check_version(&resp, url)?;
            return Ok(resp);
        }
        let retry_after_ms = resp
            .headers()
            .get("Retry-After")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s.saturating_mul(1000));
        let text = resp.text().await.unwrap_or_default();
        let reason = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| Some(v.get("reason")?.as_str()?.to_owned()))
            .unwrap_or_else(|| {
                if text.is_empty() {
                    resp.status_text()
                } else {
                    text
                }
            });
        Err(HttpError::answered(status, url, reason, retry_after_ms))
    }

    /// Send, with retries when `idempotent` (a second try of register or login could find the
    /// first one's account or session already made). `make` builds a fresh request per try.
    async fn send(
        &self,
        url: &str,
        idempotent: bool,
        make: impl Fn() -> Result<Request, HttpError>,
    ) -> Result<Response, HttpError> {
        let attempts = if idempotent {
            self.retry.attempts.max(1)
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.signal.as_ref().is_some_and(|s| s.aborted()) {
                return Err(HttpError::Aborted);
            }
            match self.try_once(make()?, url).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_transient() && attempt < attempts => {
                    let after = match &e {
                        HttpError::RateLimited { retry_after_ms, .. } => *retry_after_ms,
                        _ => None,
                    };
                    let wait = self.retry.delay_ms(attempt, js_sys::Math::random(), after);
                    sleep(wait, self.signal.as_ref()).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `GET path` with `query`: its URL and its answer's text. Its callers parse the text
    /// (`parse_json`), so that no request is a generic state machine.
    async fn get(
        &self,
        path: &str,
        query: &[(&str, String)],
        auth: bool,
    ) -> Result<(String, String), HttpError> {
        let url = self.url(path);
        let text = self
            .request_text(Method::GET, &url, query, None, auth, true)
            .await?;
        Ok((url, text))
    }

    /// One request to `url` and its answer's text: a GET with `query`, or with a JSON `body`
    /// a `method` request. One copy for every kind of request.
    async fn request_text(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&str>,
        auth: bool,
        idempotent: bool,
    ) -> Result<String, HttpError> {
        let resp = self
            .send(url, idempotent, || {
                let b = self.builder(method.clone(), url, auth)?;
                match body {
                    Some(body) => b.header("Content-Type", "application/json").body(body),
                    None => b.query(query.iter().map(|(k, v)| (*k, v.as_str()))).build(),
                }
                .map_err(|e| bad(url, e))
            })
            .await?;
        read_text(resp, url, self.signal.as_ref()).await
    }

    /// `POST /register`; keeps the session.
    pub fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> impl Future<Output = Result<String, HttpError>> + '_ {
        let body = RegisterRequest {
            email: email.into(),
            username: username.into(),
            password: password.into(),
        };
        self.start_session("/register", serde_json::to_string(&body))
    }

    /// `POST /login`; keeps the session.
    pub fn login(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Result<String, HttpError>> + '_ {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
            totp_code: None,
        };
        self.start_session("/login", serde_json::to_string(&body))
    }

    /// `POST path` with `body` (its JSON), never retried (a lost answer is an error, not a
    /// second try); keeps the session it answers.
    async fn start_session(
        &self,
        path: &'static str,
        body: serde_json::Result<String>,
    ) -> Result<String, HttpError> {
        let url = self.url(path);
        let body = body.map_err(|e| bad(&url, e))?;
        let text = self
            .request_text(Method::POST, &url, &[], Some(&body), false, false)
            .await?;
        let v: Value = parse_json(&text, &url)?;
        let session = text_field(&v, "session", &url)?;
        self.set_session(Some(session.clone()));
        Ok(session)
    }

    /// `GET /api/v0/me`.
    pub async fn me(&self) -> Result<MeResponse, HttpError> {
        let (url, text) = self.get("/api/v0/me", &[], true).await?;
        let v: Value = parse_json(&text, &url)?;
        Ok(MeResponse {
            username: text_field(&v, "username", &url)?,
        })
    }

    /// The page size the server advertises in `GET /api/v0/capabilities` (Atuin's default
    /// without the capability, or from servers that predate the route: 404).
    pub async fn page_size(&self) -> Result<u64, HttpError> {
        const PATH: &str = "/api/v0/capabilities";
        let (url, text) = match self.get(PATH, &[], false).await {
            Ok(answer) => answer,
            Err(HttpError::Refused { status: 404, .. }) => return Ok(wire::DEFAULT_PAGE_SIZE),
            Err(e) => return Err(e),
        };
        let mut v: Value = parse_json(&text, &url)?;
        let Some(all) = v.get_mut("capabilities").filter(|c| c.is_object()) else {
            return Err(bad(&url, "no `capabilities` object"));
        };
        // Only the capability read here is kept.
        let mut capabilities = BTreeMap::new();
        if let Some(c) = all.get_mut(wire::CAP_PAGE_SIZE) {
            capabilities.insert(wire::CAP_PAGE_SIZE.to_owned(), c.take());
        }
        let caps = CapabilitiesResponse {
            version: text_field(&v, "version", &url)?,
            capabilities,
        };
        Ok(caps.page_size())
    }

    /// `POST /logout`: ends this session on the server. A session the server no longer knows
    /// is already ended.
    pub async fn end_session(&self) -> Result<(), HttpError> {
        if self.session().is_none() {
            return Ok(());
        }
        let url = self.url("/logout");
        match self
            .request_text(Method::POST, &url, &[], Some("{}"), true, true)
            .await
        {
            Err(HttpError::Refused {
                status: 401 | 403, ..
            })
            | Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A string field of a JSON object answer.
fn text_field(v: &Value, name: &str, url: &str) -> Result<String, HttpError> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| bad(url, format!("no string field `{name}`")))
}

fn bad(url: &str, e: impl ToString) -> HttpError {
    HttpError::BadResponse {
        url: url.into(),
        reason: e.to_string(),
    }
}

/// Atuin clients refuse servers without `Atuin-Version` or with a major version below 18.
fn check_version(resp: &Response, url: &str) -> Result<(), HttpError> {
    let v = resp
        .headers()
        .get(wire::VERSION_HEADER)
        .ok_or_else(|| bad(url, format!("no {} header", wire::VERSION_HEADER)))?;
    let major = v
        .split('.')
        .next()
        .and_then(|m| m.trim().parse::<u64>().ok());
    match major {
        Some(m) if m >= 18 => Ok(()),
        _ => Err(bad(
            url,
            format!("{} {v} is older than 18", wire::VERSION_HEADER),
        )),
    }
}

async fn read_text(
    resp: Response,
    url: &str,
    signal: Option<&AbortSignal>,
) -> Result<String, HttpError> {
    let text = resp.text().await.map_err(|e| {
        if signal.is_some_and(|s| s.aborted()) {
            HttpError::Aborted
        } else {
            HttpError::Network {
                url: url.into(),
                reason: e.to_string(),
            }
        }
    })?;
    Ok(text)
}

pub(crate) fn parse_json<T: DeserializeOwned>(text: &str, url: &str) -> Result<T, HttpError> {
    // Some answers (push) have an empty body: read it as `null`.
    let text = if text.trim().is_empty() { "null" } else { text };
    serde_json::from_str(text).map_err(|e| bad(url, e))
}

impl Remote for HttpRemote {
    type Error = HttpError;

    async fn status(&self) -> Result<Status, HttpError> {
        let (url, text) = self.get("/api/v0/record", &[], true).await?;
        parse_json(&text, &url)
    }

    /// One `GET /api/v0/record/next`: whatever the server answers (it may cap `count`; the
    /// core's engine continues after the last idx answered).
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, HttpError> {
        let q = wire::NextQuery {
            host: series.host,
            tag: series.tag.clone(),
            start,
            count,
        };
        let (url, text) = self.get("/api/v0/record/next", &q.pairs(), true).await?;
        parse_json(&text, &url)
    }

    /// Push in batches of at most `push_batch` records (the server's page size) and at most
    /// `push_max_bytes` of JSON (a record larger than that goes alone): a page larger than a
    /// server accepts in one request still goes up. Each batch is idempotent, so a page cut
    /// off halfway is simply pushed again.
    async fn push(&self, records: &[EncRecord]) -> Result<(), HttpError> {
        let url = self.url("/api/v0/record");
        let mut rest = records;
        while !rest.is_empty() {
            let (body, n) = push_body(rest, self.push_batch.max(1), self.push_max_bytes)
                .map_err(|e| bad(&url, e))?;
            self.request_text(Method::POST, &url, &[], Some(&body), true, true)
                .await?;
            rest = &rest[n..];
        }
        Ok(())
    }

    /// A sync cut off by the signal stores nothing more.
    fn check(&self) -> Result<(), HttpError> {
        match &self.signal {
            Some(s) if s.aborted() => Err(HttpError::Aborted),
            _ => Ok(()),
        }
    }
}

/// The JSON array of the first of `records` that go in one push, and how many they are: at
/// most `count`, within `max_bytes` of JSON (the first goes whatever its size).
fn push_body(
    records: &[EncRecord],
    count: usize,
    max_bytes: usize,
) -> serde_json::Result<(String, usize)> {
    let mut body = String::from("[");
    let mut n = 0;
    for record in records.iter().take(count) {
        let json = serde_json::to_string(record)?;
        if n > 0 && body.len() + json.len() + 2 > max_bytes {
            break;
        }
        if n > 0 {
            body.push(',');
        }
        body.push_str(&json);
        n += 1;
    }
    body.push(']');
    Ok((body, n))
}
