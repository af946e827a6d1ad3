#![cfg(target_arch = "wasm32")]
//! JS objects read field by field: defaults, and errors that name the object and the field.

use terrapin_web::interop::{history_from_js, kdf_from_js, query_from_js};
use terrapin_web::search::SearchMode;
use terrapin_web::vault::KdfParams;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

fn message(e: JsValue) -> String {
    let kind = js_sys::Reflect::get(&e, &"kind".into()).unwrap();
    assert_eq!(kind.as_string().as_deref(), Some("invalid"));
    js_sys::Reflect::get(&e, &"message".into())
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
fn queries_read_their_fields_and_defaults() {
    let q = query_from_js(JsValue::UNDEFINED).unwrap();
    assert_eq!(q.mode, SearchMode::FullText);
    assert_eq!(
        (q.offset, q.limit, q.filters.include_deleted),
        (0, None, false)
    );
    let q = query_from_js(js(
        r#"{"text":"git","mode":"fuzzy","exit":0,"after":1.5,"limit":5,"includeDeleted":true,"cwd":null,"other":1}"#,
    ))
    .unwrap();
    assert_eq!(q.text, "git");
    assert_eq!(q.mode, SearchMode::Fuzzy);
    assert_eq!(q.filters.exit, Some(0));
    assert_eq!(q.filters.after, Some(1_500_000));
    assert_eq!(q.limit, Some(5));
    assert!(q.filters.include_deleted);
    assert_eq!(q.filters.cwd, None);
}

#[wasm_bindgen_test]
fn bad_fields_are_named() {
    let cases = [
        (
            r#"{"mode":"regex"}"#,
            "history query: unknown `mode` \"regex\"",
        ),
        (
            r#"{"exit":1.5}"#,
            "history query: `exit` must be an integer",
        ),
        (
            r#"{"limit":-1}"#,
            "history query: `limit` must be an integer",
        ),
        (r#"{"text":7}"#, "history query: `text` must be a string"),
        (
            r#"{"includeDeleted":"yes"}"#,
            "history query: `includeDeleted` must be true or false",
        ),
        (r#""fuzzy""#, "history query: expected an object"),
    ];
    for (input, want) in cases {
        let got = message(query_from_js(js(input)).unwrap_err());
        assert!(got.starts_with(want), "{input}: {got}");
    }
    let got = message(history_from_js(js(r#"{"cwd":"/"}"#)).unwrap_err());
    assert_eq!(got, "history entry: `command` is missing");
    let got = message(kdf_from_js(js(r#"{"iterations":-2}"#)).unwrap_err());
    assert!(
        got.starts_with("vault options: `iterations` must be an integer"),
        "{got}"
    );
}

#[wasm_bindgen_test]
fn history_entries_and_vault_options_get_defaults() {
    let h = history_from_js(js(r#"{"command":"ls","timestamp":2000}"#)).unwrap();
    assert_eq!(h.command, "ls");
    assert_eq!(h.timestamp, 2_000_000_000);
    assert_eq!((h.duration, h.exit), (-1, -1));
    assert_eq!(h.hostname, "browser:web");
    assert_eq!(h.author, "web");
    let k = kdf_from_js(js(r#"{"iterations":3}"#)).unwrap();
    assert_eq!(
        k,
        KdfParams {
            t: 3,
            ..KdfParams::default()
        }
    );
}
