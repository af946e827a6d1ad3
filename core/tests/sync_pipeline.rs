//! Downloads with requests in flight (docs/PROTOCOL.md §3): the starts the range gives, at most
//! `in_flight` waiting, answers gathered into stored pages while the next requests run, holes
//! wider than the requests ahead, and a cancelled sync that stores nothing more.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use terrapin_core::crypto::{encrypt_record, Key};
use terrapin_core::holes::{IdxRange, Missing, PlaceError};
use terrapin_core::memory::MemoryStore;
use terrapin_core::push::PushError;
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{HostId, Record, RecordId, RecordIdx, SeriesKey, Tag, Version};
use terrapin_core::status::Status;
use terrapin_core::sync::{self, EncRecord, LocalStore, Paging, Remote, SyncError};
use uuid::Uuid;

type Records<E> = Result<Vec<EncRecord>, E>;

fn history(host: u128) -> SeriesKey {
    SeriesKey::new(HostId(Uuid::from_u128(host)), Tag::History)
}

/// `n` encrypted records of `host`'s history series, idx 0 on.
fn series(key: &Key, host: u128, n: u64) -> Vec<EncRecord> {
    let s = history(host);
    let at = |idx: u64| {
        let id = RecordId(Uuid::from_u128((host << 64) | u128::from(idx)));
        Record::at(&s, idx, id, 1_700_000_000 + idx, Version::V1, vec![7])
    };
    (0..n)
        .map(|idx| encrypt_record(&at(idx), key, &mut OsEntropy).unwrap())
        .collect()
}

/// The in-memory server, paced by the test: the `n`th request answers once `opened >= n`;
/// `check` fails once `checks` runs out (a cancelled sync).
struct Paced<'a> {
    inner: &'a MemoryStore,
    opened: Cell<usize>,
    /// `(start, count)` of every `next`, in order.
    asked: RefCell<Vec<(u64, u64)>>,
    /// How many requests had been made at each `flush`.
    flushed: RefCell<Vec<usize>>,
    checks: Cell<u32>,
}

impl<'a> Paced<'a> {
    fn new(inner: &'a MemoryStore) -> Self {
        Self {
            inner,
            opened: Cell::new(usize::MAX),
            asked: RefCell::new(Vec::new()),
            flushed: RefCell::new(Vec::new()),
            checks: Cell::new(u32::MAX),
        }
    }
}

impl Remote for Paced<'_> {
    type Error = PushError;
    async fn status(&self) -> Result<Status, PushError> {
        Remote::status(self.inner).await
    }
    async fn next(&self, s: &SeriesKey, start: RecordIdx, count: u64) -> Records<PushError> {
        self.asked.borrow_mut().push((start, count));
        let ticket = self.asked.borrow().len();
        poll_fn(|_| match self.opened.get() >= ticket {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        self.inner.next(s, start, count).await
    }
    async fn push(&self, r: &[EncRecord]) -> Result<(), PushError> {
        self.inner.push(r).await
    }
    fn flush(&self) {
        let made = self.asked.borrow().len();
        self.flushed.borrow_mut().push(made);
    }
    fn check(&self) -> Result<(), PushError> {
        let left = self.checks.get();
        self.checks.set(left.saturating_sub(1));
        match left {
            0 => Err(PushError::NotAnArray),
            _ => Ok(()),
        }
    }
}

/// A local store whose appends each wait one poll; notes, per append, its size and how many
/// requests had been made when it began and when it ended.
struct Slow<'a> {
    inner: MemoryStore,
    remote: &'a Paced<'a>,
    appends: RefCell<Vec<(usize, usize, usize)>>,
}

impl LocalStore for Slow<'_> {
    type Error = PlaceError;
    async fn status(&self) -> Result<Status, PlaceError> {
        LocalStore::status(&self.inner).await
    }
    async fn missing(&self) -> Result<Missing, PlaceError> {
        self.inner.missing().await
    }
    async fn read(&self, s: &SeriesKey, at: RecordIdx, n: u64) -> Records<PlaceError> {
        LocalStore::read(&self.inner, s, at, n).await
    }
    async fn append(&self, page: &[EncRecord], skipped: &[IdxRange]) -> Result<(), PlaceError> {
        let asked = || self.remote.asked.borrow().len();
        let began = asked();
        let mut waited = false;
        poll_fn(|_| match std::mem::replace(&mut waited, true) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        self.appends.borrow_mut().push((page.len(), began, asked()));
        self.inner.append(page, skipped).await
    }
}

/// Syncs `n` records of one history series from a paced server into a [`Slow`] store with
/// `paging`: each time the sync waits, `arrive` more answers arrive, and never more than
/// `in_flight` requests wait. Then `check` looks at the report, the server and the store.
fn paced_sync(
    n: u64,
    paging: Paging,
    arrive: usize,
    mut progress: impl FnMut(u64),
    check: impl FnOnce(&sync::SyncReport, &Paced, &Slow),
) {
    let k = Key::from_bytes([10; 32]);
    let server = MemoryStore::new();
    server.insert(&series(&k, 4, n)).unwrap();
    let remote = Paced::new(&server);
    remote.opened.set(0);
    let local = Slow {
        inner: MemoryStore::new(),
        remote: &remote,
        appends: RefCell::new(Vec::new()),
    };
    let mut sync = pin!(sync::sync(&local, &remote, &k, paging, |p| progress(
        p.done
    )));
    let mut cx = Context::from_waker(Waker::noop());
    let report = loop {
        if let Poll::Ready(r) = sync.as_mut().poll(&mut cx) {
            break r.unwrap();
        }
        let waiting = remote
            .asked
            .borrow()
            .len()
            .saturating_sub(remote.opened.get());
        assert!(waiting <= paging.in_flight, "{waiting} requests waiting");
        remote.opened.set(remote.opened.get() + arrive);
    };
    assert_eq!(report.downloaded, n);
    assert!(local.inner.all() == server.all());
    check(&report, &remote, &local);
}

#[test]
fn requests_run_ahead_of_the_pages_being_stored() {
    let paging = Paging {
        request: 100,
        store: 300,
        in_flight: 4,
        together: 1,
    };
    let mut done = Vec::new();
    // Each time the sync waits, one more answer arrives.
    paced_sync(
        1000,
        paging,
        1,
        |d| done.push(d),
        |_, remote, local| {
            // The key check's sample, then every page asked for once, at the starts the range
            // gives.
            let asked = remote.asked.borrow();
            assert_eq!(asked[0], (0, 1));
            let want: Vec<(u64, u64)> = (0..10).map(|i| (i * 100, 100)).collect();
            assert_eq!(asked[1..], want[..]);
            // Answers gathered into pages of up to 300 records; requests went out while the
            // first page was being stored.
            let appends = local.appends.borrow();
            let sizes: Vec<usize> = appends.iter().map(|a| a.0).collect();
            assert_eq!(sizes, vec![300, 300, 300, 100]);
            assert!(appends[0].2 > appends[0].1, "{:?}", appends[0]);
        },
    );
    assert_eq!(done, vec![300, 600, 900, 1000]);
}

/// Syncs 2050 records in requests of 100, 8 in flight, made 4 together, pages of `store`
/// stored (each append waits once); `arrive` answers arrive each time the sync waits. How
/// many requests had been made at each flush.
fn flushes(store: u64, arrive: usize) -> Vec<usize> {
    let paging = Paging {
        request: 100,
        store,
        in_flight: 8,
        together: 4,
    };
    let mut flushed = Vec::new();
    paced_sync(
        2050,
        paging,
        arrive,
        |_| {},
        |_, remote, _| {
            flushed = remote.flushed.take();
            assert_eq!(*flushed.last().unwrap(), remote.asked.borrow().len());
        },
    );
    flushed
}

#[test]
fn requests_are_made_together_and_handed_over_at_once() {
    // After the key check's sample (request 1): 8 at once, then groups of 4, the last group
    // what is left of the range (21 pages); each group handed over once it was made.
    let flushed = flushes(400, 1);
    let groups: Vec<usize> = flushed.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(flushed[0], 1 + 8, "{flushed:?}");
    assert_eq!(groups, [4, 4, 4, 1], "{flushed:?}");
    // Answers arriving faster than pages of one answer are stored are held back (the
    // window): requests still wait until 4 can be made together.
    let flushed = flushes(100, 3);
    let groups: Vec<usize> = flushed.windows(2).map(|w| w[1] - w[0]).collect();
    let (last, rest) = groups.split_last().unwrap();
    assert!(rest.iter().all(|g| *g >= 4), "{flushed:?}");
    assert!(*last >= 1, "{flushed:?}");
}

#[test]
fn a_hole_wider_than_the_requests_ahead_is_stepped_over_once() {
    let k = Key::from_bytes([11; 32]);
    let server = MemoryStore::new();
    let mut all = series(&k, 2, 1000);
    server.insert(&all).unwrap();
    // The requests from 200 to 600 all answer from 621 on: only the first of them says
    // anything new, the others are dropped.
    server.remove(&history(2), IdxRange::new(150, 620));
    let local = MemoryStore::new();
    let paging = Paging {
        request: 100,
        store: 250,
        in_flight: 8,
        together: 1,
    };
    let r = sync::now_or_never(sync::sync(&local, &server, &k, paging, |_| {}))
        .unwrap()
        .unwrap();
    assert_eq!(r.downloaded, 1000 - 471);
    assert_eq!(r.damaged[0].missing, vec![IdxRange::new(150, 620)]);
    all.drain(150..=620);
    assert!(local.all() == all);
    let holes = sync::now_or_never(LocalStore::missing(&local))
        .unwrap()
        .unwrap();
    assert_eq!(holes[&history(2)], vec![IdxRange::new(150, 620)]);
}

#[test]
fn a_cancelled_sync_stores_no_answer_it_already_holds_and_resumes() {
    let k = Key::from_bytes([12; 32]);
    let server = MemoryStore::new();
    let all = series(&k, 3, 1000);
    server.insert(&all).unwrap();
    let local = MemoryStore::new();
    // Every answer is in hand at once (8 requests ahead); cancelled after two stored pages.
    let remote = Paced::new(&server);
    remote.checks.set(2);
    let run = |remote| sync::now_or_never(sync::sync(&local, remote, &k, 100, |_| {})).unwrap();
    let err = run(&remote).unwrap_err();
    assert!(matches!(err, SyncError::Remote(_)), "{err}");
    assert!(local.all() == all[..200]);
    remote.checks.set(u32::MAX);
    assert_eq!(run(&remote).unwrap().downloaded, 800);
    assert!(local.all() == all);
}
