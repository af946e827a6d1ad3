//! The legacy migration on a record store written by the real atuin 17.2.1
//! (tests/fixtures/atuin17, see its README): every record decrypts after migration, the kv
//! store reads what atuin 17 printed, a second migration adds nothing, and broken chains are
//! named with nothing returned.

use terrapin_core::crypto::{decrypt_record, Key};
use terrapin_core::legacy::{migrate, migration_host, unstored, LegacyRecord, Problem};
use terrapin_core::memory::MemoryStore;
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{EncryptedData, HostId, Tag};
use terrapin_core::store::kv::KvStore;
use terrapin_core::store::Fold;
use terrapin_core::sync::now_or_never;

#[path = "support/fixture_dir.rs"]
mod fixture_dir;
use fixture_dir::FixtureDir;

const DIR: FixtureDir<LegacyRecord<EncryptedData>> = FixtureDir::new(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/atuin17"
));

#[test]
fn every_record_decrypts_and_kv_reads_what_atuin_17_printed() {
    let (legacy, key) = DIR.fixture();
    assert_eq!(legacy.len(), 7);
    let host: HostId = DIR.read("host_id").trim().parse().unwrap();
    let m = migrate(legacy.clone(), &key, &mut OsEntropy).unwrap();
    assert_eq!(m.records.len(), 7);
    assert_eq!(m.series.len(), 1);
    assert_eq!((m.series[0].host, m.series[0].records), (host, 7));

    let mut kv = KvStore::new();
    for (i, r) in m.records.iter().enumerate() {
        assert_eq!(r.idx, i as u64);
        assert_eq!(r.host.id, migration_host(host));
        assert_eq!(r.tag, Tag::Kv);
        let d = decrypt_record(r, &key).unwrap();
        kv.apply(&d).unwrap();
    }
    // The chain order is atuin's write order: ids are UUIDv7 and timestamps ascend.
    assert!(m
        .records
        .windows(2)
        .all(|w| w[0].timestamp < w[1].timestamp));
    let want: Vec<(String, String, String)> = DIR
        .read("expected.tsv")
        .lines()
        .map(|l| {
            let (nk, v) = l.split_once('\t').unwrap();
            let (n, k) = nk.split_once(':').unwrap();
            (n.into(), k.into(), v.into())
        })
        .collect();
    assert_eq!(want.len(), 6);
    for (n, k, v) in &want {
        assert_eq!(kv.get(n, k), Some(v.as_str()), "{n}/{k}");
    }
    assert_eq!(kv.get("default", "editor"), Some("helix"));
    assert_eq!(kv.len(), 6);
    assert_eq!(
        kv.namespaces().collect::<Vec<_>>(),
        ["café", "default", "dotfiles"]
    );
}

#[test]
fn second_migration_is_a_no_op() {
    let (legacy, key) = DIR.fixture();
    let store = MemoryStore::new();
    let first = migrate(legacy.clone(), &key, &mut OsEntropy).unwrap();
    let new = now_or_never(unstored(&store, first.records))
        .unwrap()
        .unwrap();
    assert_eq!(new.len(), 7);
    store.insert(&new).unwrap();
    let second = migrate(legacy, &key, &mut OsEntropy).unwrap();
    let new = now_or_never(unstored(&store, second.records))
        .unwrap()
        .unwrap();
    assert!(new.is_empty());
    assert_eq!(store.all().len(), 7);
}

#[test]
fn wrong_key_names_every_record() {
    let (legacy, _) = DIR.fixture();
    let other = Key::from_bytes([9; 32]);
    let e = migrate(legacy.clone(), &other, &mut OsEntropy).unwrap_err();
    assert_eq!(e.problems.len(), 7);
    for r in &legacy {
        assert!(e.problems.contains(&Problem::Undecryptable {
            record: r.id,
            reason: format!(
                "wrong key for record {}: it was encrypted under key {}, but the given key is {}",
                r.id,
                serde_json::from_str::<serde_json::Value>(&r.data.content_encryption_key).unwrap()
                    ["kid"]
                    .as_str()
                    .unwrap(),
                other.id().to_owned()
            ),
        }));
    }
}

#[test]
fn broken_chains_name_their_records_and_return_nothing() {
    let (legacy, key) = DIR.fixture();
    // Missing parent: the third record is gone, the fourth names it.
    let mut gap = legacy.clone();
    let gone = gap.remove(2);
    let e = migrate(gap, &key, &mut OsEntropy).unwrap_err();
    assert_eq!(
        e.problems,
        vec![Problem::MissingParent {
            record: legacy[3].id,
            parent: gone.id
        }]
    );
    // Cycle: the root claims the last record as its parent. The root no longer decrypts (its
    // parent is bound), and the whole series is a cycle.
    let mut cyc = legacy.clone();
    cyc[0].parent = Some(legacy[6].id);
    let e = migrate(cyc, &key, &mut OsEntropy).unwrap_err();
    assert!(e.problems.iter().any(|p| matches!(p,
        Problem::Undecryptable { record, .. } if *record == legacy[0].id)));
    assert!(e.problems.iter().any(|p| matches!(p,
        Problem::Cycle { records, .. } if records.len() == 7)));
    // Fork: a second child of the root (a copy of record 2 under another id: it can't be
    // decrypted either, and both children are named).
    let mut fork = legacy.clone();
    let mut twin = legacy[1].clone();
    twin.id = "01a2320e-0000-7000-8000-000000000001".parse().unwrap();
    fork.push(twin.clone());
    let e = migrate(fork, &key, &mut OsEntropy).unwrap_err();
    let mut kids = vec![legacy[1].id, twin.id];
    kids.sort();
    assert!(e.problems.contains(&Problem::Fork {
        parent: legacy[0].id,
        children: kids
    }));
}
