//! The scripts store: what atuin-scripts 18.24.4 rebuilds from every `script` record.
//!
//! Atuin (`ScriptStore::build` → `Database::replay`) empties its scripts database and replays
//! every script record of every host, oldest record timestamp first, as SQL on two tables:
//! `scripts (id primary key, name unique, description, shebang, script)` and
//! `script_tags (script_id, tag, unique together)`:
//! - **create**: `insert or ignore` the script (ignored when its id *or its name* is already
//!   there), then `insert or ignore` each of its tags for its id (done even when the script was
//!   ignored, so those tags join whatever tags that id has or gets).
//! - **update**: set name, description, shebang and body of the script with that id (nothing if
//!   there is none), then replace that id's tags with the update's. Renaming onto a name another
//!   script holds violates the unique index: Atuin's whole replay fails and it keeps the scripts
//!   it had before. We skip that one record instead (the script and its tags stay as they were)
//!   and report it in [`ScriptStore::conflicts`].
//! - **delete**: remove the script with that id and all its tags. No tombstone: a create of the
//!   same id with a later timestamp brings it back.
//!
//! So the result depends on the order of the records, and that order is the record timestamp.
//! Between equal timestamps Atuin goes by SQLite's row order; we go by [`RecordOrigin`]
//! (timestamp, then host id, idx, record id). To give the same store whatever order records
//! are applied in, the store keeps every record it was given, sorted by origin, and replays:
//! a record newer than all before it is applied at once; an older one triggers a replay of all
//! (scripts are few and small).
//!
//! Listing follows Atuin: `atuin scripts list` prints scripts in the order the replay inserted
//! them, and a script's tags come sorted (byte order, from the unique index).

use alloc::string::String;
use alloc::vec::Vec;

use uuid::Uuid;

use super::{Fold, RecordOrigin};
use crate::payload::script::{Script, ScriptRecord};
use crate::record::Tag;

/// A row of Atuin's `scripts` table.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    /// The create that inserted it: rows list in this order.
    created: RecordOrigin,
    name: String,
    description: String,
    shebang: String,
    script: String,
}

/// An update Atuin's replay fails on: it renames its script onto a name another script holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The update record (skipped).
    pub record: RecordOrigin,
    /// The script it updates.
    pub script: Uuid,
    /// The name it asks for.
    pub name: String,
    /// The script that holds that name.
    pub holder: Uuid,
}

/// Atuin's two tables after a replay, and the updates it would have failed on. Vectors, not
/// maps: scripts are few, and each map type costs the browser's wasm several KB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tables {
    /// `scripts`, in the order the replay inserted them (so by `created`).
    rows: Vec<(Uuid, Row)>,
    /// `script_tags` by script id, each sorted and unique; may hold ids no row has (as Atuin's
    /// table can).
    tags: Vec<(Uuid, Vec<String>)>,
    conflicts: Vec<Conflict>,
}

impl Tables {
    fn row(&self, id: &Uuid) -> Option<usize> {
        self.rows.iter().position(|(i, _)| i == id)
    }

    /// The unique index on `name`.
    fn named(&self, name: &str) -> Option<Uuid> {
        self.rows
            .iter()
            .find(|(_, r)| r.name == name)
            .map(|(i, _)| *i)
    }

    /// Replaces (`replace`) or joins the tags of `id`.
    fn set_tags(&mut self, id: Uuid, tags: &[String], replace: bool) {
        if !replace && tags.is_empty() {
            return;
        }
        let mut set = Vec::new();
        if let Some(at) = self.tags.iter().position(|(i, _)| *i == id) {
            let (_, old) = self.tags.remove(at);
            if !replace {
                set = old;
            }
        }
        set.extend(tags.iter().cloned());
        crate::sort::sort_cold(&mut set);
        set.dedup();
        if !set.is_empty() {
            self.tags.push((id, set));
        }
    }

    fn apply(&mut self, origin: RecordOrigin, record: &ScriptRecord) {
        match record {
            ScriptRecord::Create(s) => {
                if self.row(&s.id).is_none() && self.named(&s.name).is_none() {
                    self.rows.push((
                        s.id,
                        Row {
                            created: origin,
                            name: s.name.clone(),
                            description: s.description.clone(),
                            shebang: s.shebang.clone(),
                            script: s.script.clone(),
                        },
                    ));
                }
                self.set_tags(s.id, &s.tags, false);
            }
            ScriptRecord::Update(s) => {
                if let Some(at) = self.row(&s.id) {
                    match self.named(&s.name) {
                        Some(holder) if holder != s.id => {
                            self.conflicts.push(Conflict {
                                record: origin,
                                script: s.id,
                                name: s.name.clone(),
                                holder,
                            });
                            return;
                        }
                        _ => {}
                    }
                    let row = &mut self.rows[at].1;
                    row.name.clone_from(&s.name);
                    row.description.clone_from(&s.description);
                    row.shebang.clone_from(&s.shebang);
                    row.script.clone_from(&s.script);
                }
                self.set_tags(s.id, &s.tags, true);
            }
            ScriptRecord::Delete(id) => {
                if let Some(at) = self.row(id) {
                    self.rows.remove(at);
                }
                self.set_tags(*id, &[], true);
            }
        }
    }

    fn script(&self, id: Uuid, row: &Row) -> Script {
        Script {
            id,
            name: row.name.clone(),
            description: row.description.clone(),
            shebang: row.shebang.clone(),
            tags: (self.tags.iter().find(|(i, _)| *i == id))
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
            script: row.script.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptStore {
    /// Every record applied, sorted by origin (replay order).
    log: Vec<(RecordOrigin, ScriptRecord)>,
    /// The replay of `log`.
    tables: Tables,
}

impl Fold for ScriptStore {
    const TAG: Tag = Tag::Script;
    type Payload = ScriptRecord;

    fn fold(&mut self, origin: RecordOrigin, payload: ScriptRecord) {
        let at = match self.log.binary_search_by_key(&origin, |(o, _)| *o) {
            Ok(_) => return, // the same record again
            Err(at) => at,
        };
        if at == self.log.len() {
            self.tables.apply(origin, &payload);
            self.log.push((origin, payload));
        } else {
            self.log.insert(at, (origin, payload));
            let mut t = Tables::default();
            for (o, r) in &self.log {
                t.apply(*o, r);
            }
            self.tables = t;
        }
    }
}

impl ScriptStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Live scripts in the order `atuin scripts list` prints them (the order the replay created
    /// them), tags sorted.
    pub fn scripts(&self) -> Vec<Script> {
        let t = &self.tables;
        t.rows.iter().map(|(id, r)| t.script(*id, r)).collect()
    }

    /// The live script with this id.
    pub fn get(&self, id: &Uuid) -> Option<Script> {
        let (id, row) = &self.tables.rows[self.tables.row(id)?];
        Some(self.tables.script(*id, row))
    }

    /// The live script of this name (names are unique), as `atuin scripts get NAME` finds it.
    pub fn get_by_name(&self, name: &str) -> Option<Script> {
        self.get(&self.tables.named(name)?)
    }

    /// The record that created the live script with this id.
    pub fn created(&self, id: &Uuid) -> Option<RecordOrigin> {
        Some(self.tables.rows[self.tables.row(id)?].1.created)
    }

    /// Updates skipped because Atuin's replay fails on them (see the module docs): while any
    /// is listed, atuin 18.24.4 cannot rebuild its scripts from these records and shows what it
    /// had before.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.tables.conflicts
    }

    /// How many records have been applied.
    pub fn records(&self) -> usize {
        self.log.len()
    }

    pub fn len(&self) -> usize {
        self.tables.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::script::SCRIPT_VERSION;
    use crate::store::test_support::{both_orders, record, NextIdx};
    use crate::store::DecRecord;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;

    fn rec(host: u128, idx: u64, ts: u64, r: &ScriptRecord) -> DecRecord {
        record(Tag::Script, SCRIPT_VERSION, host, idx, ts, r.encode())
    }

    fn script(id: u128, name: &str, body: &str, tags: &[&str]) -> Script {
        Script {
            id: Uuid::from_u128(id),
            name: name.into(),
            description: String::new(),
            shebang: "bash".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            script: body.into(),
        }
    }

    fn names(s: &ScriptStore) -> Vec<String> {
        s.scripts().into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn create_update_delete_in_timestamp_order() {
        use ScriptRecord::*;
        let recs = [
            rec(1, 0, 10, &Create(script(1, "kept", "a", &["x"]))),
            rec(1, 1, 20, &Create(script(2, "old", "b", &[]))),
            rec(2, 0, 30, &Create(script(3, "removed", "c", &[]))),
            rec(1, 2, 40, &Update(script(2, "new", "b2", &["z", "y"]))),
            rec(2, 1, 50, &Delete(Uuid::from_u128(3))),
        ];
        let mut s = ScriptStore::new();
        // Applied newest first: every record but the first triggers a replay.
        s.apply_all(recs.iter().rev()).unwrap();
        assert_eq!(names(&s), ["kept", "new"]);
        let new = s.get_by_name("new").unwrap();
        assert_eq!(
            (new.script.as_str(), new.tags),
            ("b2", vec!["y".into(), "z".into()])
        );
        assert!(s.get_by_name("old").is_none());
        assert_eq!(s.records(), 5);
        // The same record again changes nothing.
        let before = s.clone();
        s.apply(&recs[2]).unwrap();
        assert_eq!(s, before);
    }

    #[test]
    fn atuin_sql_quirks() {
        use ScriptRecord::*;
        let mut s = ScriptStore::new();
        // A create of a taken name is ignored, but its tags stay with its id...
        s.apply(&rec(1, 0, 10, &Create(script(1, "deploy", "one", &["a"]))))
            .unwrap();
        s.apply(&rec(2, 0, 11, &Create(script(2, "deploy", "two", &["b"]))))
            .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.get_by_name("deploy").unwrap().script, "one");
        // ...and show up once that id is created (a second create of one id: the first wins,
        // the tags join).
        s.apply(&rec(1, 1, 12, &Delete(Uuid::from_u128(1))))
            .unwrap();
        s.apply(&rec(
            2,
            1,
            13,
            &Create(script(2, "deploy", "two again", &["c"])),
        ))
        .unwrap();
        let two = s.get(&Uuid::from_u128(2)).unwrap();
        assert_eq!(
            (two.script.as_str(), two.tags),
            ("two again", vec!["b".into(), "c".into()])
        );
        // A delete is not a tombstone: a later create brings the id back.
        s.apply(&rec(1, 2, 14, &Create(script(1, "build", "one", &[]))))
            .unwrap();
        assert_eq!(names(&s), ["deploy", "build"]);
        // Renaming onto a taken name: Atuin's replay fails; we skip the record and say so.
        s.apply(&rec(1, 3, 15, &Update(script(1, "deploy", "x", &["t"]))))
            .unwrap();
        assert_eq!(s.get(&Uuid::from_u128(1)).unwrap().script, "one");
        assert_eq!(
            s.conflicts(),
            [Conflict {
                record: RecordOrigin::of(&rec(1, 3, 15, &Delete(Uuid::nil()))),
                script: Uuid::from_u128(1),
                name: "deploy".into(),
                holder: Uuid::from_u128(2),
            }]
        );
        // An update of an id with no script changes no script.
        s.apply(&rec(3, 0, 16, &Update(script(9, "ghost", "g", &["g"]))))
            .unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.get_by_name("ghost").is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_order_same_store(
            raw in proptest::collection::vec(
                (1u128..4, 0u64..6, 0u8..3, 1u128..4, 0usize..3, 0usize..3, 0usize..3),
                0..20,
            ),
            seed in proptest::collection::vec(any::<usize>(), 0..20),
        ) {
            let names = ["a", "b", "c"];
            let tags = [&[][..], &["t"][..], &["t", "u"][..]];
            let mut next = NextIdx::default();
            let records: Vec<DecRecord> = raw.iter().map(|(h, ts, kind, id, n, body, t)| {
                let s = script(*id, names[*n], names[*body], tags[*t]);
                let r = match kind {
                    0 => ScriptRecord::Create(s),
                    1 => ScriptRecord::Update(s),
                    _ => ScriptRecord::Delete(s.id),
                };
                rec(*h, next.of(*h), *ts, &r)
            }).collect();
            let (a, b) = both_orders::<ScriptStore>(&records, &seed);
            prop_assert_eq!(a.scripts(), b.scripts());
            prop_assert_eq!(a.conflicts(), b.conflicts());
            prop_assert_eq!(&a, &b);
        }
    }
}
