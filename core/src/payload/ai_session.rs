//! The `ai-session` tag: one message of an AI thread (atuin 18.24.4's `[threads] capture`),
//! docs/PROTOCOL.md §5.
//!
//! ```text
//! payload: kind u8 (0 = message), then the message body
//! v1: body = positional msgpack of the message (an array of 19 fields, 20 with `provider`)
//! v2: body = v1's body, zstd-compressed
//! v3: as v2; written for messages v2 readers can't read (the `Omp` harness, a `provider`)
//! v0: retired (named msgpack without the session id); not read, as atuin no longer reads it
//! ```
//!
//! The fields, in order: id (bin 16), session `[harness, id]`, source id, parent session or nil,
//! parent kind or nil, parent source id or nil, timestamp (time's 9-tuple: year, ordinal day,
//! hour, minute, second, nanosecond, offset h/m/s), role, content (array of blocks), cwd, git
//! branch, model, usage (`[input, output, cache read, cache write, reasoning]`, the last
//! optional), stop reason, session title, title source, title change `[source, text]`, turn id,
//! atuin session id (bin 16) or nil, and in v3 optionally provider. Enums are their variant's
//! name (a str), or a one-entry map `{name: value}` for a variant with data. Free-form JSON
//! (tool input and output, `Other` blocks) is msgpack of that JSON.
//!
//! Decoding only: Terrapin shows threads, it does not write them.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;
use serde_json::{Map, Number, Value};

use super::{MsgpackError, Reader};
use crate::record::Version;

/// A harness and its own id for the session: the key atuin groups a thread's messages by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SessionHandle {
    /// The variant name: `ClaudeCode`, `Codex`, `Copilot`, `Opencode`, `Pi`, `Omp`, `Unknown`.
    pub harness: String,
    pub session: String,
}

/// Token usage one row reported, as the harness reported it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_write: Option<u64>,
    pub reasoning: Option<u64>,
}

/// A title a line set (`text`) or cleared (`None`), and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TitleChange {
    pub source: String,
    pub text: Option<String>,
}

/// One unified diff hunk of a [`FilePatch`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hunk {
    pub old_start: u64,
    pub old_lines: u64,
    pub new_start: u64,
    pub new_lines: u64,
    pub lines: Vec<String>,
}

/// One file a tool call changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilePatch {
    pub path: String,
    /// `Add`, `Update` or `Delete`.
    pub change: String,
    pub moved_to: Option<String>,
    pub hunks: Vec<Hunk>,
}

/// One block of a message's content.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Content {
    Text {
        text: String,
    },
    Reasoning {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        call: String,
        output: Value,
        error: bool,
    },
    /// A block the harness gave no known shape, as JSON.
    Other {
        value: Value,
    },
    /// The model reasoned; `tokens` is only for display.
    ReasoningSummary {
        tokens: Option<u64>,
    },
    /// A model-written summary standing in for earlier conversation.
    Summary {
        text: String,
    },
    /// Why a model call failed or was aborted.
    Error {
        text: String,
    },
    /// The files a tool call changed.
    Patch {
        call: String,
        files: Vec<FilePatch>,
    },
    /// A block of a kind atuin 18.24.4 does not know (a newer atuin's): its name and value.
    /// atuin itself skips a record holding one; Terrapin shows the rest of the message.
    Unknown {
        kind: String,
        value: Value,
    },
}

/// A message's time as atuin stored it: the instant and the offset the harness gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub ordinal: u16,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub nanosecond: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

/// One decoded `ai-session` message.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AiMessage {
    /// The message's id (the record's id, as atuin writes it), hyphenated.
    pub id: String,
    pub session: SessionHandle,
    /// The harness's id for the line; unique within a session.
    pub source_id: String,
    pub parent: Option<SessionHandle>,
    /// `Subagent`, `Fork` or `Continuation`; a kind atuin 18.24.4 does not know reads as none.
    pub parent_kind: Option<String>,
    pub parent_source_id: Option<String>,
    /// Unix milliseconds (truncated, as atuin's sidecar stores it).
    pub timestamp: i64,
    /// The time in the harness's own offset (RFC 3339).
    pub timestamp_text: String,
    /// `User`, `Assistant`, `System`, `Tool`, or another role's own name.
    pub role: String,
    pub content: Vec<Content>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    /// `EndTurn`, `MaxTokens`, `ToolUse`, `StopSequence`, `Refusal`, `Aborted`, `Error`, or
    /// another reason's own text.
    pub stop_reason: Option<String>,
    pub session_title: Option<String>,
    pub session_title_source: Option<String>,
    pub title_change: Option<TitleChange>,
    pub turn_id: Option<String>,
    /// atuin's id for the thread, as atuin shows it (32 hex digits).
    pub atuin_id: Option<String>,
    pub provider: Option<String>,
    /// The host that wrote the record (from its envelope, never the payload): set by the store.
    pub host: Option<String>,
}

/// Decoding an `ai-session` payload failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AiSessionError {
    #[error("empty ai-session payload")]
    Empty,
    #[error("unknown ai-session record kind {0} (known: 0, a message)")]
    UnknownKind(u8),
    #[error("ai-session version `{0}` is retired (no longer read by atuin either)")]
    Retired(String),
    #[error("unknown ai-session version `{0}` (known: v1, v2, v3)")]
    UnknownVersion(String),
    #[error("ai-session body is not valid zstd: {0}")]
    Decompress(String),
    #[error("ai-session message field `{field}`: {source}")]
    Field {
        field: &'static str,
        source: MsgpackError,
    },
    #[error("ai-session message field `{field}`: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("ai-session message has {0} fields; expected 19 or 20")]
    WrongFieldCount(u32),
    #[error("ai-session message: {0} trailing bytes after the last field")]
    TrailingBytes(usize),
}

/// Deepest nesting of free-form JSON read: deeper input is refused rather than recursed into.
const MAX_DEPTH: usize = 64;

type Result<T> = core::result::Result<T, AiSessionError>;

impl AiMessage {
    /// Decodes a payload of `version` (v1, v2 or v3).
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<Self> {
        let (&kind, body) = bytes.split_first().ok_or(AiSessionError::Empty)?;
        if kind != 0 {
            return Err(AiSessionError::UnknownKind(kind));
        }
        match version.as_str() {
            "v0" => Err(AiSessionError::Retired("v0".to_owned())),
            "v1" => Self::decode_body(body),
            "v2" | "v3" => Self::decode_body(&unzstd(body)?),
            other => Err(AiSessionError::UnknownVersion(other.to_owned())),
        }
    }

    /// Decodes the positional msgpack body (after the kind byte, decompressed).
    pub fn decode_body(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        let n = r.array_len().map_err(field("message"))?;
        if !(19..=20).contains(&n) {
            return Err(AiSessionError::WrongFieldCount(n));
        }
        let id = uuid(&mut r, "id")?.ok_or(missing("id"))?;
        let session = handle(&mut r, "session")?;
        let source_id = string(&mut r, "source_id")?;
        let parent = opt(&mut r, "parent", |r| handle(r, "parent"))?;
        let parent_kind = opt(&mut r, "parent_kind", |r| string(r, "parent_kind"))?
            .filter(|k| matches!(k.as_str(), "Subagent" | "Fork" | "Continuation"));
        let parent_source_id = opt(&mut r, "parent_source_id", |r| {
            string(r, "parent_source_id")
        })?;
        let ts = timestamp(&mut r)?;
        let role = variant_name(&mut r, "role")?;
        let content = list(&mut r, "content", content)?;
        let cwd = opt_str(&mut r, "cwd")?;
        let git_branch = opt_str(&mut r, "git_branch")?;
        let model = opt_str(&mut r, "model")?;
        let usage = opt(&mut r, "usage", usage)?;
        let stop_reason = opt(&mut r, "stop_reason", |r| variant_name(r, "stop_reason"))?;
        let session_title = opt_str(&mut r, "session_title")?;
        let session_title_source = opt(&mut r, "session_title_source", |r| {
            string(r, "session_title_source")
        })?;
        let title_change = opt(&mut r, "title_change", |r| {
            fixed(r, "title_change", 2)?;
            Ok(TitleChange {
                source: string(r, "title_change")?,
                text: opt_str(r, "title_change")?,
            })
        })?;
        let turn_id = opt_str(&mut r, "turn_id")?;
        let atuin_id = uuid(&mut r, "atuin_id")?.map(|u| u.simple().to_string());
        let provider = if n == 20 {
            opt_str(&mut r, "provider")?
        } else {
            None
        };
        if !r.remaining().is_empty() {
            return Err(AiSessionError::TrailingBytes(r.remaining().len()));
        }
        Ok(Self {
            id: id.hyphenated().to_string(),
            session,
            source_id,
            parent,
            parent_kind,
            parent_source_id,
            timestamp: ts.unix_millis(),
            timestamp_text: ts.rfc3339(),
            role,
            content,
            cwd,
            git_branch,
            model,
            usage,
            stop_reason,
            session_title,
            session_title_source,
            title_change,
            turn_id,
            atuin_id,
            provider,
            host: None,
        })
    }
}

/// The decompressed body: every zstd frame of `body`, in order (as atuin's `decode_all`).
fn unzstd(mut body: &[u8]) -> Result<Vec<u8>> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::io::Read;
    let bad = |e: &dyn core::fmt::Display| AiSessionError::Decompress(e.to_string());
    let mut out = Vec::new();
    while !body.is_empty() {
        let mut frame = StreamingDecoder::new(&mut body).map_err(|e| bad(&e))?;
        frame.read_to_end(&mut out).map_err(|e| bad(&e))?;
    }
    Ok(out)
}

fn field(name: &'static str) -> impl Fn(MsgpackError) -> AiSessionError {
    move |source| AiSessionError::Field {
        field: name,
        source,
    }
}

fn missing(name: &'static str) -> AiSessionError {
    AiSessionError::Invalid {
        field: name,
        why: "nil".to_owned(),
    }
}

fn string(r: &mut Reader<'_>, name: &'static str) -> Result<String> {
    r.str().map(ToOwned::to_owned).map_err(field(name))
}

fn opt<T>(
    r: &mut Reader<'_>,
    name: &'static str,
    read: impl FnOnce(&mut Reader<'_>) -> Result<T>,
) -> Result<Option<T>> {
    if r.remaining().first() == Some(&0xc0) {
        r.optional(|_| Ok(())).map_err(field(name))?;
        Ok(None)
    } else {
        read(r).map(Some)
    }
}

fn opt_str(r: &mut Reader<'_>, name: &'static str) -> Result<Option<String>> {
    opt(r, name, |r| string(r, name))
}

fn uint(r: &mut Reader<'_>, name: &'static str) -> Result<u64> {
    r.with(rmp::decode::read_int::<u64, _>, |e| {
        super::num_err("u64", e)
    })
    .map_err(field(name))
}

fn opt_uint(r: &mut Reader<'_>, name: &'static str) -> Result<Option<u64>> {
    opt(r, name, |r| uint(r, name))
}

/// An array header of exactly `n` entries.
fn fixed(r: &mut Reader<'_>, name: &'static str, n: u32) -> Result<()> {
    let found = r.array_len().map_err(field(name))?;
    if found == n {
        Ok(())
    } else {
        Err(AiSessionError::Invalid {
            field: name,
            why: format!("{found} entries, expected {n}"),
        })
    }
}

fn list<T>(
    r: &mut Reader<'_>,
    name: &'static str,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = r.array_len().map_err(field(name))?;
    (0..n).map(|_| item(r)).collect()
}

fn uuid(r: &mut Reader<'_>, name: &'static str) -> Result<Option<uuid::Uuid>> {
    opt(r, name, |r| {
        let len = r.bin_len().map_err(field(name))? as usize;
        let rest = r.remaining();
        let bytes: [u8; 16] = rest
            .get(..len)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AiSessionError::Invalid {
                field: name,
                why: format!("{len} bytes, expected 16"),
            })?;
        *r = Reader::new(&rest[16..]);
        Ok(uuid::Uuid::from_bytes(bytes))
    })
}

fn handle(r: &mut Reader<'_>, name: &'static str) -> Result<SessionHandle> {
    fixed(r, name, 2)?;
    Ok(SessionHandle {
        harness: string(r, name)?,
        session: string(r, name)?,
    })
}

/// An enum of unit variants and one `Other(String)`: the variant's name, or the other's text
/// (a variant of another shape: its name).
fn variant_name(r: &mut Reader<'_>, name: &'static str) -> Result<String> {
    match r.remaining().first() {
        Some(0x80..=0x8f | 0xde | 0xdf) => {
            let kind = enum_map(r, name)?;
            Ok(match json(r, 0)? {
                Value::String(text) => text,
                _ => kind,
            })
        }
        _ => string(r, name),
    }
}

/// The header of a one-entry map `{variant: value}`: the variant's name; its value is next.
fn enum_map(r: &mut Reader<'_>, name: &'static str) -> Result<String> {
    let n = map_len(r, name)?;
    if n != 1 {
        return Err(AiSessionError::Invalid {
            field: name,
            why: format!("enum map of {n} entries"),
        });
    }
    string(r, name)
}

fn map_len(r: &mut Reader<'_>, name: &'static str) -> Result<u32> {
    r.with(rmp::decode::read_map_len, |e| super::value_err("map", e))
        .map_err(field(name))
}

fn timestamp(r: &mut Reader<'_>) -> Result<Timestamp> {
    const F: &str = "timestamp";
    fixed(r, F, 9)?;
    let mut int = |lo: i64, hi: i64| {
        let v = r.i64_any().map_err(field(F))?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(AiSessionError::Invalid {
                field: F,
                why: format!("{v} out of range"),
            })
        }
    };
    let year = int(-999_999, 999_999)? as i32;
    let ordinal = int(1, 366)? as u16;
    let hour = int(0, 23)? as u8;
    let minute = int(0, 59)? as u8;
    let second = int(0, 59)? as u8;
    let nanosecond = int(0, 999_999_999)? as u32;
    let (oh, om, os) = (int(-25, 25)?, int(-59, 59)?, int(-59, 59)?);
    Ok(Timestamp {
        year,
        ordinal,
        hour,
        minute,
        second,
        nanosecond,
        offset: (oh * 3600 + om * 60 + os) as i32,
    })
}

fn usage(r: &mut Reader<'_>) -> Result<Usage> {
    const F: &str = "usage";
    let n = r.array_len().map_err(field(F))?;
    if !(4..=5).contains(&n) {
        return Err(AiSessionError::Invalid {
            field: F,
            why: format!("{n} entries, expected 4 or 5"),
        });
    }
    Ok(Usage {
        input: opt_uint(r, F)?,
        output: opt_uint(r, F)?,
        cache_read: opt_uint(r, F)?,
        cache_write: opt_uint(r, F)?,
        reasoning: if n == 5 { opt_uint(r, F)? } else { None },
    })
}

fn content(r: &mut Reader<'_>) -> Result<Content> {
    const F: &str = "content";
    let kind = enum_map(r, F)?;
    let text = |r: &mut Reader<'_>| string(r, F);
    Ok(match kind.as_str() {
        "Text" => Content::Text { text: text(r)? },
        "Reasoning" => Content::Reasoning { text: text(r)? },
        "Summary" => Content::Summary { text: text(r)? },
        "Error" => Content::Error { text: text(r)? },
        "ToolUse" => {
            fixed(r, F, 3)?;
            Content::ToolUse {
                id: text(r)?,
                name: text(r)?,
                input: json(r, 0)?,
            }
        }
        "ToolResult" => {
            fixed(r, F, 3)?;
            Content::ToolResult {
                call: text(r)?,
                output: json(r, 0)?,
                error: r.bool().map_err(field(F))?,
            }
        }
        "Other" => Content::Other { value: json(r, 0)? },
        "ReasoningSummary" => {
            fixed(r, F, 1)?;
            Content::ReasoningSummary {
                tokens: opt_uint(r, F)?,
            }
        }
        "Patch" => {
            fixed(r, F, 2)?;
            Content::Patch {
                call: text(r)?,
                files: list(r, F, file_patch)?,
            }
        }
        _ => Content::Unknown {
            value: json(r, 0)?,
            kind,
        },
    })
}

fn file_patch(r: &mut Reader<'_>) -> Result<FilePatch> {
    const F: &str = "patch";
    fixed(r, F, 4)?;
    Ok(FilePatch {
        path: string(r, F)?,
        change: string(r, F)?,
        moved_to: opt_str(r, F)?,
        hunks: list(r, F, |r| {
            fixed(r, F, 5)?;
            Ok(Hunk {
                old_start: uint(r, F)?,
                old_lines: uint(r, F)?,
                new_start: uint(r, F)?,
                new_lines: uint(r, F)?,
                lines: list(r, F, |r| string(r, F))?,
            })
        })?,
    })
}

/// Free-form JSON (written as msgpack of a `serde_json::Value`). Bin reads as an array of byte
/// values, a non-string map key as its JSON text, ext as null.
fn json(r: &mut Reader<'_>, depth: usize) -> Result<Value> {
    use rmp::Marker as M;
    const F: &str = "json";
    let too = |why: &str| AiSessionError::Invalid {
        field: F,
        why: why.to_owned(),
    };
    if depth > MAX_DEPTH {
        return Err(too("nested too deep"));
    }
    let marker = *r.remaining().first().ok_or(too("unexpected end"))?;
    Ok(match M::from_u8(marker) {
        M::Null => {
            *r = Reader::new(&r.remaining()[1..]);
            Value::Null
        }
        M::True | M::False => Value::Bool(r.bool().map_err(field(F))?),
        M::FixPos(_) | M::U8 | M::U16 | M::U32 | M::U64 => Value::Number(Number::from(uint(r, F)?)),
        M::FixNeg(_) | M::I8 | M::I16 | M::I32 | M::I64 => {
            Value::Number(Number::from(r.i64_any().map_err(field(F))?))
        }
        M::F32 => {
            let v = r.with(rmp::decode::read_f32, |e| super::value_err("f32", e));
            float(f64::from(v.map_err(field(F))?))
        }
        M::F64 => {
            let v = r.with(rmp::decode::read_f64, |e| super::value_err("f64", e));
            float(v.map_err(field(F))?)
        }
        M::FixStr(_) | M::Str8 | M::Str16 | M::Str32 => Value::String(string(r, F)?),
        M::Bin8 | M::Bin16 | M::Bin32 => {
            let len = r.bin_len().map_err(field(F))? as usize;
            let rest = r.remaining();
            let bytes = rest.get(..len).ok_or(too("unexpected end"))?;
            *r = Reader::new(&rest[len..]);
            Value::Array(bytes.iter().map(|b| Value::from(*b)).collect())
        }
        M::FixArray(_) | M::Array16 | M::Array32 => {
            let n = r.array_len().map_err(field(F))?;
            let items: Result<Vec<Value>> = (0..n).map(|_| json(r, depth + 1)).collect();
            Value::Array(items?)
        }
        M::FixMap(_) | M::Map16 | M::Map32 => {
            let n = map_len(r, F)?;
            let mut map = Map::new();
            for _ in 0..n {
                let key = match json(r, depth + 1)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, json(r, depth + 1)?);
            }
            Value::Object(map)
        }
        M::FixExt1
        | M::FixExt2
        | M::FixExt4
        | M::FixExt8
        | M::FixExt16
        | M::Ext8
        | M::Ext16
        | M::Ext32 => {
            let meta = r
                .with(rmp::decode::read_ext_meta, |e| super::value_err("ext", e))
                .map_err(field(F))?;
            let rest = r.remaining();
            let skip = (meta.size as usize).min(rest.len());
            *r = Reader::new(&rest[skip..]);
            Value::Null
        }
        M::Reserved => return Err(too("reserved marker 0xc1")),
    })
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

impl Timestamp {
    /// Days from 1970-01-01 to January 1st of `year` (proleptic Gregorian).
    fn days_to_year(year: i32) -> i64 {
        let y = i64::from(year) - 1;
        365 * (y - 1969) + (y.div_euclid(4) - 492) - (y.div_euclid(100) - 19)
            + (y.div_euclid(400) - 4)
    }

    fn is_leap(year: i32) -> bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        let days = Self::days_to_year(self.year) + i64::from(self.ordinal) - 1;
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset);
        i128::from(secs) * 1_000_000_000 + i128::from(self.nanosecond)
    }

    /// Milliseconds since the Unix epoch, truncated toward zero.
    pub fn unix_millis(&self) -> i64 {
        (self.unix_nanos() / 1_000_000) as i64
    }

    /// RFC 3339 in the stored offset, the fraction without trailing zeros (`Z` for UTC).
    pub fn rfc3339(&self) -> String {
        const MONTHS: [u16; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let (mut month, mut day) = (1, self.ordinal);
        for (i, len) in MONTHS.iter().enumerate() {
            let len = len + u16::from(i == 1 && Self::is_leap(self.year));
            if day <= len {
                break;
            }
            day -= len;
            month += 1;
        }
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, month, day, self.hour, self.minute, self.second
        );
        if self.nanosecond != 0 {
            let frac = format!("{:09}", self.nanosecond);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let abs = self.offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The v1 layout atuin 18.24.4 pins in its own tests: a user message `hi` of session `s`,
    /// at the epoch, ids 1 and 2.
    const PINNED: &str = "00dc0013c4100000000000000000000000000000000192aa436c61756465436f6465a173a178\
                          c0c0c099cd07b20100000000000000a4557365729181a454657874a26869c0c0c0c0c0c0c0\
                          c0a174c41000000000000000000000000000000002";

    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn atuins_pinned_layout_decodes() {
        let m = AiMessage::decode(&Version::V1, &bytes(PINNED)).unwrap();
        assert_eq!(m.id, "00000000-0000-0000-0000-000000000001");
        assert_eq!(
            m.session,
            SessionHandle {
                harness: "ClaudeCode".into(),
                session: "s".into()
            }
        );
        assert_eq!((m.source_id.as_str(), m.role.as_str()), ("x", "User"));
        assert_eq!(
            (m.timestamp, m.timestamp_text.as_str()),
            (0, "1970-01-01T00:00:00Z")
        );
        assert_eq!(m.content, [Content::Text { text: "hi".into() }]);
        assert_eq!(m.turn_id.as_deref(), Some("t"));
        assert_eq!(
            m.atuin_id.as_deref(),
            Some("00000000000000000000000000000002")
        );
        assert_eq!((m.provider, m.usage, m.parent), (None, None, None));
    }

    #[test]
    fn timestamps_count_from_the_epoch_in_their_offset() {
        let t = |year, ordinal, offset| Timestamp {
            year,
            ordinal,
            hour: 1,
            minute: 2,
            second: 3,
            nanosecond: 4_500_000,
            offset,
        };
        // 2000-03-01 (a leap year's 61st day), at +01:30.
        let ts = t(2000, 61, 5400);
        assert_eq!(ts.unix_millis(), 951_872_523_004 - 5_400_000);
        assert_eq!(ts.rfc3339(), "2000-03-01T01:02:03.0045+01:30");
        assert_eq!(t(1969, 365, 0).rfc3339(), "1969-12-31T01:02:03.0045Z");
        // Truncated toward zero, as atuin's sidecar stores it.
        assert_eq!(t(1969, 365, 0).unix_millis(), -82_676_995);
    }
}
