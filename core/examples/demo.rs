//! A short tour of the core: make a key, write a history entry as an encrypted record, sync it
//! through an in-memory remote to a second store, decrypt it and fold it into a history store.
//! `cargo run -p terrapin-core --example demo`

use terrapin_core::crypto::{self, Key};
use terrapin_core::memory::MemoryStore;
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord, HISTORY_VERSION};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{uuid_v7, DecryptedData, Host, HostId, Record, RecordId, Tag};
use terrapin_core::store::history::HistoryStore;
use terrapin_core::sync;

fn main() {
    let mut rng = OsEntropy;
    let key = Key::generate(&mut rng).expect("random key");
    println!(
        "key (base64, as in atuin's key file): {}",
        key.to_atuin_string()
    );
    println!("key id: {}", key.id());

    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let ms = now_ns / 1_000_000;
    let rand10 = |rng: &mut OsEntropy| {
        let mut b = [0u8; 10];
        terrapin_core::random::Entropy::fill(rng, &mut b).unwrap();
        b
    };
    let entry = History {
        id: HistoryId(uuid_v7(ms, rand10(&mut rng))),
        timestamp: now_ns,
        duration: 1_500_000,
        exit: 0,
        command: "echo hello from terrapin".into(),
        cwd: "/tmp".into(),
        session: "demo".into(),
        hostname: "demo-host:demo".into(),
        deleted_at: None,
        author: "demo".into(),
        intent: None,
        shell: Some("bash".into()),
        author_kind: None,
    };
    let record = Record {
        id: RecordId(uuid_v7(ms, rand10(&mut rng))),
        idx: 0,
        host: Host::new(HostId(uuid_v7(ms, rand10(&mut rng)))),
        timestamp: now_ns,
        version: HISTORY_VERSION,
        tag: Tag::History,
        data: DecryptedData(HistoryRecord::Create(entry).encode()),
    };
    let sealed = crypto::encrypt_record(&record, &key, &mut rng).expect("encrypt");
    println!(
        "record on the wire:\n{}",
        serde_json::to_string_pretty(&sealed).unwrap()
    );

    let (laptop, server, browser) = (MemoryStore::new(), MemoryStore::new(), MemoryStore::new());
    laptop.insert(&[sealed]).unwrap();
    let up = run(sync::sync(&laptop, &server, &key, 100, |_| {})).unwrap();
    let down = run(sync::sync(&browser, &server, &key, 100, |_| {})).unwrap();
    println!(
        "laptop uploaded {}, browser downloaded {}",
        up.uploaded, down.downloaded
    );

    let mut history = HistoryStore::new();
    for r in browser.all() {
        history
            .apply(&crypto::decrypt_record(&r, &key).expect("decrypt"))
            .expect("history payload");
    }
    for h in history.entries() {
        println!(
            "browser sees: {} (exit {}, in {})",
            h.command, h.exit, h.cwd
        );
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    terrapin_core::sync::now_or_never(f).expect("in-memory stores never wait")
}
