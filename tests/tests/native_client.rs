//! A native client on terrapin-core against the real worker (workerd + local D1). Ignored by a
//! plain `cargo test`: `make e2e` runs them with `--ignored` through `tests/with-worker.mjs`,
//! which starts the worker and sets TERRAPIN_URL.

use terrapin_core::crypto::{self, Key};
use terrapin_core::memory::MemoryStore;
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::random::{Entropy, OsEntropy};
use terrapin_core::record::{uuid_v7, HostId, Record, RecordId};
use terrapin_core::sample;
use terrapin_core::store::history::HistoryStore;
use terrapin_core::store::{meaning, Fold as _, Meaning, RecordOrigin};
use terrapin_core::sync::{self, SyncError};
use terrapin_tests::{block_on, Client};
use uuid::Uuid;

fn server() -> String {
    std::env::var("TERRAPIN_URL")
        .expect("TERRAPIN_URL is not set: run through tests/with-worker.mjs (make e2e)")
}

fn uuid() -> Uuid {
    let mut b = [0u8; 10];
    OsEntropy.fill(&mut b).unwrap();
    uuid_v7(1_700_000_000_000, b)
}

fn user(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid().simple().to_string()[20..])
}

/// `n` history entries of one host, as encrypted records idx `from..from+n`.
fn history(
    key: &Key,
    host: HostId,
    from: u64,
    payloads: Vec<HistoryRecord>,
) -> Vec<Record<terrapin_core::record::EncryptedData>> {
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let r = p.to_record(
                host,
                from + i as u64,
                RecordId(uuid()),
                1_700_000_000_000_000_000 + i as u64,
            );
            crypto::encrypt_record(&r, key, &mut OsEntropy).unwrap()
        })
        .collect()
}

/// A local store holding `records`.
fn holding(records: Vec<Record<terrapin_core::record::EncryptedData>>) -> MemoryStore {
    let store = MemoryStore::new();
    store.insert(&records).unwrap();
    store
}

fn entry(i: u64) -> History {
    History {
        id: HistoryId(uuid()),
        command: format!("echo {i}"),
        hostname: "native:test".into(),
        ..sample::history(i)
    }
}

fn build(store: &MemoryStore, key: &Key) -> HistoryStore {
    let mut h = HistoryStore::new();
    for r in store.all() {
        match meaning(&r, key) {
            Some(Meaning::History(x)) => h.fold(RecordOrigin::of(&r), x),
            Some(Meaning::Unreadable(why)) => panic!("record {}: {why}", r.id),
            _ => {}
        }
    }
    h
}

#[test]
#[ignore = "needs the worker: make e2e"]
fn push_pull_delete_through_the_worker() {
    let url = server();
    let key = Key::generate(&mut OsEntropy).unwrap();
    let name = user("native");
    let mut a = Client::new(&url);
    a.register(&name, "correct horse battery").unwrap();
    let mut b = Client::new(&url);
    b.login(&name, "correct horse battery").unwrap();

    // Host A writes 250 entries and syncs.
    let (host_a, host_b) = (HostId(uuid()), HostId(uuid()));
    let entries: Vec<_> = (0..250).map(entry).collect();
    let local_a = holding(history(
        &key,
        host_a,
        0,
        entries.iter().cloned().map(HistoryRecord::Create).collect(),
    ));
    let up = block_on(sync::sync(&local_a, &a, &key, 100, |_| {})).unwrap();
    assert_eq!(up.uploaded, 250);

    // Host B pulls everything and sees the same history.
    let local_b = MemoryStore::new();
    let down = block_on(sync::sync(&local_b, &b, &key, 100, |_| {})).unwrap();
    assert_eq!(down.downloaded, 250);
    assert_eq!(local_b.all(), local_a.all());
    assert_eq!(build(&local_b, &key).len(), 250);

    // B deletes one entry; A sees the deletion after syncing.
    local_b
        .insert(&history(
            &key,
            host_b,
            0,
            vec![HistoryRecord::Delete(entries[7].id)],
        ))
        .unwrap();
    block_on(sync::sync(&local_b, &b, &key, 100, |_| {})).unwrap();
    let r = block_on(sync::sync(&local_a, &a, &key, 100, |_| {})).unwrap();
    assert_eq!(r.downloaded, 1);
    let h = build(&local_a, &key);
    assert_eq!(h.len(), 249);
    assert!(h.get(&entries[7].id).is_none());
}

#[test]
#[ignore = "needs the worker: make e2e"]
fn a_wrong_key_uploads_nothing() {
    let url = server();
    let (good, bad) = (
        Key::generate(&mut OsEntropy).unwrap(),
        Key::generate(&mut OsEntropy).unwrap(),
    );
    let name = user("wrongkey");
    let mut a = Client::new(&url);
    a.register(&name, "hunter22hunter22").unwrap();
    let local = holding(history(
        &good,
        HostId(uuid()),
        0,
        vec![HistoryRecord::Create(entry(1))],
    ));
    block_on(sync::sync(&local, &a, &good, 100, |_| {})).unwrap();

    let other = holding(history(
        &bad,
        HostId(uuid()),
        0,
        vec![HistoryRecord::Create(entry(2))],
    ));
    let err = block_on(sync::sync(&other, &a, &bad, 100, |_| {})).unwrap_err();
    assert!(matches!(err, SyncError::WrongKey(_)), "{err}");
    let status = block_on(terrapin_core::sync::Remote::status(&a)).unwrap();
    assert_eq!(
        status.iter().count(),
        1,
        "only the first host's series is on the server"
    );
}
