#![cfg(target_arch = "wasm32")]
//! The client in the browser, on its own: history, kv, the scripts' records kept decrypted for
//! the extras module (and derived once for a profile from before they were), views kept across
//! reopening, the vault, keys set late. Legacy migrations are tested in core and, through the package, in
//! tests/web/legacy.test.mjs. Everything that talks to a server runs against the
//! real worker in tests/web (two profiles, wrong keys, cut-off and flaky syncs, the vault).

use terrapin_core::crypto::{encrypt_record, Key};
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::payload::script::{Script, ScriptRecord, SCRIPT_VERSION};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{HostId, Record, RecordId, SeriesKey, Tag};
use terrapin_core::search::Filters;
use terrapin_core::sync::EncRecord;
use terrapin_web::client::{Client, ClientError};
use terrapin_web::search::{Query, SearchMode};
use terrapin_web::vault::KdfParams;
use uuid::Uuid;
use wasm_bindgen_test::*;

mod kdf;
use kdf::Argon2id;

wasm_bindgen_test_configure!(run_in_browser);

/// No server listens here (and Chromium refuses the port): these tests never need one.
const SERVER: &str = "http://127.0.0.1:9";

fn profile(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e9) as u64)
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

/// The profile `name` opened, with a fresh key.
async fn keyed(name: &str) -> Client {
    let c = Client::open(SERVER, name).await.unwrap();
    c.set_key(Key::generate(&mut OsEntropy).unwrap())
        .await
        .unwrap();
    c
}

#[wasm_bindgen_test]
async fn history_queries_filter_search_and_page() {
    let a = keyed(&profile("q")).await;
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
    // Prefix; full text: all words, any order, any case.
    for (text, mode, want) in [
        (
            "git",
            SearchMode::Prefix,
            vec!["git commit -m wip", "git status"],
        ),
        (
            "PUSH git",
            SearchMode::FullText,
            vec!["GIT_TRACE=1 git push"],
        ),
    ] {
        let q = Query {
            text: text.into(),
            mode,
            ..Default::default()
        };
        assert_eq!(cmds(q).1, want, "{text}");
    }
    // Fuzzy.
    let (_, p) = cmds(Query {
        text: "cbr".into(),
        mode: SearchMode::Fuzzy,
        ..Default::default()
    });
    assert_eq!(p.first().map(String::as_str), Some("cargo build --release"));
    // Filters, newest first.
    let all = Filters::default;
    for (filters, want) in [
        (
            Filters {
                host: Some("desk".into()),
                ..all()
            },
            vec!["grep -r TODO .", "cargo build --release"],
        ),
        (
            Filters {
                cwd: Some("/src".into()),
                exit: Some(0),
                ..all()
            },
            vec!["grep -r TODO .", "git status"],
        ),
        (
            Filters {
                session: Some("s1".into()),
                ..all()
            },
            vec!["git commit -m wip", "git status"],
        ),
        (
            Filters {
                after: Some(20_000_000_000),
                before: Some(50_000_000_000),
                ..all()
            },
            vec![
                "grep -r TODO .",
                "cargo build --release",
                "git commit -m wip",
            ],
        ),
    ] {
        let q = Query {
            filters: filters.clone(),
            ..Default::default()
        };
        assert_eq!(cmds(q).1, want, "{filters:?}");
    }
}

#[wasm_bindgen_test]
async fn kv_set_get_delete_list() {
    let a = keyed(&profile("kv")).await;
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
    let name = profile("reopen");
    let c = keyed(&name).await;
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
    let name = profile("sealed");
    let c = keyed(&name).await;
    c.remote.set_session(Some("a-session".into()));
    c.history_add(entry("echo before-the-vault", "/", 0, "s", "h", 1))
        .await
        .unwrap();
    let cheap = KdfParams { m: 256, t: 1, p: 1 };
    c.save_vault("correct horse", cheap, &Argon2id)
        .await
        .unwrap();
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
    c.unlock("correct horse", &Argon2id).await.unwrap();
    assert!(!c.store.locked.get());
    assert_eq!(c.history_len(), 2);
    assert_eq!(c.store.rebuilds.get(), 0);
}

#[wasm_bindgen_test]
async fn records_stored_without_a_key_are_read_once_a_key_is_set() {
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

#[wasm_bindgen_test]
async fn the_vault_seals_session_and_key_under_a_passphrase() {
    let name = profile("vault");
    let c = keyed(&name).await;
    let session = format!("session-{name}");
    c.remote.set_session(Some(session.clone()));
    let key = c.key_string().unwrap();
    let cheap = KdfParams { m: 256, t: 1, p: 1 };
    c.save_vault("correct horse", cheap, &Argon2id)
        .await
        .unwrap();
    let raw = c.store.idb.meta_get("vault").await.unwrap().unwrap();
    assert!(
        !raw.contains(&session) && !raw.contains(&key),
        "nothing in the clear"
    );
    drop(c);

    let mut c = Client::open(SERVER, &name).await.unwrap();
    assert!(!c.is_logged_in());
    assert!(c.has_vault().await.unwrap());
    let e = c.unlock("wrong", &Argon2id).await.unwrap_err();
    assert_eq!(e.kind(), "wrong_passphrase");
    c.unlock("correct horse", &Argon2id).await.unwrap();
    assert_eq!(c.key_string().as_deref(), Some(key.as_str()));
    assert_eq!(c.remote.session(), Some(session));
    // No server to end the session at: logging out forgets it here all the same.
    c.remote.retry.attempts = 1;
    c.logout().await.unwrap();
    assert!(!c.is_logged_in());
    assert!(!c.has_vault().await.unwrap());
    assert!(matches!(
        c.unlock("correct horse", &Argon2id).await,
        Err(ClientError::NoVault)
    ));
}

/// `script` records of `host` (idx from 0): create `deploy`, create `tmp`, delete `tmp`.
fn script_records(host: HostId, key: &Key) -> Vec<EncRecord> {
    let script = |id: u128, name: &str| Script {
        id: Uuid::from_u128(id),
        name: name.into(),
        description: String::new(),
        shebang: "bash".into(),
        tags: vec!["ops".into()],
        script: format!("echo {name}"),
    };
    [
        ScriptRecord::Create(script(1, "deploy")),
        ScriptRecord::Create(script(2, "tmp")),
        ScriptRecord::Delete(Uuid::from_u128(2)),
    ]
    .iter()
    .enumerate()
    .map(|(i, r)| {
        let rec = Record::at(
            &SeriesKey::new(host, Tag::Script),
            i as u64,
            RecordId(Uuid::from_u128(0x5c000 + i as u128)),
            1_700_000_000_000_000_000 + i as u64,
            SCRIPT_VERSION,
            r.encode(),
        );
        encrypt_record(&rec, key, &mut OsEntropy).unwrap()
    })
    .collect()
}

/// The frames of `tag`'s pages as the extras module gets them: `(idx, kind)`.
async fn frames_of(c: &Client, tag: &Tag) -> Vec<(u64, u8)> {
    let pages = c.view_pages(tag).await.unwrap();
    let frames = terrapin_web::page_frames::read(&pages).unwrap();
    frames.iter().map(|f| (f.idx, f.kind)).collect()
}

#[wasm_bindgen_test]
async fn scripts_are_kept_decrypted_for_the_extras_module_and_written_as_given() {
    use terrapin_web::page_frames::{payload_parts, PAYLOAD};
    let name = profile("scripts");
    let a = keyed(&name).await;
    let key = Key::from_atuin_string(&a.key_string().unwrap()).unwrap();
    let theirs = HostId(Uuid::from_u128(0xca7));
    a.import_records(script_records(theirs, &key))
        .await
        .unwrap();
    // A record of this host, as the extras module builds a script's change.
    let mine = ScriptRecord::Delete(Uuid::from_u128(1)).encode();
    a.append_own(Tag::Script, &SCRIPT_VERSION, mine.clone())
        .await
        .unwrap();
    let series = SeriesKey::new(a.host, Tag::Script);
    assert_eq!(a.local_status().await.unwrap().get(&series), Some(0));
    let pages = a.view_pages(&Tag::Script).await.unwrap();
    let frames = terrapin_web::page_frames::read(&pages).unwrap();
    // Every record of the tag, each decrypted, in no store of the main module.
    assert_eq!(frames.len(), 4);
    assert!(frames.iter().all(|f| f.kind == PAYLOAD));
    let own = frames.iter().find(|f| f.host == a.host.0).unwrap();
    assert_eq!(payload_parts(own.body), Some(("v0", &mine[..])));
    assert_eq!(a.unreadable(), 0);
    assert!(frames_of(&a, &Tag::DotfilesVar).await.is_empty());
    // The wire JSON of the tag's records alone.
    let json = a.records_json(Some(&Tag::Script)).await.unwrap();
    let recs: Vec<EncRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(recs.len(), 4);
    assert!(recs.iter().all(|r| r.tag == Tag::Script));
    let all: Vec<EncRecord> = serde_json::from_str(&a.records_json(None).await.unwrap()).unwrap();
    assert_eq!(all.len(), 4);
    drop(a);

    // Under another key the payloads are unreadable, and counted.
    let b = Client::open(SERVER, &name).await.unwrap();
    b.set_key(Key::generate(&mut OsEntropy).unwrap())
        .await
        .unwrap();
    assert_eq!(b.unreadable(), 4);
    assert!(frames_of(&b, &Tag::Script).await.iter().all(|f| f.1 == 2));
}

#[wasm_bindgen_test]
async fn a_profile_from_before_scripts_were_views_derives_them_once() {
    let name = profile("before-scripts");
    let c = keyed(&name).await;
    let key = Key::from_atuin_string(&c.key_string().unwrap()).unwrap();
    c.history_add(entry("echo kept", "/", 0, "s", "h", 1))
        .await
        .unwrap();
    // As the code before kept them: the records without derived pages, and no `views_kinds`.
    let host = HostId(Uuid::from_u128(0xca7));
    let recs = script_records(host, &key);
    c.store.idb.append_with(&recs, &[], None).await.unwrap();
    c.store.idb.meta_set("views_kinds", None).await.unwrap();
    let series = SeriesKey::new(host, Tag::Script);
    drop(c);

    let c = Client::open(SERVER, &name).await.unwrap();
    assert_eq!(c.history_len(), 1);
    assert!(
        frames_of(&c, &Tag::Script).await.is_empty(),
        "not derived yet"
    );
    c.set_key(key.clone()).await.unwrap();
    // The script series alone was derived: no full rebuild.
    assert_eq!(c.store.rebuilds.get(), 0);
    assert_eq!(frames_of(&c, &Tag::Script).await, [(0, 6), (1, 6), (2, 6)]);
    assert_eq!(c.store.idb.derived(&series).await.unwrap().0.len(), 1);
    assert_eq!(
        c.store
            .idb
            .meta_get("views_kinds")
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );
    drop(c);

    // Kept: a reopened profile has the script's records before any key is set.
    let c = Client::open(SERVER, &name).await.unwrap();
    assert_eq!(frames_of(&c, &Tag::Script).await.len(), 3);
    assert_eq!(c.history_len(), 1);
}
