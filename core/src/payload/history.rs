//! The `history` tag: Atuin's `History` encodings v0, v1, v2 and the create/delete record.
//!
//! Layout of a History payload (Atuin `crates/atuin-client/src/history.rs`):
//!
//! ```text
//! u16 version (always marker 0xcd)         0, 1 or 2; must equal the record's version
//! array len (fixarray/array16/array32)     v0: exactly 9; v1: 10 or 11; v2: >= 12 (we write 13)
//!  1 id          str   uuid, written in simple (32 hex, no hyphens) form
//!  2 timestamp   u64   ns since the epoch, always marker 0xcf
//!  3 duration    int   ns, any integer marker, fits i64 (written most compact)
//!  4 exit        int   any integer marker, fits i64
//!  5 command     str
//!  6 cwd         str
//!  7 session     str
//!  8 hostname    str   "host:user"
//!  9 deleted_at  u64 (0xcf) or nil
//!    -- v1+ --
//! 10 author      str or nil (nil: the user part of the hostname)
//!    -- v1 only when the array has 11 fields; always in v2 --
//! 11 intent      str or nil
//!    -- v2 --
//! 12 shell       str or nil
//! 13 author_kind int (1 user, 2 agent) or nil; present iff the array has >= 13 fields;
//!                unknown numbers read as nil
//! ```
//!
//! v0 and v1 reject trailing bytes; v2 ignores anything after the fields it knows (so later
//! Atuin versions can append fields).
//!
//! A history *record* payload (`crates/atuin-client/src/history/store.rs`) is `0xcc 0x00` then
//! a msgpack bin holding the History payload (create), or `0xcc 0x01` then the history id as a
//! msgpack str (delete). The record's `version` is the History version (`v2` for what we write).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::{MsgpackError, Reader, Writer};
use crate::record::{DecryptedData, HostId, Record, RecordId, RecordIdx, SeriesKey, Tag, Version};

/// The record version we write for `history` records.
pub const HISTORY_VERSION: Version = Version::V2;

/// The username Atuin assigns when a hostname has no `:` (`CmdOrigin::parse_lenient`).
pub const UNKNOWN_USER: &str = "unknown-user";

/// Fields written by [`History::encode`] (v2 with `author_kind`).
const LATEST_FIELDS: u32 = 13;
/// A v2 array holds `author_kind` iff it has at least this many fields (frozen by Atuin).
const V2_AUTHOR_KIND_FIELD_NUMBER: u32 = 13;

/// Atuin's history id: a UUID, written and displayed in the simple form (32 lowercase hex digits,
/// no hyphens). Parsing accepts any UUID spelling (hyphenated, simple, braced, urn), as Atuin does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HistoryId(pub Uuid);

impl fmt::Display for HistoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.simple(), f)
    }
}

impl FromStr for HistoryId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

impl Serialize for HistoryId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HistoryId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Who wrote a history entry, if whatever captured it said so. Encoded as a small integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    /// A human ran the command (1).
    User = 1,
    /// An AI agent ran the command (2).
    Agent = 2,
}

impl AuthorKind {
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// `None` for numbers this version does not know (Atuin reads those as "not stated").
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::User),
            2 => Some(Self::Agent),
            _ => None,
        }
    }
}

/// One shell history entry, with every field Atuin 18.24 has (History v2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Client-generated id; deletes refer to it.
    pub id: HistoryId,
    /// When the command ran, ns since the Unix epoch.
    pub timestamp: u64,
    /// How long it ran, ns (-1 when unknown).
    pub duration: i64,
    /// Exit code (-1 when unknown).
    pub exit: i64,
    pub command: String,
    pub cwd: String,
    pub session: String,
    /// `"host:user"`. Decoding an old colonless value yields `"<value>:unknown-user"`, as Atuin.
    pub hostname: String,
    /// Soft-delete time, ns since the epoch.
    #[serde(default)]
    pub deleted_at: Option<u64>,
    /// Who ran it; defaults to the user part of `hostname` for entries that lack it.
    pub author: String,
    /// Why it was run (v1 with 11 fields, v2).
    #[serde(default)]
    pub intent: Option<String>,
    /// The shell (v2).
    #[serde(default)]
    pub shell: Option<String>,
    /// Human or agent, when stated (v2 with 13+ fields).
    #[serde(default)]
    pub author_kind: Option<AuthorKind>,
}

/// Which part of a history payload failed, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryField {
    VersionHeader,
    FieldCount,
    Id,
    Timestamp,
    Duration,
    Exit,
    Command,
    Cwd,
    Session,
    Hostname,
    DeletedAt,
    Author,
    Intent,
    Shell,
    AuthorKind,
}

impl HistoryField {
    pub const fn name(self) -> &'static str {
        match self {
            Self::VersionHeader => "version header",
            Self::FieldCount => "field count",
            Self::Id => "id",
            Self::Timestamp => "timestamp",
            Self::Duration => "duration",
            Self::Exit => "exit",
            Self::Command => "command",
            Self::Cwd => "cwd",
            Self::Session => "session",
            Self::Hostname => "hostname",
            Self::DeletedAt => "deleted_at",
            Self::Author => "author",
            Self::Intent => "intent",
            Self::Shell => "shell",
            Self::AuthorKind => "author_kind",
        }
    }
}

impl fmt::Display for HistoryField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decoding a history payload or history record failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("unknown history version `{0}` (known: v0, v1, v2)")]
    UnknownVersion(String),
    #[error("history {version} field `{field}`: {source}")]
    Field {
        version: &'static str,
        field: HistoryField,
        source: MsgpackError,
    },
    #[error("record version is history {expected} but the payload header says v{found}")]
    VersionMismatch { expected: &'static str, found: u16 },
    #[error("history {version} has {fields} fields; expected {expected}")]
    WrongFieldCount {
        version: &'static str,
        fields: u32,
        expected: &'static str,
    },
    #[error("history {version}: {count} trailing bytes after the last field")]
    TrailingBytes { version: &'static str, count: usize },
    #[error("history {version} field `id`: `{value}` is not a UUID")]
    MalformedId {
        version: &'static str,
        value: String,
    },
    #[error("history record kind byte: {0}")]
    RecordKind(MsgpackError),
    #[error("unknown history record kind {0} (0 = create, 1 = delete)")]
    UnknownRecordKind(u8),
    #[error("history create record: bin header: {0}")]
    CreateBin(MsgpackError),
    #[error("history delete record: history id: {0}")]
    DeleteId(MsgpackError),
    #[error("history delete record: `{0}` is not a UUID")]
    MalformedDeleteId(String),
    #[error("history delete record: {0} trailing bytes after the id")]
    DeleteTrailingBytes(usize),
}

/// The History encodings Atuin knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum HVersion {
    V0 = 0,
    V1 = 1,
    V2 = 2,
}

impl HVersion {
    fn from_record(v: &Version) -> Result<Self, HistoryError> {
        match v {
            Version::V0 => Ok(Self::V0),
            Version::V1 => Ok(Self::V1),
            Version::V2 => Ok(Self::V2),
            Version::Other(s) => Err(HistoryError::UnknownVersion(s.clone())),
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::V0 => "v0",
            Self::V1 => "v1",
            Self::V2 => "v2",
        }
    }

    const fn min_fields(self) -> u32 {
        match self {
            Self::V0 => 9,
            Self::V1 => 10,
            Self::V2 => 12,
        }
    }

    const fn max_fields(self) -> Option<u32> {
        match self {
            Self::V0 => Some(9),
            Self::V1 => Some(11),
            Self::V2 => None,
        }
    }

    const fn expected_fields(self) -> &'static str {
        match self {
            Self::V0 => "exactly 9",
            Self::V1 => "10 or 11",
            Self::V2 => "at least 12",
        }
    }
}

/// Split `"host:user"` at the first `:`; `None` when there is no `:`.
fn split_origin(hostname: &str) -> Option<(&str, &str)> {
    hostname.split_once(':')
}

/// The host part of a `hostname` ("host:user": before the first `:`; the whole string if none).
pub fn host_part(hostname: &str) -> &str {
    split_origin(hostname).map_or(hostname, |(h, _)| h)
}

impl History {
    /// The host part of [`Self::hostname`] (before the first `:`; the whole string if none).
    pub fn host(&self) -> &str {
        host_part(&self.hostname)
    }

    /// The user part of [`Self::hostname`] (after the first `:`; `""` if none).
    pub fn user(&self) -> &str {
        split_origin(&self.hostname).map_or("", |(_, u)| u)
    }

    /// Whether the entry carries a soft-delete time.
    pub fn is_soft_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Encode in the latest format (History v2 with 13 fields); put it on a record with
    /// version [`HISTORY_VERSION`].
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode_into(&mut w);
        w.into_vec()
    }

    fn encode_into(&self, w: &mut Writer) {
        w.u16_strict(HVersion::V2 as u16);
        w.array_len(LATEST_FIELDS);
        w.str(&self.id.to_string());
        w.u64_strict(self.timestamp);
        w.sint(self.duration);
        w.sint(self.exit);
        w.str(&self.command);
        w.str(&self.cwd);
        w.str(&self.session);
        w.str(&self.hostname);
        match self.deleted_at {
            Some(t) => w.u64_strict(t),
            None => w.nil(),
        }
        w.str(&self.author);
        w.opt_str(self.intent.as_deref());
        w.opt_str(self.shell.as_deref());
        match self.author_kind {
            Some(k) => w.uint8(k.as_u8()),
            None => w.nil(),
        }
    }

    /// Decode a History payload written as `version` (the record's version: v0, v1 or v2).
    /// Fields an old version lacks get Atuin's defaults: `author` = the user part of the
    /// hostname, `intent`/`shell`/`author_kind` = `None`.
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<History, HistoryError> {
        let v = HVersion::from_record(version)?;
        let vn = v.name();
        let field = |field: HistoryField| {
            move |source: MsgpackError| HistoryError::Field {
                version: vn,
                field,
                source,
            }
        };
        let mut r = Reader::new(bytes);

        let found = r.u16_strict().map_err(field(HistoryField::VersionHeader))?;
        if found != v as u16 {
            return Err(HistoryError::VersionMismatch {
                expected: vn,
                found,
            });
        }

        let nfields = r.array_len().map_err(field(HistoryField::FieldCount))?;
        if nfields < v.min_fields() || v.max_fields().is_some_and(|max| nfields > max) {
            return Err(HistoryError::WrongFieldCount {
                version: vn,
                fields: nfields,
                expected: v.expected_fields(),
            });
        }

        let id = r.str().map_err(field(HistoryField::Id))?;
        let timestamp = r.u64_strict().map_err(field(HistoryField::Timestamp))?;
        let duration = r.i64_any().map_err(field(HistoryField::Duration))?;
        let exit = r.i64_any().map_err(field(HistoryField::Exit))?;
        let command = r.str().map_err(field(HistoryField::Command))?;
        let cwd = r.str().map_err(field(HistoryField::Cwd))?;
        let session = r.str().map_err(field(HistoryField::Session))?;
        let hostname = r.str().map_err(field(HistoryField::Hostname))?;
        let deleted_at = r
            .optional(Reader::u64_strict)
            .map_err(field(HistoryField::DeletedAt))?;

        let author = if v >= HVersion::V1 {
            r.optional(Reader::str)
                .map_err(field(HistoryField::Author))?
        } else {
            None
        };

        let has_intent = match v {
            HVersion::V0 => false,
            HVersion::V1 => nfields > v.min_fields(),
            HVersion::V2 => true,
        };
        let intent = if has_intent {
            r.optional(Reader::str)
                .map_err(field(HistoryField::Intent))?
        } else {
            None
        };

        let shell = if v >= HVersion::V2 {
            r.optional(Reader::str)
                .map_err(field(HistoryField::Shell))?
        } else {
            None
        };

        let author_kind = if v >= HVersion::V2 && nfields >= V2_AUTHOR_KIND_FIELD_NUMBER {
            r.optional(Reader::u8_any)
                .map_err(field(HistoryField::AuthorKind))?
                .and_then(AuthorKind::from_u8)
        } else {
            None
        };

        if v < HVersion::V2 && !r.remaining().is_empty() {
            return Err(HistoryError::TrailingBytes {
                version: vn,
                count: r.remaining().len(),
            });
        }

        let id = id.parse().map_err(|_| HistoryError::MalformedId {
            version: vn,
            value: id.to_owned(),
        })?;

        // Atuin's `CmdOrigin::parse_lenient`: a colonless hostname gets the placeholder user.
        let hostname = if hostname.contains(':') {
            hostname.to_owned()
        } else {
            format!("{hostname}:{UNKNOWN_USER}")
        };
        let author = match author {
            Some(a) => a.to_owned(),
            None => split_origin(&hostname).map_or("", |(_, u)| u).to_owned(),
        };

        Ok(History {
            id,
            timestamp,
            duration,
            exit,
            command: command.to_owned(),
            cwd: cwd.to_owned(),
            session: session.to_owned(),
            hostname,
            deleted_at,
            author,
            intent: intent.map(ToOwned::to_owned),
            shell: shell.map(ToOwned::to_owned),
            author_kind,
        })
    }
}

/// The payload of one `history` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum HistoryRecord {
    /// Kind byte 0: a new entry.
    Create(History),
    /// Kind byte 1: delete the entry with this id (whichever host created it).
    Delete(HistoryId),
}

impl HistoryRecord {
    /// This entry as the record at `idx` of `host`'s history series, in the current version.
    pub fn to_record(
        &self,
        host: HostId,
        idx: RecordIdx,
        id: RecordId,
        timestamp: u64,
    ) -> Record<DecryptedData> {
        Record::at(
            &SeriesKey::new(host, Tag::History),
            idx,
            id,
            timestamp,
            HISTORY_VERSION,
            self.encode(),
        )
    }

    /// Encode the record payload; the record's version is [`HISTORY_VERSION`].
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Create(h) => {
                w.u8_strict(0);
                w.bin(&h.encode());
            }
            Self::Delete(id) => {
                w.u8_strict(1);
                w.str(&id.to_string());
            }
        }
        w.into_vec()
    }

    /// Decode a history record payload stored under record version `version`.
    ///
    /// As Atuin: the bin length of a create is read but not checked against the rest of the
    /// payload (the History is decoded from everything after the bin header), and the version
    /// must be a known history version even for deletes.
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<HistoryRecord, HistoryError> {
        HVersion::from_record(version)?;
        let mut r = Reader::new(bytes);
        match r.u8_strict().map_err(HistoryError::RecordKind)? {
            0 => {
                r.bin_len().map_err(HistoryError::CreateBin)?;
                History::decode(version, r.remaining()).map(Self::Create)
            }
            1 => {
                let id = r.str().map_err(HistoryError::DeleteId)?;
                if !r.remaining().is_empty() {
                    return Err(HistoryError::DeleteTrailingBytes(r.remaining().len()));
                }
                id.parse()
                    .map(Self::Delete)
                    .map_err(|_| HistoryError::MalformedDeleteId(id.to_owned()))
            }
            n => Err(HistoryError::UnknownRecordKind(n)),
        }
    }

    /// The history id this record creates or deletes.
    pub fn history_id(&self) -> HistoryId {
        match self {
            Self::Create(h) => h.id,
            Self::Delete(id) => *id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn sample() -> History {
        crate::sample::history(0)
    }

    #[test]
    fn wrong_version_errors_name_the_version() {
        let bytes = sample().encode();
        let e = History::decode(&Version::V1, &bytes).unwrap_err();
        assert_eq!(
            e,
            HistoryError::VersionMismatch {
                expected: "v1",
                found: 2
            }
        );
        let e = History::decode(&Version::from("v3"), &bytes).unwrap_err();
        assert_eq!(e, HistoryError::UnknownVersion("v3".into()));
    }

    #[test]
    fn field_errors_name_the_field() {
        let mut bytes = sample().encode();
        // timestamp marker 0xcf -> 0xd3 (i64)
        let pos = bytes.iter().position(|b| *b == 0xcf).unwrap();
        bytes[pos] = 0xd3;
        let e = History::decode(&Version::V2, &bytes).unwrap_err();
        assert_eq!(
            e,
            HistoryError::Field {
                version: "v2",
                field: HistoryField::Timestamp,
                source: MsgpackError::TypeMismatch {
                    expected: "u64 (marker 0xcf)",
                    found: 0xd3
                }
            }
        );
        assert_eq!(
            e.to_string(),
            "history v2 field `timestamp`: expected u64 (marker 0xcf), found marker byte 0xd3"
        );
    }

    #[test]
    fn truncated_is_eof_in_the_right_field() {
        let bytes = sample().encode();
        let e = History::decode(&Version::V2, &bytes[..bytes.len() - 1]).unwrap_err();
        assert!(matches!(
            e,
            HistoryError::Field {
                field: HistoryField::AuthorKind,
                source: MsgpackError::Eof,
                ..
            }
        ));
    }

    #[test]
    fn colonless_hostname_gets_placeholder_user() {
        let mut h = sample();
        h.hostname = "oldbox".into();
        let back = History::decode(&Version::V2, &h.encode()).unwrap();
        assert_eq!(back.hostname, "oldbox:unknown-user");
        assert_eq!(back.host(), "oldbox");
        assert_eq!(back.user(), "unknown-user");
    }

    #[test]
    fn v2_ignores_appended_fields_but_v1_rejects_trailing() {
        let h = sample();
        let mut bytes = h.encode();
        bytes[3] = 0x90 | 14;
        bytes.push(0xa1);
        bytes.push(b'x');
        assert_eq!(History::decode(&Version::V2, &bytes).unwrap(), h);
    }

    #[test]
    fn unknown_author_kind_reads_as_none_but_out_of_range_errors() {
        let mut h = sample();
        h.author_kind = Some(AuthorKind::Agent);
        let mut bytes = h.encode();
        assert_eq!(*bytes.last().unwrap(), 2);
        *bytes.last_mut().unwrap() = 7;
        let back = History::decode(&Version::V2, &bytes).unwrap();
        assert_eq!(back.author_kind, None);
        bytes.pop();
        bytes.extend_from_slice(&[0xcd, 0x01, 0x00]);
        assert!(matches!(
            History::decode(&Version::V2, &bytes),
            Err(HistoryError::Field {
                field: HistoryField::AuthorKind,
                source: MsgpackError::OutOfRange { .. },
                ..
            })
        ));
    }

    #[test]
    fn delete_accepts_hyphenated_id_and_normalises() {
        let mut bytes = vec![0xcc, 0x01, 0xd9, 36];
        bytes.extend_from_slice(b"018cd4fe-8175-7cd2-aee6-5cd7861f9c81");
        let r = HistoryRecord::decode(&Version::V2, &bytes).unwrap();
        assert_eq!(
            r.history_id().to_string(),
            "018cd4fe81757cd2aee65cd7861f9c81"
        );
    }

    #[test]
    fn record_errors() {
        assert_eq!(
            HistoryRecord::decode(&Version::V2, &[0x00]).unwrap_err(),
            HistoryError::RecordKind(MsgpackError::TypeMismatch {
                expected: "u8 (marker 0xcc)",
                found: 0
            })
        );
        assert_eq!(
            HistoryRecord::decode(&Version::V2, &[0xcc, 0x05]).unwrap_err(),
            HistoryError::UnknownRecordKind(5)
        );
        assert_eq!(
            HistoryRecord::decode(&Version::V2, &[0xcc, 0x01, 0xa1, b'x', 0x00]).unwrap_err(),
            HistoryError::DeleteTrailingBytes(1)
        );
        assert_eq!(
            HistoryRecord::decode(&Version::V2, &[0xcc, 0x01, 0xa1, b'x']).unwrap_err(),
            HistoryError::MalformedDeleteId("x".into())
        );
    }

    #[test]
    fn json_shape() {
        let j = serde_json::to_value(sample()).unwrap();
        assert_eq!(j["id"], "00000000000000000000000000000001");
        assert_eq!(j["hostname"], "laptop:user");
        assert_eq!(j["author_kind"], serde_json::Value::Null);
        let mut h = sample();
        h.author_kind = Some(AuthorKind::Agent);
        let j = serde_json::to_string(&h).unwrap();
        assert!(j.contains("\"author_kind\":\"agent\""));
        assert_eq!(serde_json::from_str::<History>(&j).unwrap(), h);
    }

    fn arb_history() -> impl Strategy<Value = History> {
        (
            (any::<u128>(), any::<u64>(), any::<i64>(), any::<i64>()),
            ".{0,40}",
            ".{0,40}",
            ".{0,8}",
            "[a-z:]{0,12}",
            proptest::option::of(any::<u64>()),
            ".{0,10}",
            proptest::option::of(".{0,300}"),
            proptest::option::of("[a-z]{0,6}"),
            proptest::option::of(prop_oneof![Just(AuthorKind::User), Just(AuthorKind::Agent)]),
        )
            .prop_map(
                |((id, ts, dur, exit), cmd, cwd, sess, host, del, author, intent, shell, ak)| {
                    History {
                        id: HistoryId(Uuid::from_u128(id)),
                        timestamp: ts,
                        duration: dur,
                        exit,
                        command: cmd,
                        cwd,
                        session: sess,
                        hostname: host,
                        deleted_at: del,
                        author,
                        intent,
                        shell,
                        author_kind: ak,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn roundtrip(h in arb_history()) {
            let bytes = h.encode();
            let back = History::decode(&Version::V2, &bytes).unwrap();
            let mut want = h.clone();
            if !want.hostname.contains(':') {
                want.hostname = format!("{}:{UNKNOWN_USER}", want.hostname);
            }
            prop_assert_eq!(&back, &want);
            for rec in [HistoryRecord::Create(h.clone()), HistoryRecord::Delete(h.id)] {
                let back = HistoryRecord::decode(&Version::V2, &rec.encode()).unwrap();
                prop_assert_eq!(back.history_id(), h.id);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            for v in ["v0", "v1", "v2", "v9"] {
                let v = Version::from(v);
                let _ = History::decode(&v, &bytes);
                let _ = HistoryRecord::decode(&v, &bytes);
            }
        }

        #[test]
        fn mutated_encodings_never_panic(
            h in arb_history(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            cut in any::<usize>(),
        ) {
            let mut bytes = HistoryRecord::Create(h).encode();
            for (pos, b) in edits {
                let n = bytes.len();
                bytes[pos % n] = b;
            }
            let n = bytes.len();
            bytes.truncate(cut % (n + 1));
            for v in [Version::V0, Version::V1, Version::V2] {
                let _ = HistoryRecord::decode(&v, &bytes);
                let _ = History::decode(&v, bytes.get(4..).unwrap_or_default());
            }
        }
    }
}
