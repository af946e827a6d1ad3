//! `ai-session` golden vectors written by atuin-client 18.24.4's own code
//! (tests/fixtures/atuin-ai, see its README): every payload (v1, v2, v3) decodes to what atuin
//! wrote, every record decrypts to its payload, and the messages fold into the threads atuin's
//! own sidecar made of them, in any order.
#![cfg(feature = "threads")]

use serde_json::Value;
use terrapin_core::crypto::decrypt_record;
use terrapin_core::payload::ai_session::{AiMessage, AiSessionError};
use terrapin_core::record::{EncRecord, HostId, Version};
use terrapin_core::store::threads::ThreadStore;

#[path = "support/fixture_dir.rs"]
mod fixture_dir;
use fixture_dir::FixtureDir;

const DIR: FixtureDir<EncRecord> = FixtureDir::new(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/atuin-ai"
));

struct Payload {
    name: String,
    host: HostId,
    idx: u64,
    version: Version,
    bytes: Vec<u8>,
    message: Value,
}

fn payloads() -> Vec<Payload> {
    let all: Vec<Value> = serde_json::from_str(&DIR.read("payloads.json")).unwrap();
    all.into_iter()
        .map(|p| {
            let hex = p["payload"].as_str().unwrap();
            Payload {
                name: p["name"].as_str().unwrap().to_owned(),
                host: p["host"].as_str().unwrap().parse().unwrap(),
                idx: p["idx"].as_u64().unwrap(),
                version: Version::from(p["version"].as_str().unwrap()),
                bytes: (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
                message: p["message"].clone(),
            }
        })
        .collect()
}

#[test]
fn every_payload_decodes_to_what_atuin_wrote() {
    let payloads = payloads();
    let versions: Vec<&str> = payloads.iter().map(|p| p.version.as_str()).collect();
    for v in ["v1", "v2", "v3"] {
        assert!(versions.contains(&v), "the fixture has {v}");
    }
    for p in &payloads {
        let msg =
            AiMessage::decode(&p.version, &p.bytes).unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert_eq!(serde_json::to_value(&msg).unwrap(), p.message, "{}", p.name);
    }
}

#[test]
fn every_record_decrypts_to_its_payload() {
    let (records, key) = DIR.fixture();
    let payloads = payloads();
    assert_eq!(records.len(), payloads.len());
    for (r, p) in records.iter().zip(&payloads) {
        assert_eq!(r.tag.as_str(), "ai-session");
        assert_eq!((r.host.id, r.idx, &r.version), (p.host, p.idx, &p.version));
        let d = decrypt_record(r, &key).unwrap();
        assert_eq!(d.data.0, p.bytes, "{}", p.name);
    }
}

/// The store's threads, in the shape the generator wrote atuin's: each with its messages' ids.
fn threads_json(store: &ThreadStore) -> Value {
    let threads = store.threads();
    Value::Array(
        threads
            .iter()
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap();
                let map = v.as_object_mut().unwrap();
                assert_eq!(
                    map.remove("id").unwrap(),
                    format!("{}:{}", t.session.harness, t.session.session)
                );
                let ids = store
                    .messages(&t.session)
                    .iter()
                    .map(|m| Value::from(m.id.clone()))
                    .collect();
                map.insert("messages".into(), Value::Array(ids));
                assert_eq!(store.get(&t.id).as_ref(), Some(t));
                v
            })
            .collect(),
    )
}

#[test]
fn messages_fold_into_the_threads_atuin_made_in_any_order() {
    let want: Value = serde_json::from_str(&DIR.read("threads.json")).unwrap();
    let payloads = payloads();
    let n = payloads.len();
    // Forward, backward, and every rotation of both.
    let mut orders: Vec<Vec<usize>> = Vec::new();
    for k in 0..n {
        orders.push((0..n).map(|i| (i + k) % n).collect());
        orders.push((0..n).rev().map(|i| (i + k) % n).collect());
    }
    for order in orders {
        let mut store = ThreadStore::new();
        for &i in &order {
            let p = &payloads[i];
            store.apply(p.host, p.idx, &p.version, &p.bytes).unwrap();
        }
        assert_eq!(threads_json(&store), want, "order {order:?}");
    }
}

#[test]
fn a_message_is_shown_with_its_host_and_a_duplicate_is_not() {
    let mut store = ThreadStore::new();
    for p in payloads() {
        store.apply(p.host, p.idx, &p.version, &p.bytes).unwrap();
    }
    let texts: Vec<String> = store
        .threads()
        .iter()
        .flat_map(|t| store.messages(&t.session))
        .map(|m| serde_json::to_string(&m.content).unwrap())
        .collect();
    assert!(!texts.iter().any(|t| t.contains("a duplicate")));
    let all = store.threads();
    let claude = all
        .iter()
        .find(|t| t.session.harness == "ClaudeCode")
        .unwrap();
    let hosts: Vec<_> = store
        .messages(&claude.session)
        .iter()
        .map(|m| m.host.clone().unwrap())
        .collect();
    let distinct: std::collections::BTreeSet<_> = hosts.iter().collect();
    assert_eq!(distinct.len(), 2, "the thread went on on a second host");
}

#[test]
fn what_atuin_does_not_read_is_refused() {
    let p = &payloads()[0];
    let err = |v: &str, bytes: &[u8]| AiMessage::decode(&Version::from(v), bytes).unwrap_err();
    assert_eq!(err("v0", &p.bytes), AiSessionError::Retired("v0".into()));
    assert_eq!(
        err("v4", &p.bytes),
        AiSessionError::UnknownVersion("v4".into())
    );
    assert_eq!(err("v1", &[]), AiSessionError::Empty);
    assert_eq!(err("v1", &[1]), AiSessionError::UnknownKind(1));
    // A v1 body read as v2 is not zstd.
    assert!(matches!(err("v2", &p.bytes), AiSessionError::Decompress(_)));
    // A message kind, then a msgpack byte that is never valid (atuin's own test).
    assert!(matches!(
        err("v1", &[0, 0xc1]),
        AiSessionError::Field { .. }
    ));
    // Truncated anywhere.
    for cut in 1..p.bytes.len() {
        assert!(
            AiMessage::decode(&p.version, &p.bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}
