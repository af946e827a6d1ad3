//! The legacy dotfiles stores: shell aliases (`config-shell-alias`) and variables
//! (`dotfiles-var`), both the newest set or delete per name.
//!
//! atuin-dotfiles 18.24.4 (`AliasStore::aliases`, `VarStore::vars`) replays every record of the
//! tag, all hosts together, oldest record timestamp first, into a map by name: a create inserts
//! (replacing what the name held), a delete removes. So the record with the greatest timestamp
//! decides each name. Between equal timestamps Atuin goes by SQLite's row order; we take the
//! greatest [`RecordOrigin`] (timestamp, then host id, idx, record id), a strict refinement.
//! A delete is kept as a tombstone with its origin, so the result does not depend on the order
//! records are applied in. Listing is by name (byte order), as Atuin's `BTreeMap` gives it.

use alloc::string::String;
use core::marker::PhantomData;

use super::latest::Latest;
use super::{Fold, Payload, RecordOrigin};
use crate::payload::dotfiles::{Alias, AliasRecord, Var, VarRecord};
use crate::record::Tag;

/// What one of the two stores holds per name: its record type, how a record reads, and the
/// value as the shared map keeps it (text and a flag).
pub trait Named: Sized {
    type Record: Payload;
    const TAG: Tag;
    /// The name a record decides, and what it sets (`None`: a delete).
    fn parts(record: Self::Record) -> (String, Option<(String, bool)>);
    fn join(name: &str, value: &(String, bool)) -> Self;
}

impl Named for Alias {
    type Record = AliasRecord;
    const TAG: Tag = Tag::ConfigShellAlias;
    fn parts(record: AliasRecord) -> (String, Option<(String, bool)>) {
        match record {
            AliasRecord::Create(a) => (a.name, Some((a.value, false))),
            AliasRecord::Delete(name) => (name, None),
        }
    }
    fn join(name: &str, (value, _): &(String, bool)) -> Alias {
        let (name, value) = (name.into(), value.clone());
        Alias { name, value }
    }
}

impl Named for Var {
    type Record = VarRecord;
    const TAG: Tag = Tag::DotfilesVar;
    fn parts(record: VarRecord) -> (String, Option<(String, bool)>) {
        match record {
            VarRecord::Create(v) => (v.name, Some((v.value, v.export))),
            VarRecord::Delete(name) => (name, None),
        }
    }
    fn join(name: &str, (value, export): &(String, bool)) -> Var {
        let (name, value, export) = (name.into(), value.clone(), *export);
        Var {
            name,
            value,
            export,
        }
    }
}

/// Per name, the newest set or delete of `V`. Both stores (and kv) keep one map type,
/// `((scope, name), (text, flag))` with an empty scope here: each map type costs the browser's
/// wasm several KB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedStore<V>(Latest<(String, String), (String, bool)>, PhantomData<V>);

/// Shell aliases, from `config-shell-alias` records.
pub type AliasStore = NamedStore<Alias>;
/// Shell and environment variables, from `dotfiles-var` records.
pub type VarStore = NamedStore<Var>;

fn key(name: &str) -> (String, String) {
    (String::new(), name.into())
}

impl<V> Default for NamedStore<V> {
    fn default() -> Self {
        Self(Latest::default(), PhantomData)
    }
}

impl<V: Named> Fold for NamedStore<V> {
    const TAG: Tag = V::TAG;
    type Payload = V::Record;

    fn fold(&mut self, origin: RecordOrigin, payload: V::Record) {
        let (name, value) = V::parts(payload);
        self.0.put(origin, (String::new(), name), value);
    }
}

impl<V: Named> NamedStore<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of this name, `None` if never set or deleted.
    pub fn get(&self, name: &str) -> Option<V> {
        Some(V::join(name, self.0.get(&key(name))?))
    }

    /// The record that decided the name's current state (a set or a delete).
    pub fn origin(&self, name: &str) -> Option<RecordOrigin> {
        self.0.origin(&key(name))
    }

    /// Live values sorted by name, as `atuin dotfiles alias list` / `var list` list them.
    pub fn iter(&self) -> impl Iterator<Item = V> + '_ {
        self.0.live().map(|((_, name), v)| V::join(name, v))
    }

    pub fn len(&self) -> usize {
        self.0.live().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.live().next().is_none()
    }
}

impl AliasStore {
    /// [`NamedStore::iter`].
    pub fn aliases(&self) -> impl Iterator<Item = Alias> + '_ {
        self.iter()
    }
}

impl VarStore {
    /// [`NamedStore::iter`].
    pub fn vars(&self) -> impl Iterator<Item = Var> + '_ {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::dotfiles::DOTFILES_VERSION;
    use crate::record::HostId;
    use crate::store::test_support::{both_orders, record, NextIdx};
    use crate::store::DecRecord;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;
    use alloc::vec::Vec;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn rec(tag: Tag, host: u128, idx: u64, ts: u64, data: Vec<u8>) -> DecRecord {
        record(tag, DOTFILES_VERSION, host, idx, ts, data)
    }

    fn alias(host: u128, idx: u64, ts: u64, name: &str, value: Option<&str>) -> DecRecord {
        let r = match value {
            Some(v) => AliasRecord::Create(Alias {
                name: name.into(),
                value: v.into(),
            }),
            None => AliasRecord::Delete(name.into()),
        };
        rec(Tag::ConfigShellAlias, host, idx, ts, r.encode())
    }

    fn var(host: u128, idx: u64, ts: u64, name: &str, value: Option<(&str, bool)>) -> DecRecord {
        let r = match value {
            Some((v, export)) => VarRecord::Create(Var {
                name: name.into(),
                value: v.into(),
                export,
            }),
            None => VarRecord::Delete(name.into()),
        };
        rec(Tag::DotfilesVar, host, idx, ts, r.encode())
    }

    #[test]
    fn newest_per_name_across_hosts() {
        let mut s = AliasStore::new();
        s.apply(&alias(1, 0, 10, "k", Some("kubectl"))).unwrap();
        s.apply(&alias(2, 0, 30, "k", None)).unwrap();
        s.apply(&alias(1, 1, 20, "k", Some("kubecolor"))).unwrap();
        assert_eq!(s.get("k"), None);
        s.apply(&alias(1, 2, 40, "k", Some("kubectl --context x")))
            .unwrap();
        s.apply(&alias(2, 1, 5, "gp", Some("git push"))).unwrap();
        let names: Vec<_> = s.aliases().map(|a| (a.name, a.value)).collect();
        let want = [("gp", "git push"), ("k", "kubectl --context x")];
        assert_eq!(names, want.map(|(n, v)| (n.to_string(), v.to_string())));
        // Records of other tags are ignored by each store.
        s.apply(&var(1, 0, 99, "k", None)).unwrap();
        assert_eq!(s.len(), 2);

        let mut v = VarStore::new();
        v.apply(&var(1, 0, 10, "EDITOR", Some(("vim", true))))
            .unwrap();
        v.apply(&var(2, 0, 10, "EDITOR", Some(("hx", false))))
            .unwrap();
        // equal timestamps: the greater host wins
        assert_eq!(
            v.get("EDITOR"),
            Some(Var {
                name: "EDITOR".into(),
                value: "hx".into(),
                export: false
            })
        );
        assert_eq!(v.origin("EDITOR").unwrap().host, HostId(Uuid::from_u128(2)));
    }

    #[test]
    fn bad_record_names_itself() {
        let mut s = VarStore::new();
        let mut r = var(1, 3, 10, "A", Some(("b", true)));
        r.data.0.pop();
        let msg = s.apply(&r).unwrap_err().to_string();
        assert!(msg.starts_with("dotfiles-var record "), "{msg}");
        assert!(
            msg.contains("dotfiles-var v0 field `export`: unexpected end of input"),
            "{msg}"
        );
        assert!(s.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_order_same_store(
            raw in proptest::collection::vec((1u128..4, 0u64..5, 0usize..3, proptest::option::of(0usize..3)), 0..25),
            seed in proptest::collection::vec(any::<usize>(), 0..25),
        ) {
            let names = ["a", "b", "c"];
            let vals = ["x", "y", "z"];
            let mut next = NextIdx::default();
            let records: Vec<DecRecord> = raw.iter().map(|(h, ts, n, v)| {
                alias(*h, next.of(*h), *ts, names[*n], v.map(|v| vals[v]))
            }).collect();
            let (a, b) = both_orders::<AliasStore>(&records, &seed);
            prop_assert_eq!(&a, &b);
            // Atuin's replay, oldest first, with our tie-break.
            let mut sorted = records.clone();
            sorted.sort_by_key(RecordOrigin::of);
            let mut model = BTreeMap::new();
            for r in &sorted {
                match AliasRecord::decode(&r.version, &r.data.0).unwrap() {
                    AliasRecord::Create(x) => { model.insert(x.name.clone(), x); }
                    AliasRecord::Delete(n) => { model.remove(&n); }
                }
            }
            prop_assert_eq!(a.aliases().collect::<Vec<_>>(), model.into_values().collect::<Vec<_>>());
        }
    }
}
