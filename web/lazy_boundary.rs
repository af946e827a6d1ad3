//! The JS boundary the package's lazily loaded modules (web/legacy, web/threads, web/extras)
//! share: errors thrown as the main module throws them, and results through JSON text.

use serde::Serialize;
use wasm_bindgen::JsValue;

/// A `TerrapinError`, as the package's main module throws them.
pub fn error(kind: &str, message: &str) -> js_sys::Error {
    let e = js_sys::Error::new(message);
    e.set_name("TerrapinError");
    let _ = js_sys::Reflect::set(&e, &"kind".into(), &kind.into());
    e
}

/// Through JSON text: the browser's JSON.parse is fast and keeps the wasm small.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(v).map_err(|e| error("invalid", &e.to_string()))?;
    js_sys::JSON::parse(&text)
}
