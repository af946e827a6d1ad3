//! One benchmark body for both natively and wasm: per-record encrypt and decrypt time,
//! history decode throughput, and the server's per-record push and `next` cost. Prints medians of several rounds; asserts nothing.

use std::fmt::Write;

pub mod search;

use terrapin_core::crypto::{self, Key};
use terrapin_core::payload::history::{HistoryRecord, HISTORY_VERSION};
use terrapin_core::random::{BufferedEntropy, OsEntropy};
use terrapin_core::record::{DecryptedData, HostId, Record, RecordId};
use terrapin_core::{pages, push, sample};
use uuid::Uuid;

const ROUNDS: usize = 7;

fn record(i: u64) -> Record<DecryptedData> {
    HistoryRecord::Create(sample::history(i)).to_record(
        HostId(Uuid::from_u128(7)),
        i,
        RecordId(Uuid::from_u128(u128::from(i) + 1)),
        1_700_000_000_000_000_000 + i,
    )
}

fn median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let m = v[v.len() / 2];
    let spread = (v[v.len() - 1] - v[0]) / m * 100.0;
    (m, spread)
}

/// Run every benchmark; `now_ms` is the host's monotonic clock in milliseconds.
pub fn run(now_ms: &dyn Fn() -> f64, n: u64) -> String {
    let key = Key::from_bytes([0x42; 32]);
    let plain: Vec<_> = (0..n).map(record).collect();
    let mut out = String::new();

    let mut enc_us = Vec::new();
    let mut sealed = Vec::new();
    let mut entropy = BufferedEntropy::new(OsEntropy);
    for _ in 0..ROUNDS {
        let t = now_ms();
        sealed = plain
            .iter()
            .map(|r| crypto::encrypt_record(r, &key, &mut entropy).unwrap())
            .collect();
        enc_us.push((now_ms() - t) * 1000.0 / n as f64);
    }
    let mut dec_us = Vec::new();
    for _ in 0..ROUNDS {
        let t = now_ms();
        for r in &sealed {
            std::hint::black_box(crypto::decrypt_record(r, &key).unwrap());
        }
        dec_us.push((now_ms() - t) * 1000.0 / n as f64);
    }
    let payloads: Vec<_> = plain.iter().map(|r| r.data.0.clone()).collect();
    let bytes: usize = payloads.iter().map(Vec::len).sum();
    let mut decode_rate = Vec::new();
    for _ in 0..ROUNDS {
        let t = now_ms();
        for p in &payloads {
            std::hint::black_box(HistoryRecord::decode(&HISTORY_VERSION, p).unwrap());
        }
        decode_rate.push(n as f64 / ((now_ms() - t) / 1000.0));
    }
    // The server's share of a push and of a `next` page: 1000 sealed history records as JSON,
    // parsed, checked and paged after a partly filled tail page (as an append is), then read.
    let batch: Vec<_> = sealed.iter().take(1000).cloned().collect();
    let tail: Vec<_> = batch.iter().take(100).cloned().collect();
    let rest: Vec<_> = batch.iter().skip(100).cloned().collect();
    let body = serde_json::to_vec(&rest).unwrap_or_default();
    let series = batch[0].series();
    let tail_page = pages::plan_push(tail, &[]).unwrap().put.remove(0);
    let loaded = [pages::StoredPage {
        series: series.clone(),
        first: tail_page.first,
        body: tail_page.body,
    }];
    let limits = push::PushLimits::default();
    let mut push_us = Vec::new();
    let mut written = Vec::new();
    for _ in 0..ROUNDS {
        let t = now_ms();
        let parsed = push::parse_batch(&body, &limits).unwrap();
        written = pages::plan_push(parsed, &loaded).unwrap().put;
        push_us.push((now_ms() - t) * 1000.0 / rest.len() as f64);
    }
    let mut next_us = Vec::new();
    for _ in 0..ROUNDS {
        let t = now_ms();
        let mut page = pages::NextPage::new(1000, pages::NEXT_MAX_BYTES);
        for w in &written {
            let stored = pages::StoredPage {
                series: series.clone(),
                first: w.first,
                body: w.body.clone(),
            };
            page.add(&stored, 0).unwrap();
        }
        std::hint::black_box(page.finish());
        next_us.push((now_ms() - t) * 1000.0 / rest.len() as f64);
    }
    let (pu, pus) = median(push_us);
    let (nu, nus) = median(next_us);
    let (e, es) = median(enc_us);
    let (d, ds) = median(dec_us);
    let (h, hs) = median(decode_rate);
    let _ = writeln!(
        out,
        "records per round: {n}, rounds: {ROUNDS} (median; spread = (max-min)/median)"
    );
    let _ = writeln!(out, "encrypt_record: {e:.2} us/record (spread {es:.0}%)");
    let _ = writeln!(out, "decrypt_record: {d:.2} us/record (spread {ds:.0}%)");
    let _ = writeln!(
        out,
        "history decode: {:.0} records/s, {:.1} MB/s (spread {hs:.0}%)",
        h,
        h * (bytes as f64 / n as f64) / 1e6
    );
    let _ = writeln!(
        out,
        "server push (parse + check + page): {pu:.2} us/record (spread {pus:.0}%)"
    );
    let _ = writeln!(
        out,
        "server next page: {nu:.2} us/record (spread {nus:.0}%)"
    );
    out
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance)]
        fn now() -> f64;
    }

    /// Run the benchmarks in the JS host and return the report.
    #[wasm_bindgen]
    pub fn run(n: u32) -> String {
        super::run(&|| now(), u64::from(n))
    }

    /// The search bench (src/search.rs) in the JS host.
    #[wasm_bindgen]
    pub fn search(n: u32, reps: u32) -> String {
        super::search::run(&|| now(), n as usize, reps as usize, false)
    }

    /// The memory of the history store and its search index (src/search.rs), in wasm.
    #[wasm_bindgen(js_name = memoryUse)]
    pub fn memory_use(n: u32, stepped: bool) -> String {
        let bytes = || core::arch::wasm32::memory_size(0) * 65536;
        super::search::memory(&|| now(), &bytes, n as usize, stepped)
    }
}
