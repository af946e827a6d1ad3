//! History and kv built from records, kept incrementally.
//!
//! When a page of `history` or `kv` records is appended, its records are decrypted and
//! decoded (core's payload codecs) *before* the IndexedDB transaction opens, and the decoded
//! page is written beside the records in the same transaction (`derived`). Opening a profile
//! folds the derived pages into the core's [`HistoryStore`] and [`KvStore`] without decrypting
//! anything again; each new page is folded in after its transaction commits. Records that fail
//! to decrypt or decode are kept (they sync untouched) and counted, as Atuin skips them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use terrapin_core::crypto::{decrypt_record, Key};
use terrapin_core::payload::history::HistoryRecord;
use terrapin_core::payload::kv::KvRecord;
use terrapin_core::record::{HostId, RecordId, RecordIdx, SeriesKey, Tag};
use terrapin_core::status::Status;
use terrapin_core::store::{HistoryStore, KvStore, RecordOrigin};
use terrapin_core::sync::{EncRecord, LocalStore};

use crate::idb::{IdbStore, StoreError};

/// What one record means, once decrypted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Meaning {
    History(HistoryRecord),
    Kv(KvRecord),
    /// Could not be decrypted or decoded: why.
    Unreadable(String),
}

/// One decoded record with where it came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Derived {
    pub ts: u64,
    pub host: HostId,
    pub idx: RecordIdx,
    pub id: RecordId,
    pub m: Meaning,
}

impl Derived {
    fn origin(&self) -> RecordOrigin {
        RecordOrigin {
            timestamp: self.ts,
            host: self.host,
            idx: self.idx,
            record: self.id,
        }
    }
}

/// Whether records of this tag are decoded into a view.
pub fn has_view(tag: &Tag) -> bool {
    matches!(tag, Tag::History | Tag::Kv)
}

/// Decrypt and decode a page (of one series).
pub fn derive_page(page: &[EncRecord], key: &Key) -> Vec<Derived> {
    page.iter()
        .filter(|r| has_view(&r.tag))
        .map(|r| {
            let m = match decrypt_record(r, key) {
                Err(e) => Meaning::Unreadable(e.to_string()),
                Ok(d) => match r.tag {
                    Tag::History => HistoryRecord::decode(&r.version, &d.data.0)
                        .map(Meaning::History)
                        .unwrap_or_else(|e| Meaning::Unreadable(e.to_string())),
                    _ => KvRecord::decode(&r.version, &d.data.0)
                        .map(Meaning::Kv)
                        .unwrap_or_else(|e| Meaning::Unreadable(e.to_string())),
                },
            };
            Derived {
                ts: r.timestamp,
                host: r.host.id,
                idx: r.idx,
                id: r.id,
                m,
            }
        })
        .collect()
}

/// The live views.
#[derive(Default)]
pub struct Views {
    pub history: HistoryStore,
    pub kv: KvStore,
    pub unreadable: u64,
    /// Bumped on every change, so callers can cache query results.
    pub generation: u64,
    /// The search index, brought up to date (the entries touched) by the next query.
    pub search: RefCell<crate::search::Search>,
}

impl Views {
    pub fn apply(&mut self, items: Vec<Derived>) {
        for d in items {
            let origin = d.origin();
            match d.m {
                Meaning::History(h) => {
                    let id = match &h {
                        HistoryRecord::Create(x) => x.id,
                        HistoryRecord::Delete(id) => *id,
                    };
                    self.history.apply_decoded(origin, h);
                    self.search.get_mut().touch(id);
                }
                Meaning::Kv(k) => self.kv.apply_decoded(origin, k),
                Meaning::Unreadable(_) => self.unreadable += 1,
            }
        }
        self.generation += 1;
    }
}

/// The record store the client syncs: IndexedDB plus the views, kept level.
#[derive(Clone)]
pub struct ViewStore {
    pub idb: IdbStore,
    pub key: Rc<RefCell<Option<Key>>>,
    pub views: Rc<RefCell<Views>>,
    /// Records appended by this handle (all series), for progress and benchmarks.
    pub appended: Rc<Cell<u64>>,
    /// Full rebuilds (decrypting every record) done by this handle, for tests.
    pub rebuilds: Rc<Cell<u64>>,
    stale: Rc<Cell<bool>>,
}

/// Records decrypted per step of a rebuild.
const REBUILD_PAGE: u64 = 1000;
/// Meta keys: the key id the kept views were made with; set while some view records are
/// stored without their meaning (appended without a key).
const META_VIEWS_KID: &str = "views_kid";
pub(crate) const META_VIEWS_STALE: &str = "views_stale";

impl ViewStore {
    pub fn new(idb: IdbStore) -> Self {
        Self {
            idb,
            key: Rc::new(RefCell::new(None)),
            views: Rc::new(RefCell::new(Views::default())),
            appended: Rc::new(Cell::new(0)),
            rebuilds: Rc::new(Cell::new(0)),
            stale: Rc::new(Cell::new(false)),
        }
    }

    /// Rebuild the views from the derived pages in IndexedDB.
    pub async fn load(&self) -> Result<(), StoreError> {
        let status = self.idb.status().await?;
        let mut views = Views::default();
        for (series, _) in status.iter().filter(|(s, _)| has_view(&s.tag)) {
            for text in self.idb.derived(&series).await? {
                let items: Vec<Derived> =
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
                        what: format!("derived page of {series}"),
                        reason: e.to_string(),
                    })?;
                views.apply(items);
            }
        }
        views.generation = self.views.borrow().generation + 1;
        *self.views.borrow_mut() = views;
        Ok(())
    }

    /// Derive the views again from the records with the current key, and keep what they mean
    /// (after the key changed, or records were stored without a key).
    pub async fn rebuild(&self) -> Result<(), StoreError> {
        let key = self.key.borrow().clone();
        let Some(key) = key else {
            return Ok(());
        };
        let status = self.idb.status().await?;
        let mut views = Views::default();
        for (series, last) in status.iter().filter(|(s, _)| has_view(&s.tag)) {
            let mut kept = Vec::new();
            let mut start = 0;
            while start <= last {
                let recs = self.idb.read(&series, start, REBUILD_PAGE).await?;
                if recs.is_empty() {
                    break;
                }
                let d = derive_page(&recs, &key);
                let text =
                    serde_json::to_string(&d).map_err(|e| StoreError::Derive(e.to_string()))?;
                kept.push((start, text));
                views.apply(d);
                start += recs.len() as u64;
            }
            self.idb.replace_derived(&series, &kept).await?;
        }
        self.idb.meta_remove_stale().await?;
        views.generation = self.views.borrow().generation + 1;
        *self.views.borrow_mut() = views;
        self.rebuilds.set(self.rebuilds.get() + 1);
        Ok(())
    }

    /// Whether the kept views were made with `key` and cover every record.
    pub async fn views_match(&self, key: &Key) -> Result<bool, StoreError> {
        Ok(
            self.idb.meta_get(META_VIEWS_KID).await?.as_deref() == Some(key.key_id().as_str())
                && self.idb.meta_get(META_VIEWS_STALE).await?.is_none(),
        )
    }

    /// Remember which key the kept views were made with.
    pub async fn record_views_key(&self, key: &Key) -> Result<(), StoreError> {
        self.idb.meta_set(META_VIEWS_KID, Some(&key.key_id())).await
    }
}

impl LocalStore for ViewStore {
    type Error = StoreError;

    async fn status(&self) -> Result<Status, StoreError> {
        self.idb.status().await
    }

    async fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, StoreError> {
        self.idb.read(series, start, count).await
    }

    async fn append(&self, page: &[EncRecord]) -> Result<(), StoreError> {
        let derived = match (page.first(), self.key.borrow().as_ref()) {
            (Some(first), Some(key)) if has_view(&first.tag) => Some(derive_page(page, key)),
            _ => None,
        };
        if derived.is_none() && page.first().is_some_and(|r| has_view(&r.tag)) && !self.stale.get()
        {
            // Stored without a key: the views must be rebuilt once a key is set.
            self.idb.meta_set(META_VIEWS_STALE, Some("1")).await?;
            self.stale.set(true);
        }
        let text = match &derived {
            Some(d) => {
                Some(serde_json::to_string(d).map_err(|e| StoreError::Derive(e.to_string()))?)
            }
            None => None,
        };
        self.idb.append_with(page, text.as_deref()).await?;
        self.appended.set(self.appended.get() + page.len() as u64);
        if let Some(d) = derived {
            self.views.borrow_mut().apply(d);
        }
        Ok(())
    }
}
