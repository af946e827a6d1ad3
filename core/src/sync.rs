//! The sync engine, written against two host traits: the local store and the remote
//! (docs/PROTOCOL.md §3). Runtime-free async (usable from wasm); each page is committed on its
//! own, so a sync cut off at any point resumes from the statuses next time, losing and
//! duplicating nothing. A damaged series (holes on the server, records under another key)
//! never stops the others: it is synced as far as it can be and named in the [`SyncReport`].

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

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
    /// holes steps over them).
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, Self::Error>;
    /// Store a batch; identical records already stored are accepted.
    async fn push(&self, records: &[EncRecord]) -> Result<(), Self::Error>;
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

/// Sync `local` and `remote` with pages of `page_size` records. Every series is synced as far
/// as it can be: holes on the server are stepped over and reported, a series that can't go on
/// is reported with its [`SeriesError`], and the others continue. Only a failing store or
/// connection, or a wrong key, stops the whole sync.
pub async fn sync<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    key: &Key,
    page_size: u64,
    mut on_progress: impl FnMut(&Progress),
) -> Result<SyncReport, Fail<L, R>> {
    let local_status = local.status().await.map_err(SyncError::Local)?;
    let missing = local.missing().await.map_err(SyncError::Local)?;
    let remote_status = remote.status().await.map_err(SyncError::Remote)?;
    let transfers = plan::plan_with_holes(&local_status, &remote_status, &missing);

    let key_check = verify_key(local, remote, &local_status, &missing, &remote_status, key).await?;

    let all_total: u64 = transfers.iter().map(Transfer::len).sum();
    let mut report = SyncReport {
        uploaded: 0,
        downloaded: 0,
        key_check,
        damaged: Vec::new(),
    };
    let mut all_done = 0;
    let mut damage: BTreeMap<SeriesKey, Damage> = BTreeMap::new();
    let page_size = page_size.max(1);
    for t in &transfers {
        let stopped = damage.get(&t.series).is_some_and(|d| d.error.is_some());
        if stopped {
            all_done += t.len();
            continue;
        }
        let mut step = Step {
            transfer: t,
            done: 0,
            moved: 0,
            missing: Vec::new(),
        };
        let outcome = match t.direction {
            Direction::Download => {
                // Only the part above the local last idx extends the series; the rest fills
                // holes the store already knows.
                let extends = local_status.get(&t.series).is_none_or(|l| t.first > l);
                download(local, remote, page_size, extends, &mut step, |st| {
                    on_progress(&st.progress(all_done, all_total))
                })
                .await?
            }
            Direction::Upload if report.key_check == KeyCheck::NothingReadable => {
                Err(SeriesError::KeyUnchecked)
            }
            Direction::Upload => {
                upload(local, remote, key, page_size, &mut step, |st| {
                    on_progress(&st.progress(all_done, all_total))
                })
                .await?
            }
        };
        all_done += t.len();
        match t.direction {
            Direction::Download => report.downloaded += step.moved,
            Direction::Upload => report.uploaded += step.moved,
        }
        if outcome.is_err() || !step.missing.is_empty() {
            let d = damage.entry(t.series.clone()).or_insert_with(|| Damage {
                series: t.series.clone(),
                missing: Vec::new(),
                error: None,
            });
            d.missing.extend(step.missing);
            d.error = outcome.err();
        }
    }
    report.damaged = damage.into_values().collect();
    Ok(report)
}

/// One transfer under way.
struct Step<'a> {
    transfer: &'a Transfer,
    /// Idx covered and records moved so far.
    done: u64,
    moved: u64,
    /// Ranges found missing on the server.
    missing: Vec<IdxRange>,
}

impl Step<'_> {
    fn progress(&self, all_done: u64, all_total: u64) -> Progress {
        Progress {
            series: self.transfer.series.clone(),
            direction: self.transfer.direction,
            done: self.done,
            total: self.transfer.len(),
            all_done: all_done + self.done,
            all_total,
            missing: self.missing.clone(),
        }
    }
}

/// Download `transfer.first..=transfer.last` page by page from wherever the server's answers
/// stop. Records are stored as they come; the idx the server steps over are noted as missing
/// (and, when `extends`, declared to the store as skipped). An empty answer means the server
/// lacks the rest of the range.
async fn download<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    page_size: u64,
    extends: bool,
    step: &mut Step<'_>,
    mut report: impl FnMut(&Step<'_>),
) -> Result<Result<(), SeriesError>, Fail<L, R>> {
    let t = step.transfer;
    let mut at = t.first;
    while at <= t.last {
        let want = page_size.min(t.last - at + 1);
        let mut recs = remote
            .next(&t.series, at, want)
            .await
            .map_err(SyncError::Remote)?;
        if let Some(reason) = page_fault(&recs, &t.series, at) {
            return Ok(Err(SeriesError::BadPage { start: at, reason }));
        }
        recs.retain(|r| r.idx <= t.last);
        let mut skipped = Vec::new();
        let mut next = at;
        for r in &recs {
            if r.idx > next {
                skipped.push(IdxRange::new(next, r.idx - 1));
            }
            next = r.idx + 1;
        }
        let Some(last) = recs.last().map(|r| r.idx) else {
            // Nothing more up to the end of the range.
            step.missing.push(IdxRange::new(at, t.last));
            step.done += t.last - at + 1;
            report(step);
            break;
        };
        let declared: &[IdxRange] = if extends { &skipped } else { &[] };
        local
            .append(&recs, declared)
            .await
            .map_err(SyncError::Local)?;
        step.missing.extend(skipped);
        step.moved += recs.len() as u64;
        step.done += last - at + 1;
        at = last + 1;
        report(step);
    }
    Ok(Ok(()))
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

/// Upload `transfer.first..=transfer.last`. Every record must carry this key's id, and the
/// series must have no hole in the range: the upload of the series stops before the first
/// record that fails either.
async fn upload<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    key: &Key,
    page_size: u64,
    step: &mut Step<'_>,
    mut report: impl FnMut(&Step<'_>),
) -> Result<Result<(), SeriesError>, Fail<L, R>> {
    let t = step.transfer;
    let mut at = t.first;
    while at <= t.last {
        let want = page_size.min(t.last - at + 1);
        let recs = local
            .read(&t.series, at, want)
            .await
            .map_err(SyncError::Local)?;
        let run = recs
            .iter()
            .zip(at..)
            .take_while(|(r, i)| r.idx == *i && r.series() == t.series)
            .count();
        let mut stop = (run as u64) < want;
        let mut problem = stop.then_some(SeriesError::LocalHole {
            idx: at + run as u64,
        });
        let mut good = run;
        for (i, r) in recs[..run].iter().enumerate() {
            if r.tag.is_plaintext() {
                continue;
            }
            if let Err(e) = crypto::check_key_id(r, key) {
                good = i;
                stop = true;
                problem = Some(match e {
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
                });
                break;
            }
        }
        if good > 0 {
            remote
                .push(&recs[..good])
                .await
                .map_err(SyncError::Remote)?;
            step.moved += good as u64;
            step.done += good as u64;
            report(step);
        }
        if stop {
            return Ok(problem.map_or(Ok(()), Err));
        }
        at += want;
    }
    Ok(Ok(()))
}

/// Check the key against a record the remote holds, before anything moves: for each encrypted
/// series of the remote, its first stored record (read locally when we hold the series, else
/// fetched), until one can be checked. A record under another key is a wrong key; a record
/// whose key can't be read (damaged) is passed over for the next series.
async fn verify_key<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    local_status: &Status,
    missing: &Missing,
    remote_status: &Status,
    key: &Key,
) -> Result<KeyCheck, Fail<L, R>> {
    let mut candidates = remote_status
        .iter()
        .filter(|(s, _)| !s.tag.is_plaintext())
        .peekable();
    if candidates.peek().is_none() {
        return Ok(KeyCheck::NothingSynced);
    }
    for (series, _) in candidates {
        let sample = match local_status.get(&series) {
            Some(_) => {
                // The first idx held: 0 unless the series starts with a hole.
                let first = missing
                    .get(&series)
                    .and_then(|h| h.first())
                    .filter(|h| h.first == 0)
                    .map_or(0, |h| h.last + 1);
                local
                    .read(&series, first, 1)
                    .await
                    .map_err(SyncError::Local)?
            }
            None => remote
                .next(&series, 0, 1)
                .await
                .map_err(SyncError::Remote)?,
        };
        let Some(r) = sample.first().filter(|r| r.series() == series) else {
            continue;
        };
        match crypto::check_key(r, key) {
            Ok(()) => return Ok(KeyCheck::Verified { series, idx: r.idx }),
            Err(e @ CryptoError::WrongKey { .. }) => return Err(SyncError::WrongKey(e)),
            Err(_) => continue,
        }
    }
    Ok(KeyCheck::NothingReadable)
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
