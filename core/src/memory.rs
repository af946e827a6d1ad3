//! An in-memory record store: a [`LocalStore`] and [`Remote`] for tests, demos and benchmarks.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::record::{RecordIdx, SeriesKey};
use crate::status::Status;
use crate::sync::{EncRecord, LocalStore, Remote};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    #[error("record {idx} of {series} does not follow the series' last idx")]
    Gap { series: SeriesKey, idx: RecordIdx },
    #[error("idx {idx} of {series} is already taken by another record")]
    Conflict { series: SeriesKey, idx: RecordIdx },
}

/// Series kept as vectors indexed by idx.
#[derive(Debug, Default)]
pub struct MemoryStore {
    series: RefCell<BTreeMap<SeriesKey, Vec<EncRecord>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, series by series in idx order.
    pub fn all(&self) -> Vec<EncRecord> {
        self.series.borrow().values().flatten().cloned().collect()
    }

    /// Append records in order; identical records already stored are skipped. All or nothing.
    pub fn insert(&self, records: &[EncRecord]) -> Result<(), MemoryError> {
        let mut map = self.series.borrow_mut();
        let mut lens: BTreeMap<SeriesKey, usize> = BTreeMap::new();
        let mut fresh = Vec::new();
        for r in records {
            let key = r.series();
            let stored = map.get(&key).map_or(0, Vec::len);
            let len = lens.entry(key.clone()).or_insert(stored);
            let at = usize::try_from(r.idx).unwrap_or(usize::MAX);
            if at < stored {
                if map.get(&key).and_then(|v| v.get(at)) != Some(r) {
                    return Err(MemoryError::Conflict {
                        series: key,
                        idx: r.idx,
                    });
                }
            } else if at == *len {
                *len += 1;
                fresh.push(r.clone());
            } else {
                return Err(MemoryError::Gap {
                    series: key,
                    idx: r.idx,
                });
            }
        }
        for r in fresh {
            map.entry(r.series()).or_default().push(r);
        }
        Ok(())
    }

    fn range(&self, series: &SeriesKey, start: RecordIdx, count: u64) -> Vec<EncRecord> {
        let map = self.series.borrow();
        let Some(v) = map.get(series) else {
            return Vec::new();
        };
        let start = usize::try_from(start).unwrap_or(usize::MAX).min(v.len());
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        v[start..].iter().take(count).cloned().collect()
    }

    fn status_now(&self) -> Status {
        self.series
            .borrow()
            .iter()
            .filter_map(|(k, v)| v.last().map(|r| (k.clone(), r.idx)))
            .collect()
    }
}

impl LocalStore for MemoryStore {
    type Error = MemoryError;
    async fn status(&self) -> Result<Status, MemoryError> {
        Ok(self.status_now())
    }
    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, MemoryError> {
        Ok(self.range(series, start, count))
    }
    async fn append(&self, page: &[EncRecord]) -> Result<(), MemoryError> {
        self.insert(page)
    }
}

impl Remote for MemoryStore {
    type Error = MemoryError;
    async fn status(&self) -> Result<Status, MemoryError> {
        Ok(self.status_now())
    }
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, MemoryError> {
        Ok(self.range(series, start, count))
    }
    async fn push(&self, records: &[EncRecord]) -> Result<(), MemoryError> {
        self.insert(records)
    }
}
