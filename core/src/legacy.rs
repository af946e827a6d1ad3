//! Migration of legacy linked-list records (atuin <= 17: a `parent` link instead of an `idx`)
//! to idx records that atuin 18 and this project read (docs/PROTOCOL.md §6).
//!
//! Atuin <= 17 bound each record's ciphertext to `{"id","version","tag","host","parent"}`;
//! atuin 18 binds `{"id","idx","version","tag","host"}`. Keeping the ciphertext would give
//! records nobody can open, so [`migrate`] decrypts every record under the legacy assertion,
//! orders each series by its parent chain, and re-encrypts each record under the current
//! envelope at its new idx, in the series of [`migration_host`] of its old host (so it never
//! collides with the series that host writes itself once upgraded). Every re-encrypted record
//! is decrypted again and compared before it is returned. Either every record is migrated or
//! none is, and the error names every record that stood in the way.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::envelope::{decrypt_legacy, decrypt_record, encrypt_record};
use crate::crypto::Key;
use crate::random::Entropy;
use crate::record::{
    DecryptedData, EncryptedData, Host, HostId, Record, RecordId, RecordIdx, SeriesKey, Tag,
    Version,
};
use crate::status::Status;
use crate::sync::LocalStore;

/// Domain separation for [`migration_host`]; changing it would migrate the same store twice.
const MIGRATION_HOST_DOMAIN: &[u8] = b"terrapin legacy migration host v1\0";

/// The host id that a legacy host's series are migrated to: a UUIDv8 made of the first 16 bytes
/// of SHA-256(`"terrapin legacy migration host v1\0"` || the 16 bytes of the legacy host id).
/// Deterministic, so migrating the same store again (from any browser) lands in the same
/// series; distinct from the legacy id, so it never meets the series an upgraded host keeps
/// writing under its own id.
pub fn migration_host(legacy: HostId) -> HostId {
    let mut h = Sha256::new();
    h.update(MIGRATION_HOST_DOMAIN);
    h.update(legacy.0.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    HostId(uuid::Builder::from_custom_bytes(b).into_uuid())
}

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

/// One legacy series (host, tag) as found in the input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesFound {
    /// The legacy host id.
    pub host: HostId,
    pub tag: Tag,
    /// Records of this series in the input.
    pub records: u64,
    /// Where the series goes: [`migration_host`] of `host`.
    pub migrated_host: HostId,
}

/// The series of `records`, sorted by (legacy host, tag).
pub fn survey<D>(records: &[LegacyRecord<D>]) -> Vec<SeriesFound> {
    let mut n: BTreeMap<SeriesKey, u64> = BTreeMap::new();
    for r in records {
        *n.entry(SeriesKey::new(r.host.id(), r.tag.clone()))
            .or_default() += 1;
    }
    n.into_iter()
        .map(|(k, records)| SeriesFound {
            migrated_host: migration_host(k.host),
            host: k.host,
            tag: k.tag,
            records,
        })
        .collect()
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
    /// The record does not decrypt with the given key under the legacy assertion (`reason`
    /// names the record and says why: wrong key, altered ciphertext, malformed fields…).
    Undecryptable { record: RecordId, reason: String },
    /// The re-encrypted record did not decrypt back to the same payload (never expected).
    CheckFailed { record: RecordId, reason: String },
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
            Self::Undecryptable { reason, .. } => f.write_str(reason),
            Self::CheckFailed { record, reason } => {
                write!(
                    f,
                    "record {record} did not read back after re-encryption: {reason}"
                )
            }
        }
    }
}

/// The legacy store can't be migrated without losing or guessing; every problem is listed
/// (sorted), beside the series that were found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("legacy records can't be migrated: {}", join(.problems))]
pub struct LegacyError {
    pub problems: Vec<Problem>,
    pub series: Vec<SeriesFound>,
}

fn join(p: &[Problem]) -> String {
    use fmt::Write;
    let mut s = String::new();
    for (i, x) in p.iter().enumerate() {
        let _ = write!(s, "{}{x}", if i == 0 { "" } else { "; " });
    }
    s
}

/// One legacy series in chain order, from its root.
pub type Chain<D> = (SeriesKey, Vec<LegacyRecord<D>>);

/// Order legacy records by their parent chains: series by series (sorted by legacy host, then
/// tag), each from its root, as `(series, records)`. Every fork, cycle, missing parent, second
/// root and duplicate id is reported (sorted), and then nothing is returned.
pub fn order<D>(records: Vec<LegacyRecord<D>>) -> Result<Vec<Chain<D>>, Vec<Problem>> {
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
            let chain: Vec<LegacyRecord<D>> = order
                .into_iter()
                .filter_map(|id| pos.get(&id).and_then(|&i| slots[i].take()))
                .collect();
            out.push((key, chain));
        }
    }

    if problems.is_empty() {
        Ok(out)
    } else {
        Err(sorted(problems))
    }
}

/// Equal problems are identical, so an unstable sort then dedup is exact.
fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_unstable();
    problems.dedup();
    problems
}

/// Legacy records migrated: re-encrypted, checked, in idx order per series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Series by series (in the order of [`survey`]), each from idx 0.
    pub records: Vec<Record<EncryptedData>>,
    pub series: Vec<SeriesFound>,
}

/// Migrate legacy records with the account's master `key` (docs/PROTOCOL.md §6): decrypt each
/// under the legacy assertion, order each series by its chain, and re-encrypt each record
/// (same id, timestamp, version, tag and payload) at its idx in the series of
/// [`migration_host`] of its legacy host, then decrypt it again and compare. Either every
/// record is migrated or none is: the error lists every record that can't be decrypted and
/// every broken chain.
pub fn migrate<E: Entropy + ?Sized>(
    records: Vec<LegacyRecord<EncryptedData>>,
    key: &Key,
    entropy: &mut E,
) -> Result<Migration, LegacyError> {
    let series = survey(&records);
    let mut problems = Vec::new();
    let opened: Vec<LegacyRecord<Option<DecryptedData>>> = records
        .into_iter()
        .map(|r| {
            let plain = decrypt_legacy(
                r.id,
                &r.version,
                &r.tag,
                r.host.id(),
                r.parent,
                &r.data,
                key,
            )
            .map_err(|e| {
                problems.push(Problem::Undecryptable {
                    record: r.id,
                    reason: e.to_string(),
                })
            })
            .ok();
            LegacyRecord {
                id: r.id,
                host: r.host,
                parent: r.parent,
                timestamp: r.timestamp,
                version: r.version,
                tag: r.tag,
                data: plain,
            }
        })
        .collect();
    let chains = order(opened).map_err(|p| problems.extend(p));
    let (Ok(chains), true) = (chains, problems.is_empty()) else {
        return Err(LegacyError {
            problems: sorted(problems),
            series,
        });
    };

    let mut out = Vec::new();
    for (key_, chain) in chains {
        let host = migration_host(key_.host);
        for (idx, r) in chain.into_iter().enumerate() {
            let Some(plain) = r.data else { continue };
            let rec = Record {
                id: r.id,
                idx: idx as RecordIdx,
                host: Host {
                    id: host,
                    name: match r.host {
                        LegacyHost::Host(h) => h.name,
                        LegacyHost::Id(_) => String::new(),
                    },
                },
                timestamp: r.timestamp,
                version: r.version,
                tag: r.tag,
                data: plain,
            };
            let check = encrypt_record(&rec, key, entropy).and_then(|enc| {
                let back = decrypt_record(&enc, key)?;
                Ok((enc, back.data == rec.data))
            });
            match check {
                Ok((enc, true)) => out.push(enc),
                Ok((_, false)) => problems.push(Problem::CheckFailed {
                    record: rec.id,
                    reason: "the payload read back differs".into(),
                }),
                Err(e) => problems.push(Problem::CheckFailed {
                    record: rec.id,
                    reason: e.to_string(),
                }),
            }
        }
    }
    if problems.is_empty() {
        Ok(Migration {
            records: out,
            series,
        })
    } else {
        Err(LegacyError {
            problems: sorted(problems),
            series,
        })
    }
}

/// Why migrated records could not be matched against a local store.
#[derive(Debug, thiserror::Error)]
pub enum UnstoredError<E: fmt::Display> {
    #[error("reading the local store: {0}")]
    Store(E),
    #[error(
        "series {series} already holds record {held} at idx {idx}, where the migration puts \
         record {migrated}: this store was not migrated from the same legacy records"
    )]
    Conflict {
        series: SeriesKey,
        idx: RecordIdx,
        held: RecordId,
        migrated: RecordId,
    },
    #[error("the local store says it holds idx {idx} of {series}, but has no record there")]
    Missing { series: SeriesKey, idx: RecordIdx },
}

/// The migrated `records` (as [`migrate`] returns them) that `store` does not hold yet, so
/// that a second migration of the same legacy store adds nothing, and one of a store that
/// grew since adds only the new records. Where a series is already held, the last record the
/// two share must have the same id, else nothing is returned.
pub async fn unstored<L: LocalStore>(
    store: &L,
    records: Vec<Record<EncryptedData>>,
) -> Result<Vec<Record<EncryptedData>>, UnstoredError<L::Error>> {
    let status: Status = store.status().await.map_err(UnstoredError::Store)?;
    // Per series: the last migrated idx the store also holds, and the id migrated there. A
    // list (one per series, records come series by series) sorted by series, not a map: one
    // `BTreeMap` instantiation less in the browser's wasm.
    let mut shared: Vec<(SeriesKey, RecordIdx, RecordId)> = Vec::new();
    for r in &records {
        let series = r.series();
        if status.get(&series).is_some_and(|last| r.idx <= last) {
            match shared.iter_mut().rev().find(|s| s.0 == series) {
                Some(s) => (s.1, s.2) = (r.idx, r.id),
                None => shared.push((series, r.idx, r.id)),
            }
        }
    }
    crate::sort::sort_cold_by(&mut shared, |a, b| a.0.cmp(&b.0));
    for (series, idx, migrated) in &shared {
        let held = store
            .read(series, *idx, 1)
            .await
            .map_err(UnstoredError::Store)?;
        match held.first() {
            Some(h) if h.id == *migrated => {}
            Some(h) => {
                return Err(UnstoredError::Conflict {
                    series: series.clone(),
                    idx: *idx,
                    held: h.id,
                    migrated: *migrated,
                })
            }
            None => {
                return Err(UnstoredError::Missing {
                    series: series.clone(),
                    idx: *idx,
                })
            }
        }
    }
    Ok(records
        .into_iter()
        .filter(|r| status.get(&r.series()).is_none_or(|last| r.idx > last))
        .collect())
}

fn problem_ids(p: &Problem) -> Vec<RecordId> {
    match p {
        Problem::DuplicateId { id } => alloc::vec![*id],
        Problem::MissingParent { record, .. } => alloc::vec![*record],
        Problem::Fork { children, .. } => children.clone(),
        Problem::MultipleRoots { roots, .. } => roots.clone(),
        Problem::Cycle { records, .. } => records.clone(),
        Problem::Undecryptable { record, .. } | Problem::CheckFailed { record, .. } => {
            alloc::vec![*record]
        }
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

    /// [`order`], flattened to idx records under the legacy host ids (the chain rules only).
    fn migrate<D>(v: Vec<LegacyRecord<D>>) -> Result<Vec<Record<D>>, LegacyError> {
        let chains = order(v).map_err(|problems| LegacyError {
            problems,
            series: vec![],
        })?;
        Ok(chains
            .into_iter()
            .flat_map(|(_, c)| {
                c.into_iter().enumerate().map(|(i, r)| Record {
                    id: r.id,
                    idx: i as u64,
                    host: Host::new(r.host.id()),
                    timestamp: r.timestamp,
                    version: r.version,
                    tag: r.tag,
                    data: r.data,
                })
            })
            .collect())
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

    /// What [`migrate`] names for the series `h` of host 1 made of these (record, parent).
    fn broken(chain: &[(u128, Option<u128>)]) -> LegacyError {
        let records = chain.iter().map(|&(n, parent)| rec(n, 1, "h", parent));
        migrate(records.collect()).unwrap_err()
    }

    #[test]
    fn forks_missing_parents_and_cycles_are_named() {
        let series = alloc::format!("{}/h", HostId(Uuid::from_u128(1)));
        let cases = [
            (
                vec![(1, None), (2, Some(1)), (3, Some(1))],
                Problem::Fork {
                    parent: id(1),
                    children: vec![id(2), id(3)],
                },
            ),
            // Only the missing parent is named, not its descendants.
            (
                vec![(1, None), (3, Some(9)), (4, Some(3))],
                Problem::MissingParent {
                    record: id(3),
                    parent: id(9),
                },
            ),
            (
                vec![(1, None), (5, Some(6)), (6, Some(5))],
                Problem::Cycle {
                    series,
                    records: vec![id(5), id(6)],
                },
            ),
        ];
        for (chain, want) in cases {
            assert_eq!(broken(&chain).problems, [want]);
        }
        let e = broken(&[(1, None), (3, Some(9)), (4, Some(3))]);
        assert!(alloc::format!("{e}").contains("00000000-0000-0000-0000-000000000009"));
        // A series that is only a cycle has no root at all.
        let e = broken(&[(5, Some(6)), (6, Some(5))]);
        assert!(matches!(&e.problems[..], [Problem::Cycle { .. }]));
    }

    #[test]
    fn two_roots_and_duplicates() {
        let e = broken(&[(1, None), (2, None), (2, Some(1))]);
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

    mod crypto {
        use super::*;
        use crate::crypto::envelope::encrypt_legacy;
        use crate::crypto::{decrypt_record, CryptoError};
        use crate::legacy::migrate;
        use crate::memory::MemoryStore;
        use crate::payload::kv::KvRecord;
        use crate::random::OsEntropy;
        use crate::sync::now_or_never;

        fn key(n: u8) -> Key {
            Key::from_bytes([n; 32])
        }

        fn kv(ns: &str, k: &str, v: &str) -> DecryptedData {
            // v0: what atuin <= 17 wrote.
            let mut b = alloc::vec![0x93];
            for s in [ns, k, v] {
                assert!(s.len() < 32);
                b.push(0xa0 | s.len() as u8);
                b.extend_from_slice(s.as_bytes());
            }
            DecryptedData(b)
        }

        /// A legacy kv record `n` of `host` after `parent`, sealed under the legacy assertion.
        fn sealed(
            n: u128,
            host: u128,
            parent: Option<u128>,
            value: &str,
            k: &Key,
        ) -> LegacyRecord<EncryptedData> {
            let (id, host, parent) = (id(n), HostId(Uuid::from_u128(host)), parent.map(id));
            let data = encrypt_legacy(
                id,
                &Version::V0,
                &Tag::Kv,
                host,
                parent,
                &kv("ns", "k", value),
                k,
                &mut OsEntropy,
            )
            .unwrap();
            LegacyRecord {
                id,
                host: LegacyHost::Id(host),
                parent,
                timestamp: 1_000 + n as u64,
                version: Version::V0,
                tag: Tag::Kv,
                data,
            }
        }

        #[test]
        fn reencrypted_records_decrypt_at_their_idx() {
            let k = key(1);
            let input = vec![
                sealed(3, 1, Some(2), "c", &k),
                sealed(1, 1, None, "a", &k),
                sealed(2, 1, Some(1), "b", &k),
                sealed(9, 2, None, "z", &k),
            ];
            let m = migrate(input.clone(), &k, &mut OsEntropy).unwrap();
            assert_eq!(m.records.len(), 4);
            let h1 = migration_host(HostId(Uuid::from_u128(1)));
            let h2 = migration_host(HostId(Uuid::from_u128(2)));
            let got: Vec<_> = m
                .records
                .iter()
                .map(|r| {
                    let d = decrypt_record(r, &k).unwrap();
                    let v = KvRecord::decode(&d.version, &d.data.0).unwrap().value;
                    (r.host.id, r.idx, r.id, r.timestamp, v.unwrap())
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (h1, 0, id(1), 1001, "a".into()),
                    (h1, 1, id(2), 1002, "b".into()),
                    (h1, 2, id(3), 1003, "c".into()),
                    (h2, 0, id(9), 1009, "z".into()),
                ]
            );
            assert_eq!(
                m.series,
                vec![
                    SeriesFound {
                        host: HostId(Uuid::from_u128(1)),
                        tag: Tag::Kv,
                        records: 3,
                        migrated_host: h1
                    },
                    SeriesFound {
                        host: HostId(Uuid::from_u128(2)),
                        tag: Tag::Kv,
                        records: 1,
                        migrated_host: h2
                    },
                ]
            );
            // Keeping the ciphertext (the old migration) gives a record nobody can open.
            let kept = m.records[0].with_data(input[1].data.clone());
            assert!(matches!(
                decrypt_record(&kept, &k),
                Err(CryptoError::TokenAuthentication { .. })
            ));
        }

        #[test]
        fn legacy_assertion_bytes() {
            use crate::crypto::legacy_implicit_assertion;
            let h = HostId(Uuid::from_u128(0xab));
            assert_eq!(
                legacy_implicit_assertion(id(1), &Version::V0, &Tag::Kv, h, None).unwrap(),
                r#"{"id":"00000000-0000-0000-0000-000000000001","version":"v0","tag":"kv","host":"00000000-0000-0000-0000-0000000000ab","parent":null}"#
            );
            assert_eq!(
                legacy_implicit_assertion(id(2), &Version::V1, &Tag::from("a\"b"), h, Some(id(1)))
                    .unwrap(),
                r#"{"id":"00000000-0000-0000-0000-000000000002","version":"v1","tag":"a\"b","host":"00000000-0000-0000-0000-0000000000ab","parent":"00000000-0000-0000-0000-000000000001"}"#
            );
        }

        #[test]
        fn migration_host_is_fixed_and_new() {
            let legacy = HostId("0190a4f0-aaaa-7bbb-8ccc-ddddeeeeffff".parse().unwrap());
            let m = migration_host(legacy);
            assert_ne!(m, legacy);
            assert_eq!(m, migration_host(legacy));
            assert_eq!(m.0.get_version_num(), 8);
            // Frozen (docs/PROTOCOL.md §6): another value would migrate the same store into a
            // second series.
            assert_eq!(
                alloc::format!("{m}"),
                "7a381525-dc44-877a-a0ee-2ce5bcff91b1"
            );
        }

        #[test]
        fn wrong_key_names_every_record_and_returns_nothing() {
            let input = vec![
                sealed(1, 1, None, "a", &key(1)),
                sealed(2, 1, Some(1), "b", &key(1)),
            ];
            let e = migrate(input, &key(2), &mut OsEntropy).unwrap_err();
            let named: Vec<_> = e
                .problems
                .iter()
                .map(|p| match p {
                    Problem::Undecryptable { record, reason } => {
                        assert!(reason.contains("wrong key"), "{reason}");
                        *record
                    }
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(named, vec![id(1), id(2)]);
            assert_eq!(e.series.len(), 1);
            assert!(alloc::format!("{e}").contains(&alloc::format!("{}", id(2))));
        }

        #[test]
        fn parent_is_bound_even_when_null() {
            let k = key(1);
            // Record 2 claims no parent although it was sealed with parent 1, and record 1 is
            // sealed as a child but claims to be the root.
            let mut a = sealed(1, 1, Some(7), "a", &k);
            a.parent = None;
            let mut b = sealed(2, 1, Some(1), "b", &k);
            b.parent = Some(id(1));
            let e = migrate(vec![a, b], &k, &mut OsEntropy).unwrap_err();
            assert_eq!(e.problems.len(), 1, "{e}");
            assert!(matches!(
                &e.problems[0],
                Problem::Undecryptable { record, reason }
                    if *record == id(1) && reason.contains("parent none")
            ));
        }

        #[test]
        fn broken_chains_are_named_and_nothing_is_written() {
            let k = key(1);
            let fork = vec![
                sealed(1, 1, None, "a", &k),
                sealed(2, 1, Some(1), "b", &k),
                sealed(3, 1, Some(1), "c", &k),
                sealed(9, 2, None, "fine", &k),
            ];
            let e = migrate(fork, &k, &mut OsEntropy).unwrap_err();
            assert_eq!(
                e.problems,
                vec![Problem::Fork {
                    parent: id(1),
                    children: vec![id(2), id(3)]
                }]
            );
            let missing = vec![sealed(1, 1, None, "a", &k), sealed(3, 1, Some(2), "c", &k)];
            let e = migrate(missing, &k, &mut OsEntropy).unwrap_err();
            assert_eq!(
                e.problems,
                vec![Problem::MissingParent {
                    record: id(3),
                    parent: id(2)
                }]
            );
            let cycle = vec![
                sealed(1, 1, None, "a", &k),
                sealed(5, 1, Some(6), "x", &k),
                sealed(6, 1, Some(5), "y", &k),
            ];
            let e = migrate(cycle, &k, &mut OsEntropy).unwrap_err();
            assert!(
                matches!(&e.problems[..], [Problem::Cycle { records, .. }] if *records == vec![id(5), id(6)])
            );
        }

        #[test]
        fn second_migration_adds_nothing_and_a_grown_store_adds_the_rest() {
            let k = key(1);
            let mut input = vec![sealed(1, 1, None, "a", &k), sealed(2, 1, Some(1), "b", &k)];
            let store = MemoryStore::new();
            let first = migrate(input.clone(), &k, &mut OsEntropy).unwrap().records;
            let new = now_or_never(unstored(&store, first)).unwrap().unwrap();
            assert_eq!(new.len(), 2);
            store.insert(&new).unwrap();

            let again = migrate(input.clone(), &k, &mut OsEntropy).unwrap().records;
            let new = now_or_never(unstored(&store, again)).unwrap().unwrap();
            assert!(new.is_empty());

            input.push(sealed(3, 1, Some(2), "c", &k));
            let grown = migrate(input, &k, &mut OsEntropy).unwrap().records;
            let new = now_or_never(unstored(&store, grown)).unwrap().unwrap();
            assert_eq!(
                new.iter().map(|r| (r.id, r.idx)).collect::<Vec<_>>(),
                [(id(3), 2)]
            );

            // Other legacy records for the same host: refused, nothing returned.
            let other = migrate(vec![sealed(8, 1, None, "q", &k)], &k, &mut OsEntropy)
                .unwrap()
                .records;
            let e = now_or_never(unstored(&store, other)).unwrap().unwrap_err();
            assert!(matches!(e, UnstoredError::Conflict { idx: 0, .. }), "{e}");
        }
    }
}
