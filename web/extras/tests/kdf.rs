#![cfg(target_arch = "wasm32")]
//! `argon2id` as the package's vault calls it: 32 bytes, the same for the same input.

use terrapin_web_extras::argon2id;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn argon2id_derives_the_vault_key() {
    let salt = [9u8; 16];
    let key = argon2id("correct horse", &salt, 64, 1, 1).unwrap().to_vec();
    assert_eq!(key.len(), 32);
    assert_eq!(
        argon2id("correct horse", &salt, 64, 1, 1).unwrap().to_vec(),
        key
    );
    assert_ne!(
        argon2id("correct horsf", &salt, 64, 1, 1).unwrap().to_vec(),
        key
    );
    assert_ne!(
        argon2id("correct horse", &[8u8; 16], 64, 1, 1)
            .unwrap()
            .to_vec(),
        key
    );
    assert_ne!(
        argon2id("correct horse", &salt, 64, 2, 1).unwrap().to_vec(),
        key
    );
    // Argon2's own refusal (less than 8 KiB per lane), as the Error's message.
    let e = argon2id("correct horse", &salt, 4, 1, 1).unwrap_err();
    assert_eq!(String::from(e.message()), "memory cost is too small");
}
