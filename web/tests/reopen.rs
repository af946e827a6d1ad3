#![cfg(target_arch = "wasm32")]
//! Reopening a large profile: the newest history first, the rest folded in after the views
//! open (and unlock), stopped by a close and overtaken by a full reload; deletes and kv right
//! from the start. The store's thresholds are lowered so that a few hundred entries are large.

use terrapin_core::crypto::Key;
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::random::OsEntropy;
use terrapin_web::client::Client;
use terrapin_web::idb::IdbStore;
use terrapin_web::search::{self, Query};
use terrapin_web::vault::KdfParams;
use terrapin_web::views::ViewStore;
use uuid::Uuid;
use wasm_bindgen_test::*;

mod kdf;
use kdf::Argon2id;

wasm_bindgen_test_configure!(run_in_browser);

const SERVER: &str = "http://127.0.0.1:9";
/// Entries, written in pages of `PAGE`; the views open with `OPEN` and fold `STEP` at a time.
const N: u64 = 300;
const PAGE: usize = 25;
const OPEN: u64 = 60;
const STEP: u64 = 50;

fn entry(i: u64) -> History {
    History {
        id: HistoryId(Uuid::nil()),
        timestamp: (1_700_000_000 + i) * 1_000_000_000,
        duration: 1000,
        exit: 0,
        command: format!("make target-{i}"),
        cwd: "/src".into(),
        session: "s".into(),
        hostname: "box:me".into(),
        deleted_at: None,
        author: "me".into(),
        intent: None,
        shell: None,
        author_kind: None,
    }
}

/// A profile of `N` entries (the oldest deleted, last) and a kv value, sealed under a
/// passphrase or not; its name, key and the deleted entry's id.
async fn large(sealed: bool) -> (String, Key, HistoryId) {
    let name = format!("reopen-{}", (js_sys::Math::random() * 1e9) as u64);
    let key = Key::generate(&mut OsEntropy).unwrap();
    let c = Client::open(SERVER, &name).await.unwrap();
    c.set_key(key.clone()).await.unwrap();
    c.remote.set_session(Some("a-session".into()));
    if sealed {
        // First: pages sealed as they are appended keep their size (a vault made later seals
        // the kept ones again in pages of 1000).
        let cheap = KdfParams { m: 256, t: 1, p: 1 };
        c.save_vault("correct horse", cheap, &Argon2id)
            .await
            .unwrap();
    }
    let all: Vec<History> = (0..N).map(entry).collect();
    for page in all.chunks(PAGE) {
        c.history_add_many(page.to_vec()).await.unwrap();
    }
    let oldest = c.history_query(
        &Query {
            offset: N as usize - 1,
            limit: Some(1),
            ..Query::default()
        },
        |r| r.entries[0].id,
    );
    c.history_delete(oldest).await.unwrap();
    c.kv_set("ns", "k", Some("v")).await.unwrap();
    (name, key, oldest)
}

/// The views of profile `name` with the lowered thresholds (not loaded yet).
async fn views(name: &str) -> ViewStore {
    let v = ViewStore::new(IdbStore::open(&format!("terrapin-{name}")).await.unwrap());
    v.open_entries.set(OPEN);
    v.load_step.set(STEP);
    v
}

fn live(v: &ViewStore) -> u64 {
    v.views.borrow().history.len() as u64
}

fn newest_command(v: &ViewStore) -> String {
    let views = v.views.borrow();
    let mut s = views.search.borrow_mut();
    search::run(&views.history, &mut s, &Query::default()).entries[0]
        .command
        .clone()
}

#[wasm_bindgen_test]
async fn a_large_profile_opens_with_its_newest_entries_then_folds_in_the_rest() {
    let (name, _, oldest) = large(false).await;
    let v = views(&name).await;
    v.load_newest_first().await.unwrap();
    let at_open = live(&v);
    assert!(
        (OPEN - 1..N - 1).contains(&at_open),
        "{at_open} entries at open"
    );
    assert_eq!(newest_command(&v), format!("make target-{}", N - 1));
    assert_eq!(v.views.borrow().kv.get("ns", "k"), Some("v"));
    // The delete is in the newest page: the entry never shows, before or after its create.
    assert!(v.views.borrow().history.get(&oldest).is_none());
    v.loaded().await.unwrap();
    assert_eq!(live(&v), N - 1);
    assert!(v.views.borrow().history.get(&oldest).is_none());
    assert_eq!(v.rebuilds.get(), 0);

    // A profile small enough opens whole, as the client opens it.
    let c = Client::open(SERVER, &name).await.unwrap();
    assert_eq!(c.history_len() as u64, N - 1);
    c.history_loaded().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_sealed_large_profile_unlocks_with_its_newest_entries_then_the_rest() {
    let (name, key, oldest) = large(true).await;
    let v = views(&name).await;
    v.load_newest_first().await.unwrap();
    assert!(v.locked.get());
    assert_eq!(live(&v), 0);
    v.loaded().await.unwrap();
    v.set_sealer(&key).await.unwrap();
    assert!(!v.locked.get());
    assert!(live(&v) < N - 1);
    assert_eq!(newest_command(&v), format!("make target-{}", N - 1));
    v.loaded().await.unwrap();
    assert_eq!(live(&v), N - 1);
    assert!(v.views.borrow().history.get(&oldest).is_none());
    assert_eq!(v.rebuilds.get(), 0);
}

#[wasm_bindgen_test]
async fn stopping_ends_the_load_and_a_full_reload_overtakes_it() {
    let (name, _, _) = large(false).await;
    let v = views(&name).await;
    v.load_newest_first().await.unwrap();
    v.stop_loading();
    let e = v.loaded().await.unwrap_err().to_string();
    assert!(e.contains("closed"), "{e}");
    let stopped = live(&v);
    // Its next step would have come after an IndexedDB read.
    v.idb.meta_get("x").await.unwrap();
    v.idb.meta_get("x").await.unwrap();
    assert_eq!(live(&v), stopped);
    assert!(stopped < N - 1);

    v.load_newest_first().await.unwrap();
    assert!(live(&v) < N - 1);
    v.load().await.unwrap();
    assert_eq!(live(&v), N - 1);
    v.loaded().await.unwrap();
    assert_eq!(live(&v), N - 1);
}
