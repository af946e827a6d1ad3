//! Golden bytes from Atuin 18.24.4's own tests, pinning our encoders and decoders to Atuin's.
//!
//! Sources:
//! - `bytes_v0`, `bytes_v1`, `expected_v*`: `crates/atuin-client/src/history.rs`, tests
//!   `deserialize_across_versions` and `deserialize_v2_written_without_author_kind`.
//! - `CREATE_RECORD`, `DELETE_RECORD`: `crates/atuin-client/src/history/store.rs`, test
//!   `test_serialize_deserialize`.
//! - kv snapshots: `crates/atuin-kv/src/store/record.rs`, tests `encode_decode`, `decode_v0`.

use terrapin_core::payload::history::{
    AuthorKind, History, HistoryError, HistoryId, HistoryRecord, HISTORY_VERSION,
};
use terrapin_core::payload::kv::{KvRecord, KV_VERSION};
use terrapin_core::record::Version;

/// The first eight fields (id to hostname) of Atuin's v0 and v1 goldens, the same in both.
const FIELDS_V0_V1: &[u8] = &[
    217, 32, 54, 54, 100, 49, 54, 99, 98, 101, 101, 55, 99, 100, 52, 55, 53, 51, 56, 101, 53, 99,
    53, 98, 56, 98, 52, 52, 101, 57, 48, 48, 54, 101, 207, 23, 99, 98, 117, 24, 210, 246, 128, 206,
    2, 238, 210, 240, 0, 170, 103, 105, 116, 32, 115, 116, 97, 116, 117, 115, 217, 42, 47, 85, 115,
    101, 114, 115, 47, 99, 111, 110, 114, 97, 100, 46, 108, 117, 100, 103, 97, 116, 101, 47, 68,
    111, 99, 117, 109, 101, 110, 116, 115, 47, 99, 111, 100, 101, 47, 97, 116, 117, 105, 110, 217,
    32, 98, 57, 55, 100, 57, 97, 51, 48, 54, 102, 50, 55, 52, 52, 55, 51, 97, 50, 48, 51, 100, 50,
    101, 98, 97, 52, 49, 102, 57, 52, 53, 55, 187, 102, 118, 102, 103, 57, 51, 54, 99, 48, 107,
    112, 102, 58, 99, 111, 110, 114, 97, 100, 46, 108, 117, 100, 103, 97, 116, 101,
];

/// Atuin's v0 golden: version 0, array(9), the eight fields, `deleted_at` nil.
fn bytes_v0() -> Vec<u8> {
    [&[0xcd, 0, 0, 0x99][..], FIELDS_V0_V1, &[0xc0]].concat()
}

/// Atuin's v1 golden: version 1, array(11), the eight fields, `deleted_at` u64, author, intent.
fn bytes_v1() -> Vec<u8> {
    let tail: &[u8] = &[
        207, 24, 194, 83, 235, 108, 206, 10, 0, 174, 99, 111, 110, 114, 97, 100, 46, 108, 117, 100,
        103, 97, 116, 101, 173, 115, 97, 109, 112, 108, 101, 32, 105, 110, 116, 101, 110, 116,
    ];
    [&[0xcd, 0, 1, 0x9b][..], FIELDS_V0_V1, tail].concat()
}

const CREATE_RECORD: &[u8] = &[
    204, 0, 196, 154, 205, 0, 2, 157, 217, 32, 48, 49, 56, 99, 100, 52, 102, 101, 56, 49, 55, 53,
    55, 99, 100, 50, 97, 101, 101, 54, 53, 99, 100, 55, 56, 54, 49, 102, 57, 99, 56, 49, 207, 23,
    166, 251, 212, 181, 82, 0, 0, 100, 0, 162, 108, 115, 217, 41, 47, 85, 115, 101, 114, 115, 47,
    101, 108, 108, 105, 101, 47, 115, 114, 99, 47, 103, 105, 116, 104, 117, 98, 46, 99, 111, 109,
    47, 97, 116, 117, 105, 110, 115, 104, 47, 97, 116, 117, 105, 110, 217, 32, 48, 49, 56, 99, 100,
    52, 102, 101, 97, 100, 56, 57, 55, 53, 57, 55, 56, 53, 50, 53, 50, 55, 97, 51, 49, 99, 57, 57,
    56, 48, 53, 57, 170, 98, 111, 111, 112, 58, 101, 108, 108, 105, 101, 192, 165, 101, 108, 108,
    105, 101, 192, 164, 98, 97, 115, 104, 192,
];

const DELETE_RECORD: &[u8] = &[
    204, 1, 217, 32, 48, 49, 56, 99, 100, 52, 102, 101, 56, 49, 55, 53, 55, 99, 100, 50, 97, 101,
    101, 54, 53, 99, 100, 55, 56, 54, 49, 102, 57, 99, 56, 49,
];

/// `datetime!(2023-05-28 18:35:40.633872 +00:00)` in ns.
const TS_2023_05_28: u64 = 1_685_298_940_633_872_000;
/// `datetime!(2024-01-04 00:00:00 +00:00)` in ns.
const TS_2024_01_04: u64 = 1_704_326_400_000_000_000;

fn expected_v2() -> History {
    History {
        id: "66d16cbee7cd47538e5c5b8b44e9006e".parse().unwrap(),
        timestamp: TS_2023_05_28,
        duration: 49_206_000,
        exit: 0,
        command: "git status".into(),
        cwd: "/Users/conrad.ludgate/Documents/code/atuin".into(),
        session: "b97d9a306f274473a203d2eba41f9457".into(),
        hostname: "fvfg936c0kpf:conrad.ludgate".into(),
        deleted_at: Some(1_784_080_673 * 1_000_000_000),
        author: "conrad.ludgate".into(),
        intent: Some("sample intent".into()),
        shell: Some("zsh".into()),
        author_kind: None,
    }
}

fn expected_v1() -> History {
    History {
        shell: None,
        ..expected_v2()
    }
}

fn expected_v0() -> History {
    History {
        intent: None,
        deleted_at: None,
        ..expected_v1()
    }
}

fn create_history() -> History {
    History {
        id: "018cd4fe81757cd2aee65cd7861f9c81".parse().unwrap(),
        timestamp: TS_2024_01_04,
        duration: 100,
        exit: 0,
        command: "ls".into(),
        cwd: "/Users/ellie/src/github.com/atuinsh/atuin".into(),
        session: "018cd4fead897597852527a31c998059".into(),
        hostname: "boop:ellie".into(),
        deleted_at: None,
        author: "ellie".into(),
        intent: None,
        shell: Some("bash".into()),
        author_kind: None,
    }
}

#[test]
fn history_v0_v1_decode() {
    // v0 has no author: Atuin fills in the user part of the hostname.
    let cases = [
        (Version::V0, bytes_v0(), expected_v0()),
        (Version::V1, bytes_v1(), expected_v1()),
    ];
    for (v, bytes, want) in cases {
        assert_eq!(History::decode(&v, &bytes).unwrap(), want, "{v}");
    }
}

#[test]
fn history_bytes_only_decode_as_their_own_version() {
    let (v0, v1, v2) = (bytes_v0(), bytes_v1(), expected_v2().encode());
    let cases: [(&Version, &[u8]); 3] = [
        (&Version::V0, &v0),
        (&Version::V1, &v1),
        (&Version::V2, &v2),
    ];
    for (source, bytes) in cases {
        for decode_as in [Version::V0, Version::V1, Version::V2] {
            let got = History::decode(&decode_as, bytes);
            assert_eq!(got.is_ok(), &decode_as == source, "{source} as {decode_as}");
        }
    }
    assert_eq!(History::decode(&Version::V2, &v2).unwrap(), expected_v2());
    assert_eq!(&v2[0..3], [205, 0, 2]);
}

#[test]
fn history_records_match_atuin_bytes() {
    let id: HistoryId = "018cd4fe81757cd2aee65cd7861f9c81".parse().unwrap();
    let cases = [
        (HistoryRecord::Create(create_history()), CREATE_RECORD),
        (HistoryRecord::Delete(id), DELETE_RECORD),
    ];
    for (rec, bytes) in cases {
        assert_eq!(rec.encode(), bytes);
        assert_eq!(HistoryRecord::decode(&HISTORY_VERSION, bytes).unwrap(), rec);
    }
}

/// Atuin's `deserialize_v2_written_without_author_kind`: a 12-field v2 still decodes.
#[test]
fn history_v2_without_author_kind() {
    let h = History {
        author_kind: Some(AuthorKind::Agent),
        ..expected_v2()
    };
    let mut bytes = h.encode();
    assert_eq!(bytes[3], 0x90 | 13);
    bytes[3] = 0x90 | 12;
    assert_eq!(
        bytes.pop(),
        Some(2),
        "author_kind agent is a positive fixint"
    );
    assert_eq!(
        History::decode(&Version::V2, &bytes).unwrap(),
        History {
            author_kind: None,
            ..h
        }
    );
}

/// Byte layout of the fields the create golden leaves nil, derived from the `rmp` writers
/// Atuin's `History::serialize` calls (`write_u64` for deleted_at, `write_uint8` for the kind).
#[test]
fn history_v2_optional_fields_layout() {
    let h = History {
        deleted_at: Some(TS_2024_01_04),
        intent: Some("why".into()),
        author_kind: Some(AuthorKind::User),
        duration: -1,
        exit: 300,
        ..create_history()
    };
    let bytes = h.encode();
    let tail: &[u8] = &[
        0xcf, 0x17, 0xa6, 0xfb, 0xd4, 0xb5, 0x52, 0x00, 0x00, // deleted_at u64
        0xa5, b'e', b'l', b'l', b'i', b'e', // author
        0xa3, b'w', b'h', b'y', // intent
        0xa4, b'b', b'a', b's', b'h', // shell
        0x01, // author_kind = user, fixint
    ];
    assert!(bytes.ends_with(tail), "{bytes:?}");
    // duration -1 is a negative fixint, exit 300 a u16
    let ts_end = 3 + 1 + 34 + 9;
    assert_eq!(&bytes[ts_end..ts_end + 4], [0xff, 0xcd, 0x01, 0x2c]);
    assert_eq!(History::decode(&Version::V2, &bytes).unwrap(), h);
}

#[test]
fn history_v1_with_ten_fields_has_no_intent() {
    // Drop the trailing intent from Atuin's v1 fixture: 10 fields, intent None.
    let intent_len = 1 + "sample intent".len();
    let mut bytes = bytes_v1();
    bytes.truncate(bytes.len() - intent_len);
    bytes[3] = 0x90 | 10;
    let want = History {
        intent: None,
        ..expected_v1()
    };
    assert_eq!(History::decode(&Version::V1, &bytes).unwrap(), want);
    // ...and an 11-field header with the intent missing is a truncation error.
    bytes[3] = 0x90 | 11;
    assert!(matches!(
        History::decode(&Version::V1, &bytes),
        Err(HistoryError::Field { .. })
    ));
}

#[test]
fn kv_v1_matches_atuin_bytes() {
    let some: &[u8] = &[
        0x94, 0xa3, b'f', b'o', b'o', 0xa3, b'b', b'a', b'r', 0xc3, 0xa3, b'b', b'a', b'z',
    ];
    let none: &[u8] = &[0x94, 0xa3, b'f', b'o', b'o', 0xa3, b'b', b'a', b'r', 0xc2];
    for (value, snapshot) in [(Some("baz".to_owned()), some), (None, none)] {
        let kv = KvRecord {
            namespace: "foo".into(),
            key: "bar".into(),
            value,
        };
        assert_eq!(kv.encode(), snapshot);
        assert_eq!(KvRecord::decode(&KV_VERSION, snapshot).unwrap(), kv);
    }
    assert_eq!(KV_VERSION, Version::V1);
}

#[test]
fn kv_v0_decodes() {
    let snapshot: &[u8] = &[
        0x93, 0xa3, b'f', b'o', b'o', 0xa3, b'b', b'a', b'r', 0xa3, b'b', b'a', b'z',
    ];
    assert_eq!(
        KvRecord::decode(&Version::V0, snapshot).unwrap(),
        KvRecord {
            namespace: "foo".into(),
            key: "bar".into(),
            value: Some("baz".into()),
        }
    );
}

#[test]
fn history_v0_v1_reject_trailing_bytes() {
    for (v, mut bytes) in [(Version::V0, bytes_v0()), (Version::V1, bytes_v1())] {
        bytes.push(0xc0);
        assert!(matches!(
            History::decode(&v, &bytes),
            Err(HistoryError::TrailingBytes { count: 1, .. })
        ));
    }
}
