//! Migration of legacy linked-list records (`parent` instead of `idx`) to idx arrays.

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
///
/// Built on sorted vectors rather than maps: the same results, less code in the wasm.
pub fn migrate<D>(records: Vec<LegacyRecord<D>>) -> Result<Vec<Record<D>>, LegacyError> {
    let mut problems = Vec::new();
    // The first record with an id is kept; later ones are duplicates.
    let mut by_id: Vec<(RecordId, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id, i as u32))
        .collect();
    by_id.sort_unstable();
    let mut keep = alloc::vec![true; records.len()];
    for w in by_id.windows(2) {
        if w[0].0 == w[1].0 {
            keep[w[1].1 as usize] = false;
            problems.push(Problem::DuplicateId { id: w[1].0 });
        }
    }
    // Series in key order, each in input order.
    let mut members: Vec<(SeriesKey, u32)> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, r)| (SeriesKey::new(r.host.id(), r.tag.clone()), i as u32))
        .collect();
    members.sort_unstable();
    let mut slots: Vec<Option<LegacyRecord<D>>> = records.into_iter().map(Some).collect();
    let mut visited = alloc::vec![false; slots.len()];

    let mut out = Vec::new();
    for series in members.chunk_by(|a, b| a.0 == b.0) {
        let name = alloc::format!("{}", series[0].0);
        let order = {
            let slot = |i: u32| slots[i as usize].as_ref();
            let parent_of = |i: u32| slot(i).and_then(|r| r.parent);
            let id_of = |i: u32| slot(i).map(|r| r.id);
            // This series' ids, sorted, with where each record sits.
            let mut ids: Vec<(RecordId, u32)> = series
                .iter()
                .filter_map(|&(_, i)| Some((id_of(i)?, i)))
                .collect();
            ids.sort_unstable();
            let find = |id: &RecordId| {
                ids.binary_search_by(|(x, _)| x.cmp(id))
                    .ok()
                    .map(|k| ids[k].1)
            };
            // (parent, child position): sorted, each parent's children are in input order.
            let mut children: Vec<(RecordId, u32)> = Vec::new();
            let mut roots = Vec::new();
            for &(_, i) in series {
                let Some(id) = id_of(i) else { continue };
                match parent_of(i) {
                    None => roots.push(id),
                    Some(p) if find(&p).is_none() => problems.push(Problem::MissingParent {
                        record: id,
                        parent: p,
                    }),
                    Some(p) => children.push((p, i)),
                }
            }
            children.sort_unstable();
            let kids_of = |p: &RecordId| {
                let from = children.partition_point(|(x, _)| x < p);
                let to = children.partition_point(|(x, _)| x <= p);
                &children[from..to]
            };
            for group in children.chunk_by(|a, b| a.0 == b.0) {
                if group.len() > 1 {
                    let mut kids: Vec<RecordId> =
                        group.iter().filter_map(|&(_, i)| id_of(i)).collect();
                    kids.sort_unstable();
                    problems.push(Problem::Fork {
                        parent: group[0].0,
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
            while let Some((id, i)) = cur.and_then(|id| Some((id, find(&id)?))) {
                if core::mem::replace(&mut visited[i as usize], true) {
                    break;
                }
                order.push(i);
                cur = kids_of(&id).first().and_then(|&(_, c)| id_of(c));
            }
            let mut explained: Vec<RecordId> = problems
                .iter()
                .flat_map(problem_ids)
                .chain(roots.iter().copied())
                .collect();
            explained.sort_unstable();
            let is_explained = |id: &RecordId| explained.binary_search(id).is_ok();
            // In id order.
            let cyclic: Vec<RecordId> = ids
                .iter()
                .filter(|(id, i)| !visited[*i as usize] && !is_explained(id))
                .map(|&(id, _)| id)
                .collect();
            // Whether every unreached record hangs below a reported problem (not a cycle).
            let below_problem = cyclic.iter().all(|start| {
                let mut cur = *start;
                for _ in 0..=series.len() {
                    if is_explained(&cur) {
                        return true;
                    }
                    match find(&cur).and_then(parent_of) {
                        Some(p) => cur = p,
                        None => return false,
                    }
                }
                false
            });
            if !cyclic.is_empty() && !below_problem {
                problems.push(Problem::Cycle {
                    series: name,
                    records: cyclic,
                });
            }
            order
        };

        if problems.is_empty() {
            for (idx, i) in order.into_iter().enumerate() {
                if let Some(r) = slots[i as usize].take() {
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
