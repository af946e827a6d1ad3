//! The sync engine, written against two host traits: the local store and the remote
//! (docs/PROTOCOL.md §3). Runtime-free async (usable from wasm); each page is committed on its
//! own, so a sync cut off at any point resumes from the statuses next time, losing and
//! duplicating nothing. A damaged series (holes on the server, records under another key)
//! never stops the others: it is synced as far as it can be and named in the [`SyncReport`].
//!
//! Downloads keep several requests in flight: their starts follow from the range the statuses
//! give (`first`, `first + request`, …), and answers are checked and stored in idx order while
//! the next ones arrive ([`Paging`]).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::crypto::{self, CryptoError, Key};
use crate::holes::{IdxRange, Missing};
use crate::plan::{self, Direction, Transfer};
use crate::record::{RecordIdx, SeriesKey};
use crate::status::Status;

pub use crate::record::EncRecord;

/// A local record store (IndexedDB in the browser, memory in tests).
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    type Error: fmt::Display;
    /// Last idx of every series held.
    async fn status(&self) -> Result<Status, Self::Error>;
    /// The holes of every series that has some: idx below its last idx it lacks.
    async fn missing(&self) -> Result<Missing, Self::Error>;
    /// The records of `series` with idx in `start..start + count`, ascending (fewer where the
    /// series has holes).
    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, Self::Error>;
    /// Store one page of records of one series, atomically, by the rule of
    /// [`crate::holes::place`]: each record fills a hole or continues the series, and `skipped`
    /// (ranges the page steps over because the server lacks them) become holes.
    async fn append(&self, page: &[EncRecord], skipped: &[IdxRange]) -> Result<(), Self::Error>;
}

/// The sync server.
#[allow(async_fn_in_trait)]
pub trait Remote {
    type Error: fmt::Display;
    async fn status(&self) -> Result<Status, Self::Error>;
    /// Up to `count` records of `series` with idx from `start` on, ascending (a server with
    /// holes steps over them; it may answer fewer than asked, and nothing only past its last
    /// record).
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, Self::Error>;
    /// Store a batch; identical records already stored are accepted.
    async fn push(&self, records: &[EncRecord]) -> Result<(), Self::Error>;
    /// The requests made since the last call have all been made (each polled once): a host
    /// that gathers requests to send them together sends them now.
    fn flush(&self) {}
    /// Whether the sync may go on (a host's cancellation): asked before each downloaded page
    /// is stored, since answers already fetched need no further call.
    fn check(&self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// How a sync pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// Records per download request (a server answers at most its page size) and per upload
    /// step read from the local store.
    pub request: u64,
    /// Most records per stored page: consecutive answers are gathered into one append up to
    /// this many (a single larger answer is stored alone).
    pub store: u64,
    /// Download requests under way at once.
    pub in_flight: usize,
    /// Download requests made together: new ones wait until this many can be made at once
    /// (a host may send them in one message, [`Remote::flush`]). At least 1.
    pub together: usize,
}

/// Download requests under way at once unless told otherwise (as the atuin CLI).
pub const IN_FLIGHT: usize = 8;

impl From<u64> for Paging {
    /// Pages of `n` records, requested and stored alike, [`IN_FLIGHT`] requests at once.
    fn from(n: u64) -> Self {
        Self {
            request: n,
            store: n,
            in_flight: IN_FLIGHT,
            together: 1,
        }
    }
}

/// Where a sync stands, reported after every page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub series: SeriesKey,
    pub direction: Direction,
    /// Idx covered for this series so far (moved, or found missing on the server), and in all.
    pub done: u64,
    pub total: u64,
    /// Idx covered over the whole sync so far, and in all.
    pub all_done: u64,
    pub all_total: u64,
    /// Idx of this series the server could not give, so far in this sync.
    pub missing: Vec<IdxRange>,
}

/// What the key was checked against before anything moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// The server holds no encrypted series: the first upload sets the key.
    NothingSynced,
    /// The key opened the wrapped key of this record.
    Verified { series: SeriesKey, idx: RecordIdx },
    /// The server lists encrypted series but none had a record whose key could be read (every
    /// sample missing or damaged): the key is unchecked, so nothing is uploaded.
    NothingReadable,
}

/// Why one series stopped syncing; the other series go on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error(
        "record idx {idx} was written under another key ({record_kid}, this key is {key_kid}): \
         nothing of the series from idx {idx} on was uploaded"
    )]
    ForeignKey {
        idx: RecordIdx,
        record_kid: String,
        key_kid: String,
    },
    #[error("record idx {idx} can't be uploaded: {reason}")]
    Unreadable { idx: RecordIdx, reason: String },
    #[error("the local store lacks idx {idx}: nothing past it was uploaded")]
    LocalHole { idx: RecordIdx },
    #[error("the server answered a bad page from idx {start}: {reason}")]
    BadPage {
        start: RecordIdx,
        reason: &'static str,
    },
    #[error("not uploaded: the key could not be checked, no record on the server could be read")]
    KeyUnchecked,
}

/// A series that did not sync completely. It is tried again on the next sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    pub series: SeriesKey,
    /// Idx the server lacks (its holes, at the start, middle or end of the series): the records
    /// around them synced.
    pub missing: Vec<IdxRange>,
    /// Why the series stopped, if it did.
    pub error: Option<SeriesError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub uploaded: u64,
    pub downloaded: u64,
    pub key_check: KeyCheck,
    /// Every series that did not sync completely, sorted by series.
    pub damaged: Vec<Damage>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError<L: fmt::Display, R: fmt::Display> {
    #[error("local store: {0}")]
    Local(L),
    #[error("remote: {0}")]
    Remote(R),
    #[error("the key does not match the records already synced ({0}); nothing was uploaded")]
    WrongKey(CryptoError),
}

type Fail<L, R> = SyncError<<L as LocalStore>::Error, <R as Remote>::Error>;

/// Sync `local` and `remote`, paging by `paging` (a number: pages of that many records). Every
/// series is synced as far as it can be: holes on the server are stepped over and reported, a
/// series that can't go on is reported with its [`SeriesError`], and the others continue. Only
/// a failing store or connection, or a wrong key, stops the whole sync.
pub async fn sync<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    key: &Key,
    paging: impl Into<Paging>,
    mut on_progress: impl FnMut(&Progress),
) -> Result<SyncReport, Fail<L, R>> {
    let engine = Engine {
        local,
        remote,
        key,
        paging: paging.into(),
    };
    // One callback type below: the transfers' code is the same whatever the caller passes.
    let on_progress: &mut dyn FnMut(&Progress) = &mut on_progress;
    let (transfers, local_status, key_check) = engine.prepare().await?;
    let all_total: u64 = transfers.iter().map(Transfer::len).sum();
    let mut report = SyncReport {
        uploaded: 0,
        downloaded: 0,
        key_check,
        damaged: Vec::new(),
    };
    let mut all_done = 0;
    // Few series are damaged: a list, sorted by series at the end.
    let mut damage: Vec<Damage> = Vec::new();
    for t in &transfers {
        let stopped = damage
            .iter()
            .any(|d| d.series == t.series && d.error.is_some());
        if stopped {
            all_done += t.len();
            continue;
        }
        let mut step = Step {
            transfer: t,
            done: 0,
            moved: 0,
            missing: Vec::new(),
            all_done,
            all_total,
            on_progress: &mut *on_progress,
        };
        let outcome = match t.direction {
            Direction::Download => {
                // Only the part above the local last idx extends the series; the rest fills
                // holes the store already knows.
                let extends = local_status.get(&t.series).is_none_or(|l| t.first > l);
                engine.download(extends, &mut step).await?
            }
            Direction::Upload if report.key_check == KeyCheck::NothingReadable => {
                Err(SeriesError::KeyUnchecked)
            }
            Direction::Upload => engine.upload(&mut step).await?,
        };
        all_done += t.len();
        match t.direction {
            Direction::Download => report.downloaded += step.moved,
            Direction::Upload => report.uploaded += step.moved,
        }
        if outcome.is_err() || !step.missing.is_empty() {
            let at = match damage.iter().position(|d| d.series == t.series) {
                Some(at) => at,
                None => {
                    damage.push(Damage {
                        series: t.series.clone(),
                        missing: Vec::new(),
                        error: None,
                    });
                    damage.len() - 1
                }
            };
            damage[at].missing.extend(step.missing);
            damage[at].error = outcome.err();
        }
    }
    crate::sort::sort_cold_by(&mut damage, |a, b| a.series.cmp(&b.series));
    report.damaged = damage;
    Ok(report)
}

/// What every transfer of one sync works with.
struct Engine<'a, L, R> {
    local: &'a L,
    remote: &'a R,
    key: &'a Key,
    paging: Paging,
}

impl<L: LocalStore, R: Remote> Engine<'_, L, R> {
    /// The transfers of this sync, from both statuses and the local holes; the local status;
    /// and the key, checked before anything moves.
    async fn prepare(&self) -> Result<(Vec<Transfer>, Status, KeyCheck), Fail<L, R>> {
        let local_status = self.local.status().await.map_err(SyncError::Local)?;
        let missing = self.local.missing().await.map_err(SyncError::Local)?;
        let remote_status = self.remote.status().await.map_err(SyncError::Remote)?;
        let key_check = self
            .verify_key(&local_status, &missing, &remote_status)
            .await?;
        let transfers = plan::plan_with_holes(&local_status, &remote_status, &missing);
        Ok((transfers, local_status, key_check))
    }

    /// Download `transfer.first..=transfer.last`. Requests go ahead of the answers being stored
    /// ([`Ahead`]); answers are taken in idx order, each continuing from `at`, the first idx not
    /// yet covered: records below it (an earlier answer stepped past the request's start) are
    /// dropped, and idx it steps over are missing on the server. Answers are gathered into pages
    /// of up to `paging.store` records, each stored in one append while the next requests run;
    /// the idx stepped over are noted as missing (and, when `extends`, declared to the store as
    /// skipped). An empty answer means the server lacks the rest of the range.
    async fn download(
        &self,
        extends: bool,
        step: &mut Step<'_>,
    ) -> Result<Result<(), SeriesError>, Fail<L, R>> {
        let (remote, paging) = (self.remote, &self.paging);
        let t = step.transfer;
        let request = paging.request.max(1);
        let mut d = Download {
            local: self.local,
            remote,
            ahead: Ahead {
                make: |start: RecordIdx, count: u64| remote.next(&t.series, start, count),
                flush: &|| remote.flush(),
                slots: VecDeque::new(),
                next: t.first,
                last: t.last,
                request,
                in_flight: paging.in_flight.max(1),
                together: paging.together.clamp(1, paging.in_flight.max(1)),
                // Answers held besides those under way: about one stored page.
                window: paging.in_flight.max(1)
                    + usize::try_from(paging.store.max(1).div_ceil(request)).unwrap_or(1),
                store: paging.store,
            },
            page: Page {
                records: Vec::new(),
                skipped: Vec::new(),
                from: t.first,
                to: t.first,
            },
            extends,
            storing: None,
            rest_missing: false,
            step,
        };
        let gathered = d.gather().await;
        // The last page's append finishes whatever stopped the download: an append under way is
        // never left half seen (stored, but not reported or folded in by the host).
        let drained = match d.storing.take() {
            Some(last) => finish(last.drive().await, d.step),
            None => Ok(()),
        };
        let outcome = gathered?;
        drained.map_err(SyncError::Local)?;
        if d.rest_missing {
            d.step.missing.push(IdxRange::new(d.page.to, t.last));
            d.step.done += t.last - d.page.to + 1;
            d.step.report();
        }
        Ok(outcome)
    }

    /// Upload `transfer.first..=transfer.last`. Every record must carry this key's id, and the
    /// series must have no hole in the range: the upload of the series stops before the first
    /// record that fails either.
    async fn upload(&self, step: &mut Step<'_>) -> Result<Result<(), SeriesError>, Fail<L, R>> {
        let page_size = self.paging.store.max(1);
        let t = step.transfer;
        let mut at = t.first;
        while at <= t.last {
            let want = page_size.min(t.last - at + 1);
            let recs = self
                .local
                .read(&t.series, at, want)
                .await
                .map_err(SyncError::Local)?;
            let (good, problem) = uploadable(&recs, &t.series, at, want, self.key);
            if good > 0 {
                self.remote
                    .push(&recs[..good])
                    .await
                    .map_err(SyncError::Remote)?;
                step.moved += good as u64;
                step.done += good as u64;
                step.report();
            }
            if let Some(problem) = problem {
                return Ok(Err(problem));
            }
            at += want;
        }
        Ok(Ok(()))
    }

    /// Check the key against a record the remote holds, before anything moves: for each encrypted
    /// series of the remote, its first stored record (read locally when we hold the series, else
    /// fetched), until one can be checked. A record under another key is a wrong key; a record
    /// whose key can't be read (damaged) is passed over for the next series.
    async fn verify_key(
        &self,
        local_status: &Status,
        missing: &Missing,
        remote_status: &Status,
    ) -> Result<KeyCheck, Fail<L, R>> {
        let mut synced = false;
        for (series, _) in remote_status.iter().filter(|(s, _)| !s.tag.is_plaintext()) {
            synced = true;
            let sample = match local_status.get(&series) {
                Some(_) => {
                    // The first idx held: 0 unless the series starts with a hole.
                    let first = missing
                        .get(&series)
                        .and_then(|h| h.first())
                        .filter(|h| h.first == 0)
                        .map_or(0, |h| h.last + 1);
                    self.local
                        .read(&series, first, 1)
                        .await
                        .map_err(SyncError::Local)?
                }
                None => self
                    .remote
                    .next(&series, 0, 1)
                    .await
                    .map_err(SyncError::Remote)?,
            };
            let Some(r) = sample.first().filter(|r| r.series() == series) else {
                continue;
            };
            match crypto::check_key(r, self.key) {
                Ok(()) => return Ok(KeyCheck::Verified { series, idx: r.idx }),
                Err(e @ CryptoError::WrongKey { .. }) => return Err(SyncError::WrongKey(e)),
                Err(_) => continue,
            }
        }
        Ok(match synced {
            true => KeyCheck::NothingReadable,
            false => KeyCheck::NothingSynced,
        })
    }
}

/// One transfer under way.
struct Step<'a> {
    transfer: &'a Transfer,
    /// Idx covered and records moved so far.
    done: u64,
    moved: u64,
    /// Ranges found missing on the server.
    missing: Vec<IdxRange>,
    /// Idx covered by the transfers before this one, and by all of them.
    all_done: u64,
    all_total: u64,
    on_progress: &'a mut dyn FnMut(&Progress),
}

impl Step<'_> {
    /// Tells the callback where the sync stands.
    fn report(&mut self) {
        let p = Progress {
            series: self.transfer.series.clone(),
            direction: self.transfer.direction,
            done: self.done,
            total: self.transfer.len(),
            all_done: self.all_done + self.done,
            all_total: self.all_total,
            missing: self.missing.clone(),
        };
        (self.on_progress)(&p);
    }
}

/// One download under way ([`Engine::download`]): the requests ahead, the page being gathered, and
/// the previous page's append.
struct Download<'s, 'a, 't, L: LocalStore, R, F: Future, M> {
    local: &'s L,
    remote: &'s R,
    ahead: Ahead<'a, F, M>,
    page: Page,
    /// Whether the range extends the local series ([`Engine::download`]).
    extends: bool,
    /// The last page's append, under way.
    storing: Option<Storing<'s, L::Error>>,
    /// The server lacks the idx from `page.to` to the end of the range.
    rest_missing: bool,
    step: &'a mut Step<'t>,
}

impl<L, R, F, M> Download<'_, '_, '_, L, R, F, M>
where
    L: LocalStore,
    R: Remote,
    F: Future<Output = Result<Vec<EncRecord>, R::Error>>,
    M: Fn(RecordIdx, u64) -> F,
{
    /// The answers gathered into pages and stored; ends with the last page's append under
    /// way in `storing`.
    async fn gather(&mut self) -> Result<Result<(), SeriesError>, Fail<L, R>> {
        let t = self.step.transfer;
        loop {
            let at = self.page.to;
            let mut end = None;
            if at > t.last {
                end = Some(Ok(()));
            } else {
                let (start, answer) = self.ahead.front(at, &mut self.storing).await;
                let mut recs = answer.map_err(SyncError::Remote)?;
                if let Some(reason) = page_fault(&recs, &t.series, start) {
                    end = Some(Err(SeriesError::BadPage { start, reason }));
                } else {
                    let answered = recs.last().map(|r| r.idx);
                    recs.retain(|r| r.idx >= at && r.idx <= t.last);
                    if !recs.is_empty() {
                        self.page.add(recs);
                    } else if answered.is_none_or(|l| l >= at) {
                        // Nothing more up to the end of the range. (An answer only below `at`
                        // says nothing from there on: the next request does.)
                        self.rest_missing = true;
                        end = Some(Ok(()));
                    }
                }
            }
            if end.is_some()
                || self.page.records.len() as u64 + self.ahead.request > self.ahead.store
            {
                self.store_page().await?;
            }
            if let Some(outcome) = end {
                return Ok(outcome);
            }
        }
    }

    /// Store the page (if it holds records) in one append. Appends overlap by one: this
    /// page's starts (a host decrypts its records there) while the previous page's commits,
    /// and the previous one is finished and reported, in order, before this returns; this one
    /// is left under way in `storing`, driven while the next page is gathered. The requests
    /// ahead run meanwhile.
    async fn store_page(&mut self) -> Result<(), Fail<L, R>> {
        let page = &mut self.page;
        if page.records.is_empty() {
            return Ok(());
        }
        self.remote.check().map_err(SyncError::Remote)?;
        let records = core::mem::take(&mut page.records);
        let declared = if self.extends {
            page.skipped.clone()
        } else {
            Vec::new()
        };
        let local = self.local;
        let mut next = Storing {
            moved: records.len() as u64,
            done: page.to - page.from,
            skipped: core::mem::take(&mut page.skipped),
            append: Box::pin(async move { local.append(&records, &declared).await }),
            out: None,
        };
        page.from = page.to;
        let Some(mut prev) = self.storing.take() else {
            self.storing = Some(next);
            return Ok(());
        };
        // The previous page first in each round: its append finishes (and its host folds it
        // in) before this one's.
        let (ahead, at) = (&mut self.ahead, page.to);
        poll_fn(|cx| {
            ahead.poll(cx, at);
            let prev_done = prev.poll(cx);
            next.poll(cx);
            match prev_done {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await;
        if prev.out.as_ref().is_some_and(Result::is_err) {
            // This page can't continue a series whose previous page failed: its append ends
            // (refused) before the error is returned.
            next.drive().await;
            return finish(prev, self.step).map_err(SyncError::Local);
        }
        finish(prev, self.step).map_err(SyncError::Local)?;
        self.storing = Some(next);
        Ok(())
    }
}

/// Downloaded records not stored yet: they cover `from..to` (the idx of `skipped` are missing
/// on the server).
struct Page {
    records: Vec<EncRecord>,
    skipped: Vec<IdxRange>,
    from: RecordIdx,
    to: RecordIdx,
}

impl Page {
    /// Add an answer's records from `self.to` on (ascending, at least one).
    fn add(&mut self, recs: Vec<EncRecord>) {
        let mut next = self.to;
        for r in &recs {
            if r.idx > next {
                self.skipped.push(IdxRange::new(next, r.idx - 1));
            }
            next = r.idx + 1;
        }
        self.to = next;
        self.records.extend(recs);
    }
}

/// A page's append under way, and what the page covers: reported once it is stored.
struct Storing<'s, E> {
    append: Pin<Box<dyn Future<Output = Result<(), E>> + 's>>,
    out: Option<Result<(), E>>,
    moved: u64,
    done: u64,
    skipped: Vec<IdxRange>,
}

impl<E> Storing<'_, E> {
    /// Drives the append; whether it has finished.
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        if self.out.is_none() {
            if let Poll::Ready(out) = self.append.as_mut().poll(cx) {
                self.out = Some(out);
            }
        }
        self.out.is_some()
    }

    /// Runs the append to its end.
    async fn drive(mut self) -> Self {
        poll_fn(|cx| match self.poll(cx) {
            true => Poll::Ready(()),
            false => Poll::Pending,
        })
        .await;
        self
    }
}

/// A finished append: its page counted and reported, or the store's error.
fn finish<E>(done: Storing<'_, E>, step: &mut Step<'_>) -> Result<(), E> {
    done.out.unwrap_or(Ok(()))?;
    step.moved += done.moved;
    step.done += done.done;
    step.missing.extend(done.skipped);
    step.report();
    Ok(())
}

/// The requests of one download, made ahead of the idx being stored: at `first`,
/// `first + request`, … up to `last`, at most `in_flight` under way and `window` held in all.
/// Answers are taken in order of their start.
struct Ahead<'a, F: Future, M> {
    /// Makes the request for `(start, count)`.
    make: M,
    /// Hands the requests just made to the host ([`Remote::flush`]).
    flush: &'a dyn Fn(),
    /// By ascending start: each request's start and its answer once there.
    slots: VecDeque<(RecordIdx, Slot<F>)>,
    /// The start of the next request.
    next: RecordIdx,
    last: RecordIdx,
    request: u64,
    in_flight: usize,
    /// New requests wait until this many can be made at once.
    together: usize,
    window: usize,
    /// Most records per stored page ([`Paging::store`]).
    store: u64,
}

enum Slot<F: Future> {
    Waiting(Pin<Box<F>>),
    Answered(F::Output),
}

impl<F: Future, M: Fn(RecordIdx, u64) -> F> Ahead<'_, F, M> {
    fn request(&self, start: RecordIdx, count: u64) -> (RecordIdx, Slot<F>) {
        (start, Slot::Waiting(Box::pin((self.make)(start, count))))
    }

    /// Drive the requests under way and make new ones (none starting below `at`, the first
    /// idx not covered yet), until none is ready to move. New requests are made together,
    /// once `together` can be, and then handed to the host ([`Remote::flush`]).
    fn poll(&mut self, cx: &mut Context<'_>, at: RecordIdx) {
        self.next = self.next.max(at);
        let mut made = false;
        loop {
            let waiting = self
                .slots
                .iter()
                .filter(|(_, s)| matches!(s, Slot::Waiting(_)))
                .count();
            let mut room = (self.in_flight.saturating_sub(waiting))
                .min(self.window.saturating_sub(self.slots.len()));
            if room < self.together {
                room = 0;
            }
            for _ in 0..room {
                if self.next > self.last {
                    break;
                }
                let count = self.request.min(self.last - self.next + 1);
                let slot = self.request(self.next, count);
                self.slots.push_back(slot);
                self.next = self.next.saturating_add(self.request);
                made = true;
            }
            let mut answered = false;
            for (_, slot) in self.slots.iter_mut() {
                if let Slot::Waiting(f) = slot {
                    if let Poll::Ready(out) = f.as_mut().poll(cx) {
                        *slot = Slot::Answered(out);
                        answered = true;
                    }
                }
            }
            if !answered {
                if made {
                    (self.flush)();
                }
                return;
            }
        }
    }

    /// The first answer, with the start it was asked from (at most `at`): when the first
    /// request starts above `at` (the answers before it stopped short), the idx between are
    /// asked for first.
    async fn front<E>(
        &mut self,
        at: RecordIdx,
        storing: &mut Option<Storing<'_, E>>,
    ) -> (RecordIdx, F::Output) {
        self.next = self.next.max(at);
        let upcoming = match self.slots.front() {
            Some((start, _)) => Some(*start),
            None => (self.next <= self.last).then_some(self.next),
        };
        let gap = match upcoming {
            Some(start) if start > at => Some(self.request.min(start - at)),
            Some(_) => None,
            None => Some(self.request.min(self.last.saturating_sub(at) + 1)),
        };
        if let Some(count) = gap {
            let slot = self.request(at, count);
            self.slots.push_front(slot);
        }
        poll_fn(|cx| {
            self.poll(cx, at);
            if let Some(s) = storing.as_mut() {
                s.poll(cx);
            }
            if !matches!(self.slots.front(), Some((_, Slot::Answered(_)))) {
                return Poll::Pending;
            }
            match self.slots.pop_front() {
                Some((start, Slot::Answered(out))) => Poll::Ready((start, out)),
                _ => Poll::Pending,
            }
        })
        .await
    }
}

/// What is wrong with a server's answer to `next(series, start, …)`, if anything: records of
/// another series, or idx below `start` or not ascending.
fn page_fault(records: &[EncRecord], series: &SeriesKey, start: RecordIdx) -> Option<&'static str> {
    if records
        .iter()
        .any(|r| r.host.id != series.host || r.tag != series.tag)
    {
        return Some("records of another series");
    }
    if records.first().is_some_and(|r| r.idx < start) {
        return Some("records below the idx asked for");
    }
    if records.windows(2).any(|w| w[0].idx >= w[1].idx) {
        return Some("idx not ascending");
    }
    None
}

/// How many of `recs` (read for `at..at + want` of `series`) can go up: the records up to the
/// first hole, or the first one not under `key`; and why the upload stops there, if it does.
fn uploadable(
    recs: &[EncRecord],
    series: &SeriesKey,
    at: RecordIdx,
    want: u64,
    key: &Key,
) -> (usize, Option<SeriesError>) {
    let run = recs
        .iter()
        .zip(at..)
        .take_while(|(r, i)| r.idx == *i && r.series() == *series)
        .count();
    for (i, r) in recs[..run].iter().enumerate() {
        if r.tag.is_plaintext() {
            continue;
        }
        if let Err(e) = crypto::check_key_id(r, key) {
            let problem = match e {
                CryptoError::WrongKey {
                    record_kid,
                    given_kid,
                    ..
                } => SeriesError::ForeignKey {
                    idx: r.idx,
                    record_kid,
                    key_kid: given_kid,
                },
                e => SeriesError::Unreadable {
                    idx: r.idx,
                    reason: e.to_string(),
                },
            };
            return (i, Some(problem));
        }
    }
    let hole = (run as u64) < want;
    let idx = at + run as u64;
    (run, hole.then_some(SeriesError::LocalHole { idx }))
}

/// Run a future whose every await is ready at once (stores that never wait, such as
/// [`crate::memory::MemoryStore`] or blocking I/O). `None` if it would have to wait.
pub fn now_or_never<F: core::future::Future>(f: F) -> Option<F::Output> {
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(v) => Some(v),
        core::task::Poll::Pending => None,
    }
}
