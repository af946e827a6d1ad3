//! The code of the `terrapin-web` package that only some users need, as a wasm module of its
//! own: the package loads it on first use, so the main module does not carry it.
//! - [`argon2id`]: the vault's key derivation (the main module seals and opens the vault);
//! - [`parse_shell_history`]: shell history files read by the core's importer
//!   (`terrapin_core::import`);
//! - [`key_from_phrase`]: a key typed as its 24 words read into the base64 key the main module
//!   takes (the core's BIP39 reading, with SHA-256 for its checksum);
//! - [`Stores`]: scripts, shell aliases and variables, folded from the pages the main module
//!   keeps, and the records a script's change writes (`stores`).

use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;
use terrapin_core::crypto::Key;
use terrapin_core::import::{self, Shell};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

#[path = "../../lazy_boundary.rs"]
mod boundary;
// The pages are written by the main module: this module only reads them.
#[allow(dead_code)]
#[path = "../../page_frames.rs"]
mod frames;
mod stores;

pub use stores::Stores;

/// Argon2id (RFC 9106, version 0x13) of `passphrase` and `salt` with `m` KiB of memory, `t`
/// passes and `p` lanes: the vault's 32-byte key. Throws an `Error` for parameters Argon2
/// refuses (its message says which).
#[wasm_bindgen]
pub fn argon2id(
    passphrase: &str,
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<js_sys::Uint8Array, js_sys::Error> {
    let error = |e: argon2::Error| js_sys::Error::new(&e.to_string());
    let params = Params::new(m, t, p, Some(32)).map_err(error)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(error)?;
    // A copy in JS memory; the one here is zeroed when `key` drops.
    Ok(js_sys::Uint8Array::from(&key[..]))
}

/// One entry for `history.addMany`: the times the file has (`timestamp` in ms, `duration` in
/// ns), the rest left to the caller.
#[derive(Serialize)]
struct Entry<'a> {
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    shell: Shell,
}

/// Read a shell history file's bytes (bash, zsh plain or extended, fish; told apart by
/// `filename`, else by the content) into new history entries.
#[wasm_bindgen(js_name = parseShellHistory)]
pub fn parse_shell_history(bytes: &[u8], filename: Option<String>) -> Result<JsValue, JsValue> {
    let (shell, cmds) = import::parse_file(filename.as_deref(), bytes);
    let entries: Vec<Entry> = cmds
        .iter()
        .map(|c| Entry {
            command: &c.command,
            timestamp: c.timestamp.map(|ns| ns as f64 / 1_000_000.0),
            duration: c.duration,
            shell,
        })
        .collect();
    // Through JSON text: the browser's JSON.parse is fast and keeps the wasm small.
    let text = serde_json::to_string(&entries).map_err(|e| js_sys::Error::new(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// A key as `atuin login` takes it (the 24 words or the base64 key:
/// `terrapin_core::crypto::Key::from_atuin_input`) as the base64 key the main module reads.
/// Throws a `TerrapinError` of kind `bad_key` with the message the main module gives.
#[wasm_bindgen(js_name = keyFromPhrase)]
pub fn key_from_phrase(key: &str) -> Result<String, JsValue> {
    Key::from_atuin_input(key)
        .map(|key| key.to_atuin_string())
        .map_err(|e| boundary::error("bad_key", &format!("the Atuin key is not valid: {e}")).into())
}
