//! The official PASETO v4.local and PASERK (k4.local-wrap.pie, k4.lid) vectors and Atuin's
//! frozen record, checked against the core's crypto. Shared by the native tests
//! (core/tests/crypto_vectors.rs) and the same checks in the browser (web/tests/crypto.rs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use uuid::Uuid;

use terrapin_core::crypto::paseto::{self, PasetoError};
use terrapin_core::crypto::{pie, Key, KeyError};
use terrapin_core::record::{EncryptedData, HostId, Record, RecordId, SeriesKey, Tag, Version};

pub const V4: &str = include_str!("../vectors/v4.json");
pub const PIE: &str = include_str!("../vectors/k4.local-wrap.pie.json");
pub const LID: &str = include_str!("../vectors/k4.lid.json");

pub fn hex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("ascii");
            assert_eq!(pair.len(), 2, "odd hex length");
            u8::from_str_radix(pair, 16).expect("hex")
        })
        .collect()
}

pub fn key_from_hex(s: &str) -> Key {
    Key::from_slice(&hex(s)).expect("32-byte key")
}

/// The `tests` array of a vector file.
pub fn tests(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).expect("vector JSON");
    v["tests"].as_array().expect("tests array").clone()
}

/// A string field of a vector ("" when absent).
pub fn s<'a>(t: &'a Value, field: &str) -> &'a str {
    t[field].as_str().unwrap_or("")
}

/// Every v4.local vector: tokens made and read back, failures refused. Returns how many ran.
pub fn paseto_v4_local() -> usize {
    let mut ran = 0;
    for t in tests(V4) {
        let name = s(&t, "name");
        let token = s(&t, "token");
        let is_local = token.starts_with("v4.local.") || t.get("key").is_some();
        if !is_local {
            continue; // v4.public signing vectors
        }
        ran += 1;
        let footer = s(&t, "footer").as_bytes();
        let ia = s(&t, "implicit-assertion").as_bytes();
        let expect_fail = t["expect-fail"].as_bool().expect("expect-fail");

        let Some(key) = t.get("key").and_then(Value::as_str).map(key_from_hex) else {
            // 4-F-1: a v4.local token whose "key" is an Ed25519 key pair; implementations must
            // refuse to use an asymmetric key for v4.local. Our API has no asymmetric key type:
            // the only way in is `Key::from_slice`, which refuses the 64-byte secret key. (The
            // token was in fact made with the 32 public-key bytes used as a symmetric key, so
            // only typing, not cryptography, can reject it.)
            assert!(expect_fail, "{name}");
            assert_eq!(
                Key::from_slice(&hex(s(&t, "secret-key"))).err(),
                Some(KeyError::WrongLength { len: 64 }),
                "{name}"
            );
            continue;
        };

        if expect_fail {
            let got = paseto::decrypt(&key, token, footer, ia);
            assert!(got.is_err(), "{name}: must fail, got {got:?}");
        } else {
            let payload = s(&t, "payload").as_bytes();
            let nonce: [u8; 32] = hex(s(&t, "nonce")).try_into().expect("32-byte nonce");
            assert_eq!(
                paseto::encrypt(&key, &nonce, payload, footer, ia),
                token,
                "{name}: encrypt"
            );
            assert_eq!(
                paseto::decrypt(&key, token, footer, ia).as_deref(),
                Ok(payload),
                "{name}: decrypt"
            );
            // Changing the implicit assertion must break authentication.
            let mut other_ia = ia.to_vec();
            other_ia.push(b'!');
            assert_eq!(
                paseto::decrypt(&key, token, footer, &other_ia),
                Err(PasetoError::Authentication),
                "{name}: other implicit assertion"
            );
        }
    }
    ran
}

/// Every k4.local-wrap.pie vector: unwrapped, and wrapped again to the same string. Returns
/// how many there were.
pub fn paserk_pie() -> usize {
    let tests = tests(PIE);
    for t in &tests {
        let name = s(t, "name");
        let wk = key_from_hex(s(t, "wrapping-key"));
        let paserk = s(t, "paserk");
        if t["expect-fail"].as_bool().expect("expect-fail") {
            let got = pie::unwrap(paserk, &wk);
            assert!(got.is_err(), "{name}: must fail");
            continue;
        }
        let expected = key_from_hex(s(t, "unwrapped"));
        assert_eq!(pie::unwrap(paserk, &wk), Ok(expected.clone()), "{name}");
        // Re-wrapping with the vector's own nonce (bytes 32..64) must give the same string.
        let body = URL_SAFE_NO_PAD
            .decode(paserk.strip_prefix(pie::HEADER).expect("header"))
            .expect("b64");
        let nonce: [u8; 32] = body[32..64].try_into().expect("nonce");
        assert_eq!(pie::wrap(&expected, &wk, &nonce), paserk, "{name}: wrap");
    }
    tests.len()
}

/// Every k4.lid vector: a key's id. Returns how many there were.
pub fn paserk_lid() -> usize {
    let tests = tests(LID);
    for t in &tests {
        let name = s(t, "name");
        if t["expect-fail"].as_bool().expect("expect-fail") {
            // A key that is not 32 bytes cannot even be built, so it has no id.
            assert!(
                matches!(
                    Key::from_slice(&hex(s(t, "key"))),
                    Err(KeyError::WrongLength { len: 31 })
                ),
                "{name}"
            );
            continue;
        }
        let key = key_from_hex(s(t, "key"));
        assert_eq!(pie::lid(&key), s(t, "paserk"), "{name}");
        assert_eq!(key.id(), s(t, "paserk"), "{name}");
    }
    tests.len()
}

pub const GOLDEN_TOKEN: &str = "v4.local.cSFhI9n30MfwkZrRAt-YAoxp6DrAMMybmLury7svdFMkapmxQmLQaRzqCfIdanPaQ55VbJjGjqwjst2AnLiBQE9cAQAyH69u2HVHrkaKv7rGtQ";
pub const GOLDEN_CEK: &str = r#"{"wpk":"k4.local-wrap.pie.8xXPgrNyliEUy_PnbM3S88Yk8tQQA0HN2o6jyUkGHK5duUEfW-zSCI1kSYRpyPESCK7-5822hPzRAbyZXPRVAbCkoLqqwPJ8_oi8clKEr6u8nJuIQQLHVClvYJmZyZIu","kid":"k4.lid.2LzCmxDtbwu2tK5T1X1VLEth8umaI9vbKgTDkkt7ARR0"}"#;

/// Atuin 18.24.4 `atuin-domain` record tests, `decrypts_frozen_record_blob`: made with the key
/// of 32 bytes 0x55, its payload is `[1, 2, 3, 4, 5]`.
pub fn golden() -> Record<EncryptedData> {
    let series = SeriesKey::new(HostId(Uuid::from_u128(2)), Tag::History);
    Record::at(
        &series,
        7,
        RecordId(Uuid::from_u128(1)),
        1_687_244_806_000_000,
        Version::V1,
        vec![],
    )
    .with_data(EncryptedData {
        data: GOLDEN_TOKEN.to_owned(),
        content_encryption_key: GOLDEN_CEK.to_owned(),
    })
}
