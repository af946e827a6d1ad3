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
mod float;
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

/// Only the `pub` methods are exports (wasm-bindgen skips the others): the rest are reached
/// through [`WasmClient::call`] and [`call_static`].
#[wasm_bindgen]
impl WasmClient {
    /// `WasmClient.open({server, profile?, pageSize?, retry?})`: open (or create) a profile.
    fn open(options: JsValue) -> Promise {
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

    fn host_id(&self) -> String {
        self.inner.host.to_string()
    }

    fn username(&self) -> Option<String> {
        self.inner.username()
    }

    fn logged_in(&self) -> bool {
        self.inner.is_logged_in()
    }

    /// The Atuin key (as `atuin key` prints it), or undefined.
    pub fn key(&self) -> Option<String> {
        self.inner.key_string()
    }

    fn set_key(&self, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let k = client::parse_key(&key)?;
            c.set_key(k).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The session token, for the live socket (docs/PROTOCOL.md §2, "Live status").
    fn session(&self) -> Option<String> {
        self.inner.remote.session()
    }

    /// Use a session token obtained elsewhere (e.g. Atuin's session file).
    fn set_session(&self, session: Option<String>) {
        self.inner.remote.set_session(session);
    }

    fn register(
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

    fn login(&self, username: String, password: String, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.login(&username, &password, &key).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn logout(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.logout().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn me(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { Ok(c.me().await?.into()) })
    }

    /// Seal the session and key in IndexedDB under `passphrase`; `kdf` derives the key
    /// ([`vault::JsKdf`]).
    fn save_vault(&self, passphrase: String, options: JsValue, kdf: js_sys::Function) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let p = io::kdf_from_js(options)?;
            c.save_vault(&passphrase, p, &vault::JsKdf(kdf)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn has_vault(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { Ok(c.has_vault().await?.into()) })
    }

    /// Open the vault; `kdf` derives the key ([`vault::JsKdf`]).
    fn unlock(&self, passphrase: String, kdf: js_sys::Function) -> Promise {
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
    fn live_start(&self, base_ms: f64, max_ms: f64, on_event: js_sys::Function) {
        let retry = RetryPolicy {
            attempts: u32::MAX,
            base_ms: base_ms as u64,
            max_ms: max_ms as u64,
        };
        let inner = &self.inner;
        inner.sockets.start(&inner.remote, retry, on_event);
    }

    /// Live mode off: the socket closes, nothing reconnects; syncs open their own again.
    fn live_stop(&self) {
        self.inner.sockets.stop();
    }

    /// Whether live mode keeps trying after a sync failed with `kind` (the core's
    /// `wire::live_retries_after`: transient failures, a cancelled or busy sync).
    fn live_retries_after(&self, kind: &str) -> bool {
        wire::live_retries_after(kind)
    }

    /// Reload the views (history, kv) from IndexedDB (after another tab or worker wrote to it).
    fn refresh(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.refresh().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `sync({signal, onProgress, entries})` → `{uploaded, downloaded, keyCheck, damaged}`,
    /// with `entries` (the history entries this sync made live) if asked for.
    fn sync(&self, options: JsValue) -> Promise {
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
    fn status(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::to_js(&c.local_status().await?) })
    }

    /// The holes of the local series: `[{host, tag, missing: [{first, last}]}]`.
    fn missing(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::missing_to_js(&c.missing().await?) })
    }

    /// The server's status `{hosts: {host: {tag: lastIdx}}}`.
    fn remote_status(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move { io::to_js(&c.remote_status().await?) })
    }

    fn history_query(&self, query: JsValue) -> Result<JsValue, JsValue> {
        let q = io::query_from_js(query)?;
        self.inner.history_query(&q, |r| io::history_page_to_js(&r))
    }

    /// Each host of the record store with the hostnames its live history entries carry.
    fn history_hosts(&self) -> Result<JsValue, JsValue> {
        self.inner
            .history_hostnames(|names| io::hostnames_to_js(&names))
    }

    fn history_get(&self, id: String) -> Result<JsValue, JsValue> {
        let id: HistoryId = id
            .parse()
            .map_err(|e| io::invalid(&format!("history id: {e}")))?;
        match self.inner.history_get(&id) {
            Some(h) => io::history_to_js(&h),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Resolves once the whole history is in (a large profile opens with its newest entries).
    fn history_loaded(&self) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.history_loaded().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Build the search index for about `ms` milliseconds (a step of it); whether it is
    /// built. The first query finishes a build under way.
    fn history_prepare(&self, ms: f64) -> bool {
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

    fn history_count(&self) -> u32 {
        self.inner.history_len() as u32
    }

    fn history_add(&self, entry: JsValue) -> Promise {
        let c = self.inner.clone();
        let h = io::history_from_js(entry);
        promise(async move {
            let h = c.history_add(h?).await?;
            io::history_to_js(&h)
        })
    }

    fn history_add_many(&self, entries: JsValue) -> Promise {
        let c = self.inner.clone();
        let h = io::histories_from_js(entries);
        promise(async move { Ok(JsValue::from(c.history_add_many(h?).await? as f64)) })
    }

    fn history_delete(&self, id: String) -> Promise {
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
    fn unreadable_count(&self) -> f64 {
        self.inner.unreadable() as f64
    }

    fn kv_get(&self, namespace: String, key: String) -> Option<String> {
        self.inner.kv_get(&namespace, &key)
    }

    fn kv_set(&self, namespace: String, key: String, value: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.kv_set(&namespace, &key, Some(&value)).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn kv_delete(&self, namespace: String, key: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            c.kv_set(&namespace, &key, None).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    fn kv_list(&self, namespace: Option<String>) -> Result<JsValue, JsValue> {
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
    fn import_records(&self, json: String) -> Promise {
        let c = self.inner.clone();
        promise(async move {
            let recs =
                serde_json::from_str(&json).map_err(|e| io::invalid(&format!("records: {e}")))?;
            Ok(JsValue::from(c.import_records(recs).await? as f64))
        })
    }

    /// The methods above that are not exports, behind this one export (each export costs a
    /// wasm shim and a JS wrapper; web/README.md, "Bundle size"): `op` is the method's number
    /// (`Op` in js/index.ts), `a` to `d` its arguments. A method that returns a promise rejects
    /// it on an argument of the wrong type.
    pub fn call(
        &self,
        op: u32,
        a: JsValue,
        b: JsValue,
        c: JsValue,
        d: JsValue,
    ) -> Result<JsValue, JsValue> {
        Ok(match op {
            0 => self.host_id().into(),
            1 => self.username().into(),
            2 => self.logged_in().into(),
            3 => self.session().into(),
            4 => {
                self.set_session(opt_text(&a, "session")?);
                JsValue::UNDEFINED
            }
            5 => {
                let (base, max) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                self.live_start(base, max, c.unchecked_into());
                JsValue::UNDEFINED
            }
            6 => {
                self.live_stop();
                JsValue::UNDEFINED
            }
            7 => self.live_retries_after(&text(&a, "kind")?).into(),
            8 => self.history_query(a)?,
            9 => self.history_hosts()?,
            10 => self.history_get(text(&a, "history id")?)?,
            11 => self.history_prepare(a.as_f64().unwrap_or(0.0)).into(),
            12 => self.history_count().into(),
            13 => self.unreadable_count().into(),
            14 => self.kv_get(text(&a, "namespace")?, text(&b, "key")?).into(),
            15 => self.kv_list(opt_text(&a, "namespace")?)?,
            _ => self
                .call_async(op, [a, b, c, d])
                .unwrap_or_else(|e| Promise::reject(&e))
                .into(),
        })
    }
}

impl WasmClient {
    /// The methods of [`WasmClient::call`] that return a promise, with its arguments.
    fn call_async(&self, op: u32, [a, b, c, d]: [JsValue; 4]) -> Result<Promise, JsValue> {
        Ok(match op {
            16 => self.set_key(text(&a, "key")?),
            17 => self.register(
                text(&a, "username")?,
                text(&b, "email")?,
                text(&c, "password")?,
                opt_text(&d, "key")?,
            ),
            18 => self.login(
                text(&a, "username")?,
                text(&b, "password")?,
                text(&c, "key")?,
            ),
            19 => self.logout(),
            20 => self.me(),
            21 => self.save_vault(text(&a, "passphrase")?, b, c.unchecked_into()),
            22 => self.has_vault(),
            23 => self.unlock(text(&a, "passphrase")?, b.unchecked_into()),
            24 => self.refresh(),
            25 => self.sync(a),
            26 => self.status(),
            27 => self.missing(),
            28 => self.remote_status(),
            29 => self.history_loaded(),
            30 => self.history_add(a),
            31 => self.history_add_many(a),
            32 => self.history_delete(text(&a, "history id")?),
            33 => self.kv_set(text(&a, "namespace")?, text(&b, "key")?, text(&c, "value")?),
            34 => self.kv_delete(text(&a, "namespace")?, text(&b, "key")?),
            35 => self.import_records(text(&a, "records")?),
            _ => return Err(io::invalid(&format!("no method {op}"))),
        })
    }
}

/// A string argument of [`WasmClient::call`]; `what` names it in the error.
fn text(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string()
        .ok_or_else(|| io::invalid(&format!("{what}: expected a string")))
}

/// An optional string argument: `undefined` and `null` are `None`.
fn opt_text(v: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(None)
    } else {
        text(v, what).map(Some)
    }
}

/// Delete a profile's database.
fn delete_profile(profile: String) -> Promise {
    promise(async move {
        idb::IdbStore::delete(&format!("terrapin-{profile}"))
            .await
            .map_err(ClientError::from)?;
        Ok(JsValue::UNDEFINED)
    })
}

/// Whether `key` may be a key's 24 words (the core's rule): the package reads those into the
/// base64 key with its extras module (`keyFromPhrase`) before passing them here.
fn may_be_phrase(key: &str) -> bool {
    terrapin_core::crypto::key::may_be_phrase(key)
}

/// A fresh Atuin key string.
fn generate_key() -> Result<String, JsValue> {
    Key::generate(&mut terrapin_core::random::OsEntropy)
        .map(|k| k.to_atuin_string())
        .map_err(|_| ClientError::Entropy.into())
}

/// `WasmClient.open` and the functions above, behind one export as [`WasmClient::call`] is for
/// the methods: `op` 0 `open(options)`, 1 `deleteProfile(profile)`, 2 `mayBePhrase(key)`,
/// 3 `generateKey()` (`Fn` in js/index.ts).
#[wasm_bindgen(js_name = callStatic)]
pub fn call_static(op: u32, a: JsValue) -> Result<JsValue, JsValue> {
    Ok(match op {
        0 => WasmClient::open(a).into(),
        1 => text(&a, "profile")
            .map_or_else(|e| Promise::reject(&e), delete_profile)
            .into(),
        2 => may_be_phrase(&text(&a, "key")?).into(),
        3 => generate_key()?.into(),
        _ => return Err(io::invalid(&format!("no function {op}"))),
    })
}
