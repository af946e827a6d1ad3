//! The record status (host -> tag -> last idx) and the diff of two statuses.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::record::{HostId, RecordIdx, SeriesKey, Tag};

/// Last idx of every series a store holds: `{"hosts": {"<uuid>": {"history": 41}}}`.
///
/// Kept as one map by series (host, then tag), in that nested shape on the wire: one
/// `BTreeMap` instantiation in the browser's wasm rather than a map of maps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    series: BTreeMap<SeriesKey, RecordIdx>,
}

impl Status {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, series: SeriesKey, last: RecordIdx) {
        self.series.insert(series, last);
    }

    /// Raise the last idx of a series (never lowers it).
    pub fn bump(&mut self, series: SeriesKey, idx: RecordIdx) {
        let e = self.series.entry(series).or_insert(idx);
        if *e < idx {
            *e = idx;
        }
    }

    pub fn get(&self, series: &SeriesKey) -> Option<RecordIdx> {
        self.series.get(series).copied()
    }

    /// Whether it holds no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Every series with its last idx, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (SeriesKey, RecordIdx)> + '_ {
        self.series.iter().map(|(s, i)| (s.clone(), *i))
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

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Status", 1)?;
        st.serialize_field("hosts", &Hosts(self.series.iter().collect()))?;
        st.end()
    }
}

/// `{"<host>": {"<tag>": last}}`: the series of each host, grouped.
struct Hosts<'a>(Vec<(&'a SeriesKey, &'a RecordIdx)>);

impl Serialize for Hosts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .chunk_by(|a, b| a.0.host == b.0.host)
                .map(|tags| (tags[0].0.host, Tags(tags))),
        )
    }
}

struct Tags<'a>(&'a [(&'a SeriesKey, &'a RecordIdx)]);

impl Serialize for Tags<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, i)| (&k.tag, i)))
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename = "Status")]
        struct Wire {
            hosts: Pairs<HostId, Pairs<Tag, RecordIdx>>,
        }
        let hosts = Wire::deserialize(d)?.hosts.0;
        let mut status = Status::new();
        for (i, (host, tags)) in hosts.iter().enumerate() {
            // A host named twice: the later one replaces the earlier, as in a map.
            if hosts[i + 1..].iter().any(|(h, _)| h == host) {
                continue;
            }
            for (tag, last) in &tags.0 {
                status.set(SeriesKey::new(*host, tag.clone()), *last);
            }
        }
        Ok(status)
    }
}

/// A JSON object's entries, in order.
struct Pairs<K, V>(Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Pairs<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(core::marker::PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
            type Value = Pairs<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Entries(core::marker::PhantomData))
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
    use crate::record::series as s;

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
        let two = r#"{"hosts":{"00000000-0000-0000-0000-000000000001":{"history":1041,"kv":3},"00000000-0000-0000-0000-000000000002":{}}}"#;
        assert_eq!(serde_json::from_str::<Status>(two).unwrap(), st);
        // As maps: a host named twice keeps the later one's tags; a tag named twice, its later idx.
        let dup = r#"{"hosts":{"00000000-0000-0000-0000-000000000001":{"script":1},"00000000-0000-0000-0000-000000000001":{"history":1,"kv":3,"history":1041}}}"#;
        assert_eq!(serde_json::from_str::<Status>(dup).unwrap(), st);
        let e = serde_json::from_str::<Status>(
            r#"{"hosts":{"00000000-0000-0000-0000-000000000001":[]}}"#,
        );
        assert!(alloc::format!("{}", e.unwrap_err()).contains("expected a map"));
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
