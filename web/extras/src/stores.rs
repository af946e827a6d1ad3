//! Scripts, shell aliases and variables (`script`, `config-shell-alias`, `dotfiles-var`
//! records; docs/PROTOCOL.md §5), folded from the pages the main module keeps beside the
//! records (its `viewPages`, the frames of web/page_frames.rs) with the core's stores and
//! decoders; and the records a script's change writes, which the main module encrypts and
//! appends (`appendOwn`).

use serde::Deserialize;
use terrapin_core::payload::dotfiles::{Alias, Var, DOTFILES_VERSION};
use terrapin_core::payload::script::{Script, ScriptRecord, SCRIPT_VERSION};
use terrapin_core::random::{Entropy, OsEntropy};
use terrapin_core::record::{uuid_v7, HostId, RecordId, Version};
use terrapin_core::store::{AliasStore, Fold, RecordOrigin, ScriptStore, VarStore};
use uuid::Uuid;
use wasm_bindgen::prelude::*;

use crate::boundary::{error, to_js};
use crate::frames::{self, PAYLOAD};

/// Kind bytes of the entries pages held before the main module kept the records' payloads
/// ([`PAYLOAD`]): a script, shell alias or variable record in the tag's current version.
const SCRIPT_ENTRY: u8 = 3;
const ALIAS_ENTRY: u8 = 4;
const VAR_ENTRY: u8 = 5;

/// Folds the records of `pages` into `store`: [`PAYLOAD`] frames read by their version, entries
/// of `entry` by `current`. Returns how many did not decode (as atuin skips them); frames of
/// records that did not decrypt are the main module's to count.
fn fold<S: Fold>(
    store: &mut S,
    pages: &[u8],
    entry: u8,
    current: &Version,
) -> Result<u32, JsValue> {
    let frames = frames::read(pages).map_err(|e| error("store", &format!("derived page: {e}")))?;
    let mut unreadable = 0;
    for f in frames {
        let (version, body) = match f.kind {
            PAYLOAD => match frames::payload_parts(f.body) {
                Some((v, p)) => (Version::from(v), p),
                None => {
                    unreadable += 1;
                    continue;
                }
            },
            k if k == entry => (current.clone(), f.body),
            _ => continue,
        };
        let origin = RecordOrigin {
            timestamp: f.ts,
            host: HostId(f.host),
            idx: f.idx,
            record: RecordId(f.id),
        };
        match S::decode(&version, body) {
            Ok(p) => store.fold(origin, p),
            Err(_) => unreadable += 1,
        }
    }
    Ok(unreadable)
}

/// A script as `client.scripts.set` takes it: `{ id?, name, description?, shebang?, tags?,
/// script }` (`null` fields left out by the package), without `id` a new one.
#[derive(Deserialize)]
struct NewScript {
    id: Option<Uuid>,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    shebang: String,
    #[serde(default)]
    tags: Vec<String>,
    script: String,
}

fn invalid(message: &str) -> JsValue {
    error("invalid", message).into()
}

/// `json` read as a [`NewScript`]; an error names the field, as the main module's option
/// readers do (`script: tags: invalid type: …`).
fn new_script(json: &str) -> Result<NewScript, JsValue> {
    let mut d = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut d).map_err(|e| {
        let path = e.path().to_string();
        let e = e.into_inner();
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        match path.as_str() {
            "." => invalid(&format!("script: {message}")),
            path => invalid(&format!("script: {path}: {message}")),
        }
    })
}

/// A record to append to this host's series of its tag: `[version, payload, id]` (`id`: the
/// script's).
fn write(record: &ScriptRecord) -> js_sys::Array {
    let payload = js_sys::Uint8Array::from(&record.encode()[..]);
    js_sys::Array::of3(
        &SCRIPT_VERSION.as_str().into(),
        &payload,
        &record.script_id().to_string().into(),
    )
}

/// The scripts, shell aliases and variables of a profile, folded from its pages.
#[wasm_bindgen]
pub struct Stores {
    scripts: ScriptStore,
    aliases: AliasStore,
    vars: VarStore,
    unreadable: u32,
}

#[wasm_bindgen]
impl Stores {
    /// Folds the pages of the `script`, `config-shell-alias` and `dotfiles-var` series (the
    /// main module's `viewPages` of each tag). Throws kind `store` for a page cut short.
    #[wasm_bindgen(constructor)]
    pub fn new(scripts: &[u8], aliases: &[u8], vars: &[u8]) -> Result<Stores, JsValue> {
        let mut s = Stores {
            scripts: ScriptStore::new(),
            aliases: AliasStore::new(),
            vars: VarStore::new(),
            unreadable: 0,
        };
        s.unreadable = fold(&mut s.scripts, scripts, SCRIPT_ENTRY, &SCRIPT_VERSION)?
            + fold(&mut s.aliases, aliases, ALIAS_ENTRY, &DOTFILES_VERSION)?
            + fold(&mut s.vars, vars, VAR_ENTRY, &DOTFILES_VERSION)?;
        Ok(s)
    }

    /// Records whose payload did not decode.
    #[wasm_bindgen(getter)]
    pub fn unreadable(&self) -> u32 {
        self.unreadable
    }

    /// Live scripts, sorted by name (byte order).
    pub fn scripts(&self) -> Result<JsValue, JsValue> {
        to_js(&self.script_list())
    }

    /// The live script with this id (any UUID spelling), else the one of this name; undefined
    /// if none.
    pub fn script(&self, id_or_name: &str) -> Result<JsValue, JsValue> {
        some(self.script_get(id_or_name))
    }

    /// The record that creates a script (no `id`: a fresh UUID v7, as `atuin scripts new`; an
    /// id no live script has: that id, e.g. a deleted script restored) or replaces every field
    /// of the live script with `id` (as `atuin scripts edit`), from `json` (a `NewScript`):
    /// `[version, payload, id]`. Throws kind `invalid` for an empty name or a name another live
    /// script holds (Atuin's unique index), or a malformed script.
    #[wasm_bindgen(js_name = scriptSet)]
    pub fn script_set(&self, json: &str) -> Result<js_sys::Array, JsValue> {
        let s = new_script(json)?;
        let script = Script {
            id: Uuid::nil(),
            name: s.name,
            description: s.description,
            shebang: s.shebang,
            tags: s.tags,
            script: s.script,
        };
        Ok(write(&self.script_record(s.id, script)?))
    }

    /// The record that deletes the live script with this id: `[version, payload, id]`. Throws
    /// kind `invalid` if there is none.
    #[wasm_bindgen(js_name = scriptDelete)]
    pub fn script_delete(&self, id: &str) -> Result<js_sys::Array, JsValue> {
        let id = Uuid::parse_str(id).map_err(|e| invalid(&format!("script id: {e}")))?;
        Ok(write(&self.delete_record(id)?))
    }

    /// The live script with this id, written just now; throws kind `invalid` if it did not
    /// apply.
    #[wasm_bindgen(js_name = scriptWritten)]
    pub fn script_written(&self, id: &str) -> Result<JsValue, JsValue> {
        match Uuid::parse_str(id).ok().and_then(|i| self.scripts.get(&i)) {
            Some(s) => to_js(&s),
            None => Err(invalid(&format!("script {id} did not apply"))),
        }
    }

    /// Live shell aliases (legacy `config-shell-alias`), sorted by name.
    pub fn aliases(&self) -> Result<JsValue, JsValue> {
        to_js(&self.alias_list())
    }

    pub fn alias(&self, name: &str) -> Result<JsValue, JsValue> {
        some(self.aliases.get(name))
    }

    /// Live variables (legacy `dotfiles-var`), sorted by name.
    pub fn vars(&self) -> Result<JsValue, JsValue> {
        to_js(&self.var_list())
    }

    pub fn var(&self, name: &str) -> Result<JsValue, JsValue> {
        some(self.vars.get(name))
    }
}

fn some<T: serde::Serialize>(v: Option<T>) -> Result<JsValue, JsValue> {
    v.map_or(Ok(JsValue::UNDEFINED), |v| to_js(&v))
}

/// The stores as Rust values (what the exports above give JavaScript).
impl Stores {
    /// Live scripts, sorted by name (byte order).
    pub fn script_list(&self) -> Vec<Script> {
        let mut v = self.scripts.scripts();
        terrapin_core::sort::sort_cold_by(&mut v, |a, b| a.name.cmp(&b.name));
        v
    }

    /// The live script with this id (any UUID spelling), else the one of this name.
    pub fn script_get(&self, id_or_name: &str) -> Option<Script> {
        let by_id = Uuid::parse_str(id_or_name)
            .ok()
            .and_then(|id| self.scripts.get(&id));
        by_id.or_else(|| self.scripts.get_by_name(id_or_name))
    }

    /// The record [`Self::script_set`] writes for `s` (its id ignored) and `id`.
    pub fn script_record(&self, id: Option<Uuid>, mut s: Script) -> Result<ScriptRecord, JsValue> {
        if s.name.trim().is_empty() {
            return Err(invalid("a script needs a name"));
        }
        if let Some(holder) = self.scripts.get_by_name(&s.name) {
            if Some(holder.id) != id {
                return Err(invalid(&format!(
                    "a script named `{}` already exists",
                    s.name
                )));
            }
        }
        Ok(match id {
            // A deleted (or never seen) id: created anew with it, as a later create brings a
            // deleted script back in Atuin's replay (how Undo restores one).
            Some(id) if self.scripts.get(&id).is_none() => {
                s.id = id;
                ScriptRecord::Create(s)
            }
            Some(id) => {
                s.id = id;
                ScriptRecord::Update(s)
            }
            None => {
                let mut rand = [0u8; 10];
                OsEntropy
                    .fill(&mut rand)
                    .map_err(|e| error("entropy", &e.to_string()))?;
                s.id = uuid_v7(js_sys::Date::now() as u64, rand);
                ScriptRecord::Create(s)
            }
        })
    }

    /// The record [`Self::script_delete`] writes.
    pub fn delete_record(&self, id: Uuid) -> Result<ScriptRecord, JsValue> {
        if self.scripts.get(&id).is_none() {
            return Err(invalid(&format!("no script has the id {id}")));
        }
        Ok(ScriptRecord::Delete(id))
    }

    /// Live shell aliases, sorted by name.
    pub fn alias_list(&self) -> Vec<Alias> {
        self.aliases.iter().collect()
    }

    /// Live variables, sorted by name.
    pub fn var_list(&self) -> Vec<Var> {
        self.vars.iter().collect()
    }
}
