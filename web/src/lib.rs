//! terrapin-web: Atuin record sync in the browser.
//!
//! The core (`terrapin-core`) holds every rule; this crate only adapts it to the browser:
//! - [`idb`]: the IndexedDB record store (the core's `LocalStore`);
//! - [`http`]: the sync server over fetch (the core's `Remote`);
//! - [`socket`]: the live socket (live mode's statuses, and a sync's pages), one owner;
//! - [`views`]: history and kv, decoded once per page and kept beside the records (and the
//!   decrypted records of scripts, aliases and variables, which the extras module folds);
//! - [`search`]: history queries; [`vault`]: secrets at rest; [`client`]: one profile;
//! - `task`: how futures run (one promise adapter);
//! - [`interop`]: the one place that converts between Rust and JavaScript values;
//! - the exported surface below (`WasmClient`), wrapped by the TypeScript package in `js/`;
//! - `bench`: benchmark hooks, only with the `bench` feature.

// Talc instead of the default dlmalloc: 2.6 KB less gzip (web/README.md, "Bundle size").
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(feature = "bench")]
mod bench;
pub mod client;
pub mod http;
pub mod idb;
pub mod interop;
#[path = "../page_frames.rs"]
pub mod page_frames;
mod score;
pub mod search;
pub mod socket;
mod task;
pub mod vault;
pub mod views;

use std::rc::Rc;

use js_sys::Promise;
use terrapin_core::crypto::Key;
use terrapin_core::payload::history::HistoryId;
use wasm_bindgen::prelude::*;

use client::{Client, ClientError};
use http::RetryPolicy;
use interop as io;
use task::promise;
use terrapin_core::wire;

/// One profile of the browser client. Use the `Client` class of the npm package.
#[wasm_bindgen]
pub struct WasmClient {
    inner: Rc<Client>,
}

#[wasm_bindgen]
impl WasmClient {
    /// `WasmClient.open({server, profile?, pageSize?, retry?})`: open (or create) a profile.
    pub fn open(options: JsValue) -> Promise {
        let o = io::open_options(options);
        promise(async move {
            let o = o?;
            let mut c = Client::open(&o.server, &o.profile).await?;
            c.page_size
                .set((o.page_size > 0).then_some(o.page_size as u64));
            c.remote.retry = o.retry.into();
            Ok(WasmClient { inner: Rc::new(c) }.into())
        })
    }

    #[wasm_bindgen(getter, js_name = hostId)]
    pub fn host_id(&self) -> String {
        self.inner.host.to_string()
    }

    #[wasm_bindgen(getter)]
    pub fn username(&self) -> Option<String> {
        self.inner.username()
    }

    #[wasm_bindgen(getter, js_name = loggedIn)]
    pub fn logged_in(&self) -> bool {
        self.inner.is_logged_in()
    }

    /// The Atuin key (as `atuin key` prints it), or undefined.
    pub fn key(&self) -> Option<String> {
        self.inner.key_string()
    }

    #[wasm_bindgen(js_name = setKey)]
    pub fn set_key(&self, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let k = client::parse_key(&key)?;
            c.set_key(k).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The session token, for the live socket (docs/PROTOCOL.md §2, "Live status").
    #[wasm_bindgen(getter)]
    pub fn session(&self) -> Option<String> {
        self.inner.remote.session()
    }

    /// Use a session token obtained elsewhere (e.g. Atuin's session file).
    #[wasm_bindgen(js_name = setSession)]
    pub fn set_session(&self, session: Option<String>) {
        self.inner.remote.set_session(session);
    }

    pub fn register(
        &self,
        username: String,
        email: String,
        password: String,
        key: Option<String>,
    ) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.register(&username, &email, &password, key.as_deref())
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn login(&self, username: String, password: String, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.login(&username, &password, &key).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn logout(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.logout().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    pub fn me(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { Ok(c.me().await?.into()) })
    }

    /// Seal the session and key in IndexedDB under `passphrase`; `kdf` derives the key
    /// ([`vault::JsKdf`]).
    #[wasm_bindgen(js_name = saveVault)]
    pub fn save_vault(
        &self,
        passphrase: String,
        options: JsValue,
        kdf: js_sys::Function,
    ) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let p = io::kdf_from_js(options)?;
            c.save_vault(&passphrase, p, &vault::JsKdf(kdf)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = hasVault)]
    pub fn has_vault(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { Ok(c.has_vault().await?.into()) })
    }

    /// Open the vault; `kdf` derives the key ([`vault::JsKdf`]).
    pub fn unlock(&self, passphrase: String, kdf: js_sys::Function) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.unlock(&passphrase, &vault::JsKdf(kdf)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Live mode (the profile's leading tab): keep the live socket open, reconnecting after
    /// a backoff of `baseMs` doubled per failed try up to `maxMs` (full jitter), and tell
    /// `onEvent(type, message?)` what happens ([`socket::LiveHandler`]). Syncs ask for their
    /// pages over it. Called again, it reconnects now.
    #[wasm_bindgen(js_name = liveStart)]
    pub fn live_start(&self, base_ms: f64, max_ms: f64, on_event: js_sys::Function) {
        let retry = RetryPolicy {
            attempts: u32::MAX,
            base_ms: base_ms as u64,
            max_ms: max_ms as u64,
        };
        let inner = &self.inner;
        inner.sockets.start(&inner.remote, retry, on_event);
    }

    /// Live mode off: the socket closes, nothing reconnects; syncs open their own again.
    #[wasm_bindgen(js_name = liveStop)]
    pub fn live_stop(&self) {
        self.inner.sockets.stop();
    }

    /// Whether live mode keeps trying after a sync failed with `kind` (the core's
    /// `wire::live_retries_after`: transient failures, a cancelled or busy sync).
    #[wasm_bindgen(js_name = liveRetriesAfter)]
    pub fn live_retries_after(&self, kind: &str) -> bool {
        wire::live_retries_after(kind)
    }

    /// Reload the views (history, kv) from IndexedDB (after another tab or worker wrote to it).
    pub fn refresh(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.refresh().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `sync({signal, onProgress, entries})` → `{uploaded, downloaded, keyCheck, damaged}`,
    /// with `entries` (the history entries this sync made live) if asked for.
    pub fn sync(&self, options: JsValue) -> Promise {
        let c = self.inner.clone();
        let o = io::sync_options(options);
        promise(async move {
            let o = o?;
            if o.entries {
                c.store.views.borrow_mut().added = Some(Vec::new());
            }
            let report = c
                .sync(o.signal, |p| {
                    if let Some(cb) = &o.on_progress {
                        io::call_progress(cb, p);
                    }
                })
                .await;
            let added = c.store.views.borrow_mut().added.take();
            let entries: Option<Vec<_>> =
                added.map(|ids| ids.iter().filter_map(|id| c.history_get(id)).collect());
            io::report_to_js(&report?, entries.as_deref())
        })
    }

    /// The local record status `{hosts: {host: {tag: lastIdx}}}`.
    pub fn status(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::to_js(&c.local_status().await?) })
    }

    /// The holes of the local series: `[{host, tag, missing: [{first, last}]}]`.
    pub fn missing(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::missing_to_js(&c.missing().await?) })
    }

    /// The server's status `{hosts: {host: {tag: lastIdx}}}`.
    #[wasm_bindgen(js_name = remoteStatus)]
    pub fn remote_status(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::to_js(&c.remote_status().await?) })
    }

    #[wasm_bindgen(js_name = historyQuery)]
    pub fn history_query(&self, query: JsValue) -> Result<JsValue, JsValue> {
        let q = io::query_from_js(query)?;
        self.inner.history_query(&q, |r| io::history_page_to_js(&r))
    }

    /// Each host of the record store with the hostnames its live history entries carry.
    #[wasm_bindgen(js_name = historyHosts)]
    pub fn history_hosts(&self) -> Result<JsValue, JsValue> {
        self.inner
            .history_hostnames(|names| io::hostnames_to_js(&names))
    }

    #[wasm_bindgen(js_name = historyGet)]
    pub fn history_get(&self, id: String) -> Result<JsValue, JsValue> {
        let id: HistoryId = id
            .parse()
            .map_err(|e| io::invalid(&format!("history id: {e}")))?;
        match self.inner.history_get(&id) {
            Some(h) => io::history_to_js(&h),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Resolves once the whole history is in (a large profile opens with its newest entries).
    #[wasm_bindgen(js_name = historyLoaded)]
    pub fn history_loaded(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.history_loaded().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Build the search index for about `ms` milliseconds (a step of it); whether it is
    /// built. The first query finishes a build under way.
    #[wasm_bindgen(js_name = historyPrepare)]
    pub fn history_prepare(&self, ms: f64) -> bool {
        let views = self.inner.store.views.borrow();
        let mut search = views.search.borrow_mut();
        let start = js_sys::Date::now();
        while !search.step(&views.history, 2048) {
            if js_sys::Date::now() - start >= ms {
                return false;
            }
        }
        true
    }

    #[wasm_bindgen(js_name = historyCount)]
    pub fn history_count(&self) -> u32 {
        self.inner.history_len() as u32
    }

    #[wasm_bindgen(js_name = historyAdd)]
    pub fn history_add(&self, entry: JsValue) -> Promise {
        let c = self.inner.clone();
        let h = io::history_from_js(entry);
        promise(async move {
            let h = c.history_add(h?).await?;
            io::history_to_js(&h)
        })
    }

    #[wasm_bindgen(js_name = historyAddMany)]
    pub fn history_add_many(&self, entries: JsValue) -> Promise {
        let c = self.inner.clone();
        let h = io::histories_from_js(entries);
        promise(async move { Ok(JsValue::from(c.history_add_many(h?).await? as f64)) })
    }

    #[wasm_bindgen(js_name = historyDelete)]
    pub fn history_delete(&self, id: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let id: HistoryId = id
                .parse()
                .map_err(|e| io::invalid(&format!("history id: {e}")))?;
            c.history_delete(id).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Records that could not be decrypted or decoded with the current key.
    #[wasm_bindgen(js_name = unreadableCount)]
    pub fn unreadable_count(&self) -> f64 {
        self.inner.unreadable() as f64
    }

    #[wasm_bindgen(js_name = kvGet)]
    pub fn kv_get(&self, namespace: String, key: String) -> Option<String> {
        self.inner.kv_get(&namespace, &key)
    }

    #[wasm_bindgen(js_name = kvSet)]
    pub fn kv_set(&self, namespace: String, key: String, value: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.kv_set(&namespace, &key, Some(&value)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = kvDelete)]
    pub fn kv_delete(&self, namespace: String, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.kv_set(&namespace, &key, None).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    #[wasm_bindgen(js_name = kvList)]
    pub fn kv_list(&self, namespace: Option<String>) -> Result<JsValue, JsValue> {
        io::kv_list_to_js(&self.inner.kv_list(namespace.as_deref()))
    }

    /// Append a record written here to this host's `tag` series (`payload` of `version`,
    /// encrypted); the next sync pushes it. The extras module builds the scripts' records.
    #[wasm_bindgen(js_name = appendOwn)]
    pub fn append_own(&self, tag: String, version: String, payload: Vec<u8>) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.append_own(tag.into(), &version.into(), payload).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Moves whenever the records of a tag other than history and kv, or the derived pages,
    /// may have changed: the package then folds its scripts, aliases, variables and threads
    /// again.
    #[wasm_bindgen(getter, js_name = otherChanges)]
    pub fn other_changes(&self) -> u32 {
        self.inner.store.others.get()
    }

    /// The derived pages of `tag`'s series, opened, as bytes: what the extras module folds the
    /// scripts, shell aliases and variables from (web/page_frames.rs).
    #[wasm_bindgen(js_name = viewPages)]
    pub fn view_pages(&self, tag: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let b = c.view_pages(&tag.into()).await?;
            Ok(js_sys::Uint8Array::from(&b[..]).into())
        })
    }

    /// Every local record as wire JSON text (an array); with `tag`, only that tag's, read alone
    /// (the threads module reads `ai-session`'s).
    #[wasm_bindgen(js_name = exportRecords)]
    pub fn export_records(&self, tag: Option<String>) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let tag = tag.map(terrapin_core::record::Tag::from);
            Ok(c.records_json(tag.as_ref()).await?.into())
        })
    }

    /// Append records given as wire JSON text (an array); returns how many.
    #[wasm_bindgen(js_name = importRecords)]
    pub fn import_records(&self, json: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let recs =
                serde_json::from_str(&json).map_err(|e| io::invalid(&format!("records: {e}")))?;
            Ok(JsValue::from(c.import_records(recs).await? as f64))
        })
    }
}

/// Delete a profile's database.
#[wasm_bindgen(js_name = deleteProfile)]
pub fn delete_profile(profile: String) -> Promise {
    promise(async move {
        idb::IdbStore::delete(&format!("terrapin-{profile}"))
            .await
            .map_err(ClientError::from)?;
        Ok(JsValue::UNDEFINED)
    })
}

/// Whether `key` may be a key's 24 words (the core's rule): the package reads those into the
/// base64 key with its extras module (`keyFromPhrase`) before passing them here.
#[wasm_bindgen(js_name = mayBePhrase)]
pub fn may_be_phrase(key: &str) -> bool {
    terrapin_core::crypto::key::may_be_phrase(key)
}

/// A fresh Atuin key string.
#[wasm_bindgen(js_name = generateKey)]
pub fn generate_key() -> Result<String, JsValue> {
    Key::generate(&mut terrapin_core::random::OsEntropy)
        .map(|k| k.to_atuin_string())
        .map_err(|_| ClientError::Entropy.into())
}
