//! The server's record pages (docs/ARCHITECTURE.md, "Edge store"): many records of one series
//! in one stored row, so a pushed batch writes a handful of rows and a `next` page reads a
//! handful. Pure functions; a host (the edge worker's Durable Object) only loads and stores rows.
//!
//! A page is keyed by `(series, first)` and holds the records of its series with
//! `first <= idx < next page's first`, ascending. Each record is kept as the exact JSON the API
//! answers, so `next` is a concatenation. Body layout (little-endian):
//! `[FORMAT] [count: u32] count × ([idx: u64] [id: 16 bytes] [json len: u32]) json…`.
//!
//! A body longer than [`ROW_MAX_BYTES`] (a page holding one record of megabytes) is stored as
//! several rows: [`rows`] cuts it, the first row (the head) keeps the header and entry table, and
//! [`body_len`] tells from the head alone how long the whole body is, so a host reading the head
//! knows whether, and how many, parts follow.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use uuid::Uuid;

use crate::push::{classify, EncRecord, Occupied, PushError};
use crate::record::{RecordId, RecordIdx, SeriesKey};

/// Page body format byte.
pub const FORMAT: u8 = 1;
/// A page is split once it would hold more records than this…
pub const PAGE_MAX_RECORDS: usize = 256;
/// …or more bytes of record JSON than this (one larger record still gets a page of its own).
pub const PAGE_MAX_BYTES: usize = 512 * 1024;
/// The most bytes of a page body kept in one row: Durable Object SQL caps a row at 2 MB, and
/// the row's key columns take the rest.
pub const ROW_MAX_BYTES: usize = 1_900_000;
/// `next` answers stop before this many bytes (always at least one record).
pub const NEXT_MAX_BYTES: usize = 4 * 1024 * 1024;

const HEADER: usize = 1 + 4;
const ENTRY: usize = 8 + 16 + 4;

/// A stored page that does not parse: the store is damaged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("damaged page {series} first idx {first}: {reason}")]
pub struct PageError {
    pub series: SeriesKey,
    pub first: RecordIdx,
    pub reason: &'static str,
}

/// A row as the host stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPage {
    pub series: SeriesKey,
    pub first: RecordIdx,
    pub body: Vec<u8>,
}

/// One record inside a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub idx: RecordIdx,
    pub id: RecordId,
    pub json: &'a [u8],
}

/// A parsed page body, borrowing it.
#[derive(Clone, Debug)]
pub struct PageView<'a> {
    body: &'a [u8],
    count: usize,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl<'a> PageView<'a> {
    /// Checks the layout: format byte, table within the body, lengths adding up, idx ascending.
    pub fn parse(body: &'a [u8]) -> Result<Self, &'static str> {
        let (count, len) = layout(body)?;
        if len != body.len() {
            return Err("record lengths do not match the page size");
        }
        Ok(Self { body, count })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records, ascending by idx.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'a>> + '_ {
        let body = self.body;
        let mut off = HEADER + self.count * ENTRY;
        (0..self.count).map(move |i| {
            let at = HEADER + i * ENTRY;
            let mut id = [0u8; 16];
            id.copy_from_slice(&body[at + 8..at + 24]);
            let len = u32_at(body, at + 24) as usize;
            let json = &body[off..off + len];
            off += len;
            Entry {
                idx: u64_at(body, at),
                id: RecordId(Uuid::from_bytes(id)),
                json,
            }
        })
    }

    /// The highest idx held, if any.
    pub fn last_idx(&self) -> Option<RecordIdx> {
        (self.count > 0).then(|| u64_at(self.body, HEADER + (self.count - 1) * ENTRY))
    }
}

/// The record count and whole body length a page's header and entry table give, checked as
/// far as they go (format byte, table within `head`, idx ascending).
fn layout(head: &[u8]) -> Result<(usize, usize), &'static str> {
    if head.len() < HEADER || head[0] != FORMAT {
        return Err("unknown page format");
    }
    let count = u32_at(head, 1) as usize;
    let table_end = count
        .checked_mul(ENTRY)
        .and_then(|t| t.checked_add(HEADER))
        .filter(|&e| e <= head.len())
        .ok_or("entry table runs past the page")?;
    let mut total = table_end;
    let mut prev: Option<u64> = None;
    for i in 0..count {
        let at = HEADER + i * ENTRY;
        let idx = u64_at(head, at);
        if prev.is_some_and(|p| p >= idx) {
            return Err("idx not ascending");
        }
        prev = Some(idx);
        total = total.saturating_add(u32_at(head, at + 24) as usize);
    }
    Ok((count, total))
}

/// The whole length of the page body whose first row is `head`: longer than `head` when parts
/// follow it ([`rows`]).
pub fn body_len(head: &[u8]) -> Result<usize, &'static str> {
    let (_, len) = layout(head)?;
    if len < head.len() || (len > head.len() && head.len() != ROW_MAX_BYTES) {
        return Err("page head does not match its length");
    }
    Ok(len)
}

/// Whether parts may follow the row `head`: only a head cut at [`ROW_MAX_BYTES`] has any, so
/// a shorter row is a whole page (read with [`PageView::parse`], not [`body_len`]).
pub fn may_continue(head: &[u8]) -> bool {
    head.len() == ROW_MAX_BYTES
}

/// A page body as the rows that store it: the head, then its parts, each at most
/// [`ROW_MAX_BYTES`]. A page's entry table (at most [`PAGE_MAX_RECORDS`] entries) always fits
/// in its head.
pub fn rows(body: &[u8]) -> core::slice::Chunks<'_, u8> {
    body.chunks(ROW_MAX_BYTES)
}

/// Encodes entries (ascending by idx) as a page body.
pub fn encode(entries: &[Entry<'_>]) -> Vec<u8> {
    let json: usize = entries.iter().map(|e| e.json.len()).sum();
    let mut out = Vec::with_capacity(HEADER + entries.len() * ENTRY + json);
    out.push(FORMAT);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.idx.to_le_bytes());
        out.extend_from_slice(e.id.0.as_bytes());
        out.extend_from_slice(&(e.json.len() as u32).to_le_bytes());
    }
    for e in entries {
        out.extend_from_slice(e.json);
    }
    out
}

/// A page to write: insert, or replace the row with the same `(series, first)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageWrite {
    pub series: SeriesKey,
    pub first: RecordIdx,
    pub count: usize,
    pub body: Vec<u8>,
}

/// What an accepted push changes: rows to delete (by key), then rows to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushWrites {
    pub delete: Vec<(SeriesKey, RecordIdx)>,
    pub put: Vec<PageWrite>,
    /// The new highest idx of every series that received records: the store's status rows.
    pub last_idx: Vec<(SeriesKey, RecordIdx)>,
    /// Records stored by this push.
    pub inserted: usize,
    /// Records already stored identically (accepted, skipped).
    pub duplicates: usize,
}

/// Why a push could not be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub enum PagePushError {
    Push(#[from] PushError),
    Damaged(#[from] PageError),
}

/// The wire JSON a page keeps for a record: exactly what serde writes for a [`EncRecord`]
/// (field order and escaping), with the host name left empty (the server answers
/// `"name": ""`, as atuin-server does). Written field by field: strings that need no escaping
/// (base64 ciphertext, UUIDs) are copied as they are; the rest go through serde_json.
pub fn record_json(r: &EncRecord) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(160 + r.data.data.len() + r.data.content_encryption_key.len() * 5 / 4);
    let mut uuid = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let mut num = [0u8; 20];
    out.extend_from_slice(b"{\"id\":\"");
    out.extend_from_slice(r.id.0.hyphenated().encode_lower(&mut uuid).as_bytes());
    out.extend_from_slice(b"\",\"idx\":");
    out.extend_from_slice(decimal(r.idx, &mut num));
    out.extend_from_slice(b",\"host\":{\"id\":\"");
    out.extend_from_slice(r.host.id.0.hyphenated().encode_lower(&mut uuid).as_bytes());
    out.extend_from_slice(b"\",\"name\":\"\"},\"timestamp\":");
    out.extend_from_slice(decimal(r.timestamp, &mut num));
    out.extend_from_slice(b",\"version\":");
    json_str(&mut out, r.version.as_str());
    out.extend_from_slice(b",\"tag\":");
    json_str(&mut out, r.tag.as_str());
    out.extend_from_slice(b",\"data\":{\"data\":");
    json_str(&mut out, &r.data.data);
    out.extend_from_slice(b",\"content_encryption_key\":");
    json_str(&mut out, &r.data.content_encryption_key);
    out.extend_from_slice(b"}}");
    out
}

fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// A JSON string literal: copied when nothing needs escaping, else serde_json's escaping.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a str cannot fail.
        out.extend_from_slice(serde_json::to_string(s).unwrap_or_default().as_bytes());
    }
}

/// Plans a validated batch against the pages it touches: for every series of the batch, the
/// pages with `first` from the page holding its lowest idx (or the start) up to its highest
/// idx (see [`crate::push::ranges`]). Duplicates are skipped, any conflict refuses the batch
/// (nothing is written), and only pages that receive records are rewritten, split by
/// [`PAGE_MAX_RECORDS`] and [`PAGE_MAX_BYTES`]. Gaps are kept: `next` steps over them.
///
/// It takes the batch: each record's ciphertext is freed once its JSON is made, so a push holds
/// about twice its records' bytes at most (the records, then their JSON and the pages).
pub fn plan_push(
    mut batch: Vec<EncRecord>,
    loaded: &[StoredPage],
) -> Result<PushWrites, PagePushError> {
    let mut views: BTreeMap<SeriesKey, Vec<(RecordIdx, PageView<'_>)>> = BTreeMap::new();
    let mut occupied = Occupied::new();
    let mut seen = alloc::collections::BTreeSet::new();
    for p in loaded {
        // A page loaded twice (two ranges of one series meeting in it) counts once.
        if !seen.insert((&p.series, p.first)) {
            continue;
        }
        let view = PageView::parse(&p.body).map_err(|reason| PageError {
            series: p.series.clone(),
            first: p.first,
            reason,
        })?;
        for e in view.entries() {
            occupied.insert((p.series.clone(), e.idx), e.id);
        }
        views
            .entry(p.series.clone())
            .or_default()
            .push((p.first, view));
    }
    let plan = classify(&batch, &occupied)?;
    let mut fresh: BTreeMap<SeriesKey, Vec<(RecordIdx, RecordId, Vec<u8>)>> = BTreeMap::new();
    for &i in &plan.new {
        let r = &mut batch[i];
        let json = record_json(r);
        r.data.data = String::new();
        r.data.content_encryption_key = String::new();
        fresh
            .entry(r.series())
            .or_default()
            .push((r.idx, r.id, json));
    }
    drop(batch);
    let mut out = PushWrites {
        inserted: plan.new.len(),
        duplicates: plan.duplicates,
        ..PushWrites::default()
    };
    for (series, mut new) in fresh {
        new.sort_unstable_by_key(|n| n.0);
        if let Some(&(_, last)) = plan.last_idx.iter().find(|(k, _)| *k == series) {
            out.last_idx.push((series.clone(), last));
        }
        let mut pages = views.remove(&series).unwrap_or_default();
        pages.sort_unstable_by_key(|p| p.0);
        // Which page each new record joins: the last one starting at or below it, else the
        // first loaded page, else none (a run of its own).
        let mut joins: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
        for (n, rec) in new.iter().enumerate() {
            let page = match pages.iter().rposition(|p| p.0 <= rec.0) {
                Some(at) => Some(at),
                None if !pages.is_empty() => Some(0),
                None => None,
            };
            joins.entry(page).or_default().push(n);
        }
        for (page, added) in joins {
            let mut entries: Vec<Entry<'_>> = added
                .iter()
                .map(|&n| Entry {
                    idx: new[n].0,
                    id: new[n].1,
                    json: &new[n].2,
                })
                .collect();
            let mut key = entries[0].idx;
            if let Some(at) = page {
                let (first, view) = &pages[at];
                entries.extend(view.entries());
                entries.sort_unstable_by_key(|e| e.idx);
                key = (*first).min(entries[0].idx);
                if key != *first {
                    out.delete.push((series.clone(), *first));
                }
            }
            split(&series, key, &entries, &mut out.put);
        }
    }
    Ok(out)
}

/// Packs ascending entries into pages; the first keeps `key`, the rest start at their first idx.
fn split(series: &SeriesKey, key: RecordIdx, entries: &[Entry<'_>], out: &mut Vec<PageWrite>) {
    let mut start = 0;
    while start < entries.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < entries.len()
            && end - start < PAGE_MAX_RECORDS
            && (end == start || bytes + entries[end].json.len() <= PAGE_MAX_BYTES)
        {
            bytes += entries[end].json.len();
            end += 1;
        }
        let chunk = &entries[start..end];
        out.push(PageWrite {
            series: series.clone(),
            first: if start == 0 { key } else { chunk[0].idx },
            count: chunk.len(),
            body: encode(chunk),
        });
        start = end;
    }
}

/// A `next` answer built from the pages of one series in order of `first` (the page holding
/// `start` first): records with `idx >= start`, at most `count` of them and at most
/// `max_bytes` of JSON (always at least one record), as the JSON array Atuin expects.
#[derive(Debug)]
pub struct NextPage {
    json: Vec<u8>,
    records: u64,
    count: u64,
    max_bytes: usize,
    full: bool,
}

impl NextPage {
    pub fn new(count: u64, max_bytes: usize) -> Self {
        let mut json = Vec::with_capacity(4096);
        json.push(b'[');
        Self {
            json,
            records: 0,
            count,
            max_bytes,
            full: count == 0,
        }
    }

    /// Whether the answer is complete: no more pages are needed.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Adds the records of the next page from `start` on; returns the page's last idx (`None`
    /// for an empty page).
    pub fn add(
        &mut self,
        page: &StoredPage,
        start: RecordIdx,
    ) -> Result<Option<RecordIdx>, PageError> {
        let view = PageView::parse(&page.body).map_err(|reason| PageError {
            series: page.series.clone(),
            first: page.first,
            reason,
        })?;
        for e in view.entries().filter(|e| e.idx >= start) {
            if self.full {
                break;
            }
            if self.records > 0 && self.json.len() + 1 + e.json.len() + 1 > self.max_bytes {
                self.full = true;
                break;
            }
            if self.records > 0 {
                self.json.push(b',');
            }
            self.json.extend_from_slice(e.json);
            self.records += 1;
            self.full = self.records >= self.count;
        }
        Ok(view.last_idx())
    }

    /// The JSON array.
    pub fn finish(mut self) -> Vec<u8> {
        self.json.push(b']');
        self.json
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{EncryptedData, Host, HostId, Record, Tag, Version};
    use alloc::string::String;
    use alloc::vec;

    fn rec(idx: u64, id: u128, size: usize) -> EncRecord {
        Record {
            id: RecordId(Uuid::from_u128(id)),
            idx,
            host: Host {
                id: HostId(Uuid::from_u128(1)),
                name: "laptop".into(),
            },
            timestamp: 1_700_000_000_000_000_000 + idx,
            version: Version::V0,
            tag: Tag::History,
            data: EncryptedData {
                data: "x".repeat(size),
                content_encryption_key: "{\"wpk\":\"k\"}".into(),
            },
        }
    }

    fn series() -> SeriesKey {
        SeriesKey::new(HostId(Uuid::from_u128(1)), Tag::History)
    }

    /// A store of pages applying writes, as a host would.
    #[derive(Default)]
    struct Store(BTreeMap<RecordIdx, Vec<u8>>);

    impl Store {
        fn push(&mut self, batch: &[EncRecord]) -> Result<PushWrites, PagePushError> {
            let lo = batch.iter().map(|r| r.idx).min().unwrap();
            let hi = batch.iter().map(|r| r.idx).max().unwrap();
            let floor = self.0.range(..=lo).next_back().map_or(0, |(k, _)| *k);
            let loaded: Vec<_> = self
                .0
                .range(floor..=hi)
                .map(|(k, b)| StoredPage {
                    series: series(),
                    first: *k,
                    body: b.clone(),
                })
                .collect();
            let w = plan_push(batch.to_vec(), &loaded)?;
            for (_, k) in &w.delete {
                self.0.remove(k);
            }
            for p in &w.put {
                self.0.insert(p.first, p.body.clone());
            }
            Ok(w.clone())
        }

        fn next(&self, start: u64, count: u64, max_bytes: usize) -> Vec<EncRecord> {
            let floor = self.0.range(..=start).next_back().map_or(0, |(k, _)| *k);
            let mut page = NextPage::new(count, max_bytes);
            for (k, b) in self.0.range(floor..) {
                if page.is_full() {
                    break;
                }
                let sp = StoredPage {
                    series: series(),
                    first: *k,
                    body: b.clone(),
                };
                page.add(&sp, start).unwrap();
            }
            serde_json::from_slice(&page.finish()).unwrap()
        }

        fn check_invariants(&self) {
            let keys: Vec<_> = self.0.keys().copied().collect();
            for (i, (k, b)) in self.0.iter().enumerate() {
                let v = PageView::parse(b).unwrap();
                assert!(!v.is_empty());
                assert!(v.len() <= PAGE_MAX_RECORDS);
                let first = v.entries().next().unwrap().idx;
                assert!(*k <= first, "page {k} holds {first}");
                if let Some(next) = keys.get(i + 1) {
                    assert!(v.last_idx().unwrap() < *next);
                }
            }
        }
    }

    #[test]
    fn body_round_trips_and_rejects_damage() {
        let e = [
            Entry {
                idx: 3,
                id: RecordId(Uuid::from_u128(9)),
                json: b"{\"a\":1}",
            },
            Entry {
                idx: 5,
                id: RecordId(Uuid::from_u128(10)),
                json: b"{}",
            },
        ];
        let body = encode(&e);
        let v = PageView::parse(&body).unwrap();
        assert_eq!(v.entries().collect::<Vec<_>>(), e.to_vec());
        assert_eq!(v.last_idx(), Some(5));
        assert!(PageView::parse(&body[..body.len() - 1]).is_err());
        assert!(PageView::parse(&[2, 0, 0, 0, 0]).is_err());
        let mut swapped = encode(&[e[1], e[0]]);
        assert_eq!(PageView::parse(&swapped).err(), Some("idx not ascending"));
        swapped[1] = 200;
        assert!(PageView::parse(&swapped).is_err());
    }

    #[test]
    fn record_json_is_serdes_with_an_empty_host_name() {
        let mut odd = rec(3, 4, 0);
        odd.data.data = "quote \" backslash \\ tab \t nul \u{0} é 🐢".into();
        odd.tag = Tag::from("my-\"tag\"");
        odd.version = Version::from("v\n9");
        odd.timestamp = u64::MAX;
        for r in [rec(0, 1, 10), rec(u64::from(u32::MAX), u128::MAX, 3), odd] {
            let mut want = r.clone();
            want.host = Host::new(r.host.id);
            assert_eq!(
                String::from_utf8(record_json(&r)).unwrap(),
                serde_json::to_string(&want).unwrap()
            );
        }
    }

    #[test]
    fn appends_fill_the_tail_and_split() {
        let run =
            |r: core::ops::Range<u64>| -> Vec<_> { r.map(|i| rec(i, i as u128 + 1, 10)).collect() };
        let mut s = Store::default();
        let w = s.push(&run(0..100)).unwrap();
        assert_eq!((w.put.len(), w.delete.len(), w.inserted), (1, 0, 100));
        // 1000 more: the tail page is rewritten full and four new pages follow
        let w = s.push(&run(100..1100)).unwrap();
        assert_eq!(w.put.len(), 5);
        assert_eq!(w.put[0].first, 0);
        assert_eq!(w.put[0].count, PAGE_MAX_RECORDS);
        assert_eq!(s.0.len(), 5);
        s.check_invariants();
        let all = s.next(0, 5000, NEXT_MAX_BYTES);
        assert_eq!(all.len(), 1100);
        assert!(all.iter().enumerate().all(|(i, r)| r.idx == i as u64));
        // stored JSON is the wire JSON with an empty host name
        assert_eq!(all[7].host.name, "");
        assert_eq!(all[7].data, rec(7, 8, 10).data);
    }

    #[test]
    fn duplicates_conflicts_and_holes() {
        let mut s = Store::default();
        s.push(&[rec(0, 1, 5), rec(1, 2, 5), rec(5, 6, 5)]).unwrap();
        // same records again: nothing written
        let w = s.push(&[rec(1, 2, 5), rec(0, 1, 5)]).unwrap();
        assert_eq!((w.put.len(), w.duplicates), (0, 2));
        // a different record in a taken slot refuses the whole batch
        let err = s.push(&[rec(2, 3, 5), rec(5, 99, 5)]).unwrap_err();
        assert!(matches!(
            err,
            PagePushError::Push(PushError::Conflict { idx: 5, .. })
        ));
        assert_eq!(s.next(0, 10, NEXT_MAX_BYTES).len(), 3);
        // filling the hole and going below the first page keep the invariants
        s.push(&[rec(3, 4, 5), rec(2, 3, 5)]).unwrap();
        let got: Vec<_> = s
            .next(0, 10, NEXT_MAX_BYTES)
            .iter()
            .map(|r| r.idx)
            .collect();
        assert_eq!(got, vec![0, 1, 2, 3, 5]);
        let mut low = Store::default();
        low.push(&[rec(10, 1, 5)]).unwrap();
        // below every page: a page of its own, nothing rewritten
        let w = low.push(&[rec(4, 2, 5)]).unwrap();
        assert_eq!((w.put.len(), w.delete.len()), (1, 0));
        // below the first loaded page: that page takes it and moves its key down
        let w = low.push(&[rec(2, 3, 5), rec(12, 4, 5)]).unwrap();
        assert_eq!(w.delete, vec![(series(), 4)]);
        let w = low.push(&[rec(8, 5, 5), rec(11, 6, 5)]).unwrap();
        assert_eq!(
            w.put.iter().map(|p| p.first).collect::<Vec<_>>(),
            vec![2, 10]
        );
        low.check_invariants();
        let got: Vec<_> = low
            .next(0, 10, NEXT_MAX_BYTES)
            .iter()
            .map(|r| r.idx)
            .collect();
        assert_eq!(got, vec![2, 4, 8, 10, 11, 12]);
        assert_eq!(low.next(5, 10, NEXT_MAX_BYTES).len(), 4);
        let mut moved = Store::default();
        moved.push(&[rec(10, 1, 5)]).unwrap();
        let w = moved.push(&[rec(4, 2, 5), rec(12, 3, 5)]).unwrap();
        assert_eq!(w.delete, vec![(series(), 10)]);
        assert_eq!(w.put.iter().map(|p| p.first).collect::<Vec<_>>(), vec![4]);
        moved.check_invariants();
    }

    #[test]
    fn pages_are_bounded_in_bytes_and_next_too() {
        let mut s = Store::default();
        let big: Vec<_> = (0..20).map(|i| rec(i, i as u128 + 1, 200_000)).collect();
        s.push(&big).unwrap();
        for b in s.0.values() {
            assert!(b.len() <= PAGE_MAX_BYTES + 300_000);
        }
        assert!(s.0.len() >= 8);
        s.check_invariants();
        let page = s.next(0, 1000, 1_000_000);
        assert!(page.len() < 20 && !page.is_empty());
        assert_eq!(s.next(3, 1, 10).len(), 1, "at least one record");
    }

    #[test]
    fn a_page_longer_than_a_row_is_cut_into_rows_and_read_whole() {
        let mut s = Store::default();
        // A 5 MB record between small ones: a page of its own, three rows.
        let batch = [rec(0, 1, 10), rec(1, 2, 5_000_000), rec(2, 3, 10)];
        let w = s.push(&batch).unwrap();
        let big = w.put.iter().find(|p| p.first == 1).unwrap();
        assert_eq!(big.count, 1);
        let cut: Vec<&[u8]> = rows(&big.body).collect();
        assert_eq!(cut.len(), 3);
        assert!(cut.iter().all(|r| r.len() <= ROW_MAX_BYTES));
        assert_eq!(body_len(cut[0]), Ok(big.body.len()));
        assert!(may_continue(cut[0]) && !may_continue(cut[2]));
        assert_eq!(cut.concat(), big.body);
        // A head alone, or cut elsewhere, is told apart from a whole page.
        assert!(body_len(&cut[0][..1000]).is_err());
        let small = &w.put.iter().find(|p| p.first == 0).unwrap().body;
        assert_eq!(body_len(small), Ok(small.len()));
        assert_eq!(rows(small).count(), 1);
        let all = s.next(0, 10, usize::MAX);
        assert_eq!(all.iter().map(|r| r.idx).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(all[1].data, batch[1].data);
        // Past an answer's byte bound, it goes alone.
        let idx = |v: Vec<EncRecord>| v.iter().map(|r| r.idx).collect::<Vec<_>>();
        assert_eq!(idx(s.next(0, 10, NEXT_MAX_BYTES)), vec![0]);
        assert_eq!(idx(s.next(1, 10, NEXT_MAX_BYTES)), vec![1]);
    }

    #[test]
    fn random_pushes_read_back_in_order() {
        // A deterministic shuffle of pushes with holes, filled later, in varied batch sizes.
        let mut s = Store::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut order: Vec<u64> = (0..3000).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rnd(i as u64 + 1) as usize);
        }
        let mut at = 0;
        while at < order.len() {
            let n = 1 + rnd(400) as usize;
            let batch: Vec<_> = order[at..(at + n).min(order.len())]
                .iter()
                .map(|&i| rec(i, i as u128 + 1, (i % 700) as usize))
                .collect();
            s.push(&batch).unwrap();
            s.check_invariants();
            at += n;
        }
        let all = s.next(0, 10_000, usize::MAX);
        assert_eq!(all.len(), 3000);
        assert!(all.iter().enumerate().all(|(i, r)| r.idx == i as u64));
        let mid = s.next(1234, 7, usize::MAX);
        assert_eq!(
            mid.iter().map(|r| r.idx).collect::<Vec<_>>(),
            (1234..1241).collect::<Vec<_>>()
        );
    }
}
