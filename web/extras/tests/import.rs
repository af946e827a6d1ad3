#![cfg(target_arch = "wasm32")]
//! `parseShellHistory` as JS sees it: entries shaped for `history.addMany`.

use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn json(v: &JsValue) -> serde_json::Value {
    serde_json::from_str(&js_sys::JSON::stringify(v).unwrap().as_string().unwrap()).unwrap()
}

#[wasm_bindgen_test]
fn zsh_extended_file_becomes_entries() {
    let text = ": 1700000000:3;make test\n: 1700000010:0;echo a\\\necho b\n";
    let v = terrapin_web_extras::parse_shell_history(text.as_bytes(), Some(".zsh_history".into()))
        .unwrap();
    assert_eq!(
        json(&v),
        serde_json::json!([
            {"command": "make test", "timestamp": 1_700_000_000_000i64, "duration": 3_000_000_000i64, "shell": "zsh"},
            {"command": "echo a\necho b", "timestamp": 1_700_000_010_000i64, "duration": 0, "shell": "zsh"},
        ])
    );
}

#[wasm_bindgen_test]
fn bash_without_times_leaves_them_out() {
    let v = terrapin_web_extras::parse_shell_history(b"ls\n\ngit status\n", None).unwrap();
    assert_eq!(
        json(&v),
        serde_json::json!([{"command": "ls", "shell": "bash"}, {"command": "git status", "shell": "bash"}])
    );
}
