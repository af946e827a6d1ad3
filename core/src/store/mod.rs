//! Stores built as folds over decrypted records (docs/PROTOCOL.md §5).
//!
//! Each store is a pure, order-independent fold: applying records one by one in any order
//! (incrementally, across several sync runs) gives the same store as a rebuild from all records.
//! Records of other tags are ignored. A record that fails to decode is reported with
//! [`StoreError`] and leaves the store unchanged, so a caller may log it and go on, as Atuin
//! does (it skips undecodable records with a warning).

use crate::payload::history::HistoryError;
use crate::payload::kv::KvError;
use crate::record::{DecryptedData, HostId, Record, RecordId, RecordIdx, Version};

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
