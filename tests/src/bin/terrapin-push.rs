//! Another host on terrapin-core that pushes history, for tests/bench/www_live.mjs: log in and
//! sync once, then for each line of stdin record a history entry with that command in this
//! host's own series (a fresh host id), sync, and print `pushed <ms>` with the Unix time in ms
//! at which that sync began.
//!   terrapin-push URL USERNAME PASSWORD KEY < commands
use std::io::{BufRead, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use terrapin_core::crypto::encrypt_record;
use terrapin_core::memory::MemoryStore;
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::random::{Entropy, OsEntropy};
use terrapin_core::record::{uuid_v7, HostId, RecordId, SeriesKey, Tag};
use terrapin_core::sync::{self, LocalStore};
use terrapin_tests::{block_on, logged_in_host};
use uuid::Uuid;

fn main() {
    let (client, key) = logged_in_host("terrapin-push URL USERNAME PASSWORD KEY < commands");
    let local = MemoryStore::new();
    let sync_now = || {
        block_on(sync::sync(&local, &client, &key, 100, |_| {}))
            .unwrap_or_else(|e| fail(&format!("sync: {e}")))
    };
    sync_now();
    let host = HostId(uuid());
    let series = SeriesKey::new(host, Tag::History);
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let command = line.unwrap_or_else(|e| fail(&format!("stdin: {e}")));
        let now = now_ns();
        let entry = History {
            id: HistoryId(uuid()),
            timestamp: now,
            duration: 1_000_000,
            exit: 0,
            command,
            cwd: "/bench".into(),
            session: uuid().simple().to_string(),
            hostname: "terrapin-push:bench".into(),
            deleted_at: None,
            author: "bench".into(),
            intent: None,
            shell: None,
            author_kind: None,
        };
        let idx = block_on(local.status())
            .unwrap_or_else(|e| fail(&format!("status: {e}")))
            .get(&series)
            .map_or(0, |last| last + 1);
        let record = HistoryRecord::Create(entry).to_record(host, idx, RecordId(uuid()), now);
        let record = encrypt_record(&record, &key, &mut OsEntropy)
            .unwrap_or_else(|e| fail(&format!("encrypt: {e}")));
        block_on(local.append(&[record], &[])).unwrap_or_else(|e| fail(&format!("store: {e}")));
        let started = now_ns() / 1_000_000;
        let report = sync_now();
        if report.uploaded != 1 {
            fail(&format!("uploaded {} records, not 1", report.uploaded));
        }
        let mut out = stdout.lock();
        writeln!(out, "pushed {started}")
            .and_then(|()| out.flush())
            .ok();
    }
}

fn uuid() -> Uuid {
    let mut b = [0u8; 10];
    OsEntropy
        .fill(&mut b)
        .unwrap_or_else(|e| fail(&format!("random: {e}")));
    uuid_v7(now_ns() / 1_000_000, b)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn fail(msg: &str) -> ! {
    eprintln!("terrapin-push: {msg}");
    std::process::exit(1)
}
