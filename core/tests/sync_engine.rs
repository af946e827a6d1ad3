//! The sync engine over in-memory stores: upload, download, wrong key, cut-off and resume.

use std::cell::Cell;

use terrapin_core::crypto::{self, Key};
use terrapin_core::memory::{MemoryError, MemoryStore};
use terrapin_core::plan::Direction;
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{
    DecryptedData, Host, HostId, Record, RecordId, RecordIdx, SeriesKey, Tag, Version,
};
use terrapin_core::status::Status;
use terrapin_core::sync::{self, EncRecord, LocalStore, Remote, SyncError};
use uuid::Uuid;

fn records(key: &Key, host: u128, tag: &str, n: u64) -> Vec<EncRecord> {
    (0..n)
        .map(|idx| {
            let r = Record {
                id: RecordId(Uuid::from_u128(
                    (host << 64) | (u128::from(tag.len() as u8) << 56) | u128::from(idx),
                )),
                idx,
                host: Host::new(HostId(Uuid::from_u128(host))),
                timestamp: 1_700_000_000_000_000_000 + idx,
                version: Version::V1,
                tag: Tag::from(tag),
                data: DecryptedData(idx.to_le_bytes().to_vec()),
            };
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
        seen.push((p.direction, p.done, p.total, p.all_done, p.all_total))
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

/// A remote that fails every call after a budget runs out: a connection cut at any point.
struct Flaky<'a> {
    inner: &'a MemoryStore,
    budget: Cell<u32>,
}

impl Flaky<'_> {
    fn spend(&self) -> Result<(), MemoryError> {
        match self.budget.get() {
            0 => Err(MemoryError::Gap {
                series: SeriesKey::new(HostId(Uuid::nil()), Tag::Kv),
                idx: 0,
            }),
            n => {
                self.budget.set(n - 1);
                Ok(())
            }
        }
    }
}

impl Remote for Flaky<'_> {
    type Error = MemoryError;
    async fn status(&self) -> Result<Status, MemoryError> {
        self.spend()?;
        Remote::status(self.inner).await
    }
    async fn next(
        &self,
        s: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, MemoryError> {
        self.spend()?;
        self.inner.next(s, start, count).await
    }
    async fn push(&self, r: &[EncRecord]) -> Result<(), MemoryError> {
        self.spend()?;
        self.inner.push(r).await?;
        // The push landed but the answer is lost half of the time.
        if r.len() % 2 == 1 {
            return Err(MemoryError::Gap {
                series: r[0].series(),
                idx: r[0].idx,
            });
        }
        Ok(())
    }
}

#[test]
fn cut_off_syncs_resume_without_loss_or_duplicates() {
    let k = key(3);
    let server = MemoryStore::new();
    let other = records(&k, 7, "history", 333);
    server.insert(&other).unwrap();
    let local = MemoryStore::new();
    let mine = records(&k, 1, "history", 257);
    local.insert(&mine).unwrap();

    for budget in [0, 1, 2, 3, 5, 8] {
        let flaky = Flaky {
            inner: &server,
            budget: Cell::new(budget),
        };
        let _ = run(sync::sync(&local, &flaky, &k, 50, |_| {}));
    }
    let done = run(sync::sync(&local, &server, &k, 50, |_| {})).unwrap();
    let _ = done;
    let mut want = other.clone();
    want.extend(mine);
    want.sort_by_key(|r| (r.series(), r.idx));
    let mut got = local.all();
    got.sort_by_key(|r| (r.series(), r.idx));
    assert_eq!(got, want);
    assert_eq!(server.all().len(), want.len());
    assert_eq!(
        run(LocalStore::status(&local)).unwrap(),
        run(Remote::status(&server)).unwrap()
    );
}

/// A remote that answers pages with a hole in them.
struct Holey(MemoryStore);

impl Remote for Holey {
    type Error = MemoryError;
    async fn status(&self) -> Result<Status, MemoryError> {
        Remote::status(&self.0).await
    }
    async fn next(
        &self,
        s: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, MemoryError> {
        let mut v = self.0.next(s, start, count).await?;
        if v.len() > 2 {
            v.remove(1);
        }
        Ok(v)
    }
    async fn push(&self, r: &[EncRecord]) -> Result<(), MemoryError> {
        self.0.push(r).await
    }
}

#[test]
fn a_page_with_a_gap_is_refused_and_nothing_is_stored() {
    let k = key(4);
    let remote = Holey(MemoryStore::new());
    remote.0.insert(&records(&k, 5, "kv", 10)).unwrap();
    let local = MemoryStore::new();
    let err = run(sync::sync(&local, &remote, &k, 100, |_| {})).unwrap_err();
    assert!(matches!(err, SyncError::BadPage { .. }), "{err}");
    assert!(local.all().is_empty());
}

/// A remote that caps every answer at 7 records, as a server with a smaller page size does.
struct Capped(MemoryStore);

impl Remote for Capped {
    type Error = MemoryError;
    async fn status(&self) -> Result<Status, MemoryError> {
        Remote::status(&self.0).await
    }
    async fn next(
        &self,
        s: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, MemoryError> {
        self.0.next(s, start, count.min(7)).await
    }
    async fn push(&self, r: &[EncRecord]) -> Result<(), MemoryError> {
        self.0.push(r).await
    }
}

#[test]
fn short_pages_from_the_server_are_followed_up() {
    let k = key(5);
    let remote = Capped(MemoryStore::new());
    remote.0.insert(&records(&k, 5, "history", 45)).unwrap();
    let local = MemoryStore::new();
    let r = run(sync::sync(&local, &remote, &k, 20, |_| {})).unwrap();
    assert_eq!(r.downloaded, 45);
    assert_eq!(local.all(), remote.0.all());
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    terrapin_core::sync::now_or_never(f).expect("in-memory stores never wait")
}
