//! Benchmark hooks, compiled only with the `bench` feature (never in the published package):
//! `tests/bench/web_decrypt.mjs` and `tests/bench/web_interop.mjs` build the package with it
//! (`WEB_FEATURES=bench web/build.sh`) into a folder of their own.

use terrapin_core::crypto::{encrypt_record, Key};
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{HostId, RecordId};
use wasm_bindgen::prelude::*;

use crate::client::ClientError;
use crate::interop::{history_js, invalid, to_js};
use crate::views::{derive_page, Meaning};

/// History entry `i` of the hooks.
fn history(i: u64) -> History {
    History {
        id: HistoryId(uuid::Uuid::from_u128(i as u128 + 1)),
        timestamp: 1_700_000_000_000_000_000 + i,
        duration: 1000,
        exit: 0,
        command: format!("git commit -m 'change number {i}'"),
        cwd: "/home/me/src/project".into(),
        session: "0190a4f0aaaabbbbccccddddeeeeffff".into(),
        hostname: "laptop:me".into(),
        deleted_at: None,
        author: "me".into(),
        intent: None,
        shell: Some("zsh".into()),
        author_kind: None,
    }
}

/// Encrypt `n` history records, then time decrypting and decoding them (what an initial sync
/// does per record). Returns milliseconds.
#[wasm_bindgen(js_name = __benchDecrypt)]
pub fn bench_decrypt(n: u32) -> Result<f64, JsValue> {
    let key = Key::generate(&mut OsEntropy).map_err(|_| ClientError::Entropy)?;
    let host = HostId(uuid::Uuid::from_u128(7));
    let recs: Vec<_> = (0..n as u64)
        .map(|i| {
            let id = RecordId(uuid::Uuid::from_u128(i as u128 + 1));
            let r = HistoryRecord::Create(history(i)).to_record(
                host,
                i,
                id,
                1_700_000_000_000_000_000 + i,
            );
            encrypt_record(&r, &key, &mut OsEntropy)
        })
        .collect::<Result<_, _>>()
        .map_err(ClientError::from)?;
    let t0 = js_sys::Date::now();
    let d = derive_page(&recs, &key);
    let ms = js_sys::Date::now() - t0;
    if d.iter().any(|x| matches!(x.m, Meaning::Unreadable(_))) {
        return Err(invalid("benchmark records did not decrypt"));
    }
    Ok(ms)
}

/// `n` history entries out to JS, as serde-wasm-bindgen objects and as JSON text through
/// `JSON.parse` (the path history entries take), in pages of `page` (a query's results) and
/// all at once (a sync report's `entries`). Returns `[swb pages, json pages, swb all, json
/// all]` in ms.
#[wasm_bindgen(js_name = __benchInterop)]
pub fn bench_interop(n: u32, page: u32) -> Result<Vec<f64>, JsValue> {
    let hs: Vec<History> = (0..n as u64).map(history).collect();
    let time = |f: &dyn Fn(&[History]) -> Result<JsValue, JsValue>, chunk: usize| {
        let t0 = js_sys::Date::now();
        let mut keep = 0u32;
        for c in hs.chunks(chunk.max(1)) {
            keep += js_sys::Array::from(&f(c)?).length();
        }
        assert_eq!(keep, n);
        Ok::<_, JsValue>(js_sys::Date::now() - t0)
    };
    // serde-wasm-bindgen (a dependency of the bench feature only): how the package made
    // objects before, kept as the comparison.
    let swb = |c: &[History]| {
        let v = c.iter().map(history_js).collect::<Vec<_>>();
        Ok(serde::Serialize::serialize(
            &v,
            &serde_wasm_bindgen::Serializer::json_compatible(),
        )?)
    };
    let text = |c: &[History]| to_js(&c.iter().map(history_js).collect::<Vec<_>>());
    Ok(vec![
        time(&swb, page as usize)?,
        time(&text, page as usize)?,
        time(&swb, hs.len())?,
        time(&text, hs.len())?,
    ])
}
