#![cfg(target_arch = "wasm32")]
//! The core's crypto compiled to wasm, in the browser: the official PASETO v4.local and PASERK
//! vectors, Atuin's frozen record, and a round trip through the browser's random source.

use serde_json::Value;
use terrapin_core::crypto::{check_key, decrypt_record, encrypt_record, paseto, pie, Key};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{
    DecryptedData, EncryptedData, Host, HostId, Record, RecordId, Tag, Version,
};
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const V4: &str = include_str!("../../core/tests/vectors/v4.json");
const PIE: &str = include_str!("../../core/tests/vectors/k4.local-wrap.pie.json");
const LID: &str = include_str!("../../core/tests/vectors/k4.lid.json");

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key(s: &str) -> Key {
    Key::from_slice(&hex(s)).unwrap()
}

fn tests(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).unwrap();
    v["tests"].as_array().unwrap().clone()
}

#[wasm_bindgen_test]
fn paseto_v4_local_vectors() {
    let mut ran = 0;
    for t in tests(V4) {
        let (Some(k), Some(token)) = (t["key"].as_str(), t["token"].as_str()) else {
            continue;
        };
        if !token.starts_with("v4.local.") {
            continue;
        }
        let name = t["name"].as_str().unwrap();
        let footer = t["footer"].as_str().unwrap().as_bytes();
        let ia = t["implicit-assertion"].as_str().unwrap().as_bytes();
        let k = key(k);
        if t["expect-fail"].as_bool().unwrap() {
            assert!(paseto::decrypt(&k, token, footer, ia).is_err(), "{name}");
            continue;
        }
        let payload = t["payload"].as_str().unwrap().as_bytes();
        let nonce: [u8; 32] = hex(t["nonce"].as_str().unwrap()).try_into().unwrap();
        assert_eq!(
            paseto::encrypt(&k, &nonce, payload, footer, ia),
            token,
            "{name}"
        );
        assert_eq!(
            paseto::decrypt(&k, token, footer, ia).as_deref(),
            Ok(payload),
            "{name}"
        );
        ran += 1;
    }
    assert!(ran >= 9, "ran {ran}");
}

#[wasm_bindgen_test]
fn paserk_pie_and_lid_vectors() {
    for t in tests(PIE) {
        let wk = key(t["wrapping-key"].as_str().unwrap());
        let paserk = t["paserk"].as_str().unwrap();
        if t["expect-fail"].as_bool().unwrap() {
            assert!(pie::unwrap(paserk, &wk).is_err());
        } else {
            assert_eq!(
                pie::unwrap(paserk, &wk),
                Ok(key(t["unwrapped"].as_str().unwrap()))
            );
        }
    }
    for t in tests(LID) {
        if !t["expect-fail"].as_bool().unwrap() {
            assert_eq!(
                key(t["key"].as_str().unwrap()).id().to_owned(),
                t["paserk"].as_str().unwrap()
            );
        }
    }
}

#[wasm_bindgen_test]
fn atuins_frozen_record_decrypts_in_the_browser() {
    let rec = Record {
        id: RecordId(Uuid::from_u128(1)),
        idx: 7,
        host: Host::new(HostId(Uuid::from_u128(2))),
        timestamp: 1_687_244_806_000_000,
        version: Version::V1,
        tag: Tag::History,
        data: EncryptedData {
            data: "v4.local.cSFhI9n30MfwkZrRAt-YAoxp6DrAMMybmLury7svdFMkapmxQmLQaRzqCfIdanPaQ55VbJjGjqwjst2AnLiBQE9cAQAyH69u2HVHrkaKv7rGtQ".into(),
            content_encryption_key: r#"{"wpk":"k4.local-wrap.pie.8xXPgrNyliEUy_PnbM3S88Yk8tQQA0HN2o6jyUkGHK5duUEfW-zSCI1kSYRpyPESCK7-5822hPzRAbyZXPRVAbCkoLqqwPJ8_oi8clKEr6u8nJuIQQLHVClvYJmZyZIu","kid":"k4.lid.2LzCmxDtbwu2tK5T1X1VLEth8umaI9vbKgTDkkt7ARR0"}"#.into(),
        },
    };
    let key = Key::from_bytes([0x55; 32]);
    assert_eq!(check_key(&rec, &key), Ok(()));
    assert_eq!(decrypt_record(&rec, &key).unwrap().data.0, [1, 2, 3, 4, 5]);
    assert!(check_key(&rec, &Key::from_bytes([0x56; 32])).is_err());
}

#[wasm_bindgen_test]
fn records_round_trip_with_the_browsers_random_source() {
    let key = Key::generate(&mut OsEntropy).unwrap();
    let plain = Record {
        id: RecordId(Uuid::from_u128(9)),
        idx: 3,
        host: Host::new(HostId(Uuid::from_u128(4))),
        timestamp: 1,
        version: Version::V2,
        tag: Tag::History,
        data: DecryptedData(b"hello from wasm".to_vec()),
    };
    let a = encrypt_record(&plain, &key, &mut OsEntropy).unwrap();
    let b = encrypt_record(&plain, &key, &mut OsEntropy).unwrap();
    assert_ne!(a.data, b.data, "fresh CEK and nonce each time");
    assert_eq!(decrypt_record(&a, &key).unwrap(), plain);
    // Moved to another idx, the record no longer authenticates.
    let moved = Record { idx: 4, ..a };
    assert!(decrypt_record(&moved, &key).is_err());
    // Atuin's key string round-trips.
    assert_eq!(Key::from_atuin_string(&key.to_atuin_string()).unwrap(), key);
}

#[wasm_bindgen_test]
fn the_vault_refuses_wrong_passphrases_and_tampering() {
    use terrapin_web::vault::{open, seal, KdfParams, Secrets, VaultError};
    let s = Secrets {
        server: "https://sync.example".into(),
        username: "ada".into(),
        session: "session-token-123".into(),
        key: "the atuin key".into(),
    };
    let p = KdfParams { m: 64, t: 1, p: 1 };
    let sealed = seal(&s, "pass phrase", p).unwrap();
    assert!(!sealed.contains("session-token-123") && !sealed.contains("the atuin key"));
    assert_ne!(
        sealed,
        seal(&s, "pass phrase", p).unwrap(),
        "fresh salt and nonce"
    );
    assert_eq!(open(&sealed, "pass phrase").unwrap(), s);
    assert_eq!(
        open(&sealed, "pass phrase!"),
        Err(VaultError::WrongPassphrase)
    );
    let mut v: Value = serde_json::from_str(&sealed).unwrap();
    let ct = v["ct"].as_str().unwrap().to_owned();
    let flipped = if ct.starts_with('A') {
        ct.replacen('A', "B", 1)
    } else {
        format!("A{}", &ct[1..])
    };
    v["ct"] = Value::String(flipped);
    assert_eq!(
        open(&v.to_string(), "pass phrase"),
        Err(VaultError::WrongPassphrase)
    );
    assert!(matches!(
        open("{}", "pass phrase"),
        Err(VaultError::Malformed(_))
    ));
    // The default cost is OWASP's Argon2id minimum.
    assert_eq!(
        KdfParams::default(),
        KdfParams {
            m: 19 * 1024,
            t: 2,
            p: 1
        }
    );
}
