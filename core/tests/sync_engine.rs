//! The sync engine over in-memory stores: upload, download, wrong key, cut-off and resume,
//! damaged remotes (holes at the start, middle and end of a series), records under another key.

use std::cell::Cell;

use terrapin_core::crypto::{self, Key};
use terrapin_core::holes::{IdxRange, Missing};
use terrapin_core::memory::MemoryStore;
use terrapin_core::plan::Direction;
use terrapin_core::push::PushError;
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{HostId, Record, RecordId, RecordIdx, SeriesKey, Tag, Version};
use terrapin_core::status::Status;
use terrapin_core::sync::{
    self, Damage, EncRecord, KeyCheck, LocalStore, Remote, SeriesError, SyncError,
};
use uuid::Uuid;

fn records(key: &Key, host: u128, tag: &str, n: u64) -> Vec<EncRecord> {
    (0..n)
        .map(|idx| {
            let id = RecordId(Uuid::from_u128(
                (host << 64) | (u128::from(tag.len() as u8) << 56) | u128::from(idx),
            ));
            let series = SeriesKey::new(HostId(Uuid::from_u128(host)), Tag::from(tag));
            let ts = 1_700_000_000_000_000_000 + idx;
            let r = Record::at(
                &series,
                idx,
                id,
                ts,
                Version::V1,
                idx.to_le_bytes().to_vec(),
            );
            crypto::encrypt_record(&r, key, &mut OsEntropy).unwrap()
        })
        .collect()
}

fn key(b: u8) -> Key {
    Key::from_bytes([b; 32])
}

#[test]
fn two_clients_converge_through_the_remote() {
    let k = key(1);
    let (a, b, server) = (MemoryStore::new(), MemoryStore::new(), MemoryStore::new());
    a.insert(&records(&k, 1, "history", 250)).unwrap();
    a.insert(&records(&k, 1, "kv", 3)).unwrap();
    b.insert(&records(&k, 2, "history", 7)).unwrap();

    let ra = run(sync::sync(&a, &server, &k, 100, |_| {})).unwrap();
    assert_eq!((ra.uploaded, ra.downloaded), (253, 0));
    let rb = run(sync::sync(&b, &server, &k, 100, |_| {})).unwrap();
    assert_eq!((rb.uploaded, rb.downloaded), (7, 253));
    let ra = run(sync::sync(&a, &server, &k, 100, |_| {})).unwrap();
    assert_eq!((ra.uploaded, ra.downloaded), (0, 7));
    assert_eq!(a.all(), server.all());
    assert_eq!(b.all(), server.all());
    // Nothing left to do.
    let again = run(sync::sync(&a, &server, &k, 100, |_| {})).unwrap();
    assert_eq!((again.uploaded, again.downloaded), (0, 0));
}

#[test]
fn progress_counts_up_to_the_totals() {
    let k = key(1);
    let (a, server) = (MemoryStore::new(), MemoryStore::new());
    server.insert(&records(&k, 9, "history", 230)).unwrap();
    let mut seen = Vec::new();
    run(sync::sync(&a, &server, &k, 100, |p| {
        seen.push((p.direction, p.done, p.total, p.all_done, p.all_total));
        assert!(p.missing.is_empty());
    }))
    .unwrap();
    assert_eq!(
        seen,
        vec![
            (Direction::Download, 100, 230, 100, 230),
            (Direction::Download, 200, 230, 200, 230),
            (Direction::Download, 230, 230, 230, 230)
        ]
    );
}

#[test]
fn wrong_key_is_caught_before_any_upload() {
    let (good, bad) = (key(1), key(2));
    let (a, b, server) = (MemoryStore::new(), MemoryStore::new(), MemoryStore::new());
    a.insert(&records(&good, 1, "history", 5)).unwrap();
    run(sync::sync(&a, &server, &good, 100, |_| {})).unwrap();
    let before = server.all();

    b.insert(&records(&bad, 2, "history", 5)).unwrap();
    let err = run(sync::sync(&b, &server, &bad, 100, |_| {})).unwrap_err();
    assert!(matches!(err, SyncError::WrongKey(_)), "{err}");
    assert_eq!(server.all(), before, "nothing may reach the server");
    assert!(
        b.all()
            .iter()
            .all(|r| r.host.id == HostId(Uuid::from_u128(2))),
        "nothing downloaded"
    );
}

/// The in-memory server with something wrong with it; each field set changes its answers.
#[derive(Default)]
struct Tampered {
    inner: MemoryStore,
    /// Calls left before every call fails (a connection cut at any point); then pushes of an
    /// odd number of records land, but their answer is lost.
    budget: Cell<Option<u32>>,
    /// Pages of this series come back in reverse order.
    garbled: Option<SeriesKey>,
    /// The status claims these last idx: more than the server holds (holes at the end).
    tips: Status,
    /// Every page capped at this many records, as a server with a smaller page size.
    cap: Option<u64>,
}

/// The error a cut connection gives (any error will do).
fn cut() -> PushError {
    PushError::NotAnArray
}

impl Tampered {
    fn spend(&self) -> Result<(), PushError> {
        match self.budget.get() {
            Some(0) => Err(cut()),
            Some(n) => {
                self.budget.set(Some(n - 1));
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Remote for Tampered {
    type Error = PushError;
    async fn status(&self) -> Result<Status, PushError> {
        self.spend()?;
        let mut st = Remote::status(&self.inner).await?;
        for (s, i) in self.tips.iter() {
            st.bump(s, i);
        }
        Ok(st)
    }
    async fn next(
        &self,
        s: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, PushError> {
        self.spend()?;
        let count = self.cap.map_or(count, |cap| count.min(cap));
        let mut v = self.inner.next(s, start, count).await?;
        if self.garbled.as_ref() == Some(s) {
            v.reverse();
        }
        Ok(v)
    }
    async fn push(&self, r: &[EncRecord]) -> Result<(), PushError> {
        self.spend()?;
        self.inner.push(r).await?;
        if self.budget.get().is_some() && r.len() % 2 == 1 {
            return Err(cut());
        }
        Ok(())
    }
}

#[test]
fn cut_off_syncs_resume_without_loss_or_duplicates() {
    let k = key(3);
    let flaky = Tampered::default();
    let server = &flaky.inner;
    let other = records(&k, 7, "history", 333);
    server.insert(&other).unwrap();
    let local = MemoryStore::new();
    let mine = records(&k, 1, "history", 257);
    local.insert(&mine).unwrap();

    for budget in [0, 1, 2, 3, 5, 8] {
        flaky.budget.set(Some(budget));
        let _ = run(sync::sync(&local, &flaky, &k, 50, |_| {}));
    }
    run(sync::sync(&local, server, &k, 50, |_| {})).unwrap();
    let mut want = other.clone();
    want.extend(mine);
    want.sort_by_key(|r| (r.series(), r.idx));
    let mut got = local.all();
    got.sort_by_key(|r| (r.series(), r.idx));
    assert_eq!(got, want);
    assert_eq!(server.all().len(), want.len());
    assert_eq!(
        run(LocalStore::status(&local)).unwrap(),
        run(Remote::status(server)).unwrap()
    );
}

#[test]
fn a_garbled_page_stops_its_series_only() {
    let k = key(4);
    let bad = SeriesKey::new(HostId(Uuid::from_u128(5)), Tag::Kv);
    let remote = Tampered {
        garbled: Some(bad.clone()),
        ..Tampered::default()
    };
    let good = records(&k, 6, "kv", 10);
    remote.inner.insert(&records(&k, 5, "kv", 10)).unwrap();
    remote.inner.insert(&good).unwrap();
    let local = MemoryStore::new();
    let r = run(sync::sync(&local, &remote, &k, 100, |_| {})).unwrap();
    assert_eq!(r.downloaded, 10);
    assert_eq!(
        r.damaged,
        vec![Damage {
            series: bad,
            missing: vec![],
            error: Some(SeriesError::BadPage {
                start: 0,
                reason: "idx not ascending"
            }),
        }]
    );
    assert!(local.all() == good, "only the good series is stored");
}

fn sk(host: u128, tag: &str) -> SeriesKey {
    SeriesKey::new(HostId(Uuid::from_u128(host)), Tag::from(tag))
}

fn ir(first: u64, last: u64) -> IdxRange {
    IdxRange::new(first, last)
}

#[test]
fn holes_at_start_middle_and_end_are_stepped_over_reported_and_filled_later() {
    let k = key(6);
    // Every record made once (encryption is random), handed out by series.
    let made: std::collections::BTreeMap<(u128, &str), Vec<EncRecord>> = [
        ((1, "history"), 50),
        ((1, "kv"), 7),
        ((2, "history"), 120),
        ((2, "kv"), 3),
        ((3, "history"), 100),
        ((4, "history"), 250),
        ((9, "kv"), 12),
    ]
    .into_iter()
    .map(|((h, t), n)| ((h, t), records(&k, h, t, n)))
    .collect();
    let full = |host: u128, tag: &'static str, n: usize| made[&(host, tag)][..n].to_vec();
    let remote = Tampered {
        tips: [(sk(3, "history"), 99)].into_iter().collect(),
        ..Tampered::default()
    };
    // Damaged: host 1 history lacks 0..=4 (start); host 2 history lacks 40..=59 and 70
    // (middle); host 3 history holds 0..=89 but the server says 99 (end).
    // Healthy: host 1 kv, host 4 history (250 records), host 2 kv.
    for (host, tag, n) in [
        (1, "history", 50),
        (1, "kv", 7),
        (2, "history", 120),
        (2, "kv", 3),
        (3, "history", 90),
        (4, "history", 250),
    ] {
        remote.inner.insert(&full(host, tag, n)).unwrap();
    }
    remote.inner.remove(&sk(1, "history"), ir(0, 4));
    remote.inner.remove(&sk(2, "history"), ir(40, 59));
    remote.inner.remove(&sk(2, "history"), ir(70, 70));
    let local = MemoryStore::new();
    // Also upload a series of our own while the others are damaged.
    local.insert(&full(9, "kv", 12)).unwrap();

    let mut events = Vec::new();
    let r = run(sync::sync(&local, &remote, &k, 30, |p| {
        events.push(p.clone())
    }))
    .unwrap();
    let want_damage = vec![
        Damage {
            series: sk(1, "history"),
            missing: vec![ir(0, 4)],
            error: None,
        },
        Damage {
            series: sk(2, "history"),
            missing: vec![ir(40, 59), ir(70, 70)],
            error: None,
        },
        Damage {
            series: sk(3, "history"),
            missing: vec![ir(90, 99)],
            error: None,
        },
    ];
    assert_eq!(r.damaged, want_damage);
    assert_eq!(r.uploaded, 12);
    assert_eq!(r.downloaded, (45 + 7 + 99 + 3 + 90 + 250) as u64);
    assert!(
        matches!(r.key_check, KeyCheck::Verified { .. }),
        "{:?}",
        r.key_check
    );
    // every healthy series synced completely, the damaged ones up to and past their holes
    for (host, tag, n) in [
        (1, "kv", 7),
        (2, "kv", 3),
        (4, "history", 250),
        (9, "kv", 12),
    ] {
        let got = run(LocalStore::read(&local, &sk(host, tag), 0, 1000)).unwrap();
        assert!(got == full(host, tag, n), "{host}/{tag}");
    }
    assert!(run(remote.inner.next(&sk(9, "kv"), 0, 100)).unwrap() == full(9, "kv", 12));
    let have = |host, tag| -> Vec<u64> {
        run(LocalStore::read(&local, &sk(host, tag), 0, 1000))
            .unwrap()
            .iter()
            .map(|r| r.idx)
            .collect()
    };
    assert_eq!(have(1, "history"), (5..50).collect::<Vec<_>>());
    let mid: Vec<u64> = (0..40).chain(60..70).chain(71..120).collect();
    assert_eq!(have(2, "history"), mid);
    assert_eq!(have(3, "history"), (0..90).collect::<Vec<_>>());
    // the local store keeps the holes it stepped over (the end hole is above its last idx)
    let missing: Missing = run(LocalStore::missing(&local)).unwrap();
    assert_eq!(
        missing,
        [
            (sk(1, "history"), vec![ir(0, 4)]),
            (sk(2, "history"), vec![ir(40, 59), ir(70, 70)]),
        ]
        .into_iter()
        .collect()
    );
    // progress names the holes as they are found, and reaches the totals
    let last_of = |s: &SeriesKey| events.iter().rev().find(|p| p.series == *s).unwrap();
    let p = last_of(&sk(2, "history"));
    assert_eq!((p.done, p.total), (120, 120));
    assert_eq!(p.missing, vec![ir(40, 59), ir(70, 70)]);
    assert_eq!(last_of(&sk(3, "history")).missing, vec![ir(90, 99)]);
    let end = events.last().unwrap();
    assert_eq!(end.all_done, end.all_total);

    // A second sync with nothing filled: the holes are asked for again, and reported again.
    let again = run(sync::sync(&local, &remote, &k, 30, |_| {})).unwrap();
    assert_eq!((again.uploaded, again.downloaded), (0, 0));
    assert_eq!(again.damaged, want_damage);

    // The server gets the missing records back (as an import would): the next sync completes
    // every series.
    remote.inner.insert(&full(1, "history", 50)).unwrap();
    remote.inner.insert(&full(2, "history", 120)).unwrap();
    remote.inner.insert(&full(3, "history", 100)).unwrap();
    let healed = run(sync::sync(&local, &remote, &k, 30, |_| {})).unwrap();
    assert_eq!(healed.damaged, vec![]);
    assert_eq!(healed.downloaded, 5 + 21 + 10);
    assert_eq!(run(LocalStore::missing(&local)).unwrap(), Missing::new());
    let mut want = remote.inner.all();
    want.sort_by_key(|r| (r.series(), r.idx));
    assert!(
        local.all() == want,
        "local and remote hold the same records"
    );
}

#[test]
fn a_partly_filled_hole_keeps_the_rest_missing() {
    let k = key(7);
    let remote = MemoryStore::new();
    let all = records(&k, 1, "history", 30);
    remote.insert(&all).unwrap();
    remote.remove(&sk(1, "history"), ir(10, 19));
    let local = MemoryStore::new();
    run(sync::sync(&local, &remote, &k, 100, |_| {})).unwrap();
    remote.insert(&all[12..14]).unwrap();
    remote.insert(&all[17..18]).unwrap();
    let r = run(sync::sync(&local, &remote, &k, 4, |_| {})).unwrap();
    assert_eq!(r.downloaded, 3);
    assert_eq!(
        r.damaged[0].missing,
        vec![ir(10, 11), ir(14, 16), ir(18, 19)]
    );
    assert_eq!(
        run(LocalStore::missing(&local)).unwrap()[&sk(1, "history")],
        vec![ir(10, 11), ir(14, 16), ir(18, 19)]
    );
}

#[test]
fn records_written_under_another_key_are_never_uploaded() {
    let (a, b) = (key(1), key(2));
    // Written offline under key A; then the user switches to key B.
    let local = MemoryStore::new();
    let under_b = records(&b, 1, "kv", 2);
    local.insert(&records(&a, 1, "history", 5)).unwrap();
    local.insert(&under_b).unwrap();
    let server = MemoryStore::new();
    let r = run(sync::sync(&local, &server, &b, 100, |_| {})).unwrap();
    assert_eq!(r.key_check, KeyCheck::NothingSynced);
    let d = &r.damaged;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].series, sk(1, "history"));
    assert_eq!(
        d[0].error,
        Some(SeriesError::ForeignKey {
            idx: 0,
            record_kid: a.id().to_owned(),
            key_kid: b.id().to_owned(),
        })
    );
    let msg = d[0].error.as_ref().unwrap().to_string();
    assert!(msg.contains("another key") && msg.contains(a.id()), "{msg}");
    // nothing of the foreign series reached the server; the series under B did
    assert!(server.all() == under_b, "only the series under B went up");
    assert_eq!(r.uploaded, 2);

    // Also when the server already holds records under B: the check passes, the upload stops.
    let mixed = MemoryStore::new();
    let mut mine = records(&b, 3, "history", 4);
    mixed.insert(&mine).unwrap();
    run(sync::sync(&mixed, &server, &b, 100, |_| {})).unwrap();
    // two more records, the second written under A: only the first goes up
    let later = records(&a, 3, "history", 6);
    mine.push(crypto::reencrypt_record(&later[4], &a, &b, &mut OsEntropy).unwrap());
    mixed.insert(&[mine[4].clone(), later[5].clone()]).unwrap();
    let r = run(sync::sync(&mixed, &server, &b, 100, |_| {})).unwrap();
    assert!(matches!(r.key_check, KeyCheck::Verified { .. }));
    assert_eq!(r.uploaded, 1);
    assert!(matches!(
        r.damaged[0].error,
        Some(SeriesError::ForeignKey { idx: 5, .. })
    ));
    assert_eq!(
        run(Remote::status(&server)).unwrap().get(&sk(3, "history")),
        Some(4)
    );
}

#[test]
fn the_key_check_samples_a_record_that_exists() {
    let (good, bad) = (key(1), key(2));
    // The only series on the server starts with a hole: the sample is its first stored record.
    let server = MemoryStore::new();
    server.insert(&records(&good, 1, "history", 10)).unwrap();
    server.remove(&sk(1, "history"), ir(0, 3));
    let local = MemoryStore::new();
    local.insert(&records(&bad, 2, "kv", 3)).unwrap();
    let err = run(sync::sync(&local, &server, &bad, 100, |_| {})).unwrap_err();
    assert!(matches!(err, SyncError::WrongKey(_)), "{err}");
    assert_eq!(server.all().len(), 6, "nothing uploaded");
    // With the right key, the sample is idx 4, read from the server and then locally.
    let local = MemoryStore::new();
    local.insert(&records(&good, 2, "kv", 3)).unwrap();
    let r = run(sync::sync(&local, &server, &good, 100, |_| {})).unwrap();
    assert_eq!(
        r.key_check,
        KeyCheck::Verified {
            series: sk(1, "history"),
            idx: 4
        }
    );
    let err = run(sync::sync(&local, &server, &bad, 100, |_| {})).unwrap_err();
    assert!(matches!(err, SyncError::WrongKey(_)), "{err}");
}

#[test]
fn nothing_readable_to_check_the_key_against_is_named_and_uploads_nothing() {
    let k = key(1);
    // The server lists a series whose every record is gone (only its status says otherwise),
    // and another whose first record's wrapped key is damaged.
    let mut garbled = records(&k, 2, "history", 3);
    for r in &mut garbled {
        r.data.content_encryption_key = "{}".into();
    }
    let remote = Tampered {
        tips: [(sk(1, "kv"), 9)].into_iter().collect(),
        ..Tampered::default()
    };
    remote.inner.insert(&garbled).unwrap();
    let local = MemoryStore::new();
    local.insert(&records(&k, 3, "kv", 2)).unwrap();
    let r = run(sync::sync(&local, &remote, &k, 100, |_| {})).unwrap();
    assert_eq!(r.key_check, KeyCheck::NothingReadable);
    assert_eq!(r.uploaded, 0);
    let mine = r.damaged.iter().find(|d| d.series == sk(3, "kv")).unwrap();
    assert_eq!(mine.error, Some(SeriesError::KeyUnchecked));
    assert!(remote
        .inner
        .all()
        .iter()
        .all(|r| r.host.id != HostId(Uuid::from_u128(3))));
    // downloads still ran: the damaged records are stored, the empty series reported
    assert_eq!(r.downloaded, 3);
    let empty = r.damaged.iter().find(|d| d.series == sk(1, "kv")).unwrap();
    assert_eq!(empty.missing, vec![ir(0, 9)]);
}

#[test]
fn a_local_hole_stops_the_upload_at_the_hole() {
    let k = key(8);
    let local = MemoryStore::new();
    let mut mine = records(&k, 1, "kv", 10);
    mine.remove(6);
    local.insert(&mine).unwrap();
    let server = MemoryStore::new();
    let r = run(sync::sync(&local, &server, &k, 4, |_| {})).unwrap();
    assert_eq!(r.uploaded, 6);
    assert_eq!(r.damaged[0].error, Some(SeriesError::LocalHole { idx: 6 }));
    assert_eq!(
        run(Remote::status(&server)).unwrap().get(&sk(1, "kv")),
        Some(5)
    );
}

#[test]
fn short_pages_from_the_server_are_followed_up() {
    let k = key(5);
    let remote = Tampered {
        cap: Some(7),
        ..Tampered::default()
    };
    remote.inner.insert(&records(&k, 5, "history", 45)).unwrap();
    let local = MemoryStore::new();
    let r = run(sync::sync(&local, &remote, &k, 20, |_| {})).unwrap();
    assert_eq!(r.downloaded, 45);
    assert_eq!(local.all(), remote.inner.all());
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    terrapin_core::sync::now_or_never(f).expect("in-memory stores never wait")
}
