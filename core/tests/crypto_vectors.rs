//! Terrapin's encryption against the official PASETO/PASERK vectors, Atuin's frozen fixtures,
//! and tampering / fuzz cases.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use terrapin_core::crypto::paseto::{self, PasetoError};
use terrapin_core::crypto::pie::{self, PieError};
use terrapin_core::crypto::{
    check_key, check_key_id, decrypt_record, encrypt_record, implicit_assertion, reencrypt_record,
    CryptoError, Key, KeyError,
};
use terrapin_core::random::{Entropy, EntropyError};
use terrapin_core::record::{
    DecryptedData, EncryptedData, Host, HostId, Record, RecordId, SeriesKey, Tag, Version,
};

// ---------------------------------------------------------------- helpers

#[path = "support/vectors.rs"]
mod vectors;
use vectors::{golden, key_from_hex, s, GOLDEN_CEK};

/// Deterministic "entropy" for tests: a counter stream.
struct Counter(u8);

impl Entropy for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}

struct Broken;

impl Entropy for Broken {
    fn fill(&mut self, _: &mut [u8]) -> Result<(), EntropyError> {
        Err(EntropyError)
    }
}

fn record(tag: Tag, idx: u64, data: Vec<u8>) -> Record<DecryptedData> {
    let series = SeriesKey::new(HostId(Uuid::from_u128(0xabcdef)), tag);
    let id = RecordId(Uuid::from_u128(0x0190_a4f0_0000_7000_8000_0000_0000_0001));
    Record::at(
        &series,
        idx,
        id,
        1_700_000_000_000_000_000,
        Version::V1,
        data,
    )
}

// ---------------------------------------------------------------- official vectors

#[test]
fn paseto_v4_local_vectors() {
    assert_eq!(vectors::paseto_v4_local(), 14, "4-E-1..9 and 4-F-1..5");
}

#[test]
fn paseto_specific_failures_are_named() {
    let key = key_from_hex("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f");
    let by_name = |n: &str| {
        vectors::tests(vectors::V4)
            .into_iter()
            .find(|t| s(t, "name") == n)
            .expect("vector")
    };
    let f2 = by_name("4-F-2");
    assert_eq!(
        paseto::decrypt(&key, s(&f2, "token"), b"", b""),
        Err(PasetoError::WrongHeader)
    );
    let f3 = by_name("4-F-3");
    assert_eq!(
        paseto::decrypt(&key, s(&f3, "token"), b"", b""),
        Err(PasetoError::WrongHeader)
    );
    // 4-F-5 has a padded body.
    let f5 = by_name("4-F-5");
    assert_eq!(
        paseto::decrypt(
            &key,
            s(&f5, "token"),
            s(&f5, "footer").as_bytes(),
            s(&f5, "implicit-assertion").as_bytes()
        ),
        Err(PasetoError::Base64("payload"))
    );
    assert_eq!(
        paseto::decrypt(&key, "v4.local.AAAA", b"", b""),
        Err(PasetoError::TooShort { len: 3 })
    );
    assert_eq!(
        paseto::decrypt(&key, "v4.local.a.b.c", b"", b""),
        Err(PasetoError::TooManySections)
    );
}

#[test]
fn paserk_pie_vectors() {
    assert_eq!(vectors::paserk_pie(), 4);
    let wk = key_from_hex("707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f");
    let fail1 = "k4.local-wrap.pie.cy-Mu6zSfhu6q0_XdAM9p1zre_joUWjreSjHgisVNh-oHaNarN4_c7xuSyaHwqEDxF7lTbfNplBGU7wTeUyt__hZyj1J38NdNxVwuXamJY3QhRE-kWYA9_16xUtGwCQY";
    assert_eq!(pie::unwrap(fail1, &wk), Err(PieError::Authentication));
    assert_eq!(
        pie::unwrap("k3.local-wrap.pie.AAAA", &wk),
        Err(PieError::WrongHeader)
    );
    assert_eq!(
        pie::unwrap("k4.local-wrap.pie.AAAA", &wk),
        Err(PieError::WrongLength { len: 3 })
    );
}

#[test]
fn paserk_lid_vectors() {
    assert_eq!(vectors::paserk_lid(), 4);
}

// ---------------------------------------------------------------- Atuin fixtures

#[test]
fn atuin_frozen_record_decrypts() {
    let key = Key::from_bytes([0x55; 32]);
    assert_eq!(
        key.id().to_owned(),
        "k4.lid.2LzCmxDtbwu2tK5T1X1VLEth8umaI9vbKgTDkkt7ARR0"
    );
    let rec = golden();
    assert_eq!(check_key(&rec, &key), Ok(()));
    assert_eq!(check_key_id(&rec, &key), Ok(()));
    let other = Key::from_bytes([9; 32]);
    assert!(matches!(
        check_key_id(&rec, &other),
        Err(CryptoError::WrongKey { record_kid, given_kid, .. })
            if record_kid == key.id() && given_kid == other.id()
    ));
    let mut garbled = golden();
    garbled.data.content_encryption_key = "{}".into();
    assert!(matches!(
        check_key_id(&garbled, &key),
        Err(CryptoError::MalformedCek { .. })
    ));
    let plain = decrypt_record(&rec, &key).expect("golden record decrypts");
    assert_eq!(plain.data.0, [1, 2, 3, 4, 5]);
    assert_eq!(plain.id, rec.id);
    assert_eq!(plain.timestamp, rec.timestamp);

    // The same blob with the CEK JSON fields reordered and an extra field still decrypts
    // (Atuin parses it with serde and no strictness).
    let mut reordered = golden();
    let v: Value = serde_json::from_str(GOLDEN_CEK).unwrap();
    reordered.data.content_encryption_key =
        format!(r#"{{"kid":{},"extra":1,"wpk":{}}}"#, v["kid"], v["wpk"]);
    assert_eq!(
        decrypt_record(&reordered, &key).unwrap().data.0,
        [1, 2, 3, 4, 5]
    );
}

#[test]
fn atuin_implicit_assertion_bytes() {
    // Atuin `additional_data_assertion_is_stable`.
    let r = golden();
    assert_eq!(
        implicit_assertion(&r).unwrap(),
        r#"{"id":"00000000-0000-0000-0000-000000000001","idx":7,"version":"v1","tag":"history","host":"00000000-0000-0000-0000-000000000002"}"#
    );
    // Atuin `additional_data_serialization_is_stable`.
    let r = Record {
        id: RecordId(Uuid::from_bytes([
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ])),
        idx: 12345678910111213141u64,
        host: Host::new(HostId(Uuid::from_bytes([
            10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160,
        ]))),
        timestamp: 0,
        version: Version::from("  this is the \0\0\0 version\n"),
        tag: Tag::from("@@ \0 TAG\0"),
        data: (),
    };
    assert_eq!(
        implicit_assertion(&r).unwrap(),
        r#"{"id":"01020304-0506-0708-090a-0b0c0d0e0f10","idx":12345678910111213141,"version":"  this is the \u0000\u0000\u0000 version\n","tag":"@@ \u0000 TAG\u0000","host":"0a141e28-323c-4650-5a64-6e78828c96a0"}"#
    );
}

/// Atuin `paseto_v4` tests: `key_encodes_to_canonical_form`, `decodes_supported_key_encoding`.
const ATUIN_KEY: [u8; 32] = [
    27, 91, 42, 91, 210, 107, 9, 216, 170, 190, 242, 62, 6, 84, 69, 148, 148, 53, 251, 117, 226,
    167, 173, 52, 82, 34, 138, 110, 169, 124, 92, 229,
];
const ATUIN_KEY_CANONICAL: &str =
    "3AAgG1sqW8zSawnM2MyqzL7M8j4GVEXMlMyUNcz7dczizKfMrTRSIsyKbsypfFzM5Q==";
const ATUIN_KEY_LEGACY_BIN8: &str = "xCAbWypb0msJ2Kq+8j4GVEWUlDX7deKnrTRSIopuqXxc5Q==";

#[test]
fn atuin_key_strings() {
    let key = Key::from_bytes(ATUIN_KEY);
    assert_eq!(key.to_atuin_string(), ATUIN_KEY_CANONICAL);
    assert_eq!(Key::from_atuin_string(ATUIN_KEY_CANONICAL), Ok(key.clone()));
    assert_eq!(
        Key::from_atuin_string(ATUIN_KEY_LEGACY_BIN8),
        Ok(key.clone())
    );
    // A trailing newline (key files) is fine.
    assert_eq!(
        Key::from_atuin_string(&format!("{ATUIN_KEY_CANONICAL}\n")),
        Ok(key.clone())
    );
    // Legacy: base64 of the raw 32 bytes.
    let raw = base64::engine::general_purpose::STANDARD.encode(ATUIN_KEY);
    assert_eq!(Key::from_atuin_string(&raw), Ok(key.clone()));

    assert_eq!(Key::from_atuin_string(""), Err(KeyError::Empty));
    assert_eq!(Key::from_atuin_string("\n"), Err(KeyError::Empty));
    assert_eq!(Key::from_atuin_string("not base64!"), Err(KeyError::Base64));
    // Unpadded is refused, as Atuin's strict decoder does.
    assert_eq!(
        Key::from_atuin_string(ATUIN_KEY_CANONICAL.trim_end_matches('=')),
        Err(KeyError::Base64)
    );
    // Truncated array.
    let short = base64::engine::general_purpose::STANDARD.encode([0xdc, 0x00, 0x20, 1, 2]);
    assert_eq!(Key::from_atuin_string(&short), Err(KeyError::Truncated));
    // Wrong declared length.
    let wrong = base64::engine::general_purpose::STANDARD.encode([0xdc, 0x00, 0x10, 1, 2]);
    assert_eq!(
        Key::from_atuin_string(&wrong),
        Err(KeyError::DeclaredLength { len: 16 })
    );
    // Unknown marker.
    let other = base64::engine::general_purpose::STANDARD.encode([0x92, 1, 2]);
    assert_eq!(
        Key::from_atuin_string(&other),
        Err(KeyError::UnsupportedEncoding { marker: 0x92 })
    );

    // Every key round-trips.
    for b in [0u8, 1, 127, 128, 255] {
        let k = Key::from_bytes([b; 32]);
        assert_eq!(Key::from_atuin_string(&k.to_atuin_string()), Ok(k));
    }
    assert_eq!(format!("{key:?}"), "Key(***)");
}

/// Atuin 18.24.4 `atuin` crate, `account::login` test `mnemonic_round_trip`.
const ATUIN_MNEMONIC_KEY: [u8; 32] = [
    3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4, 3, 3, 8, 3, 2, 7, 9, 5,
];
const ATUIN_MNEMONIC: &str = "adapt amused able anxiety mother adapt beef gaze amount else seat \
    alcohol cage lottery avoid scare alcohol cactus school avoid coral adjust catch pink";

#[test]
fn atuin_key_phrases() {
    let key = Key::from_bytes(ATUIN_MNEMONIC_KEY);
    assert_eq!(key.to_mnemonic(), ATUIN_MNEMONIC);
    assert_eq!(Key::from_mnemonic(ATUIN_MNEMONIC), Ok(key.clone()));
    // Any whitespace between words, as tiny-bip39 splits on whitespace.
    let spaced = format!("  {}\n", ATUIN_MNEMONIC.replace(' ', " \t "));
    assert_eq!(Key::from_mnemonic(&spaced), Ok(key.clone()));

    // `atuin login` input: phrase or base64 string.
    assert_eq!(Key::from_atuin_input(ATUIN_MNEMONIC), Ok(key.clone()));
    assert_eq!(
        Key::from_atuin_input(ATUIN_KEY_CANONICAL),
        Ok(Key::from_bytes(ATUIN_KEY))
    );
    assert_eq!(
        Key::from_atuin_input(ATUIN_KEY_LEGACY_BIN8),
        Ok(Key::from_bytes(ATUIN_KEY))
    );
    assert_eq!(Key::from_atuin_input(""), Err(KeyError::Empty));
    assert_eq!(Key::from_atuin_input("hello wrold"), Err(KeyError::Base64));

    // Wrong checksum: swap two words.
    let mut words: Vec<&str> = ATUIN_MNEMONIC.split(' ').collect();
    words.swap(0, 1);
    assert_eq!(
        Key::from_atuin_input(&words.join(" ")),
        Err(KeyError::MnemonicChecksum)
    );
    // 12 valid words: a 16-byte key, refused.
    let twelve = words[..12].join(" ");
    assert_eq!(
        Key::from_atuin_input(&twelve),
        Err(KeyError::MnemonicLength { words: 12 })
    );
    assert_eq!(
        Key::from_mnemonic("abandon Abandon"),
        Err(KeyError::UnknownWord { index: 1 })
    );

    for b in [0u8, 1, 127, 128, 255] {
        let k = Key::from_bytes([b; 32]);
        assert_eq!(Key::from_mnemonic(&k.to_mnemonic()), Ok(k));
    }
    // BIP39's own test vector for 32 zero bytes.
    assert_eq!(
        Key::from_bytes([0; 32]).to_mnemonic(),
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
         abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
         abandon art"
    );
}

#[test]
fn key_generation_uses_the_entropy_source() {
    let k = Key::generate(&mut Counter(0)).unwrap();
    assert_eq!(k.as_bytes()[0], 1);
    assert_eq!(k.as_bytes()[31], 32);
    assert_eq!(Key::generate(&mut Broken), Err(EntropyError));
}

// ---------------------------------------------------------------- records

#[test]
fn record_round_trips() {
    let key = Key::from_bytes([0x42; 32]);
    let mut rng = Counter(7);
    let tags = [
        Tag::History,
        Tag::Kv,
        Tag::Script,
        Tag::DotfilesVar,
        Tag::ConfigShellAlias,
        Tag::AiSession,
        Tag::Other("my-plugin".into()),
    ];
    for (i, tag) in tags.into_iter().enumerate() {
        for data in [
            vec![],
            vec![0u8, 1, 2, 3],
            (0..=255).cycle().take(5000).collect(),
        ] {
            let plain = record(tag.clone(), i as u64, data);
            let enc = encrypt_record(&plain, &key, &mut rng).unwrap();
            assert!(enc.data.data.starts_with("v4.local."));
            assert!(!enc.data.data[9..].contains('.'), "no footer");
            assert_eq!(check_key(&enc, &key), Ok(()));
            assert_eq!(decrypt_record(&enc, &key), Ok(plain.clone()));
            // Metadata is untouched.
            assert_eq!(enc.with_data(()), plain.with_data(()));
        }
    }
}

#[test]
fn cek_json_has_atuins_exact_shape() {
    let key = Key::from_bytes([0x55; 32]);
    let enc = encrypt_record(&record(Tag::History, 0, vec![1]), &key, &mut Counter(0)).unwrap();
    let cek = &enc.data.content_encryption_key;
    assert!(cek.starts_with(r#"{"wpk":"k4.local-wrap.pie."#), "{cek}");
    assert!(
        cek.ends_with(r#"","kid":"k4.lid.2LzCmxDtbwu2tK5T1X1VLEth8umaI9vbKgTDkkt7ARR0"}"#),
        "{cek}"
    );
    let v: Value = serde_json::from_str(cek).unwrap();
    assert_eq!(v["wpk"].as_str().unwrap().len(), 18 + 128);
    // Exactly `{"wpk":"…","kid":"…"}`, no whitespace: Atuin's sqlite storage form re-serialises
    // the CEK JSON (serde_json with preserve_order) and refuses anything that differs.
    assert_eq!(
        format!(r#"{{"wpk":{},"kid":{}}}"#, v["wpk"], v["kid"]),
        *cek
    );
    // The message is {"data":"<b64url>"}.
    let cek_key = pie::unwrap(v["wpk"].as_str().unwrap(), &key).unwrap();
    let msg = paseto::decrypt(
        &cek_key,
        &enc.data.data,
        b"",
        implicit_assertion(&enc).unwrap().as_bytes(),
    )
    .unwrap();
    assert_eq!(msg, br#"{"data":"AQ"}"#);
}

#[test]
fn reencrypt_keeps_the_token() {
    let k1 = Key::from_bytes([1; 32]);
    let k2 = Key::from_bytes([2; 32]);
    let mut rng = Counter(0);
    let plain = record(Tag::Kv, 3, b"value".to_vec());
    let e1 = encrypt_record(&plain, &k1, &mut rng).unwrap();
    let e2 = reencrypt_record(&e1, &k1, &k2, &mut rng).unwrap();
    assert_eq!(e1.data.data, e2.data.data);
    assert_ne!(
        e1.data.content_encryption_key,
        e2.data.content_encryption_key
    );
    assert_eq!(decrypt_record(&e2, &k2), Ok(plain));
    assert!(matches!(
        decrypt_record(&e2, &k1),
        Err(CryptoError::WrongKey { .. })
    ));
}

#[test]
fn entropy_failure_is_an_error() {
    let key = Key::from_bytes([1; 32]);
    assert_eq!(
        encrypt_record(&record(Tag::History, 0, vec![1]), &key, &mut Broken),
        Err(CryptoError::Entropy(EntropyError))
    );
}

#[test]
fn plaintext_packfile_records_are_refused() {
    let key = Key::from_bytes([1; 32]);
    let manifest = record(Tag::Packfile, 0, b"001{}".to_vec());
    let err = encrypt_record(&manifest, &key, &mut Counter(0)).unwrap_err();
    assert!(matches!(
        err,
        CryptoError::PlaintextTag {
            tag: Tag::Packfile,
            ..
        }
    ));
    let stored = manifest.with_data(EncryptedData {
        data: "001{\"host\":\"x\"}".into(),
        content_encryption_key: String::new(),
    });
    assert!(matches!(
        decrypt_record(&stored, &key),
        Err(CryptoError::PlaintextTag { .. })
    ));
    assert!(matches!(
        check_key(&stored, &key),
        Err(CryptoError::PlaintextTag { .. })
    ));
    assert!(Tag::Packfile.is_plaintext());
    assert!(!Tag::History.is_plaintext());
}

// ---------------------------------------------------------------- tampering

fn encrypted() -> (Key, Record<EncryptedData>) {
    let key = Key::from_bytes([0x33; 32]);
    let enc = encrypt_record(
        &record(Tag::History, 5, b"ls -la".to_vec()),
        &key,
        &mut Counter(0),
    )
    .unwrap();
    (key, enc)
}

fn assert_token_auth(r: &Record<EncryptedData>, key: &Key) {
    match decrypt_record(r, key) {
        Err(CryptoError::TokenAuthentication {
            id,
            host,
            tag,
            idx,
            version,
        }) => {
            assert_eq!(
                (id, host, &tag, idx, &version),
                (r.id, r.host.id, &r.tag, r.idx, &r.version)
            );
            let msg = decrypt_record(r, key).unwrap_err().to_string();
            assert!(msg.contains(&r.id.to_string()), "{msg}");
            assert!(msg.contains("altered") && msg.contains("moved"), "{msg}");
        }
        other => panic!("expected TokenAuthentication, got {other:?}"),
    }
    // The key itself is right: the cheap check passes.
    assert_eq!(check_key(r, key), Ok(()));
}

#[test]
fn moved_records_fail_authentication() {
    let (key, enc) = encrypted();

    let mut r = enc.clone();
    r.idx += 1;
    assert_token_auth(&r, &key);

    let mut r = enc.clone();
    r.tag = Tag::Kv;
    assert_token_auth(&r, &key);

    let mut r = enc.clone();
    r.host = Host::new(HostId(Uuid::from_u128(99)));
    assert_token_auth(&r, &key);

    let mut r = enc.clone();
    r.id = RecordId(Uuid::from_u128(99));
    assert_token_auth(&r, &key);

    let mut r = enc.clone();
    r.version = Version::V2;
    assert_token_auth(&r, &key);

    // The timestamp is not bound (as in Atuin).
    let mut r = enc.clone();
    r.timestamp += 1;
    assert!(decrypt_record(&r, &key).is_ok());

    // Swapping tokens between two records fails too.
    let other = encrypt_record(
        &record(Tag::History, 6, b"pwd".to_vec()),
        &key,
        &mut Counter(100),
    )
    .unwrap();
    let mut r = enc.clone();
    r.data = other.data.clone();
    assert_token_auth(&r, &key);
}

fn flip_b64(s: &str, prefix: &str, at: usize) -> String {
    let mut body = URL_SAFE_NO_PAD
        .decode(s.strip_prefix(prefix).expect("prefix"))
        .expect("b64");
    body[at] ^= 0x01;
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(body))
}

#[test]
fn flipped_token_bytes_fail_authentication() {
    let (key, enc) = encrypted();
    let len = URL_SAFE_NO_PAD
        .decode(&enc.data.data["v4.local.".len()..])
        .unwrap()
        .len();
    // nonce, ciphertext and tag bytes
    for at in [0, 31, 32, len - 33, len - 1] {
        let mut r = enc.clone();
        r.data.data = flip_b64(&enc.data.data, "v4.local.", at);
        assert_token_auth(&r, &key);
    }
}

/// `r` with its content key given as `wpk` (wrapped key) and `kid` (key id).
fn with_cek(r: &Record<EncryptedData>, wpk: &str, kid: &str) -> Record<EncryptedData> {
    let mut r = r.clone();
    r.data.content_encryption_key = format!(r#"{{"wpk":"{wpk}","kid":"{kid}"}}"#);
    r
}

/// Both the cheap key check and decrypting refuse `r` under `key` with `err`.
fn refused(r: &Record<EncryptedData>, key: &Key, err: CryptoError) {
    assert_eq!(check_key(r, key), Err(err.clone()));
    assert_eq!(decrypt_record(r, key), Err(err));
}

#[test]
fn flipped_wpk_bytes_are_named() {
    let (key, enc) = encrypted();
    let v: Value = serde_json::from_str(&enc.data.content_encryption_key).unwrap();
    let wpk = v["wpk"].as_str().unwrap();
    let kid = v["kid"].as_str().unwrap();
    for at in [0, 40, 95] {
        let r = with_cek(&enc, &flip_b64(wpk, pie::HEADER, at), kid);
        refused(&r, &key, CryptoError::WrappedKeyTampered { id: r.id });
    }
}

#[test]
fn wrong_key_is_named() {
    let (key, enc) = encrypted();
    let wrong = Key::from_bytes([0x34; 32]);
    let expected = CryptoError::WrongKey {
        id: enc.id,
        record_kid: key.id().to_owned(),
        given_kid: wrong.id().to_owned(),
    };
    refused(&enc, &wrong, expected);

    // A forged kid that names the wrong key: the wrapped key does not authenticate.
    let v: Value = serde_json::from_str(&enc.data.content_encryption_key).unwrap();
    let r = with_cek(&enc, v["wpk"].as_str().unwrap(), wrong.id());
    refused(&r, &wrong, CryptoError::WrappedKeyTampered { id: r.id });
}

#[test]
fn malformed_inputs_are_named() {
    let (key, enc) = encrypted();
    let id = enc.id;

    for bad_cek in [
        "",
        "{}",
        "[]",
        r#"{"wpk":1,"kid":"x"}"#,
        r#"{"wpk":"x"}"#,
        "not json",
    ] {
        let mut r = enc.clone();
        r.data.content_encryption_key = bad_cek.into();
        assert!(
            matches!(
                decrypt_record(&r, &key),
                Err(CryptoError::MalformedCek { .. })
            ),
            "{bad_cek}"
        );
    }
    let mut r = enc.clone();
    r.data.content_encryption_key = r#"{"wpk":"x","kid":"k4.lid.nope"}"#.into();
    assert!(matches!(
        decrypt_record(&r, &key),
        Err(CryptoError::MalformedCek { .. })
    ));

    let mut r = enc.clone();
    r.data.content_encryption_key = format!(
        r#"{{"wpk":"k4.local-wrap.pie.!!","kid":"{}"}}"#,
        key.id().to_owned()
    );
    assert_eq!(
        decrypt_record(&r, &key),
        Err(CryptoError::MalformedWrappedKey {
            id,
            source: PieError::Base64
        })
    );

    for (token, source) in [
        ("", PasetoError::WrongHeader),
        ("v4.public.AAAA", PasetoError::WrongHeader),
        ("v4.local.!!!", PasetoError::Base64("payload")),
        ("v4.local.AAAA", PasetoError::TooShort { len: 3 }),
    ] {
        let mut r = enc.clone();
        r.data.data = token.into();
        assert_eq!(
            decrypt_record(&r, &key),
            Err(CryptoError::MalformedToken { id, source })
        );
    }
    // A footer (Atuin never writes one) is refused.
    let mut r = enc.clone();
    r.data.data.push_str(".Zm9v");
    assert_eq!(
        decrypt_record(&r, &key),
        Err(CryptoError::MalformedToken {
            id,
            source: PasetoError::FooterMismatch
        })
    );
}

#[test]
fn malformed_payloads_are_named() {
    // Build tokens by hand with a valid envelope around a bad message.
    let key = Key::from_bytes([9; 32]);
    let cek = Key::from_bytes([10; 32]);
    let base = record(Tag::History, 0, vec![]).with_data(());
    let ia = implicit_assertion(&base).unwrap();
    let cek_json = format!(
        r#"{{"wpk":"{}","kid":"{}"}}"#,
        pie::wrap(&cek, &key, &[1; 32]),
        key.id().to_owned()
    );
    for msg in [
        &b"not json"[..],
        br#"{"data":1}"#,
        br#"{"data":"AR"}"#,
        br#"{"data":"A="}"#,
    ] {
        let r = base.with_data(EncryptedData {
            data: paseto::encrypt(&cek, &[2; 32], msg, b"", ia.as_bytes()),
            content_encryption_key: cek_json.clone(),
        });
        assert!(
            matches!(
                decrypt_record(&r, &key),
                Err(CryptoError::MalformedPayload { .. })
            ),
            "{}",
            String::from_utf8_lossy(msg)
        );
    }
    // Extra fields in the message are tolerated (Atuin's serde is not strict).
    let r = base.with_data(EncryptedData {
        data: paseto::encrypt(
            &cek,
            &[2; 32],
            br#"{"x":0,"data":"AQI"}"#,
            b"",
            ia.as_bytes(),
        ),
        content_encryption_key: cek_json,
    });
    assert_eq!(decrypt_record(&r, &key).unwrap().data.0, [1, 2]);
}

// ---------------------------------------------------------------- never panics

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,300}", t in "[A-Za-z0-9_\\-.=+/{}\":,]{0,200}") {
        let key = Key::from_bytes([0x55; 32]);
        for input in [s.as_str(), t.as_str()] {
            let _ = paseto::decrypt(&key, input, b"", b"");
            let _ = paseto::decrypt(&key, &format!("v4.local.{input}"), b"", b"");
            let _ = pie::unwrap(input, &key);
            let _ = pie::unwrap(&format!("k4.local-wrap.pie.{input}"), &key);
            let _ = Key::from_atuin_string(input);
            let _ = Key::from_mnemonic(input);
            let _ = Key::from_atuin_input(input);
            let _ = pie::is_lid(input);
            let mut r = golden();
            r.data.data = input.to_owned();
            let _ = decrypt_record(&r, &key);
            let mut r = golden();
            r.data.content_encryption_key = input.to_owned();
            let _ = decrypt_record(&r, &key);
            let _ = check_key(&r, &key);
        }
    }

    #[test]
    fn arbitrary_key_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let enc = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = Key::from_atuin_string(&enc);
        let mut with_marker = vec![0xdc, 0x00, 0x20];
        with_marker.extend_from_slice(&bytes);
        let _ = Key::from_atuin_string(&base64::engine::general_purpose::STANDARD.encode(&with_marker));
        let mut bin8 = vec![0xc4, 0x20];
        bin8.extend_from_slice(&bytes);
        let _ = Key::from_atuin_string(&base64::engine::general_purpose::STANDARD.encode(&bin8));
    }

    #[test]
    fn arbitrary_word_sequences_never_panic(idx in proptest::collection::vec(0usize..2048, 0..40)) {
        let all = Key::from_bytes([0; 32]).to_mnemonic();
        // Build phrases from real BIP39 words (taken from two known phrases' vocabularies).
        let vocab: Vec<&str> = all.split(' ').chain(ATUIN_MNEMONIC.split(' ')).collect();
        let phrase: Vec<&str> = idx.iter().map(|i| vocab[i % vocab.len()]).collect();
        let _ = Key::from_mnemonic(&phrase.join(" "));
        let _ = Key::from_atuin_input(&phrase.join("\n"));
    }

    #[test]
    fn mnemonic_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
        let k = Key::from_bytes(bytes);
        prop_assert_eq!(Key::from_atuin_input(&k.to_mnemonic()), Ok(k.clone()));
        prop_assert_eq!(Key::from_atuin_input(&k.to_atuin_string()), Ok(k));
    }

    #[test]
    fn mutated_golden_record_never_decrypts_to_garbage(pos in 0usize..400, c in proptest::char::range('!', '~')) {
        let key = Key::from_bytes([0x55; 32]);
        for field in 0..2 {
            let mut r = golden();
            let target = if field == 0 { &mut r.data.data } else { &mut r.data.content_encryption_key };
            let mut chars: Vec<char> = target.chars().collect();
            let i = pos % chars.len();
            if chars[i] == c { continue; }
            chars[i] = c;
            *target = chars.into_iter().collect();
            // Any change is either refused or (never) yields the original plaintext.
            if let Ok(p) = decrypt_record(&r, &key) {
                prop_assert_eq!(p.data.0, vec![1, 2, 3, 4, 5]);
            }
        }
    }
}
