#![cfg(target_arch = "wasm32")]
//! The core's crypto compiled to wasm, in the browser: the official PASETO v4.local and PASERK
//! vectors, Atuin's frozen record, and a round trip through the browser's random source.

use serde_json::Value;
use terrapin_core::crypto::{check_key, decrypt_record, encrypt_record, Key};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::{HostId, Record, RecordId, SeriesKey, Tag, Version};
use uuid::Uuid;
use wasm_bindgen_test::*;

mod kdf;
use kdf::Argon2id;

wasm_bindgen_test_configure!(run_in_browser);

/// The same checks the native tests run (core/tests/crypto_vectors.rs).
#[path = "../../core/tests/support/vectors.rs"]
mod vectors;

#[wasm_bindgen_test]
fn paseto_v4_local_vectors() {
    assert_eq!(vectors::paseto_v4_local(), 14);
}

#[wasm_bindgen_test]
fn paserk_pie_and_lid_vectors() {
    assert_eq!(vectors::paserk_pie(), 4);
    assert_eq!(vectors::paserk_lid(), 4);
}

#[wasm_bindgen_test]
fn atuins_frozen_record_decrypts_in_the_browser() {
    let rec = vectors::golden();
    let key = Key::from_bytes([0x55; 32]);
    assert_eq!(check_key(&rec, &key), Ok(()));
    assert_eq!(decrypt_record(&rec, &key).unwrap().data.0, [1, 2, 3, 4, 5]);
    assert!(check_key(&rec, &Key::from_bytes([0x56; 32])).is_err());
}

#[wasm_bindgen_test]
fn records_round_trip_with_the_browsers_random_source() {
    let key = Key::generate(&mut OsEntropy).unwrap();
    let series = SeriesKey::new(HostId(Uuid::from_u128(4)), Tag::History);
    let plain = Record::at(
        &series,
        3,
        RecordId(Uuid::from_u128(9)),
        1,
        Version::V2,
        b"hello from wasm".to_vec(),
    );
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
async fn the_vault_refuses_wrong_passphrases_and_tampering() {
    use terrapin_web::vault::{open, seal, KdfParams, Secrets, VaultError};
    let s = Secrets {
        server: "https://sync.example".into(),
        username: "ada".into(),
        session: "session-token-123".into(),
        key: "the atuin key".into(),
    };
    let p = KdfParams { m: 64, t: 1, p: 1 };
    let sealed = seal(&s, "pass phrase", p, &Argon2id).await.unwrap();
    assert!(!sealed.contains("session-token-123") && !sealed.contains("the atuin key"));
    assert_ne!(
        sealed,
        seal(&s, "pass phrase", p, &Argon2id).await.unwrap(),
        "fresh salt and nonce"
    );
    assert_eq!(open(&sealed, "pass phrase", &Argon2id).await.unwrap(), s);
    assert_eq!(
        open(&sealed, "pass phrase!", &Argon2id).await,
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
        open(&v.to_string(), "pass phrase", &Argon2id).await,
        Err(VaultError::WrongPassphrase)
    );
    assert!(matches!(
        open("{}", "pass phrase", &Argon2id).await,
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

/// The package's key derivation is a JS function (web/js/index.ts): what it gives is taken only
/// as 32 bytes, which it is left without; its failures are `VaultError::Kdf`.
#[wasm_bindgen_test]
async fn the_vault_takes_its_key_from_a_js_function() {
    use terrapin_web::vault::{open, seal, JsKdf, Kdf, KdfParams, Secrets, VaultError};
    let kdf = |body: &str| JsKdf(js_sys::Function::new_with_args("pass, salt, m, t, p", body));
    let p = KdfParams { m: 64, t: 1, p: 1 };
    let given = js_sys::Uint8Array::new_with_length(32);
    given.fill(7, 0, 32);
    let js = JsKdf(js_sys::Function::new_with_args(
        "",
        "return Promise.resolve(this)",
    ));
    let js = JsKdf(js.0.bind0(&given));
    assert_eq!(*js.derive("x", b"salt", p).await.unwrap(), [7u8; 32]);
    assert_eq!(given.to_vec(), [0u8; 32], "the JS copy is zeroed");
    // A vault sealed and opened through a JS function; the passphrase reaches it (another one
    // gives another key).
    let echo = kdf(
        "const k = new Uint8Array(32); k.set(new TextEncoder().encode(pass + m + t + p).slice(0, 16)); \
         k.set(salt.slice(0, 16), 16); return k;",
    );
    let s = Secrets {
        server: "https://sync.example".into(),
        username: "ada".into(),
        session: "token".into(),
        key: "key".into(),
    };
    let sealed = seal(&s, "pw", p, &echo).await.unwrap();
    assert_eq!(open(&sealed, "pw", &echo).await.unwrap(), s);
    assert_eq!(
        open(&sealed, "pv", &echo).await,
        Err(VaultError::WrongPassphrase)
    );
    // A function that throws, or a promise that rejects: its message is the error.
    for (body, message) in [
        ("throw new Error('no module')", "no module"),
        ("return Promise.reject(new Error('offline'))", "offline"),
    ] {
        let got = kdf(body).derive("x", b"s", p).await.map(|_| ());
        assert_eq!(got, Err(VaultError::Kdf(message.into())), "{body}");
    }
    assert!(matches!(
        kdf("return new Uint8Array(16)").derive("x", b"s", p).await,
        Err(VaultError::Kdf(_))
    ));
}
