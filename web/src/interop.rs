//! The one place that converts between Rust and JavaScript values.
//!
//! Objects cross as plain JS objects through serde-wasm-bindgen, with camelCase fields.
//! Times are milliseconds since the epoch on the JS side (like `Date`), except where the exact
//! nanosecond value matters (`timestampNs`, a decimal string). Records cross as their wire JSON
//! text, so no 64-bit field loses precision.

use serde::{Deserialize, Serialize};
use terrapin_core::import::{ImportedCommand, Shell};
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::plan::Direction;
use terrapin_core::status::Status;
use terrapin_core::sync::{Progress, SyncReport};
use wasm_bindgen::prelude::*;

use crate::client::ClientError;
use crate::search::{Query, SearchMode};
use crate::vault::KdfParams;

fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    // Through JSON text: the browser's JSON.parse is fast and keeps the wasm small.
    let text = serde_json::to_string(v).map_err(|e| invalid(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

fn from_js<T: for<'de> Deserialize<'de>>(v: JsValue, what: &str) -> Result<T, JsValue> {
    let text = if v.is_undefined() || v.is_null() {
        "{}".to_owned()
    } else {
        js_sys::JSON::stringify(&v)
            .map_err(|_| invalid(&format!("{what}: not plain data")))?
            .as_string()
            .unwrap_or_default()
    };
    serde_json::from_str(&text).map_err(|e| invalid(&format!("{what}: {e}")))
}

fn error(kind: &str, message: &str, status: Option<u16>) -> JsValue {
    let e = js_sys::Error::new(message);
    e.set_name("TerrapinError");
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    if let Some(s) = status {
        let _ = js_sys::Reflect::set(&e, &"status".into(), &JsValue::from(s));
    }
    e.into()
}

pub fn invalid(message: &str) -> JsValue {
    error("invalid", message, None)
}

/// A client error as a JS `Error` with `kind` (and `status` when the server answered).
pub fn client_error(e: ClientError) -> JsValue {
    let status = match &e {
        ClientError::Http(h) | ClientError::Sync(terrapin_core::sync::SyncError::Remote(h)) => {
            h.status()
        }
        _ => None,
    };
    error(e.kind(), &e.to_string(), status)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1_000_000.0
}

fn ns(ms: f64) -> u64 {
    (ms.max(0.0) * 1_000_000.0) as u64
}

/// A history entry as JS sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryJs<'a> {
    id: String,
    timestamp: f64,
    timestamp_ns: String,
    duration: i64,
    exit: i64,
    command: &'a str,
    cwd: &'a str,
    session: &'a str,
    hostname: &'a str,
    host: &'a str,
    user: &'a str,
    author: &'a str,
    deleted_at: Option<f64>,
    intent: Option<&'a str>,
    shell: Option<&'a str>,
}

fn history_js(h: &History) -> HistoryJs<'_> {
    HistoryJs {
        id: h.id.to_string(),
        timestamp: ms(h.timestamp),
        timestamp_ns: h.timestamp.to_string(),
        duration: h.duration,
        exit: h.exit,
        command: &h.command,
        cwd: &h.cwd,
        session: &h.session,
        hostname: &h.hostname,
        host: h.host(),
        user: h.user(),
        author: &h.author,
        deleted_at: h.deleted_at.map(ms),
        intent: h.intent.as_deref(),
        shell: h.shell.as_deref(),
    }
}

pub fn history_to_js(h: &History) -> Result<JsValue, JsValue> {
    to_js(&history_js(h))
}

/// A new history entry from JS.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryInput {
    command: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    timestamp: Option<f64>,
    #[serde(default = "minus_one")]
    duration: i64,
    #[serde(default = "minus_one")]
    exit: i64,
    #[serde(default)]
    cwd: String,
    #[serde(default)]
    session: String,
    /// "host:user"
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    shell: Option<String>,
}

fn minus_one() -> i64 {
    -1
}

pub fn history_from_js(v: JsValue) -> Result<History, JsValue> {
    let i: HistoryInput = from_js(v, "history entry")?;
    let id = match i.id {
        Some(s) => s
            .parse()
            .map_err(|e| invalid(&format!("history id: {e}")))?,
        None => HistoryId(uuid::Uuid::nil()),
    };
    let hostname = i.hostname.unwrap_or_else(|| "browser:web".into());
    let author = i.author.unwrap_or_else(|| {
        hostname
            .split_once(':')
            .map_or("web", |(_, u)| u)
            .to_owned()
    });
    Ok(History {
        id,
        timestamp: ns(i.timestamp.unwrap_or_else(js_sys::Date::now)),
        duration: i.duration,
        exit: i.exit,
        command: i.command,
        cwd: i.cwd,
        session: i.session,
        hostname,
        deleted_at: None,
        author,
        intent: i.intent,
        shell: i.shell,
        author_kind: None,
    })
}

pub fn histories_from_js(v: JsValue) -> Result<Vec<History>, JsValue> {
    let arr: js_sys::Array = v
        .dyn_into()
        .map_err(|_| invalid("history entries: not an array"))?;
    arr.iter().map(history_from_js).collect()
}

/// A history query from JS (times in ms).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct QueryJs {
    text: String,
    mode: SearchMode,
    host: Option<String>,
    cwd: Option<String>,
    exit: Option<i64>,
    session: Option<String>,
    after: Option<f64>,
    before: Option<f64>,
    include_deleted: bool,
    offset: usize,
    limit: Option<usize>,
}

pub fn query_from_js(v: JsValue) -> Result<Query, JsValue> {
    let q: QueryJs = from_js(v, "history query")?;
    Ok(Query {
        text: q.text,
        mode: q.mode,
        host: q.host,
        cwd: q.cwd,
        exit: q.exit,
        session: q.session,
        after: q.after.map(ns),
        before: q.before.map(ns),
        include_deleted: q.include_deleted,
        offset: q.offset,
        limit: q.limit,
    })
}

#[derive(Serialize)]
struct Page<'a> {
    entries: Vec<HistoryJs<'a>>,
    total: usize,
}

pub fn history_page_to_js(entries: &[&History], total: usize) -> Result<JsValue, JsValue> {
    to_js(&Page {
        entries: entries.iter().map(|h| history_js(h)).collect(),
        total,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressJs<'a> {
    host: String,
    tag: &'a str,
    direction: &'static str,
    done: u64,
    total: u64,
    all_done: u64,
    all_total: u64,
}

pub fn progress_to_js(p: &Progress) -> Result<JsValue, JsValue> {
    to_js(&ProgressJs {
        host: p.series.host.to_string(),
        tag: p.series.tag.as_str(),
        direction: match p.direction {
            Direction::Upload => "upload",
            Direction::Download => "download",
        },
        done: p.done,
        total: p.total,
        all_done: p.all_done,
        all_total: p.all_total,
    })
}

pub fn report_to_js(r: &SyncReport) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct R {
        uploaded: u64,
        downloaded: u64,
    }
    to_js(&R {
        uploaded: r.uploaded,
        downloaded: r.downloaded,
    })
}

pub fn status_to_js(s: &Status) -> Result<JsValue, JsValue> {
    to_js(s)
}

#[derive(Serialize)]
struct KvEntry<'a> {
    namespace: &'a str,
    key: &'a str,
    value: &'a str,
}

pub fn kv_list_to_js(items: &[(String, String, String)]) -> Result<JsValue, JsValue> {
    let v: Vec<KvEntry<'_>> = items
        .iter()
        .map(|(n, k, x)| KvEntry {
            namespace: n,
            key: k,
            value: x,
        })
        .collect();
    to_js(&v)
}

/// Vault options from JS: `{ memoryKiB?, iterations?, parallelism? }`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct KdfJs {
    memory_ki_b: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
}

pub fn kdf_from_js(v: JsValue) -> Result<KdfParams, JsValue> {
    let k: KdfJs = from_js(v, "vault options")?;
    let d = KdfParams::default();
    Ok(KdfParams {
        m: k.memory_ki_b.unwrap_or(d.m),
        t: k.iterations.unwrap_or(d.t),
        p: k.parallelism.unwrap_or(d.p),
    })
}

/// Call a JS progress callback, ignoring what it throws (a progress hook must not stop a sync).
pub fn call_progress(cb: &js_sys::Function, p: &Progress) {
    if let Ok(v) = progress_to_js(p) {
        let _ = cb.call1(&JsValue::NULL, &v);
    }
}

/// Options of `sync`: `{ signal?: AbortSignal, onProgress?: (p) => void }`.
pub fn sync_options(v: &JsValue) -> (Option<web_sys::AbortSignal>, Option<js_sys::Function>) {
    if v.is_undefined() || v.is_null() {
        return (None, None);
    }
    let signal = js_sys::Reflect::get(v, &"signal".into())
        .ok()
        .filter(|s| !s.is_undefined() && !s.is_null())
        .map(|s| s.unchecked_into::<web_sys::AbortSignal>());
    let cb = js_sys::Reflect::get(v, &"onProgress".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    (signal, cb)
}

/// A command read from a shell history file, as a `NewHistoryEntry` (times in ms, duration in
/// ns; fields the file doesn't have are left out).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportedJs<'a> {
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    shell: Shell,
}

pub fn imported_to_js(shell: Shell, cmds: &[ImportedCommand]) -> Result<JsValue, JsValue> {
    let v: Vec<ImportedJs> = cmds
        .iter()
        .map(|c| ImportedJs {
            command: &c.command,
            timestamp: c.timestamp.map(ms),
            duration: c.duration,
            shell,
        })
        .collect();
    to_js(&v)
}
