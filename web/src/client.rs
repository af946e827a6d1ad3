//! The browser client: one profile (one IndexedDB database) talking to one server.
//! Everything here is plain Rust over the adapters; `lib.rs` exports it to JavaScript.

use std::cell::{Cell, RefCell};

use terrapin_core::crypto::key::may_be_phrase;
use terrapin_core::crypto::{encrypt_record, CryptoError, Key, KeyError};
use terrapin_core::holes::{Missing, PlaceError};
use terrapin_core::legacy::{self, UnstoredError};
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord, HISTORY_VERSION};
use terrapin_core::payload::kv::{KvRecord, KV_VERSION};
use terrapin_core::random::{Entropy, OsEntropy};
use terrapin_core::record::{uuid_v7, HostId, Record, RecordId, SeriesKey, Tag, Version};
use terrapin_core::status::Status;
use terrapin_core::sync::{self, EncRecord, LocalStore, Paging, Progress, SyncError, SyncReport};
use uuid::Uuid;
use web_sys::AbortSignal;

use crate::http::{HttpError, HttpRemote};
use crate::idb::{IdbError, IdbStore};
use crate::search::{self, Query};
use crate::socket::Sockets;
use crate::vault::{self, Kdf, KdfParams, Secrets, VaultError};
use crate::views::ViewStore;

const META_HOST: &str = "host_id";
const META_VAULT: &str = "vault";
const META_USER: &str = "username";

/// Records per stored sync page unless the caller says otherwise: downloaded answers are
/// gathered into pages this large (fewer IndexedDB transactions and derived values than the
/// server's page size, down to Atuin's 100, would make).
pub const DEFAULT_SYNC_PAGE: u64 = 4000;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Store(#[from] IdbError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Sync(#[from] SyncError<IdbError, HttpError>),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("the Atuin key is not valid: {0}")]
    Key(#[from] KeyError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("no Atuin key: log in with your key, register, or unlock the vault")]
    NoKey,
    #[error("no vault is saved in this profile")]
    NoVault,
    #[error("a sync is already running in this client")]
    Busy,
    #[error("the secure random source failed")]
    Entropy,
    #[error("{0}")]
    Invalid(String),
}

impl ClientError {
    /// A short machine-readable kind for JavaScript callers.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Http(e) | Self::Sync(SyncError::Remote(e)) => e.kind(),
            Self::Sync(SyncError::WrongKey(_)) => "wrong_key",
            Self::Sync(_) | Self::Store(_) => "store",
            Self::Vault(VaultError::WrongPassphrase) => "wrong_passphrase",
            Self::Vault(_) => "vault",
            Self::Key(_) => "bad_key",
            Self::Crypto(_) => "crypto",
            Self::NoKey => "no_key",
            Self::NoVault => "no_vault",
            Self::Busy => "busy",
            Self::Entropy => "entropy",
            Self::Invalid(_) => "invalid",
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Read a key as the package passes it: the base64 key. The package reads a key given as its
/// 24 words into that first, in its extras module (`keyFromPhrase`), so the main wasm carries
/// neither the word list nor SHA-256; one that reaches this anyway is refused
/// ([`KeyError::NoWordList`]).
pub fn parse_key(key: &str) -> Result<Key> {
    if may_be_phrase(key) {
        return Err(KeyError::NoWordList.into());
    }
    Ok(Key::from_atuin_string(key)?)
}

fn now_ns() -> u64 {
    (js_sys::Date::now() * 1_000_000.0) as u64
}

fn new_uuid_v7() -> Result<Uuid> {
    let mut rand = [0u8; 10];
    OsEntropy
        .fill(&mut rand)
        .map_err(|_| ClientError::Entropy)?;
    Ok(uuid_v7((js_sys::Date::now()) as u64, rand))
}

/// How a sync pages: requests (downloads, and pushes) of the server's page size, answers
/// stored in pages of `page` records.
fn paging(server_page: u64, page: u64) -> Paging {
    let request = server_page.min(page);
    // Requests under way for about one stored page (at least the CLI's 8, at most 64), made in
    // halves: over the page socket, each half goes as one message.
    let per_store = usize::try_from(page.div_ceil(request)).unwrap_or(usize::MAX);
    let in_flight = per_store.clamp(sync::IN_FLIGHT, 64);
    Paging {
        request,
        store: page,
        in_flight,
        together: in_flight / 2,
    }
}

/// Marks a client's sync as running until dropped, however the sync ends.
struct Syncing<'a>(&'a Cell<bool>);

impl Drop for Syncing<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

pub struct Client {
    pub store: ViewStore,
    pub remote: HttpRemote,
    /// Live mode's socket, or one per sync (a sync's pages go over it).
    pub sockets: Sockets,
    pub host: HostId,
    username: RefCell<Option<String>>,
    syncing: Cell<bool>,
    /// Records per stored sync page, and at most per request; `None` is [`DEFAULT_SYNC_PAGE`].
    pub page_size: Cell<Option<u64>>,
    /// The server's page size (records per request), learnt from it once.
    server_page: Cell<Option<u64>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // A load folding in the background holds the store: it stops at its next step.
        self.store.stop_loading();
    }
}

impl Client {
    /// Open the profile `profile` (its own IndexedDB database) for the server at `server`.
    pub async fn open(server: &str, profile: &str) -> Result<Self> {
        let idb = IdbStore::open(&format!("terrapin-{profile}")).await?;
        let host = match idb.meta_get(META_HOST).await? {
            Some(h) => h
                .parse()
                .map(HostId)
                .map_err(|e| ClientError::Invalid(format!("stored host id: {e}")))?,
            None => {
                let h = HostId(new_uuid_v7()?);
                idb.meta_set(META_HOST, Some(&h.to_string())).await?;
                h
            }
        };
        let username = idb.meta_get(META_USER).await?;
        let store = ViewStore::new(idb);
        // The newest history first: the rest is folded in after `open` returns.
        store.load_newest_first().await?;
        let remote = HttpRemote::new(server);
        Ok(Self {
            store,
            remote,
            sockets: Sockets::default(),
            host,
            username: RefCell::new(username),
            syncing: Cell::new(false),
            page_size: Cell::new(None),
            server_page: Cell::new(None),
        })
    }

    pub fn username(&self) -> Option<String> {
        self.username.borrow().clone()
    }

    pub fn is_logged_in(&self) -> bool {
        self.remote.session().is_some()
    }

    fn key(&self) -> Result<Key> {
        self.store.key.borrow().clone().ok_or(ClientError::NoKey)
    }

    /// The Atuin key (as `atuin key` prints it), if one is set.
    pub fn key_string(&self) -> Option<String> {
        self.store.key.borrow().as_ref().map(Key::to_atuin_string)
    }

    /// Use `key` from now on. Views are rebuilt if it differs from the key in use.
    /// The kept views are rebuilt (every record decrypted) only when they were made with
    /// another key or some records were stored without one.
    pub async fn set_key(&self, key: Key) -> Result<()> {
        let changed = self.store.key.borrow().as_ref() != Some(&key);
        *self.store.key.borrow_mut() = Some(key.clone());
        self.store.set_sealer(&key).await?;
        if changed && !self.store.views_match(&key).await? {
            self.store.rebuild().await?;
            self.store.record_views_key(&key).await?;
        }
        // A profile from before scripts, aliases and variables were views: derived once.
        Ok(self.store.catch_up().await?)
    }

    /// Reload the views from IndexedDB (after another tab or worker wrote to this profile).
    pub async fn refresh(&self) -> Result<()> {
        self.store.load().await?;
        Ok(self.store.catch_up().await?)
    }

    async fn remember_user(&self, username: &str) -> Result<()> {
        *self.username.borrow_mut() = Some(username.to_owned());
        self.store.idb.meta_set(META_USER, Some(username)).await?;
        Ok(())
    }

    /// Create an account. Without `key` a fresh Atuin key is made (read it with `key_string`).
    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
        key: Option<&str>,
    ) -> Result<()> {
        let key = match key {
            Some(k) => parse_key(k)?,
            None => match self.store.key.borrow().clone() {
                Some(k) => k,
                None => Key::generate(&mut OsEntropy).map_err(|_| ClientError::Entropy)?,
            },
        };
        self.remote.register(username, email, password).await?;
        self.remember_user(username).await?;
        self.set_key(key).await
    }

    /// Log in with the account's password and its Atuin key.
    pub async fn login(&self, username: &str, password: &str, key: &str) -> Result<()> {
        let key = parse_key(key)?;
        self.remote.login(username, password).await?;
        self.remember_user(username).await?;
        self.set_key(key).await
    }

    /// End the session on the server (best effort), then forget the session and
    /// the key (in memory and in the vault). Records stay.
    pub async fn logout(&self) -> Result<()> {
        // Closed here first: the server's close of the ended session's sockets (4001) is not
        // news to this tab.
        self.sockets.hang_up();
        let ended = self.remote.end_session().await;
        self.remote.set_session(None);
        *self.store.key.borrow_mut() = None;
        self.store.idb.meta_set(META_VAULT, None).await?;
        // Offline, or a server without `/logout` (atuin-server): forgotten here; the server
        // ends it once it has gone unused long enough.
        drop(ended);
        Ok(())
    }

    pub async fn me(&self) -> Result<String> {
        Ok(self.remote.me().await?.username)
    }

    /// Seal the session and key under `passphrase` in IndexedDB (the key derived by `kdf`).
    pub async fn save_vault(
        &self,
        passphrase: &str,
        params: KdfParams,
        kdf: &impl Kdf,
    ) -> Result<()> {
        let secrets = Secrets {
            server: self.remote.base().to_owned(),
            username: self.username().unwrap_or_default(),
            session: self.remote.session().ok_or(HttpError::NoSession)?,
            key: self.key_string().ok_or(ClientError::NoKey)?,
        };
        let sealed = vault::seal(&secrets, passphrase, params, kdf).await?;
        self.store.idb.meta_set(META_VAULT, Some(&sealed)).await?;
        // The decrypted history at rest is sealed from now on too.
        self.store.seal_views().await?;
        Ok(())
    }

    pub async fn has_vault(&self) -> Result<bool> {
        Ok(self.store.idb.meta_get(META_VAULT).await?.is_some())
    }

    /// Open the vault (the key derived by `kdf`): restores the session and the key.
    pub async fn unlock(&self, passphrase: &str, kdf: &impl Kdf) -> Result<()> {
        let sealed = self
            .store
            .idb
            .meta_get(META_VAULT)
            .await?
            .ok_or(ClientError::NoVault)?;
        let s = vault::open(&sealed, passphrase, kdf).await?;
        self.remote.set_session(Some(s.session));
        if !s.username.is_empty() {
            self.remember_user(&s.username).await?;
        }
        self.set_key(parse_key(&s.key)?).await
    }

    /// Sync with the server (the core's engine). Cancellable with `signal`; a sync cut off
    /// resumes where it stopped next time.
    pub async fn sync(
        &self,
        signal: Option<AbortSignal>,
        on_progress: impl FnMut(&Progress),
    ) -> Result<SyncReport> {
        if self.syncing.replace(true) {
            return Err(ClientError::Busy);
        }
        let _syncing = Syncing(&self.syncing);
        let key = self.key()?;
        let mut http = self.remote.with_signal(signal);
        let server_page = match self.server_page.get() {
            Some(p) => p,
            None => {
                let p = http.page_size().await?.max(1);
                self.server_page.set(Some(p));
                p
            }
        };
        http.push_batch = server_page as usize;
        let page = self.page_size.get().unwrap_or(DEFAULT_SYNC_PAGE);
        let remote = self.sockets.remote(http);
        Ok(sync::sync(
            &self.store,
            &remote,
            &key,
            paging(server_page, page),
            on_progress,
        )
        .await?)
    }

    /// The server's record status (host -> tag -> last idx).
    pub async fn remote_status(&self) -> Result<Status> {
        Ok(terrapin_core::sync::Remote::status(&self.remote).await?)
    }

    pub async fn local_status(&self) -> Result<Status> {
        Ok(self.store.status().await?)
    }

    /// The holes of every local series that has some (idx the server could not give).
    pub async fn missing(&self) -> Result<Missing> {
        Ok(self.store.missing().await?)
    }

    /// Append records written here to this host's `tag` series, consecutive from its last idx,
    /// encrypted, in one transaction. Another writer (a tab, a sync) may take the idx first:
    /// then the page is made again at the next one.
    async fn write_own(
        &self,
        tag: Tag,
        version: &Version,
        payloads: &[Vec<u8>],
    ) -> Result<Vec<EncRecord>> {
        let key = self.key()?;
        let series = SeriesKey::new(self.host, tag);
        let mut tries = 0;
        loop {
            tries += 1;
            let first = self.store.status().await?.get(&series).map_or(0, |l| l + 1);
            let mut page = Vec::with_capacity(payloads.len());
            for (i, p) in payloads.iter().enumerate() {
                let id = RecordId(new_uuid_v7()?);
                let rec = Record::at(
                    &series,
                    first + i as u64,
                    id,
                    now_ns(),
                    version.clone(),
                    p.clone(),
                );
                page.push(encrypt_record(&rec, &key, &mut OsEntropy)?);
            }
            match self.store.append(&page, &[]).await {
                Ok(()) => return Ok(page),
                Err(IdbError::Place(PlaceError::NotNext { .. })) if tries < 5 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Record a history entry written here.
    pub async fn history_add(&self, mut h: History) -> Result<History> {
        if h.id.0.is_nil() {
            h.id = HistoryId(new_uuid_v7()?);
        }
        let payload = HistoryRecord::Create(h.clone()).encode();
        self.write_own(Tag::History, &HISTORY_VERSION, &[payload])
            .await?;
        Ok(h)
    }

    /// Record many history entries written here (an import): pages of 1000 records.
    pub async fn history_add_many(&self, entries: Vec<History>) -> Result<u64> {
        let mut n = 0;
        for chunk in entries.chunks(1000) {
            let mut payloads = Vec::with_capacity(chunk.len());
            for h in chunk {
                let mut h = h.clone();
                if h.id.0.is_nil() {
                    h.id = HistoryId(new_uuid_v7()?);
                }
                payloads.push(HistoryRecord::Create(h).encode());
            }
            n += self
                .write_own(Tag::History, &HISTORY_VERSION, &payloads)
                .await?
                .len() as u64;
        }
        Ok(n)
    }

    /// Delete a history entry (whichever host wrote it): writes a delete record.
    pub async fn history_delete(&self, id: HistoryId) -> Result<()> {
        let payload = HistoryRecord::Delete(id).encode();
        self.write_own(Tag::History, &HISTORY_VERSION, &[payload])
            .await
            .map(drop)
    }

    /// The hostnames in the live history, per host of the record store.
    pub fn history_hostnames<T>(
        &self,
        f: impl FnOnce(Vec<(terrapin_core::record::HostId, Vec<(&str, usize)>)>) -> T,
    ) -> T {
        let views = self.store.views.borrow();
        f(views.history.hostnames())
    }

    /// Query the live history.
    pub fn history_query<T>(&self, q: &Query, f: impl FnOnce(search::QueryResult) -> T) -> T {
        let views = self.store.views.borrow();
        let mut s = views.search.borrow_mut();
        f(search::run(&views.history, &mut s, q))
    }

    pub fn history_get(&self, id: &HistoryId) -> Option<History> {
        self.store.views.borrow().history.get(id)
    }

    pub fn history_len(&self) -> usize {
        self.store.views.borrow().history.len()
    }

    /// Once the whole history of the last load is in the views (`open` and `unlock` return
    /// with its newest entries of a large profile, [`ViewStore::load_newest_first`]).
    pub async fn history_loaded(&self) -> Result<()> {
        Ok(self.store.loaded().await?)
    }

    /// Records whose payload could not be read with the current key.
    pub fn unreadable(&self) -> u64 {
        self.store.views.borrow().unreadable
    }

    pub async fn kv_set(&self, namespace: &str, key: &str, value: Option<&str>) -> Result<()> {
        let r = KvRecord {
            namespace: namespace.into(),
            key: key.into(),
            value: value.map(Into::into),
        };
        self.write_own(Tag::Kv, &KV_VERSION, &[r.encode()])
            .await
            .map(drop)
    }

    pub fn kv_get(&self, namespace: &str, key: &str) -> Option<String> {
        self.store
            .views
            .borrow()
            .kv
            .get(namespace, key)
            .map(Into::into)
    }

    /// Live `(key, value)` pairs of `namespace`, or of every namespace as `(ns, key, value)`.
    pub fn kv_list(&self, namespace: Option<&str>) -> Vec<(String, String, String)> {
        let v = self.store.views.borrow();
        match namespace {
            Some(ns) => {
                v.kv.list(ns)
                    .map(|(k, x)| (ns.to_owned(), k.to_owned(), x.to_owned()))
                    .collect()
            }
            None => {
                v.kv.iter()
                    .map(|(n, k, x)| (n.to_owned(), k.to_owned(), x.to_owned()))
                    .collect()
            }
        }
    }

    /// Append a record written here to this host's `tag` series: `payload` of `version`,
    /// encrypted (the extras module builds the scripts' records).
    pub async fn append_own(&self, tag: Tag, version: &Version, payload: Vec<u8>) -> Result<()> {
        self.write_own(tag, version, &[payload]).await.map(drop)
    }

    /// The derived pages of `tag`'s series ([`ViewStore::pages_of`]): what the extras module
    /// folds the scripts, shell aliases and variables from.
    pub async fn view_pages(&self, tag: &Tag) -> Result<Vec<u8>> {
        Ok(self.store.pages_of(tag).await?)
    }

    /// Append records (e.g. migrated legacy records) series by series; each series must
    /// continue the local one. Records already held (same id at the same idx) are skipped, so
    /// importing the same records again adds nothing. Returns how many were added.
    pub async fn import_records(&self, records: Vec<EncRecord>) -> Result<u64> {
        let records = legacy::unstored(&self.store.idb, records)
            .await
            .map_err(|e| match e {
                UnstoredError::Store(e) => ClientError::Store(e),
                e => ClientError::Invalid(e.to_string()),
            })?;
        let mut n = 0;
        let mut run: Vec<EncRecord> = Vec::new();
        for r in records {
            if run.last().is_some_and(|l| {
                l.series() != r.series() || l.idx + 1 != r.idx || run.len() >= 1000
            }) {
                self.store.append(&run, &[]).await?;
                n += run.len() as u64;
                run.clear();
            }
            run.push(r);
        }
        if !run.is_empty() {
            self.store.append(&run, &[]).await?;
            n += run.len() as u64;
        }
        Ok(n)
    }

    /// The local records of `tag` (every record without one) as wire JSON text, an array.
    pub async fn records_json(&self, tag: Option<&Tag>) -> Result<String> {
        Ok(self.store.idb.records_json(tag).await?)
    }
}
