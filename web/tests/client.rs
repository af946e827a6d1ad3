#![cfg(target_arch = "wasm32")]
//! The client end to end in the browser against an in-page fake server: accounts, sync
//! between two profiles, history and kv, deletes, wrong keys, cut-off syncs, the vault.

use terrapin_core::crypto::{encrypt_record, Key};
use terrapin_core::legacy::{self, LegacyError, LegacyRecord, Migration};
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{DecryptedData, HostId, RecordId, SeriesKey, Tag};
use terrapin_core::search::Filters;
use terrapin_core::sync::EncRecord;
use terrapin_web::client::{Client, ClientError};
use terrapin_web::search::{Query, SearchMode};
use terrapin_web::vault::KdfParams;
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/support/fake_server.js")]
extern "C" {
    fn install(opts: JsValue);
    fn set_abort_after(n: u32, controller: &web_sys::AbortController);
    fn clear_abort();
    fn set_fail_every(n: u32);
    fn requests() -> u32;
    fn server_count(user: &str) -> u32;
    fn server_ids(user: &str) -> String;
}

const SERVER: &str = "http://fake.test";

fn fake(page_cap: u32) {
    install(js_sys::JSON::parse(&format!(r#"{{"pageCap": {page_cap}}}"#)).unwrap());
}

fn profile(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e9) as u64)
}

fn user(name: &str) -> String {
    format!("{name}{}", (js_sys::Math::random() * 1e9) as u64)
}

fn entry(cmd: &str, cwd: &str, exit: i64, session: &str, host: &str, ts_s: u64) -> History {
    History {
        id: HistoryId(Uuid::nil()),
        timestamp: ts_s * 1_000_000_000,
        duration: 1000,
        exit,
        command: cmd.into(),
        cwd: cwd.into(),
        session: session.into(),
        hostname: format!("{host}:me"),
        deleted_at: None,
        author: "me".into(),
        intent: None,
        shell: None,
        author_kind: None,
    }
}

async fn registered(name: &str) -> (Client, String) {
    let c = Client::open(SERVER, &profile(name)).await.unwrap();
    let u = user(name);
    c.register(&u, &format!("{u}@example.com"), "pw", None)
        .await
        .unwrap();
    (c, u)
}

#[wasm_bindgen_test]
async fn two_profiles_push_pull_and_delete() {
    fake(100);
    let (a, u) = registered("a").await;
    let key = a.key_string().unwrap();
    let h1 = a
        .history_add(entry("git status", "/src", 0, "s1", "laptop", 1))
        .await
        .unwrap();
    a.history_add(entry("cargo test", "/src", 101, "s1", "laptop", 2))
        .await
        .unwrap();
    a.history_add(entry("ls -la", "/home", 0, "s2", "laptop", 3))
        .await
        .unwrap();
    a.kv_set("env", "EDITOR", Some("vim")).await.unwrap();
    let r = a.sync(None, |_| {}).await.unwrap();
    assert_eq!((r.uploaded, r.downloaded), (4, 0));
    assert_eq!(server_count(&u), 4);

    let b = Client::open(SERVER, &profile("b")).await.unwrap();
    b.login(&u, "pw", &key).await.unwrap();
    let mut progress = Vec::new();
    let r = b
        .sync(None, |p| progress.push((p.all_done, p.all_total)))
        .await
        .unwrap();
    assert_eq!((r.uploaded, r.downloaded), (0, 4));
    assert_eq!(progress.last(), Some(&(4, 4)));
    assert_eq!(b.history_len(), 3);
    assert_eq!(b.kv_get("env", "EDITOR").as_deref(), Some("vim"));
    assert_eq!(b.me().await.unwrap(), u);

    b.history_delete(h1.id).await.unwrap();
    assert!(b.history_get(&h1.id).is_none());
    let r = b.sync(None, |_| {}).await.unwrap();
    assert_eq!(r.uploaded, 1);
    let r = a.sync(None, |_| {}).await.unwrap();
    assert_eq!(r.downloaded, 1);
    assert!(a.history_get(&h1.id).is_none());
    assert_eq!(a.history_len(), 2);
}

#[wasm_bindgen_test]
async fn a_wrong_key_is_refused_and_nothing_is_uploaded() {
    fake(100);
    let (a, u) = registered("wk").await;
    a.history_add(entry("echo 1", "/", 0, "s", "h", 1))
        .await
        .unwrap();
    a.sync(None, |_| {}).await.unwrap();
    let b = Client::open(SERVER, &profile("wk-b")).await.unwrap();
    let other = Key::generate(&mut OsEntropy).unwrap().to_atuin_string();
    b.login(&u, "pw", &other).await.unwrap();
    b.history_add(entry("echo 2", "/", 0, "s", "h", 2))
        .await
        .unwrap();
    let e = b.sync(None, |_| {}).await.unwrap_err();
    assert_eq!(e.kind(), "wrong_key", "{e}");
    assert_eq!(server_count(&u), 1);
}

#[wasm_bindgen_test]
async fn history_queries_filter_search_and_page() {
    fake(100);
    let (a, _) = registered("q").await;
    let rows = [
        ("git status", "/src", 0, "s1", "laptop", 10),
        ("git commit -m wip", "/src", 1, "s1", "laptop", 20),
        ("cargo build --release", "/src/web", 0, "s2", "desk", 30),
        ("grep -r TODO .", "/src", 0, "s2", "desk", 40),
        ("GIT_TRACE=1 git push", "/home", 128, "s3", "laptop", 50),
    ];
    for (c, d, x, s, h, t) in rows {
        a.history_add(entry(c, d, x, s, h, t)).await.unwrap();
    }
    let cmds = |q: Query| {
        a.history_query(&q, |r| {
            (
                r.total,
                r.entries
                    .iter()
                    .map(|h| h.command.clone())
                    .collect::<Vec<_>>(),
            )
        })
    };
    // Newest first, paged.
    let (total, page) = cmds(Query {
        limit: Some(2),
        offset: 1,
        ..Default::default()
    });
    assert_eq!(total, 5);
    assert_eq!(page, vec!["grep -r TODO .", "cargo build --release"]);
    // Prefix.
    let (_, p) = cmds(Query {
        text: "git".into(),
        mode: SearchMode::Prefix,
        ..Default::default()
    });
    assert_eq!(p, vec!["git commit -m wip", "git status"]);
    // Full text: all words, any order, any case.
    let (_, p) = cmds(Query {
        text: "PUSH git".into(),
        mode: SearchMode::FullText,
        ..Default::default()
    });
    assert_eq!(p, vec!["GIT_TRACE=1 git push"]);
    // Fuzzy.
    let (_, p) = cmds(Query {
        text: "cbr".into(),
        mode: SearchMode::Fuzzy,
        ..Default::default()
    });
    assert_eq!(p.first().map(String::as_str), Some("cargo build --release"));
    // Filters.
    let (_, p) = cmds(Query {
        filters: Filters {
            host: Some("desk".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(p, vec!["grep -r TODO .", "cargo build --release"]);
    let (_, p) = cmds(Query {
        filters: Filters {
            cwd: Some("/src".into()),
            exit: Some(0),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(p, vec!["grep -r TODO .", "git status"]);
    let (_, p) = cmds(Query {
        filters: Filters {
            session: Some("s1".into()),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(p.len(), 2);
    let (_, p) = cmds(Query {
        filters: Filters {
            after: Some(20_000_000_000),
            before: Some(50_000_000_000),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(
        p,
        vec![
            "grep -r TODO .",
            "cargo build --release",
            "git commit -m wip"
        ]
    );
}

#[wasm_bindgen_test]
async fn kv_set_get_delete_list() {
    fake(100);
    let (a, _) = registered("kv").await;
    a.kv_set("ns", "a", Some("1")).await.unwrap();
    a.kv_set("ns", "b", Some("2")).await.unwrap();
    a.kv_set("other", "a", Some("x")).await.unwrap();
    a.kv_set("ns", "a", Some("3")).await.unwrap();
    assert_eq!(a.kv_get("ns", "a").as_deref(), Some("3"));
    a.kv_set("ns", "b", None).await.unwrap();
    assert_eq!(a.kv_get("ns", "b"), None);
    let l = a.kv_list(Some("ns"));
    assert_eq!(l, vec![("ns".into(), "a".into(), "3".into())]);
    assert_eq!(a.kv_list(None).len(), 2);
}

#[wasm_bindgen_test]
async fn views_survive_reopening_without_decrypting_again() {
    fake(100);
    let name = profile("reopen");
    let c = Client::open(SERVER, &name).await.unwrap();
    let u = user("reopen");
    c.register(&u, &format!("{u}@x.y"), "pw", None)
        .await
        .unwrap();
    c.history_add(entry("echo hi", "/", 0, "s", "h", 1))
        .await
        .unwrap();
    c.kv_set("n", "k", Some("v")).await.unwrap();
    let key = c.key_string().unwrap();
    let host = c.host;
    drop(c);
    let c = Client::open(SERVER, &name).await.unwrap();
    assert_eq!(c.host, host);
    assert_eq!(c.history_len(), 1);
    assert_eq!(c.kv_get("n", "k").as_deref(), Some("v"));
    assert!(c.key_string().is_none());
    // Setting the same key again (a login, an unlock) decrypts nothing.
    c.set_key(Key::from_atuin_string(&key).unwrap())
        .await
        .unwrap();
    assert_eq!(c.store.rebuilds.get(), 0);
    assert_eq!(c.history_len(), 1);
}

#[wasm_bindgen_test]
async fn a_passphrase_seals_the_decrypted_history_at_rest_too() {
    fake(100);
    let name = profile("sealed");
    let c = Client::open(SERVER, &name).await.unwrap();
    let u = user("sealed");
    c.register(&u, &format!("{u}@x.y"), "pw", None)
        .await
        .unwrap();
    c.history_add(entry("echo before-the-vault", "/", 0, "s", "h", 1))
        .await
        .unwrap();
    let cheap = KdfParams { m: 256, t: 1, p: 1 };
    c.save_vault("correct horse", cheap).await.unwrap();
    c.history_add(entry("echo after-the-vault", "/", 0, "s", "h", 2))
        .await
        .unwrap();
    assert_eq!(c.history_len(), 2);
    let series = SeriesKey::new(c.host, Tag::History);
    let (pages, _) = c.store.idb.derived(&series).await.unwrap();
    assert!(!pages.is_empty());
    for page in &pages {
        assert!(terrapin_web::views::is_sealed(page), "a page in the clear");
        let text = String::from_utf8_lossy(page);
        assert!(!text.contains("the-vault"), "a command in the clear");
    }
    drop(c);

    // Reopened: nothing readable until the passphrase; then everything, without decrypting
    // the records again.
    let c = Client::open(SERVER, &name).await.unwrap();
    assert!(c.store.locked.get());
    assert_eq!(c.history_len(), 0);
    c.unlock("correct horse").await.unwrap();
    assert!(!c.store.locked.get());
    assert_eq!(c.history_len(), 2);
    assert_eq!(c.store.rebuilds.get(), 0);
}

#[wasm_bindgen_test]
async fn records_stored_without_a_key_are_read_once_a_key_is_set() {
    fake(100);
    let key = Key::generate(&mut OsEntropy).unwrap();
    let name = profile("nokey");
    let c = Client::open(SERVER, &name).await.unwrap();
    let host = HostId(Uuid::from_u128(0xfeed));
    c.import_records(sealed_history(host, 30, &key))
        .await
        .unwrap();
    assert_eq!(c.history_len(), 0, "no key, no views");
    c.set_key(key.clone()).await.unwrap();
    assert_eq!(c.store.rebuilds.get(), 1);
    assert_eq!(c.history_len(), 30);
    drop(c);
    // The rebuilt views were kept: reopening and setting the key decrypts nothing.
    let c = Client::open(SERVER, &name).await.unwrap();
    assert_eq!(c.history_len(), 30);
    c.set_key(key).await.unwrap();
    assert_eq!(c.store.rebuilds.get(), 0);
    // Another key: everything is read again, and nothing is readable.
    c.set_key(Key::generate(&mut OsEntropy).unwrap())
        .await
        .unwrap();
    assert_eq!(c.store.rebuilds.get(), 1);
    assert_eq!(c.history_len(), 0);
    assert_eq!(c.unreadable(), 30);
}

fn sealed_history(host: HostId, n: u64, key: &Key) -> Vec<EncRecord> {
    (0..n)
        .map(|i| {
            let h = entry(&format!("cmd {i}"), "/", 0, "s", "gen", 1000 + i);
            let h = History {
                id: HistoryId(Uuid::from_u128(0xabc000 + i as u128)),
                ..h
            };
            let id = RecordId(Uuid::from_u128(
                0xdef000 + i as u128 + ((host.0.as_u128() & 0xffff) << 64),
            ));
            let r = HistoryRecord::Create(h).to_record(host, i, id, 1_700_000_000_000_000_000 + i);
            encrypt_record(&r, key, &mut OsEntropy).unwrap()
        })
        .collect()
}

/// Syncs until a sync completes, each try cut off after a random number of requests (the
/// first within 6, the others within 40: a download has 8 requests under way at once); returns
/// how many were cut off.
async fn sync_with_cuts(c: &Client) -> u32 {
    let mut cuts = 0;
    loop {
        let ctl = web_sys::AbortController::new().unwrap();
        let within = if cuts == 0 { 6.0 } else { 40.0 };
        set_abort_after(1 + (js_sys::Math::random() * within) as u32, &ctl);
        match c.sync(Some(ctl.signal()), |_| {}).await {
            Ok(_) => return cuts,
            Err(e) => {
                assert_eq!(e.kind(), "aborted", "{e}");
                cuts += 1;
            }
        }
        assert!(cuts < 100);
    }
}

#[wasm_bindgen_test]
async fn cut_off_syncs_lose_and_duplicate_nothing() {
    fake(50);
    let (a, u) = registered("cut").await;
    let key = Key::from_atuin_string(&a.key_string().unwrap()).unwrap();
    let n = 600;
    a.page_size.set(Some(50));
    a.import_records(sealed_history(a.host, n, &key))
        .await
        .unwrap();
    // Upload, cut off at random points, until done.
    assert!(sync_with_cuts(&a).await > 0);
    assert_eq!(server_count(&u), n as u32);
    let mut ids: Vec<String> = serde_json::from_str(&server_ids(&u)).unwrap();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n as usize);

    // Download into a second profile, cut off at random points.
    clear_abort();
    let b = Client::open(SERVER, &profile("cut-b")).await.unwrap();
    b.page_size.set(Some(50));
    b.login(&u, "pw", &a.key_string().unwrap()).await.unwrap();
    assert!(sync_with_cuts(&b).await > 0);
    let mut mine = b.records().await.unwrap();
    let mut theirs = a.records().await.unwrap();
    mine.sort_by_key(|r| r.id);
    theirs.sort_by_key(|r| r.id);
    assert_eq!(mine, theirs);
    assert_eq!(b.history_len(), n as usize);
}

#[wasm_bindgen_test]
async fn the_vault_seals_session_and_key_under_a_passphrase() {
    fake(100);
    let name = profile("vault");
    let c = Client::open(SERVER, &name).await.unwrap();
    let u = user("vault");
    c.register(&u, &format!("{u}@x.y"), "pw", None)
        .await
        .unwrap();
    let key = c.key_string().unwrap();
    let session = c.remote.session().unwrap();
    let cheap = KdfParams { m: 256, t: 1, p: 1 };
    c.save_vault("correct horse", cheap).await.unwrap();
    let raw = c.store.idb.meta_get("vault").await.unwrap().unwrap();
    assert!(
        !raw.contains(&session) && !raw.contains(&key),
        "nothing in the clear"
    );
    drop(c);

    let c = Client::open(SERVER, &name).await.unwrap();
    assert!(!c.is_logged_in());
    assert!(c.has_vault().await.unwrap());
    let e = c.unlock("wrong").await.unwrap_err();
    assert_eq!(e.kind(), "wrong_passphrase");
    c.unlock("correct horse").await.unwrap();
    assert_eq!(c.key_string().as_deref(), Some(key.as_str()));
    assert_eq!(c.me().await.unwrap(), u);
    c.logout().await.unwrap();
    assert!(!c.has_vault().await.unwrap());
    assert!(matches!(
        c.unlock("correct horse").await,
        Err(ClientError::NoVault)
    ));
}

#[wasm_bindgen_test]
async fn legacy_records_migrate_import_once_and_read() {
    use terrapin_core::crypto::encrypt_legacy;
    use terrapin_core::record::Version;
    fake(100);
    let (c, _) = registered("legacy").await;
    let key = Key::from_atuin_input(&c.key_string().unwrap()).unwrap();
    let host = HostId(Uuid::from_u128(0xaa));
    // kv v0 payloads as atuin <= 17 wrote them: [namespace, key, value].
    let kv = |k: &str, v: &str| {
        let mut b = vec![0x93, 0xa2, b'n', b's', 0xa0 | k.len() as u8];
        b.extend_from_slice(k.as_bytes());
        b.push(0xa0 | v.len() as u8);
        b.extend_from_slice(v.as_bytes());
        DecryptedData(b)
    };
    let rec = |id: u128, parent: Option<u128>, k: &str, v: &str| {
        let (id, parent) = (
            RecordId(Uuid::from_u128(id)),
            parent.map(|p| RecordId(Uuid::from_u128(p))),
        );
        let data = encrypt_legacy(
            id,
            &Version::V0,
            &Tag::Kv,
            host,
            parent,
            &kv(k, v),
            &key,
            &mut OsEntropy,
        )
        .unwrap();
        serde_json::json!({
            "id": id, "host": host, "parent": parent, "timestamp": 1000 + id.0.as_u128() as u64,
            "version": "v0", "tag": "kv", "data": data,
        })
    };
    let ok = serde_json::to_string(&[
        rec(3, Some(2), "a", "new"),
        rec(1, None, "a", "old"),
        rec(2, Some(1), "b", "ü"),
    ])
    .unwrap();
    let key_text = c.key_string().unwrap();
    let m = migrate_legacy(&ok, &key_text).unwrap();
    let order: Vec<(u64, u128)> = m
        .records
        .iter()
        .map(|r| (r.idx, r.id.0.as_u128()))
        .collect();
    assert_eq!(order, vec![(0, 1), (1, 2), (2, 3)]);
    assert_eq!(c.import_records(m.records).await.unwrap(), 3);
    assert_eq!(c.kv_get("ns", "a").as_deref(), Some("new"));
    assert_eq!(c.kv_get("ns", "b").as_deref(), Some("ü"));
    // The same store again: nothing added.
    let again = migrate_legacy(&ok, &key_text).unwrap();
    assert_eq!(c.import_records(again.records).await.unwrap(), 0);

    let fork = serde_json::to_string(&[
        rec(1, None, "a", "x"),
        rec(2, Some(1), "a", "y"),
        rec(3, Some(1), "a", "z"),
    ])
    .unwrap();
    let e = migrate_legacy(&fork, &key_text).unwrap_err();
    assert!(
        e.to_string()
            .contains("00000000-0000-0000-0000-000000000002"),
        "{e}"
    );
    let other = Key::generate(&mut OsEntropy).unwrap().to_atuin_string();
    let e = migrate_legacy(&ok, &other).unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong key for record 00000000-0000-0000-0000-000000000001"),
        "{e}"
    );
}

/// The core's migration, as the package's legacy module runs it (web/legacy).
fn migrate_legacy(json: &str, key: &str) -> Result<Migration, LegacyError> {
    let key = Key::from_atuin_input(key).unwrap();
    let records: Vec<LegacyRecord<terrapin_core::record::EncryptedData>> =
        serde_json::from_str(json).unwrap();
    legacy::migrate(records, &key, &mut OsEntropy)
}

#[wasm_bindgen_test]
async fn a_flaky_server_is_retried_through_a_whole_sync() {
    // Every third request answers 503: the retries carry the sync through.
    install(js_sys::JSON::parse(r#"{"pageCap": 100, "failEvery": 0}"#).unwrap());
    let c = Client::open(SERVER, &profile("flaky")).await.unwrap();
    let u = user("flaky");
    let mut c = c;
    c.remote.retry = terrapin_web::http::RetryPolicy {
        attempts: 4,
        base_ms: 1,
        max_ms: 5,
    };
    // Register and login are never retried: a 503 may have come after the work was done.
    set_fail_every(1);
    let before = requests();
    let e = c
        .register(&u, &format!("{u}@x.y"), "pw", None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "server");
    assert_eq!(requests(), before + 1);
    set_fail_every(0);
    c.register(&u, &format!("{u}@x.y"), "pw", None)
        .await
        .unwrap();
    set_fail_every(3);
    let key = Key::from_atuin_string(&c.key_string().unwrap()).unwrap();
    c.page_size.set(Some(100));
    c.import_records(sealed_history(c.host, 450, &key))
        .await
        .unwrap();
    let r = c.sync(None, |_| {}).await.unwrap();
    assert_eq!(r.uploaded, 450);
    assert_eq!(server_count(&u), 450);
    let mut b = Client::open(SERVER, &profile("flaky-b")).await.unwrap();
    b.remote.retry = terrapin_web::http::RetryPolicy {
        attempts: 4,
        base_ms: 1,
        max_ms: 5,
    };
    b.page_size.set(Some(100));
    set_fail_every(0);
    b.login(&u, "pw", &c.key_string().unwrap()).await.unwrap();
    set_fail_every(3);
    assert_eq!(b.sync(None, |_| {}).await.unwrap().downloaded, 450);
    assert_eq!(b.history_len(), 450);
}
