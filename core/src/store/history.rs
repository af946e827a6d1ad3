//! The history store: live entries after every host's creates and deletes.
//!
//! Rules (a fold that does not depend on the order records are applied in):
//! - A delete removes the entry whichever host wrote it, and its id stays deleted for good
//!   (a tombstone): a create applied after the delete (e.g. the delete's host synced first)
//!   does not bring the entry back.
//! - Two creates of the same history id (an id re-pushed, or the same entry imported twice):
//!   the *earliest* record wins, by [`RecordOrigin`] (record timestamp, then host id, idx,
//!   record id). This matches Atuin, which inserts with `insert or ignore` while replaying
//!   records in timestamp order.
//! - Entries whose `deleted_at` is set (Atuin's soft delete) are kept; check
//!   [`History::is_soft_deleted`].

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::{Fold, PayloadError, RecordOrigin};
use crate::payload::history::{History, HistoryId, HistoryRecord};
use crate::record::{HostId, Tag, Version};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryStore {
    /// Every id seen: the live entry with the record that created it, or `None` once deleted
    /// (a tombstone). One map rather than a map and a set: one lookup per record, and one
    /// `BTreeMap` instantiation less in the browser's wasm. The entry is boxed: a node's slots
    /// hold a pointer instead of ~200 bytes, and nodes filled in id order (Atuin's ids are
    /// UUID v7, by time) stay about half empty.
    ids: BTreeMap<HistoryId, Option<Box<(RecordOrigin, History)>>>,
    /// How many of `ids` are live.
    live: usize,
}

impl Fold for HistoryStore {
    const TAG: Tag = Tag::History;
    type Payload = HistoryRecord;

    fn decode(version: &Version, bytes: &[u8]) -> Result<HistoryRecord, PayloadError> {
        Ok(HistoryRecord::decode(version, bytes)?)
    }

    fn fold(&mut self, origin: RecordOrigin, payload: HistoryRecord) {
        match payload {
            HistoryRecord::Create(h) => match self.ids.get_mut(&h.id) {
                // Deleted, or created by an earlier record.
                Some(None) => {}
                Some(Some(slot)) if slot.0 <= origin => {}
                Some(Some(slot)) => **slot = (origin, h),
                None => {
                    self.ids.insert(h.id, Some(Box::new((origin, h))));
                    self.live += 1;
                }
            },
            HistoryRecord::Delete(id) => {
                if let Some(Some(_)) = self.ids.insert(id, None) {
                    self.live -= 1;
                }
            }
        }
    }
}

impl HistoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: &HistoryId) -> Option<&History> {
        self.slot(id).map(|(_, h)| h)
    }

    /// The record that created a live entry.
    pub fn origin(&self, id: &HistoryId) -> Option<RecordOrigin> {
        self.slot(id).map(|(o, _)| *o)
    }

    fn slot(&self, id: &HistoryId) -> Option<&(RecordOrigin, History)> {
        self.ids.get(id)?.as_deref()
    }

    /// Whether a delete for this id has been applied.
    pub fn is_deleted(&self, id: &HistoryId) -> bool {
        matches!(self.ids.get(id), Some(None))
    }

    /// Live entries (with the records that created them), in history id order.
    fn live(&self) -> impl Iterator<Item = &(RecordOrigin, History)> + '_ {
        self.ids.values().flatten().map(|b| &**b)
    }

    /// Live entries, in history id order.
    pub fn entries(&self) -> impl Iterator<Item = &History> + '_ {
        self.live().map(|(_, h)| h)
    }

    /// Live entries with ids after `id` (all of them for `None`), in history id order.
    pub fn entries_after(&self, id: Option<&HistoryId>) -> impl Iterator<Item = &History> + '_ {
        use core::ops::Bound;
        let from = id.map_or(Bound::Unbounded, Bound::Excluded);
        let live = self.ids.range::<HistoryId, _>((from, Bound::Unbounded));
        live.filter_map(|(_, v)| v.as_deref().map(|(_, h)| h))
    }

    /// Live entries sorted by command timestamp, then id (oldest first).
    pub fn entries_by_time(&self) -> Vec<&History> {
        let mut v: Vec<&History> = self.entries().collect();
        v.sort_unstable_by_key(|h| (h.timestamp, h.id));
        v
    }

    /// Ids of every delete applied (tombstones).
    pub fn tombstones(&self) -> impl Iterator<Item = &HistoryId> + '_ {
        self.ids
            .iter()
            .filter(|(_, s)| s.is_none())
            .map(|(id, _)| id)
    }

    /// The hostnames (`host:user`) in the live entries each host wrote, with how many entries
    /// carry each, most first (ties by name); hosts in id order. Names the hosts of the record
    /// store, whose ids are UUIDs.
    pub fn hostnames(&self) -> Vec<(HostId, Vec<(&str, usize)>)> {
        let mut all: Vec<(HostId, &str)> = self
            .live()
            .map(|(o, h)| (o.host, h.hostname.as_str()))
            .collect();
        crate::sort::sort_cold(&mut all);
        let mut out: Vec<(HostId, Vec<(&str, usize)>)> = Vec::new();
        for (host, name) in all {
            if out.last().is_none_or(|(h, _)| *h != host) {
                out.push((host, Vec::new()));
            }
            let names = &mut out.last_mut().expect("pushed").1;
            match names.last_mut() {
                Some((n, count)) if *n == name => *count += 1,
                _ => names.push((name, 1)),
            }
        }
        for (_, names) in &mut out {
            // Names are distinct here: an unstable sort gives the same order.
            crate::sort::sort_cold_by(names, |a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        }
        out
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::history::HISTORY_VERSION;
    use crate::record::{DecryptedData, Host, Record, RecordId};
    use crate::store::DecRecord;
    use alloc::collections::{BTreeSet, VecDeque};
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn hist(id: u128, cmd: &str) -> History {
        History {
            id: HistoryId(Uuid::from_u128(id)),
            timestamp: 1_700_000_000_000_000_000 + id as u64,
            command: cmd.into(),
            ..crate::sample::history(0)
        }
    }

    fn rec(host: u128, idx: u64, ts: u64, payload: &HistoryRecord) -> DecRecord {
        Record {
            id: RecordId(Uuid::from_u128((host << 64) | idx as u128)),
            idx,
            host: Host::new(HostId(Uuid::from_u128(host))),
            timestamp: ts,
            version: HISTORY_VERSION,
            tag: Tag::History,
            data: DecryptedData(payload.encode()),
        }
    }

    #[test]
    fn delete_from_other_host_and_before_create() {
        let a = HistoryRecord::Create(hist(1, "ls"));
        let b = HistoryRecord::Create(hist(2, "pwd"));
        let del1 = HistoryRecord::Delete(HistoryId(Uuid::from_u128(1)));
        let records = [rec(9, 0, 30, &del1), rec(7, 0, 10, &a), rec(7, 1, 20, &b)];
        let mut s = HistoryStore::new();
        s.apply_all(&records).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.entries().next().unwrap().command, "pwd");
        assert!(s.is_deleted(&HistoryId(Uuid::from_u128(1))));
        assert!(s.get(&HistoryId(Uuid::from_u128(1))).is_none());
    }

    #[test]
    fn ignores_other_tags_and_reports_bad_records() {
        let mut s = HistoryStore::new();
        let mut r = rec(1, 0, 1, &HistoryRecord::Create(hist(1, "x")));
        r.tag = Tag::Kv;
        s.apply(&r).unwrap();
        assert!(s.is_empty());
        let mut bad = rec(1, 3, 1, &HistoryRecord::Create(hist(1, "x")));
        bad.data = DecryptedData(vec![0xcc, 9]);
        let e = s.apply(&bad).unwrap_err();
        let msg = format!("{e}");
        assert!(msg.contains(&bad.id.to_string()), "{msg}");
        assert!(msg.contains("idx 3"), "{msg}");
        assert!(msg.contains("unknown history record kind 9"), "{msg}");
        let mut unknown = rec(1, 4, 1, &HistoryRecord::Create(hist(1, "x")));
        unknown.version = Version::from("v7");
        assert!(s.apply(&unknown).is_err());
        assert!(s.is_empty());
    }

    #[test]
    fn hostnames_per_writing_host() {
        let mut s = HistoryStore::new();
        let mut a = hist(1, "a");
        a.hostname = "laptop:me".into();
        let mut b = hist(2, "b");
        b.hostname = "laptop:me".into();
        let mut c = hist(3, "c");
        c.hostname = "old-name:me".into();
        let d = hist(4, "d");
        let records = [
            rec(7, 0, 1, &HistoryRecord::Create(a)),
            rec(7, 1, 2, &HistoryRecord::Create(c)),
            rec(7, 2, 3, &HistoryRecord::Create(b)),
            rec(8, 0, 4, &HistoryRecord::Create(d)),
            rec(
                8,
                1,
                5,
                &HistoryRecord::Delete(HistoryId(Uuid::from_u128(3))),
            ),
        ];
        s.apply_all(&records).unwrap();
        let host = |n: u128| HostId(Uuid::from_u128(n));
        // Entry 3 was deleted: its name is gone with it.
        assert_eq!(
            s.hostnames(),
            [
                (host(7), vec![("laptop:me", 2)]),
                (host(8), vec![("laptop:user", 1)])
            ]
        );
    }

    #[test]
    fn earliest_duplicate_create_wins() {
        let mut s = HistoryStore::new();
        s.apply(&rec(2, 0, 50, &HistoryRecord::Create(hist(1, "late"))))
            .unwrap();
        s.apply(&rec(3, 0, 40, &HistoryRecord::Create(hist(1, "early"))))
            .unwrap();
        assert_eq!(s.entries().next().unwrap().command, "early");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Create(u8, u8),
        Delete(u8),
    }

    fn arb_series() -> impl Strategy<Value = Vec<Vec<(Op, u64)>>> {
        let op = prop_oneof![
            3 => (0u8..12, 0u8..3).prop_map(|(i, v)| Op::Create(i, v)),
            1 => (0u8..12).prop_map(Op::Delete),
        ];
        proptest::collection::vec(proptest::collection::vec((op, 0u64..20), 0..12), 1..4)
    }

    fn build_records(series: &[Vec<(Op, u64)>]) -> Vec<VecDeque<DecRecord>> {
        series
            .iter()
            .enumerate()
            .map(|(h, ops)| {
                ops.iter()
                    .enumerate()
                    .map(|(idx, (op, ts))| {
                        let payload = match op {
                            Op::Create(i, v) => {
                                HistoryRecord::Create(hist(*i as u128, &format!("cmd{i}-{v}-{h}")))
                            }
                            Op::Delete(i) => {
                                HistoryRecord::Delete(HistoryId(Uuid::from_u128(*i as u128)))
                            }
                        };
                        rec(h as u128 + 1, idx as u64, *ts, &payload)
                    })
                    .collect()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any interleaving of the series (each kept in idx order), applied in two sync runs
        /// to the same store, equals a full rebuild series by series.
        #[test]
        fn incremental_equals_rebuild(
            series in arb_series(),
            picks in proptest::collection::vec(any::<u8>(), 0..64),
            split in any::<usize>(),
        ) {
            let queues = build_records(&series);
            let mut full = HistoryStore::new();
            for q in &queues {
                full.apply_all(q).unwrap();
            }

            let mut queues = queues;
            let mut order: Vec<DecRecord> = Vec::new();
            for p in picks {
                let open: Vec<usize> = (0..queues.len()).filter(|i| !queues[*i].is_empty()).collect();
                if open.is_empty() { break; }
                let i = open[p as usize % open.len()];
                order.extend(queues[i].pop_front());
            }
            for q in &mut queues {
                order.extend(q.drain(..));
            }
            let cut = split % (order.len() + 1);
            let mut inc = HistoryStore::new();
            inc.apply_all(&order[..cut]).unwrap();
            inc.apply_all(&order[cut..]).unwrap();
            prop_assert_eq!(&inc, &full);
            // re-applying already seen records changes nothing
            let mut again = inc.clone();
            again.apply_all(&order).unwrap();
            prop_assert_eq!(&again, &full);

            // Model: live = ids created and never deleted.
            let mut created = BTreeSet::new();
            let mut deleted = BTreeSet::new();
            for ops in &series {
                for (op, _) in ops {
                    match op {
                        Op::Create(i, _) => { created.insert(*i as u128); }
                        Op::Delete(i) => { deleted.insert(*i as u128); }
                    }
                }
            }
            let want: Vec<u128> = created.difference(&deleted).copied().collect();
            let got: Vec<u128> = full.entries().map(|h| h.id.0.as_u128()).collect();
            prop_assert_eq!((full.len(), inc.len()), (want.len(), want.len()));
            prop_assert_eq!(got, want);
        }
    }
}
