//! The one place that converts between Rust and JavaScript values, through JSON text.
//!
//! In: options objects deserialise into the binding's types below (the history query, new
//! history entries, vault, open and sync options) from their `JSON.stringify` text, read by
//! serde_json. `undefined` or `null` is `{}`, and a field that is `undefined` or `null` is
//! absent. Errors name the object and the field, found from where in the text serde_json
//! stopped ([`path_at`]): `history query: exit: invalid type: string "x", expected i64`.
//! A number JSON has no form for (NaN, ±Infinity, a BigInt) is an error where it is read. The
//! sync's `AbortSignal` and progress callback are read as the JS values they are.
//!
//! Out: results go as JSON text through the browser's `JSON.parse` into plain JS objects
//! (maps become objects; fields are camelCase): for a page of query results and for a sync's
//! `entries` that is 2-3x faster than building the objects field by field (web/README.md,
//! `tests/bench/web_interop.mjs`), and the package carries one serde format, not two. Times
//! are milliseconds since the epoch on the JS side (like `Date`), except where the exact
//! nanosecond value matters (`timestampNs`, a decimal string). Records cross as their wire
//! JSON text, so no 64-bit field loses precision.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use terrapin_core::holes::{IdxRange, Missing};
use terrapin_core::payload::history::{host_part, History, HistoryId};
use terrapin_core::plan::Direction;
use terrapin_core::record::{HostId, SeriesKey};
use terrapin_core::search::Filters;
use terrapin_core::sync::{KeyCheck, Progress, SeriesError, SyncReport};
use wasm_bindgen::prelude::*;

use crate::client::ClientError;
use crate::http::RetryPolicy;
use crate::search::{Query, QueryResult, SearchMode};
use crate::vault::KdfParams;

// `JSON.stringify` with a replacer that leaves out `null` fields (as `undefined` ones are),
// and turns a number JSON has no form for into a string serde_json refuses wherever it reads
// one (it starts with a lone surrogate, `\udc00`), followed by the number (`NaN`, `5n`); with
// `wellFormed`, lone surrogates in strings become U+FFFD (as the browser's UTF-8 encoding of
// such a string does).
#[wasm_bindgen(inline_js = r#"export function json(v, wellFormed) {
  return JSON.stringify(v, (k, x) => x === null ? undefined
    : typeof x === "bigint" ? "\udc00" + x + "n"
    : typeof x === "number" && !isFinite(x) ? "\udc00" + x
    : wellFormed && typeof x === "string" ? x.replace(/\p{Cs}/gu, "\ufffd") : x);
}"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn json(v: &JsValue, well_formed: bool) -> Result<Option<String>, JsValue>;
}

/// A result as a plain JS object, through JSON text and the browser's `JSON.parse`.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v).map_err(|e| invalid(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// An options object read as `T`; `what` names it in errors, with the path to the part that
/// is wrong ([`path_at`]).
pub fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T, JsValue> {
    let mut out = None;
    read_json(&v, what, &mut |text| {
        out = Some(serde_json::from_str(text)?);
        Ok(())
    })?;
    out.ok_or(JsValue::UNDEFINED) // `read` set it
}

/// The body of [`from_js`], one copy for every `T` (the wasm had seven, ~1.6 KB each): `read`
/// parses the JSON text.
fn read_json(
    v: &JsValue,
    what: &str,
    read: &mut dyn FnMut(&str) -> Result<(), serde_json::Error>,
) -> Result<(), JsValue> {
    let fail = |m: &str| invalid(&format!("{what}: {m}"));
    let mut well_formed = false;
    loop {
        let text = if v.is_undefined() || v.is_null() {
            "{}".to_owned()
        } else {
            match json(v, well_formed) {
                Ok(Some(text)) => text,
                // A function or a symbol: JSON has no text for it.
                Ok(None) => {
                    let t = v.js_typeof().as_string().unwrap_or_default();
                    return Err(fail(&format!("invalid type: {t}, expected an object")));
                }
                // A cycle, or a `toJSON` that threw.
                Err(e) => {
                    let m = e.dyn_into::<js_sys::Error>().ok().map(|e| e.message());
                    return Err(fail(&m.map(String::from).unwrap_or_default()));
                }
            }
        };
        let Err(e) = read(&text) else {
            return Ok(());
        };
        // Its position is the byte offset where the error is (the text is one line).
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let mut message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
        let end = e.column().min(text.len());
        if text[..end].ends_with("\"\\udc00") {
            let number = text[end..].split('"').next().unwrap_or_default();
            message = match number.strip_suffix('n') {
                Some(n) => format!("invalid type: BigInt {n}n, expected a number"),
                None => format!("invalid value: {number}, expected a finite number"),
            };
        } else if message.contains("surrogate") || message.contains("hex escape") {
            // A lone surrogate in a string: read as U+FFFD.
            if !well_formed {
                well_formed = true;
                continue;
            }
        }
        let path = path_at(&text, end);
        let at = if path.is_empty() { path } else { path + ": " };
        return Err(fail(&format!("{at}{message}")));
    }
}

/// The path to the part of JSON `text` (as `JSON.stringify` writes it: no white space) that
/// its first `end` bytes stop in, as `retry.baseMs` or `[1].exit`; empty at the top. serde_json
/// stops right after the value it refuses, or after the `}` of an object missing a field (or
/// with a field whose type refused it after reading it: the types here refuse while reading).
fn path_at(text: &str, end: usize) -> String {
    enum Step<'a> {
        /// In an object: the key read last, and whether its value began.
        Key(Option<&'a str>, bool),
        /// In an array: the element, and whether it began.
        Index(usize, bool),
    }
    let mut steps = Vec::new();
    let mut string = None;
    let mut escape = false;
    for (i, c) in text.bytes().enumerate().take(end) {
        if let Some(start) = string {
            match c {
                _ if escape => escape = false,
                b'\\' => escape = true,
                b'"' => {
                    string = None;
                    if let Some(Step::Key(k @ None, false)) = steps.last_mut() {
                        *k = Some(&text[start..i]);
                    }
                }
                _ => {}
            }
            continue;
        }
        match (steps.last_mut(), c) {
            (_, b'}' | b']') => drop(steps.pop()),
            (Some(Step::Key(k, v)), b',') => (*k, *v) = (None, false),
            (Some(Step::Key(_, v)), b':') => *v = true,
            (Some(Step::Index(i, begun)), b',') => (*i, *begun) = (*i + 1, false),
            (Some(Step::Index(_, begun)), _) => *begun = true,
            _ => {}
        }
        match c {
            b'"' => string = Some(i + 1),
            b'{' => steps.push(Step::Key(None, false)),
            b'[' => steps.push(Step::Index(0, false)),
            _ => {}
        }
    }
    let mut path = String::new();
    for s in steps {
        match s {
            Step::Key(Some(k), true) if path.is_empty() => path.push_str(k),
            Step::Key(Some(k), true) => path.push_str(&format!(".{k}")),
            Step::Index(i, true) => path.push_str(&format!("[{i}]")),
            _ => {}
        }
    }
    path
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

/// A field whose `undefined` or `null` means the type's default (`#[serde(default)]` covers
/// a missing one).
fn nullish<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A time in ms since the epoch, as ns.
fn ms_to_ns<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(ns))
}

/// A history query from JS (times in ms): `{ text?, mode? ("prefix" | "full-text" |
/// "fuzzy"), host?, cwd?, exit?, session?, command?, after?, before?, includeDeleted?,
/// unique?, offset?, limit? }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryQuery {
    #[serde(default, deserialize_with = "nullish")]
    text: String,
    #[serde(default, deserialize_with = "nullish")]
    mode: SearchMode,
    host: Option<String>,
    cwd: Option<String>,
    exit: Option<i64>,
    session: Option<String>,
    command: Option<String>,
    #[serde(default, deserialize_with = "ms_to_ns")]
    after: Option<u64>,
    #[serde(default, deserialize_with = "ms_to_ns")]
    before: Option<u64>,
    #[serde(default, deserialize_with = "nullish")]
    include_deleted: bool,
    #[serde(default, deserialize_with = "nullish")]
    unique: bool,
    #[serde(default, deserialize_with = "nullish")]
    offset: usize,
    limit: Option<usize>,
}

pub fn query_from_js(v: JsValue) -> Result<Query, JsValue> {
    let q: HistoryQuery = from_js(v, "history query")?;
    Ok(Query {
        text: q.text,
        mode: q.mode,
        filters: Filters {
            host: q.host,
            cwd: q.cwd,
            exit: q.exit,
            session: q.session,
            command: q.command,
            after: q.after,
            before: q.before,
            include_deleted: q.include_deleted,
        },
        unique: q.unique,
        offset: q.offset,
        limit: q.limit,
    })
}

/// A new history entry from JS: `{ command, id?, timestamp? (ms), duration? (ns), exit?, cwd?,
/// session?, hostname? ("host:user"), author?, intent?, shell? }`.
#[derive(Deserialize)]
struct NewHistoryEntry {
    command: String,
    /// A `Uuid` (whose error comes while serde_json reads it, so [`path_at`] finds it), not
    /// a `HistoryId` (which reads a string, then parses it).
    id: Option<uuid::Uuid>,
    #[serde(default, deserialize_with = "ms_to_ns")]
    timestamp: Option<u64>,
    duration: Option<i64>,
    exit: Option<i64>,
    #[serde(default, deserialize_with = "nullish")]
    cwd: String,
    #[serde(default, deserialize_with = "nullish")]
    session: String,
    hostname: Option<String>,
    author: Option<String>,
    intent: Option<String>,
    shell: Option<String>,
}

impl From<NewHistoryEntry> for History {
    fn from(e: NewHistoryEntry) -> Self {
        let hostname = e.hostname.unwrap_or_else(|| "browser:web".into());
        let author = e.author.unwrap_or_else(|| {
            hostname
                .split_once(':')
                .map_or("web", |(_, u)| u)
                .to_owned()
        });
        History {
            // Nil: the client gives it a fresh id.
            id: HistoryId(e.id.unwrap_or_default()),
            timestamp: e.timestamp.unwrap_or_else(|| ns(js_sys::Date::now())),
            duration: e.duration.unwrap_or(-1),
            exit: e.exit.unwrap_or(-1),
            command: e.command,
            cwd: e.cwd,
            session: e.session,
            hostname,
            deleted_at: None,
            author,
            intent: e.intent,
            shell: e.shell,
            author_kind: None,
        }
    }
}

pub fn history_from_js(v: JsValue) -> Result<History, JsValue> {
    Ok(from_js::<NewHistoryEntry>(v, "history entry")?.into())
}

pub fn histories_from_js(v: JsValue) -> Result<Vec<History>, JsValue> {
    if !js_sys::Array::is_array(&v) {
        return Err(invalid("history entries: expected an array"));
    }
    let v: Vec<NewHistoryEntry> = from_js(v, "history entries")?;
    Ok(v.into_iter().map(History::from).collect())
}

/// Vault options from JS: `{ memoryKiB?, iterations?, parallelism? }`.
#[derive(Deserialize)]
struct VaultOptions {
    #[serde(rename = "memoryKiB")]
    memory_kib: Option<u32>,
    iterations: Option<u32>,
    parallelism: Option<u32>,
}

pub fn kdf_from_js(v: JsValue) -> Result<KdfParams, JsValue> {
    let o: VaultOptions = from_js(v, "vault options")?;
    let d = KdfParams::default();
    Ok(KdfParams {
        m: o.memory_kib.unwrap_or(d.m),
        t: o.iterations.unwrap_or(d.t),
        p: o.parallelism.unwrap_or(d.p),
    })
}

/// `Client.open` options from JS: `{ server, profile?, pageSize?, retry?: { attempts?,
/// baseMs?, maxMs? } }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    pub server: String,
    #[serde(default, deserialize_with = "nullish")]
    pub profile: String,
    /// Records per stored sync page, and at most per request (0: the default, 4000).
    #[serde(default, deserialize_with = "nullish")]
    pub page_size: u32,
    #[serde(default, deserialize_with = "nullish")]
    pub retry: RetryJs,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryJs {
    attempts: Option<u32>,
    base_ms: Option<u32>,
    max_ms: Option<u32>,
}

impl From<RetryJs> for RetryPolicy {
    fn from(r: RetryJs) -> Self {
        let d = RetryPolicy::default();
        RetryPolicy {
            attempts: r.attempts.map_or(d.attempts, |a| a.max(1)),
            base_ms: r.base_ms.map_or(d.base_ms, u64::from),
            max_ms: r.max_ms.map_or(d.max_ms, u64::from),
        }
    }
}

pub fn open_options(v: JsValue) -> Result<OpenOptions, JsValue> {
    let mut o: OpenOptions = from_js(v, "open options")?;
    if o.profile.is_empty() {
        o.profile = "default".into();
    }
    Ok(o)
}

/// `sync` options from JS: `{ signal?: AbortSignal, onProgress?: (p) => void, entries? }`.
pub struct SyncOptions {
    pub signal: Option<web_sys::AbortSignal>,
    pub on_progress: Option<js_sys::Function>,
    /// List the history entries the sync made live.
    pub entries: bool,
}

pub fn sync_options(v: JsValue) -> Result<SyncOptions, JsValue> {
    let nullish = |x: &JsValue| x.is_undefined() || x.is_null();
    if !nullish(&v) && !v.is_object() {
        let t = v.js_typeof().as_string().unwrap_or_default();
        return Err(invalid(&format!(
            "sync options: invalid type: {t}, expected an object"
        )));
    }
    // Each field as the JS value it is (`undefined` and `null` are `None`); `entries` read as
    // JSON like the other options (no derived struct for one field).
    let field = |key: &str| {
        let x = match nullish(&v) {
            true => JsValue::UNDEFINED,
            false => js_sys::Reflect::get(&v, &key.into())?,
        };
        Ok::<_, JsValue>((!nullish(&x)).then_some(x))
    };
    fn cast<T: JsCast>(x: Option<JsValue>, expected: &str) -> Result<Option<T>, JsValue> {
        x.map(|x| {
            x.dyn_into()
                .map_err(|_| invalid(&format!("sync options: {expected}")))
        })
        .transpose()
    }
    let signal = cast(field("signal")?, "signal: expected an AbortSignal")?;
    let on_progress = cast(field("onProgress")?, "onProgress: expected a function")?;
    let entries = match field("entries")? {
        Some(x) => from_js(x, "sync options: entries")?,
        None => false,
    };
    Ok(SyncOptions {
        signal,
        on_progress,
        entries,
    })
}

/// A history entry as JS sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HistoryJs<'a> {
    id: HistoryId,
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
    /// Unique query results: how many runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    runs: Option<u32>,
    /// Query results with text: where it matched the command (UTF-16 `[start, end, ...]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    matches: Option<&'a [u32]>,
}

pub(crate) fn history_js(h: &History) -> HistoryJs<'_> {
    HistoryJs {
        id: h.id,
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
        runs: None,
        matches: None,
    }
}

pub fn history_to_js(h: &History) -> Result<JsValue, JsValue> {
    to_js(&history_js(h))
}

#[derive(Serialize)]
struct Page<'a> {
    entries: Vec<HistoryJs<'a>>,
    total: usize,
}

pub fn history_page_to_js(r: &QueryResult) -> Result<JsValue, JsValue> {
    to_js(&Page {
        entries: r
            .entries
            .iter()
            .enumerate()
            .map(|(i, h)| HistoryJs {
                runs: r.runs.get(i).copied(),
                matches: r.matches.get(i).map(Vec::as_slice),
                ..history_js(h)
            })
            .collect(),
        total: r.total,
    })
}

/// A host of the record store and the hostnames its history entries carry.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HostNamesJs<'a> {
    host_id: HostId,
    hostnames: Vec<HostNameJs<'a>>,
}

#[derive(Serialize)]
struct HostNameJs<'a> {
    hostname: &'a str,
    host: &'a str,
    entries: usize,
}

pub fn hostnames_to_js(names: &[(HostId, Vec<(&str, usize)>)]) -> Result<JsValue, JsValue> {
    let v: Vec<HostNamesJs<'_>> = names
        .iter()
        .map(|(id, ns)| HostNamesJs {
            host_id: *id,
            hostnames: ns
                .iter()
                .map(|&(hostname, entries)| HostNameJs {
                    hostname,
                    host: host_part(hostname),
                    entries,
                })
                .collect(),
        })
        .collect();
    to_js(&v)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressJs<'a> {
    host: HostId,
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
        host: p.series.host,
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
    host: HostId,
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
        host: series.host,
        tag: series.tag.as_str(),
        missing,
        error: error.map(series_error_js),
    }
}

/// The sync report; with `entries`, the history entries the sync made live.
pub fn report_to_js(r: &SyncReport, entries: Option<&[History]>) -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct R<'a> {
        uploaded: u64,
        downloaded: u64,
        key_check: &'static str,
        damaged: Vec<SeriesHolesJs<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        entries: Option<Vec<HistoryJs<'a>>>,
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
        entries: entries.map(|hs| hs.iter().map(history_js).collect()),
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

/// Call a JS progress callback, ignoring what it throws (a progress hook must not stop a sync).
pub fn call_progress(cb: &js_sys::Function, p: &Progress) {
    if let Ok(v) = progress_to_js(p) {
        let _ = cb.call1(&JsValue::NULL, &v);
    }
}
