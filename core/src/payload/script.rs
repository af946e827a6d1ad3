//! The `script` tag (atuin-scripts 18.24.4: `src/store/record.rs`, `src/store/script.rs`).
//!
//! Only version `v0` exists. A record payload is a kind byte, then the body:
//!
//! ```text
//! 0xcc 0x00  bin(Script)    create
//! 0xcc 0x02  bin(Script)    update (the whole script, every field)
//! 0xcc 0x01  str(id)        delete (the script id, hyphenated UUID)
//!
//! Script: array(6)
//!   1 id           str    UUID, hyphenated (`0195c825-a35f-7982-…`)
//!   2 name         str
//!   3 description  str    "" when none
//!   4 shebang      str    "" when none (the interpreter line, without `#!`)
//!   5 tags         array of str, sorted (byte order) by the writer
//!   6 script       str    the body
//! ```
//!
//! Reading follows Atuin: the kind byte must use the `0xcc` marker; the bin length of a create
//! or update is read but not checked, the Script being decoded from everything after the bin
//! header, and it must end exactly there (trailing bytes are rejected); the array of 6 may use
//! any array marker; ids are parsed by any UUID spelling. A delete's id may be followed by
//! anything (Atuin never looks). Where Atuin panics on a malformed Script (its reader unwraps),
//! we return an error naming the field.
//!
//! Atuin 18.24.4 declares a script size limit of 20000 bytes but enforces it nowhere; neither
//! do we.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{MsgpackError, Reader, Writer};
use crate::record::Version;

/// The record version of `script` records (the only one).
pub const SCRIPT_VERSION: Version = Version::V0;

/// One script, every field the record carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The interpreter (`bash`, `/usr/bin/env python3`); empty for none.
    pub shebang: String,
    /// As read from the record (writers sort them; [`Script::encode`] does).
    pub tags: Vec<String>,
    /// The script body.
    pub script: String,
}

/// One `script` record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptRecord {
    /// Kind 0.
    Create(Script),
    /// Kind 2: replaces every field of the script with this id.
    Update(Script),
    /// Kind 1: the id of the script to delete.
    Delete(Uuid),
}

/// Decoding a script payload failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("unknown script version `{0}` (known: v0)")]
    UnknownVersion(String),
    #[error("script v0 field `{field}`: {source}")]
    Field {
        field: &'static str,
        source: MsgpackError,
    },
    #[error("script v0: unknown record kind {0} (known: 0 create, 1 delete, 2 update)")]
    UnknownKind(u8),
    #[error("script v0 array has {0} entries; expected 6")]
    WrongFieldCount(u32),
    #[error("script v0 field `{field}`: `{value}` is not a UUID")]
    MalformedId { field: &'static str, value: String },
    #[error("script v0: {0} trailing bytes after the last field")]
    TrailingBytes(usize),
}

fn field(field: &'static str) -> impl Fn(MsgpackError) -> ScriptError {
    move |source| ScriptError::Field { field, source }
}

fn parse_id(field: &'static str, s: &str) -> Result<Uuid, ScriptError> {
    Uuid::parse_str(s).map_err(|_| ScriptError::MalformedId {
        field,
        value: s.to_owned(),
    })
}

impl Script {
    /// The Script body (array of 6), tags sorted, as Atuin writes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut tags: Vec<&str> = self.tags.iter().map(String::as_str).collect();
        crate::sort::sort_cold(&mut tags);
        let mut w = Writer::new();
        w.array_len(6);
        w.str(
            self.id
                .hyphenated()
                .encode_lower(&mut Uuid::encode_buffer()),
        );
        w.str(&self.name);
        w.str(&self.description);
        w.str(&self.shebang);
        w.array_len(tags.len() as u32);
        for t in tags {
            w.str(t);
        }
        w.str(&self.script);
        w.into_vec()
    }

    /// Decode a Script body; it must end exactly at the end of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Script, ScriptError> {
        let mut r = Reader::new(bytes);
        let found = r.array_len().map_err(field("field count"))?;
        if found != 6 {
            return Err(ScriptError::WrongFieldCount(found));
        }
        let id = parse_id("id", r.str().map_err(field("id"))?)?;
        let name = r.str().map_err(field("name"))?.to_owned();
        let description = r.str().map_err(field("description"))?.to_owned();
        let shebang = r.str().map_err(field("shebang"))?.to_owned();
        let n = r.array_len().map_err(field("tags"))?;
        // Each tag takes at least one byte: no allocation beyond what the input can hold.
        let mut tags = Vec::with_capacity((n as usize).min(r.remaining().len()));
        for _ in 0..n {
            tags.push(r.str().map_err(field("tag"))?.to_owned());
        }
        let script = r.str().map_err(field("script"))?.to_owned();
        if !r.remaining().is_empty() {
            return Err(ScriptError::TrailingBytes(r.remaining().len()));
        }
        Ok(Script {
            id,
            name,
            description,
            shebang,
            tags,
            script,
        })
    }
}

impl ScriptRecord {
    /// The script id this record creates, updates or deletes.
    pub fn script_id(&self) -> Uuid {
        match self {
            Self::Create(s) | Self::Update(s) => s.id,
            Self::Delete(id) => *id,
        }
    }

    /// Encode as v0 (the only version).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Create(s) | Self::Update(s) => {
                w.u8_strict(if matches!(self, Self::Create(_)) {
                    0
                } else {
                    2
                });
                w.bin(&s.encode());
            }
            Self::Delete(id) => {
                w.u8_strict(1);
                w.str(id.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
            }
        }
        w.into_vec()
    }

    /// Decode a script payload stored under record version `version` (v0).
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<ScriptRecord, ScriptError> {
        if *version != Version::V0 {
            return Err(ScriptError::UnknownVersion(version.as_str().to_owned()));
        }
        let mut r = Reader::new(bytes);
        match r.u8_strict().map_err(field("record kind"))? {
            kind @ (0 | 2) => {
                r.bin_len().map_err(field("script bin"))?;
                let s = Script::decode(r.remaining())?;
                Ok(if kind == 0 {
                    Self::Create(s)
                } else {
                    Self::Update(s)
                })
            }
            1 => {
                let id = r.str().map_err(field("deleted id"))?;
                parse_id("deleted id", id).map(Self::Delete)
            }
            kind => Err(ScriptError::UnknownKind(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::mutations;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;

    const ID: &str = "0195c825a35f7982bdb016168881cbc6";

    fn test_script(tags: &[&str]) -> Script {
        Script {
            id: Uuid::parse_str(ID).unwrap(),
            name: "test".into(),
            description: "test".into(),
            shebang: "test".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            script: "test".into(),
        }
    }

    /// Atuin's snapshots (`test_serialize_create`, `_delete`, `_update`, `script::test_serialize`).
    #[test]
    fn atuin_snapshots() {
        let body: &[u8] = &[
            150, 217, 36, 48, 49, 57, 53, 99, 56, 50, 53, 45, 97, 51, 53, 102, 45, 55, 57, 56, 50,
            45, 98, 100, 98, 48, 45, 49, 54, 49, 54, 56, 56, 56, 49, 99, 98, 99, 54, 164, 116, 101,
            115, 116, 164, 116, 101, 115, 116, 164, 116, 101, 115, 116, 145, 164, 116, 101, 115,
            116, 164, 116, 101, 115, 116,
        ];
        assert_eq!(test_script(&["test"]).encode(), body);
        let mut create = vec![204, 0, 196, 65];
        create.extend_from_slice(body);
        let rec = ScriptRecord::Create(test_script(&["test"]));
        assert_eq!(rec.encode(), create);
        assert_eq!(ScriptRecord::decode(&Version::V0, &create).unwrap(), rec);

        let update: &[u8] = &[
            204, 2, 196, 71, 150, 217, 36, 48, 49, 57, 53, 99, 56, 50, 53, 45, 97, 51, 53, 102, 45,
            55, 57, 56, 50, 45, 98, 100, 98, 48, 45, 49, 54, 49, 54, 56, 56, 56, 49, 99, 98, 99,
            54, 164, 116, 101, 115, 116, 164, 116, 101, 115, 116, 164, 116, 101, 115, 116, 146,
            164, 116, 101, 115, 116, 165, 116, 101, 115, 116, 50, 164, 116, 101, 115, 116,
        ];
        // Tags are sorted on the way out.
        let rec = ScriptRecord::Update(test_script(&["test2", "test"]));
        assert_eq!(rec.encode(), update);
        assert_eq!(
            ScriptRecord::decode(&Version::V0, update).unwrap(),
            ScriptRecord::Update(test_script(&["test", "test2"]))
        );

        let delete: &[u8] = &[
            204, 1, 217, 36, 48, 49, 57, 53, 99, 56, 50, 53, 45, 97, 51, 53, 102, 45, 55, 57, 56,
            50, 45, 98, 100, 98, 48, 45, 49, 54, 49, 54, 56, 56, 56, 49, 99, 98, 99, 54,
        ];
        let rec = ScriptRecord::Delete(Uuid::parse_str(ID).unwrap());
        assert_eq!(rec.encode(), delete);
        assert_eq!(ScriptRecord::decode(&Version::V0, delete).unwrap(), rec);
    }

    #[test]
    fn lenient_where_atuin_is() {
        // The bin length is not checked; a delete's trailing bytes are ignored; any UUID
        // spelling is read.
        let mut bytes = ScriptRecord::Create(test_script(&[])).encode();
        bytes[3] = 1;
        assert!(ScriptRecord::decode(&Version::V0, &bytes).is_ok());
        let mut del = vec![0xcc, 1, 0xd9, 32];
        del.extend_from_slice(ID.as_bytes());
        del.push(0xc0);
        assert_eq!(
            ScriptRecord::decode(&Version::V0, &del).unwrap(),
            ScriptRecord::Delete(Uuid::parse_str(ID).unwrap())
        );
    }

    #[test]
    fn errors_name_version_and_field() {
        let e = |b: &[u8]| {
            ScriptRecord::decode(&Version::V0, b)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            ScriptRecord::decode(&Version::V1, &[]).unwrap_err(),
            ScriptError::UnknownVersion("v1".into())
        );
        assert_eq!(
            e(&[0x00]),
            "script v0 field `record kind`: expected u8 (marker 0xcc), found marker byte 0x00"
        );
        assert_eq!(
            e(&[0xcc, 7]),
            "script v0: unknown record kind 7 (known: 0 create, 1 delete, 2 update)"
        );
        assert_eq!(
            e(&[0xcc, 0, 0xc4, 1, 0x95]),
            "script v0 array has 5 entries; expected 6"
        );
        assert_eq!(
            e(&[0xcc, 0, 0xc4, 3, 0x96, 0xa1, b'x']),
            "script v0 field `id`: `x` is not a UUID"
        );
        assert_eq!(
            e(&[0xcc, 1, 0xa1, b'x']),
            "script v0 field `deleted id`: `x` is not a UUID"
        );
        let mut trailing = ScriptRecord::Update(test_script(&["a"])).encode();
        trailing.push(0xc0);
        assert_eq!(
            e(&trailing),
            "script v0: 1 trailing bytes after the last field"
        );
        let mut bad_tag = ScriptRecord::Update(test_script(&["a"])).encode();
        let at = bad_tag.len() - 7; // the tag `a`: 0xa1 'a', then the script 0xa4 "test"
        bad_tag[at] = 0x01;
        assert_eq!(
            e(&bad_tag),
            "script v0 field `tag`: expected str, found marker byte 0x01"
        );
    }

    fn arb_script() -> impl Strategy<Value = Script> {
        (
            any::<u128>(),
            ".{0,20}",
            ".{0,40}",
            ".{0,20}",
            proptest::collection::vec(".{0,10}", 0..5),
            ".{0,300}",
        )
            .prop_map(|(id, name, description, shebang, mut tags, script)| {
                tags.sort();
                Script {
                    id: Uuid::from_u128(id),
                    name,
                    description,
                    shebang,
                    tags,
                    script,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn roundtrip(s in arb_script()) {
            for rec in [
                ScriptRecord::Create(s.clone()),
                ScriptRecord::Update(s.clone()),
                ScriptRecord::Delete(s.id),
            ] {
                let bytes = rec.encode();
                prop_assert_eq!(ScriptRecord::decode(&SCRIPT_VERSION, &bytes).unwrap(), rec);
            }
        }

        #[test]
        fn mutated_encodings_never_panic(
            bytes in mutations(arb_script().prop_map(|s| ScriptRecord::Update(s).encode()), 0..3),
        ) {
            let _ = ScriptRecord::decode(&SCRIPT_VERSION, &bytes);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ScriptRecord::decode(&SCRIPT_VERSION, &bytes);
            let _ = Script::decode(&bytes);
        }
    }
}
