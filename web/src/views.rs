//! History and kv built from records, kept incrementally; the records of scripts, shell
//! aliases and variables kept decrypted for the extras module, which folds them.
//!
//! When a page of records of a tag some store reads (`history`, `kv`, `script`,
//! `config-shell-alias`, `dotfiles-var`: the core's [`has_any_store`]) is appended, its records
//! are decrypted (history and kv also decoded: the core's [`meaning`]) *before* the IndexedDB
//! transaction opens, and the derived page is written beside the records in the same
//! transaction (`derived`). Opening a profile folds the derived pages into the core's stores
//! ([`HistoryStore`], [`KvStore`]) without decrypting anything again; each new page is folded
//! in after its transaction commits. The pages of the other tags are handed as they are kept
//! ([`ViewStore::pages_of`]) to the package's extras module (`web/extras`), which decodes and
//! folds them with the core's scripts and dotfiles stores: the main module carries neither.
//! Records that fail to decrypt or decode are kept (they sync untouched) and counted, as Atuin
//! skips them.
//!
//! A client opens with the newest history pages of each host folded in and the rest folded
//! after `open` returned, a step at a time between IndexedDB reads
//! ([`ViewStore::load_newest_first`]): a million entries show their newest in a fraction of the
//! time the whole fold takes, and the page stays responsive while it runs.
//!
//! Profiles written before scripts, aliases and variables had derived pages kept those records
//! without them. Such a profile still opens as it was; the first time a key is set after, the
//! records of those three tags alone are derived once (a cheap one-off: they are few), and the
//! meta key `views_kinds` remembers it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use terrapin_core::crypto::{decrypt_record, Key};
use terrapin_core::holes::{IdxRange, Missing};
use terrapin_core::payload::history::{HistoryId, HistoryRecord, HISTORY_VERSION};
use terrapin_core::payload::kv::{KvRecord, KV_VERSION};
use terrapin_core::record::{HostId, RecordId, RecordIdx, SeriesKey, Tag, Version};
use terrapin_core::status::Status;
use terrapin_core::store::{
    has_any_store, has_store, meaning, Fold as _, HistoryStore, KvStore, RecordOrigin,
};
use terrapin_core::sync::{EncRecord, LocalStore};

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use terrapin_core::random::{Entropy, OsEntropy};
use zeroize::Zeroizing;

use crate::idb::{IdbError, IdbStore};
use crate::page_frames::{self as frames, Frame, PAYLOAD};

/// What a record means to the views.
#[derive(Clone, Debug, PartialEq)]
pub enum Meaning {
    History(HistoryRecord),
    Kv(KvRecord),
    /// A record of a tag the extras module folds (the core's [`has_any_store`] but not
    /// [`has_store`]: script, shell alias, variable), decrypted: its version and payload.
    Payload(Version, Vec<u8>),
    /// Could not be decrypted or decoded: why.
    Unreadable(String),
}

impl From<terrapin_core::store::Meaning> for Meaning {
    fn from(m: terrapin_core::store::Meaning) -> Self {
        use terrapin_core::store::Meaning as M;
        match m {
            M::History(h) => Self::History(h),
            M::Kv(k) => Self::Kv(k),
            M::Unreadable(why) => Self::Unreadable(why),
        }
    }
}

/// One decoded record with where it came from.
#[derive(Clone, Debug, PartialEq)]
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

/// A derived page as stored in IndexedDB: per record, `ts` (u64 LE), host (16 bytes), `idx`
/// (u64 LE), id (16 bytes), a kind byte and a length-prefixed (u32 LE) body (the frames of
/// `web/page_frames.rs`). Kinds: 0 history, 1 kv (the entry in its current Atuin payload
/// encoding, history v2 and kv v1, read back with the core's decoders), 2 unreadable (the UTF-8
/// reason), 6 a decrypted record of a tag the extras module folds (its version, a length byte
/// and the text, then its payload). Pages written before the extras module folded scripts,
/// aliases and variables hold kinds 3 (script v0), 4 (config-shell-alias v0) and 5
/// (dotfiles-var v0) instead of 6: the extras module reads them, this module skips them.
pub fn encode_page(items: &[Derived]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 160);
    for d in items {
        let (kind, body) = match &d.m {
            Meaning::History(h) => (0u8, h.encode()),
            Meaning::Kv(k) => (1, k.encode()),
            Meaning::Unreadable(why) => (2, why.as_bytes().to_vec()),
            Meaning::Payload(v, p) => (PAYLOAD, frames::payload_body(v.as_str(), p)),
        };
        Frame {
            ts: d.ts,
            host: d.host.0,
            idx: d.idx,
            id: d.id.0,
            kind,
            body: &body,
        }
        .write(&mut out);
    }
    out
}

/// Read a page written by [`encode_page`] (kinds 3 to 5 skipped).
pub fn decode_page(b: &[u8]) -> Result<Vec<Derived>, String> {
    let mut out = Vec::new();
    for f in frames::read(b)? {
        let m = match f.kind {
            0 => Meaning::History(
                HistoryRecord::decode(&HISTORY_VERSION, f.body).map_err(|e| e.to_string())?,
            ),
            1 => Meaning::Kv(KvRecord::decode(&KV_VERSION, f.body).map_err(|e| e.to_string())?),
            2 => Meaning::Unreadable(String::from_utf8_lossy(f.body).into_owned()),
            3..=5 => continue,
            PAYLOAD => match frames::payload_parts(f.body) {
                Some((v, p)) => Meaning::Payload(v.into(), p.to_vec()),
                None => return Err("a payload without its version".into()),
            },
            k => return Err(format!("unknown kind byte {k}")),
        };
        out.push(Derived {
            ts: f.ts,
            host: HostId(f.host),
            idx: f.idx,
            id: RecordId(f.id),
            m,
        });
    }
    Ok(out)
}

/// Whether records of this tag are decoded into a view.
pub fn has_view(tag: &Tag) -> bool {
    has_any_store(tag)
}

/// The tags the extras module folds, whose derived pages were added after the first profiles
/// were written ([`ViewStore::catch_up`]).
fn is_later_kind(tag: &Tag) -> bool {
    has_any_store(tag) && !has_store(tag)
}

/// Decrypt and decode a page (of one series).
pub fn derive_page(page: &[EncRecord], key: &Key) -> Vec<Derived> {
    page.iter()
        .filter_map(|r| {
            let m = match meaning(r, key) {
                Some(m) => m.into(),
                None if is_later_kind(&r.tag) => match decrypt_record(r, key) {
                    Ok(d) => Meaning::Payload(d.version, d.data.0),
                    Err(e) => Meaning::Unreadable(e.to_string()),
                },
                None => return None,
            };
            Some(Derived {
                ts: r.timestamp,
                host: r.host.id,
                idx: r.idx,
                id: r.id,
                m,
            })
        })
        .collect()
}

/// Seals derived pages at rest when the profile's secrets are sealed under a passphrase: the
/// decrypted history is then as locked as the key. XChaCha20-Poly1305 under a key derived
/// from the Atuin key (BLAKE2b keyed with it, over a label), a random 24-byte nonce per page.
/// A sealed page is `SEALED_MAGIC`, nonce, ciphertext.
pub struct Sealer(XChaCha20Poly1305);

const SEALED_MAGIC: &[u8; 4] = b"TWS1";
const SEAL_LABEL: &[u8] = b"terrapin-web derived pages v1";

impl Sealer {
    pub fn new(key: &Key) -> Self {
        let k = Zeroizing::new(terrapin_primitives::blake2b_mac32(
            key.as_bytes(),
            &[SEAL_LABEL],
        ));
        Self(XChaCha20Poly1305::new(k.as_ref().into()))
    }

    pub fn seal(&self, page: &[u8]) -> Result<Vec<u8>, IdbError> {
        let mut nonce = [0u8; 24];
        OsEntropy
            .fill(&mut nonce)
            .map_err(|_| corrupt_page("random source failed"))?;
        let ct = self
            .0
            .encrypt(XNonce::from_slice(&nonce), page)
            .map_err(|_| corrupt_page("sealing failed"))?;
        let mut out = Vec::with_capacity(4 + 24 + ct.len());
        out.extend_from_slice(SEALED_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, IdbError> {
        let body = &sealed[SEALED_MAGIC.len()..];
        if body.len() < 24 {
            return Err(corrupt_page("sealed page too short"));
        }
        let (nonce, ct) = body.split_at(24);
        self.0
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| corrupt_page("a sealed page does not open with this key"))
    }
}

fn corrupt_page(reason: &str) -> IdbError {
    IdbError::Corrupt {
        what: "derived page".into(),
        reason: reason.into(),
    }
}

/// Whether a kept page is sealed.
pub fn is_sealed(page: &[u8]) -> bool {
    page.starts_with(SEALED_MAGIC)
}

/// The live views.
#[derive(Default)]
pub struct Views {
    pub history: HistoryStore,
    pub kv: KvStore,
    pub unreadable: u64,
    /// The search index, brought up to date (the entries touched) by the next query.
    pub search: RefCell<crate::search::Search>,
    /// While set (a sync asked for its new entries), the ids of history entries that became
    /// live.
    pub added: Option<Vec<HistoryId>>,
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
                    let new = self.added.is_some() && !self.history.contains(&id);
                    self.history.fold(origin, h);
                    self.search.get_mut().touch(id);
                    if let (true, Some(added)) = (new, self.added.as_mut()) {
                        if self.history.contains(&id) {
                            added.push(id);
                        }
                    }
                }
                Meaning::Kv(k) => self.kv.fold(origin, k),
                // Folded by the extras module, from [`ViewStore::pages_of`].
                Meaning::Payload(..) => {}
                Meaning::Unreadable(_) => self.unreadable += 1,
            }
        }
    }
}

/// The record store the client syncs: IndexedDB plus the views, kept level.
#[derive(Clone)]
pub struct ViewStore {
    pub idb: IdbStore,
    pub key: Rc<RefCell<Option<Key>>>,
    pub views: Rc<RefCell<Views>>,
    /// Full rebuilds (decrypting every record) done by this handle, for tests.
    pub rebuilds: Rc<Cell<u64>>,
    stale: Rc<Cell<bool>>,
    /// Set while the profile's derived pages are kept sealed (a passphrase vault exists).
    sealed: Rc<Cell<bool>>,
    sealer: Rc<RefCell<Option<Sealer>>>,
    /// The views could not be loaded: their pages are sealed and no key is set yet.
    pub locked: Rc<Cell<bool>>,
    /// Loads and rebuilds so far: a load folding in the background stops when it changes.
    gen: Rc<Cell<u64>>,
    /// Set while a [`Self::load_newest_first`] folds the rest of the history.
    loading: Rc<Cell<bool>>,
    /// Why the last load stopped short, if it did.
    failed: Rc<RefCell<Option<String>>>,
    /// History records folded before [`Self::load_newest_first`] returns, and per step after ([`OPEN_ENTRIES`], [`LOAD_STEP`]; tests use fewer).
    pub open_entries: Rc<Cell<u64>>,
    pub load_step: Rc<Cell<u64>>,
    /// Series of the later view kinds kept without derived pages ([`Self::catch_up`]).
    later: Rc<RefCell<Vec<SeriesKey>>>,
    /// Bumped whenever the records of a tag other than history and kv, or the derived pages,
    /// may have changed (an append of such records, a load, a rebuild, a catch-up): the package
    /// folds the scripts, aliases, variables and threads again when it moved.
    pub others: Rc<Cell<u32>>,
}

/// Records decrypted per step of a rebuild.
const REBUILD_PAGE: u64 = 1000;
/// History records (by idx) in the views before [`ViewStore::load_newest_first`] returns:
/// the newest pages of each host in turn.
pub const OPEN_ENTRIES: u64 = 16_000;
/// History records (by idx) read and folded per step after: some 20-60 ms of work.
pub const LOAD_STEP: u64 = 4_000;

/// Derived pages of one series read and folded together: those whose first idx is in
/// `first..=last`.
struct LoadStep {
    series: SeriesKey,
    first: u64,
    last: u64,
    /// The history records they may cover (by idx); 0 for another tag's series.
    span: u64,
}

enum Step {
    Items(Vec<Derived>),
    /// A sealed page and no key to open it.
    Locked,
    /// A sealed page that does not open with this key.
    WrongKey,
}

/// The steps of a history series whose last idx is `last`: newest first, `step` idx each
/// (every page is read by the step its first idx falls in).
fn load_steps(series: &SeriesKey, last: u64, step: u64) -> Vec<LoadStep> {
    let mut out = Vec::new();
    let mut top = last;
    loop {
        let first = top.saturating_sub(step.max(1) - 1);
        out.push(LoadStep {
            series: series.clone(),
            first,
            last: top,
            span: top - first + 1,
        });
        if first == 0 {
            return out;
        }
        top = first - 1;
    }
}
/// Meta keys: the key id the kept views were made with; set while some view records are
/// stored without their meaning (appended without a key).
const META_VIEWS_KID: &str = "views_kid";
/// Meta key: set while derived pages are kept sealed.
const META_VIEWS_SEALED: &str = "views_sealed";
/// Meta key: set while some derived pages must be made again (schema-1 pages, pages of another
/// key, records appended without a key); cleared by a rebuild.
const META_VIEWS_STALE: &str = "views_stale";
/// Meta key: set once the records of the later view kinds (scripts, aliases, variables) have
/// derived pages: always for a profile made since, after [`ViewStore::catch_up`] for one
/// made before.
const META_VIEWS_KINDS: &str = "views_kinds";

impl ViewStore {
    pub fn new(idb: IdbStore) -> Self {
        Self {
            idb,
            key: Rc::new(RefCell::new(None)),
            views: Rc::new(RefCell::new(Views::default())),
            rebuilds: Rc::new(Cell::new(0)),
            stale: Rc::new(Cell::new(false)),
            sealed: Rc::new(Cell::new(false)),
            sealer: Rc::new(RefCell::new(None)),
            locked: Rc::new(Cell::new(false)),
            gen: Rc::new(Cell::new(0)),
            loading: Rc::new(Cell::new(false)),
            failed: Rc::new(RefCell::new(None)),
            open_entries: Rc::new(Cell::new(OPEN_ENTRIES)),
            load_step: Rc::new(Cell::new(LOAD_STEP)),
            later: Rc::new(RefCell::new(Vec::new())),
            others: Rc::new(Cell::new(0)),
        }
    }

    /// Use `key` to seal and open derived pages (when they are kept sealed); loads views that
    /// were locked.
    pub async fn set_sealer(&self, key: &Key) -> Result<(), IdbError> {
        *self.sealer.borrow_mut() = Some(Sealer::new(key));
        if self.locked.get() {
            self.load_newest_first().await?;
        }
        Ok(())
    }

    /// Keep derived pages sealed from now on, and seal those kept (by deriving them again).
    pub async fn seal_views(&self) -> Result<(), IdbError> {
        if self.sealed.get() {
            return Ok(());
        }
        self.idb.meta_set(META_VIEWS_SEALED, Some("1")).await?;
        self.sealed.set(true);
        self.rebuild().await
    }

    /// A decoded page as kept: sealed when the profile keeps them sealed.
    fn pack(&self, items: &[Derived]) -> Result<Vec<u8>, IdbError> {
        let bytes = encode_page(items);
        if !self.sealed.get() {
            return Ok(bytes);
        }
        match self.sealer.borrow().as_ref() {
            Some(s) => s.seal(&bytes),
            None => Err(corrupt_page("no key to seal with")),
        }
    }

    /// Rebuild the views from the derived pages in IndexedDB, all of them before it returns.
    /// Sealed pages without a key leave the views empty and `locked` until
    /// [`Self::set_sealer`].
    pub async fn load(&self) -> Result<(), IdbError> {
        self.load_with(false).await
    }

    /// As [`Self::load`], but returns once the views hold every kv, script, alias and variable
    /// and the newest history pages (about [`OPEN_ENTRIES`] records, the newest pages of each
    /// host in turn): the rest of the history is folded in afterwards, in steps of about
    /// [`LOAD_STEP`] records that each wait on IndexedDB, so the page stays responsive (the
    /// history fold gives the same store in any order). [`Self::loaded`] says when it is in.
    pub async fn load_newest_first(&self) -> Result<(), IdbError> {
        self.load_with(true).await
    }

    async fn load_with(&self, newest_first: bool) -> Result<(), IdbError> {
        let gen = self.next_gen();
        let r = self.load_gen(gen, newest_first).await;
        if let Err(e) = &r {
            self.done_loading(gen, Some(e.to_string()));
        }
        r
    }

    async fn load_gen(&self, gen: u64, newest_first: bool) -> Result<(), IdbError> {
        self.changed();
        self.sealed
            .set(self.idb.meta_get(META_VIEWS_SEALED).await?.is_some());
        let status = self.idb.status().await?;
        // Steps of one series each: every page of a series of another tag in one step first,
        // then the history series newest first, one step of each series in turn.
        let mut steps = Vec::new();
        let mut history: Vec<std::vec::IntoIter<LoadStep>> = Vec::new();
        for (series, last) in status.iter().filter(|(s, _)| has_view(&s.tag)) {
            if series.tag == Tag::History {
                let step = self.load_step.get();
                history.push(load_steps(&series, last, step).into_iter());
            } else {
                steps.push(LoadStep {
                    series,
                    first: 0,
                    last,
                    span: 0,
                });
            }
        }
        while !history.is_empty() {
            history.retain_mut(|h| h.next().map(|s| steps.push(s)).is_some());
        }
        let mut views = Views::default();
        // Every history record an entry, at most: the store's tables sized once.
        let records: u64 = steps.iter().map(|s| s.span).sum();
        views.history.reserve(records as usize);
        let mut held = false;
        let mut at = 0;
        let mut span = 0;
        let open = self.open_entries.get();
        while at < steps.len() && !(newest_first && span >= open && steps[at].span > 0) {
            match self.read_step(&steps[at]).await? {
                Step::Items(items) => views.apply(items),
                Step::Locked => {
                    held = true;
                    self.locked.set(true);
                    break;
                }
                Step::WrongKey => {
                    held = true;
                    self.mark_stale().await?;
                    break;
                }
            }
            span += steps[at].span;
            at += 1;
        }
        if held {
            views = Views::default();
        } else {
            self.locked.set(false);
        }
        self.note_later_kinds(&status).await?;
        *self.views.borrow_mut() = views;
        if held || at == steps.len() {
            self.done_loading(gen, None);
        } else {
            self.loading.set(true);
            let this = self.clone();
            let rest = steps.split_off(at);
            crate::task::spawn(this.load_rest(gen, rest));
        }
        Ok(())
    }

    /// Fold the rest of a [`Self::load_newest_first`] into the live views, unless a load,
    /// rebuild or [`Self::stop_loading`] came since (a newer `gen`).
    async fn load_rest(self, gen: u64, steps: Vec<LoadStep>) {
        let r = async {
            for step in &steps {
                let read = self.read_step(step).await?;
                if self.gen.get() != gen {
                    return Ok(());
                }
                match read {
                    Step::Items(items) => {
                        let mut views = self.views.borrow_mut();
                        // Entries loaded are not news to a sync under way.
                        let added = views.added.take();
                        views.apply(items);
                        views.added = added;
                    }
                    // Pages sealed under another key than the first ones: derive them all again.
                    Step::WrongKey => {
                        self.mark_stale().await?;
                        return self.rebuild().await;
                    }
                    Step::Locked => {
                        return Err(corrupt_page("a sealed page and no key to open it"));
                    }
                }
            }
            Ok(())
        }
        .await;
        self.done_loading(gen, r.err().map(|e| e.to_string()));
    }

    /// Read, open and decode the derived pages of one step.
    async fn read_step(&self, step: &LoadStep) -> Result<Step, IdbError> {
        let (pages, old_format) = self
            .idb
            .derived_range(&step.series, step.first, step.last)
            .await?;
        if old_format {
            // Pages from schema 1 (JSON text): derive them again once a key is set.
            self.mark_stale().await?;
        }
        let mut items = Vec::new();
        for bytes in pages {
            let bytes = match self.open(bytes) {
                Ok(b) => b,
                Err(held) => return Ok(held),
            };
            items.extend(decode_page(&bytes).map_err(|reason| IdbError::Corrupt {
                what: format!("derived page of {}", step.series),
                reason,
            })?);
        }
        Ok(Step::Items(items))
    }

    /// A kept page, opened if it is sealed; why not if it does not open: no key
    /// ([`Step::Locked`]), or sealed under another key ([`Step::WrongKey`]: derive them again
    /// with this one).
    fn open(&self, bytes: Vec<u8>) -> Result<Vec<u8>, Step> {
        if !is_sealed(&bytes) {
            return Ok(bytes);
        }
        match self.sealer.borrow().as_ref().map(|s| s.open(&bytes)) {
            Some(Ok(b)) => Ok(b),
            Some(Err(_)) => Err(Step::WrongKey),
            None => Err(Step::Locked),
        }
    }

    /// The derived pages of every series of `tag`, opened, one after another: what the extras
    /// module folds a store from (scripts, shell aliases, variables). Empty while they do not
    /// open (sealed, and no key or another one), as the views are then.
    pub async fn pages_of(&self, tag: &Tag) -> Result<Vec<u8>, IdbError> {
        let mut out = Vec::new();
        for (series, _) in self
            .idb
            .status()
            .await?
            .iter()
            .filter(|(s, _)| s.tag == *tag)
        {
            for page in self.idb.derived(&series).await?.0 {
                match self.open(page) {
                    Ok(b) => out.extend(b),
                    Err(_) => return Ok(Vec::new()),
                }
            }
        }
        Ok(out)
    }

    /// See [`Self::others`].
    fn changed(&self) {
        self.others.set(self.others.get().wrapping_add(1));
    }

    async fn mark_stale(&self) -> Result<(), IdbError> {
        if !self.stale.get() {
            self.idb.meta_set(META_VIEWS_STALE, Some("1")).await?;
            self.stale.set(true);
        }
        Ok(())
    }

    /// A new load or rebuild: the one under way (if any) stops at its next step.
    fn next_gen(&self) -> u64 {
        let gen = self.gen.get() + 1;
        self.gen.set(gen);
        gen
    }

    /// Stop a load under way for good (the client is closed): its steps left are dropped.
    pub fn stop_loading(&self) {
        let gen = self.next_gen();
        self.done_loading(gen, Some("the profile was closed".into()));
    }

    fn done_loading(&self, gen: u64, error: Option<String>) {
        if self.gen.get() == gen {
            self.loading.set(false);
            self.failed.replace(error);
        }
    }

    /// Once every derived page of the last load is in the views (at once unless a
    /// [`Self::load_newest_first`] is still folding); an error if that load failed or stopped.
    pub async fn loaded(&self) -> Result<(), IdbError> {
        while self.loading.get() {
            let _ = crate::http::sleep(20, None).await;
        }
        match self.failed.borrow().as_ref() {
            None => Ok(()),
            Some(reason) => Err(IdbError::Idb(format!("loading the history: {reason}"))),
        }
    }

    /// Derive the views again from the records with the current key, and keep what they mean
    /// (after the key changed, or records were stored without a key).
    pub async fn rebuild(&self) -> Result<(), IdbError> {
        let key = self.key.borrow().clone();
        let Some(key) = key else {
            return Ok(());
        };
        let gen = self.next_gen();
        let r = self.rebuild_with(key).await;
        self.done_loading(gen, r.as_ref().err().map(ToString::to_string));
        r
    }

    async fn rebuild_with(&self, key: Key) -> Result<(), IdbError> {
        let status = self.idb.status().await?;
        let mut views = Views::default();
        for (series, last) in status.iter().filter(|(s, _)| has_view(&s.tag)) {
            let mut kept = Vec::new();
            let mut start = 0;
            // Step by idx, not by records read: a series may have holes.
            while start <= last {
                let recs = self.idb.read(&series, start, REBUILD_PAGE).await?;
                if !recs.is_empty() {
                    let d = derive_page(&recs, &key);
                    kept.push((start, self.pack(&d)?));
                    views.apply(d);
                }
                start = start.saturating_add(REBUILD_PAGE);
            }
            self.idb.replace_derived(&series, &kept).await?;
        }
        self.idb.meta_set(META_VIEWS_STALE, None).await?;
        self.idb.meta_set(META_VIEWS_KINDS, Some("1")).await?;
        self.later.borrow_mut().clear();
        self.locked.set(false);
        *self.views.borrow_mut() = views;
        self.rebuilds.set(self.rebuilds.get() + 1);
        self.changed();
        Ok(())
    }

    /// A profile written before scripts, aliases and variables had derived pages: note its
    /// series of those tags (kept without them) for [`Self::catch_up`].
    async fn note_later_kinds(&self, status: &Status) -> Result<(), IdbError> {
        if self.idb.meta_get(META_VIEWS_KINDS).await?.is_some() {
            return Ok(());
        }
        let later: Vec<SeriesKey> = status
            .iter()
            .map(|(s, _)| s)
            .filter(|s| is_later_kind(&s.tag))
            .collect();
        if later.is_empty() {
            self.idb.meta_set(META_VIEWS_KINDS, Some("1")).await?;
        }
        *self.later.borrow_mut() = later;
        Ok(())
    }

    /// Derive, once, the records of the series [`Self::note_later_kinds`] found, with the
    /// current key, and fold them into the views (their unreadable records). Nothing to do without a key, while locked,
    /// or when every such series has its pages.
    pub async fn catch_up(&self) -> Result<(), IdbError> {
        let key = self.key.borrow().clone();
        let Some(key) = key else {
            return Ok(());
        };
        if self.locked.get() || self.later.borrow().is_empty() {
            return Ok(());
        }
        let series = std::mem::take(&mut *self.later.borrow_mut());
        let mut items = Vec::new();
        for s in &series {
            // Again if the series grew meanwhile (its new page's derived value would have been
            // replaced).
            loop {
                let last = self.idb.status().await?.get(s);
                let mut kept = Vec::new();
                let mut d = Vec::new();
                let mut start = 0;
                while last.is_some_and(|l| start <= l) {
                    let recs = self.idb.read(s, start, REBUILD_PAGE).await?;
                    if !recs.is_empty() {
                        let page = derive_page(&recs, &key);
                        kept.push((start, self.pack(&page)?));
                        d.extend(page);
                    }
                    start = start.saturating_add(REBUILD_PAGE);
                }
                self.idb.replace_derived(s, &kept).await?;
                if self.idb.status().await?.get(s) == last {
                    items.extend(d);
                    break;
                }
            }
        }
        self.idb.meta_set(META_VIEWS_KINDS, Some("1")).await?;
        self.views.borrow_mut().apply(items);
        self.changed();
        Ok(())
    }

    /// Whether the kept views were made with `key` and cover every record.
    pub async fn views_match(&self, key: &Key) -> Result<bool, IdbError> {
        Ok(
            self.idb.meta_get(META_VIEWS_KID).await?.as_deref() == Some(key.id())
                && self.idb.meta_get(META_VIEWS_STALE).await?.is_none(),
        )
    }

    /// Remember which key the kept views were made with.
    pub async fn record_views_key(&self, key: &Key) -> Result<(), IdbError> {
        self.idb.meta_set(META_VIEWS_KID, Some(key.id())).await
    }
}

impl LocalStore for ViewStore {
    type Error = IdbError;

    // The IndexedDB store's futures as they are (no state machine around them).
    fn status(&self) -> impl std::future::Future<Output = Result<Status, IdbError>> {
        self.idb.status()
    }

    fn missing(&self) -> impl std::future::Future<Output = Result<Missing, IdbError>> {
        self.idb.missing()
    }

    fn read(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> impl std::future::Future<Output = Result<Vec<EncRecord>, IdbError>> {
        self.idb.read(series, start, count)
    }

    async fn append(&self, page: &[EncRecord], skipped: &[IdxRange]) -> Result<(), IdbError> {
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
        let bytes = derived.as_deref().map(|d| self.pack(d)).transpose()?;
        self.idb
            .append_with(page, skipped, bytes.as_deref())
            .await?;
        if let Some(d) = derived {
            self.views.borrow_mut().apply(d);
        }
        if page.first().is_some_and(|r| !has_store(&r.tag)) {
            self.changed();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use terrapin_core::payload::history::History;

    fn at(i: u128, m: Meaning) -> Derived {
        Derived {
            ts: 1_700_000_000_000_000_000 + i as u64,
            host: HostId(uuid::Uuid::from_u128(7)),
            idx: i as u64,
            id: RecordId(uuid::Uuid::from_u128(100 + i)),
            m,
        }
    }

    #[test]
    fn history_loads_newest_first_in_steps() {
        let s = SeriesKey::new(HostId(uuid::Uuid::from_u128(7)), Tag::History);
        let steps = |last, step| {
            load_steps(&s, last, step)
                .iter()
                .map(|x| (x.first, x.last, x.span))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            steps(249, 100),
            [(150, 249, 100), (50, 149, 100), (0, 49, 50)]
        );
        assert_eq!(steps(99, 100), [(0, 99, 100)]);
        assert_eq!(steps(0, 100), [(0, 0, 1)]);
        assert_eq!(steps(2, 0), [(2, 2, 1), (1, 1, 1), (0, 0, 1)]);
    }

    #[test]
    fn derived_pages_round_trip_and_refuse_damage() {
        let h = History {
            id: HistoryId(uuid::Uuid::from_u128(9)),
            timestamp: 5,
            duration: -1,
            exit: 2,
            command: "ls -la ü".into(),
            cwd: "/tmp".into(),
            session: "s".into(),
            hostname: "box:me".into(),
            deleted_at: Some(6),
            author: "me".into(),
            intent: Some("look".into()),
            shell: Some("zsh".into()),
            author_kind: None,
        };
        let page = vec![
            at(0, Meaning::History(HistoryRecord::Create(h.clone()))),
            at(1, Meaning::History(HistoryRecord::Delete(h.id))),
            at(
                2,
                Meaning::Kv(KvRecord {
                    namespace: "ns".into(),
                    key: "k".into(),
                    value: None,
                }),
            ),
            at(3, Meaning::Unreadable("wrong key".into())),
            at(4, Meaning::Payload(Version::V0, b"\x93\x00\xa1x".to_vec())),
            at(5, Meaning::Payload("v9".into(), Vec::new())),
        ];
        let bytes = encode_page(&page);
        assert_eq!(decode_page(&bytes).unwrap(), page);
        assert!(decode_page(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("cut short"));
        let mut bad = bytes.clone();
        bad[48] = 9; // the first kind byte
        assert_eq!(decode_page(&bad).unwrap_err(), "unknown kind byte 9");
    }

    #[test]
    fn pages_of_earlier_kinds_read_without_their_scripts_aliases_and_variables() {
        // Kinds 3 to 5 (script, shell alias, variable entries, written before the extras module
        // folded them) are the extras module's: skipped here, the rest read as before.
        let kv = at(
            1,
            Meaning::Kv(KvRecord {
                namespace: "ns".into(),
                key: "k".into(),
                value: Some("v".into()),
            }),
        );
        let mut bytes = Vec::new();
        for kind in [3, 4, 5] {
            Frame {
                ts: 1,
                host: uuid::Uuid::from_u128(7),
                idx: kind.into(),
                id: uuid::Uuid::from_u128(kind.into()),
                kind,
                body: b"\x92\x00\xa2ll",
            }
            .write(&mut bytes);
        }
        bytes.extend(encode_page(std::slice::from_ref(&kv)));
        assert_eq!(decode_page(&bytes).unwrap(), [kv]);
    }
}
