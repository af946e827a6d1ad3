//! The memory a push body can take while it is parsed is bounded by the push limits, not by
//! the body: measured with a counting allocator (this file is its own test binary, so nothing
//! else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use terrapin_core::push::{parse_batch, PushError, PushLimits};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn record(idx: usize) -> String {
    format!(
        r#"{{"id":"0190a1b2-c3d4-7e5f-8a9b-{idx:012x}","idx":{idx},"host":{{"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c","name":""}},"timestamp":1700000000000000000,"version":"v0","tag":"history","data":{{"data":"v4.local.{pad}","content_encryption_key":"{{}}"}}}}"#,
        pad = "x".repeat(200)
    )
}

/// Peak bytes allocated above what was live before `f` ran.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

#[test]
fn an_oversized_batch_is_refused_within_bounded_memory() {
    let limits = PushLimits {
        max_body_bytes: 32 * 1024 * 1024,
        max_records: 1000,
        max_record_bytes: 256 * 1024,
    };
    let records: Vec<String> = (0..30_000).map(record).collect();
    let big = format!("[{}]", records.join(","));
    let within = format!("[{}]", records[..1000].join(","));
    assert!(big.len() > 10 * 1024 * 1024);

    let (ok, within_peak) = peak_of(|| parse_batch(within.as_bytes(), &limits));
    assert_eq!(ok.unwrap().len(), 1000);
    drop(records);

    let (refused, refused_peak) = peak_of(|| parse_batch(big.as_bytes(), &limits));
    assert_eq!(
        refused.unwrap_err(),
        PushError::TooManyRecords { max: 1000 }
    );
    println!(
        "body {} B: peak {refused_peak} B while refusing 30,000 records; {within_peak} B \
         for a batch of 1,000",
        big.len()
    );
    // The refusal holds at most the 1,000 records of the limit, like an accepted batch; 40,000
    // decoded records would take about forty times that.
    assert!(
        refused_peak <= within_peak + 64 * 1024,
        "refusing took {refused_peak} B, accepting 1,000 took {within_peak} B"
    );
}
