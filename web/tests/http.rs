#![cfg(target_arch = "wasm32")]
//! The HTTP remote against a scripted `fetch` in the browser: error classes, retries with
//! backoff, abort, `Atuin-Version`, short pages, push batches.

use terrapin_core::record::{HostId, SeriesKey, Tag};
use terrapin_core::sync::Remote;
use terrapin_web::http::{HttpError, HttpRemote, RetryPolicy};
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
export function script(answers) {
  // Each call takes the next answer: {status, body, headers, error, hang}. The last repeats.
  globalThis.__calls = [];
  globalThis.fetch = async (req) => {
    const call = { url: req.url, method: req.method, auth: req.headers.get('Authorization'), body: await req.text() };
    globalThis.__calls.push(call);
    const a = answers.length > 1 ? answers.shift() : answers[0];
    if (req.signal && req.signal.aborted) throw new DOMException('aborted', 'AbortError');
    if (a.hang) {
      return await new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    }
    if (a.error) throw new TypeError('Failed to fetch');
    const headers = new Headers(a.headers ?? { 'Atuin-Version': '18.24.4' });
    const body = typeof a.body === 'string' ? a.body : JSON.stringify(a.body ?? null);
    return new Response(a.status === 204 ? null : body, { status: a.status ?? 200, headers });
  };
}
export function calls() { return JSON.stringify(globalThis.__calls); }
"#)]
extern "C" {
    fn script(answers: JsValue);
    fn calls() -> String;
}

fn answers(json: &str) {
    script(js_sys::JSON::parse(json).unwrap());
}

fn call_log() -> Vec<serde_json::Value> {
    serde_json::from_str(&calls()).unwrap()
}

fn remote() -> HttpRemote {
    let mut r = HttpRemote::new("http://sync.test/");
    r.set_session(Some("sess".into()));
    r.retry = RetryPolicy {
        attempts: 4,
        base_ms: 1,
        max_ms: 5,
    };
    r
}

fn series() -> SeriesKey {
    SeriesKey::new(HostId(Uuid::from_u128(1)), Tag::History)
}

fn rec_json(idx: u64) -> String {
    format!(
        r#"{{"id":"{}","idx":{idx},"host":{{"id":"00000000-0000-0000-0000-000000000001","name":""}},"timestamp":1,"version":"v1","tag":"history","data":{{"data":"v4.local.x","content_encryption_key":"{{}}"}}}}"#,
        Uuid::from_u128(1000 + idx as u128).hyphenated()
    )
}

fn page_json(from: u64, n: u64) -> String {
    let v: Vec<String> = (from..from + n).map(rec_json).collect();
    format!("[{}]", v.join(","))
}

#[wasm_bindgen_test]
async fn status_sends_the_token_and_parses() {
    answers(r#"[{"body": {"hosts": {"00000000-0000-0000-0000-000000000001": {"history": 41}}}}]"#);
    let st = remote().status().await.unwrap();
    assert_eq!(st.get(&series()), Some(41));
    let log = call_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["auth"], "Token sess");
    assert_eq!(log[0]["url"], "http://sync.test/api/v0/record");
}

#[wasm_bindgen_test]
async fn server_errors_and_rate_limits_are_retried() {
    answers(
        r#"[{"status": 503, "body": {"reason": "busy"}}, {"status": 429, "body": {"reason": "slow down"}, "headers": {"Atuin-Version": "18.24.4", "Retry-After": "0"}}, {"error": true}, {"body": {"hosts": {}}}]"#,
    );
    let st = remote().status().await.unwrap();
    assert!(st.is_empty());
    assert_eq!(call_log().len(), 4);
}

#[wasm_bindgen_test]
async fn retries_are_bounded() {
    answers(r#"[{"status": 500, "body": {"reason": "down"}}]"#);
    let e = remote().status().await.unwrap_err();
    assert_eq!(
        e,
        HttpError::Server {
            status: 500,
            url: "http://sync.test/api/v0/record".into(),
            reason: "down".into()
        }
    );
    assert_eq!(call_log().len(), 4);
    answers(r#"[{"error": true}]"#);
    let e = remote().status().await.unwrap_err();
    assert!(matches!(e, HttpError::Network { .. }), "{e}");
    assert!(e.is_transient());
}

#[wasm_bindgen_test]
async fn client_errors_are_permanent_with_the_reason() {
    answers(r#"[{"status": 409, "body": {"reason": "idx 4 of host/history is taken"}}]"#);
    let one: Vec<terrapin_core::sync::EncRecord> = serde_json::from_str(&page_json(4, 1)).unwrap();
    let e = remote().push(&one).await.unwrap_err();
    assert_eq!(e.status(), Some(409));
    assert_eq!(e.kind(), "conflict");
    assert!(
        e.to_string().contains("idx 4 of host/history is taken"),
        "{e}"
    );
    assert!(!e.is_transient());
    assert_eq!(call_log().len(), 1);
    answers(r#"[{"status": 401, "body": "not json"}]"#);
    let e = remote().me().await.unwrap_err();
    assert_eq!(e.kind(), "unauthorized");
    assert!(e.to_string().contains("not json"));
}

#[wasm_bindgen_test]
async fn a_server_without_atuin_version_is_refused() {
    answers(r#"[{"body": {"hosts": {}}, "headers": {}}]"#);
    assert!(matches!(
        remote().status().await,
        Err(HttpError::BadResponse { .. })
    ));
    answers(r#"[{"body": {"hosts": {}}, "headers": {"Atuin-Version": "17.2.0"}}]"#);
    assert!(matches!(
        remote().status().await,
        Err(HttpError::BadResponse { .. })
    ));
}

#[wasm_bindgen_test]
async fn no_session_means_no_request() {
    answers(r#"[{"body": {"hosts": {}}}]"#);
    let r = remote();
    r.set_session(None);
    assert_eq!(r.status().await.unwrap_err(), HttpError::NoSession);
    assert!(call_log().is_empty());
}

#[wasm_bindgen_test]
async fn abort_cancels_requests_and_waits() {
    let ctl = web_sys::AbortController::new().unwrap();
    answers(r#"[{"hang": true}]"#);
    let r = remote().with_signal(Some(ctl.signal()));
    let c2 = ctl.clone();
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(20).await;
        c2.abort();
    });
    assert_eq!(r.status().await.unwrap_err(), HttpError::Aborted);
    // The engine asks before storing answers it already holds.
    assert_eq!(r.check().unwrap_err(), HttpError::Aborted);
    assert_eq!(remote().check(), Ok(()));
    // Already aborted: nothing is sent.
    answers(r#"[{"body": {"hosts": {}}}]"#);
    assert_eq!(r.status().await.unwrap_err(), HttpError::Aborted);
    assert!(call_log().is_empty());
    // Aborted while waiting to retry.
    let ctl = web_sys::AbortController::new().unwrap();
    let mut r = remote().with_signal(Some(ctl.signal()));
    r.retry = RetryPolicy {
        attempts: 5,
        base_ms: 10_000,
        max_ms: 10_000,
    };
    answers(r#"[{"status": 503, "body": {"reason": "busy"}}]"#);
    let c2 = ctl.clone();
    wasm_bindgen_futures::spawn_local(async move {
        gloo_timers::future::TimeoutFuture::new(20).await;
        c2.abort();
    });
    let t0 = js_sys::Date::now();
    assert_eq!(r.status().await.unwrap_err(), HttpError::Aborted);
    assert!(
        js_sys::Date::now() - t0 < 5_000.0,
        "the wait ended with the abort"
    );
    assert_eq!(call_log().len(), 1);
}

#[wasm_bindgen_test]
async fn a_short_page_is_answered_as_the_server_gave_it() {
    // One request, whatever the server answers: the core's engine follows up from idx 2.
    let a = format!(r#"[{{"body": {}}}]"#, page_json(0, 2));
    answers(&a);
    let recs = remote().next(&series(), 0, 5).await.unwrap();
    assert_eq!(recs.iter().map(|r| r.idx).collect::<Vec<_>>(), vec![0, 1]);
    let log = call_log();
    assert_eq!(log.len(), 1);
    assert!(
        log[0]["url"].as_str().unwrap().ends_with("start=0&count=5"),
        "{}",
        log[0]["url"]
    );
}

#[wasm_bindgen_test]
fn backoff_grows_is_capped_and_honours_retry_after() {
    let p = RetryPolicy {
        attempts: 6,
        base_ms: 100,
        max_ms: 1000,
    };
    assert_eq!(p.delay_ms(1, 1.0, None), 100);
    assert_eq!(p.delay_ms(2, 1.0, None), 200);
    assert_eq!(p.delay_ms(3, 0.5, None), 200);
    assert_eq!(p.delay_ms(10, 1.0, None), 1000);
    assert_eq!(p.delay_ms(1, 0.0, Some(700)), 700);
    assert_eq!(p.delay_ms(1, 0.0, Some(70_000)), 1000);
}

#[wasm_bindgen_test]
async fn pushes_go_in_batches() {
    answers(r#"[{"status": 200, "body": ""}]"#);
    let recs: Vec<terrapin_core::sync::EncRecord> = serde_json::from_str(&page_json(0, 5)).unwrap();
    let mut r = remote();
    r.push_batch = 2;
    r.push(&recs).await.unwrap();
    let log = call_log();
    assert_eq!(log.len(), 3);
    let sizes: Vec<usize> = log
        .iter()
        .map(|c| {
            serde_json::from_str::<Vec<serde_json::Value>>(c["body"].as_str().unwrap())
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
}
