#![cfg(target_arch = "wasm32")]
//! The IndexedDB record store in headless Chromium: appends, range reads, status, schema.

use terrapin_core::crypto::{encrypt_record, Key};
use terrapin_core::holes::{IdxRange, Missing, PlaceError};
use terrapin_core::memory::MemoryStore;
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{
    DecryptedData, EncryptedData, Host, HostId, Record, RecordId, SeriesKey, Tag, Version,
};
use terrapin_core::sync::{sync, Remote, SyncError};
use terrapin_core::sync::{EncRecord, LocalStore};
use terrapin_web::idb::{IdbError, IdbStore, CHUNK, SCHEMA_VERSION};
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn rec(host: u128, tag: &str, idx: u64) -> EncRecord {
    Record {
        id: RecordId(Uuid::from_u128((host << 64) | (idx as u128 + 1))),
        idx,
        host: Host::new(HostId(Uuid::from_u128(host))),
        timestamp: 1_700_000_000_000_000_000 + idx,
        version: Version::V1,
        tag: Tag::from(tag),
        data: EncryptedData {
            data: format!("v4.local.payload-{host}-{tag}-{idx}"),
            content_encryption_key: "{\"wpk\":\"k4.local-wrap.pie.x\",\"kid\":\"k4.lid.y\"}".into(),
        },
    }
}

fn page(host: u128, tag: &str, from: u64, n: u64) -> Vec<EncRecord> {
    (from..from + n).map(|i| rec(host, tag, i)).collect()
}

fn series(host: u128, tag: &str) -> SeriesKey {
    SeriesKey::new(HostId(Uuid::from_u128(host)), Tag::from(tag))
}

async fn fresh(name: &str) -> IdbStore {
    let name = format!("test-{name}-{}", js_sys::Math::random());
    IdbStore::delete(&name).await.unwrap();
    IdbStore::open(&name).await.unwrap()
}

#[wasm_bindgen_test]
async fn empty_store_has_empty_status_and_schema() {
    let s = fresh("empty").await;
    assert!(s.status().await.unwrap().is_empty());
    assert_eq!(s.schema_version(), SCHEMA_VERSION);
    assert!(s
        .read(&series(1, "history"), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

#[wasm_bindgen_test]
async fn appends_across_chunks_read_back_exactly() {
    let s = fresh("chunks").await;
    // Pages of odd sizes so that they straddle chunk boundaries.
    let mut next = 0;
    for n in [1, 99, 300, 7, 256, 1] {
        s.append(&page(1, "history", next, n), &[]).await.unwrap();
        next += n;
    }
    let st = s.status().await.unwrap();
    assert_eq!(st.get(&series(1, "history")), Some(next - 1));
    let all = s.read(&series(1, "history"), 0, next).await.unwrap();
    assert_eq!(all, page(1, "history", 0, next));
    // Ranges inside, across and past chunk boundaries.
    for (start, count) in [
        (0, 1),
        (255, 2),
        (CHUNK - 1, CHUNK + 2),
        (400, 1000),
        (next - 1, 5),
        (next, 5),
    ] {
        let got = s.read(&series(1, "history"), start, count).await.unwrap();
        let want: Vec<_> = (start..(start + count).min(next))
            .map(|i| rec(1, "history", i))
            .collect();
        assert_eq!(got, want, "read({start}, {count})");
    }
}

#[wasm_bindgen_test]
async fn series_are_kept_apart() {
    let s = fresh("series").await;
    s.append(&page(1, "history", 0, 3), &[]).await.unwrap();
    s.append(&page(1, "kv", 0, 2), &[]).await.unwrap();
    s.append(&page(2, "history", 0, 5), &[]).await.unwrap();
    s.append(&page(2, "my-plugin", 0, 1), &[]).await.unwrap();
    let st = s.status().await.unwrap();
    assert_eq!(st.get(&series(1, "history")), Some(2));
    assert_eq!(st.get(&series(1, "kv")), Some(1));
    assert_eq!(st.get(&series(2, "history")), Some(4));
    assert_eq!(st.get(&series(2, "my-plugin")), Some(0));
    assert_eq!(
        s.read(&series(1, "kv"), 0, 10).await.unwrap(),
        page(1, "kv", 0, 2)
    );
    assert_eq!(s.all().await.unwrap().len(), 11);
}

#[wasm_bindgen_test]
async fn gaps_overlaps_and_mixed_pages_are_refused_whole() {
    let s = fresh("refuse").await;
    s.append(&page(1, "history", 0, 10), &[]).await.unwrap();
    // A gap; an overlap (a sync run twice must not duplicate); a first page not at 0.
    for (host, from, n, next) in [(1, 11, 3, 10), (1, 5, 10, 10), (3, 1, 1, 0)] {
        let e = s
            .append(&page(host, "history", from, n), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                IdbError::Place(PlaceError::NotNext { expected, got, .. })
                    if expected == next && got == from
            ),
            "{e}"
        );
    }
    // Mixed series and non-consecutive pages.
    let mut mixed = page(1, "history", 10, 2);
    mixed.push(rec(1, "kv", 0));
    assert!(matches!(
        s.append(&mixed, &[]).await,
        Err(IdbError::Place(PlaceError::BadPage(_)))
    ));
    // A gap inside a page that the page does not declare skipped.
    let mut holes = page(1, "history", 10, 2);
    holes.push(rec(1, "history", 13));
    assert!(matches!(
        s.append(&holes, &[]).await,
        Err(IdbError::Place(PlaceError::NotNext {
            expected: 12,
            got: 13,
            ..
        }))
    ));
    assert!(matches!(
        s.append(&[], &[]).await,
        Err(IdbError::Place(PlaceError::Empty))
    ));
    // Nothing of the refused pages landed.
    assert_eq!(
        s.status().await.unwrap().get(&series(1, "history")),
        Some(9)
    );
    assert_eq!(
        s.read(&series(1, "history"), 0, 100).await.unwrap(),
        page(1, "history", 0, 10)
    );
    assert!(s.status().await.unwrap().get(&series(1, "kv")).is_none());
}

#[wasm_bindgen_test]
async fn declared_holes_are_kept_filled_and_read_around() {
    let s = fresh("holes").await;
    let h = series(1, "history");
    // 0..=2, then a page that skips 3..=4 and a whole chunk (5..=CHUNK+9), then CHUNK+10..
    s.append(&page(1, "history", 0, 3), &[]).await.unwrap();
    let mut skipping = vec![rec(1, "history", 5), rec(1, "history", 6)];
    skipping.extend(page(1, "history", CHUNK + 10, 5));
    let skips = [IdxRange::new(3, 4), IdxRange::new(7, CHUNK + 9)];
    s.append(&skipping, &skips).await.unwrap();
    assert_eq!(s.status().await.unwrap().get(&h), Some(CHUNK + 14));
    let want: Missing = [(h.clone(), skips.to_vec())].into_iter().collect();
    assert_eq!(s.missing().await.unwrap(), want);
    let idx = |v: Vec<EncRecord>| v.iter().map(|r| r.idx).collect::<Vec<_>>();
    let mut all: Vec<u64> = vec![0, 1, 2, 5, 6];
    all.extend(CHUNK + 10..CHUNK + 15);
    assert_eq!(idx(s.read(&h, 0, 10_000).await.unwrap()), all);
    assert_eq!(idx(s.read(&h, 3, 3).await.unwrap()), vec![5]);
    // an undeclared gap and a taken idx are still refused
    assert!(s
        .append(&page(1, "history", CHUNK + 16, 1), &[])
        .await
        .is_err());
    assert!(s.append(&page(1, "history", 5, 1), &[]).await.is_err());
    // fills: one in the first chunk between stored records, one in the empty chunk
    s.append(&[rec(1, "history", 3), rec(1, "history", 40)], &[])
        .await
        .unwrap();
    let m = s.missing().await.unwrap();
    assert_eq!(
        m[&h],
        vec![
            IdxRange::new(4, 4),
            IdxRange::new(7, 39),
            IdxRange::new(41, CHUNK + 9)
        ]
    );
    let got = s.read(&h, 0, 50).await.unwrap();
    assert_eq!(idx(got.clone()), vec![0, 1, 2, 3, 5, 6, 40]);
    assert_eq!(got[3], rec(1, "history", 3));
    // fill everything: the holes are gone, the series reads back whole
    let mut rest = vec![rec(1, "history", 4)];
    rest.extend(page(1, "history", 7, 33));
    rest.extend(page(1, "history", 41, CHUNK + 9 - 40));
    s.append(&rest, &[]).await.unwrap();
    assert!(s.missing().await.unwrap().is_empty());
    assert_eq!(
        s.read(&h, 0, 10_000).await.unwrap(),
        page(1, "history", 0, CHUNK + 15)
    );
    // and an append after the holes are gone continues the series
    s.append(&page(1, "history", CHUNK + 15, 2), &[])
        .await
        .unwrap();
    assert_eq!(s.status().await.unwrap().get(&h), Some(CHUNK + 16));
}

#[wasm_bindgen_test]
async fn data_survives_reopen_and_meta_round_trips() {
    let name = format!("test-reopen-{}", js_sys::Math::random());
    {
        let s = IdbStore::open(&name).await.unwrap();
        s.append(&page(1, "history", 0, 300), &[]).await.unwrap();
        s.meta_set("host", Some("abc")).await.unwrap();
    }
    let s = IdbStore::open(&name).await.unwrap();
    assert_eq!(
        s.status().await.unwrap().get(&series(1, "history")),
        Some(299)
    );
    assert_eq!(s.meta_get("host").await.unwrap().as_deref(), Some("abc"));
    s.meta_set("host", None).await.unwrap();
    assert_eq!(s.meta_get("host").await.unwrap(), None);
    s.clear_records().await.unwrap();
    assert!(s.status().await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn concurrent_appends_to_one_series_never_duplicate() {
    let s = fresh("race").await;
    s.append(&page(1, "history", 0, 5), &[]).await.unwrap();
    // Two writers race for the same next page: exactly one wins.
    let (a, b) = futures_join(
        s.append(&page(1, "history", 5, 5), &[]),
        s.append(&page(1, "history", 5, 5), &[]),
    )
    .await;
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one append wins: {a:?} {b:?}"
    );
    assert_eq!(
        s.read(&series(1, "history"), 0, 100).await.unwrap(),
        page(1, "history", 0, 10)
    );
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    // Start both before awaiting either (IndexedDB requests go out when built).
    let a = Box::pin(a);
    let b = Box::pin(b);
    let mut a = Some(a);
    let mut b = Some(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(|cx| {
        if let Some(f) = a.as_mut() {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                ra = Some(v);
                a = None;
            }
        }
        if let Some(f) = b.as_mut() {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                rb = Some(v);
                b = None;
            }
        }
        if a.is_none() && b.is_none() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}

fn sealed(host: u128, tag: &str, from: u64, n: u64, key: &Key) -> Vec<EncRecord> {
    (from..from + n)
        .map(|i| {
            let plain =
                rec(host, tag, i).with_data(DecryptedData(format!("payload {i}").into_bytes()));
            encrypt_record(&plain, key, &mut OsEntropy).unwrap()
        })
        .collect()
}

#[wasm_bindgen_test]
async fn core_sync_fills_the_store_from_a_remote_and_back() {
    let key = Key::generate(&mut OsEntropy).unwrap();
    let local = fresh("sync").await;
    let remote = MemoryStore::new();
    remote.insert(&sealed(7, "history", 0, 1000, &key)).unwrap();
    remote.insert(&sealed(8, "kv", 0, 3, &key)).unwrap();
    local
        .append(&sealed(1, "history", 0, 42, &key), &[])
        .await
        .unwrap();
    let mut last = None;
    let report = sync(&local, &remote, &key, 100, |p| last = Some(p.clone()))
        .await
        .unwrap();
    assert_eq!((report.uploaded, report.downloaded), (42, 1003));
    let last = last.unwrap();
    assert_eq!((last.all_done, last.all_total), (1045, 1045));
    assert_eq!(
        local.status().await.unwrap(),
        Remote::status(&remote).await.unwrap()
    );
    let mut mine = local.all().await.unwrap();
    let mut theirs = remote.all();
    mine.sort_by_key(|r| r.id);
    theirs.sort_by_key(|r| r.id);
    assert_eq!(mine, theirs);
    // A second sync has nothing to do.
    let again = sync(&local, &remote, &key, 100, |_| {}).await.unwrap();
    assert_eq!((again.uploaded, again.downloaded), (0, 0));
}

#[wasm_bindgen_test]
async fn wrong_key_is_refused_before_anything_moves() {
    let key = Key::generate(&mut OsEntropy).unwrap();
    let other = Key::generate(&mut OsEntropy).unwrap();
    let local = fresh("wrongkey").await;
    let remote = MemoryStore::new();
    remote.insert(&sealed(7, "history", 0, 10, &key)).unwrap();
    local
        .append(&sealed(1, "history", 0, 5, &other), &[])
        .await
        .unwrap();
    let e = sync(&local, &remote, &other, 100, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, SyncError::WrongKey(_)), "{e}");
    assert_eq!(remote.all().len(), 10);
    assert!(local
        .status()
        .await
        .unwrap()
        .get(&series(7, "history"))
        .is_none());
}

#[wasm_bindgen_test]
async fn a_database_from_a_newer_schema_is_refused_not_damaged() {
    use indexed_db_futures::database::Database;
    let name = format!("test-newer-{}", js_sys::Math::random());
    let db = Database::open(name.as_str())
        .with_version(SCHEMA_VERSION + 1)
        .await
        .unwrap();
    db.close();
    match IdbStore::open(&name).await {
        Err(IdbError::Open { name: n, .. }) => assert_eq!(n, name),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("opened a newer database"),
    }
}

#[wasm_bindgen_test]
async fn every_object_store_of_the_schema_exists_after_the_upgrade() {
    let s = fresh("schema").await;
    // Every store is used by these calls; a missing one would fail them.
    s.meta_set("k", Some("v")).await.unwrap();
    s.append_with(&page(1, "history", 0, 3), &[], Some(&[1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(
        s.derived(&series(1, "history")).await.unwrap(),
        (vec![vec![1, 2, 3]], false)
    );
    s.clear_records().await.unwrap();
    assert!(s.derived(&series(1, "history")).await.unwrap().0.is_empty());
}

#[wasm_bindgen_test]
async fn schema_1_derived_pages_are_upgraded_by_deriving_them_again() {
    use indexed_db_futures::database::Database;
    use indexed_db_futures::prelude::*;
    use indexed_db_futures::transaction::TransactionMode;
    use terrapin_web::views::ViewStore;
    let name = format!("test-schema1-{}", js_sys::Math::random());
    // A schema-1 database: the same stores, a derived page as JSON text.
    let db = Database::open(name.as_str())
        .with_version(1u32)
        .with_on_upgrade_needed(|_, db| {
            for s in ["records", "series", "derived", "meta"] {
                db.create_object_store(s).build()?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let tx = db
        .transaction("derived")
        .with_mode(TransactionMode::Readwrite)
        .build()
        .unwrap();
    let key = js_sys::Array::of3(
        &HostId(Uuid::from_u128(1)).to_string().into(),
        &"history".into(),
        &0.0.into(),
    );
    tx.object_store("derived")
        .unwrap()
        .put("[]")
        .with_key(wasm_bindgen::JsValue::from(key))
        .primitive()
        .unwrap()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.close();

    let s = IdbStore::open(&name).await.unwrap();
    assert_eq!(s.schema_version(), SCHEMA_VERSION);
    assert_eq!(
        s.derived(&series(1, "history")).await.unwrap(),
        (vec![], true)
    );
    s.append(&page(1, "history", 0, 3), &[]).await.unwrap();
    let views = ViewStore::new(s.clone());
    views.load().await.unwrap();
    assert_eq!(
        s.meta_get("views_stale").await.unwrap().as_deref(),
        Some("1")
    );
    drop(views);
    drop(s);
    IdbStore::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn dropping_the_store_closes_its_connection_so_the_database_can_be_deleted() {
    let s = fresh("close-on-drop").await;
    let name = s.name().to_owned();
    s.append(&page(1, "history", 0, 3), &[]).await.unwrap();
    drop(s);
    // With the connection still open, deleteDatabase would wait ("blocked") for it forever.
    IdbStore::delete(&name).await.unwrap();
    let again = IdbStore::open(&name).await.unwrap();
    assert!(
        LocalStore::status(&again).await.unwrap().is_empty(),
        "a new, empty database"
    );
}
