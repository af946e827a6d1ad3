//! The sync engine, written against two host traits: the local store and the remote.
//! Runtime-free async (usable from wasm); each page is committed on its own, so a sync cut off
//! at any point resumes from the statuses next time, losing and duplicating nothing.

use alloc::vec::Vec;
use core::fmt;

use crate::crypto::{self, CryptoError, Key};
use crate::plan::{self, Direction, Page, Transfer};
use crate::record::{EncryptedData, Record, RecordIdx, SeriesKey};
use crate::status::Status;

/// Records exactly as stored and sent: encrypted.
pub type EncRecord = Record<EncryptedData>;

/// A local record store (IndexedDB in the browser, memory in tests).
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    type Error: fmt::Display;
    /// Last idx of every series held.
    async fn status(&self) -> Result<Status, Self::Error>;
    /// Up to `count` records of `series` with idx from `start`, ascending.
    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, Self::Error>;
    /// Append one page of consecutive records of one series, atomically.
    async fn append(&self, page: &[EncRecord]) -> Result<(), Self::Error>;
}

/// The sync server.
#[allow(async_fn_in_trait)]
pub trait Remote {
    type Error: fmt::Display;
    async fn status(&self) -> Result<Status, Self::Error>;
    /// Up to `count` records of `series` with idx from `start`, ascending.
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
    /// Records moved for this series so far, and in all.
    pub done: u64,
    pub total: u64,
    /// Records moved over the whole sync so far, and in all.
    pub all_done: u64,
    pub all_total: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub uploaded: u64,
    pub downloaded: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError<L: fmt::Display, R: fmt::Display> {
    #[error("local store: {0}")]
    Local(L),
    #[error("remote: {0}")]
    Remote(R),
    #[error("the key does not match the records already synced ({0}); nothing was uploaded")]
    WrongKey(CryptoError),
    #[error("remote answered {got} records of {series} from idx {start}, expected a run of {want} from {start}")]
    BadPage {
        series: SeriesKey,
        start: RecordIdx,
        want: u64,
        got: u64,
    },
    #[error("local store returned {got} records of {series} from idx {start}, expected {want}")]
    LocalShort {
        series: SeriesKey,
        start: RecordIdx,
        want: u64,
        got: u64,
    },
}

/// Check a page: `records` are consecutive idx of `series` from `start`, at most `count`, and
/// at least one when something was expected.
pub fn page_is_valid(
    records: &[EncRecord],
    series: &SeriesKey,
    start: RecordIdx,
    count: u64,
) -> bool {
    !records.is_empty()
        && records.len() as u64 <= count
        && records.iter().enumerate().all(|(i, r)| {
            r.idx == start + i as u64 && r.host.id == series.host && r.tag == series.tag
        })
}

/// Sync `local` and `remote` with pages of `page_size` records.
pub async fn sync<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    key: &Key,
    page_size: u64,
    mut on_progress: impl FnMut(&Progress),
) -> Result<SyncReport, SyncError<L::Error, R::Error>> {
    let local_status = local.status().await.map_err(SyncError::Local)?;
    let remote_status = remote.status().await.map_err(SyncError::Remote)?;
    let transfers = plan::plan(&local_status, &remote_status);

    verify_key(local, remote, &local_status, &remote_status, key).await?;

    let all_total: u64 = transfers.iter().map(Transfer::len).sum();
    let mut report = SyncReport::default();
    let mut all_done = 0;
    for t in &transfers {
        let mut done = 0;
        for page in t.pages(page_size) {
            let moved = match page.direction {
                Direction::Download => download(local, remote, &page).await?,
                Direction::Upload => upload(local, remote, &page).await?,
            };
            done += moved;
            all_done += moved;
            match page.direction {
                Direction::Download => report.downloaded += moved,
                Direction::Upload => report.uploaded += moved,
            }
            on_progress(&Progress {
                series: t.series.clone(),
                direction: t.direction,
                done,
                total: t.len(),
                all_done,
                all_total,
            });
        }
    }
    Ok(report)
}

async fn download<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    page: &Page,
) -> Result<u64, SyncError<L::Error, R::Error>> {
    // A server may answer fewer records than asked (its page cap): ask again from where it
    // stopped until the page is complete. Each answer is appended on its own.
    let mut got = 0;
    while got < page.count {
        let start = page.start + got;
        let want = page.count - got;
        let recs = remote
            .next(&page.series, start, want)
            .await
            .map_err(SyncError::Remote)?;
        if !page_is_valid(&recs, &page.series, start, want) {
            return Err(SyncError::BadPage {
                series: page.series.clone(),
                start,
                want,
                got: recs.len() as u64,
            });
        }
        local.append(&recs).await.map_err(SyncError::Local)?;
        got += recs.len() as u64;
    }
    Ok(got)
}

async fn upload<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    page: &Page,
) -> Result<u64, SyncError<L::Error, R::Error>> {
    let recs = local
        .read(&page.series, page.start, page.count)
        .await
        .map_err(SyncError::Local)?;
    if recs.len() as u64 != page.count
        || !page_is_valid(&recs, &page.series, page.start, page.count)
    {
        return Err(SyncError::LocalShort {
            series: page.series.clone(),
            start: page.start,
            want: page.count,
            got: recs.len() as u64,
        });
    }
    remote.push(&recs).await.map_err(SyncError::Remote)?;
    Ok(recs.len() as u64)
}

/// Check the key against one record the remote already holds, before anything moves.
/// Read it locally when we have it, else fetch one record. Plaintext tags are skipped.
async fn verify_key<L: LocalStore, R: Remote>(
    local: &L,
    remote: &R,
    local_status: &Status,
    remote_status: &Status,
    key: &Key,
) -> Result<(), SyncError<L::Error, R::Error>> {
    let Some((series, _)) = remote_status.iter().find(|(s, _)| !s.tag.is_plaintext()) else {
        return Ok(()); // nothing synced yet: the first push sets the key
    };
    let sample = if local_status.get(&series).is_some() {
        local.read(&series, 0, 1).await.map_err(SyncError::Local)?
    } else {
        remote
            .next(&series, 0, 1)
            .await
            .map_err(SyncError::Remote)?
    };
    match sample.first() {
        Some(r) => crypto::check_key(r, key).map_err(SyncError::WrongKey),
        None => Ok(()),
    }
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
