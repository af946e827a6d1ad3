//! Records written by the real atuin 18.24.4 (tests/fixtures/atuin18, see its README and
//! make.sh): scripts created, edited and deleted with `atuin scripts`, kv set and deleted with
//! `atuin kv`, legacy aliases and variables written by atuin-dotfiles 18.24.4's own store code.
//! Every record decrypts with the fixture's key, every payload decodes and re-encodes to the
//! same bytes, and every store folds to what the script made and what atuin itself printed, in
//! any order.

use terrapin_core::crypto::{decrypt_record, Key};
use terrapin_core::payload::dotfiles::{Alias, AliasRecord, Var, VarRecord};
use terrapin_core::payload::script::{Script, ScriptRecord};
use terrapin_core::record::{EncRecord, HostId, Tag, Version};
use terrapin_core::store::{
    any_meaning, has_any_store, AliasStore, AnyMeaning, Fold, KvStore, RecordOrigin, ScriptStore,
    VarStore,
};

#[path = "support/fixture_dir.rs"]
mod fixture_dir;
use fixture_dir::FixtureDir;

const DIR: FixtureDir<EncRecord> = FixtureDir::new(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/atuin18"
));

#[derive(Default, PartialEq, Debug)]
struct Stores {
    scripts: ScriptStore,
    kv: KvStore,
    aliases: AliasStore,
    vars: VarStore,
}

/// Folds every record through `any_meaning`, the way a client reads them.
fn fold<'a>(records: impl IntoIterator<Item = &'a EncRecord>, key: &Key) -> Stores {
    let mut s = Stores::default();
    for r in records {
        let o = RecordOrigin::of(r);
        match any_meaning(r, key).unwrap_or_else(|| panic!("no store for {}", r.tag)) {
            AnyMeaning::Script(x) => s.scripts.fold(o, x),
            AnyMeaning::Kv(x) => s.kv.fold(o, x),
            AnyMeaning::ShellAlias(x) => s.aliases.fold(o, x),
            AnyMeaning::DotfilesVar(x) => s.vars.fold(o, x),
            other => panic!("record {}: {other:?}", r.id),
        }
    }
    s
}

fn of_tag<'a>(records: &'a [EncRecord], tag: &Tag) -> Vec<&'a EncRecord> {
    let mut v: Vec<_> = records.iter().filter(|r| r.tag == *tag).collect();
    v.sort_by_key(|r| r.idx);
    v
}

#[test]
fn every_record_decodes_and_reencodes_byte_for_byte() {
    let (records, key) = DIR.fixture();
    let host: HostId = DIR.read("host_id").trim().parse().unwrap();
    let count = |t: Tag| records.iter().filter(|r| r.tag == t).count();
    assert_eq!(
        (
            count(Tag::Script),
            count(Tag::Kv),
            count(Tag::ConfigShellAlias),
            count(Tag::DotfilesVar)
        ),
        (6, 5, 5, 4)
    );
    assert_eq!(records.len(), 20);
    for r in &records {
        assert_eq!(r.host.id, host);
        assert!(has_any_store(&r.tag), "{}", r.tag);
        let d = decrypt_record(r, &key).unwrap();
        let bytes = &d.data.0;
        let again = match r.tag {
            Tag::Script => ScriptRecord::decode(&r.version, bytes).unwrap().encode(),
            Tag::ConfigShellAlias => AliasRecord::decode(&r.version, bytes).unwrap().encode(),
            Tag::DotfilesVar => VarRecord::decode(&r.version, bytes).unwrap().encode(),
            Tag::Kv => terrapin_core::payload::kv::KvRecord::decode(&r.version, bytes)
                .unwrap()
                .encode(),
            ref t => panic!("unexpected tag {t}"),
        };
        assert_eq!(&again, bytes, "record {} ({})", r.id, r.tag);
        let want = if r.tag == Tag::Kv {
            Version::V1
        } else {
            Version::V0
        };
        assert_eq!(r.version, want, "{}", r.tag);
    }
    // Each series is gapless from 0, in timestamp order.
    for t in [
        Tag::Script,
        Tag::Kv,
        Tag::ConfigShellAlias,
        Tag::DotfilesVar,
    ] {
        let s = of_tag(&records, &t);
        assert!(s.iter().enumerate().all(|(i, r)| r.idx == i as u64));
        assert!(s.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    }
}

#[test]
fn script_records_are_what_the_cli_wrote() {
    let (records, key) = DIR.fixture();
    let recs: Vec<ScriptRecord> = of_tag(&records, &Tag::Script)
        .into_iter()
        .map(|r| {
            ScriptRecord::decode(&r.version, &decrypt_record(r, &key).unwrap().data.0).unwrap()
        })
        .collect();
    let [ScriptRecord::Create(deploy), ScriptRecord::Create(greet), ScriptRecord::Create(scratch), ScriptRecord::Update(ship), ScriptRecord::Update(greet2), ScriptRecord::Delete(gone)] =
        &recs[..]
    else {
        panic!("{recs:#?}");
    };
    assert_eq!(
        deploy,
        &Script {
            id: deploy.id,
            name: "deploy".into(),
            description: "Deploy the site".into(),
            shebang: "bash".into(),
            tags: vec!["prod".into(), "web".into()],
            script: "#!/usr/bin/env bash\nset -e\nrsync -a site/ web:/srv/www/\necho \"deployed {{ env }}\"\n".into(),
        }
    );
    assert_eq!(
        greet,
        &Script {
            id: greet.id,
            name: "greet".into(),
            description: String::new(),
            shebang: "/usr/bin/env python3".into(),
            tags: vec!["demo".into(), "fun".into()],
            script: "print(\"grüße, 世界 🐢\")\n".into(),
        }
    );
    assert_eq!(
        (
            &*scratch.name,
            &*scratch.shebang,
            &scratch.tags[..],
            &*scratch.script
        ),
        ("scratch", "", &[][..], "ls -la\n")
    );
    // `scripts edit deploy --rename ship -d … -t ops -t web`, body rewritten by $EDITOR.
    assert_eq!(
        ship,
        &Script {
            id: deploy.id,
            name: "ship".into(),
            description: "Ship the site".into(),
            shebang: "bash".into(),
            tags: vec!["ops".into(), "web".into()],
            script: "rsync -a --delete site/ web:/srv/www/\necho \"shipped {{ env }}\"\n".into(),
        }
    );
    // `scripts edit greet --no-tags --no-edit -s python3`.
    assert_eq!(
        greet2,
        &Script {
            shebang: "python3".into(),
            tags: vec![],
            ..greet.clone()
        }
    );
    assert_eq!(*gone, scratch.id);
}

/// `atuin scripts list`'s output (crates/atuin/src/command/client/scripts.rs).
fn scripts_list(s: &ScriptStore) -> String {
    let mut out = String::from("Available scripts:\n");
    for x in s.scripts() {
        if x.tags.is_empty() {
            out += &format!("- {} \n", x.name);
        } else {
            out += &format!("- {} [tags: {}]\n", x.name, x.tags.join(", "));
        }
        if !x.description.is_empty() {
            out += &format!("  Description: {}\n", x.description);
        }
    }
    out
}

/// `atuin scripts get NAME`'s output.
fn scripts_get(x: &Script) -> String {
    let mut out = format!("---\nname: {}\nid: {}\n", x.name, x.id);
    if x.description.is_empty() {
        out += "description: \"\"\n";
    } else {
        out += "description: |\n";
        for l in x.description.lines() {
            out += &format!("  {l}\n");
        }
    }
    if x.tags.is_empty() {
        out += "tags: []\n";
    } else {
        out += "tags:\n";
        for t in &x.tags {
            out += &format!("  - {t}\n");
        }
    }
    out += &format!("shebang: {}\nscript: |\n", x.shebang);
    for l in x.script.lines() {
        out += &format!("  {l}\n");
    }
    out
}

#[test]
fn stores_fold_to_what_atuin_printed_in_any_order() {
    let (records, key) = DIR.fixture();
    let s = fold(&records, &key);

    // scripts: deploy renamed to ship and rewritten, greet's tags dropped, scratch deleted.
    assert_eq!(s.scripts.records(), 6);
    assert_eq!(s.scripts.len(), 2);
    assert!(s.scripts.conflicts().is_empty());
    assert!(s.scripts.get_by_name("deploy").is_none());
    assert!(s.scripts.get_by_name("scratch").is_none());
    let ship = s.scripts.get_by_name("ship").unwrap();
    assert_eq!(ship.tags, ["ops", "web"]);
    assert_eq!(ship.description, "Ship the site");
    assert_eq!(s.scripts.get_by_name("greet").unwrap().shebang, "python3");
    assert_eq!(
        scripts_list(&s.scripts),
        DIR.read("expected-scripts-list.txt")
    );
    let got: String = ["ship", "greet"]
        .iter()
        .map(|n| scripts_get(&s.scripts.get_by_name(n).unwrap()))
        .collect();
    assert_eq!(got, DIR.read("expected-scripts-get.txt"));

    // kv: editor overwritten, pager deleted.
    assert_eq!(s.kv.get("default", "editor"), Some("helix"));
    assert_eq!(s.kv.get("default", "pager"), None);
    assert_eq!(s.kv.get("café", "clé"), Some("naïve ☕"));
    assert_eq!(s.kv.len(), 2);
    for line in DIR.read("expected-kv.tsv").lines() {
        let (nk, v) = line.split_once('\t').unwrap();
        let (n, k) = nk.split_once(':').unwrap();
        assert_eq!(s.kv.get(n, k), Some(v), "{nk}");
    }

    // aliases: k overwritten, gp deleted.
    let aliases: Vec<Alias> = s.aliases.aliases().collect();
    assert_eq!(
        aliases,
        [
            Alias {
                name: "k".into(),
                value: "kubectl --context prod".into()
            },
            Alias {
                name: "ll".into(),
                value: "ls -la --color=auto".into()
            },
        ]
    );
    assert!(s.aliases.get("gp").is_none());
    // `atuin dotfiles alias list`: sorted by lowercased name, `name=value`.
    let mut listed: Vec<&Alias> = aliases.iter().collect();
    listed.sort_by_key(|a| a.name.to_lowercase());
    let out: String = listed
        .iter()
        .map(|a| format!("{}={}\n", a.name, a.value))
        .collect();
    assert_eq!(out, DIR.read("expected-aliases.txt"));

    // vars: PAGER deleted, one shell variable.
    let vars: Vec<Var> = s.vars.vars().collect();
    assert_eq!(
        vars,
        [
            Var {
                name: "EDITOR".into(),
                value: "hx".into(),
                export: true
            },
            Var {
                name: "PROMPT_MODE".into(),
                value: "fancy \"quoted\" $x".into(),
                export: false
            },
        ]
    );
    assert!(s.vars.get("PAGER").is_none());
    let mut listed = vars.clone();
    listed.sort_by_key(|v| v.name.to_lowercase());
    let out: String = listed
        .iter()
        .map(|v| {
            let export = if v.export { "export " } else { "" };
            format!("{export}{}={}\n", v.name, v.value)
        })
        .collect();
    assert_eq!(out, DIR.read("expected-vars.txt"));

    // Any order: newest first, and interleaved, give the same stores.
    assert_eq!(fold(records.iter().rev(), &key), s);
    let (even, odd): (Vec<_>, Vec<_>) = records.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let mixed: Vec<&EncRecord> = odd
        .into_iter()
        .chain(even.into_iter().rev())
        .map(|(_, r)| r)
        .collect();
    assert_eq!(fold(mixed, &key), s);
}

#[test]
fn the_fold_trait_reads_the_same() {
    let (records, key) = DIR.fixture();
    let mut scripts = ScriptStore::new();
    let mut aliases = AliasStore::new();
    let mut vars = VarStore::new();
    for r in &records {
        let d = decrypt_record(r, &key).unwrap();
        // Each store ignores the other tags.
        scripts.apply(&d).unwrap();
        aliases.apply(&d).unwrap();
        vars.apply(&d).unwrap();
    }
    let s = fold(&records, &key);
    assert_eq!((scripts, aliases, vars), (s.scripts, s.aliases, s.vars));
}
