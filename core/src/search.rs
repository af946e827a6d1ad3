//! History search: an index of the live entries, rebuilt once per change, and queries over it.
//!
//! The index keeps the entries newest first (command timestamp, then id, descending), so
//! prefix and full-text results come out in order without sorting. Each distinct command is
//! stored once, with its lowercase form, and is matched at most once per query (shell
//! histories repeat commands a lot). Filter fields are interned, so filtering compares numbers.
//!
//! A query whose text only narrows the previous one (same mode and filters; e.g. one more
//! letter typed) looks only at the previous matches. Any change rebuilds the index, which
//! drops that cache.
//!
//! Unique queries group the matching runs (filters apply to runs first) by command: one result
//! per distinct command, its newest run standing for it, with the number of runs.
//!
//! Results: newest first, except fuzzy, which ranks by score, ties newest first. Fuzzy
//! scoring itself is the host's (nucleo in the browser), passed in as a function; for plain
//! ASCII patterns, ASCII commands that lack the pattern's words as subsequences (in any case)
//! are skipped without calling it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::payload::history::{History, HistoryId};
use crate::store::HistoryStore;

/// How the query text matches a command: `"prefix"`, `"full-text"` or `"fuzzy"` when read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The command starts with the text (case-sensitive).
    Prefix,
    /// Every word of the text appears in the command (case-insensitive), in any order.
    #[default]
    #[serde(alias = "fulltext")]
    FullText,
    /// Scored by the caller's function; best first, ties newest first.
    Fuzzy,
}

/// Which entries a query looks at. Times are ns since the Unix epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// The host part of `hostname` ("host:user").
    pub host: Option<String>,
    pub cwd: Option<String>,
    pub exit: Option<i64>,
    pub session: Option<String>,
    /// Exactly this command (the runs of one unique result).
    pub command: Option<String>,
    /// `timestamp >= after`.
    pub after: Option<u64>,
    /// `timestamp < before`.
    pub before: Option<u64>,
    /// Also entries soft-deleted by Atuin (`deleted_at` set).
    pub include_deleted: bool,
}

/// One page of a query: the entries' ids in order, and how many matched in all (unique: how
/// many distinct commands).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<HistoryId>,
    pub total: usize,
    /// Unique queries: each result's number of matching runs (beside `ids`); else empty.
    pub runs: Vec<u32>,
}

/// Distinct strings, concatenated, with a hash table to find them.
#[derive(Clone, Debug, Default)]
struct Strings {
    text: String,
    /// End of each string in `text` (its start is the previous end).
    ends: Vec<u32>,
    /// Open addressing: 0 empty, else id + 1. Length a power of two (or 0).
    table: Vec<u32>,
}

fn hash(b: &[u8]) -> u64 {
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

impl Strings {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn span(&self, id: u32) -> (usize, usize) {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        (start, self.ends[i] as usize)
    }

    fn get(&self, id: u32) -> &str {
        let (s, e) = self.span(id);
        &self.text[s..e]
    }

    /// The slot of `s` in the table: its id + 1, or 0 (free) where it would go.
    fn slot(&self, s: &str) -> usize {
        let mask = self.table.len() - 1;
        let mut i = hash(s.as_bytes()) as usize & mask;
        loop {
            let v = self.table[i];
            if v == 0 || self.get(v - 1) == s {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    fn find(&self, s: &str) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        self.table[self.slot(s)].checked_sub(1)
    }

    /// The id of `s`, and whether it was added.
    fn intern(&mut self, s: &str) -> (u32, bool) {
        if (self.len() + 1) * 2 > self.table.len() {
            let size = ((self.len() + 1) * 4).next_power_of_two().max(64);
            self.table = alloc::vec![0; size];
            for id in 0..self.len() as u32 {
                let i = self.slot(self.get(id));
                self.table[i] = id + 1;
            }
        }
        let i = self.slot(s);
        if let Some(id) = self.table[i].checked_sub(1) {
            return (id, false);
        }
        let id = self.len() as u32;
        self.text.push_str(s);
        self.ends.push(self.text.len() as u32);
        self.table[i] = id + 1;
        (id, true)
    }
}

/// The distinct commands, with their lowercase forms.
#[derive(Clone, Debug, Default)]
struct Commands {
    text: Strings,
    /// Each lowercased by [`fold_str`], concatenated.
    lower: Vec<u8>,
    lower_ends: Vec<u32>,
    ascii: Vec<bool>,
}

impl Commands {
    fn intern(&mut self, s: &str, fold: Fold) -> u32 {
        let (id, added) = self.text.intern(s);
        if added {
            let ascii = s.is_ascii();
            if ascii {
                let start = self.lower.len();
                self.lower.extend_from_slice(s.as_bytes());
                self.lower[start..].make_ascii_lowercase();
            } else {
                self.lower.extend_from_slice(fold_str(s, fold).as_bytes());
            }
            self.lower_ends.push(self.lower.len() as u32);
            self.ascii.push(ascii);
        }
        id
    }

    fn lower(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 {
            0
        } else {
            self.lower_ends[i - 1] as usize
        };
        &self.lower[start..self.lower_ends[i] as usize]
    }
}

/// One entry's fields that queries look at.
#[derive(Clone, Copy, Debug)]
struct Row {
    timestamp: u64,
    exit: i64,
    cmd: u32,
    host: u32,
    cwd: u32,
    session: u32,
    deleted: bool,
}

/// The previous query's matches, for narrowing.
#[derive(Clone, Debug, Default)]
struct Last {
    text: String,
    mode: Mode,
    filters: Filters,
    /// Positions (rows) that matched, in row order.
    hits: Vec<u32>,
}

/// Sort keys `(timestamp, id, _)`, newest first.
fn newest_first(a: &(u64, HistoryId, u32), b: &(u64, HistoryId, u32)) -> core::cmp::Ordering {
    b.0.cmp(&a.0).then(b.1.cmp(&a.1))
}

/// The (timestamp, id, position) of each of `entries`, newest first: keys are sorted, not
/// the entries, so no pointer is chased per comparison.
fn newest_order(entries: &[&History]) -> Vec<(u64, HistoryId, u32)> {
    let mut order: Vec<(u64, HistoryId, u32)> = entries
        .iter()
        .enumerate()
        .map(|(i, h)| (h.timestamp, h.id, i as u32))
        .collect();
    order.sort_unstable_by(newest_first);
    order
}

/// What a query with no text and no filter but `include_deleted` lists, without building an
/// index (for the first results of a store just loaded, docs/ARCHITECTURE.md, "Search"): the
/// ids of results `offset..offset + limit` in the index's order (newest first), and how many
/// match in all.
pub fn newest<'a>(
    entries: impl Iterator<Item = &'a History>,
    include_deleted: bool,
    offset: usize,
    limit: usize,
) -> Page {
    let listed: Vec<&History> = entries
        .filter(|h| include_deleted || h.deleted_at.is_none())
        .collect();
    let order = newest_order(&listed);
    let end = offset.saturating_add(limit).min(order.len());
    Page {
        ids: order[offset.min(end)..end].iter().map(|k| k.1).collect(),
        total: order.len(),
        runs: Vec::new(),
    }
}

/// Not yet matched / did not match, in the per-command memo; anything else is a score.
const UNKNOWN: u32 = u32::MAX;
const NO: u32 = u32::MAX - 1;

/// Lowercases one non-ASCII character, for case-insensitive matching (the host picks the
/// tables: e.g. nucleo's simple case folding in the browser, which carries them anyway).
pub type Fold = fn(char) -> char;

/// `s` lowercased: ASCII letters as ASCII, other characters by `fold`, one by one.
pub fn fold_str(s: &str, fold: Fold) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                fold(c)
            }
        })
        .collect()
}

/// The search index over the live history entries.
#[derive(Clone, Debug)]
pub struct SearchIndex {
    fold: Fold,
    /// Newest first.
    rows: Vec<Row>,
    ids: Vec<HistoryId>,
    cmds: Commands,
    hosts: Strings,
    cwds: Strings,
    sessions: Strings,
    last: Option<Last>,
    memo: Vec<u32>,
    /// Runs per command while grouping (all zero between queries).
    counts: Vec<u32>,
}

impl SearchIndex {
    /// An empty index; full-text matching lowercases with `fold`.
    pub fn new(fold: Fold) -> Self {
        Self {
            fold,
            rows: Vec::new(),
            ids: Vec::new(),
            cmds: Commands::default(),
            hosts: Strings::default(),
            cwds: Strings::default(),
            sessions: Strings::default(),
            last: None,
            memo: Vec::new(),
            counts: Vec::new(),
        }
    }

    /// Index the live entries of `store` anew (after any change), keeping the distinct
    /// strings already known (so only new commands are lowercased).
    pub fn rebuild(&mut self, store: &HistoryStore) {
        let all: Vec<&History> = store.entries().collect();
        self.rebuild_from(&all);
    }

    /// Index `entries` anew, as [`Self::rebuild`].
    pub fn rebuild_from(&mut self, entries: &[&History]) {
        let order = newest_order(entries);
        self.last = None;
        self.rows.clear();
        self.ids.clear();
        self.rows.reserve(order.len());
        self.ids.reserve(order.len());
        for (_, id, i) in order {
            let row = self.row(entries[i as usize]);
            self.rows.push(row);
            self.ids.push(id);
        }
    }

    /// Bring the index up to date after the entries with the ids in `touched` were created,
    /// replaced or deleted in `store` (any order, repeats allowed; left sorted). Rebuilds when
    /// many changed.
    pub fn update(&mut self, store: &HistoryStore, touched: &mut Vec<HistoryId>) {
        crate::sort::sort_cold(touched);
        touched.dedup();
        if touched.is_empty() {
            return;
        }
        if touched.len() * 8 > self.rows.len() {
            return self.rebuild(store);
        }
        self.last = None;
        let mut fresh_rows: Vec<Row> = Vec::new();
        let mut keys: Vec<(u64, HistoryId, u32)> = Vec::new();
        for h in touched.iter().filter_map(|id| store.get(id)) {
            keys.push((h.timestamp, h.id, fresh_rows.len() as u32));
            let row = self.row(h);
            fresh_rows.push(row);
        }
        keys.sort_unstable_by(newest_first);
        let fresh: Vec<(u64, HistoryId, Row)> = keys
            .into_iter()
            .map(|(t, id, i)| (t, id, fresh_rows[i as usize]))
            .collect();
        let rows = core::mem::take(&mut self.rows);
        let ids = core::mem::take(&mut self.ids);
        self.rows.reserve(rows.len() + fresh.len());
        self.ids.reserve(rows.len() + fresh.len());
        let mut fresh = fresh.into_iter().peekable();
        for (row, id) in rows.into_iter().zip(ids) {
            if touched.binary_search(&id).is_ok() {
                continue;
            }
            while let Some((_, fid, frow)) = fresh.next_if(|f| (f.0, f.1) > (row.timestamp, id)) {
                self.rows.push(frow);
                self.ids.push(fid);
            }
            self.rows.push(row);
            self.ids.push(id);
        }
        for (_, fid, frow) in fresh {
            self.rows.push(frow);
            self.ids.push(fid);
        }
    }

    fn row(&mut self, h: &History) -> Row {
        Row {
            timestamp: h.timestamp,
            exit: h.exit,
            cmd: self.cmds.intern(&h.command, self.fold),
            host: self.hosts.intern(h.host()).0,
            cwd: self.cwds.intern(&h.cwd).0,
            session: self.sessions.intern(&h.session).0,
            deleted: h.deleted_at.is_some(),
        }
    }

    /// Number of entries indexed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Run a query: `text` (trimmed) in `mode` over the entries passing `filters`; the page
    /// `offset..offset + limit` of the results and their number. `unique`: one result per
    /// distinct command among the matches (its newest run), with its number of runs.
    /// `fuzzy` scores a command against the text in [`Mode::Fuzzy`] (`None`: no match); for
    /// plain ASCII text (no `\ ! ^ $ '`) it must not match an ASCII command lacking any
    /// space-separated word of the text as a subsequence, case-insensitively (as nucleo's
    /// fuzzy atoms).
    #[allow(clippy::too_many_arguments)]
    pub fn query(
        &mut self,
        text: &str,
        mode: Mode,
        filters: &Filters,
        unique: bool,
        offset: usize,
        limit: usize,
        fuzzy: &mut dyn FnMut(&str) -> Option<u32>,
    ) -> Page {
        let text = text.trim();
        let from_last = self.last.as_ref().is_some_and(|l| {
            l.filters == *filters
                && (l.text.is_empty()
                    || (l.mode == mode && narrows(mode, &l.text, text, self.fold)))
        });
        let mut last = self.last.take().unwrap_or_default();
        let candidates = core::mem::take(&mut last.hits);
        let mut hits: Vec<u32> = Vec::new();
        self.memo.clear();
        self.memo.resize(self.cmds.text.len(), UNKNOWN);
        let m = Matcher::new(mode, text, self.fold);
        let resolved = self.resolve(filters);
        {
            let mut visit = |pos: u32, index: &mut Self| {
                let row = index.rows[pos as usize];
                let score = match index.memo[row.cmd as usize] {
                    UNKNOWN => {
                        let s = m.score(&index.cmds, row.cmd, fuzzy).unwrap_or(NO).min(NO);
                        index.memo[row.cmd as usize] = s;
                        s
                    }
                    s => s,
                };
                if score != NO {
                    hits.push(pos);
                }
            };
            if from_last {
                for &pos in &candidates {
                    visit(pos, self);
                }
            } else if let Some(f) = resolved {
                for pos in 0..self.rows.len() as u32 {
                    if f.pass(&self.rows[pos as usize]) {
                        visit(pos, self);
                    }
                }
            }
        }
        // Unique: the first (newest) matching run of each command, and the runs per command.
        let groups: Option<Vec<u32>> = unique.then(|| {
            self.counts.resize(self.cmds.text.len(), 0);
            let mut firsts = Vec::new();
            for &pos in &hits {
                let c = &mut self.counts[self.rows[pos as usize].cmd as usize];
                if *c == 0 {
                    firsts.push(pos);
                }
                *c += 1;
            }
            firsts
        });
        let shown = groups.as_ref().unwrap_or(&hits);
        let total = shown.len();
        let start = offset.min(total);
        let end = offset.saturating_add(limit).min(total);
        let page: Vec<u32> = if mode == Mode::Fuzzy && !text.is_empty() {
            // (best score first, then newest first) as one number, smallest first.
            let mut scored: Vec<u64> = shown
                .iter()
                .map(|&pos| {
                    let score = self.memo[self.rows[pos as usize].cmd as usize];
                    (u64::from(!score) << 32) | u64::from(pos)
                })
                .collect();
            if end > 0 && end < scored.len() {
                scored.select_nth_unstable(end - 1);
                scored.truncate(end);
            }
            scored.sort_unstable();
            scored[start..end].iter().map(|&k| k as u32).collect()
        } else {
            shown[start..end].to_vec()
        };
        let ids = page.iter().map(|&p| self.ids[p as usize]).collect();
        let mut runs = Vec::new();
        if let Some(groups) = &groups {
            let cmd = |p: u32| self.rows[p as usize].cmd as usize;
            runs = page.iter().map(|&p| self.counts[cmd(p)]).collect();
            for &p in groups {
                self.counts[cmd(p)] = 0;
            }
        }
        last.text.clear();
        last.text.push_str(text);
        last.mode = mode;
        if last.filters != *filters {
            last.filters = filters.clone();
        }
        last.hits = hits;
        self.last = Some(last);
        Page { ids, total, runs }
    }

    /// Where `text` (trimmed) matches `command` in `mode`, to highlight it: sorted, disjoint
    /// ranges `[start, end)` of the command's chars. Prefix: the text; full-text: every
    /// occurrence of each word (case-insensitive); fuzzy: the char indices `fuzzy` pushes
    /// (nucleo's match positions in the browser). Empty when nothing matches.
    pub fn matches(
        &self,
        text: &str,
        mode: Mode,
        command: &str,
        fuzzy: &mut dyn FnMut(&str, &mut Vec<u32>),
    ) -> Vec<(u32, u32)> {
        let text = text.trim();
        if text.is_empty() {
            return Vec::new();
        }
        let len = command.chars().count();
        let mut marked = alloc::vec![false; len];
        match mode {
            Mode::Prefix => {
                if command.starts_with(text) {
                    marked[..text.chars().count()].fill(true);
                }
            }
            Mode::FullText => {
                let hay: Vec<char> = fold_str(command, self.fold).chars().collect();
                for w in text.split_whitespace() {
                    let w: Vec<char> = fold_str(w, self.fold).chars().collect();
                    if w.len() > hay.len() {
                        continue;
                    }
                    for i in 0..=hay.len() - w.len() {
                        if hay[i..i + w.len()] == w[..] {
                            marked[i..i + w.len()].fill(true);
                        }
                    }
                }
            }
            Mode::Fuzzy => {
                let mut at = Vec::new();
                fuzzy(command, &mut at);
                for i in at {
                    if let Some(m) = marked.get_mut(i as usize) {
                        *m = true;
                    }
                }
            }
        }
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (i, &m) in marked.iter().enumerate() {
            let i = i as u32;
            match out.last_mut() {
                Some(r) if m && r.1 == i => r.1 = i + 1,
                _ if m => out.push((i, i + 1)),
                _ => {}
            }
        }
        out
    }

    /// The filters with their strings as ids; `None` when no entry can pass.
    fn resolve(&self, f: &Filters) -> Option<Resolved> {
        let id = |s: &Option<String>, t: &Strings| match s {
            None => Some(None),
            Some(s) => t.find(s).map(Some),
        };
        Some(Resolved {
            host: id(&f.host, &self.hosts)?,
            cwd: id(&f.cwd, &self.cwds)?,
            session: id(&f.session, &self.sessions)?,
            command: match &f.command {
                None => None,
                Some(c) => Some(self.cmds.text.find(c)?),
            },
            exit: f.exit,
            after: f.after,
            before: f.before,
            include_deleted: f.include_deleted,
        })
    }
}

struct Resolved {
    host: Option<u32>,
    cwd: Option<u32>,
    session: Option<u32>,
    command: Option<u32>,
    exit: Option<i64>,
    after: Option<u64>,
    before: Option<u64>,
    include_deleted: bool,
}

impl Resolved {
    fn pass(&self, r: &Row) -> bool {
        (self.include_deleted || !r.deleted)
            && self.host.is_none_or(|h| r.host == h)
            && self.cwd.is_none_or(|c| r.cwd == c)
            && self.session.is_none_or(|s| r.session == s)
            && self.command.is_none_or(|c| r.cmd == c)
            && self.exit.is_none_or(|e| r.exit == e)
            && self.after.is_none_or(|t| r.timestamp >= t)
            && self.before.is_none_or(|t| r.timestamp < t)
    }
}

/// Text nucleo parses as plain fuzzy words: ASCII, none of its special characters.
fn plain(text: &str) -> bool {
    text.is_ascii()
        && !text
            .bytes()
            .any(|b| matches!(b, b'\\' | b'!' | b'^' | b'$' | b'\''))
}

/// Whether every match of `new` is a match of `old` (same mode), both trimmed.
fn narrows(mode: Mode, old: &str, new: &str, fold: Fold) -> bool {
    match mode {
        Mode::Prefix => new.starts_with(old),
        Mode::FullText => {
            let new: Vec<String> = new.split_whitespace().map(|w| fold_str(w, fold)).collect();
            old.split_whitespace()
                .map(|w| fold_str(w, fold))
                .all(|o| new.iter().any(|n| n.contains(o.as_str())))
        }
        Mode::Fuzzy => plain(old) && plain(new) && new.starts_with(old),
    }
}

enum Matcher<'t> {
    All,
    Prefix(&'t str),
    Words(Vec<Vec<u8>>),
    Fuzzy {
        /// The lowercase words, when the text is plain (for the subsequence check).
        words: Option<Vec<Vec<u8>>>,
    },
}

impl<'t> Matcher<'t> {
    fn new(mode: Mode, text: &'t str, fold: Fold) -> Self {
        if text.is_empty() {
            return Matcher::All;
        }
        match mode {
            Mode::Prefix => Matcher::Prefix(text),
            Mode::FullText => Matcher::Words(
                text.split_whitespace()
                    .map(|w| fold_str(w, fold).into_bytes())
                    .collect(),
            ),
            Mode::Fuzzy => Matcher::Fuzzy {
                words: plain(text).then(|| {
                    text.split(' ')
                        .filter(|w| !w.is_empty())
                        .map(|w| w.to_ascii_lowercase().into_bytes())
                        .collect()
                }),
            },
        }
    }

    /// The score of command `id` (0 outside fuzzy), or `None`.
    fn score(
        &self,
        cmds: &Commands,
        id: u32,
        fuzzy: &mut dyn FnMut(&str) -> Option<u32>,
    ) -> Option<u32> {
        match self {
            Matcher::All => Some(0),
            Matcher::Prefix(t) => cmds.text.get(id).starts_with(t).then_some(0),
            Matcher::Words(ws) => {
                let l = cmds.lower(id);
                ws.iter().all(|w| contains(l, w)).then_some(0)
            }
            Matcher::Fuzzy { words } => {
                if let Some(words) = words {
                    if cmds.ascii[id as usize]
                        && !words.iter().all(|w| subsequence(w, cmds.lower(id)))
                    {
                        return None;
                    }
                }
                fuzzy(cmds.text.get(id))
            }
        }
    }
}

/// Whether `needle` occurs in `hay`. Commands and words are short: a first-byte scan is
/// enough (and keeps memchr's larger searchers out of the wasm).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    (0..=hay.len() - needle.len()).any(|i| hay[i] == first && &hay[i + 1..i + needle.len()] == rest)
}

fn subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|b| it.any(|h| h == b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Fold as _;
    use alloc::borrow::ToOwned;
    use alloc::format;
    use alloc::vec;
    use proptest::prelude::*;
    use uuid::Uuid;

    /// As nucleo's simple case folding, for these tests.
    fn fold(c: char) -> char {
        c.to_lowercase().next().unwrap_or(c)
    }

    fn index(es: &[History]) -> SearchIndex {
        let mut ix = SearchIndex::new(fold);
        ix.rebuild_from(&es.iter().collect::<Vec<_>>());
        ix
    }

    fn entry(i: u128, command: &str, timestamp: u64) -> History {
        History {
            id: HistoryId(Uuid::from_u128(i)),
            timestamp,
            exit: (i % 3) as i64,
            command: command.into(),
            cwd: format!("/src/{}", i % 2),
            session: format!("s{}", i % 4),
            hostname: format!("host{}:me", i % 3),
            deleted_at: (i % 7 == 6).then_some(1),
            ..crate::sample::history(0)
        }
    }

    /// A stand-in for nucleo: each space-separated word a case-insensitive subsequence
    /// (case-sensitive with an uppercase letter); the score favours short commands and
    /// adjacent letters.
    fn fuzzy_score(text: &str, cmd: &str) -> Option<u32> {
        let mut score = 0;
        for w in text.split(' ').filter(|w| !w.is_empty()) {
            let sensitive = w.chars().any(char::is_uppercase);
            let (w, c) = if sensitive {
                (w.to_owned(), cmd.to_owned())
            } else {
                (w.to_lowercase(), cmd.to_lowercase())
            };
            let mut it = c.chars().enumerate();
            let mut prev = None;
            for ch in w.chars() {
                let (i, _) = it.find(|&(_, x)| x == ch)?;
                if prev.is_some_and(|p| p + 1 == i) {
                    score += 3;
                }
                prev = Some(i);
            }
        }
        Some(score + 100 - cmd.len().min(100) as u32)
    }

    /// A query as the tests ask it: text, mode and filters; every run, the first 100 unless
    /// said otherwise.
    #[derive(Clone, Copy)]
    struct Q<'a> {
        text: &'a str,
        mode: Mode,
        f: &'a Filters,
        unique: bool,
        offset: usize,
        limit: usize,
    }

    fn q<'a>(text: &'a str, mode: Mode, f: &'a Filters) -> Q<'a> {
        Q {
            text,
            mode,
            f,
            unique: false,
            offset: 0,
            limit: 100,
        }
    }

    impl Q<'_> {
        fn unique(self, unique: bool) -> Self {
            Self { unique, ..self }
        }

        fn page(self, offset: usize, limit: usize) -> Self {
            Self {
                offset,
                limit,
                ..self
            }
        }
    }

    /// What web's search did before the index: filter, match, sort all, page; unique: keep
    /// each command's first result, counting its runs.
    fn reference(entries: &[History], q: Q) -> Page {
        let Q {
            text,
            mode,
            f,
            unique,
            offset,
            limit,
        } = q;
        let text = text.trim();
        let pass = |h: &History| {
            (f.include_deleted || h.deleted_at.is_none())
                && f.host.as_ref().is_none_or(|x| h.host() == x)
                && f.cwd.as_ref().is_none_or(|x| &h.cwd == x)
                && f.exit.is_none_or(|x| h.exit == x)
                && f.session.as_ref().is_none_or(|x| &h.session == x)
                && f.command.as_ref().is_none_or(|x| &h.command == x)
                && f.after.is_none_or(|t| h.timestamp >= t)
                && f.before.is_none_or(|t| h.timestamp < t)
        };
        let mut hits: Vec<(u32, &History)> = entries
            .iter()
            .filter(|h| pass(h))
            .filter_map(|h| {
                if text.is_empty() {
                    return Some((0, h));
                }
                match mode {
                    Mode::Prefix => h.command.starts_with(text).then_some((0, h)),
                    Mode::FullText => {
                        let cmd = fold_str(&h.command, fold);
                        text.split_whitespace()
                            .all(|w| cmd.contains(&fold_str(w, fold)))
                            .then_some((0, h))
                    }
                    Mode::Fuzzy => fuzzy_score(text, &h.command).map(|s| (s, h)),
                }
            })
            .collect();
        hits.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.timestamp.cmp(&a.1.timestamp))
                .then(b.1.id.cmp(&a.1.id))
        });
        let mut runs: Vec<u32> = Vec::new();
        if unique {
            let all = hits.clone();
            hits.retain({
                let mut seen = alloc::collections::BTreeSet::new();
                move |(_, h)| seen.insert(h.command.clone())
            });
            runs = hits
                .iter()
                .map(|(_, h)| all.iter().filter(|(_, x)| x.command == h.command).count() as u32)
                .skip(offset)
                .take(limit)
                .collect();
        }
        Page {
            total: hits.len(),
            ids: hits
                .iter()
                .skip(offset)
                .take(limit)
                .map(|(_, h)| h.id)
                .collect(),
            runs,
        }
    }

    fn run(ix: &mut SearchIndex, q: Q) -> Page {
        let t = q.text.trim().to_owned();
        ix.query(q.text, q.mode, q.f, q.unique, q.offset, q.limit, &mut |c| {
            fuzzy_score(&t, c)
        })
    }

    fn sample() -> Vec<History> {
        vec![
            entry(1, "git status", 10),
            entry(2, "cargo build --release", 30),
            entry(3, "GIT_TRACE=1 git push", 20),
            entry(4, "git commit -m wip", 40),
            entry(5, "grep -r TODO .", 50),
            entry(6, "git status", 60),
            entry(7, "git status", 40),
            entry(8, "ΑΣ échec", 70),
        ]
    }

    /// No filter: every entry, the deleted ones too.
    fn every() -> Filters {
        Filters {
            include_deleted: true,
            ..Default::default()
        }
    }

    fn cmds(es: &[History], p: &Page) -> Vec<String> {
        p.ids
            .iter()
            .map(|id| es.iter().find(|h| h.id == *id).unwrap().command.clone())
            .collect()
    }

    #[test]
    fn newest_lists_as_the_index_does_without_one() {
        // Equal timestamps among them: ties go by id, as in the index; some soft-deleted.
        let es: Vec<History> = (0..300u128)
            .map(|i| entry((i * 7919) % 1000, "x", 1_000 + (i * 31 % 97) as u64))
            .collect();
        let mut ix = index(&es);
        let pages = [
            (0, 100),
            (0, 1),
            (50, 100),
            (250, 100),
            (299, 5),
            (300, 5),
            (0, 0),
        ];
        for deleted in [false, true] {
            let f = Filters {
                include_deleted: deleted,
                ..Default::default()
            };
            for (offset, limit) in pages {
                let p = ix.query("", Mode::FullText, &f, false, offset, limit, &mut |_| {
                    Some(0)
                });
                let at = (deleted, offset, limit);
                assert_eq!(newest(es.iter(), deleted, offset, limit), p, "{at:?}");
            }
        }
        assert_eq!(newest(core::iter::empty(), false, 0, 100).total, 0);
    }

    #[test]
    fn order_paging_and_modes() {
        let es = sample();
        let mut ix = index(&es);
        let all = every();
        // Newest first; equal timestamps: higher id first.
        let p = run(&mut ix, q("", Mode::FullText, &all));
        assert_eq!(p.total, 8);
        assert_eq!(
            cmds(&es, &p),
            [
                "ΑΣ échec",
                "git status",
                "grep -r TODO .",
                "git status",
                "git commit -m wip",
                "cargo build --release",
                "GIT_TRACE=1 git push",
                "git status"
            ]
        );
        let p = run(&mut ix, q("", Mode::Prefix, &all).page(1, 2));
        assert_eq!(cmds(&es, &p), ["git status", "grep -r TODO ."]);
        assert_eq!(p.total, 8);
        // Soft-deleted entries (id 6) are left out by default.
        let p = run(&mut ix, q("git s", Mode::Prefix, &Filters::default()));
        assert_eq!(cmds(&es, &p), ["git status", "git status"]);
        let p = run(&mut ix, q("PUSH git", Mode::FullText, &all));
        assert_eq!(cmds(&es, &p), ["GIT_TRACE=1 git push"]);
        let p = run(&mut ix, q("ασ ÉCHEC", Mode::FullText, &all));
        assert_eq!(cmds(&es, &p), ["ΑΣ échec"]);
        // Fuzzy: by score, ties newest first.
        let p = run(&mut ix, q("gs", Mode::Fuzzy, &all));
        assert_eq!(
            cmds(&es, &p)[..3],
            ["git status", "git status", "git status"]
        );
        assert_eq!(p.ids[..3], [es[5].id, es[6].id, es[0].id]);
        let p = run(&mut ix, q("zz", Mode::Fuzzy, &all));
        assert_eq!(p.total, 0);
        // Filters.
        let f = Filters {
            host: Some("host1".into()),
            ..every()
        };
        let p = run(&mut ix, q("", Mode::FullText, &f));
        assert_eq!(
            cmds(&es, &p),
            ["git status", "git commit -m wip", "git status"]
        );
        let f = Filters {
            host: Some("nowhere".into()),
            ..Default::default()
        };
        assert_eq!(run(&mut ix, q("", Mode::FullText, &f)).total, 0);
        let f = Filters {
            after: Some(30),
            before: Some(60),
            ..Default::default()
        };
        let p = run(&mut ix, q("", Mode::FullText, &f));
        assert_eq!(
            cmds(&es, &p),
            [
                "grep -r TODO .",
                "git status",
                "git commit -m wip",
                "cargo build --release"
            ]
        );
    }

    #[test]
    fn narrowing_then_change() {
        let mut es = sample();
        let mut ix = index(&es);
        let f = Filters::default();
        for (t, n) in [
            ("g", 4),
            ("gi", 3),
            ("git", 3),
            ("git s", 2),
            ("git", 3),
            ("", 7),
        ] {
            assert_eq!(run(&mut ix, q(t, Mode::Prefix, &f)).total, n, "{t}");
        }
        es.push(entry(9, "git stash", 80));
        ix.rebuild_from(&es.iter().collect::<Vec<_>>());
        assert_eq!(run(&mut ix, q("git s", Mode::Prefix, &f)).total, 3);
        es.retain(|h| h.id != HistoryId(Uuid::from_u128(1)));
        ix.rebuild_from(&es.iter().collect::<Vec<_>>());
        assert_eq!(run(&mut ix, q("git st", Mode::Prefix, &f)).total, 2);
    }

    #[test]
    fn unique_groups_runs_after_filters() {
        let es = sample();
        let mut ix = index(&es);
        let all = every();
        // "git status" ran 3 times (ids 6, 7, 1): one row, its newest run, 3 runs.
        let p = run(&mut ix, q("git", Mode::FullText, &all).unique(true));
        assert_eq!(
            cmds(&es, &p),
            ["git status", "git commit -m wip", "GIT_TRACE=1 git push"]
        );
        assert_eq!(p.ids[0], es[5].id);
        assert_eq!(p.runs, [3, 1, 1]);
        assert_eq!(p.total, 3);
        // Filters apply to the runs: id 6 is soft-deleted, so the newest live run is id 7.
        let p = run(
            &mut ix,
            q("git s", Mode::Prefix, &Filters::default()).unique(true),
        );
        assert_eq!((p.ids.clone(), p.runs.clone()), (vec![es[6].id], vec![2]));
        // Paging counts distinct commands; fuzzy ranks them by score.
        let p = run(&mut ix, q("", Mode::FullText, &all).unique(true).page(1, 2));
        assert_eq!(p.total, 6);
        assert_eq!(cmds(&es, &p), ["git status", "grep -r TODO ."]);
        let p = run(&mut ix, q("gs", Mode::Fuzzy, &all).unique(true));
        assert_eq!(cmds(&es, &p)[0], "git status");
        assert_eq!(p.runs[0], 3);
        // The runs of one unique row: the exact command filter.
        let f = Filters {
            command: Some("git status".into()),
            ..every()
        };
        let p = run(&mut ix, q("", Mode::FullText, &f));
        assert_eq!(p.ids, [es[5].id, es[6].id, es[0].id]);
        assert!(p.runs.is_empty());
        let f = Filters {
            command: Some("git".into()),
            ..Default::default()
        };
        assert_eq!(run(&mut ix, q("", Mode::FullText, &f)).total, 0);
    }

    #[test]
    fn match_ranges_per_mode() {
        let ix = index(&sample());
        let mut none = |_: &str, _: &mut Vec<u32>| {};
        assert_eq!(
            ix.matches("git s", Mode::Prefix, "git status", &mut none),
            [(0, 5)]
        );
        assert!(ix
            .matches("git s", Mode::Prefix, "a git s", &mut none)
            .is_empty());
        assert!(ix.matches(" ", Mode::Prefix, "git", &mut none).is_empty());
        // Every occurrence of every word, any case; overlapping ones merge.
        assert_eq!(
            ix.matches(
                "GIT push",
                Mode::FullText,
                "GIT_TRACE=1 git push",
                &mut none
            ),
            [(0, 3), (12, 15), (16, 20)]
        );
        assert_eq!(ix.matches("aa", Mode::FullText, "aaa", &mut none), [(0, 3)]);
        // Chars, not bytes.
        assert_eq!(
            ix.matches("échec", Mode::FullText, "ΑΣ ÉCHEC", &mut none),
            [(3, 8)]
        );
        // Fuzzy: the positions the matcher gives, merged; out-of-range ones ignored.
        let mut at = |_: &str, v: &mut Vec<u32>| v.extend([0, 4, 5, 2, 99]);
        assert_eq!(
            ix.matches("gst", Mode::Fuzzy, "git status", &mut at),
            [(0, 1), (2, 3), (4, 6)]
        );
    }

    fn store_of(es: &[History]) -> HistoryStore {
        use crate::payload::history::HistoryRecord;
        use crate::record::{HostId, RecordId};
        use crate::store::RecordOrigin;
        let mut s = HistoryStore::new();
        for (i, h) in es.iter().enumerate() {
            let origin = RecordOrigin {
                timestamp: i as u64,
                host: HostId(Uuid::nil()),
                idx: i as u64,
                record: RecordId(Uuid::from_u128(i as u128)),
            };
            s.fold(origin, HistoryRecord::Create(h.clone()));
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn update_same_as_rebuild(
            n in 1usize..80,
            changes in proptest::collection::vec((0u128..100, 0u64..8, 0usize..3), 1..30),
        ) {
            let mut es: Vec<History> = (0..n).map(|i| entry(i as u128, &format!("c{}", i % 5), i as u64 % 8)).collect();
            let mut ix = SearchIndex::new(fold);
            ix.rebuild(&store_of(&es));
            let mut touched = Vec::new();
            for (id, ts, what) in changes {
                es.retain(|h| h.id != HistoryId(Uuid::from_u128(id)));
                if what > 0 {
                    es.push(entry(id, &format!("new {what}"), ts));
                }
                touched.push(HistoryId(Uuid::from_u128(id)));
            }
            let store = store_of(&es);
            ix.update(&store, &mut touched);
            let mut full = SearchIndex::new(fold);
            full.rebuild(&store);
            prop_assert_eq!(&ix.ids, &full.ids);
            let f = every();
            for t in ["", "new", "c1", "new 2"] {
                for unique in [false, true] {
                    let ask = q(t, Mode::FullText, &f).unique(unique).page(0, 200);
                    prop_assert_eq!(run(&mut ix, ask), reference(&es, ask));
                }
            }
        }

        #[test]
        fn same_as_reference(
            cmds in proptest::collection::vec("[abAB é]{0,6}", 1..40),
            ts in proptest::collection::vec(0u64..8, 40),
            steps in proptest::collection::vec(("[abAB é!]{0,4}", 0usize..3, 0usize..4, 0usize..3, proptest::option::of(0i64..3), any::<bool>()), 1..12),
        ) {
            let es: Vec<History> = cmds.iter().enumerate().map(|(i, c)| entry(i as u128, c, ts[i])).collect();
            let mut ix = index(&es);
            let mut text = String::new();
            for (add, mode, offset, cut, exit, unique) in steps {
                // Type on, or delete a few characters.
                if cut == 0 {
                    let mut s: Vec<char> = text.chars().collect();
                    s.truncate(s.len().saturating_sub(2));
                    text = s.into_iter().collect();
                } else {
                    text.push_str(&add);
                }
                let mode = [Mode::Prefix, Mode::FullText, Mode::Fuzzy][mode];
                let f = Filters { exit, include_deleted: cut == 1, ..Default::default() };
                let ask = q(&text, mode, &f).unique(unique).page(offset, 5);
                prop_assert_eq!(run(&mut ix, ask), reference(&es, ask), "{:?} {:?} {}", text, mode, unique);
            }
        }
    }
}
