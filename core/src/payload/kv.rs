//! The `kv` tag (Atuin `crates/atuin-kv/src/store/record.rs`).
//!
//! ```text
//! v0: array(3)  namespace str, key str, value str                     (always a write)
//! v1: array(4)  namespace str, key str, has_value bool, [value str]   (false: deletion)
//! ```
//!
//! In v1 the array header says 4 even for a deletion, where only 3 values follow: that is what
//! Atuin writes and what it expects. Both versions reject trailing bytes. Atuin writes v1.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{MsgpackError, Reader, Writer};
use crate::record::Version;

/// The record version we write for `kv` records.
pub const KV_VERSION: Version = Version::V1;

/// Atuin's declared kv value limit (bytes). Atuin 18.24.4 defines it but enforces it nowhere;
/// neither do our decoders.
pub const KV_VAL_MAX_LEN: usize = 100 * 1024;

/// One `kv` record: set `namespace`/`key` to `value`, or delete it (`value: None`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvRecord {
    pub namespace: String,
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Decoding a kv payload failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("unknown kv version `{0}` (known: v0, v1)")]
    UnknownVersion(String),
    #[error("kv {version} field `{field}`: {source}")]
    Field {
        version: &'static str,
        field: &'static str,
        source: MsgpackError,
    },
    #[error("kv {version} array has {found} entries; expected {expected}")]
    WrongFieldCount {
        version: &'static str,
        found: u32,
        expected: u32,
    },
    #[error("kv {version}: {count} trailing bytes after the last field")]
    TrailingBytes { version: &'static str, count: usize },
}

impl KvRecord {
    /// Encode as v1 (put [`KV_VERSION`] on the record).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.array_len(4);
        w.str(&self.namespace);
        w.str(&self.key);
        w.bool(self.value.is_some());
        if let Some(v) = &self.value {
            w.str(v);
        }
        w.into_vec()
    }

    /// Decode a kv payload stored under record version `version` (v0 or v1).
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<KvRecord, KvError> {
        let (vn, expected) = match version {
            Version::V0 => ("v0", 3),
            Version::V1 => ("v1", 4),
            other => return Err(KvError::UnknownVersion(other.as_str().to_owned())),
        };
        let field = |field: &'static str| {
            move |source: MsgpackError| KvError::Field {
                version: vn,
                field,
                source,
            }
        };
        let mut r = Reader::new(bytes);
        let found = r.array_len().map_err(field("field count"))?;
        if found != expected {
            return Err(KvError::WrongFieldCount {
                version: vn,
                found,
                expected,
            });
        }
        let namespace = r.str().map_err(field("namespace"))?;
        let key = r.str().map_err(field("key"))?;
        // v0 always carries a value; v1 says whether one follows.
        let has_value = expected == 3 || r.bool().map_err(field("has_value"))?;
        let value = if has_value {
            Some(r.str().map_err(field("value"))?)
        } else {
            None
        };
        if !r.remaining().is_empty() {
            return Err(KvError::TrailingBytes {
                version: vn,
                count: r.remaining().len(),
            });
        }
        Ok(KvRecord {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
            value: value.map(ToOwned::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    #[test]
    fn errors_name_version_and_field() {
        assert_eq!(
            KvRecord::decode(&Version::V2, &[0x94]).unwrap_err(),
            KvError::UnknownVersion("v2".into())
        );
        assert_eq!(
            KvRecord::decode(&Version::V0, &[0x94]).unwrap_err(),
            KvError::WrongFieldCount {
                version: "v0",
                found: 4,
                expected: 3
            }
        );
        let e = KvRecord::decode(&Version::V1, &[0x94, 0xa1, b'a', 0xa1, b'b', 0x01]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "kv v1 field `has_value`: expected bool, found marker byte 0x01"
        );
        assert_eq!(
            KvRecord::decode(&Version::V1, &[0x94, 0xa1, b'a', 0xa1, b'b', 0xc2, 0xc0])
                .unwrap_err(),
            KvError::TrailingBytes {
                version: "v1",
                count: 1
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn roundtrip(ns in ".{0,40}", key in ".{0,300}", value in proptest::option::of(".{0,70000}")) {
            let kv = KvRecord { namespace: ns, key, value };
            prop_assert_eq!(KvRecord::decode(&KV_VERSION, &kv.encode()).unwrap(), kv);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            for v in [Version::V0, Version::V1, Version::V2] {
                let _ = KvRecord::decode(&v, &bytes);
            }
        }

        #[test]
        fn mutated_encodings_never_panic(
            ns in "[a-z]{0,5}", key in "[a-z]{0,5}", value in proptest::option::of("[a-z]{0,40}"),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            cut in any::<usize>(),
        ) {
            let mut bytes = KvRecord { namespace: ns, key, value }.encode();
            for (pos, b) in edits {
                let n = bytes.len();
                bytes[pos % n] = b;
            }
            let n = bytes.len();
            bytes.truncate(cut % (n + 1));
            for v in [Version::V0, Version::V1] {
                let _ = KvRecord::decode(&v, &bytes);
            }
        }
    }
}
