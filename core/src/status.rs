//! The record status (host -> tag -> last idx) and the diff of two statuses.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::record::{HostId, RecordIdx, SeriesKey, Tag};

/// Last idx of every series a store holds: `{"hosts": {"<uuid>": {"history": 41}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub hosts: BTreeMap<HostId, BTreeMap<Tag, RecordIdx>>,
}

impl Status {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, series: SeriesKey, last: RecordIdx) {
        self.hosts
            .entry(series.host)
            .or_default()
            .insert(series.tag, last);
    }

    /// Raise the last idx of a series (never lowers it).
    pub fn bump(&mut self, series: SeriesKey, idx: RecordIdx) {
        let e = self
            .hosts
            .entry(series.host)
            .or_default()
            .entry(series.tag)
            .or_insert(idx);
        if *e < idx {
            *e = idx;
        }
    }

    pub fn get(&self, series: &SeriesKey) -> Option<RecordIdx> {
        self.hosts
            .get(&series.host)
            .and_then(|t| t.get(&series.tag))
            .copied()
    }

    /// Every series with its last idx, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (SeriesKey, RecordIdx)> + '_ {
        self.hosts.iter().flat_map(|(h, tags)| {
            tags.iter()
                .map(move |(t, i)| (SeriesKey::new(*h, t.clone()), *i))
        })
    }

    /// Compare with another (usually remote) status. Series equal on both sides are left out;
    /// the result is sorted by series.
    pub fn diff(&self, remote: &Status) -> Vec<Diff> {
        // Both walks come in series order (host, then tag): merge them.
        let (mut l, mut r) = (self.iter().peekable(), remote.iter().peekable());
        let mut out = Vec::new();
        loop {
            let order = match (l.peek(), r.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.0.cmp(&b.0),
            };
            let a = if order.is_le() { l.next() } else { None };
            let b = if order.is_ge() { r.next() } else { None };
            let (local, remote) = (a.as_ref().map(|x| x.1), b.as_ref().map(|x| x.1));
            if let Some((series, _)) = a.or(b).filter(|_| local != remote) {
                out.push(Diff {
                    series,
                    local,
                    remote,
                });
            }
        }
        out
    }
}

impl FromIterator<(SeriesKey, RecordIdx)> for Status {
    fn from_iter<I: IntoIterator<Item = (SeriesKey, RecordIdx)>>(iter: I) -> Self {
        let mut s = Status::new();
        for (k, i) in iter {
            s.set(k, i);
        }
        s
    }
}

/// One series whose last idx differs between two stores (`None`: the store lacks it).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diff {
    pub series: SeriesKey,
    pub local: Option<RecordIdx>,
    pub remote: Option<RecordIdx>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn s(h: u128, t: &str) -> SeriesKey {
        SeriesKey::new(HostId(Uuid::from_u128(h)), Tag::from(t))
    }

    #[test]
    fn json_shape() {
        let st: Status = [(s(1, "history"), 1041), (s(1, "kv"), 3)]
            .into_iter()
            .collect();
        let j = serde_json::to_string(&st).unwrap();
        assert_eq!(
            j,
            r#"{"hosts":{"00000000-0000-0000-0000-000000000001":{"history":1041,"kv":3}}}"#
        );
        assert_eq!(serde_json::from_str::<Status>(&j).unwrap(), st);
    }

    #[test]
    fn diff_table() {
        let local: Status = [(s(1, "history"), 5), (s(1, "kv"), 2), (s(2, "history"), 9)]
            .into_iter()
            .collect();
        let remote: Status = [(s(1, "history"), 3), (s(1, "kv"), 2), (s(3, "script"), 0)]
            .into_iter()
            .collect();
        let d = local.diff(&remote);
        assert_eq!(
            d,
            alloc::vec![
                Diff {
                    series: s(1, "history"),
                    local: Some(5),
                    remote: Some(3)
                },
                Diff {
                    series: s(2, "history"),
                    local: Some(9),
                    remote: None
                },
                Diff {
                    series: s(3, "script"),
                    local: None,
                    remote: Some(0)
                },
            ]
        );
        assert!(local.diff(&local).is_empty());
    }

    #[test]
    fn bump_never_lowers() {
        let mut st = Status::new();
        st.bump(s(1, "kv"), 4);
        st.bump(s(1, "kv"), 2);
        assert_eq!(st.get(&s(1, "kv")), Some(4));
    }
}
