//! A third host on terrapin-core: log in, pull everything with the given Atuin key (base64 or
//! the 24-word phrase), fold history and kv, and print them. Used by tests/edge/atuin_cli.test.mjs.
//!   terrapin-pull URL USERNAME PASSWORD KEY
use terrapin_core::memory::MemoryStore;
use terrapin_core::store::history::HistoryStore;
use terrapin_core::store::kv::KvStore;
use terrapin_core::store::{meaning, Fold as _, Meaning, RecordOrigin};
use terrapin_core::sync;
use terrapin_tests::{block_on, logged_in_host};

fn main() {
    let (client, key) = logged_in_host("terrapin-pull URL USERNAME PASSWORD KEY");
    let local = MemoryStore::new();
    let report = block_on(sync::sync(&local, &client, &key, 100, |_| {}))
        .unwrap_or_else(|e| fail(&format!("sync: {e}")));
    eprintln!("downloaded {} records", report.downloaded);
    let (mut history, mut kv) = (HistoryStore::new(), KvStore::new());
    for r in local.all() {
        match meaning(&r, &key) {
            Some(Meaning::History(h)) => history.fold(RecordOrigin::of(&r), h),
            Some(Meaning::Kv(k)) => kv.fold(RecordOrigin::of(&r), k),
            Some(Meaning::Unreadable(why)) => fail(&format!("record {}: {why}", r.id)),
            None => {}
        }
    }
    for h in history.entries_by_time() {
        println!("history\t{}", h.command);
    }
    for (ns, k, v) in kv.iter() {
        println!("kv\t{ns}\t{k}\t{v}");
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("terrapin-pull: {msg}");
    std::process::exit(1)
}
