//! Stores built as folds over decrypted records (docs/PROTOCOL.md §5).
//!
//! Each store is a pure, order-independent fold: applying records one by one in any order
//! (incrementally, across several sync runs) gives the same store as a rebuild from all records.
//! Records of other tags are ignored. A record that fails to decode is reported with
//! [`StoreError`] and leaves the store unchanged, so a caller may log it and go on, as Atuin
//! does (it skips undecodable records with a warning).

use alloc::string::{String, ToString};

use crate::crypto::{decrypt_record, Key};
use crate::payload::dotfiles::{AliasRecord, DotfilesError, VarRecord};
use crate::payload::history::{HistoryError, HistoryRecord};
use crate::payload::kv::{KvError, KvRecord};
use crate::payload::script::{ScriptError, ScriptRecord};
use crate::record::{
    DecryptedData, EncryptedData, HostId, Record, RecordId, RecordIdx, Tag, Version,
};

pub mod dotfiles;
pub mod history;
pub mod kv;
mod latest;
pub mod scripts;
#[cfg(feature = "threads")]
pub mod threads;

pub use dotfiles::{AliasStore, VarStore};
pub use history::HistoryStore;
pub use kv::KvStore;
pub use scripts::ScriptStore;

/// Why a record's payload could not be decoded: the error of its tag's decoder, shown as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub enum PayloadError {
    History(#[from] HistoryError),
    Kv(#[from] KvError),
    Script(#[from] ScriptError),
    /// `config-shell-alias` or `dotfiles-var`.
    Dotfiles(#[from] DotfilesError),
}

impl PayloadError {
    /// The tag of the record that could not be decoded.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::History(_) => "history",
            Self::Kv(_) => "kv",
            Self::Script(_) => "script",
            Self::Dotfiles(e) => e.tag(),
        }
    }
}

/// A record could not be applied to a store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} record {record} (host {host}, idx {idx}, version {version}): {source}", .source.tag())]
pub struct StoreError {
    pub record: RecordId,
    pub host: HostId,
    pub idx: RecordIdx,
    pub version: Version,
    pub source: PayloadError,
}

/// A payload a store folds: its tag's decoder, its error one of [`PayloadError`]'s.
pub trait Payload: Sized {
    fn decode(version: &Version, bytes: &[u8]) -> Result<Self, PayloadError>;
}

/// [`Payload`] for record types whose inherent `decode` errs with one of [`PayloadError`]'s.
macro_rules! payloads {
    ($($record:ty),*) => {$(
        impl Payload for $record {
            fn decode(version: &Version, bytes: &[u8]) -> Result<Self, PayloadError> {
                Ok(<$record>::decode(version, bytes)?)
            }
        }
    )*};
}

payloads!(
    HistoryRecord,
    KvRecord,
    ScriptRecord,
    AliasRecord,
    VarRecord
);

/// A store built as a fold over the records of one tag (docs/PROTOCOL.md §5).
pub trait Fold {
    /// The tag whose records the store reads.
    const TAG: Tag;
    type Payload: Payload;

    /// Decodes a payload of the record's version.
    fn decode(version: &Version, bytes: &[u8]) -> Result<Self::Payload, PayloadError> {
        <Self::Payload as Payload>::decode(version, bytes)
    }

    /// Folds in an already decoded payload, `origin` being the record it came from.
    fn fold(&mut self, origin: RecordOrigin, payload: Self::Payload);

    /// Fold one record in. Records of other tags are ignored. On error the store is unchanged.
    fn apply(&mut self, record: &DecRecord) -> Result<(), StoreError> {
        if record.tag != Self::TAG {
            return Ok(());
        }
        let payload =
            Self::decode(&record.version, &record.data.0).map_err(|source| StoreError {
                record: record.id,
                host: record.host.id,
                idx: record.idx,
                version: record.version.clone(),
                source,
            })?;
        self.fold(RecordOrigin::of(record), payload);
        Ok(())
    }

    /// Fold many records in; stops at the first error (records before it stay applied).
    fn apply_all<'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a DecRecord>,
    ) -> Result<(), StoreError>
    where
        Self: Sized,
    {
        records.into_iter().try_for_each(|r| self.apply(r))
    }
}

/// Where a record sits, ordered by record timestamp, then host id, then idx, then record id.
/// Used to pick a deterministic winner when two records compete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordOrigin {
    pub timestamp: u64,
    pub host: HostId,
    pub idx: RecordIdx,
    pub record: RecordId,
}

impl RecordOrigin {
    pub fn of<D>(r: &Record<D>) -> Self {
        Self {
            timestamp: r.timestamp,
            host: r.host.id,
            idx: r.idx,
            record: r.id,
        }
    }
}

pub(crate) type DecRecord = Record<DecryptedData>;

/// What a record means to the browser's stores (history, kv): decrypted, then decoded by its
/// tag. [`AnyMeaning`] covers every store.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
    History(HistoryRecord),
    Kv(KvRecord),
    /// Could not be decrypted or decoded: why.
    Unreadable(String),
}

/// What a record means to any store core folds: [`Meaning`]'s plus the scripts store and the
/// legacy dotfiles stores (docs/PROTOCOL.md §5).
#[derive(Clone, Debug, PartialEq)]
pub enum AnyMeaning {
    History(HistoryRecord),
    Kv(KvRecord),
    Script(ScriptRecord),
    ShellAlias(AliasRecord),
    DotfilesVar(VarRecord),
    /// Could not be decrypted or decoded: why.
    Unreadable(String),
}

impl From<Meaning> for AnyMeaning {
    fn from(m: Meaning) -> Self {
        match m {
            Meaning::History(h) => Self::History(h),
            Meaning::Kv(k) => Self::Kv(k),
            Meaning::Unreadable(why) => Self::Unreadable(why),
        }
    }
}

// The tag -> store rule, the one place records are read into stores. Every tag Atuin 18.24.4
// writes, and where it goes:
// - history, kv: `meaning` (the browser's stores) and `any_meaning`;
// - script, config-shell-alias, dotfiles-var: `any_meaning` only, so that the browser bundle,
//   which calls `meaning`, links none of their decoders;
// - ai-session: `threads::ThreadStore` (the `threads` feature), read-only, folded only by the
//   package's lazily loaded threads module (web/threads), so the main bundle links no zstd;
// - packfile and any other tag: no store; stored and synced untouched.

/// Whether [`meaning`] reads records of this tag: the browser's stores, history and kv.
pub fn has_store(tag: &Tag) -> bool {
    matches!(tag, Tag::History | Tag::Kv)
}

/// Whether [`any_meaning`] reads records of this tag: history, kv, script,
/// config-shell-alias, dotfiles-var.
pub fn has_any_store(tag: &Tag) -> bool {
    has_store(tag) || matches!(tag, Tag::Script | Tag::ConfigShellAlias | Tag::DotfilesVar)
}

/// Decrypts `record` and decodes its payload with `decode`; either failure is the reason as
/// text. Generic in the error, so that [`meaning`] links only the history and kv errors' text,
/// not [`PayloadError`]'s for every store.
fn read<P, E: core::fmt::Display>(
    record: &Record<EncryptedData>,
    key: &Key,
    decode: impl FnOnce(&Version, &[u8]) -> Result<P, E>,
) -> Result<P, String> {
    let d = decrypt_record(record, key).map_err(|e| e.to_string())?;
    decode(&record.version, &d.data.0).map_err(|e| e.to_string())
}

/// Decrypts `record` with `key` and decodes it by its tag; `None` for a tag no browser store
/// reads ([`has_store`]). Every client calls it (or [`any_meaning`]).
pub fn meaning(record: &Record<EncryptedData>, key: &Key) -> Option<Meaning> {
    let m = match record.tag {
        Tag::History => read(record, key, HistoryRecord::decode).map(Meaning::History),
        Tag::Kv => read(record, key, KvRecord::decode).map(Meaning::Kv),
        _ => return None,
    };
    Some(m.unwrap_or_else(Meaning::Unreadable))
}

/// [`meaning`] for every store ([`has_any_store`]): also scripts, shell aliases and variables.
/// `None` for a tag no store reads.
pub fn any_meaning(record: &Record<EncryptedData>, key: &Key) -> Option<AnyMeaning> {
    let m = match record.tag {
        Tag::Script => read(record, key, ScriptRecord::decode).map(AnyMeaning::Script),
        Tag::ConfigShellAlias => read(record, key, AliasRecord::decode).map(AnyMeaning::ShellAlias),
        Tag::DotfilesVar => read(record, key, VarRecord::decode).map(AnyMeaning::DotfilesVar),
        _ => return meaning(record, key).map(AnyMeaning::from),
    };
    Some(m.unwrap_or_else(AnyMeaning::Unreadable))
}

/// What the stores' tests share: records numbered per host, and a fold in two orders.
#[cfg(test)]
pub(crate) mod test_support {
    use alloc::vec::Vec;

    use uuid::Uuid;

    use super::{DecRecord, Fold};
    use crate::record::{DecryptedData, Host, HostId, Record, RecordId, Tag, Version};

    /// Record `idx` of `host` (record id `host << 64 | idx`), written at `ts`, holding `data`.
    pub(crate) fn record(
        tag: Tag,
        version: Version,
        host: u128,
        idx: u64,
        ts: u64,
        data: Vec<u8>,
    ) -> DecRecord {
        Record {
            id: RecordId(Uuid::from_u128((host << 64) | idx as u128)),
            idx,
            host: Host::new(HostId(Uuid::from_u128(host))),
            timestamp: ts,
            version,
            tag,
            data: DecryptedData(data),
        }
    }

    /// The idx of each next record of hosts 0 to 3: 0, 1, 2… per host.
    #[derive(Default)]
    pub(crate) struct NextIdx([u64; 4]);

    impl NextIdx {
        pub(crate) fn of(&mut self, host: u128) -> u64 {
            let idx = self.0[host as usize];
            self.0[host as usize] += 1;
            idx
        }
    }

    /// `records` folded as given, and again in another order (swapped at `seed`, reversed).
    pub(crate) fn both_orders<S: Fold + Default>(records: &[DecRecord], seed: &[usize]) -> (S, S) {
        let mut a = S::default();
        a.apply_all(records).unwrap();
        let mut shuffled = records.to_vec();
        for (i, s) in seed.iter().enumerate() {
            let n = shuffled.len();
            if n > 0 {
                shuffled.swap(i % n, s % n);
            }
        }
        let mut b = S::default();
        b.apply_all(shuffled.iter().rev()).unwrap();
        (a, b)
    }
}
