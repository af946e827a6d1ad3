//! Migration of legacy linked-list records (`parent` instead of `idx`) to idx arrays.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::record::{Host, HostId, Record, RecordId, SeriesKey, Tag, Version};

/// The host field of old records: a bare uuid or `{"id", "name"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum LegacyHost {
    Id(HostId),
    Host(Host),
}

// By hand rather than `untagged`: a string is an id, a map a host. (serde's untagged
// buffering adds several KB to the wasm and hides which form was wrong.)
impl<'de> Deserialize<'de> for LegacyHost {
    fn deserialize<De: serde::Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LegacyHost;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a host id (uuid string) or a host object {\"id\", \"name\"}")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<LegacyHost, E> {
                s.parse::<HostId>()
                    .map(LegacyHost::Id)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(s), &self))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<LegacyHost, A::Error> {
                Host::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(LegacyHost::Host)
            }
        }
        d.deserialize_any(V)
    }
}

impl LegacyHost {
    pub fn id(&self) -> HostId {
        match self {
            Self::Id(id) => *id,
            Self::Host(h) => h.id,
        }
    }
}

/// A record from before the idx rework: linked to its predecessor by `parent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyRecord<D> {
    pub id: RecordId,
    pub host: LegacyHost,
    #[serde(default)]
    pub parent: Option<RecordId>,
    pub timestamp: u64,
    pub version: Version,
    pub tag: Tag,
    pub data: D,
}

/// One thing wrong with a legacy store.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The same id appears more than once.
    DuplicateId { id: RecordId },
    /// `record` names a parent that is not in its series.
    MissingParent { record: RecordId, parent: RecordId },
    /// More than one record claims the same parent.
    Fork {
        parent: RecordId,
        children: Vec<RecordId>,
    },
    /// More than one record of a series has no parent.
    MultipleRoots {
        series: String,
        roots: Vec<RecordId>,
    },
    /// Records that form a cycle (never reached from the series' root).
    Cycle {
        series: String,
        records: Vec<RecordId>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, ids: &[RecordId]| {
            for (i, id) in ids.iter().enumerate() {
                write!(f, "{}{id}", if i == 0 { "" } else { ", " })?;
            }
            Ok(())
        };
        match self {
            Self::DuplicateId { id } => write!(f, "record id {id} appears more than once"),
            Self::MissingParent { record, parent } => {
                write!(
                    f,
                    "record {record} has parent {parent}, which is not in its series"
                )
            }
            Self::Fork { parent, children } => {
                write!(f, "record {parent} has several children: ")?;
                list(f, children)
            }
            Self::MultipleRoots { series, roots } => {
                write!(f, "series {series} has several records without a parent: ")?;
                list(f, roots)
            }
            Self::Cycle { series, records } => {
                write!(f, "series {series} has records in a cycle: ")?;
                list(f, records)
            }
        }
    }
}

/// The legacy store can't be migrated without losing or guessing; every problem is listed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("legacy records can't be migrated: {}", join(.problems))]
pub struct LegacyError {
    pub problems: Vec<Problem>,
}

fn join(p: &[Problem]) -> String {
    use fmt::Write;
    let mut s = String::new();
    for (i, x) in p.iter().enumerate() {
        let _ = write!(s, "{}{x}", if i == 0 { "" } else { "; " });
    }
    s
}

/// Turn legacy records into idx-addressed records, series by series (sorted), each series in
/// chain order from its root. Either every record is migrated or none is.
pub fn migrate<D>(records: Vec<LegacyRecord<D>>) -> Result<Vec<Record<D>>, LegacyError> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut series: BTreeMap<SeriesKey, Vec<LegacyRecord<D>>> = BTreeMap::new();
    for r in records {
        if !seen.insert(r.id) {
            problems.push(Problem::DuplicateId { id: r.id });
            continue;
        }
        series
            .entry(SeriesKey::new(r.host.id(), r.tag.clone()))
            .or_default()
            .push(r);
    }

    let mut out = Vec::new();
    for (key, recs) in series {
        let name = alloc::format!("{key}");
        // Where each id sits in `recs` (ids are unique here).
        let mut pos: BTreeMap<RecordId, usize> = BTreeMap::new();
        for (i, r) in recs.iter().enumerate() {
            pos.insert(r.id, i);
        }
        let mut children: BTreeMap<RecordId, Vec<RecordId>> = BTreeMap::new();
        let mut roots = Vec::new();
        for r in &recs {
            match r.parent {
                None => roots.push(r.id),
                Some(p) if !pos.contains_key(&p) => problems.push(Problem::MissingParent {
                    record: r.id,
                    parent: p,
                }),
                Some(p) => children.entry(p).or_default().push(r.id),
            }
        }
        for (parent, kids) in &children {
            if kids.len() > 1 {
                let mut kids = kids.clone();
                kids.sort_unstable();
                problems.push(Problem::Fork {
                    parent: *parent,
                    children: kids,
                });
            }
        }
        if roots.len() > 1 {
            roots.sort_unstable();
            problems.push(Problem::MultipleRoots {
                series: name.clone(),
                roots: roots.clone(),
            });
        }

        // Walk the chain from the root; whatever is never reached (and is not already
        // explained by a missing parent or fork) sits in a cycle.
        let mut order = Vec::new();
        let mut cur = roots.first().copied();
        let mut visited = BTreeSet::new();
        while let Some(id) = cur {
            if !visited.insert(id) {
                break;
            }
            order.push(id);
            cur = children.get(&id).and_then(|k| k.first().copied());
        }
        let mut explained = BTreeSet::new();
        for id in problems
            .iter()
            .flat_map(problem_ids)
            .chain(roots.iter().copied())
        {
            explained.insert(id);
        }
        // In id order, as `pos` is.
        let cyclic: Vec<RecordId> = pos
            .keys()
            .filter(|id| !visited.contains(*id) && !explained.contains(*id))
            .copied()
            .collect();
        if !cyclic.is_empty() && !descends_from_problem(&recs, &pos, &cyclic, &explained) {
            problems.push(Problem::Cycle {
                series: name,
                records: cyclic,
            });
        }

        if problems.is_empty() {
            let mut slots: Vec<Option<LegacyRecord<D>>> = recs.into_iter().map(Some).collect();
            for (idx, id) in order.into_iter().enumerate() {
                if let Some(r) = pos.get(&id).and_then(|&i| slots[i].take()) {
                    out.push(Record {
                        id: r.id,
                        idx: idx as u64,
                        host: match r.host {
                            LegacyHost::Host(h) => h,
                            LegacyHost::Id(id) => Host::new(id),
                        },
                        timestamp: r.timestamp,
                        version: r.version,
                        tag: r.tag,
                        data: r.data,
                    });
                }
            }
        }
    }

    if problems.is_empty() {
        Ok(out)
    } else {
        // Equal problems are identical, so an unstable sort then dedup is exact.
        problems.sort_unstable();
        problems.dedup();
        Err(LegacyError { problems })
    }
}

fn problem_ids(p: &Problem) -> Vec<RecordId> {
    match p {
        Problem::DuplicateId { id } => alloc::vec![*id],
        Problem::MissingParent { record, .. } => alloc::vec![*record],
        Problem::Fork { children, .. } => children.clone(),
        Problem::MultipleRoots { roots, .. } => roots.clone(),
        Problem::Cycle { records, .. } => records.clone(),
    }
}

/// True if every unreached record hangs below an already-reported problem (not a cycle).
fn descends_from_problem<D>(
    recs: &[LegacyRecord<D>],
    pos: &BTreeMap<RecordId, usize>,
    unreached: &[RecordId],
    explained: &BTreeSet<RecordId>,
) -> bool {
    let parent = |id: &RecordId| pos.get(id).and_then(|&i| recs[i].parent);
    unreached.iter().all(|start| {
        let mut cur = *start;
        let mut steps = 0usize;
        loop {
            if explained.contains(&cur) {
                return true;
            }
            match parent(&cur) {
                Some(p) if steps <= recs.len() => {
                    cur = p;
                    steps += 1;
                }
                _ => return false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use uuid::Uuid;

    fn id(n: u128) -> RecordId {
        RecordId(Uuid::from_u128(n))
    }

    fn rec(n: u128, host: u128, tag: &str, parent: Option<u128>) -> LegacyRecord<u8> {
        LegacyRecord {
            id: id(n),
            host: LegacyHost::Id(HostId(Uuid::from_u128(host))),
            parent: parent.map(id),
            timestamp: n as u64,
            version: Version::V0,
            tag: Tag::from(tag),
            data: n as u8,
        }
    }

    #[test]
    fn chain_becomes_idx_array() {
        // Given out of order, two series.
        let got = migrate(vec![
            rec(3, 1, "history", Some(2)),
            rec(1, 1, "history", None),
            rec(10, 1, "kv", None),
            rec(2, 1, "history", Some(1)),
            rec(11, 1, "kv", Some(10)),
        ])
        .unwrap();
        let seq: Vec<_> = got
            .iter()
            .map(|r| (r.tag.as_str(), r.idx, r.data))
            .collect();
        assert_eq!(
            seq,
            vec![
                ("history", 0, 1),
                ("history", 1, 2),
                ("history", 2, 3),
                ("kv", 0, 10),
                ("kv", 1, 11)
            ]
        );
    }

    #[test]
    fn json_host_as_object_and_bad_hosts_named() {
        let j = |host: &str| {
            alloc::format!(
                r#"{{"id":"00000000-0000-0000-0000-000000000001","host":{host},"timestamp":5,"version":"v0","tag":"history","data":"x"}}"#
            )
        };
        let r: LegacyRecord<String> = serde_json::from_str(&j(
            r#"{"id":"00000000-0000-0000-0000-000000000002","name":"box"}"#,
        ))
        .unwrap();
        assert_eq!(
            r.host,
            LegacyHost::Host(Host {
                id: HostId(Uuid::from_u128(2)),
                name: "box".into()
            })
        );
        for bad in [r#""not-a-uuid""#, "7", r#"{"name":"box"}"#] {
            let e = serde_json::from_str::<LegacyRecord<String>>(&j(bad)).unwrap_err();
            let e = alloc::format!("{e}");
            assert!(
                e.contains("host id") || e.contains("missing field `id`"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn json_with_bare_host_id() {
        let j = r#"{"id":"00000000-0000-0000-0000-000000000001","host":"00000000-0000-0000-0000-000000000002","parent":null,"timestamp":5,"version":"v0","tag":"history","data":"x"}"#;
        let r: LegacyRecord<String> = serde_json::from_str(j).unwrap();
        let m = migrate(vec![r]).unwrap();
        assert_eq!(m[0].idx, 0);
        assert_eq!(m[0].host.id, HostId(Uuid::from_u128(2)));
    }

    #[test]
    fn fork_is_named() {
        let e = migrate(vec![
            rec(1, 1, "h", None),
            rec(2, 1, "h", Some(1)),
            rec(3, 1, "h", Some(1)),
        ])
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![Problem::Fork {
                parent: id(1),
                children: vec![id(2), id(3)]
            }]
        );
    }

    #[test]
    fn missing_parent_and_its_descendants() {
        let e = migrate(vec![
            rec(1, 1, "h", None),
            rec(3, 1, "h", Some(9)),
            rec(4, 1, "h", Some(3)),
        ])
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![Problem::MissingParent {
                record: id(3),
                parent: id(9)
            }]
        );
        assert!(alloc::format!("{e}").contains("00000000-0000-0000-0000-000000000009"));
    }

    #[test]
    fn cycle_is_named() {
        let e = migrate(vec![
            rec(1, 1, "h", None),
            rec(5, 1, "h", Some(6)),
            rec(6, 1, "h", Some(5)),
        ])
        .unwrap_err();
        assert_eq!(
            e.problems,
            vec![Problem::Cycle {
                series: alloc::format!("{}/h", HostId(Uuid::from_u128(1))),
                records: vec![id(5), id(6)]
            }]
        );
        // A series that is only a cycle has no root at all.
        let e = migrate(vec![rec(5, 1, "h", Some(6)), rec(6, 1, "h", Some(5))]).unwrap_err();
        assert!(matches!(&e.problems[..], [Problem::Cycle { .. }]));
    }

    #[test]
    fn two_roots_and_duplicates() {
        let e = migrate(vec![
            rec(1, 1, "h", None),
            rec(2, 1, "h", None),
            rec(2, 1, "h", Some(1)),
        ])
        .unwrap_err();
        assert!(e.problems.contains(&Problem::DuplicateId { id: id(2) }));
        assert!(e
            .problems
            .iter()
            .any(|p| matches!(p, Problem::MultipleRoots { .. })));
    }

    #[test]
    fn parent_in_other_series_is_missing() {
        let e = migrate(vec![rec(1, 1, "h", None), rec(2, 2, "h", Some(1))]).unwrap_err();
        assert_eq!(
            e.problems,
            vec![Problem::MissingParent {
                record: id(2),
                parent: id(1)
            }]
        );
    }
}
