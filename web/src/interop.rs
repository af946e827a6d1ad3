//! The one place that converts between Rust and JavaScript values, through JSON text.
//!
//! In: options objects (the history query, new history entries, vault, open and sync options)
//! are read from their `JSON.stringify` text by serde_json: the fields each reads ([`Shape`])
//! into a `Value`, then taken typed one by one ([`Fields`]). `undefined` or `null` is `{}`, and
//! a field that is `undefined` or `null` is absent. Errors name the object and the field,
//! found from where in the text serde_json stopped ([`path_at`]) or from the field being
//! taken: `history query: exit: invalid type: string "x", expected i64`.
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

use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
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

/// The fields of an options object that are read: the others are skipped unread, as a derived
/// reader skips them (so a value JSON has no form for is an error only where it is read).
pub struct Shape {
    /// What type errors say was expected: `struct HistoryQuery`.
    name: &'static str,
    fields: &'static [&'static str],
    /// The fields that hold an object of their own (or `null`), with its shape.
    objects: &'static [(&'static str, &'static Shape)],
}

/// Reads the JSON text of an options object as its [`Shape`] says, into a `Value` of its
/// fields (a `null` one left out): one reader for every options type instead of one derived
/// deserializer each (web/README.md, "Bundle size"). Errors come from serde_json, so
/// [`path_at`] finds where they are.
#[derive(Clone, Copy)]
enum Read {
    Object(&'static Shape),
    /// An object or `null`.
    Nullable(&'static Shape),
    /// An array of objects.
    Array(&'static Shape),
}

impl<'de> DeserializeSeed<'de> for Read {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self {
            Read::Object(_) => d.deserialize_map(self),
            Read::Nullable(_) => d.deserialize_option(self),
            Read::Array(_) => d.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Read {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Read::Object(s) | Read::Nullable(s) => f.write_str(s.name),
            Read::Array(_) => f.write_str("a sequence"),
        }
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (Read::Object(s) | Read::Nullable(s) | Read::Array(s)) = self;
        d.deserialize_map(Read::Object(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let (Read::Object(s) | Read::Nullable(s) | Read::Array(s)) = self;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Read::Object(s))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let (Read::Object(s) | Read::Nullable(s) | Read::Array(s)) = self;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let v = if s.fields.contains(&key.as_str()) {
                map.next_value()?
            } else if let Some((_, o)) = s.objects.iter().find(|(k, _)| *k == key) {
                map.next_value_seed(Read::Nullable(o))?
            } else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if !v.is_null() {
                out.insert(key, v);
            }
        }
        Ok(Value::Object(out))
    }
}

/// An options value read as `read` says; `what` names it in errors.
fn read_from_js(v: &JsValue, what: &str, read: Read) -> Result<Value, JsValue> {
    let mut out = Value::Null;
    read_json(v, what, &mut |text| {
        let mut de = serde_json::Deserializer::from_str(text);
        out = read.deserialize(&mut de)?;
        de.end()
    })?;
    Ok(out)
}

/// The fields of one options object as [`Read`] kept them, taken typed one by one. The first
/// field that is wrong is kept (named with the path to it: `history entries: [1].exit: ...`)
/// and given by [`Fields::done`]; until then each getter gives `None` or a default, so the
/// readers below take every field without a branch per field.
struct Fields<'a> {
    what: &'a str,
    /// The path to this object: empty at the top.
    at: String,
    map: Map<String, Value>,
    error: Option<String>,
}

impl<'a> Fields<'a> {
    fn new(what: &'a str, at: String, v: Value) -> Self {
        let map = match v {
            Value::Object(map) => map,
            _ => Map::new(), // [`Read`] gives objects only
        };
        Self {
            what,
            at,
            map,
            error: None,
        }
    }

    /// Keeps `message` about field `key` (or about the object, with `key` empty) unless an
    /// earlier one was kept.
    fn fail(&mut self, key: &str, message: &dyn fmt::Display) {
        if self.error.is_none() {
            let at = match (self.at.as_str(), key) {
                ("", "") => String::new(),
                (at, "") | ("", at) => format!("{at}: "),
                (at, key) => format!("{at}.{key}: "),
            };
            self.error = Some(format!("{}: {at}{message}", self.what));
        }
    }

    /// The field `key`; `None` when absent (`undefined` or `null`) or wrong.
    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let v = self.map.remove(key)?;
        T::deserialize(v).map_err(|e| self.fail(key, &e)).ok()
    }

    /// The field `key`, or the type's default.
    fn or_default<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        self.get(key).unwrap_or_default()
    }

    /// The field `key`, which must be there.
    fn need<T: DeserializeOwned + Default>(&mut self, key: &str) -> T {
        if !self.map.contains_key(key) {
            self.fail("", &format_args!("missing field `{key}`"));
        }
        self.or_default(key)
    }

    /// A time in ms since the epoch, as ns.
    fn ms_to_ns(&mut self, key: &str) -> Option<u64> {
        self.get::<f64>(key).map(ns)
    }

    /// A search mode, by the core's names for them (read from the string: smaller than
    /// through a `Value`'s enum reader).
    fn mode(&mut self, key: &str) -> SearchMode {
        let Some(s) = self.get::<String>(key) else {
            return SearchMode::default();
        };
        let de = StrDeserializer::<serde_json::Error>::new(&s);
        SearchMode::deserialize(de)
            .map_err(|e| self.fail(key, &e))
            .unwrap_or_default()
    }

    /// The object in field `key` (empty when absent).
    fn object(&mut self, key: &str) -> Fields<'a> {
        let v = self.map.remove(key).unwrap_or_default();
        let at = match self.at.as_str() {
            "" => key.to_owned(),
            at => format!("{at}.{key}"),
        };
        Fields::new(self.what, at, v)
    }

    /// The first field that was wrong, as an error.
    fn done(self) -> Result<(), JsValue> {
        self.error.map_or(Ok(()), |e| Err(invalid(&e)))
    }
}

/// An options object read as `shape` says.
fn fields_from_js<'a>(
    v: &JsValue,
    what: &'a str,
    shape: &'static Shape,
) -> Result<Fields<'a>, JsValue> {
    let v = read_from_js(v, what, Read::Object(shape))?;
    Ok(Fields::new(what, String::new(), v))
}

/// A history query from JS (times in ms): `{ text?, mode? ("prefix" | "full-text" |
/// "fuzzy"), host?, cwd?, exit?, session?, command?, after?, before?, includeDeleted?,
/// unique?, offset?, limit? }`.
static HISTORY_QUERY: Shape = Shape {
    name: "struct HistoryQuery",
    fields: &[
        "text",
        "mode",
        "host",
        "cwd",
        "exit",
        "session",
        "command",
        "after",
        "before",
        "includeDeleted",
        "unique",
        "offset",
        "limit",
    ],
    objects: &[],
};

pub fn query_from_js(v: JsValue) -> Result<Query, JsValue> {
    let mut q = fields_from_js(&v, "history query", &HISTORY_QUERY)?;
    let query = Query {
        text: q.or_default("text"),
        mode: q.mode("mode"),
        filters: Filters {
            host: q.get("host"),
            cwd: q.get("cwd"),
            exit: q.get("exit"),
            session: q.get("session"),
            command: q.get("command"),
            after: q.ms_to_ns("after"),
            before: q.ms_to_ns("before"),
            include_deleted: q.or_default("includeDeleted"),
        },
        unique: q.or_default("unique"),
        offset: q.or_default("offset"),
        limit: q.get("limit"),
    };
    q.done()?;
    Ok(query)
}

/// A new history entry from JS: `{ command, id?, timestamp? (ms), duration? (ns), exit?, cwd?,
/// session?, hostname? ("host:user"), author?, intent?, shell? }`.
static NEW_HISTORY_ENTRY: Shape = Shape {
    name: "struct NewHistoryEntry",
    fields: &[
        "command",
        "id",
        "timestamp",
        "duration",
        "exit",
        "cwd",
        "session",
        "hostname",
        "author",
        "intent",
        "shell",
    ],
    objects: &[],
};

fn new_history(mut e: Fields) -> Result<History, JsValue> {
    let hostname = e
        .get::<String>("hostname")
        .unwrap_or_else(|| "browser:web".into());
    let author = e.get("author").unwrap_or_else(|| {
        hostname
            .split_once(':')
            .map_or("web", |(_, u)| u)
            .to_owned()
    });
    let h = History {
        // Nil: the client gives it a fresh id.
        id: HistoryId(e.or_default::<uuid::Uuid>("id")),
        timestamp: e
            .ms_to_ns("timestamp")
            .unwrap_or_else(|| ns(js_sys::Date::now())),
        duration: e.get("duration").unwrap_or(-1),
        exit: e.get("exit").unwrap_or(-1),
        command: e.need("command"),
        cwd: e.or_default("cwd"),
        session: e.or_default("session"),
        hostname,
        deleted_at: None,
        author,
        intent: e.get("intent"),
        shell: e.get("shell"),
        author_kind: None,
    };
    e.done()?;
    Ok(h)
}

pub fn history_from_js(v: JsValue) -> Result<History, JsValue> {
    new_history(fields_from_js(&v, "history entry", &NEW_HISTORY_ENTRY)?)
}

pub fn histories_from_js(v: JsValue) -> Result<Vec<History>, JsValue> {
    const WHAT: &str = "history entries";
    if !js_sys::Array::is_array(&v) {
        return Err(invalid(&format!("{WHAT}: expected an array")));
    }
    let Value::Array(entries) = read_from_js(&v, WHAT, Read::Array(&NEW_HISTORY_ENTRY))? else {
        return Ok(Vec::new()); // [`Read::Array`] gives an array
    };
    let entries = entries.into_iter().enumerate();
    entries
        .map(|(i, e)| new_history(Fields::new(WHAT, format!("[{i}]"), e)))
        .collect()
}

/// Vault options from JS: `{ memoryKiB?, iterations?, parallelism? }`.
static VAULT_OPTIONS: Shape = Shape {
    name: "struct VaultOptions",
    fields: &["memoryKiB", "iterations", "parallelism"],
    objects: &[],
};

pub fn kdf_from_js(v: JsValue) -> Result<KdfParams, JsValue> {
    let mut o = fields_from_js(&v, "vault options", &VAULT_OPTIONS)?;
    let d = KdfParams::default();
    let p = KdfParams {
        m: o.get("memoryKiB").unwrap_or(d.m),
        t: o.get("iterations").unwrap_or(d.t),
        p: o.get("parallelism").unwrap_or(d.p),
    };
    o.done()?;
    Ok(p)
}

/// `Client.open` options from JS: `{ server, profile?, pageSize?, retry?: { attempts?,
/// baseMs?, maxMs? } }`.
pub struct OpenOptions {
    pub server: String,
    pub profile: String,
    /// Records per stored sync page, and at most per request (0: the default, 4000).
    pub page_size: u32,
    pub retry: RetryJs,
}

static OPEN_OPTIONS: Shape = Shape {
    name: "struct OpenOptions",
    fields: &["server", "profile", "pageSize"],
    objects: &[("retry", &RETRY)],
};

static RETRY: Shape = Shape {
    name: "struct RetryJs",
    fields: &["attempts", "baseMs", "maxMs"],
    objects: &[],
};

#[derive(Default)]
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
    let mut o = fields_from_js(&v, "open options", &OPEN_OPTIONS)?;
    let mut r = o.object("retry");
    let profile: String = o.or_default("profile");
    let options = OpenOptions {
        server: o.need("server"),
        profile: if profile.is_empty() {
            "default".into()
        } else {
            profile
        },
        page_size: o.or_default("pageSize"),
        retry: RetryJs {
            attempts: r.get("attempts"),
            base_ms: r.get("baseMs"),
            max_ms: r.get("maxMs"),
        },
    };
    o.done()?;
    r.done()?;
    Ok(options)
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
