//! History search: an index of the live entries, rebuilt once per change, and queries over it.
//!
//! The index keeps the entries newest first (command timestamp, then id, descending), so
//! prefix and full-text results come out in order without sorting. Each distinct command is
//! stored once, with its lowercase form, and is matched at most once per query (shell
//! histories repeat commands a lot). Filter fields are interned, so filtering compares numbers.
//!
//! A query matches distinct commands, not entries: the filters first give, per command, its
//! passing runs (how many, and the newest), kept per set of filters until the next change;
//! the text is then matched against the commands that have any. Entries are looked at only to
//! fill the page shown. A query whose text only narrows the previous one (same mode and
//! filters; e.g. one more letter typed) looks only at the previous matching commands. Any
//! change to the entries drops these caches.
//!
//! The index is built in one go, or by [`IndexBuild`] a bounded amount of work at a time (for
//! a host that must stay responsive meanwhile), which answers every query the same.
//!
//! Unique queries group the matching runs (filters apply to runs first) by command: one result
//! per distinct command, its newest run standing for it, with the number of runs.
//!
//! Results: newest first, except fuzzy, which ranks by score, ties newest first. Fuzzy
//! scoring itself is the host's (nucleo in the browser), passed in as a function. For plain
//! ASCII patterns, whether an ASCII command matches is decided here (each word a subsequence),
//! so only the commands that can reach the page are scored: given the best score the host can
//! give, scoring stops once a page of results with it is certain.

use alloc::string::String;
use alloc::vec::Vec;

use crate::payload::history::{host_part, HistoryId};
use crate::store::history::{grow, Slot, Strings};
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

/// Per command of the store (by its id), what matching reads: its lowercase form, whether it
/// is ASCII, and its [`bytes`]. Commands are lowered once, as they first appear.
#[derive(Clone, Debug, Default)]
struct Lower {
    /// Each lowercased by [`fold_str`], concatenated.
    lower: Vec<u8>,
    ends: Vec<u32>,
    ascii: Vec<bool>,
    bytes: Vec<u64>,
}

/// Which bytes occur in `s`, one bit per letter or digit and the rest sharing bits: a word
/// can be found only in text whose bits include its own.
fn bytes(s: &[u8]) -> u64 {
    s.iter().fold(0, |m, &b| {
        let bit = match b {
            b'a'..=b'z' => b - b'a',
            b'0'..=b'9' => 26 + b - b'0',
            _ => 36 + b % 28,
        };
        m | 1 << bit
    })
}

impl Lower {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Lower up to `max` of the commands in `cmds` not lowered yet; whether all are.
    fn extend(&mut self, cmds: &Strings, fold: Fold, max: usize) -> bool {
        let (from, n) = (self.len(), cmds.len());
        if from == n {
            return true;
        }
        // Room for them all at once: lowering keeps ASCII's length, and most commands are.
        grow(&mut self.lower, cmds.bytes_from(from));
        grow(&mut self.ends, n - from);
        grow(&mut self.ascii, n - from);
        grow(&mut self.bytes, n - from);
        let to = n.min(from.saturating_add(max));
        for id in from as u32..to as u32 {
            let s = cmds.get(id);
            let start = self.lower.len();
            let ascii = s.is_ascii();
            if ascii {
                self.lower.extend_from_slice(s.as_bytes());
                self.lower[start..].make_ascii_lowercase();
            } else {
                self.lower.extend_from_slice(fold_str(s, fold).as_bytes());
            }
            self.ends.push(self.lower.len() as u32);
            self.ascii.push(ascii);
            self.bytes.push(bytes(&self.lower[start..]));
        }
        to == n
    }

    #[inline]
    fn lower(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.lower[start..self.ends[i] as usize]
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

/// The indexed entries' [`Row`]s, one column per field: a filter reads only its own.
#[derive(Clone, Debug, Default)]
struct Rows {
    timestamp: Vec<u64>,
    exit: Vec<i64>,
    cmd: Vec<u32>,
    host: Vec<u32>,
    cwd: Vec<u32>,
    session: Vec<u32>,
    deleted: Vec<bool>,
}

impl Rows {
    fn len(&self) -> usize {
        self.cmd.len()
    }

    /// Room for exactly `n` more.
    fn reserve(&mut self, n: usize) {
        self.timestamp.reserve_exact(n);
        self.exit.reserve_exact(n);
        self.cmd.reserve_exact(n);
        self.host.reserve_exact(n);
        self.cwd.reserve_exact(n);
        self.session.reserve_exact(n);
        self.deleted.reserve_exact(n);
    }

    fn push(&mut self, r: Row) {
        self.timestamp.push(r.timestamp);
        self.exit.push(r.exit);
        self.cmd.push(r.cmd);
        self.host.push(r.host);
        self.cwd.push(r.cwd);
        self.session.push(r.session);
        self.deleted.push(r.deleted);
    }

    fn get(&self, i: usize) -> Row {
        Row {
            timestamp: self.timestamp[i],
            exit: self.exit[i],
            cmd: self.cmd[i],
            host: self.host[i],
            cwd: self.cwd[i],
            session: self.session[i],
            deleted: self.deleted[i],
        }
    }
}

/// The previous query's matches, for narrowing.
#[derive(Clone, Debug, Default)]
struct Last {
    text: String,
    mode: Mode,
    filters: Filters,
    /// The commands that matched, newest run first (`None`: every command, no text).
    matched: Option<Vec<u32>>,
}

/// The runs passing one set of filters, per command.
#[derive(Clone, Debug, Default)]
struct Runs {
    /// Passing runs of each command (0: none).
    counts: Vec<u32>,
    /// The newest passing run's position, where `counts` is not 0.
    newest: Vec<u32>,
    /// The commands with a passing run, by their newest one.
    order: Vec<u32>,
    /// The rows in the filters' time range: `lo..hi`.
    lo: u32,
    hi: u32,
    /// Whether each of those fails the other filters.
    skip: Vec<bool>,
}

/// A sort key: an entry's timestamp and its store slot.
type Key = (u64, u32);

/// Keys newest first: by timestamp, then by id (read from the store only on a tie).
#[inline]
fn newest_first(store: &HistoryStore, a: &Key, b: &Key) -> core::cmp::Ordering {
    b.0.cmp(&a.0)
        .then_with(|| store.slot(b.1).id.cmp(&store.slot(a.1).id))
}

/// What a query with no text and no filter but `include_deleted` lists, without building an
/// index (for the first results of a store just loaded, docs/ARCHITECTURE.md, "Search"): the
/// ids of results `offset..offset + limit` in the index's order (newest first), and how many
/// match in all.
pub fn newest(store: &HistoryStore, include_deleted: bool, offset: usize, limit: usize) -> Page {
    let mut order: Vec<Key> = store
        .live_slots()
        .filter(|(_, s)| include_deleted || !s.is_soft_deleted())
        .map(|(i, s)| (s.timestamp, i))
        .collect();
    order.sort_unstable_by(|a, b| newest_first(store, a, b));
    let end = offset.saturating_add(limit).min(order.len());
    Page {
        ids: order[offset.min(end)..end]
            .iter()
            .map(|k| store.slot(k.1).id)
            .collect(),
        total: order.len(),
        runs: Vec::new(),
    }
}

/// Not yet matched / did not match / matches, not scored yet, in the per-command memo;
/// anything else is a score.
const UNKNOWN: u32 = u32::MAX;
const NO: u32 = u32::MAX - 1;
const PENDING: u32 = u32::MAX - 2;

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

/// The search index over the live history entries of one [`HistoryStore`]: it refers to the
/// store's entries by slot and to its commands by id, so every call passes that same store.
#[derive(Clone, Debug)]
pub struct SearchIndex {
    fold: Fold,
    /// Newest first.
    rows: Rows,
    /// The store slot of each row.
    slots: Vec<u32>,
    cmds: Lower,
    /// The host parts of hostnames, and the one of each hostname by its field id in the
    /// store (`u32::MAX`: not yet seen).
    hosts: Strings,
    host_of: Vec<u32>,
    last: Option<Last>,
    memo: Vec<u32>,
    /// [`Runs`] without row filters (live only, deleted too), and for the last other filters.
    runs: [Option<Runs>; 2],
    filtered: Option<(Filters, Runs)>,
}

impl SearchIndex {
    /// An empty index; full-text matching lowercases with `fold`.
    pub fn new(fold: Fold) -> Self {
        Self {
            fold,
            rows: Rows::default(),
            slots: Vec::new(),
            cmds: Lower::default(),
            hosts: Strings::default(),
            host_of: Vec::new(),
            last: None,
            memo: Vec::new(),
            runs: [None, None],
            filtered: None,
        }
    }

    /// Index the live entries of `store` anew (after any change), keeping the commands
    /// already lowercased.
    pub fn rebuild(&mut self, store: &HistoryStore) {
        self.forget();
        self.cmds.extend(store.commands(), self.fold, usize::MAX);
        let mut keys: Vec<Key> = Vec::with_capacity(store.len());
        keys.extend(store.live_slots().map(|(i, s)| (s.timestamp, i)));
        keys.sort_unstable_by(|a, b| newest_first(store, a, b));
        self.rows = Rows::default();
        self.slots = Vec::new();
        self.rows.reserve(keys.len());
        self.slots.reserve_exact(keys.len());
        for (_, i) in keys {
            self.push(store, i);
        }
    }

    /// Bring the index up to date after the entries with the ids in `touched` were created,
    /// replaced or deleted in `store` (any order, repeats allowed). Rebuilds when many
    /// changed.
    pub fn update(&mut self, store: &HistoryStore, touched: &[HistoryId]) {
        // Slots never move: an entry replaced or deleted keeps its slot.
        let mut changed: Vec<u32> = touched.iter().filter_map(|id| store.slot_of(id)).collect();
        crate::sort::sort_cold(&mut changed);
        changed.dedup();
        if changed.is_empty() {
            return;
        }
        if changed.len() * 8 > self.rows.len() {
            return self.rebuild(store);
        }
        self.forget();
        self.cmds.extend(store.commands(), self.fold, usize::MAX);
        let mut fresh: Vec<Key> = changed
            .iter()
            .map(|&i| (i, store.slot(i)))
            .filter(|(_, s)| s.is_live())
            .map(|(i, s)| (s.timestamp, i))
            .collect();
        fresh.sort_unstable_by(|a, b| newest_first(store, a, b));
        let rows = core::mem::take(&mut self.rows);
        let slots = core::mem::take(&mut self.slots);
        self.rows.reserve(rows.len() + fresh.len());
        self.slots.reserve_exact(rows.len() + fresh.len());
        let mut fresh = fresh.into_iter().peekable();
        for (i, slot) in slots.into_iter().enumerate() {
            if changed.binary_search(&slot).is_ok() {
                continue;
            }
            let row = rows.get(i);
            let key = (row.timestamp, slot);
            while let Some((_, f)) = fresh.next_if(|f| newest_first(store, f, &key).is_lt()) {
                self.push(store, f);
            }
            self.rows.push(row);
            self.slots.push(slot);
        }
        for (_, f) in fresh {
            self.push(store, f);
        }
    }

    /// Drop what queries keep (the entries changed).
    fn forget(&mut self) {
        self.last = None;
        self.runs = [None, None];
        self.filtered = None;
    }

    /// Add the row of the live entry in store slot `i`.
    fn push(&mut self, store: &HistoryStore, i: u32) {
        let s: &Slot = store.slot(i);
        let h = s.hostname as usize;
        if h >= self.host_of.len() {
            self.host_of
                .resize(store.fields().len().max(h + 1), u32::MAX);
        }
        if self.host_of[h] == u32::MAX {
            self.host_of[h] = self
                .hosts
                .intern(host_part(store.fields().get(s.hostname)))
                .0;
        }
        self.rows.push(Row {
            timestamp: s.timestamp,
            exit: s.exit,
            cmd: s.command,
            host: self.host_of[h],
            cwd: s.cwd,
            session: s.session,
            deleted: s.is_soft_deleted(),
        });
        self.slots.push(i);
    }

    /// Number of entries indexed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    /// Run a query: `text` (trimmed) in `mode` over the entries passing `filters`; the page
    /// `offset..offset + limit` of the results and their number. `unique`: one result per
    /// distinct command among the matches (its newest run), with its number of runs.
    /// `fuzzy` scores a command against the text in [`Mode::Fuzzy`] (`None`: no match); for
    /// plain ASCII text (no `\ ! ^ $ '`) it must match an ASCII command exactly when every
    /// space-separated word of the text is a subsequence of it (case-insensitively unless the
    /// word has an uppercase letter), as nucleo's fuzzy atoms do, and `best`, if given, is a
    /// score no command can exceed.
    #[allow(clippy::too_many_arguments)]
    pub fn query(
        &mut self,
        store: &HistoryStore,
        text: &str,
        mode: Mode,
        filters: &Filters,
        unique: bool,
        offset: usize,
        limit: usize,
        fuzzy: &mut dyn FnMut(&str) -> Option<u32>,
        best: Option<u32>,
    ) -> Page {
        let text = text.trim();
        let from_last = self.last.as_ref().is_some_and(|l| {
            l.filters == *filters
                && (l.text.is_empty()
                    || (l.mode == mode && narrows(mode, &l.text, text, self.fold)))
        });
        let mut last = self.last.take().unwrap_or_default();
        let previous = if from_last { last.matched.take() } else { None };
        // Commands that came since the last change (there are none in a store kept level).
        self.cmds.extend(store.commands(), self.fold, usize::MAX);
        let Some(resolved) = self.resolve(store, filters) else {
            self.last = None;
            return Page::default();
        };
        let runs = self.take_runs(&resolved, filters);
        let texts = store.commands();
        // The loops below index slices, not `Vec`s, and call no closure per row: the package
        // builds this crate for size, where neither is inlined.
        if self.memo.len() == texts.len() {
            self.memo.fill(UNKNOWN);
        } else {
            self.memo = alloc::vec![UNKNOWN; texts.len()];
        }
        let m = Matcher::new(mode, text, self.fold);
        // Which commands match (scored now only where the host must say).
        let candidates = previous.as_deref().unwrap_or(&runs.order);
        let matched: Option<Vec<u32>> = (!matches!(m, Matcher::All)).then(|| {
            let mut matched = Vec::new();
            let memo = &mut self.memo[..];
            for &c in candidates {
                let v = m.test(texts, &self.cmds, c, fuzzy);
                memo[c as usize] = v;
                if v != NO {
                    matched.push(c);
                }
            }
            matched
        });
        let matched_cmds = matched.as_deref().unwrap_or(candidates);
        let total = if unique {
            matched_cmds.len()
        } else {
            let counts = &runs.counts[..];
            let mut sum = 0;
            for &c in matched_cmds {
                sum += counts[c as usize] as usize;
            }
            sum
        };
        let start = offset.min(total);
        let end = offset.saturating_add(limit).min(total);
        // The score every result on the page reaches when it is certain early: 0 outside fuzzy.
        let top = match m {
            Matcher::Fuzzy { .. } => best.unwrap_or(u32::MAX).min(PENDING - 1),
            _ => 0,
        };
        let (memo, cmds, col) = (&mut self.memo[..], texts, &self.rows.cmd[..]);
        let (skip, counts, newest) = (&runs.skip[..], &runs.counts[..], &runs.newest[..]);
        let page: Vec<u32> = if end == 0 {
            Vec::new()
        } else if unique {
            // Commands, by newest run: the first `end` reaching `top` are the page; else all
            // are scored and ranked.
            let mut at_top = Vec::new();
            for &c in matched_cmds {
                if score(memo, cmds, c, fuzzy) == top {
                    at_top.push(c);
                    if at_top.len() == end {
                        break;
                    }
                }
            }
            if at_top.len() == end {
                at_top[start..]
                    .iter()
                    .map(|&c| newest[c as usize])
                    .collect()
            } else {
                // All scored: (best score first, then newest first) as one number.
                let mut keys = keyed(matched_cmds, memo, newest);
                top_keys(&mut keys, end);
                low(&keys[start..])
            }
        } else {
            // Runs, newest first: the first `end` whose command reaches `top` are the page.
            let mut found = Vec::new();
            let mut seen = 0;
            let some = matched.is_some();
            let in_range = &col[runs.lo as usize..runs.hi as usize];
            for (i, &c) in in_range.iter().enumerate() {
                let v = memo[c as usize];
                if (some && (v == NO || v == UNKNOWN)) || skip[i] {
                    continue;
                }
                seen += 1;
                if score(memo, cmds, c, fuzzy) == top {
                    found.push(runs.lo + i as u32);
                    if found.len() == end {
                        break;
                    }
                }
                if seen == total {
                    break;
                }
            }
            if found.len() == end {
                found[start..].to_vec()
            } else {
                // Every matching command is scored now: the page is the runs of those above
                // the `end`-th best score, then the newest of those at it.
                // (best score first) with each command's runs, as one number, smallest first.
                let mut levels = keyed(matched_cmds, memo, counts);
                levels.sort_unstable();
                let score_of = |l: u64| !((l >> 32) as u32);
                let mut least = 0;
                let mut down_to = 0usize;
                for &l in &levels {
                    least = score_of(l);
                    down_to += l as u32 as usize;
                    if down_to >= end {
                        break;
                    }
                }
                let mut above = 0;
                for &l in levels.iter().take_while(|&&l| score_of(l) > least) {
                    above += l as u32 as usize;
                }
                let mut keys: Vec<u64> = Vec::with_capacity(end);
                let mut at_least = 0;
                for (i, &c) in in_range.iter().enumerate() {
                    let s = memo[c as usize];
                    if s == UNKNOWN || s == NO || s < least || skip[i] {
                        continue;
                    }
                    let pos = runs.lo + i as u32;
                    if s == least {
                        if at_least == end - above {
                            continue;
                        }
                        at_least += 1;
                    }
                    keys.push((u64::from(!s) << 32) | u64::from(pos));
                    if keys.len() == end {
                        break;
                    }
                }
                keys.sort_unstable();
                low(&keys[start..])
            }
        };
        let ids = page
            .iter()
            .map(|&p| store.slot(self.slots[p as usize]).id)
            .collect();
        let counts = if unique {
            page.iter()
                .map(|&p| runs.counts[self.rows.cmd[p as usize] as usize])
                .collect()
        } else {
            Vec::new()
        };
        self.put_runs(filters, runs);
        last.text.clear();
        last.text.push_str(text);
        last.mode = mode;
        if last.filters != *filters {
            last.filters = filters.clone();
        }
        last.matched = matched.or(previous);
        self.last = Some(last);
        Page {
            ids,
            total,
            runs: counts,
        }
    }

    /// The [`Runs`] of these filters, kept from an earlier query or counted now.
    fn take_runs(&mut self, f: &Resolved, filters: &Filters) -> Runs {
        if f.rows_only() {
            if let Some(r) = self.runs[usize::from(f.include_deleted)].take() {
                return r;
            }
        } else if let Some((kept, r)) = self.filtered.take() {
            if kept == *filters {
                return r;
            }
        }
        // Rows are newest first: a time range is a range of rows.
        let times = &self.rows.timestamp;
        let lo = f.before.map_or(0, |t| times.partition_point(|&x| x >= t));
        let hi = f
            .after
            .map_or(times.len(), |t| times.partition_point(|&x| x >= t));
        let hi = hi.max(lo);
        let n = self.cmds.len();
        let skip = f.skip(&self.rows, lo..hi);
        let mut counts = alloc::vec![0u32; n];
        let mut newest = alloc::vec![0u32; n];
        let mut order = Vec::new();
        let (skips, counted, new) = (&skip[..], &mut counts[..], &mut newest[..]);
        for (i, &c) in self.rows.cmd[lo..hi].iter().enumerate() {
            if skips[i] {
                continue;
            }
            let count = &mut counted[c as usize];
            if *count == 0 {
                new[c as usize] = (lo + i) as u32;
                order.push(c);
            }
            *count += 1;
        }
        Runs {
            counts,
            newest,
            order,
            lo: lo as u32,
            hi: hi as u32,
            skip,
        }
    }

    fn put_runs(&mut self, filters: &Filters, runs: Runs) {
        if filters.host.is_none()
            && filters.cwd.is_none()
            && filters.session.is_none()
            && filters.command.is_none()
            && filters.exit.is_none()
            && filters.after.is_none()
            && filters.before.is_none()
        {
            self.runs[usize::from(filters.include_deleted)] = Some(runs);
        } else {
            self.filtered = Some((filters.clone(), runs));
        }
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
    fn resolve(&self, store: &HistoryStore, f: &Filters) -> Option<Resolved> {
        let id = |s: &Option<String>, t: &Strings| match s {
            None => Some(None),
            Some(s) => t.find(s).map(Some),
        };
        Some(Resolved {
            host: id(&f.host, &self.hosts)?,
            cwd: id(&f.cwd, store.fields())?,
            session: id(&f.session, store.fields())?,
            command: id(&f.command, store.commands())?,
            exit: f.exit,
            after: f.after,
            before: f.before,
            include_deleted: f.include_deleted,
        })
    }
}

/// Keys sorted in one go by [`IndexBuild`] before it merges them.
const RUN: usize = 4096;

/// A [`SearchIndex`] built a bounded amount of work at a time, for a host that must stay
/// responsive meanwhile: the store's new commands are lowercased, its live slots read (their
/// keys), the keys sorted (runs, then merges), then the rows laid out newest first, straight
/// into vectors of their final size. Its index answers as [`SearchIndex::rebuild`]'s does.
/// Entries changed while it runs: once it is done, [`SearchIndex::update`] with their ids.
#[derive(Debug)]
pub struct IndexBuild {
    index: SearchIndex,
    /// `(timestamp, slot)` of the live slots read, and as many more to merge into.
    keys: Vec<Key>,
    spare: Vec<Key>,
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Lower,
    /// Reading the store's slots, from this one.
    Read(u32),
    /// Sorting runs of [`RUN`] keys, from this one.
    Runs(usize),
    /// Merging pairs of sorted runs of `width` keys from `keys` into `spare`: the pair at
    /// `lo`, `a` and `b` keys of its halves taken.
    Merge {
        width: usize,
        lo: usize,
        a: usize,
        b: usize,
    },
    /// Laying out the rows of the sorted keys, from this one.
    Place(usize),
    Done,
}

impl IndexBuild {
    /// A build not started; full-text matching lowercases with `fold`.
    pub fn new(fold: Fold) -> Self {
        Self {
            index: SearchIndex::new(fold),
            keys: Vec::new(),
            spare: Vec::new(),
            stage: Stage::Lower,
        }
    }

    /// About `work` entries' worth of the build over `store`; whether it is done.
    pub fn step(&mut self, store: &HistoryStore, work: usize) -> bool {
        let mut work = work.max(1);
        while work > 0 {
            let n = self.keys.len();
            match &mut self.stage {
                Stage::Lower => {
                    let before = self.index.cmds.len();
                    let done = self
                        .index
                        .cmds
                        .extend(store.commands(), self.index.fold, work);
                    work -= (self.index.cmds.len() - before).min(work);
                    if done {
                        // Room for every entry up front: no step copies it all.
                        self.keys.reserve_exact(store.len());
                        self.stage = Stage::Read(0);
                    }
                }
                Stage::Read(at) => {
                    let end = (*at as usize).saturating_add(work).min(store.slots());
                    for i in *at..end as u32 {
                        let s = store.slot(i);
                        if s.is_live() {
                            self.keys.push((s.timestamp, i));
                        }
                    }
                    work -= end - *at as usize;
                    *at = end as u32;
                    if end == store.slots() {
                        self.spare.reserve_exact(self.keys.len());
                        self.stage = Stage::Runs(0);
                    }
                }
                Stage::Runs(at) => {
                    let end = (*at + RUN).min(n);
                    self.keys[*at..end].sort_unstable_by(|a, b| newest_first(store, a, b));
                    self.spare.extend_from_slice(&self.keys[*at..end]);
                    *at = end;
                    work = work.saturating_sub(RUN);
                    if end == n {
                        self.stage = Stage::Merge {
                            width: RUN,
                            lo: 0,
                            a: 0,
                            b: 0,
                        };
                    }
                }
                Stage::Merge { width, lo, a, b } => {
                    if *width >= n {
                        self.stage = Stage::Place(0);
                        self.spare = Vec::new();
                        self.index.rows.reserve(n);
                        self.index.slots.reserve_exact(n);
                        continue;
                    }
                    if *lo >= n {
                        core::mem::swap(&mut self.keys, &mut self.spare);
                        *width *= 2;
                        *lo = 0;
                        continue;
                    }
                    let mid = (*lo + *width).min(n);
                    let (left, right) =
                        (&self.keys[*lo..mid], &self.keys[mid..(mid + *width).min(n)]);
                    let out = &mut self.spare[*lo..];
                    while work > 0 && *a + *b < left.len() + right.len() {
                        let take_left = *b == right.len()
                            || (*a < left.len()
                                && newest_first(store, &left[*a], &right[*b]).is_le());
                        if take_left {
                            out[*a + *b] = left[*a];
                            *a += 1;
                        } else {
                            out[*a + *b] = right[*b];
                            *b += 1;
                        }
                        work -= 1;
                    }
                    if *a + *b == left.len() + right.len() {
                        *lo += left.len() + right.len();
                        (*a, *b) = (0, 0);
                    }
                }
                Stage::Place(at) => {
                    let end = at.saturating_add(work).min(n);
                    for &(_, i) in &self.keys[*at..end] {
                        // Deleted since it was read: its id is among the changes.
                        if store.slot(i).is_live() {
                            self.index.push(store, i);
                        }
                    }
                    work -= end - *at;
                    *at = end;
                    if end == n {
                        self.keys = Vec::new();
                        self.stage = Stage::Done;
                    }
                }
                Stage::Done => return true,
            }
        }
        matches!(self.stage, Stage::Done)
    }

    /// The index, built to the end over `store`.
    pub fn finish(mut self, store: &HistoryStore) -> SearchIndex {
        while !self.step(store, usize::MAX) {}
        self.index
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
    /// No filter but `include_deleted`.
    fn rows_only(&self) -> bool {
        self.host.is_none()
            && self.cwd.is_none()
            && self.session.is_none()
            && self.command.is_none()
            && self.exit.is_none()
            && self.after.is_none()
            && self.before.is_none()
    }

    /// Whether each of rows `range` fails the filters, but for the time range (which is a
    /// range of rows): one column at a time.
    fn skip(&self, r: &Rows, range: core::ops::Range<usize>) -> Vec<bool> {
        let mut skip = alloc::vec![false; range.len()];
        if !self.include_deleted {
            skip.copy_from_slice(&r.deleted[range.clone()]);
        }
        fn unless<T: PartialEq + Copy>(skip: &mut [bool], col: &[T], want: Option<T>) {
            if let Some(w) = want {
                for (i, s) in skip.iter_mut().enumerate() {
                    *s |= col[i] != w;
                }
            }
        }
        unless(&mut skip, &r.host[range.clone()], self.host);
        unless(&mut skip, &r.cwd[range.clone()], self.cwd);
        unless(&mut skip, &r.session[range.clone()], self.session);
        unless(&mut skip, &r.cmd[range.clone()], self.command);
        unless(&mut skip, &r.exit[range], self.exit);
        skip
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
    /// The lowercase words, and their [`bytes`].
    Words(Vec<Vec<u8>>, u64),
    Fuzzy {
        /// The words, when the text is plain: lowercase, or as typed (then with `true`) when
        /// one has an uppercase letter, as nucleo's smart case.
        words: Option<Vec<(Vec<u8>, bool)>>,
        /// The [`bytes`] of those words lowercased.
        need: u64,
    },
}

impl<'t> Matcher<'t> {
    fn new(mode: Mode, text: &'t str, fold: Fold) -> Self {
        if text.is_empty() {
            return Matcher::All;
        }
        match mode {
            Mode::Prefix => Matcher::Prefix(text),
            Mode::FullText => {
                let words: Vec<Vec<u8>> = text
                    .split_whitespace()
                    .map(|w| fold_str(w, fold).into_bytes())
                    .collect();
                let need = words.iter().fold(0, |m, w| m | bytes(w));
                Matcher::Words(words, need)
            }
            Mode::Fuzzy => {
                let words: Option<Vec<(Vec<u8>, bool)>> = plain(text).then(|| {
                    text.split(' ')
                        .filter(|w| !w.is_empty())
                        .map(|w| {
                            let upper = w.bytes().any(|b| b.is_ascii_uppercase());
                            (w.as_bytes().to_vec(), upper)
                        })
                        .collect()
                });
                let need = words
                    .iter()
                    .flatten()
                    .fold(0, |m, (w, _)| m | bytes(&w.to_ascii_lowercase()));
                Matcher::Fuzzy { words, need }
            }
        }
    }

    /// Whether command `id` matches, as a memo value: [`NO`], a score (0 outside fuzzy), or
    /// [`PENDING`] (fuzzy: matches, not scored yet).
    fn test(
        &self,
        texts: &Strings,
        cmds: &Lower,
        id: u32,
        fuzzy: &mut dyn FnMut(&str) -> Option<u32>,
    ) -> u32 {
        let yes = |b: bool| if b { 0 } else { NO };
        match self {
            Matcher::All => 0,
            Matcher::Prefix(t) => yes(texts.get(id).starts_with(t)),
            Matcher::Words(ws, need) => {
                let l = cmds.lower(id);
                yes(cmds.bytes[id as usize] & need == *need && ws.iter().all(|w| contains(l, w)))
            }
            Matcher::Fuzzy { words, need } => match words {
                Some(words) if cmds.ascii[id as usize] => {
                    if cmds.bytes[id as usize] & need != *need {
                        return NO;
                    }
                    let (text, lower) = (texts.get(id).as_bytes(), cmds.lower(id));
                    let all = words
                        .iter()
                        .all(|(w, upper)| subsequence(w, if *upper { text } else { lower }));
                    if all {
                        PENDING
                    } else {
                        NO
                    }
                }
                _ => fuzzy(texts.get(id)).map_or(NO, |s| s.min(PENDING - 1)),
            },
        }
    }
}

/// The score of matching command `c` (0 when not a fuzzy query), asking `fuzzy` once.
#[inline(always)]
fn score(
    memo: &mut [u32],
    texts: &Strings,
    c: u32,
    fuzzy: &mut dyn FnMut(&str) -> Option<u32>,
) -> u32 {
    match memo[c as usize] {
        UNKNOWN => 0,
        PENDING => {
            let s = fuzzy(texts.get(c)).unwrap_or(0).min(PENDING - 1);
            memo[c as usize] = s;
            s
        }
        s => s,
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
    for i in 0..=hay.len() - needle.len() {
        if hay[i] == first && &hay[i + 1..i + needle.len()] == rest {
            return true;
        }
    }
    false
}

fn subsequence(needle: &[u8], hay: &[u8]) -> bool {
    let mut at = 0;
    for &b in needle {
        loop {
            let Some(&h) = hay.get(at) else {
                return false;
            };
            at += 1;
            if h == b {
                break;
            }
        }
    }
    true
}

/// `(!hi[c] << 32) | lo[c]` for each of `cmds`: sorted, highest `hi` first, then lowest `lo`.
fn keyed(cmds: &[u32], hi: &[u32], lo: &[u32]) -> Vec<u64> {
    let mut keys = Vec::with_capacity(cmds.len());
    for &c in cmds {
        keys.push((u64::from(!hi[c as usize]) << 32) | u64::from(lo[c as usize]));
    }
    keys
}

/// The low halves of `keys`.
fn low(keys: &[u64]) -> Vec<u32> {
    keys.iter().map(|&k| k as u32).collect()
}

/// The `end` smallest of `keys`, sorted (all of them if fewer).
fn top_keys(keys: &mut Vec<u64>, end: usize) {
    if end > 0 && end < keys.len() {
        keys.select_nth_unstable(end - 1);
        keys.truncate(end);
    }
    keys.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::history::History;
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

    /// A store of `es` and its index.
    struct Ix {
        store: HistoryStore,
        ix: SearchIndex,
    }

    fn index(es: &[History]) -> Ix {
        let store = store_of(es);
        let mut ix = SearchIndex::new(fold);
        ix.rebuild(&store);
        Ix { store, ix }
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

    /// [`fuzzy_score`] in 4 levels, so many commands tie at the best (3).
    fn coarse_score(text: &str, cmd: &str) -> Option<u32> {
        fuzzy_score(text, cmd).map(|s| s % 4)
    }

    type Score = fn(&str, &str) -> Option<u32>;

    /// The fuzzy scorer and the best score it gives: [`coarse_score`] and 3, or
    /// [`fuzzy_score`], whose best no command reaches.
    fn scorer(coarse: bool) -> (Score, Option<u32>) {
        if coarse {
            (coarse_score, Some(3))
        } else {
            (fuzzy_score, None)
        }
    }

    /// A query as the tests ask it: text, mode and filters; every run, the first 100 unless
    /// said otherwise; fuzzy by [`fuzzy_score`] unless `coarse`.
    #[derive(Clone, Copy)]
    struct Q<'a> {
        text: &'a str,
        mode: Mode,
        f: &'a Filters,
        unique: bool,
        offset: usize,
        limit: usize,
        coarse: bool,
    }

    fn q<'a>(text: &'a str, mode: Mode, f: &'a Filters) -> Q<'a> {
        Q {
            text,
            mode,
            f,
            unique: false,
            offset: 0,
            limit: 100,
            coarse: false,
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
            coarse,
        } = q;
        let fuzzy_score = scorer(coarse).0;
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

    fn run(ix: &mut Ix, q: Q) -> Page {
        ask(&mut ix.ix, &ix.store, q)
    }

    fn ask(ix: &mut SearchIndex, store: &HistoryStore, q: Q) -> Page {
        let t = q.text.trim().to_owned();
        let (score, best) = scorer(q.coarse);
        ix.query(
            store,
            q.text,
            q.mode,
            q.f,
            q.unique,
            q.offset,
            q.limit,
            &mut |c| score(&t, c),
            best,
        )
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
                let p = ix.ix.query(
                    &ix.store,
                    "",
                    Mode::FullText,
                    &f,
                    false,
                    offset,
                    limit,
                    &mut |_| Some(0),
                    None,
                );
                let at = (deleted, offset, limit);
                assert_eq!(newest(&ix.store, deleted, offset, limit), p, "{at:?}");
            }
        }
        assert_eq!(newest(&HistoryStore::new(), false, 0, 100).total, 0);
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
        ix = index(&es);
        assert_eq!(run(&mut ix, q("git s", Mode::Prefix, &f)).total, 3);
        es.retain(|h| h.id != HistoryId(Uuid::from_u128(1)));
        ix = index(&es);
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
        let ix = SearchIndex::new(fold);
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
        let mut s = HistoryStore::new();
        for (i, h) in es.iter().enumerate() {
            s.fold(
                origin(1_000_000 + i as u64),
                HistoryRecord::Create(h.clone()),
            );
        }
        s
    }

    /// The origin of a record at `t` (earlier ones win a create).
    fn origin(t: u64) -> crate::store::RecordOrigin {
        use crate::record::{HostId, RecordId};
        crate::store::RecordOrigin {
            timestamp: t,
            host: HostId(Uuid::nil()),
            idx: t,
            record: RecordId(Uuid::from_u128(u128::from(t))),
        }
    }

    /// Fold into `store` (and the model `es`): delete `id` (`None`), or a create of `h` by a
    /// record earlier than any before (it replaces a live entry of its id); the id touched.
    fn change(
        store: &mut HistoryStore,
        es: &mut Vec<History>,
        id: u128,
        h: Option<History>,
        t: &mut u64,
        touched: &mut Vec<HistoryId>,
    ) {
        use crate::payload::history::HistoryRecord;
        let id = HistoryId(Uuid::from_u128(id));
        *t -= 1;
        match h {
            None => {
                store.fold(origin(*t), HistoryRecord::Delete(id));
                es.retain(|h| h.id != id);
            }
            Some(h) => {
                store.fold(origin(*t), HistoryRecord::Create(h.clone()));
                if !store.is_deleted(&id) {
                    es.retain(|h| h.id != id);
                    es.push(h);
                }
            }
        }
        touched.push(id);
    }

    /// The same pages from `a` and `b` over `store`, over a few queries of each mode and view.
    fn same_pages(store: &HistoryStore, a: &mut SearchIndex, b: &mut SearchIndex) {
        assert_eq!(a.slots, b.slots);
        for f in [every(), Filters::default()] {
            for t in ["", "c1", "new", "c 2", "n2"] {
                for mode in [Mode::Prefix, Mode::FullText, Mode::Fuzzy] {
                    for unique in [false, true] {
                        let one = q(t, mode, &f).unique(unique).page(3, 40);
                        let (x, y) = (ask(a, store, one), ask(b, store, one));
                        assert_eq!(x, y, "{t:?} {mode:?} {unique}");
                    }
                }
            }
        }
    }

    /// Entries over several sorted runs of the stepped build, timestamps out of id order, ties.
    fn many(n: u128) -> Vec<History> {
        (0..n)
            .map(|i| {
                entry(
                    i,
                    &format!("c{} x{}", i % 13, i % 7),
                    (i * 7919 % 9973) as u64 % 3000,
                )
            })
            .collect()
    }

    #[test]
    fn stepped_build_is_the_one_go_build() {
        let es = many(3 * RUN as u128 + 123);
        let store = store_of(&es);
        let mut full = SearchIndex::new(fold);
        full.rebuild(&store);
        for work in [1, 7, 1000, RUN, usize::MAX] {
            let mut b = IndexBuild::new(fold);
            let mut steps = 0;
            while !b.step(&store, work) {
                steps += 1;
            }
            assert!(work == usize::MAX || steps > 2, "{work}: {steps} steps");
            // Done stays done.
            assert!(b.step(&store, 1));
            same_pages(&store, &mut b.finish(&store), &mut full);
        }
        let empty = HistoryStore::new();
        assert!(IndexBuild::new(fold).finish(&empty).is_empty());
    }

    #[test]
    fn stepped_build_then_changes_since_is_the_one_go_build() {
        let es = many(2 * RUN as u128 + 50);
        // Stop in each stage: reading, sorting runs, merging, placing rows.
        for stop in [10, 3 * RUN, 5 * RUN, 6 * RUN + 40, 10 * RUN] {
            let mut store = store_of(&es);
            let mut b = IndexBuild::new(fold);
            assert!(!b.step(&store, stop), "{stop}");
            // Meanwhile: entries deleted, replaced and added, before and after the last read.
            let (mut now, mut touched, mut t) = (es.clone(), Vec::new(), 1000);
            for i in [0u128, 3000, 8000, 8100] {
                change(&mut store, &mut now, i, None, &mut t, &mut touched);
            }
            for (i, ts) in [(5u128, 2999), (9, 1), (20_000, 5), (2, 3001), (20_001, 7)] {
                let h = entry(i, &format!("new {i}"), ts);
                change(&mut store, &mut now, i, Some(h), &mut t, &mut touched);
            }
            assert_eq!(store.len(), now.len());
            let mut ix = b.finish(&store);
            ix.update(&store, &touched);
            let mut full = SearchIndex::new(fold);
            full.rebuild(&store);
            same_pages(&store, &mut ix, &mut full);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn update_same_as_rebuild(
            n in 1usize..80,
            changes in proptest::collection::vec((0u128..100, 0u64..8, 0usize..3), 1..30),
        ) {
            let mut es: Vec<History> = (0..n).map(|i| entry(i as u128, &format!("c{}", i % 5), i as u64 % 8)).collect();
            let mut store = store_of(&es);
            let mut ix = SearchIndex::new(fold);
            ix.rebuild(&store);
            let (mut touched, mut t) = (Vec::new(), 1000);
            for (id, ts, what) in changes {
                let h = (what > 0).then(|| entry(id, &format!("new {what}"), ts));
                change(&mut store, &mut es, id, h, &mut t, &mut touched);
            }
            ix.update(&store, &touched);
            let mut full = SearchIndex::new(fold);
            full.rebuild(&store);
            prop_assert_eq!(&ix.slots, &full.slots);
            let f = every();
            for t in ["", "new", "c1", "new 2"] {
                for unique in [false, true] {
                    let one = q(t, Mode::FullText, &f).unique(unique).page(0, 200);
                    prop_assert_eq!(ask(&mut ix, &store, one), reference(&es, one));
                }
            }
        }

        #[test]
        fn same_as_reference(
            cmds in proptest::collection::vec("[abAB é]{0,6}", 1..120),
            ts in proptest::collection::vec(0u64..8, 120),
            steps in proptest::collection::vec(("[abAB é!]{0,4}", 0usize..3, 0usize..4, 0usize..3, proptest::option::of(0i64..3), any::<bool>()), 1..12),
            coarse in any::<bool>(),
            after in proptest::option::of(0u64..8),
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
                let f = Filters { exit, include_deleted: cut == 1, after: after.filter(|_| offset == 1), ..Default::default() };
                // Pages from 1 to 15 long, some past the end.
                let page = (offset * 7 % 10, 1 + offset * 7 % 15);
                let ask = Q { coarse, ..q(&text, mode, &f).unique(unique).page(page.0, page.1) };
                prop_assert_eq!(run(&mut ix, ask), reference(&es, ask), "{:?} {:?} {}", text, mode, unique);
            }
        }
    }
}
