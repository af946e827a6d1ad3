#![cfg(target_arch = "wasm32")]
//! `Stores`: scripts, shell aliases and variables folded from the main module's pages (as it
//! writes them now, and the entries pages held before), listed as atuin lists them; and the
//! records a script's change writes, with the refusals of `client.scripts`. Through the package
//! against the real worker: tests/web/stores.test.mjs.

use terrapin_core::payload::dotfiles::{Alias, AliasRecord, Var, VarRecord, DOTFILES_VERSION};
use terrapin_core::payload::script::{Script, ScriptRecord, SCRIPT_VERSION};
use terrapin_web_extras::Stores;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

// The pages as the main module writes them (the reading half is the extras module's).
#[allow(dead_code)]
#[path = "../../page_frames.rs"]
mod frames;
use frames::{payload_body, Frame, PAYLOAD};

wasm_bindgen_test_configure!(run_in_browser);

/// A page of `host`'s records `(ts, kind, body)`, at idx 0, 1, 2…
fn page(host: u128, records: &[(u64, u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, (ts, kind, body)) in records.iter().enumerate() {
        Frame {
            ts: *ts,
            host: Uuid::from_u128(host),
            idx: i as u64,
            id: Uuid::from_u128((host << 64) | i as u128),
            kind: *kind,
            body,
        }
        .write(&mut out);
    }
    out
}

fn script_payload(r: &ScriptRecord) -> (u8, Vec<u8>) {
    (PAYLOAD, payload_body(SCRIPT_VERSION.as_str(), &r.encode()))
}

fn script(id: u128, name: &str, body: &str) -> Script {
    Script {
        id: Uuid::from_u128(id),
        name: name.into(),
        description: String::new(),
        shebang: "bash".into(),
        tags: vec!["b".into(), "a".into(), "b".into()],
        script: body.into(),
    }
}

fn refusal(e: JsValue) -> (String, String) {
    let kind = js_sys::Reflect::get(&e, &"kind".into())
        .unwrap()
        .as_string()
        .unwrap();
    let e: js_sys::Error = e.unchecked_into();
    (kind, e.message().into())
}

/// The record `set` gives for `json`: its version, payload and id.
fn set(s: &Stores, json: &str) -> Result<(String, ScriptRecord, String), (String, String)> {
    let a = s.script_set(json).map_err(refusal)?;
    let version = a.get(0).as_string().unwrap();
    let payload = js_sys::Uint8Array::new(&a.get(1)).to_vec();
    let record = ScriptRecord::decode(&version.as_str().into(), &payload).unwrap();
    Ok((version, record, a.get(2).as_string().unwrap()))
}

#[wasm_bindgen_test]
fn scripts_fold_in_atuins_order_whatever_the_pages_order() {
    use ScriptRecord::*;
    // Host 2's delete of `tmp` is newer than host 1's create; an update renames `zz`.
    let at = |ts, r: ScriptRecord| {
        let (kind, body) = script_payload(&r);
        (ts, kind, body)
    };
    let one = page(
        1,
        &[
            at(10, Create(script(1, "zz", "echo 1"))),
            at(11, Create(script(2, "tmp", "echo 2"))),
            at(12, Update(script(1, "deploy", "echo 3"))),
        ],
    );
    let two = page(
        2,
        &[
            at(13, Delete(Uuid::from_u128(2))),
            (14, 2, b"wrong key".to_vec()),
        ],
    );
    for pages in [[one.clone(), two.clone()].concat(), [two, one].concat()] {
        let s = Stores::new(&pages, &[], &[]).unwrap();
        let names: Vec<_> = s.script_list().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["deploy"]);
        let deploy = s.script_get("deploy").unwrap();
        // Tags sorted, repeats dropped; found by id in any spelling.
        assert_eq!(deploy.tags, ["a", "b"]);
        assert_eq!(
            s.script_get(&Uuid::from_u128(1).simple().to_string()),
            Some(deploy)
        );
        // The record that did not decrypt is the main module's to count.
        assert_eq!(s.unreadable(), 0);
    }
    // A payload that does not decode is counted; a page cut short is refused.
    let bad = page(3, &[(1, PAYLOAD, payload_body("v0", b"\xc1"))]);
    assert_eq!(Stores::new(&bad, &[], &[]).unwrap().unreadable(), 1);
    let unknown = page(3, &[(1, PAYLOAD, payload_body("v7", &[]))]);
    assert_eq!(Stores::new(&unknown, &[], &[]).unwrap().unreadable(), 1);
    let e = Stores::new(&bad[..bad.len() - 1], &[], &[]).err().unwrap();
    assert_eq!(refusal(e).0, "store");
}

#[wasm_bindgen_test]
fn pages_of_entries_from_before_read_the_same() {
    // Kinds 3, 4, 5: the entries themselves (script, config-shell-alias, dotfiles-var v0).
    let create = ScriptRecord::Create(script(1, "deploy", "echo 1"));
    let scripts = page(1, &[(1, 3, create.encode())]);
    let alias = |r: AliasRecord| r.encode();
    let aliases = page(
        1,
        &[
            (
                1,
                4,
                alias(AliasRecord::Create(Alias {
                    name: "ll".into(),
                    value: "ls -la".into(),
                })),
            ),
            (
                2,
                4,
                alias(AliasRecord::Create(Alias {
                    name: "gp".into(),
                    value: "git push".into(),
                })),
            ),
            (3, 4, alias(AliasRecord::Delete("gp".into()))),
        ],
    );
    let var = VarRecord::Create(Var {
        name: "EDITOR".into(),
        value: "hx".into(),
        export: true,
    });
    // Old and new frames side by side (a series appended to since).
    let vars = [
        page(1, &[(1, 5, var.encode())]),
        page(
            2,
            &[(
                2,
                PAYLOAD,
                payload_body(
                    DOTFILES_VERSION.as_str(),
                    &VarRecord::Create(Var {
                        name: "PAGER".into(),
                        value: "less".into(),
                        export: false,
                    })
                    .encode(),
                ),
            )],
        ),
    ]
    .concat();
    let s = Stores::new(&scripts, &aliases, &vars).unwrap();
    assert_eq!(
        s.script_list(),
        [script(1, "deploy", "echo 1")].map(|mut x| {
            x.tags = vec!["a".into(), "b".into()];
            x
        })
    );
    assert_eq!(
        s.alias_list(),
        [Alias {
            name: "ll".into(),
            value: "ls -la".into()
        }]
    );
    let names: Vec<_> = s
        .var_list()
        .into_iter()
        .map(|v| (v.name, v.export))
        .collect();
    assert_eq!(
        names,
        [("EDITOR".to_string(), true), ("PAGER".to_string(), false)]
    );
}

#[wasm_bindgen_test]
fn a_scripts_change_is_one_record_and_the_refusals_name_why() {
    let taken = ScriptRecord::Create(script(1, "taken", "true"));
    let free = ScriptRecord::Create(script(2, "free", "true"));
    let pages = page(1, &[(1, 3, taken.encode()), (2, 3, free.encode())]);
    let s = Stores::new(&pages, &[], &[]).unwrap();
    type Set = Result<(String, ScriptRecord, String), (String, String)>;
    let invalid = |m: &str| -> Set { Err(("invalid".to_string(), m.to_string())) };

    // A new script: a UUID v7, every field as given.
    let (version, record, id) = set(&s, r#"{"name":"new","script":"echo","tags":["x"]}"#).unwrap();
    assert_eq!(version, "v0");
    let ScriptRecord::Create(made) = &record else {
        panic!("{record:?}")
    };
    assert_eq!(made.id.get_version_num(), 7);
    assert_eq!(id, made.id.to_string());
    assert_eq!(
        (made.name.as_str(), made.tags.clone()),
        ("new", vec!["x".to_string()])
    );
    // The id of a live script: an update; its own name is no clash.
    let one = Uuid::from_u128(1);
    let (_, record, _) = set(
        &s,
        &format!(r#"{{"id":"{one}","name":"taken","script":"x"}}"#),
    )
    .unwrap();
    assert!(matches!(record, ScriptRecord::Update(ref x) if x.id == one && x.script == "x"));
    // Any other id: created with it (a deleted script restored).
    let gone = Uuid::from_u128(9);
    let (_, record, _) = set(&s, &format!(r#"{{"id":"{gone}","name":"n","script":"x"}}"#)).unwrap();
    assert!(matches!(record, ScriptRecord::Create(ref x) if x.id == gone));

    assert_eq!(
        set(&s, r#"{"name":"  ","script":"x"}"#),
        invalid("a script needs a name")
    );
    assert_eq!(
        set(&s, r#"{"name":"taken","script":"x"}"#),
        invalid("a script named `taken` already exists")
    );
    let two = Uuid::from_u128(2);
    assert_eq!(
        set(
            &s,
            &format!(r#"{{"id":"{two}","name":"taken","script":"x"}}"#)
        ),
        invalid("a script named `taken` already exists")
    );
    assert_eq!(
        set(&s, r#"{"script":"x"}"#),
        invalid("script: missing field `name`")
    );
    let bad_id = set(&s, r#"{"id":"nope","name":"n","script":"x"}"#).unwrap_err();
    assert!(bad_id.1.starts_with("script: id: "), "{bad_id:?}");
    let bad_tags = set(&s, r#"{"name":"n","script":"x","tags":"a,b"}"#).unwrap_err();
    assert_eq!(
        bad_tags,
        (
            "invalid".into(),
            "script: tags: invalid type: string \"a,b\", expected a sequence".into()
        )
    );

    // A delete of a live script; of no script, refused.
    let a = s.script_delete(&one.to_string()).unwrap();
    let payload = js_sys::Uint8Array::new(&a.get(1)).to_vec();
    assert_eq!(
        ScriptRecord::decode(&SCRIPT_VERSION, &payload).unwrap(),
        ScriptRecord::Delete(one)
    );
    assert_eq!(
        refusal(s.script_delete(&gone.to_string()).unwrap_err()),
        ("invalid".into(), format!("no script has the id {gone}"))
    );
    assert!(refusal(s.script_delete("nope").unwrap_err())
        .1
        .starts_with("script id: "));
    assert_eq!(
        refusal(s.script_written(&gone.to_string()).unwrap_err()),
        ("invalid".into(), format!("script {gone} did not apply"))
    );
}
