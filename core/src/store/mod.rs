//! Stores built as folds over decrypted records (docs/PROTOCOL.md §5).
//!
//! Each store is a pure, order-independent fold: applying records one by one in any order
//! (incrementally, across several sync runs) gives the same store as a rebuild from all records.
//! Records of other tags are ignored. A record that fails to decode is reported with
//! [`StoreError`] and leaves the store unchanged, so a caller may log it and go on, as Atuin
//! does (it skips undecodable records with a warning).

use alloc::string::{String, ToString};

use crate::crypto::{decrypt_record, Key};
use crate::payload::history::{HistoryError, HistoryRecord};
use crate::payload::kv::{KvError, KvRecord};
use crate::record::{
    DecryptedData, EncryptedData, HostId, Record, RecordId, RecordIdx, Tag, Version,
};

pub mod history;
pub mod kv;

pub use history::HistoryStore;
pub use kv::KvStore;

/// A record could not be applied to a store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("history record {record} (host {host}, idx {idx}, version {version}): {source}")]
    History {
        record: RecordId,
        host: HostId,
        idx: RecordIdx,
        version: Version,
        source: HistoryError,
    },
    #[error("kv record {record} (host {host}, idx {idx}, version {version}): {source}")]
    Kv {
        record: RecordId,
        host: HostId,
        idx: RecordIdx,
        version: Version,
        source: KvError,
    },
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

/// What a record means to the stores: decrypted, then decoded by its tag.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
    History(HistoryRecord),
    Kv(KvRecord),
    /// Could not be decrypted or decoded: why.
    Unreadable(String),
}

/// Whether records of this tag are folded into a store (history, kv).
pub fn has_store(tag: &Tag) -> bool {
    matches!(tag, Tag::History | Tag::Kv)
}

/// Decrypts `record` with `key` and decodes it by its tag; `None` for a tag no store reads.
/// The one place records are read into stores: every client calls it.
pub fn meaning(record: &Record<EncryptedData>, key: &Key) -> Option<Meaning> {
    if !has_store(&record.tag) {
        return None;
    }
    let m = match decrypt_record(record, key) {
        Err(e) => Meaning::Unreadable(e.to_string()),
        Ok(d) => match record.tag {
            Tag::History => HistoryRecord::decode(&record.version, &d.data.0)
                .map(Meaning::History)
                .unwrap_or_else(|e| Meaning::Unreadable(e.to_string())),
            _ => KvRecord::decode(&record.version, &d.data.0)
                .map(Meaning::Kv)
                .unwrap_or_else(|e| Meaning::Unreadable(e.to_string())),
        },
    };
    Some(m)
}
