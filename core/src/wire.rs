//! HTTP API request and answer types (docs/PROTOCOL.md §2), shared by the edge server and our
//! clients so both sides serialize exactly what Atuin 18.24.x sends and expects.
//!
//! Field names and shapes follow `atuin-domain/src/api.rs` of Atuin 18.24.4.

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::record::{HostId, RecordIdx, Tag};
use crate::status::Status;

/// Header every answer carries; Atuin clients refuse servers without it (or an older major).
pub const VERSION_HEADER: &str = "Atuin-Version";
/// The Atuin release whose protocol we speak, sent in [`VERSION_HEADER`] and by `GET /`.
pub const PROTOCOL_VERSION: &str = "18.24.4";

/// Capability negotiation headers (Atuin `atuin-domain/src/caps/http.rs`).
pub const CAPS_KNOWN_HEADER: &str = "x-atuin-capabilities-known";
pub const CAPS_AVAILABLE_HEADER: &str = "x-atuin-capabilities-available";
pub const CAPS_ENFORCE_HEADER: &str = "x-atuin-capabilities-enforce";

/// Capability names (Atuin `atuin-domain/src/caps/all.rs`).
pub const CAP_CAPABILITIES: &str = "sh.atuin.server/capabilities";
pub const CAP_PAGE_SIZE: &str = "sh.atuin.server/records.page_size";

/// Records per request Atuin clients use when a server advertises no page size.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// The largest idx (and `start`) accepted anywhere: 2^53 - 1, so every idx survives a trip
/// through a JavaScript number (D1, browsers) unchanged.
pub const MAX_IDX: RecordIdx = (1 << 53) - 1;

/// `GET /`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexResponse {
    pub homage: String,
    pub version: String,
}

/// `GET /healthz`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    pub status: String,
}

/// `GET /user/{name}` and `GET /api/v0/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResponse {
    pub username: String,
}

/// `GET /api/v0/me`
pub type MeResponse = UserResponse;

/// `POST /register`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub email: String,
    pub username: String,
    pub password: String,
}

/// `POST /login`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

/// Answer to `POST /register` and `POST /login`: `{"session": "...", "auth": "cli"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionResponse {
    pub session: String,
    #[serde(default)]
    pub auth: Option<String>,
}

impl SessionResponse {
    /// A CLI session, as Atuin's server answers.
    pub fn cli(session: String) -> Self {
        Self {
            session,
            auth: Some("cli".to_owned()),
        }
    }
}

pub type RegisterResponse = SessionResponse;
pub type LoginResponse = SessionResponse;

/// `PATCH /account/password`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

/// Answer to `PATCH /account/password`: how many other sessions of the account ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordResponse {
    #[serde(default)]
    pub sessions_ended: u64,
}

/// `DELETE /account` (the CLI sends the password to confirm).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteUserRequest {
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_code: Option<String>,
}

/// `{}`: the answer of password change and account deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Every failure: `{"reason": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub reason: String,
}

impl ErrorResponse {
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// `GET /api/v0/capabilities`: `{"version": "<opaque token>", "capabilities": {name: value}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilitiesResponse {
    pub version: String,
    pub capabilities: BTreeMap<String, serde_json::Value>,
}

impl CapabilitiesResponse {
    /// What a server implementing exactly the v0 record API advertises: the negotiation
    /// protocol itself and the page size. The token is a hash of the canonical capability map,
    /// so it changes whenever the advertised set does.
    pub fn for_server(page_size: u64) -> Self {
        let mut capabilities = BTreeMap::new();
        capabilities.insert(
            CAP_CAPABILITIES.to_owned(),
            serde_json::json!({ "version": 1 }),
        );
        capabilities.insert(
            CAP_PAGE_SIZE.to_owned(),
            serde_json::json!({ "version": 1, "page_size": page_size }),
        );
        let canonical = serde_json::to_string(&capabilities).unwrap_or_default();
        let mut version = String::with_capacity(16);
        let _ = write!(version, "{:016x}", fnv1a64(canonical.as_bytes()));
        Self {
            version,
            capabilities,
        }
    }

    /// Atuin's negotiation rule: only a present token that differs from ours is stale.
    pub fn is_stale(&self, known: Option<&str>) -> bool {
        matches!(known, Some(k) if k != self.version)
    }

    /// The page size this document advertises, or Atuin's default.
    pub fn page_size(&self) -> u64 {
        self.capabilities
            .get(CAP_PAGE_SIZE)
            .and_then(|c| c.get("page_size"))
            .and_then(serde_json::Value::as_u64)
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Why a request was refused before it reached any store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("missing query parameter {0:?}")]
    MissingParam(&'static str),
    #[error("query parameter {name:?} is invalid: {reason}")]
    BadParam { name: &'static str, reason: String },
    #[error(
        "only letters, digits and hyphens (-) are allowed in usernames, at most {max} characters"
    )]
    BadUsername { max: usize },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} is longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error("email is not valid: {0}")]
    BadEmail(&'static str),
}

/// Longest username accepted at registration.
pub const MAX_USERNAME_LEN: usize = 64;
/// Longest email (the longest address SMTP carries) and password accepted.
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Atuin's username rule: non-empty, ASCII letters, digits and `-` only.
pub fn validate_username(name: &str) -> Result<(), WireError> {
    if name.is_empty()
        || name.len() > MAX_USERNAME_LEN
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(WireError::BadUsername {
            max: MAX_USERNAME_LEN,
        });
    }
    Ok(())
}

impl RegisterRequest {
    /// Checks a registration before any hashing or storage.
    pub fn validate(&self) -> Result<(), WireError> {
        validate_username(&self.username)?;
        validate_email(&self.email)?;
        validate_password(&self.password)
    }
}

/// An email as accounts store it (surrounding spaces trimmed first): at most
/// [`MAX_EMAIL_LEN`] bytes, one `@` between a non-empty local part and domain, no spaces and
/// no control characters (SQLite compares text only up to a NUL).
pub fn validate_email(email: &str) -> Result<(), WireError> {
    let email = email.trim();
    non_empty_within("email", email, MAX_EMAIL_LEN)?;
    if email.chars().any(|c| c.is_control()) {
        return Err(WireError::BadEmail("it holds a control character"));
    }
    if email.chars().any(char::is_whitespace) {
        return Err(WireError::BadEmail("it holds a space"));
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
            if domain.contains('@') {
                Err(WireError::BadEmail("it holds more than one @"))
            } else {
                Ok(())
            }
        }
        _ => Err(WireError::BadEmail(
            "it needs one @ between a name and a domain",
        )),
    }
}

pub fn validate_password(password: &str) -> Result<(), WireError> {
    non_empty_within("password", password, MAX_PASSWORD_LEN)
}

/// `value` of `field` is not empty and at most `max` bytes.
fn non_empty_within(field: &'static str, value: &str, max: usize) -> Result<(), WireError> {
    if value.is_empty() {
        return Err(WireError::Empty { field });
    }
    if value.len() > max {
        return Err(WireError::TooLong { field, max });
    }
    Ok(())
}

/// `GET /api/v0/record/next?host=..&tag=..&start=..&count=..`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextQuery {
    pub host: HostId,
    pub tag: Tag,
    pub start: RecordIdx,
    pub count: u64,
}

impl NextQuery {
    /// Parses decoded query pairs. `start` defaults to 0; `count` is required, at least 1, and
    /// is capped at `max_count` (a short page is normal for Atuin clients). Negative, non
    /// numeric or out-of-range numbers, a bad host UUID and an empty tag are errors.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        max_count: u64,
    ) -> Result<Self, WireError> {
        let (mut host, mut tag, mut start, mut count) = (None, None, None, None);
        for (k, v) in pairs {
            match k {
                "host" => host = Some(v),
                "tag" => tag = Some(v),
                "start" => start = Some(v),
                "count" => count = Some(v),
                _ => {}
            }
        }
        let host = host.ok_or(WireError::MissingParam("host"))?;
        let host: HostId = host.parse().map_err(|_| WireError::BadParam {
            name: "host",
            reason: "not a UUID".to_owned(),
        })?;
        let tag = tag.ok_or(WireError::MissingParam("tag"))?;
        if tag.is_empty() {
            return Err(WireError::BadParam {
                name: "tag",
                reason: "empty".to_owned(),
            });
        }
        let start = match start {
            None | Some("") => 0,
            Some(s) => parse_num("start", s, MAX_IDX)?,
        };
        let count = count.ok_or(WireError::MissingParam("count"))?;
        let count = parse_num("count", count, u64::MAX)?;
        if count == 0 {
            return Err(WireError::BadParam {
                name: "count",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(Self {
            host,
            tag: Tag::from(tag),
            start,
            count: count.min(max_count.max(1)),
        })
    }

    /// The query string a client sends (values are URL-safe: a UUID, numbers, and the tag
    /// percent-encoded).
    pub fn to_query(&self) -> String {
        format!(
            "host={}&tag={}&start={}&count={}",
            self.host,
            percent_encode(self.tag.as_str()),
            self.start,
            self.count
        )
    }

    /// The query as (name, value) pairs, not yet encoded (for URL builders that encode).
    pub fn pairs(&self) -> [(&'static str, String); 4] {
        [
            ("host", self.host.to_string()),
            ("tag", self.tag.as_str().to_owned()),
            ("start", self.start.to_string()),
            ("count", self.count.to_string()),
        ]
    }
}

fn parse_num(name: &'static str, s: &str, max: u64) -> Result<u64, WireError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireError::BadParam {
            name,
            reason: format!("{s:?} is not a non-negative integer"),
        });
    }
    match s.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(WireError::BadParam {
            name,
            reason: format!("{s} is larger than {max}"),
        }),
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Splits an `Authorization` header into its session token. Atuin's server takes only the
/// `Token` scheme.
pub fn session_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme == "Token" && !token.is_empty()).then_some(token)
}

/// The subprotocol of the live status socket (docs/PROTOCOL.md §2, "Live status").
pub const LIVE_PROTOCOL: &str = "terrapin.live.v1";
/// The live socket that also answers page requests ([`SocketRequest`]); a server selects it
/// over [`LIVE_PROTOCOL`] when a client offers both (docs/PROTOCOL.md §2, "Pages over the
/// socket").
pub const LIVE_PAGES_PROTOCOL: &str = "terrapin.live.v2";
/// Prefix of the subprotocol entry that carries the session token on the live socket
/// (browsers can't set `Authorization` on a WebSocket).
pub const LIVE_TOKEN_PREFIX: &str = "terrapin.token.";

/// Close code of a live socket whose session ended (`POST /logout`, or a password change for
/// the account's other sessions): its client does not reconnect.
pub const CLOSE_SESSION_ENDED: u16 = 4001;
/// Close code of a live socket whose account was deleted: its client does not reconnect.
pub const CLOSE_ACCOUNT_DELETED: u16 = 4003;
/// Close code of an account's oldest live socket when another one opens past
/// [`LIVE_MAX_SOCKETS`].
pub const CLOSE_REPLACED: u16 = 4008;
/// Most live sockets one account keeps open; the oldest is closed ([`CLOSE_REPLACED`]).
pub const LIVE_MAX_SOCKETS: usize = 64;

/// A client's keep-alive on a live socket, and the answer the server's runtime gives it.
pub const LIVE_PING: &str = "ping";
pub const LIVE_PONG: &str = "pong";
/// A live client sends [`LIVE_PING`] this often, and takes a socket silent for 2.5 times as
/// long for dead.
pub const LIVE_PING_MS: u32 = 30_000;

/// The `type` of the full status a live socket is greeted with ([`LiveMessage::Status`]).
pub const LIVE_STATUS: &str = "status";
/// The `type` of the statuses a push sends after it committed ([`LiveMessage::Push`]).
pub const LIVE_PUSH: &str = "push";

/// What the server sends on a live socket: `{"type": "status" | "push", "hosts": {host: {tag:
/// last idx}}}`, the full status on connect and the series a push wrote after it committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveMessage {
    Status(Status),
    Push(Status),
}

impl LiveMessage {
    /// The message's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Status(_) => LIVE_STATUS,
            Self::Push(_) => LIVE_PUSH,
        }
    }

    /// The message as JSON text, `type` first.
    pub fn to_json(&self) -> String {
        let (Self::Status(s) | Self::Push(s)) = self;
        let status = serde_json::to_string(s).unwrap_or_else(|_| r#"{"hosts":{}}"#.into());
        format!(r#"{{"type":"{}",{}"#, self.kind(), &status[1..])
    }

    /// Reads a server message; `None` for anything else (page answers, errors, `pong`). A
    /// host that reads its socket's other messages as JSON values already matches their
    /// `type` against [`LIVE_STATUS`] and [`LIVE_PUSH`] instead, and reads a push's status.
    pub fn read(text: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let kind = v.get("type")?.as_str()?;
        let status = || serde_json::from_str::<Status>(text).ok();
        match kind {
            LIVE_STATUS => Some(Self::Status(status()?)),
            LIVE_PUSH => Some(Self::Push(status()?)),
            _ => None,
        }
    }
}

/// Kinds of failure (as the hosts name them, `TerrapinError.kind` in the browser) worth trying
/// again soon: the network, a server error (5xx), rate limiting (429). The server may be back.
pub const TRANSIENT_KINDS: [&str; 3] = ["network", "server", "rate_limited"];

/// Whether a failure of `kind` is worth trying again ([`TRANSIENT_KINDS`]).
pub fn is_transient(kind: &str) -> bool {
    TRANSIENT_KINDS.contains(&kind)
}

/// Whether a live client keeps reconnecting (and syncing on an interval) after a sync failed
/// with `kind`: a transient failure, or a sync that was cancelled or found another under way.
/// Any other (a refused session, a wrong key) waits for a sync that works.
pub fn live_retries_after(kind: &str) -> bool {
    is_transient(kind) || kind == "aborted" || kind == "busy"
}

/// Reads a live socket's `Sec-WebSocket-Protocol` header: the live protocol to select (the
/// newest offered), and the session token of its `terrapin.token.<token>` entry, if there is
/// exactly one.
pub fn live_protocols(header: &str) -> (Option<&'static str>, Option<&str>) {
    let mut chosen = None;
    let mut tokens = header
        .split(',')
        .map(str::trim)
        .inspect(|p| {
            if *p == LIVE_PAGES_PROTOCOL {
                chosen = Some(LIVE_PAGES_PROTOCOL);
            } else if *p == LIVE_PROTOCOL && chosen.is_none() {
                chosen = Some(LIVE_PROTOCOL);
            }
        })
        .filter_map(|p| p.strip_prefix(LIVE_TOKEN_PREFIX))
        .filter(|t| !t.is_empty());
    let first = tokens.next();
    let token = if tokens.next().is_none() { first } else { None };
    // Drain the rest so every entry is seen.
    tokens.for_each(drop);
    (chosen, token)
}

/// A client's request on a [`LIVE_PAGES_PROTOCOL`] socket: `{"type": "next", "id": 7,
/// "query": "host=…&tag=history&start=0&count=100"}`, the query of `GET
/// /api/v0/record/next`, read by the same rules ([`NextQuery`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SocketRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: u64,
    pub query: String,
}

/// The request type of [`SocketRequest`] (the only one).
pub const SOCKET_NEXT: &str = "next";

/// The text of request `id` for the page `q` ([`SocketRequest`]; the query needs no escaping).
pub fn socket_next(id: u64, q: &NextQuery) -> String {
    format!(
        r#"{{"type":"{SOCKET_NEXT}","id":{id},"query":"{}"}}"#,
        q.to_query()
    )
}

/// How an answer to a page request starts, up to its id; `,"records":` follows it.
const SOCKET_PAGE_HEAD: &str = r#"{"type":"page","id":"#;

/// The answer to request `id`: `records_json` is the JSON array `next` would answer. Written
/// in exactly this order, so a client finds the array without reading the envelope
/// ([`socket_page_parts`]).
pub fn socket_page(id: u64, records_json: &str) -> String {
    format!(r#"{SOCKET_PAGE_HEAD}{id},"records":{records_json}}}"#)
}

/// The id and the records array (JSON text) of a [`socket_page`] answer; `None` for any other
/// message (errors and statuses are read as JSON).
pub fn socket_page_parts(text: &str) -> Option<(u64, &str)> {
    let rest = text.strip_prefix(SOCKET_PAGE_HEAD)?;
    let (id, rest) = rest.split_once(',')?;
    let records = rest.strip_prefix(r#""records":"#)?.strip_suffix('}')?;
    Some((id.parse().ok()?, records))
}

/// Most bytes of a socket message that joins several requests or answers ([`socket_join`]).
pub const SOCKET_MESSAGE_BYTES: usize = 4 << 20;

/// Most page requests one socket message may carry; each one past it is refused with 413 (the
/// browser keeps at most 64 under way, so it never meets this).
pub const SOCKET_MAX_REQUESTS: usize = 64;
/// Most bytes of answers one socket message gets; each request after that is refused with 413,
/// to be asked again. Together with [`SOCKET_MAX_REQUESTS`] this bounds the work of a message.
pub const SOCKET_ANSWER_BYTES: usize = 32 << 20;

/// Answers the request lines of one socket message in order with `answer`, within
/// [`SOCKET_MAX_REQUESTS`] and [`SOCKET_ANSWER_BYTES`]; the requests past either bound get a
/// 413 error naming the bound, with their id where it can be read.
pub fn socket_answers<'a>(
    text: &'a str,
    mut answer: impl FnMut(&str) -> String + 'a,
) -> impl Iterator<Item = String> + 'a {
    let mut spent = 0usize;
    socket_lines(text).enumerate().map(move |(n, line)| {
        let over = if n >= SOCKET_MAX_REQUESTS {
            "too many requests in one socket message: at most 64; ask for the rest in another"
        } else if spent >= SOCKET_ANSWER_BYTES {
            "this socket message's answers reached 32 MiB; ask for the rest in another"
        } else {
            let a = answer(line);
            spent += a.len();
            return a;
        };
        let id = serde_json::from_str::<SocketRequest>(line)
            .ok()
            .map(|r| r.id);
        socket_error(id, 413, over)
    })
}

/// The requests (or answers) of one socket message: one per line.
pub fn socket_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').filter(|l| !l.is_empty())
}

/// Joins requests or answers, in order, into as few messages as [`SOCKET_MESSAGE_BYTES`]
/// allows (one per line; one alone may be longer), handing each message to `send` once full:
/// a message costs both ends more than the bytes in it. JSON text never holds a raw newline.
pub fn socket_join(parts: impl IntoIterator<Item = String>, mut send: impl FnMut(String)) {
    let mut message = String::new();
    for part in parts {
        if !message.is_empty() && message.len() + 1 + part.len() > SOCKET_MESSAGE_BYTES {
            send(core::mem::take(&mut message));
        }
        if message.is_empty() {
            message = part;
        } else {
            message.push('\n');
            message.push_str(&part);
        }
    }
    if !message.is_empty() {
        send(message);
    }
}

/// The refusal of request `id` (or of an unreadable request), as `next` would answer it:
/// `{"type": "error", "id", "status", "reason"}`.
pub fn socket_error(id: Option<u64>, status: u16, reason: &str) -> String {
    let reason = serde_json::to_string(reason).unwrap_or_else(|_| "\"\"".into());
    match id {
        Some(id) => format!(r#"{{"type":"error","id":{id},"status":{status},"reason":{reason}}}"#),
        None => format!(r#"{{"type":"error","status":{status},"reason":{reason}}}"#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use uuid::Uuid;

    const HOST: &str = "0190a4f0-0000-7000-8000-000000000001";

    #[test]
    fn capabilities_shape_matches_atuin() {
        let caps = CapabilitiesResponse::for_server(100);
        let json = serde_json::to_string(&caps).unwrap();
        assert!(json.starts_with(r#"{"version":""#));
        assert!(json.ends_with(
            r#""capabilities":{"sh.atuin.server/capabilities":{"version":1},"sh.atuin.server/records.page_size":{"page_size":100,"version":1}}}"#
        ), "{json}");
        assert_eq!(caps.version.len(), 16);
        assert_eq!(caps.page_size(), 100);
        assert_ne!(caps.version, CapabilitiesResponse::for_server(50).version);
        assert!(!caps.is_stale(None));
        assert!(!caps.is_stale(Some(&caps.version.clone())));
        assert!(caps.is_stale(Some("deadbeefdeadbeef")));
    }

    #[test]
    fn session_and_error_shapes() {
        let s = serde_json::to_string(&SessionResponse::cli("abc".into())).unwrap();
        assert_eq!(s, r#"{"session":"abc","auth":"cli"}"#);
        let back: SessionResponse = serde_json::from_str(r#"{"session":"x"}"#).unwrap();
        assert_eq!(back.auth, None);
        assert_eq!(
            serde_json::to_string(&ErrorResponse::new("nope")).unwrap(),
            r#"{"reason":"nope"}"#
        );
        assert_eq!(serde_json::to_string(&Empty {}).unwrap(), "{}");
        let login: LoginRequest =
            serde_json::from_str(r#"{"username":"a","password":"b"}"#).unwrap();
        assert_eq!(login.totp_code, None);
    }

    #[test]
    fn usernames() {
        for ok in ["ellie", "a-b-9", "X"] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a_b", "émile", "a/b", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_query_table() {
        let q = NextQuery::from_pairs([("host", HOST), ("tag", "history"), ("count", "100")], 500)
            .unwrap();
        assert_eq!(q.start, 0);
        assert_eq!(q.count, 100);
        assert_eq!(q.host, HostId(Uuid::parse_str(HOST).unwrap()));
        let capped = NextQuery::from_pairs(
            [
                ("host", HOST),
                ("tag", "kv"),
                ("start", "7"),
                ("count", "99999"),
            ],
            500,
        )
        .unwrap();
        assert_eq!((capped.start, capped.count), (7, 500));
        let bad: &[&[(&str, &str)]] = &[
            &[("tag", "kv"), ("count", "1")],
            &[("host", "nope"), ("tag", "kv"), ("count", "1")],
            &[("host", HOST), ("tag", ""), ("count", "1")],
            &[("host", HOST), ("tag", "kv")],
            &[("host", HOST), ("tag", "kv"), ("count", "-1")],
            &[("host", HOST), ("tag", "kv"), ("count", "0")],
            &[("host", HOST), ("tag", "kv"), ("count", "1e3")],
            &[
                ("host", HOST),
                ("tag", "kv"),
                ("count", "99999999999999999999999"),
            ],
            &[
                ("host", HOST),
                ("tag", "kv"),
                ("start", "-5"),
                ("count", "1"),
            ],
            &[
                ("host", HOST),
                ("tag", "kv"),
                ("start", "9007199254740992"),
                ("count", "1"),
            ],
        ];
        for pairs in bad {
            assert!(
                NextQuery::from_pairs(pairs.iter().copied(), 500).is_err(),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn next_query_round_trips() {
        let q = NextQuery {
            host: HostId(Uuid::parse_str(HOST).unwrap()),
            tag: Tag::from("my tag/ü"),
            start: 3,
            count: 10,
        };
        let s = q.to_query();
        assert!(s.contains("tag=my%20tag%2F%C3%BC"), "{s}");
    }

    #[test]
    fn live_messages() {
        let host = HostId(Uuid::parse_str(HOST).unwrap());
        let mut s = Status::new();
        s.set(crate::record::SeriesKey::new(host, Tag::History), 41);
        let push = LiveMessage::Push(s.clone());
        let text = push.to_json();
        assert_eq!(
            text,
            format!(r#"{{"type":"push","hosts":{{"{HOST}":{{"history":41}}}}}}"#)
        );
        assert_eq!(LiveMessage::read(&text), Some(push));
        let status = LiveMessage::Status(Status::new());
        assert_eq!(status.to_json(), r#"{"type":"status","hosts":{}}"#);
        assert_eq!(
            LiveMessage::read(r#"{ "hosts": {}, "type": "status" }"#),
            Some(status)
        );
        for other in [
            LIVE_PONG,
            r#"{"type":"page","id":1,"records":[]}"#,
            "{}",
            "[",
        ] {
            assert_eq!(LiveMessage::read(other), None, "{other}");
        }
    }

    #[test]
    fn transient_kinds() {
        for k in ["network", "server", "rate_limited"] {
            assert!(is_transient(k) && live_retries_after(k), "{k}");
        }
        for k in ["aborted", "busy"] {
            assert!(!is_transient(k) && live_retries_after(k), "{k}");
        }
        for k in ["unauthorized", "wrong_key", "no_session", "refused"] {
            assert!(!is_transient(k) && !live_retries_after(k), "{k}");
        }
    }

    #[test]
    fn live_protocol_header() {
        const V1: Option<&str> = Some(LIVE_PROTOCOL);
        const V2: Option<&str> = Some(LIVE_PAGES_PROTOCOL);
        assert_eq!(
            live_protocols("terrapin.live.v1, terrapin.token.abc_-1"),
            (V1, Some("abc_-1"))
        );
        assert_eq!(
            live_protocols("terrapin.live.v2, terrapin.live.v1, terrapin.token.t"),
            (V2, Some("t"))
        );
        assert_eq!(
            live_protocols("terrapin.live.v1, terrapin.live.v2"),
            (V2, None)
        );
        assert_eq!(live_protocols("terrapin.token.abc"), (None, Some("abc")));
        assert_eq!(live_protocols("terrapin.live.v1"), (V1, None));
        assert_eq!(
            live_protocols("terrapin.live.v1,terrapin.token."),
            (V1, None)
        );
        // Two tokens: neither is used.
        assert_eq!(
            live_protocols("terrapin.live.v1, terrapin.token.a, terrapin.token.b"),
            (V1, None)
        );
        assert_eq!(live_protocols("chat, superchat"), (None, None));
    }

    #[test]
    fn socket_messages() {
        let q = NextQuery {
            host: HOST.parse().map(HostId).unwrap(),
            tag: Tag::from("a b"),
            start: 5,
            count: 100,
        };
        let req: SocketRequest = serde_json::from_str(&socket_next(3, &q)).unwrap();
        assert_eq!((req.kind.as_str(), req.id), (SOCKET_NEXT, 3));
        assert_eq!(req.query, q.to_query());
        let page = socket_page(3, "[1,2]");
        assert_eq!(socket_page_parts(&page), Some((3, "[1,2]")));
        let v: serde_json::Value = serde_json::from_str(&page).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "page", "id": 3, "records": [1, 2]})
        );
        let err = socket_error(Some(4), 400, "bad \"count\"");
        assert_eq!(socket_page_parts(&err), None);
        let v: serde_json::Value = serde_json::from_str(&err).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "error", "id": 4, "status": 400, "reason": "bad \"count\""})
        );
        let v: serde_json::Value = serde_json::from_str(&socket_error(None, 400, "x")).unwrap();
        assert_eq!(v.get("id"), None);
        assert_eq!(socket_page_parts(r#"{"type":"push","hosts":{}}"#), None);
    }

    #[test]
    fn socket_messages_join_lines() {
        let joined = |parts: &[String]| {
            let mut out = Vec::new();
            socket_join(parts.iter().cloned(), |m| out.push(m));
            out
        };
        let small: Vec<String> = (0..3).map(|i| socket_page(i, "[]")).collect();
        let messages = joined(&small);
        assert_eq!(messages.len(), 1);
        assert_eq!(socket_lines(&messages[0]).collect::<Vec<_>>(), small);
        assert!(joined(&[]).is_empty());
        // Past the byte bound a new message starts; a part longer than it goes alone.
        let big = "x".repeat(SOCKET_MESSAGE_BYTES / 2);
        let long = "y".repeat(SOCKET_MESSAGE_BYTES + 1);
        let parts = [
            big.clone(),
            big.clone(),
            "z".into(),
            long.clone(),
            "w".into(),
        ];
        let messages = joined(&parts);
        assert_eq!(messages.len(), 4);
        assert!(messages
            .iter()
            .all(|m| m.len() <= SOCKET_MESSAGE_BYTES || *m == long));
        let lines: Vec<&str> = messages.iter().flat_map(|m| socket_lines(m)).collect();
        assert_eq!(lines, parts.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(socket_lines("a\n\nb\n").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn socket_answers_are_bounded_per_message() {
        let req = |id| format!(r#"{{"type":"next","id":{id},"query":"x"}}"#);
        let text: Vec<String> = (0..100).map(req).collect();
        let text = text.join("\n") + "\nnot json";
        let mut asked = 0;
        let answers: Vec<String> = socket_answers(&text, |_| {
            asked += 1;
            "ok".into()
        })
        .collect();
        assert_eq!(asked, SOCKET_MAX_REQUESTS);
        assert_eq!(answers.len(), 101);
        let refused: serde_json::Value = serde_json::from_str(&answers[64]).unwrap();
        assert_eq!(refused["id"], 64);
        assert_eq!(refused["status"], 413);
        assert!(refused["reason"].as_str().unwrap().contains("at most 64"));
        let last: serde_json::Value = serde_json::from_str(&answers[100]).unwrap();
        assert_eq!((last.get("id"), &last["status"]), (None, &413.into()));
        // past the byte bound, the rest are refused too
        let big = "x".repeat(SOCKET_ANSWER_BYTES);
        let answers: Vec<String> = socket_answers(&text, |_| big.clone()).collect();
        assert_eq!(answers[0].len(), big.len());
        assert!(answers[1].contains("32 MiB") && answers[1].contains(r#""id":1"#));
    }

    #[test]
    fn auth_header() {
        assert_eq!(session_token("Token abc"), Some("abc"));
        assert_eq!(session_token("Bearer abc"), None);
        assert_eq!(session_token("Token "), None);
        assert_eq!(session_token("Tokenabc"), None);
    }

    #[test]
    fn register_validation() {
        let mut r = RegisterRequest {
            email: "a@b.c".into(),
            username: "ok".into(),
            password: "pw".into(),
        };
        assert!(r.validate().is_ok());
        r.email = " ".into();
        assert!(r.validate().is_err());
        for (bad, why) in [
            ("ab.c", "one @"),
            ("@b.c", "one @"),
            ("a@", "one @"),
            ("a@b@c", "more than one @"),
            ("a\0@b.c", "control"),
            ("a\n@b.c", "control"),
            ("a b@c", "space"),
        ] {
            r.email = bad.into();
            let e = r.validate().unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        r.email = format!("{}@b.c", "a".repeat(260));
        assert!(r.validate().unwrap_err().to_string().contains("longer"));
        r.email = " Ünïcode+tag@exämple.org ".into();
        assert!(r.validate().is_ok());
        r.email = "a@b.c".into();
        r.password = String::new();
        assert!(r.validate().is_err());
    }
}
