//! The legacy dotfiles tags (atuin-dotfiles 18.24.4: `src/store.rs`, `src/store/var.rs`,
//! `src/shell.rs`): `config-shell-alias` and `dotfiles-var`.
//!
//! atuin 18.24.4 only lists these stores (`atuin dotfiles alias list`, `atuin dotfiles var
//! list`); older atuin CLIs wrote them, and atuin-dotfiles still can. Only version `v0` exists.
//!
//! ```text
//! config-shell-alias v0
//!   0xcc 0x00  array(2)  name str, value str              set (create or overwrite)
//!   0xcc 0x01  array(1)  name str                         delete
//! dotfiles-var v0
//!   0xcc 0x00  array(3)  name str, value str, export bool  set (export: env var, else shell var)
//!   0xcc 0x01  array(1)  name str                         delete
//! ```
//!
//! As Atuin reads them: the kind byte must use the `0xcc` marker, the arrays any array marker
//! with exactly that many entries, and nothing may follow the last field.
//! Atuin declares a limit of 20000 bytes on `name` + `value` that only its writers check; we
//! check none.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::{MsgpackError, Reader, Writer};
use crate::record::Version;

/// The record version of `config-shell-alias` and `dotfiles-var` records (the only one).
pub const DOTFILES_VERSION: Version = Version::V0;

/// A shell alias: `alias name='value'`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    pub name: String,
    pub value: String,
}

/// A variable: `export NAME=value` when `export`, else a shell variable `NAME=value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Var {
    pub name: String,
    pub value: String,
    pub export: bool,
}

/// One record of either tag: set an entry `T` (an [`Alias`] or a [`Var`]), or delete a name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DotfilesRecord<T> {
    /// Kind 0: set the entry (a later set of the same name replaces it).
    Create(T),
    /// Kind 1: remove the entry of this name.
    Delete(String),
}

/// One `config-shell-alias` record.
pub type AliasRecord = DotfilesRecord<Alias>;
/// One `dotfiles-var` record.
pub type VarRecord = DotfilesRecord<Var>;

/// Which of the two tags a record has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotfilesTag {
    ShellAlias,
    Var,
}

impl DotfilesTag {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ShellAlias => "config-shell-alias",
            Self::Var => "dotfiles-var",
        }
    }
}

impl core::fmt::Display for DotfilesTag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decoding a `config-shell-alias` or `dotfiles-var` payload failed. `tag` names which.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DotfilesError {
    #[error("unknown {tag} version `{version}` (known: v0)")]
    UnknownVersion { tag: DotfilesTag, version: String },
    #[error("{tag} v0 field `{field}`: {source}")]
    Field {
        tag: DotfilesTag,
        field: &'static str,
        source: MsgpackError,
    },
    #[error("{tag} v0: unknown record kind {kind} (known: 0 create, 1 delete)")]
    UnknownKind { tag: DotfilesTag, kind: u8 },
    #[error("{tag} v0 {} array has {found} entries; expected {expected}", if *.kind == 0 { "create" } else { "delete" })]
    WrongFieldCount {
        tag: DotfilesTag,
        kind: u8,
        found: u32,
        expected: u32,
    },
    #[error("{tag} v0: {count} trailing bytes after the last field")]
    TrailingBytes { tag: DotfilesTag, count: usize },
}

impl DotfilesError {
    /// The tag of the record that failed: `config-shell-alias` or `dotfiles-var`.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::UnknownVersion { tag, .. }
            | Self::Field { tag, .. }
            | Self::UnknownKind { tag, .. }
            | Self::WrongFieldCount { tag, .. }
            | Self::TrailingBytes { tag, .. } => tag.as_str(),
        }
    }
}

/// The shared reader: the version check, the kind byte, the array header of its expected size
/// (`create` entries for a create, 1 for a delete); `body` reads the create's fields.
fn decode<T>(
    tag: DotfilesTag,
    version: &Version,
    bytes: &[u8],
    create: u32,
    body: impl FnOnce(&mut Reader<'_>) -> Result<T, DotfilesError>,
    delete: impl FnOnce(String) -> T,
) -> Result<T, DotfilesError> {
    if *version != Version::V0 {
        return Err(DotfilesError::UnknownVersion {
            tag,
            version: version.as_str().to_owned(),
        });
    }
    let mut r = Reader::new(bytes);
    let kind = r.u8_strict().map_err(at(tag, "record kind"))?;
    let expected = match kind {
        0 => create,
        1 => 1,
        kind => return Err(DotfilesError::UnknownKind { tag, kind }),
    };
    let found = r.array_len().map_err(at(tag, "field count"))?;
    if found != expected {
        return Err(DotfilesError::WrongFieldCount {
            tag,
            kind,
            found,
            expected,
        });
    }
    let out = if kind == 0 {
        body(&mut r)?
    } else {
        delete(r.str().map_err(at(tag, "name"))?.to_owned())
    };
    if !r.remaining().is_empty() {
        return Err(DotfilesError::TrailingBytes {
            tag,
            count: r.remaining().len(),
        });
    }
    Ok(out)
}

/// The error for `field` of a `tag` record.
fn at(tag: DotfilesTag, field: &'static str) -> impl Fn(MsgpackError) -> DotfilesError {
    move |source| DotfilesError::Field { tag, field, source }
}

/// What an alias and a variable are made of: a name, a value, and for a variable `export`.
pub trait Entry: Sized {
    /// The tag of its records.
    const TAG: DotfilesTag;
    /// Whether a create carries `export` after the name and value.
    const EXPORT: bool;
    /// Name, value and `export` (`false` for an alias).
    fn parts(&self) -> (&str, &str, bool);
    fn from_parts(name: String, value: String, export: bool) -> Self;
}

impl Entry for Alias {
    const TAG: DotfilesTag = DotfilesTag::ShellAlias;
    const EXPORT: bool = false;
    fn parts(&self) -> (&str, &str, bool) {
        (&self.name, &self.value, false)
    }
    fn from_parts(name: String, value: String, _: bool) -> Self {
        Alias { name, value }
    }
}

impl Entry for Var {
    const TAG: DotfilesTag = DotfilesTag::Var;
    const EXPORT: bool = true;
    fn parts(&self) -> (&str, &str, bool) {
        (&self.name, &self.value, self.export)
    }
    fn from_parts(name: String, value: String, export: bool) -> Self {
        Var {
            name,
            value,
            export,
        }
    }
}

impl<T: Entry> DotfilesRecord<T> {
    /// The name this record sets or deletes.
    pub fn name(&self) -> &str {
        match self {
            Self::Create(e) => e.parts().0,
            Self::Delete(n) => n,
        }
    }

    /// Encode as v0 (the only version).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        match self {
            Self::Create(e) => {
                let (name, value, export) = e.parts();
                w.u8_strict(0);
                w.array_len(2 + u32::from(T::EXPORT));
                w.str(name);
                w.str(value);
                if T::EXPORT {
                    w.bool(export);
                }
            }
            Self::Delete(name) => {
                w.u8_strict(1);
                w.array_len(1);
                w.str(name);
            }
        }
        w.into_vec()
    }

    /// Decode a payload of `T`'s tag stored under record version `version` (v0).
    pub fn decode(version: &Version, bytes: &[u8]) -> Result<Self, DotfilesError> {
        let tag = T::TAG;
        decode(
            tag,
            version,
            bytes,
            2 + u32::from(T::EXPORT),
            |r| {
                let name = r.str().map_err(at(tag, "name"))?.to_owned();
                let value = r.str().map_err(at(tag, "value"))?.to_owned();
                let export = T::EXPORT && r.bool().map_err(at(tag, "export"))?;
                Ok(Self::Create(T::from_parts(name, value, export)))
            },
            Self::Delete,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    /// Atuin's snapshots (`store.rs` and `store/var.rs`, tests `encode_decode`).
    #[test]
    fn atuin_snapshots() {
        let alias = AliasRecord::Create(Alias {
            name: "k".into(),
            value: "kubectl".into(),
        });
        let bytes = [204, 0, 146, 161, 107, 167, 107, 117, 98, 101, 99, 116, 108];
        assert_eq!(alias.encode(), bytes);
        assert_eq!(AliasRecord::decode(&Version::V0, &bytes).unwrap(), alias);

        let var = VarRecord::Create(Var {
            name: "BEEP".into(),
            value: "boop".into(),
            export: false,
        });
        let bytes = [
            204, 0, 147, 164, 66, 69, 69, 80, 164, 98, 111, 111, 112, 194,
        ];
        assert_eq!(var.encode(), bytes);
        assert_eq!(VarRecord::decode(&Version::V0, &bytes).unwrap(), var);

        let del = [204, 1, 145, 161, b'k'];
        assert_eq!(AliasRecord::Delete("k".into()).encode(), del);
        assert_eq!(
            AliasRecord::decode(&Version::V0, &del).unwrap(),
            AliasRecord::Delete("k".into())
        );
        assert_eq!(
            VarRecord::decode(&Version::V0, &del).unwrap(),
            VarRecord::Delete("k".into())
        );
    }

    /// The error decoding `bytes` as a v0 record of `T`'s tag, as text.
    fn error<T: Entry + core::fmt::Debug>(bytes: &[u8]) -> String {
        DotfilesRecord::<T>::decode(&Version::V0, bytes)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_tag_version_and_field() {
        let (a, v) = (error::<Alias>, error::<Var>);
        assert_eq!(
            AliasRecord::decode(&Version::V1, &[])
                .unwrap_err()
                .to_string(),
            "unknown config-shell-alias version `v1` (known: v0)"
        );
        assert_eq!(
            v(&[0xcc, 2]),
            "dotfiles-var v0: unknown record kind 2 (known: 0 create, 1 delete)"
        );
        assert_eq!(
            a(&[0xcc, 0, 0x93]),
            "config-shell-alias v0 create array has 3 entries; expected 2"
        );
        assert_eq!(
            v(&[0xcc, 1, 0x92]),
            "dotfiles-var v0 delete array has 2 entries; expected 1"
        );
        assert_eq!(
            v(&[0xcc, 0, 0x93, 0xa1, b'A', 0xa1, b'b', 0x01]),
            "dotfiles-var v0 field `export`: expected bool, found marker byte 0x01"
        );
        assert_eq!(
            a(&[0xcc, 0, 0x92, 0xa1, b'A']),
            "config-shell-alias v0 field `value`: unexpected end of input"
        );
        assert_eq!(
            a(&[0xcc, 1, 0x91, 0xa1, b'A', 0xc0]),
            "config-shell-alias v0: 1 trailing bytes after the last field"
        );
        assert_eq!(
            v(&[0x00]),
            "dotfiles-var v0 field `record kind`: expected u8 (marker 0xcc), found marker byte 0x00"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn roundtrip(name in ".{0,30}", value in ".{0,300}", export in any::<bool>()) {
            for rec in [
                AliasRecord::Create(Alias { name: name.clone(), value: value.clone() }),
                AliasRecord::Delete(name.clone()),
            ] {
                prop_assert_eq!(AliasRecord::decode(&DOTFILES_VERSION, &rec.encode()).unwrap(), rec);
            }
            for rec in [
                VarRecord::Create(Var { name: name.clone(), value: value.clone(), export }),
                VarRecord::Delete(name.clone()),
            ] {
                prop_assert_eq!(VarRecord::decode(&DOTFILES_VERSION, &rec.encode()).unwrap(), rec);
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = AliasRecord::decode(&DOTFILES_VERSION, &bytes);
            let _ = VarRecord::decode(&DOTFILES_VERSION, &bytes);
        }
    }
}
