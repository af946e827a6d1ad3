//! The AI threads of the `terrapin-web` package (`ai-session` records, read-only; docs/PROTOCOL.md
//! §5) as a wasm module of its own: the package loads it only when `client.threads` is used, so
//! the main module carries neither zstd nor the thread fold. The rules are the core's
//! (`terrapin_core::store::threads`); this is the JS boundary.

use serde::Serialize;
use terrapin_core::crypto::{decrypt_record, Key};
use terrapin_core::record::{EncRecord, Tag};
use terrapin_core::store::threads::ThreadStore;
use wasm_bindgen::prelude::*;

#[path = "../../lazy_boundary.rs"]
mod boundary;
use boundary::{error, to_js};

/// The threads of a set of records.
#[wasm_bindgen]
pub struct Threads {
    store: ThreadStore,
    problems: Vec<String>,
}

#[wasm_bindgen]
impl Threads {
    /// Folds the `ai-session` records among `json` (wire JSON text, an array) with the Atuin
    /// `key` (phrase or key file text). A record that does not decrypt or decode is left out and
    /// named in `problems`, as atuin skips it. Throws kind `bad_key` or `invalid`.
    #[wasm_bindgen(constructor)]
    pub fn new(json: &str, key: &str) -> Result<Threads, JsValue> {
        let key = Key::from_atuin_input(key).map_err(|e| error("bad_key", &e.to_string()))?;
        let records: Vec<EncRecord> =
            serde_json::from_str(json).map_err(|e| error("invalid", &format!("records: {e}")))?;
        let mut store = ThreadStore::new();
        let mut problems = Vec::new();
        for r in records.iter().filter(|r| r.tag == Tag::AiSession) {
            let applied = decrypt_record(r, &key)
                .map_err(|e| e.to_string())
                .and_then(|d| store.apply_record(&d).map_err(|e| e.to_string()));
            if let Err(why) = applied {
                problems.push(format!(
                    "ai-session record {} (host {}, idx {}): {why}",
                    r.id, r.host.id, r.idx
                ));
            }
        }
        Ok(Threads { store, problems })
    }

    /// Every thread, newest activity first.
    pub fn list(&self) -> Result<JsValue, JsValue> {
        to_js(&self.store.threads())
    }

    /// The thread with this id and its messages in order, or undefined.
    pub fn get(&self, id: &str) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct Full<'a> {
            #[serde(flatten)]
            thread: &'a terrapin_core::store::threads::Thread,
            messages: Vec<&'a terrapin_core::payload::ai_session::AiMessage>,
        }
        match self.store.get(id) {
            Some(thread) => to_js(&Full {
                messages: self.store.messages(&thread.session),
                thread: &thread,
            }),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Why each left-out record could not be read.
    #[wasm_bindgen(getter)]
    pub fn problems(&self) -> Vec<String> {
        self.problems.clone()
    }
}
