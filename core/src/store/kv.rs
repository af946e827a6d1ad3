//! The kv store: the newest write per `(namespace, key)`.
//!
//! "Newest" is the greatest [`RecordOrigin`]: record timestamp first, then host id, then idx,
//! then record id (all ascending, so on equal timestamps the greater host uuid wins, and within
//! one host the greater idx). A deletion (`value: None`) is kept as a tombstone with its origin,
//! so an older write applied later cannot resurrect the key, and a newer write does.
//!
//! Atuin (`crates/atuin-kv/src/store.rs`) replays kv records newest first by timestamp and keeps
//! the first it sees per key; ties between equal timestamps are left to SQLite's row order
//! there, so our tie-break is a strict refinement. Atuin keys its "seen" set by the string
//! `"{namespace}.{key}"`, which conflates e.g. (`a.b`, `c`) with (`a`, `b.c`); we keep the pair.

use alloc::borrow::ToOwned;
use alloc::string::String;

use super::latest::Latest;
use super::{Fold, RecordOrigin};
use crate::payload::kv::KvRecord;
use crate::record::Tag;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    // (namespace, key) -> newest write (its flag unused) or tombstone. One map keyed by the
    // pair, of the type the alias and variable stores keep too: each map type costs the
    // browser's wasm several KB.
    map: Latest<(String, String), (String, bool)>,
}

impl Fold for KvStore {
    const TAG: Tag = Tag::Kv;
    type Payload = KvRecord;

    fn fold(&mut self, origin: RecordOrigin, kv: KvRecord) {
        let value = kv.value.map(|v| (v, false));
        self.map.put(origin, (kv.namespace, kv.key), value);
    }
}

impl KvStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current value, `None` if never set or deleted.
    pub fn get(&self, namespace: &str, key: &str) -> Option<&str> {
        self.map
            .get(&(namespace.to_owned(), key.to_owned()))
            .map(|(v, _)| v.as_str())
    }

    /// The record that decided the key's current state (a write or a deletion).
    pub fn origin(&self, namespace: &str, key: &str) -> Option<RecordOrigin> {
        self.map.origin(&(namespace.to_owned(), key.to_owned()))
    }

    /// Live `(key, value)` pairs of one namespace, sorted by key. (A walk over every key:
    /// kv stores are small, and this is less code than a range search in the browser's wasm.)
    pub fn list<'a>(&'a self, namespace: &str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let namespace = namespace.to_owned();
        self.iter()
            .filter(move |(ns, _, _)| *ns == namespace)
            .map(|(_, k, v)| (k, v))
    }

    /// Every live `(namespace, key, value)`, sorted by namespace then key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str)> + '_ {
        self.map
            .live()
            .map(|((ns, k), (v, _))| (ns.as_str(), k.as_str(), v.as_str()))
    }

    /// Namespaces with at least one live key, sorted.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> + '_ {
        let mut last = None;
        self.iter().filter_map(move |(ns, _, _)| {
            let new = last != Some(ns);
            last = Some(ns);
            new.then_some(ns)
        })
    }

    /// Number of live keys across all namespaces.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::kv::KV_VERSION;
    use crate::record::Version;
    use crate::store::test_support::{both_orders, record, NextIdx};
    use crate::store::DecRecord;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn rec(host: u128, idx: u64, ts: u64, ns: &str, key: &str, value: Option<&str>) -> DecRecord {
        let (namespace, key, value) = (ns.into(), key.into(), value.map(Into::into));
        let kv = KvRecord {
            namespace,
            key,
            value,
        };
        record(Tag::Kv, KV_VERSION, host, idx, ts, kv.encode())
    }

    #[test]
    fn newest_wins_and_tombstone_blocks_older() {
        let mut s = KvStore::new();
        s.apply(&rec(1, 0, 10, "ns", "k", Some("a"))).unwrap();
        s.apply(&rec(1, 1, 30, "ns", "k", None)).unwrap();
        s.apply(&rec(2, 0, 20, "ns", "k", Some("b"))).unwrap();
        assert_eq!(s.get("ns", "k"), None);
        assert!(s.is_empty());
        s.apply(&rec(2, 1, 40, "ns", "k", Some("c"))).unwrap();
        assert_eq!(s.get("ns", "k"), Some("c"));
        // tie on timestamp: greater host id wins
        s.apply(&rec(1, 2, 40, "ns", "k", Some("d"))).unwrap();
        assert_eq!(s.get("ns", "k"), Some("c"));
        s.apply(&rec(3, 0, 40, "ns", "k", Some("e"))).unwrap();
        assert_eq!(s.get("ns", "k"), Some("e"));
        s.apply(&rec(3, 1, 1, "other", "x", Some("1"))).unwrap();
        assert_eq!(s.list("ns").collect::<Vec<_>>(), [("k", "e")]);
        assert_eq!(s.namespaces().collect::<Vec<_>>(), ["ns", "other"]);
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            [("ns", "k", "e"), ("other", "x", "1")]
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn dotted_names_do_not_collide() {
        let mut s = KvStore::new();
        s.apply(&rec(1, 0, 10, "a.b", "c", Some("x"))).unwrap();
        s.apply(&rec(1, 1, 20, "a", "b.c", None)).unwrap();
        assert_eq!(s.get("a.b", "c"), Some("x"));
    }

    #[test]
    fn bad_record_names_itself() {
        let mut s = KvStore::new();
        let mut r = rec(1, 5, 10, "ns", "k", Some("a"));
        r.version = Version::V0;
        let e = s.apply(&r).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&r.id.to_string()) && msg.contains("idx 5"),
            "{msg}"
        );
        assert!(
            msg.contains("kv v0 array has 4 entries; expected 3"),
            "{msg}"
        );
        r.tag = Tag::History;
        s.apply(&r).unwrap();
        assert!(s.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn any_order_same_store(
            raw in proptest::collection::vec(
                (1u128..4, 0u64..6, 0usize..2, 0usize..3, proptest::option::of(0u8..4)),
                0..30,
            ).prop_map(|v| {
                // distinct (host, idx) per record
                let mut next = NextIdx::default();
                v.into_iter().map(|(h, ts, ns, k, val)| (h, next.of(h), ts, ns, k, val)).collect::<Vec<_>>()
            }).prop_shuffle(),
            perm_seed in proptest::collection::vec(any::<usize>(), 0..30),
        ) {
            let nss = ["n1", "n2"];
            let keys = ["a", "b", "c"];
            let vals = ["w", "x", "y", "z"];
            let records: Vec<DecRecord> = raw.iter().map(|(h, idx, ts, ns, k, val)| {
                rec(*h, *idx, *ts, nss[*ns], keys[*k], val.map(|v| vals[v as usize]))
            }).collect();
            let (a, b) = both_orders::<KvStore>(&records, &perm_seed);
            prop_assert_eq!(&a, &b);

            // model: per key, the record with the greatest (ts, host, idx) decides
            for ns in nss {
                for k in keys {
                    let want = raw.iter()
                        .filter(|r| nss[r.3] == ns && keys[r.4] == k)
                        .max_by_key(|r| (r.2, r.0, r.1))
                        .and_then(|r| r.5.map(|v| vals[v as usize]));
                    prop_assert_eq!(a.get(ns, k), want);
                }
            }
        }
    }
}
