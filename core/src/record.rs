//! The record model: one encrypted entry of an append-only series `(host, tag)`.
//! Serde JSON matches Atuin's wire format exactly (docs/PROTOCOL.md §1).

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

macro_rules! uuid_newtype {
    ($name:ident) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_newtype!(RecordId);
uuid_newtype!(HostId);

/// Position of a record inside its series; 0, 1, 2, … with no gaps.
pub type RecordIdx = u64;

/// The host that owns a series. `name` is carried for the wire only (Atuin sends "").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub id: HostId,
    #[serde(default)]
    pub name: String,
}

impl Host {
    pub fn new(id: HostId) -> Self {
        Self {
            id,
            name: String::new(),
        }
    }
}

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)*
            /// Any other string, kept untouched.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $s,)*
                    Self::Other(s) => s.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($s => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($s => Self::$variant,)*
                    _ => Self::Other(s),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::from)
            }
        }
    };
}

open_enum!(
    /// What a record stores. Unknown tags are stored and synced untouched.
    Tag {
        History => "history",
        Kv => "kv",
        Script => "script",
        DotfilesVar => "dotfiles-var",
        ConfigShellAlias => "config-shell-alias",
        Packfile => "packfile",
        AiSession => "ai-session",
    }
);

open_enum!(
    /// Payload format version for a tag.
    Version {
        V0 => "v0",
        V1 => "v1",
        V2 => "v2",
    }
);

impl Tag {
    /// Packfile manifests are stored without encryption (as Atuin 18.24 does); all else is
    /// encrypted with the user's key.
    pub fn is_plaintext(&self) -> bool {
        matches!(self, Tag::Packfile)
    }
}

/// The identity of a series: one host's records of one tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub host: HostId,
    pub tag: Tag,
}

impl SeriesKey {
    pub fn new(host: HostId, tag: Tag) -> Self {
        Self { host, tag }
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.tag)
    }
}

/// Ciphertext as on the wire: the PASETO token and the wrapped content key (JSON string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedData {
    pub data: String,
    pub content_encryption_key: String,
}

/// Plaintext payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecryptedData(pub alloc::vec::Vec<u8>);

/// A record as stored and sent: encrypted (the server and the sync engine see only these).
pub type EncRecord = Record<EncryptedData>;

/// One entry of a series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record<D> {
    pub id: RecordId,
    pub idx: RecordIdx,
    pub host: Host,
    /// Creation time, nanoseconds since the Unix epoch.
    pub timestamp: u64,
    pub version: Version,
    pub tag: Tag,
    pub data: D,
}

impl Record<DecryptedData> {
    /// A new record at `idx` of `series`: the one constructor every writer uses (the browser's
    /// own writes, imports, tests and benchmarks).
    pub fn at(
        series: &SeriesKey,
        idx: RecordIdx,
        id: RecordId,
        timestamp: u64,
        version: Version,
        payload: alloc::vec::Vec<u8>,
    ) -> Self {
        Self {
            id,
            idx,
            host: Host::new(series.host),
            timestamp,
            version,
            tag: series.tag.clone(),
            data: DecryptedData(payload),
        }
    }
}

impl<D> Record<D> {
    pub fn series(&self) -> SeriesKey {
        SeriesKey::new(self.host.id, self.tag.clone())
    }

    pub fn map_data<N>(self, f: impl FnOnce(D) -> N) -> Record<N> {
        Record {
            id: self.id,
            idx: self.idx,
            host: self.host,
            timestamp: self.timestamp,
            version: self.version,
            tag: self.tag,
            data: f(self.data),
        }
    }

    pub fn with_data<N>(&self, data: N) -> Record<N> {
        Record {
            id: self.id,
            idx: self.idx,
            host: self.host.clone(),
            timestamp: self.timestamp,
            version: self.version.clone(),
            tag: self.tag.clone(),
            data,
        }
    }
}

/// A UUIDv7 from a millisecond timestamp and 10 random bytes.
pub fn uuid_v7(unix_millis: u64, random: [u8; 10]) -> Uuid {
    uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid()
}

/// The series of `tag` on host `host` (a small number as its uuid), for tests.
#[cfg(test)]
pub(crate) fn series(host: u128, tag: &str) -> SeriesKey {
    SeriesKey::new(HostId(Uuid::from_u128(host)), Tag::from(tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn record_json_matches_wire() {
        let r = Record {
            id: RecordId(Uuid::from_u128(1)),
            idx: 41,
            host: Host::new(HostId(Uuid::from_u128(2))),
            timestamp: 1_700_000_000_000_000_000,
            version: Version::V1,
            tag: Tag::History,
            data: EncryptedData {
                data: "v4.local.x".into(),
                content_encryption_key: "{}".into(),
            },
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"id":"00000000-0000-0000-0000-000000000001","idx":41,"host":{"id":"00000000-0000-0000-0000-000000000002","name":""},"timestamp":1700000000000000000,"version":"v1","tag":"history","data":{"data":"v4.local.x","content_encryption_key":"{}"}}"#
        );
        let back: Record<EncryptedData> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unknown_tag_and_version_round_trip() {
        for s in ["my-plugin", "History", ""] {
            let t = Tag::from(s);
            assert_eq!(t, Tag::Other(s.into()));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                alloc::format!("\"{s}\"")
            );
        }
        assert_eq!(Tag::from("dotfiles-var"), Tag::DotfilesVar);
        assert_eq!(Version::from("v9"), Version::Other("v9".into()));
        let v: Version = serde_json::from_str("\"v2\"").unwrap();
        assert_eq!(v, Version::V2);
    }

    #[test]
    fn bad_uuid_is_rejected() {
        let err = serde_json::from_str::<HostId>("\"not-a-uuid\"");
        assert!(err.is_err());
    }

    #[test]
    fn uuid_v7_has_version_7() {
        let u = uuid_v7(1_700_000_000_000, [7; 10]);
        assert_eq!(u.get_version_num(), 7);
        let _ = vec![0u8];
    }
}
