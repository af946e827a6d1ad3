#![cfg(target_arch = "wasm32")]
//! JS values in and out through JSON text: defaults, errors that name the object and the
//! field, and results as plain objects with exact nanosecond times.

use terrapin_core::payload::history::{History, HistoryId};
use terrapin_web::interop::{
    histories_from_js, history_from_js, history_to_js, kdf_from_js, open_options, query_from_js,
    sync_options,
};
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

fn get(v: &JsValue, field: &str) -> JsValue {
    js_sys::Reflect::get(v, &field.into()).unwrap()
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
        r#"{"text":"git","mode":"fuzzy","exit":0,"after":1.5,"limit":5,"includeDeleted":true,"cwd":null,"text2":1}"#,
    ))
    .unwrap();
    assert_eq!(q.text, "git");
    assert_eq!(q.mode, SearchMode::Fuzzy);
    assert_eq!(q.filters.exit, Some(0));
    assert_eq!(q.filters.after, Some(1_500_000));
    assert_eq!(q.limit, Some(5));
    assert!(q.filters.include_deleted);
    assert_eq!(q.filters.cwd, None);
    // `null` is absent, as `undefined` is.
    let q = query_from_js(js(r#"{"text":null,"mode":null,"unique":null}"#)).unwrap();
    assert_eq!(
        (q.text.as_str(), q.mode, q.unique),
        ("", SearchMode::FullText, false)
    );
    let q = query_from_js(js(r#"{"mode":"prefix"}"#)).unwrap();
    assert_eq!(q.mode, SearchMode::Prefix);
}

#[wasm_bindgen_test]
fn bad_fields_are_named() {
    let cases = [
        (
            r#"{"exit":"x"}"#,
            r#"history query: exit: invalid type: string "x", expected i64"#,
        ),
        (
            r#"{"text":7}"#,
            "history query: text: invalid type: integer `7`, expected a string",
        ),
        (
            r#"{"includeDeleted":"yes"}"#,
            r#"history query: includeDeleted: invalid type: string "yes", expected a boolean"#,
        ),
        (
            r#"{"limit":-1}"#,
            "history query: limit: invalid value: integer `-1`, expected usize",
        ),
        (
            r#"{"exit":1.5}"#,
            "history query: exit: invalid type: floating point `1.5`, expected i64",
        ),
        (
            r#"{"mode":"regex"}"#,
            "history query: mode: unknown variant `regex`, expected one of `prefix`, `full-text`, `fulltext`, `fuzzy`",
        ),
        (
            r#"{"mode":""}"#,
            "history query: mode: unknown variant ``, expected one of `prefix`, `full-text`, `fulltext`, `fuzzy`",
        ),
        (
            r#"{"mode":1}"#,
            "history query: mode: invalid type: integer `1`, expected a string",
        ),
        (
            r#"{"text":"a","exit":"x","limit":-1}"#,
            r#"history query: exit: invalid type: string "x", expected i64"#,
        ),
        (
            r#""fuzzy""#,
            r#"history query: invalid type: string "fuzzy", expected struct HistoryQuery"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            message(query_from_js(js(input)).unwrap_err()),
            want,
            "{input}"
        );
    }

    let got = message(history_from_js(js(r#"{"cwd":"/"}"#)).unwrap_err());
    assert_eq!(got, "history entry: missing field `command`");
    let got = message(history_from_js(js(r#"{"command":null}"#)).unwrap_err());
    assert_eq!(got, "history entry: missing field `command`");
    let got = message(history_from_js(js(r#"{"command":"ls","id":"nope"}"#)).unwrap_err());
    assert!(got.starts_with("history entry: id: "), "{got}");
    let got = message(
        histories_from_js(js(r#"[{"command":"ls"},{"command":"x","exit":"0"}]"#)).unwrap_err(),
    );
    assert_eq!(
        got,
        r#"history entries: [1].exit: invalid type: string "0", expected i64"#
    );
    let got = message(histories_from_js(js(r#"[{"command":"ls"},{"cwd":"/"}]"#)).unwrap_err());
    assert_eq!(got, "history entries: [1]: missing field `command`");
    let got = message(histories_from_js(js(r#"{"command":"ls"}"#)).unwrap_err());
    assert_eq!(got, "history entries: expected an array");

    let got = message(kdf_from_js(js(r#"{"iterations":-2}"#)).unwrap_err());
    assert_eq!(
        got,
        "vault options: iterations: invalid value: integer `-2`, expected u32"
    );
    let got = message(
        open_options(js(r#"{"server":"x","retry":{"baseMs":"1s"}}"#))
            .err()
            .unwrap(),
    );
    assert_eq!(
        got,
        r#"open options: retry.baseMs: invalid type: string "1s", expected u32"#
    );
    let got = message(open_options(js("{}")).err().unwrap());
    assert_eq!(got, "open options: missing field `server`");
    let got = message(
        open_options(js(r#"{"server":"x","retry":"1s"}"#))
            .err()
            .unwrap(),
    );
    assert_eq!(
        got,
        r#"open options: retry: invalid type: string "1s", expected struct RetryJs"#
    );
    let got = message(open_options(js(r#"{"server":["x"]}"#)).err().unwrap());
    assert_eq!(
        got,
        "open options: server: invalid type: sequence, expected a string"
    );
    let got = message(sync_options(js(r#"{"signal":1}"#)).err().unwrap());
    assert_eq!(got, "sync options: signal: expected an AbortSignal");
    let got = message(sync_options(js(r#"{"onProgress":"x"}"#)).err().unwrap());
    assert_eq!(got, "sync options: onProgress: expected a function");
    let got = message(sync_options(js(r#""yes""#)).err().unwrap());
    assert_eq!(
        got,
        "sync options: invalid type: string, expected an object"
    );
    let got = message(sync_options(js(r#"{"entries":"yes"}"#)).err().unwrap());
    assert_eq!(
        got,
        r#"sync options: entries: invalid type: string "yes", expected a boolean"#
    );
}

/// An object `{ key: value }`.
fn with(key: &str, value: &JsValue) -> JsValue {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &key.into(), value).unwrap();
    o.into()
}

#[wasm_bindgen_test]
fn values_json_has_no_form_for_are_errors_or_read_as_the_browser_reads_them() {
    let got = message(query_from_js(with("after", &f64::NAN.into())).unwrap_err());
    assert_eq!(
        got,
        "history query: after: invalid value: NaN, expected a finite number"
    );
    let got = message(query_from_js(with("exit", &f64::NEG_INFINITY.into())).unwrap_err());
    assert_eq!(
        got,
        "history query: exit: invalid value: -Infinity, expected a finite number"
    );
    let retry = with("retry", &with("attempts", &js_sys::BigInt::from(3).into()));
    js_sys::Reflect::set(&retry, &"server".into(), &"x".into()).unwrap();
    let got = message(open_options(retry).err().unwrap());
    assert_eq!(
        got,
        "open options: retry.attempts: invalid type: BigInt 3n, expected a number"
    );
    // In a field no one reads, as any other value there: ignored.
    let q = query_from_js(with("color", &f64::NAN.into())).unwrap();
    assert_eq!(q.text, "");
    let retry = with("retry", &with("color", &js_sys::BigInt::from(3).into()));
    js_sys::Reflect::set(&retry, &"server".into(), &"x".into()).unwrap();
    assert!(open_options(retry).is_ok());
    let entries = js_sys::Array::of2(&with("command", &"ls".into()), &JsValue::UNDEFINED);
    let got = message(histories_from_js(entries.into()).unwrap_err());
    assert_eq!(
        got,
        "history entries: [1]: invalid type: null, expected struct NewHistoryEntry"
    );
    let got = message(query_from_js(js_sys::Function::new_no_args("").into()).unwrap_err());
    assert_eq!(
        got,
        "history query: invalid type: function, expected an object"
    );
    let cycle = with("text", &"x".into());
    js_sys::Reflect::set(&cycle, &"self".into(), &cycle).unwrap();
    let got = message(query_from_js(cycle).unwrap_err());
    assert!(got.starts_with("history query: "), "{got}");
    // A lone surrogate (half of a pair cut off) becomes U+FFFD, as the browser's UTF-8
    // encoding of the string does.
    let cut = js_sys::JsString::from_char_code1(0xd83d).concat(&"x".into());
    let h = history_from_js(with("command", &cut.into())).unwrap();
    assert_eq!(h.command, "\u{fffd}x");
}

#[wasm_bindgen_test]
fn js_values_pass_through_sync_options() {
    let signal = web_sys::AbortController::new().unwrap().signal();
    let f = js_sys::Function::new_no_args("return 1");
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"signal".into(), &signal).unwrap();
    js_sys::Reflect::set(&o, &"onProgress".into(), &f).unwrap();
    js_sys::Reflect::set(&o, &"entries".into(), &JsValue::TRUE).unwrap();
    let s = sync_options(o.into()).ok().unwrap();
    assert!(s.entries);
    assert!(JsValue::from(s.signal.unwrap()) == JsValue::from(signal));
    assert!(JsValue::from(s.on_progress.unwrap()) == JsValue::from(f));
    let s = sync_options(js(r#"{"signal":null}"#)).ok().unwrap();
    assert!(s.signal.is_none() && s.on_progress.is_none() && !s.entries);
}

#[wasm_bindgen_test]
fn history_entries_and_options_get_defaults() {
    let h = history_from_js(js(r#"{"command":"ls","timestamp":2000}"#)).unwrap();
    assert_eq!(h.command, "ls");
    assert_eq!(h.timestamp, 2_000_000_000);
    assert_eq!((h.duration, h.exit), (-1, -1));
    assert_eq!(h.hostname, "browser:web");
    assert_eq!(h.author, "web");
    assert!(h.id.0.is_nil());
    let h = history_from_js(js(
        r#"{"command":"ls","hostname":"box:ada","exit":2,"id":"0190a4f0-aaaa-7bbb-8ccc-ddddeeeeffff"}"#,
    ))
    .unwrap();
    assert_eq!((h.author.as_str(), h.exit), ("ada", 2));
    assert_eq!(h.id.to_string(), "0190a4f0aaaa7bbb8cccddddeeeeffff");
    let k = kdf_from_js(js(r#"{"iterations":3,"memoryKiB":null}"#)).unwrap();
    assert_eq!(
        k,
        KdfParams {
            t: 3,
            ..KdfParams::default()
        }
    );
    let o = open_options(js(
        r#"{"server":"http://x","retry":{"attempts":0,"maxMs":10}}"#,
    ))
    .ok()
    .unwrap();
    assert_eq!(
        (o.server.as_str(), o.profile.as_str(), o.page_size),
        ("http://x", "default", 0)
    );
    let r = terrapin_web::http::RetryPolicy::from(o.retry);
    assert_eq!((r.attempts, r.base_ms, r.max_ms), (1, 250, 10));
    let o = open_options(js(
        r#"{"server":"x","profile":"p","pageSize":7,"retry":null}"#,
    ))
    .ok()
    .unwrap();
    assert_eq!((o.profile.as_str(), o.page_size), ("p", 7));
    let r = terrapin_web::http::RetryPolicy::from(o.retry);
    assert_eq!(
        r.attempts,
        terrapin_web::http::RetryPolicy::default().attempts
    );
    let hs = histories_from_js(js(
        r#"[{"command":"a","cwd":"/x"},{"command":"b","id":null}]"#,
    ))
    .unwrap();
    assert_eq!(
        hs.iter()
            .map(|h| (h.command.as_str(), h.cwd.as_str()))
            .collect::<Vec<_>>(),
        [("a", "/x"), ("b", "")]
    );
}

#[wasm_bindgen_test]
fn history_entries_go_out_as_plain_objects_with_exact_times() {
    let h = History {
        id: HistoryId("0190a4f0aaaa7bbb8cccddddeeeeffff".parse().unwrap()),
        timestamp: 1_700_000_000_123_456_789,
        duration: 5,
        exit: 0,
        command: "git status".into(),
        cwd: "/src".into(),
        session: "s1".into(),
        hostname: "laptop:ada".into(),
        deleted_at: None,
        author: "ada".into(),
        intent: None,
        shell: Some("zsh".into()),
        author_kind: None,
    };
    let v = history_to_js(&h).unwrap();
    assert!(
        js_sys::Object::get_prototype_of(&v)
            == js_sys::Object::get_prototype_of(&js_sys::Object::new().into())
    );
    assert_eq!(
        get(&v, "timestampNs").as_string().as_deref(),
        Some("1700000000123456789")
    );
    let ms = get(&v, "timestamp").as_f64().unwrap();
    assert!((ms - 1_700_000_000_123.456_8).abs() < 1e-3, "{ms}");
    assert_eq!(
        get(&v, "id").as_string().as_deref(),
        Some("0190a4f0aaaa7bbb8cccddddeeeeffff")
    );
    assert_eq!(get(&v, "host").as_string().as_deref(), Some("laptop"));
    assert_eq!(get(&v, "user").as_string().as_deref(), Some("ada"));
    assert_eq!(get(&v, "shell").as_string().as_deref(), Some("zsh"));
    assert!(get(&v, "deletedAt").is_null());
    assert!(get(&v, "intent").is_null());
    assert!(get(&v, "runs").is_undefined());
}
