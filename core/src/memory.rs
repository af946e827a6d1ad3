//! An in-memory record store: a [`LocalStore`] and [`Remote`] for tests, demos and benchmarks.
//! As a remote it follows the server's push rules ([`crate::push::classify`]);
//! as a local store, the placing rule of [`crate::holes::place`].

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::holes::{self, IdxRange, Missing, PlaceError};
use crate::push::{self, Occupied, PushError};
use crate::record::{RecordIdx, SeriesKey};
use crate::status::Status;
use crate::sync::{EncRecord, LocalStore, Remote};

/// Series kept as maps from idx to record.
#[derive(Debug, Default)]
pub struct MemoryStore {
    series: RefCell<BTreeMap<SeriesKey, BTreeMap<RecordIdx, EncRecord>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record, series by series in idx order.
    pub fn all(&self) -> Vec<EncRecord> {
        self.series
            .borrow()
            .values()
            .flat_map(|s| s.values())
            .cloned()
            .collect()
    }

    /// Store records as they are, holes and all (as the server does); identical records
    /// already stored are skipped, a different record in a taken slot refuses all.
    pub fn insert(&self, records: &[EncRecord]) -> Result<(), PushError> {
        let occupied: Occupied = {
            let map = self.series.borrow();
            records
                .iter()
                .filter_map(|r| {
                    let s = r.series();
                    let id = map.get(&s)?.get(&r.idx)?.id;
                    Some(((s, r.idx), id))
                })
                .collect()
        };
        let plan = push::classify(records, &occupied)?;
        let mut map = self.series.borrow_mut();
        for i in plan.new {
            let r = &records[i];
            map.entry(r.series()).or_default().insert(r.idx, r.clone());
        }
        Ok(())
    }

    /// Remove records (to make holes in a test's remote).
    pub fn remove(&self, series: &SeriesKey, range: IdxRange) {
        if let Some(s) = self.series.borrow_mut().get_mut(series) {
            s.retain(|idx, _| !range.contains(*idx));
        }
    }

    fn range(&self, series: &SeriesKey, start: RecordIdx, count: u64) -> Vec<EncRecord> {
        let map = self.series.borrow();
        let Some(s) = map.get(series) else {
            return Vec::new();
        };
        s.range(start..)
            .take(usize::try_from(count).unwrap_or(usize::MAX))
            .map(|(_, r)| r.clone())
            .collect()
    }

    fn status_now(&self) -> Status {
        self.series
            .borrow()
            .iter()
            .filter_map(|(k, v)| v.keys().next_back().map(|i| (k.clone(), *i)))
            .collect()
    }
}

impl LocalStore for MemoryStore {
    type Error = PlaceError;
    async fn status(&self) -> Result<Status, PlaceError> {
        Ok(self.status_now())
    }
    async fn missing(&self) -> Result<Missing, PlaceError> {
        Ok(self
            .series
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), holes::gaps(v.keys().copied())))
            .filter(|(_, g)| !g.is_empty())
            .collect())
    }
    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, PlaceError> {
        let end = start.saturating_add(count);
        let mut v = self.range(series, start, count);
        v.retain(|r| r.idx < end);
        Ok(v)
    }
    async fn append(&self, page: &[EncRecord], skipped: &[IdxRange]) -> Result<(), PlaceError> {
        let first = page.first().ok_or(PlaceError::Empty)?;
        let series = first.series();
        if page.iter().any(|r| r.series() != series) {
            return Err(PlaceError::BadPage("records of more than one series"));
        }
        let (last, mut missing) = {
            let map = self.series.borrow();
            let held = map.get(&series);
            let last = held.and_then(|s| s.keys().next_back().copied());
            let gaps = held.map_or_else(Vec::new, |s| holes::gaps(s.keys().copied()));
            (last, gaps)
        };
        let idx: Vec<RecordIdx> = page.iter().map(|r| r.idx).collect();
        holes::place(&series, last, &mut missing, &idx, skipped)?;
        let mut map = self.series.borrow_mut();
        let s = map.entry(series).or_default();
        for r in page {
            s.insert(r.idx, r.clone());
        }
        Ok(())
    }
}

impl Remote for MemoryStore {
    type Error = PushError;
    async fn status(&self) -> Result<Status, PushError> {
        Ok(self.status_now())
    }
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, PushError> {
        Ok(self.range(series, start, count))
    }
    async fn push(&self, records: &[EncRecord]) -> Result<(), PushError> {
        self.insert(records)
    }
}
