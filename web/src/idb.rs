//! The IndexedDB adapter: the core's [`LocalStore`] over one browser database.
//!
//! Layout (schema version [`SCHEMA_VERSION`]), chosen for throughput: a browser pays per
//! IndexedDB value, not per byte, so records are kept in *chunks* of [`CHUNK`] consecutive
//! records of one series, one value per chunk.
//!
//! - `records`: key `[host, tag, idx / CHUNK]` → JSON array (a string) of the chunk's
//!   records in idx order, exactly as on the wire. Only a series' last chunk is ever partial.
//! - `series`: key `[host, tag]` → last idx (number), written in the same transaction as the
//!   records, so the status never runs ahead of or behind the records.
//! - `derived`: key `[host, tag, first idx of a page]` → what the records of that page mean
//!   once decrypted (history entries, kv writes), as bytes ([`crate::views::encode_page`]);
//!   written with the records (see [`crate::views`]). Schema 1 kept JSON text here: such
//!   pages are left alone and derived again from the records once a key is set.
//! - `meta`: key string → string (host id, vault, settings).
//! - `missing` (schema 3): key `[host, tag]` → JSON array of the series' holes
//!   (`[{"first", "last"}, …]`, idx below its last idx the server could not give); absent for a
//!   series without holes. Such a series' chunks may be partial anywhere.
//!
//! An append is one read-write transaction: it places the page by the core's rule
//! ([`terrapin_core::holes::place`]: each record continues the series or fills a hole; ranges
//! declared skipped become holes), merges the records into their chunks, writes the chunks, the
//! new last idx and the holes, and commits. A page either lands whole or not at all.

use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{TransactionDurability, TransactionMode, TransactionOptions};
use indexed_db_futures::KeyRange;
use js_sys::Array;
use serde_json::Value;
use terrapin_core::holes::{self, IdxRange, Missing, PlaceError};
use terrapin_core::record::{RecordIdx, SeriesKey, Tag};
use terrapin_core::status::Status;
use terrapin_core::sync::{EncRecord, LocalStore};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Records per stored value.
pub const CHUNK: u64 = 256;
/// The schema this code writes; older databases are upgraded on open.
pub const SCHEMA_VERSION: u32 = 3;

const RECORDS: &str = "records";
const SERIES: &str = "series";
const DERIVED: &str = "derived";
const META: &str = "meta";
const MISSING: &str = "missing";

#[derive(Debug, thiserror::Error)]
pub enum IdbError {
    #[error("IndexedDB: {0}")]
    Idb(String),
    #[error("opening the database {name}: {reason}")]
    Open { name: String, reason: String },
    #[error(transparent)]
    Place(#[from] PlaceError),
    #[error("stored value {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
}

impl From<indexed_db_futures::error::Error> for IdbError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        Self::Idb(e.to_string())
    }
}

/// The open database, closed when the last handle goes, or as soon as another connection (a
/// newer version, `deleteProfile` in another tab) asks for it with a `versionchange`: that
/// one waits until every other connection is closed. Later requests here then fail.
struct Conn {
    db: Database,
    _give_up: Closure<dyn FnMut(JsValue)>,
}

impl Conn {
    fn new(db: Database) -> Self {
        let sys = web_sys::IdbDatabase::clone(db.as_sys());
        let give_up = Closure::<dyn FnMut(JsValue)>::new(move |_| sys.close());
        db.as_sys()
            .set_onversionchange(Some(give_up.as_ref().unchecked_ref()));
        Self {
            db,
            _give_up: give_up,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closed first: a closed connection hears no more events, so `give_up` may go after.
        self.db.clone().close();
    }
}

impl std::ops::Deref for Conn {
    type Target = Database;
    fn deref(&self) -> &Database {
        &self.db
    }
}

/// One browser database holding a record store.
#[derive(Clone)]
pub struct IdbStore {
    db: Rc<Conn>,
    name: String,
}

fn series_key(s: &SeriesKey) -> JsValue {
    Array::of2(
        &JsValue::from_str(&s.host.to_string()),
        &JsValue::from_str(s.tag.as_str()),
    )
    .into()
}

fn chunk_key(s: &SeriesKey, chunk: u64) -> JsValue {
    Array::of3(
        &JsValue::from_str(&s.host.to_string()),
        &JsValue::from_str(s.tag.as_str()),
        &JsValue::from_f64(chunk as f64),
    )
    .into()
}

/// The keys of one series from `first` to `last` (chunk numbers or first idx), both included.
fn series_range(s: &SeriesKey, first: u64, last: u64) -> KeyRange<JsValue> {
    KeyRange::Bound(chunk_key(s, first), false, chunk_key(s, last), false)
}

/// Every value of `store` whose key is in `range`, in key order.
async fn get_all(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    range: KeyRange<JsValue>,
) -> Result<Vec<JsValue>, IdbError> {
    Ok(store
        .get_all()
        .with_query::<JsValue, _>(range)
        .primitive()?
        .await?
        .collect::<Result<_, _>>()?)
}

fn corrupt(what: impl Into<String>, reason: impl ToString) -> IdbError {
    IdbError::Corrupt {
        what: what.into(),
        reason: reason.to_string(),
    }
}

impl IdbStore {
    /// Open (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Self, IdbError> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                let old = event.old_version() as u64;
                // Version 1: the first layout. Later versions add their steps below, each
                // guarded by `old < N`, so any older database walks up step by step.
                if old < 1 {
                    db.create_object_store(RECORDS).build()?;
                    db.create_object_store(SERIES).build()?;
                    db.create_object_store(DERIVED).build()?;
                    db.create_object_store(META).build()?;
                }
                // Version 2: derived pages are bytes. Nothing to move: the views find the
                // schema-1 pages on load and derive them again (so older code can't open a
                // database whose pages it would misread).
                // Version 3: the holes of each series. Older databases have none.
                if old < 3 {
                    db.create_object_store(MISSING).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| IdbError::Open {
                name: name.into(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            db: Rc::new(Conn::new(db)),
            name: name.into(),
        })
    }

    /// Delete the database `name` with everything in it.
    pub async fn delete(name: &str) -> Result<(), IdbError> {
        Database::delete_by_name(name)
            .map_err(|e| IdbError::Idb(e.to_string()))?
            .await
            .map_err(|e| IdbError::Idb(e.to_string()))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> u32 {
        self.db.version() as u32
    }

    fn tx_options() -> TransactionOptions {
        let mut o = TransactionOptions::new();
        o.set_durability(TransactionDurability::Relaxed);
        o
    }

    /// A value of the `meta` store.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>, IdbError> {
        let tx = self.db.transaction(META).build()?;
        let store = tx.object_store(META)?;
        let v: Option<JsValue> = store.get(key).primitive()?.await?;
        Ok(v.and_then(|v| v.as_string()))
    }

    /// Set (`Some`) or remove (`None`) a value of the `meta` store.
    pub async fn meta_set(&self, key: &str, value: Option<&str>) -> Result<(), IdbError> {
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(META)?;
        match value {
            Some(v) => {
                store.put(v).with_key(key).primitive()?.await?;
            }
            None => store.delete(key).primitive()?.await?,
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every derived page of a series, in idx order, and whether some were in the schema-1
    /// format (JSON text, skipped).
    pub async fn derived(&self, series: &SeriesKey) -> Result<(Vec<Vec<u8>>, bool), IdbError> {
        self.derived_range(series, 0, u64::MAX).await
    }

    /// The derived pages of a series whose first idx is in `first..=last`, in idx order, and
    /// whether some were in the schema-1 format (JSON text, skipped).
    pub async fn derived_range(
        &self,
        series: &SeriesKey,
        first: u64,
        last: u64,
    ) -> Result<(Vec<Vec<u8>>, bool), IdbError> {
        let tx = self.db.transaction(DERIVED).build()?;
        let store = tx.object_store(DERIVED)?;
        let vals = get_all(&store, series_range(series, first, last)).await?;
        let old = vals.iter().any(|v| v.is_string());
        let pages = vals
            .into_iter()
            .filter(|v| !v.is_string())
            .map(|v| js_sys::Uint8Array::new(&v).to_vec())
            .collect();
        Ok((pages, old))
    }

    /// Replace every derived page of a series with `values` (`(first idx, bytes)`), in one
    /// transaction.
    pub async fn replace_derived(
        &self,
        series: &SeriesKey,
        values: &[(u64, Vec<u8>)],
    ) -> Result<(), IdbError> {
        let tx = self
            .db
            .transaction(DERIVED)
            .with_mode(TransactionMode::Readwrite)
            .with_options(Self::tx_options())
            .build()?;
        let store = tx.object_store(DERIVED)?;
        let range = series_range(series, 0, u64::MAX);
        store.delete::<JsValue, _>(range).primitive()?.await?;
        let mut pending = Vec::with_capacity(values.len());
        for (first, bytes) in values {
            pending.push(
                store
                    .put(JsValue::from(js_sys::Uint8Array::from(bytes.as_slice())))
                    .with_key(chunk_key(series, *first))
                    .primitive()?,
            );
        }
        tx.commit().await?;
        for p in pending {
            p.await?;
        }
        Ok(())
    }

    /// The records of every series of `tag` (of every series without one) as wire JSON text, an
    /// array: their chunks' text as kept, joined, series by series in idx order. Reads only
    /// those series' keys.
    pub async fn records_json(&self, tag: Option<&Tag>) -> Result<String, IdbError> {
        let status = self.status().await?;
        let tx = self.db.transaction(RECORDS).build()?;
        let store = tx.object_store(RECORDS)?;
        let mut out = String::from("[");
        for (series, last) in status
            .iter()
            .filter(|(s, _)| tag.is_none_or(|t| s.tag == *t))
        {
            for v in get_all(&store, series_range(&series, 0, last / CHUNK)).await? {
                let chunk = text(&v).ok_or_else(|| corrupt("record chunk", "not a string"))?;
                let records = chunk
                    .trim()
                    .strip_prefix('[')
                    .and_then(|c| c.strip_suffix(']'))
                    .ok_or_else(|| corrupt("record chunk", "not a JSON array"))?
                    .trim();
                if !records.is_empty() {
                    if out.len() > 1 {
                        out.push(',');
                    }
                    out.push_str(records);
                }
            }
        }
        out.push(']');
        Ok(out)
    }

    /// Every record of every series (for tests).
    pub async fn all(&self) -> Result<Vec<EncRecord>, IdbError> {
        let status = self.status().await?;
        let mut out = Vec::new();
        for (series, last) in status.iter() {
            out.extend(self.read(&series, 0, last + 1).await?);
        }
        Ok(out)
    }

    /// Remove every record, derived value, status and hole (meta stays).
    pub async fn clear_records(&self) -> Result<(), IdbError> {
        let tx = self
            .db
            .transaction([RECORDS, SERIES, DERIVED, MISSING])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        for s in [RECORDS, SERIES, DERIVED, MISSING] {
            tx.object_store(s)?.clear()?.await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The series of a page: non-empty, every record of one series.
fn page_series(page: &[EncRecord]) -> Result<SeriesKey, IdbError> {
    let series = page.first().ok_or(PlaceError::Empty)?.series();
    if page
        .iter()
        .any(|r| r.host.id != series.host || r.tag != series.tag)
    {
        return Err(PlaceError::BadPage("records of more than one series").into());
    }
    Ok(series)
}

/// Parse `[host, tag]`.
fn parse_series_key(k: &JsValue) -> Result<SeriesKey, IdbError> {
    let arr = Array::from(k);
    let host = arr
        .get(0)
        .as_string()
        .ok_or_else(|| corrupt("series key", "host"))?;
    let tag = arr
        .get(1)
        .as_string()
        .ok_or_else(|| corrupt("series key", "tag"))?;
    let host = host.parse().map_err(|e| corrupt("series key", e))?;
    Ok(SeriesKey::new(host, tag.into()))
}

fn parse_missing(v: &JsValue) -> Result<Vec<IdxRange>, IdbError> {
    let s = v
        .as_string()
        .ok_or_else(|| corrupt("series holes", "not a string"))?;
    // Through a `Value`: no deserializer of its own for `IdxRange` in the wasm.
    let v: Value = serde_json::from_str(&s).map_err(|e| corrupt("series holes", e))?;
    let range = |r: &Value| {
        let idx = |k| r.get(k).and_then(Value::as_u64);
        Some(IdxRange::new(idx("first")?, idx("last")?))
    };
    v.as_array()
        .and_then(|a| a.iter().map(range).collect())
        .ok_or_else(|| corrupt("series holes", "not an array of {first, last}"))
}

/// A record's wire JSON as serde writes it. A record with no host name (every record a server
/// answers, and every one this package writes) goes through the core's field-by-field writer,
/// the same bytes at a fraction of the cost (a first sync writes every record it downloads).
fn record_json(r: &EncRecord) -> Result<String, IdbError> {
    if r.host.name.is_empty() {
        String::from_utf8(terrapin_core::pages::record_json(r)).map_err(|e| corrupt("record", e))
    } else {
        serde_json::to_string(r).map_err(|e| corrupt("record", e))
    }
}

/// A stored string (a chunk: hundreds of kilobytes) as Rust text, copied by the browser's
/// encoder ([`crate::socket::utf8`]).
fn text(v: &JsValue) -> Option<String> {
    v.dyn_ref::<js_sys::JsString>()
        .and_then(crate::socket::utf8)
}

fn parse_chunk(what: &str, v: &JsValue) -> Result<Vec<EncRecord>, IdbError> {
    let s = text(v).ok_or_else(|| corrupt(what, "not a string"))?;
    serde_json::from_str(&s).map_err(|e| corrupt(what, e))
}

impl IdbStore {
    /// Every key and value of a small object store, in key order, in one read transaction.
    async fn keys_and_values(&self, name: &str) -> Result<(Vec<JsValue>, Vec<JsValue>), IdbError> {
        let tx = self.db.transaction(name).build()?;
        let store = tx.object_store(name)?;
        let keys: Vec<JsValue> = store
            .get_all_keys::<JsValue>()
            .primitive()?
            .await?
            .collect::<Result<_, _>>()?;
        let vals: Vec<JsValue> = store
            .get_all::<JsValue>()
            .primitive()?
            .await?
            .collect::<Result<_, _>>()?;
        Ok((keys, vals))
    }
}

impl LocalStore for IdbStore {
    type Error = IdbError;

    async fn status(&self) -> Result<Status, IdbError> {
        let (keys, vals) = self.keys_and_values(SERIES).await?;
        let mut status = Status::new();
        for (k, v) in keys.iter().zip(vals.iter()) {
            let last = v
                .as_f64()
                .ok_or_else(|| corrupt("series last idx", "not a number"))?;
            status.set(parse_series_key(k)?, last as u64);
        }
        Ok(status)
    }

    async fn missing(&self) -> Result<Missing, IdbError> {
        let (keys, vals) = self.keys_and_values(MISSING).await?;
        let mut out = Missing::new();
        for (k, v) in keys.iter().zip(vals.iter()) {
            out.insert(parse_series_key(k)?, parse_missing(v)?);
        }
        Ok(out)
    }

    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, IdbError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let end = start.saturating_add(count - 1);
        let tx = self.db.transaction(RECORDS).build()?;
        let store = tx.object_store(RECORDS)?;
        let range = series_range(series, start / CHUNK, end / CHUNK);
        let vals = get_all(&store, range).await?;
        let mut out = Vec::with_capacity(count.min(100_000) as usize);
        for v in &vals {
            for r in parse_chunk("record chunk", v)? {
                if r.idx >= start && r.idx <= end {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }

    async fn append(&self, page: &[EncRecord], skipped: &[IdxRange]) -> Result<(), IdbError> {
        self.append_with(page, skipped, None).await
    }
}

impl IdbStore {
    /// Append a page (see [`LocalStore::append`]) and, in the same transaction, what it means
    /// (`derived`, see [`crate::views`]), keyed by the page's first idx.
    pub async fn append_with(
        &self,
        page: &[EncRecord],
        skipped: &[IdxRange],
        derived: Option<&[u8]>,
    ) -> Result<(), IdbError> {
        let series = page_series(page)?;
        let first = page[0].idx;
        let idx: Vec<RecordIdx> = page.iter().map(|r| r.idx).collect();
        // Work that needs no transaction first: a transaction must not wait on anything but
        // its own requests, or the browser commits it early.
        let mut encoded: Vec<String> = Vec::with_capacity(page.len());
        for r in page {
            encoded.push(record_json(r)?);
        }

        let tx = self
            .db
            .transaction([RECORDS, SERIES, DERIVED, MISSING])
            .with_mode(TransactionMode::Readwrite)
            .with_options(Self::tx_options())
            .build()?;
        let records = tx.object_store(RECORDS)?;
        let series_store = tx.object_store(SERIES)?;
        let missing_store = tx.object_store(MISSING)?;
        let last: Option<JsValue> = series_store.get(series_key(&series)).primitive()?.await?;
        let last = last.and_then(|v| v.as_f64()).map(|l| l as u64);
        let held: Option<JsValue> = missing_store.get(series_key(&series)).primitive()?.await?;
        let mut missing = match &held {
            Some(v) => parse_missing(v)?,
            None => Vec::new(),
        };
        let new_last = holes::place(&series, last, &mut missing, &idx, skipped)?;

        let mut pending = Vec::new();
        let mut at = 0;
        while at < page.len() {
            // The records of one chunk.
            let chunk_no = page[at].idx / CHUNK;
            let end = at + page[at..].partition_point(|r| r.idx / CHUNK == chunk_no);
            let jsons = &encoded[at..end];
            // A chunk at or below the last idx may already hold records.
            let stored = if last.is_some_and(|l| chunk_no <= l / CHUNK) {
                let v: Option<JsValue> = records
                    .get(chunk_key(&series, chunk_no))
                    .primitive()?
                    .await?;
                v.map(|v| text(&v).ok_or_else(|| corrupt("record chunk", "not a string")))
                    .transpose()?
            } else {
                None
            };
            let text = match stored {
                None => format!("[{}]", jsons.join(",")),
                // Only records above the last idx: they follow the chunk's records.
                Some(old) if last.is_some_and(|l| page[at].idx > l) => {
                    let mut s = old.trim_end().to_owned();
                    if s.pop() != Some(']') {
                        return Err(corrupt("record chunk", "not a JSON array"));
                    }
                    for j in jsons {
                        s.push(',');
                        s.push_str(j);
                    }
                    s.push(']');
                    s
                }
                // Records filling holes: merge by idx.
                Some(old) => {
                    let mut all: Vec<(RecordIdx, String)> =
                        parse_chunk("record chunk", &JsValue::from_str(&old))?
                            .iter()
                            .map(|r| record_json(r).map(|j| (r.idx, j)))
                            .collect::<Result<_, _>>()?;
                    all.extend(
                        page[at..end]
                            .iter()
                            .map(|r| r.idx)
                            .zip(jsons.iter().cloned()),
                    );
                    terrapin_core::sort::sort_cold_by(&mut all, |a, b| a.0.cmp(&b.0));
                    let parts: Vec<&str> = all.iter().map(|e| e.1.as_str()).collect();
                    format!("[{}]", parts.join(","))
                }
            };
            pending.push(
                records
                    .put(text.as_str())
                    .with_key(chunk_key(&series, chunk_no))
                    .primitive()?,
            );
            at = end;
        }
        pending.push(
            series_store
                .put(JsValue::from_f64(new_last as f64))
                .with_key(series_key(&series))
                .primitive()?,
        );
        if !missing.is_empty() {
            let json = serde_json::to_string(&missing).map_err(|e| corrupt("series holes", e))?;
            pending.push(
                missing_store
                    .put(json.as_str())
                    .with_key(series_key(&series))
                    .primitive()?,
            );
        } else if held.is_some() {
            missing_store
                .delete(series_key(&series))
                .primitive()?
                .await?;
        }
        if let Some(d) = derived {
            // One derived value per page, keyed by the page's first idx.
            let derived_store = tx.object_store(DERIVED)?;
            pending.push(
                derived_store
                    .put(JsValue::from(js_sys::Uint8Array::from(d)))
                    .with_key(chunk_key(&series, first))
                    .primitive()?,
            );
        }
        tx.commit().await?;
        for p in pending {
            p.await?;
        }
        Ok(())
    }
}
