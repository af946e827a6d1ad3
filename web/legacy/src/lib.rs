//! The legacy migration of the `terrapin-web` package (docs/PROTOCOL.md §6) as a wasm module
//! of its own: the package loads it only when `migrateLegacy` runs, so the main module does
//! not carry it. The rules are the core's (`terrapin_core::legacy`); this is the JS boundary.

use terrapin_core::crypto::Key;
use terrapin_core::legacy::{self, LegacyRecord};
use terrapin_core::random::OsEntropy;
use terrapin_core::record::EncryptedData;
use wasm_bindgen::prelude::*;

#[path = "../../lazy_boundary.rs"]
mod boundary;
use boundary::{error, to_js};

/// Migrates legacy linked-list records (wire JSON text with `parent`) with the Atuin `key`
/// (phrase or key file text) to `{ records, series }`, `records` being idx records as wire JSON
/// text. Throws kind `bad_key` for an unreadable key, `invalid` for unreadable JSON, and
/// `legacy` (with `problems` and `series`) naming every record that stood in the way.
#[wasm_bindgen]
pub fn migrate(json: &str, key: &str) -> Result<JsValue, JsValue> {
    let key = Key::from_atuin_input(key).map_err(|e| error("bad_key", &e.to_string()))?;
    let records: Vec<LegacyRecord<EncryptedData>> = serde_json::from_str(json)
        .map_err(|e| error("invalid", &format!("legacy records: {e}")))?;
    let m = match legacy::migrate(records, &key, &mut OsEntropy) {
        Ok(m) => m,
        Err(l) => {
            let e = error("legacy", &l.to_string());
            let _ = js_sys::Reflect::set(&e, &"problems".into(), &to_js(&l.problems)?);
            let _ = js_sys::Reflect::set(&e, &"series".into(), &to_js(&l.series)?);
            return Err(e.into());
        }
    };
    let out = js_sys::Object::new();
    let records =
        serde_json::to_string(&m.records).map_err(|e| error("invalid", &e.to_string()))?;
    js_sys::Reflect::set(&out, &"records".into(), &records.into())?;
    js_sys::Reflect::set(&out, &"series".into(), &to_js(&m.series)?)?;
    Ok(out.into())
}
