#![cfg(target_arch = "wasm32")]
//! `keyFromPhrase`: a key typed as its 24 words (or as base64) read into the base64 key, with
//! the main module's `bad_key` errors.

use terrapin_core::crypto::Key;
use terrapin_web_extras::key_from_phrase;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn refusal(e: JsValue) -> (String, String, String) {
    let kind = js_sys::Reflect::get(&e, &"kind".into())
        .unwrap()
        .as_string()
        .unwrap();
    let e: js_sys::Error = e.unchecked_into();
    (e.name().into(), kind, e.message().into())
}

#[wasm_bindgen_test]
fn a_phrase_or_base64_becomes_the_base64_key() {
    let key = Key::from_bytes([0x9c; 32]);
    let base64 = key.to_atuin_string();
    assert_eq!(key_from_phrase(&key.to_mnemonic()).unwrap(), base64);
    assert_eq!(key_from_phrase(&base64).unwrap(), base64);
    let words: Vec<String> = key.to_mnemonic().split(' ').map(String::from).collect();
    assert_eq!(
        refusal(key_from_phrase(&words[1..].join(" ")).unwrap_err()),
        (
            "TerrapinError".into(),
            "bad_key".into(),
            "the Atuin key is not valid: a key phrase has 24 words, this one has 23".into()
        )
    );
}
