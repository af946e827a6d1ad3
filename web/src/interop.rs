//! The one place that converts between Rust and JavaScript values.
//!
//! Options objects are read field by field (`Fields`, type errors naming object and field);
//! results go out as JSON text, turned into plain JS objects by the browser's `JSON.parse`
//! (camelCase fields).
//! Times are milliseconds since the epoch on the JS side (like `Date`), except where the exact
//! nanosecond value matters (`timestampNs`, a decimal string). Records cross as their wire JSON
//! text, so no 64-bit field loses precision.

use serde::Serialize;
use terrapin_core::holes::{IdxRange, Missing};
use terrapin_core::import::{ImportedCommand, Shell};
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::plan::Direction;
use terrapin_core::record::SeriesKey;
use terrapin_core::status::Status;
use terrapin_core::sync::{KeyCheck, Progress, SeriesError, SyncReport};
use wasm_bindgen::prelude::*;

use crate::client::ClientError;
use crate::search::{Query, SearchMode};
use crate::vault::KdfParams;
use terrapin_core::search::Filters;

fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    // Through JSON text: the browser's JSON.parse is fast and keeps the wasm small.
    let text = serde_json::to_string(v).map_err(|e| invalid(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// Reads the fields of a plain JS options object (`undefined` or `null` means `{}`); a field
/// that is `undefined` or `null` is absent. Type errors name the object and the field.
struct Fields<'a> {
    obj: JsValue,
    what: &'a str,
}

impl<'a> Fields<'a> {
    fn new(v: JsValue, what: &'a str) -> Result<Self, JsValue> {
        if !(v.is_undefined() || v.is_null() || v.is_object()) {
            return Err(invalid(&format!("{what}: expected an object")));
        }
        Ok(Self { obj: v, what })
    }

    fn get(&self, name: &str) -> Option<JsValue> {
        if self.obj.is_undefined() || self.obj.is_null() {
            return None;
        }
        js_sys::Reflect::get(&self.obj, &name.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn wrong(&self, name: &str, expected: &str) -> JsValue {
        invalid(&format!("{}: `{name}` must be {expected}", self.what))
    }

    fn string(&self, name: &str) -> Result<Option<String>, JsValue> {
        self.get(name)
            .map(|v| v.as_string().ok_or_else(|| self.wrong(name, "a string")))
            .transpose()
    }

    fn number(&self, name: &str) -> Result<Option<f64>, JsValue> {
        self.get(name)
            .map(|v| {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| self.wrong(name, "a finite number"))
            })
            .transpose()
    }

    /// An integer in `min..=max`.
    fn int(&self, name: &str, min: f64, max: f64) -> Result<Option<i64>, JsValue> {
        self.get(name)
            .map(|v| match v.as_f64() {
                Some(x) if x.fract() == 0.0 && (min..=max).contains(&x) => Ok(x as i64),
                _ => Err(self.wrong(name, &format!("an integer from {min} to {max}"))),
            })
            .transpose()
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, JsValue> {
        self.get(name)
            .map(|v| v.as_bool().ok_or_else(|| self.wrong(name, "true or false")))
            .transpose()
    }
}

const SAFE: f64 = 9_007_199_254_740_991.0;

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

/// A client error as a JS `Error` with `kind` (and `status` when the server answered), so `?`
/// works on the client's results in the exported functions.
impl From<ClientError> for JsValue {
    fn from(e: ClientError) -> Self {
        client_error(e)
    }
}

fn client_error(e: ClientError) -> JsValue {
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

/// A new history entry from JS: `{ command, id?, timestamp? (ms), duration? (ns), exit?, cwd?,
/// session?, hostname? ("host:user"), author?, intent?, shell? }`.
pub fn history_from_js(v: JsValue) -> Result<History, JsValue> {
    let f = Fields::new(v, "history entry")?;
    let command = f
        .string("command")?
        .ok_or_else(|| invalid("history entry: `command` is missing"))?;
    let id = match f.string("id")? {
        Some(s) => s
            .parse()
            .map_err(|e| invalid(&format!("history id: {e}")))?,
        None => HistoryId(uuid::Uuid::nil()),
    };
    let hostname = f
        .string("hostname")?
        .unwrap_or_else(|| "browser:web".into());
    let author = f.string("author")?.unwrap_or_else(|| {
        hostname
            .split_once(':')
            .map_or("web", |(_, u)| u)
            .to_owned()
    });
    Ok(History {
        id,
        timestamp: ns(f.number("timestamp")?.unwrap_or_else(js_sys::Date::now)),
        duration: f.int("duration", -SAFE, SAFE)?.unwrap_or(-1),
        exit: f.int("exit", -SAFE, SAFE)?.unwrap_or(-1),
        command,
        cwd: f.string("cwd")?.unwrap_or_default(),
        session: f.string("session")?.unwrap_or_default(),
        hostname,
        deleted_at: None,
        author,
        intent: f.string("intent")?,
        shell: f.string("shell")?,
        author_kind: None,
    })
}

pub fn histories_from_js(v: JsValue) -> Result<Vec<History>, JsValue> {
    let arr: js_sys::Array = v
        .dyn_into()
        .map_err(|_| invalid("history entries: not an array"))?;
    arr.iter().map(history_from_js).collect()
}

/// A history query from JS (times in ms): `{ text?, mode? ("prefix" | "full-text" |
/// "fuzzy"), host?, cwd?, exit?, session?, after?, before?, includeDeleted?, offset?, limit? }`.
pub fn query_from_js(v: JsValue) -> Result<Query, JsValue> {
    let f = Fields::new(v, "history query")?;
    let mode = match f.string("mode")?.as_deref() {
        None | Some("full-text") | Some("fulltext") => SearchMode::FullText,
        Some("prefix") => SearchMode::Prefix,
        Some("fuzzy") => SearchMode::Fuzzy,
        Some(other) => {
            return Err(invalid(&format!(
                "history query: unknown `mode` {other:?} (prefix, full-text or fuzzy)"
            )))
        }
    };
    let count = |name| Ok::<_, JsValue>(f.int(name, 0.0, SAFE)?.map(|n| n as usize));
    Ok(Query {
        text: f.string("text")?.unwrap_or_default(),
        mode,
        filters: Filters {
            host: f.string("host")?,
            cwd: f.string("cwd")?,
            exit: f.int("exit", -SAFE, SAFE)?,
            session: f.string("session")?,
            after: f.number("after")?.map(ns),
            before: f.number("before")?.map(ns),
            include_deleted: f.boolean("includeDeleted")?.unwrap_or(false),
        },
        offset: count("offset")?.unwrap_or(0),
        limit: count("limit")?,
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
    missing: &'a [IdxRange],
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
        missing: &p.missing,
    })
}

/// Why a series stopped: a kind, the message, and the details that go with the kind.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeriesErrorJs {
    kind: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    idx: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record_kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_kid: Option<String>,
}

fn series_error_js(e: &SeriesError) -> SeriesErrorJs {
    let mut out = SeriesErrorJs {
        kind: "",
        message: e.to_string(),
        idx: None,
        record_kid: None,
        key_kid: None,
    };
    match e {
        SeriesError::ForeignKey {
            idx,
            record_kid,
            key_kid,
        } => {
            out.kind = "foreign_key";
            out.idx = Some(*idx);
            out.record_kid = Some(record_kid.clone());
            out.key_kid = Some(key_kid.clone());
        }
        SeriesError::Unreadable { idx, .. } => {
            out.kind = "unreadable";
            out.idx = Some(*idx);
        }
        SeriesError::LocalHole { idx } => {
            out.kind = "local_hole";
            out.idx = Some(*idx);
        }
        SeriesError::BadPage { start, .. } => {
            out.kind = "bad_page";
            out.idx = Some(*start);
        }
        SeriesError::KeyUnchecked => out.kind = "key_unchecked",
    }
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeriesHolesJs<'a> {
    host: String,
    tag: &'a str,
    missing: &'a [IdxRange],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<SeriesErrorJs>,
}

fn series_holes<'a>(
    series: &'a SeriesKey,
    missing: &'a [IdxRange],
    error: Option<&SeriesError>,
) -> SeriesHolesJs<'a> {
    SeriesHolesJs {
        host: series.host.to_string(),
        tag: series.tag.as_str(),
        missing,
        error: error.map(series_error_js),
    }
}

pub fn report_to_js(r: &SyncReport) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct R<'a> {
        uploaded: u64,
        downloaded: u64,
        key_check: &'static str,
        damaged: Vec<SeriesHolesJs<'a>>,
    }
    to_js(&R {
        uploaded: r.uploaded,
        downloaded: r.downloaded,
        key_check: match r.key_check {
            KeyCheck::NothingSynced => "nothing_synced",
            KeyCheck::Verified { .. } => "verified",
            KeyCheck::NothingReadable => "nothing_readable",
        },
        damaged: r
            .damaged
            .iter()
            .map(|d| series_holes(&d.series, &d.missing, d.error.as_ref()))
            .collect(),
    })
}

/// The local holes: `[{host, tag, missing: [{first, last}]}]`.
pub fn missing_to_js(m: &Missing) -> Result<JsValue, JsValue> {
    let v: Vec<SeriesHolesJs<'_>> = m
        .iter()
        .map(|(s, holes)| series_holes(s, holes, None))
        .collect();
    to_js(&v)
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
pub fn kdf_from_js(v: JsValue) -> Result<KdfParams, JsValue> {
    let f = Fields::new(v, "vault options")?;
    let d = KdfParams::default();
    let u32_field = |name, default: u32| {
        Ok::<_, JsValue>(
            f.int(name, 0.0, u32::MAX as f64)?
                .map_or(default, |n| n as u32),
        )
    };
    Ok(KdfParams {
        m: u32_field("memoryKiB", d.m)?,
        t: u32_field("iterations", d.t)?,
        p: u32_field("parallelism", d.p)?,
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
