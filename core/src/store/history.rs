//! The history store: live entries after every host's creates and deletes.
//!
//! Rules (a fold that does not depend on the order records are applied in):
//! - A delete removes the entry whichever host wrote it, and its id stays deleted for good
//!   (a tombstone): a create applied after the delete (e.g. the delete's host synced first)
//!   does not bring the entry back.
//! - Two creates of the same history id (an id re-pushed, or the same entry imported twice):
//!   the *earliest* record wins, by [`RecordOrigin`] (record timestamp, then host id, idx,
//!   record id). This matches Atuin, which inserts with `insert or ignore` while replaying
//!   records in timestamp order.
//! - Entries whose `deleted_at` is set (Atuin's soft delete) are kept; check
//!   [`History::is_soft_deleted`].
//!
//! Layout, so a million entries fit a browser tab: each id seen has a fixed-size slot, in
//! chunks that never move; strings are interned, each distinct one stored once (commands in a
//! table of their own, which the search index shares; cwd, session, hostname, author, intent
//! and shell in another); an id finds its slot through a hash table. Entries are made back
//! into [`History`] values when asked for.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Fold, PayloadError, RecordOrigin};
use crate::payload::history::{AuthorKind, History, HistoryId, HistoryRecord};
use crate::record::{HostId, RecordId, Tag, Version};

/// Grow `v` to hold `extra` more: by a quarter once large (a doubling of a buffer of tens of
/// MB would hold both copies at once, and the wasm memory never shrinks).
pub(crate) fn grow<T>(v: &mut Vec<T>, extra: usize) {
    if let Some(more) = headroom(v.len(), v.capacity(), extra) {
        v.reserve_exact(more);
    }
}

/// What to reserve beyond `len` (of capacity `cap`) for `extra` more, if anything.
fn headroom(len: usize, cap: usize, extra: usize) -> Option<usize> {
    let step = if cap < 1 << 20 { cap } else { cap / 4 };
    (len + extra > cap).then(|| (len + extra).max(cap + step.max(64)) - len)
}

pub(crate) fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    // Murmur3's finalizer: every input bit reaches the low bits the table uses.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Open addressing over ids `0..n`: 0 empty, else id + 1. Length a power of two (or 0), at
/// most half full.
#[derive(Clone, Debug, Default)]
struct Table(Vec<u32>);

impl Table {
    /// The place of the id `is` accepts, probing from hash `h`, or the free place it would
    /// take.
    #[inline]
    fn place(&self, h: u64, is: impl Fn(u32) -> bool) -> usize {
        let mask = self.0.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let v = self.0[i];
            if v == 0 || is(v - 1) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether holding `n` ids needs a larger table.
    fn full(&self, n: usize) -> bool {
        (n + 1) * 2 > self.0.len()
    }

    /// A table for ids `0..n`, each hashed by `h`, with room for `room` ids in all.
    fn rebuilt(n: usize, room: usize, h: impl Fn(u32) -> u64) -> Self {
        let mut t = Self(alloc::vec![0; ((room.max(n) + 1) * 2).next_power_of_two()]);
        for id in 0..n as u32 {
            let i = t.place(h(id), |_| false);
            t.0[i] = id + 1;
        }
        t
    }
}

/// Distinct strings, concatenated, with a hash table to find them. Ids are dense and never
/// reused.
#[derive(Clone, Debug, Default)]
pub(crate) struct Strings {
    text: String,
    /// End of each string in `text` (its start is the previous end).
    ends: Vec<u32>,
    table: Table,
}

impl Strings {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    fn span(&self, id: u32) -> (usize, usize) {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        (start, self.ends[i] as usize)
    }

    /// Bytes of strings `from..` (all of them for 0).
    pub(crate) fn bytes_from(&self, from: usize) -> usize {
        let start = if from == 0 {
            0
        } else {
            self.ends[from - 1] as usize
        };
        self.text.len() - start
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> &str {
        let (s, e) = self.span(id);
        &self.text[s..e]
    }

    pub(crate) fn find(&self, s: &str) -> Option<u32> {
        if self.table.0.is_empty() {
            return None;
        }
        let i = self.table.place(hash(s.as_bytes()), |id| self.get(id) == s);
        self.table.0[i].checked_sub(1)
    }

    /// The id of `s`, and whether it was added.
    pub(crate) fn intern(&mut self, s: &str) -> (u32, bool) {
        if self.table.full(self.len()) {
            let me = &*self;
            self.table = Table::rebuilt(me.len(), me.len() * 2, |id| hash(me.get(id).as_bytes()));
        }
        let h = hash(s.as_bytes());
        let i = self.table.place(h, |id| self.get(id) == s);
        if let Some(id) = self.table.0[i].checked_sub(1) {
            return (id, false);
        }
        let id = self.len() as u32;
        if let Some(more) = headroom(self.text.len(), self.text.capacity(), s.len()) {
            self.text.reserve_exact(more);
        }
        self.text.push_str(s);
        grow(&mut self.ends, 1);
        self.ends.push(self.text.len() as u32);
        self.table.0[i] = id + 1;
        (id, true)
    }
}

/// Slots per chunk of the store.
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// `Slot::flags`: the entry is live (else a tombstone); it has a `deleted_at`; bits 2-3 its
/// author kind (0: none).
const LIVE: u8 = 1;
const SOFT_DELETED: u8 = 2;
const KIND_SHIFT: u8 = 2;

/// One history id seen: a live entry with the record that created it, its strings as ids into
/// the store's tables, or a tombstone (its id alone).
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) id: HistoryId,
    record: RecordId,
    record_ts: u64,
    idx: u64,
    pub(crate) timestamp: u64,
    duration: i64,
    pub(crate) exit: i64,
    deleted_at: u64,
    /// The record's host, in `HistoryStore::hosts`.
    host: u32,
    /// In `HistoryStore::commands`.
    pub(crate) command: u32,
    /// These in `HistoryStore::fields`; `intent` and `shell` as id + 1, 0 for none.
    pub(crate) cwd: u32,
    pub(crate) session: u32,
    pub(crate) hostname: u32,
    author: u32,
    intent: u32,
    shell: u32,
    flags: u8,
}

impl Slot {
    fn tombstone(id: HistoryId) -> Self {
        Self {
            id,
            record: RecordId(uuid::Uuid::nil()),
            record_ts: 0,
            idx: 0,
            timestamp: 0,
            duration: 0,
            exit: 0,
            deleted_at: 0,
            host: 0,
            command: 0,
            cwd: 0,
            session: 0,
            hostname: 0,
            author: 0,
            intent: 0,
            shell: 0,
            flags: 0,
        }
    }

    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        self.flags & LIVE != 0
    }

    #[inline]
    pub(crate) fn is_soft_deleted(&self) -> bool {
        self.flags & SOFT_DELETED != 0
    }
}

#[derive(Clone, Debug, Default)]
pub struct HistoryStore {
    /// Every id seen, in the order first seen: the live entry or a tombstone. A slot never
    /// moves: the search index refers to entries by slot.
    chunks: Vec<Vec<Slot>>,
    /// Slot of each id.
    ids: Table,
    /// The record hosts of the entries.
    hosts: Vec<HostId>,
    commands: Strings,
    fields: Strings,
    /// How many slots are live.
    live: usize,
}

impl Fold for HistoryStore {
    const TAG: Tag = Tag::History;
    type Payload = HistoryRecord;

    fn decode(version: &Version, bytes: &[u8]) -> Result<HistoryRecord, PayloadError> {
        Ok(HistoryRecord::decode(version, bytes)?)
    }

    fn fold(&mut self, origin: RecordOrigin, payload: HistoryRecord) {
        match payload {
            HistoryRecord::Create(h) => match self.slot_of(&h.id) {
                Some(i) => {
                    let s = self.slot(i);
                    // Deleted, or created by an earlier record.
                    if s.is_live() && self.origin_of(s) > origin {
                        let new = self.make(origin, &h);
                        *self.slot_mut(i) = new;
                    }
                }
                None => {
                    let new = self.make(origin, &h);
                    self.push(new);
                    self.live += 1;
                }
            },
            HistoryRecord::Delete(id) => match self.slot_of(&id) {
                Some(i) => {
                    let s = self.slot_mut(i);
                    if s.is_live() {
                        *s = Slot::tombstone(id);
                        self.live -= 1;
                    }
                }
                None => self.push(Slot::tombstone(id)),
            },
        }
    }
}

impl PartialEq for HistoryStore {
    /// The same ids seen, each live with the same entry and record or deleted in both.
    fn eq(&self, other: &Self) -> bool {
        self.live == other.live
            && self.slots() == other.slots()
            && (0..self.slots() as u32).all(|i| {
                let a = self.slot(i);
                other.slot_of(&a.id).is_some_and(|j| {
                    let b = other.slot(j);
                    a.is_live() == b.is_live()
                        && (!a.is_live()
                            || (self.origin_of(a) == other.origin_of(b)
                                && self.history(a) == other.history(b)))
                })
            })
    }
}

impl Eq for HistoryStore {}

impl HistoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The live entry with this id.
    pub fn get(&self, id: &HistoryId) -> Option<History> {
        self.live_slot(id).map(|s| self.history(s))
    }

    /// Whether an entry with this id is live.
    pub fn contains(&self, id: &HistoryId) -> bool {
        self.live_slot(id).is_some()
    }

    /// The record that created a live entry.
    pub fn origin(&self, id: &HistoryId) -> Option<RecordOrigin> {
        self.live_slot(id).map(|s| self.origin_of(s))
    }

    /// Whether a delete for this id has been applied.
    pub fn is_deleted(&self, id: &HistoryId) -> bool {
        self.slot_of(id).is_some_and(|i| !self.slot(i).is_live())
    }

    /// Live entries, in history id order (each made anew: for tests and tools, not for a
    /// million entries).
    pub fn entries(&self) -> impl Iterator<Item = History> + '_ {
        let mut live: Vec<&Slot> = self.live_slots().map(|(_, s)| s).collect();
        crate::sort::sort_cold_by(&mut live, |a, b| a.id.cmp(&b.id));
        live.into_iter().map(|s| self.history(s))
    }

    /// Live entries sorted by command timestamp, then id (oldest first).
    pub fn entries_by_time(&self) -> Vec<History> {
        let mut v: Vec<&Slot> = self.live_slots().map(|(_, s)| s).collect();
        crate::sort::sort_cold_by(&mut v, |a, b| (a.timestamp, a.id).cmp(&(b.timestamp, b.id)));
        v.into_iter().map(|s| self.history(s)).collect()
    }

    /// Ids of every delete applied (tombstones), in no set order.
    pub fn tombstones(&self) -> impl Iterator<Item = &HistoryId> + '_ {
        self.chunks
            .iter()
            .flatten()
            .filter(|s| !s.is_live())
            .map(|s| &s.id)
    }

    /// The hostnames (`host:user`) in the live entries each host wrote, with how many entries
    /// carry each, most first (ties by name); hosts in id order. Names the hosts of the record
    /// store, whose ids are UUIDs.
    pub fn hostnames(&self) -> Vec<(HostId, Vec<(&str, usize)>)> {
        let mut all: Vec<(HostId, &str)> = self
            .live_slots()
            .map(|(_, s)| (self.hosts[s.host as usize], self.fields.get(s.hostname)))
            .collect();
        crate::sort::sort_cold(&mut all);
        let mut out: Vec<(HostId, Vec<(&str, usize)>)> = Vec::new();
        for (host, name) in all {
            if out.last().is_none_or(|(h, _)| *h != host) {
                out.push((host, Vec::new()));
            }
            let names = &mut out.last_mut().expect("pushed").1;
            match names.last_mut() {
                Some((n, count)) if *n == name => *count += 1,
                _ => names.push((name, 1)),
            }
        }
        for (_, names) in &mut out {
            // Names are distinct here: an unstable sort gives the same order.
            crate::sort::sort_cold_by(names, |a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        }
        out
    }

    /// Room for `n` ids and `n` distinct commands in all, so that folding them never stops to
    /// rehash everything (a pause of ~100 ms at a million, where the tables double).
    pub fn reserve(&mut self, n: usize) {
        let slots = self.slots();
        if self.ids.full(n) {
            self.ids = Table::rebuilt(slots, n, |i| hash(self.slot(i).id.0.as_bytes()));
        }
        let c = &self.commands;
        if c.table.full(n) {
            let t = Table::rebuilt(c.len(), n, |id| hash(c.get(id).as_bytes()));
            self.commands.table = t;
        }
        self.chunks
            .reserve((n / CHUNK + 1).saturating_sub(self.chunks.len()));
    }

    /// Number of live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of slots (ids seen, live or deleted).
    pub(crate) fn slots(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |c| (self.chunks.len() - 1) * CHUNK + c.len())
    }

    #[inline]
    pub(crate) fn slot(&self, i: u32) -> &Slot {
        &self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
    }

    fn slot_mut(&mut self, i: u32) -> &mut Slot {
        &mut self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
    }

    /// The live slots with their numbers.
    pub(crate) fn live_slots(&self) -> impl Iterator<Item = (u32, &Slot)> + '_ {
        self.chunks
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, s)| s.is_live())
            .map(|(i, s)| (i as u32, s))
    }

    pub(crate) fn slot_of(&self, id: &HistoryId) -> Option<u32> {
        if self.ids.0.is_empty() {
            return None;
        }
        let i = self
            .ids
            .place(hash(id.0.as_bytes()), |s| self.slot(s).id == *id);
        self.ids.0[i].checked_sub(1)
    }

    fn live_slot(&self, id: &HistoryId) -> Option<&Slot> {
        let s = self.slot(self.slot_of(id)?);
        s.is_live().then_some(s)
    }

    /// The distinct commands, by [`Slot::command`].
    pub(crate) fn commands(&self) -> &Strings {
        &self.commands
    }

    /// The distinct cwds, sessions, hostnames and the rest, by the [`Slot`]'s ids.
    pub(crate) fn fields(&self) -> &Strings {
        &self.fields
    }

    fn push(&mut self, s: Slot) {
        let n = self.slots();
        if self.ids.full(n) {
            self.ids = Table::rebuilt(n, n * 2, |i| hash(self.slot(i).id.0.as_bytes()));
        }
        let at = self.ids.place(hash(s.id.0.as_bytes()), |_| false);
        self.ids.0[at] = n as u32 + 1;
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        self.chunks.last_mut().expect("pushed").push(s);
    }

    fn origin_of(&self, s: &Slot) -> RecordOrigin {
        RecordOrigin {
            timestamp: s.record_ts,
            host: self.hosts[s.host as usize],
            idx: s.idx,
            record: s.record,
        }
    }

    /// The live slot of `h`, created by the record at `origin`.
    fn make(&mut self, origin: RecordOrigin, h: &History) -> Slot {
        let host = match self.hosts.iter().rposition(|x| *x == origin.host) {
            Some(i) => i,
            None => {
                self.hosts.push(origin.host);
                self.hosts.len() - 1
            }
        } as u32;
        let fields = &mut self.fields;
        let mut opt = |s: &Option<String>| s.as_deref().map_or(0, |s| fields.intern(s).0 + 1);
        let (intent, shell) = (opt(&h.intent), opt(&h.shell));
        let kind = h.author_kind.map_or(0, AuthorKind::as_u8);
        Slot {
            id: h.id,
            record: origin.record,
            record_ts: origin.timestamp,
            idx: origin.idx,
            timestamp: h.timestamp,
            duration: h.duration,
            exit: h.exit,
            deleted_at: h.deleted_at.unwrap_or(0),
            host,
            command: self.commands.intern(&h.command).0,
            cwd: self.fields.intern(&h.cwd).0,
            session: self.fields.intern(&h.session).0,
            hostname: self.fields.intern(&h.hostname).0,
            author: self.fields.intern(&h.author).0,
            intent,
            shell,
            flags: LIVE
                | if h.deleted_at.is_some() {
                    SOFT_DELETED
                } else {
                    0
                }
                | kind << KIND_SHIFT,
        }
    }

    /// The entry of a live slot.
    pub(crate) fn history(&self, s: &Slot) -> History {
        let f = |id: u32| String::from(self.fields.get(id));
        let opt = |id: u32| id.checked_sub(1).map(f);
        History {
            id: s.id,
            timestamp: s.timestamp,
            duration: s.duration,
            exit: s.exit,
            command: self.commands.get(s.command).into(),
            cwd: f(s.cwd),
            session: f(s.session),
            hostname: f(s.hostname),
            deleted_at: s.is_soft_deleted().then_some(s.deleted_at),
            author: f(s.author),
            intent: opt(s.intent),
            shell: opt(s.shell),
            author_kind: AuthorKind::from_u8(s.flags >> KIND_SHIFT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::history::HISTORY_VERSION;
    use crate::record::{DecryptedData, Host, Record, RecordId};
    use crate::store::DecRecord;
    use alloc::collections::{BTreeSet, VecDeque};
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn hist(id: u128, cmd: &str) -> History {
        History {
            id: HistoryId(Uuid::from_u128(id)),
            timestamp: 1_700_000_000_000_000_000 + id as u64,
            command: cmd.into(),
            ..crate::sample::history(0)
        }
    }

    fn rec(host: u128, idx: u64, ts: u64, payload: &HistoryRecord) -> DecRecord {
        Record {
            id: RecordId(Uuid::from_u128((host << 64) | idx as u128)),
            idx,
            host: Host::new(HostId(Uuid::from_u128(host))),
            timestamp: ts,
            version: HISTORY_VERSION,
            tag: Tag::History,
            data: DecryptedData(payload.encode()),
        }
    }

    #[test]
    fn delete_from_other_host_and_before_create() {
        let a = HistoryRecord::Create(hist(1, "ls"));
        let b = HistoryRecord::Create(hist(2, "pwd"));
        let del1 = HistoryRecord::Delete(HistoryId(Uuid::from_u128(1)));
        let records = [rec(9, 0, 30, &del1), rec(7, 0, 10, &a), rec(7, 1, 20, &b)];
        let mut s = HistoryStore::new();
        s.apply_all(&records).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.entries().next().unwrap().command, "pwd");
        assert!(s.is_deleted(&HistoryId(Uuid::from_u128(1))));
        assert!(s.get(&HistoryId(Uuid::from_u128(1))).is_none());
        // Room made after: the same store.
        let before = s.clone();
        s.reserve(10_000);
        assert_eq!(s, before);
        assert_eq!(
            s.get(&HistoryId(Uuid::from_u128(2))).unwrap().command,
            "pwd"
        );
        assert!(s.is_deleted(&HistoryId(Uuid::from_u128(1))));
    }

    #[test]
    fn ignores_other_tags_and_reports_bad_records() {
        let mut s = HistoryStore::new();
        let mut r = rec(1, 0, 1, &HistoryRecord::Create(hist(1, "x")));
        r.tag = Tag::Kv;
        s.apply(&r).unwrap();
        assert!(s.is_empty());
        let mut bad = rec(1, 3, 1, &HistoryRecord::Create(hist(1, "x")));
        bad.data = DecryptedData(vec![0xcc, 9]);
        let e = s.apply(&bad).unwrap_err();
        let msg = format!("{e}");
        assert!(msg.contains(&bad.id.to_string()), "{msg}");
        assert!(msg.contains("idx 3"), "{msg}");
        assert!(msg.contains("unknown history record kind 9"), "{msg}");
        let mut unknown = rec(1, 4, 1, &HistoryRecord::Create(hist(1, "x")));
        unknown.version = Version::from("v7");
        assert!(s.apply(&unknown).is_err());
        assert!(s.is_empty());
    }

    #[test]
    fn hostnames_per_writing_host() {
        let mut s = HistoryStore::new();
        let mut a = hist(1, "a");
        a.hostname = "laptop:me".into();
        let mut b = hist(2, "b");
        b.hostname = "laptop:me".into();
        let mut c = hist(3, "c");
        c.hostname = "old-name:me".into();
        let d = hist(4, "d");
        let records = [
            rec(7, 0, 1, &HistoryRecord::Create(a)),
            rec(7, 1, 2, &HistoryRecord::Create(c)),
            rec(7, 2, 3, &HistoryRecord::Create(b)),
            rec(8, 0, 4, &HistoryRecord::Create(d)),
            rec(
                8,
                1,
                5,
                &HistoryRecord::Delete(HistoryId(Uuid::from_u128(3))),
            ),
        ];
        s.apply_all(&records).unwrap();
        let host = |n: u128| HostId(Uuid::from_u128(n));
        // Entry 3 was deleted: its name is gone with it.
        assert_eq!(
            s.hostnames(),
            [
                (host(7), vec![("laptop:me", 2)]),
                (host(8), vec![("laptop:user", 1)])
            ]
        );
    }

    #[test]
    fn earliest_duplicate_create_wins() {
        let mut s = HistoryStore::new();
        s.apply(&rec(2, 0, 50, &HistoryRecord::Create(hist(1, "late"))))
            .unwrap();
        s.apply(&rec(3, 0, 40, &HistoryRecord::Create(hist(1, "early"))))
            .unwrap();
        assert_eq!(s.entries().next().unwrap().command, "early");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Create(u8, u8),
        Delete(u8),
    }

    fn arb_series() -> impl Strategy<Value = Vec<Vec<(Op, u64)>>> {
        let op = prop_oneof![
            3 => (0u8..12, 0u8..3).prop_map(|(i, v)| Op::Create(i, v)),
            1 => (0u8..12).prop_map(Op::Delete),
        ];
        proptest::collection::vec(proptest::collection::vec((op, 0u64..20), 0..12), 1..4)
    }

    fn build_records(series: &[Vec<(Op, u64)>]) -> Vec<VecDeque<DecRecord>> {
        series
            .iter()
            .enumerate()
            .map(|(h, ops)| {
                ops.iter()
                    .enumerate()
                    .map(|(idx, (op, ts))| {
                        let payload = match op {
                            Op::Create(i, v) => {
                                HistoryRecord::Create(hist(*i as u128, &format!("cmd{i}-{v}-{h}")))
                            }
                            Op::Delete(i) => {
                                HistoryRecord::Delete(HistoryId(Uuid::from_u128(*i as u128)))
                            }
                        };
                        rec(h as u128 + 1, idx as u64, *ts, &payload)
                    })
                    .collect()
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any interleaving of the series (each kept in idx order), applied in two sync runs
        /// to the same store, equals a full rebuild series by series.
        #[test]
        fn incremental_equals_rebuild(
            series in arb_series(),
            picks in proptest::collection::vec(any::<u8>(), 0..64),
            split in any::<usize>(),
        ) {
            let queues = build_records(&series);
            let mut full = HistoryStore::new();
            for q in &queues {
                full.apply_all(q).unwrap();
            }

            let mut queues = queues;
            let mut order: Vec<DecRecord> = Vec::new();
            for p in picks {
                let open: Vec<usize> = (0..queues.len()).filter(|i| !queues[*i].is_empty()).collect();
                if open.is_empty() { break; }
                let i = open[p as usize % open.len()];
                order.extend(queues[i].pop_front());
            }
            for q in &mut queues {
                order.extend(q.drain(..));
            }
            let cut = split % (order.len() + 1);
            let mut inc = HistoryStore::new();
            inc.apply_all(&order[..cut]).unwrap();
            inc.apply_all(&order[cut..]).unwrap();
            prop_assert_eq!(&inc, &full);
            // re-applying already seen records changes nothing
            let mut again = inc.clone();
            again.apply_all(&order).unwrap();
            prop_assert_eq!(&again, &full);

            // Model: live = ids created and never deleted.
            let mut created = BTreeSet::new();
            let mut deleted = BTreeSet::new();
            for ops in &series {
                for (op, _) in ops {
                    match op {
                        Op::Create(i, _) => { created.insert(*i as u128); }
                        Op::Delete(i) => { deleted.insert(*i as u128); }
                    }
                }
            }
            let want: Vec<u128> = created.difference(&deleted).copied().collect();
            let got: Vec<u128> = full.entries().map(|h| h.id.0.as_u128()).collect();
            prop_assert_eq!((full.len(), inc.len()), (want.len(), want.len()));
            prop_assert_eq!(got, want);
        }
    }
}
