//! The account's records in SQL pages (terrapin-core `pages`): the schema, the push's load,
//! plan and write in one transaction, `next`, the status and the statistics.

use std::rc::Rc;

use js_sys::Uint8Array;
use terrapin_core::pages::{
    self, NextPage, PageError, PagePushError, StoredPage, NEXT_MAX_BYTES, PAGE_MAX_BYTES,
    ROW_MAX_BYTES,
};
use terrapin_core::push::{self, SeriesRange};
use terrapin_core::record::{HostId, RecordIdx, SeriesKey, Tag};
use terrapin_core::status::Status;
use terrapin_core::wire::NextQuery;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::SqlStorageValue;

use super::{as_idx, as_str, n, s, Stats, UserStore, READ_CACHE};
use crate::db::Rows;
use crate::error::ApiError;
use crate::http::query_pairs;

pub(super) const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS pages (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    count INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (host, tag, first_idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parts (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    first_idx INTEGER NOT NULL,
    part INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (host, tag, first_idx, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    last_idx INTEGER NOT NULL,
    PRIMARY KEY (host, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;";

#[wasm_bindgen]
extern "C" {
    type SyncTransactions;
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    pub(super) fn transaction_sync(
        this: &SyncTransactions,
        f: &mut dyn FnMut() -> Result<(), JsValue>,
    ) -> Result<JsValue, JsValue>;
}

impl UserStore {
    /// Runs one statement, counting its rows, and returns every row it yields.
    pub(super) fn query(
        &self,
        sql: &str,
        args: Vec<JsValue>,
    ) -> worker::Result<Vec<Vec<SqlStorageValue>>> {
        let cursor = self.sql.exec_raw(sql, args)?;
        let rows = cursor.raw().collect::<worker::Result<Vec<_>>>()?;
        self.count(cursor.rows_read(), cursor.rows_written());
        Ok(rows)
    }

    pub(super) fn count(&self, read: usize, written: usize) {
        let r = self.rows.get();
        self.rows.set(Rows {
            read: r.read + read,
            written: r.written + written,
        });
    }

    /// Runs `f` in one SQLite transaction: everything it wrote is rolled back if it fails.
    pub(super) fn transaction(
        &self,
        mut f: impl FnMut() -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let mut failure = None;
        let storage = self.state.storage();
        let tx: &SyncTransactions = storage.as_raw().unchecked_ref();
        let done = tx.transaction_sync(&mut || {
            f().map_err(|e| {
                let msg = e.reason.clone();
                failure = Some(e);
                JsValue::from_str(&msg)
            })
        });
        match (done, failure) {
            (_, Some(e)) => Err(e),
            (Err(e), None) => Err(ApiError::internal("storage error", format!("{e:?}"))),
            (Ok(_), None) => Ok(()),
        }
    }

    /// The last idx of every series, from the `series` table (one row per series, raised in
    /// the same transaction as the pages): its cost does not grow with the records.
    pub(super) fn status(&self) -> worker::Result<Status> {
        let mut status = Status::new();
        for row in self.query("SELECT host, tag, last_idx FROM series", vec![])? {
            if let (Ok(host), Some(idx)) = (as_str(&row[0]).parse::<HostId>(), as_idx(&row[2])) {
                status.set(SeriesKey::new(host, Tag::from(as_str(&row[1]))), idx);
            }
        }
        Ok(status)
    }

    /// The pages a batch touches in one series: from the page holding `first` (or the start)
    /// up to `last`, each read whole ([`Self::whole`]).
    pub(super) fn load(&self, r: &SeriesRange, out: &mut Vec<StoredPage>) -> Result<(), ApiError> {
        let host = r.series.host.to_string();
        let rows = self.query(
            "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 AND first_idx <= ?4 \
             AND first_idx >= coalesce((SELECT max(first_idx) FROM pages \
             WHERE host = ?1 AND tag = ?2 AND first_idx <= ?3), 0) ORDER BY first_idx",
            vec![s(&host), s(r.series.tag.as_str()), n(r.first), n(r.last)],
        )?;
        for row in rows {
            if let (Some(first), Some(SqlStorageValue::Blob(head))) =
                (as_idx(&row[0]), row.into_iter().nth(1))
            {
                out.push(self.whole(&r.series, first, head)?);
            }
        }
        Ok(())
    }

    /// A page read whole from its head row: the parts that follow a head cut at
    /// `ROW_MAX_BYTES` are read and appended (docs/ARCHITECTURE.md, "Edge store").
    pub(super) fn whole(
        &self,
        series: &SeriesKey,
        first: RecordIdx,
        mut body: Vec<u8>,
    ) -> Result<StoredPage, ApiError> {
        let damaged = |reason| {
            ApiError::internal(
                "damaged store",
                PageError {
                    series: series.clone(),
                    first,
                    reason,
                },
            )
        };
        // A row shorter than a cut head is a whole page: its table is read once, by `next` or
        // the push's plan, not here too.
        if !pages::may_continue(&body) {
            return Ok(StoredPage {
                series: series.clone(),
                first,
                body,
            });
        }
        let len = pages::body_len(&body).map_err(damaged)?;
        if len > body.len() {
            body.reserve_exact(len - body.len());
            let parts = self.query(
                "SELECT body FROM parts WHERE host = ?1 AND tag = ?2 AND first_idx = ?3 \
                 ORDER BY part",
                vec![
                    s(&series.host.to_string()),
                    s(series.tag.as_str()),
                    n(first),
                ],
            )?;
            for part in parts {
                if let Some(SqlStorageValue::Blob(b)) = part.first() {
                    body.extend_from_slice(b);
                }
            }
            if body.len() != len {
                return Err(damaged("parts do not add up to the page"));
            }
        }
        Ok(StoredPage {
            series: series.clone(),
            first,
            body,
        })
    }

    /// The last idx of one series, if the store holds it.
    pub(super) fn last_idx(&self, series: &SeriesKey) -> worker::Result<Option<RecordIdx>> {
        let rows = self.query(
            "SELECT last_idx FROM series WHERE host = ?1 AND tag = ?2",
            vec![s(&series.host.to_string()), s(series.tag.as_str())],
        )?;
        Ok(rows.first().and_then(|r| as_idx(&r[0])))
    }

    /// Stores a validated batch: duplicates skipped, any conflict refuses all of it; gaps are
    /// kept (docs/PROTOCOL.md §2). Returns the series it wrote (empty when every record was
    /// already stored).
    pub(super) fn store(&self, batch: Vec<push::EncRecord>) -> Result<Vec<SeriesKey>, ApiError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut loaded = Vec::new();
        for r in push::ranges(&batch) {
            self.load(&r, &mut loaded)?;
        }
        // Pages kept in several rows: their parts go when the page is rewritten or moved.
        let cut: Vec<(&SeriesKey, RecordIdx)> = loaded
            .iter()
            .filter(|p| p.body.len() > ROW_MAX_BYTES)
            .map(|p| (&p.series, p.first))
            .collect();
        let writes = pages::plan_push(batch, &loaded).map_err(|e| match e {
            PagePushError::Push(e) => ApiError::from(e),
            PagePushError::Damaged(e) => ApiError::internal("damaged store", e),
        })?;
        if writes.put.is_empty() && writes.delete.is_empty() {
            return Ok(Vec::new());
        }
        let key = |series: &SeriesKey, first: RecordIdx| {
            vec![
                s(&series.host.to_string()),
                s(series.tag.as_str()),
                n(first),
            ]
        };
        let drop_parts = |series: &SeriesKey, first: RecordIdx| -> Result<(), ApiError> {
            if cut.contains(&(series, first)) {
                self.query(
                    "DELETE FROM parts WHERE host = ?1 AND tag = ?2 AND first_idx = ?3",
                    key(series, first),
                )?;
            }
            Ok(())
        };
        self.transaction(|| {
            for (series, first) in &writes.delete {
                self.query(
                    "DELETE FROM pages WHERE host = ?1 AND tag = ?2 AND first_idx = ?3",
                    key(series, *first),
                )?;
                drop_parts(series, *first)?;
            }
            // The status row of each series written: its highest idx, never lowered.
            for (series, idx) in &writes.last_idx {
                self.query(
                    "INSERT INTO series (host, tag, last_idx) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (host, tag) DO UPDATE SET \
                     last_idx = max(last_idx, excluded.last_idx)",
                    key(series, *idx),
                )?;
            }
            for p in &writes.put {
                drop_parts(&p.series, p.first)?;
                let mut rows = pages::rows(&p.body);
                let mut args = key(&p.series, p.first);
                args.push(n(p.count as u64));
                // Each row is copied once, straight into a Uint8Array.
                args.push(Uint8Array::from(rows.next().unwrap_or_default()).into());
                self.query(
                    "INSERT INTO pages (host, tag, first_idx, count, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, tag, first_idx) \
                     DO UPDATE SET count = excluded.count, body = excluded.body",
                    args,
                )?;
                for (part, row) in rows.enumerate() {
                    let mut args = key(&p.series, p.first);
                    args.push(n(part as u64 + 1));
                    args.push(Uint8Array::from(row).into());
                    self.query(
                        "INSERT INTO parts (host, tag, first_idx, part, body) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        args,
                    )?;
                }
            }
            Ok(())
        })?;
        Ok(writes
            .last_idx
            .iter()
            .map(|(series, _)| series.clone())
            .collect())
    }

    pub(super) fn next(&self, q: &NextQuery) -> Result<Vec<u8>, ApiError> {
        let series = SeriesKey::new(q.host, q.tag.clone());
        let mut page = NextPage::new(q.count, NEXT_MAX_BYTES);
        let damaged = |e| ApiError::internal("damaged store", e);
        // A row read before that holds `start` (rows split a series by idx, so no other row
        // can): the answer begins there, and only the rows after it are read.
        let cached = self
            .read
            .borrow()
            .iter()
            .rev()
            .find(|(p, last)| p.series == series && p.first <= q.start && *last >= q.start)
            .map(|(p, _)| p.clone());
        if let Some(p) = &cached {
            page.add(p, q.start).map_err(damaged)?;
            if page.is_full() {
                return Ok(page.finish());
            }
        }
        let (host, tag) = (s(&q.host.to_string()), s(q.tag.as_str()));
        let cursor = match &cached {
            Some(p) => self.sql.exec_raw(
                "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 \
                 AND first_idx > ?3 ORDER BY first_idx",
                vec![host, tag, n(p.first)],
            )?,
            None => self.sql.exec_raw(
                "SELECT first_idx, body FROM pages WHERE host = ?1 AND tag = ?2 \
                 AND first_idx >= coalesce((SELECT max(first_idx) FROM pages \
                 WHERE host = ?1 AND tag = ?2 AND first_idx <= ?3), 0) ORDER BY first_idx",
                vec![host, tag, n(q.start)],
            )?,
        };
        // Rows are stepped one at a time: reading stops with the last page needed.
        let mut rows = cursor.raw();
        while !page.is_full() {
            let Some(row) = rows.next() else { break };
            let mut row = row?;
            let (Some(SqlStorageValue::Blob(head)), Some(first)) =
                (row.pop(), row.first().and_then(as_idx))
            else {
                continue;
            };
            let stored = Rc::new(self.whole(&series, first, head)?);
            let Some(last) = page.add(&stored, q.start).map_err(damaged)? else {
                continue;
            };
            if stored.body.len() > PAGE_MAX_BYTES {
                continue;
            }
            let mut read = self.read.borrow_mut();
            if read.len() >= READ_CACHE {
                read.remove(0);
            }
            read.push((stored, last));
        }
        self.count(cursor.rows_read(), cursor.rows_written());
        Ok(page.finish())
    }

    /// `next` for the query of `url` (`/next?…`), read by the wire rules.
    pub(super) fn next_at(&self, url: &worker::Url) -> Result<Vec<u8>, ApiError> {
        let pairs = query_pairs(url);
        let q = NextQuery::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.cfg.max_page_size,
        )?;
        self.next(&q)
    }

    pub(super) fn stats(&self) -> worker::Result<Stats> {
        let rows = if self.closed.get() {
            vec![]
        } else {
            self.query(
                "SELECT count(*), coalesce(sum(count), 0) FROM pages",
                vec![],
            )?
        };
        let get = |i: usize| rows.first().and_then(|r| as_idx(&r[i])).unwrap_or(0);
        Ok(Stats {
            pages: get(0),
            records: get(1),
            closed: self.closed.get(),
            bytes: self.sql.database_size(),
        })
    }
}
