//! History queries over the live entries: filters, search modes, paging. A thin adapter over
//! terrapin-core's [`SearchIndex`] (kept beside the views, rebuilt when they change); fuzzy
//! scoring is nucleo's.

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{chars, Config, Matcher, Utf32Str};
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::search::{Filters, IndexBuild, Mode, SearchIndex};
use terrapin_core::store::HistoryStore;

use crate::score::nucleo_best;

/// How the query text matches a command (the core's [`Mode`]); `Fuzzy` scores with nucleo
/// here, fzf syntax included.
pub use terrapin_core::search::Mode as SearchMode;

/// A history query: text, mode and the core's [`Filters`] (times in ns since the Unix epoch),
/// `unique` (one result per distinct command), then a page: `offset`, and at most `limit`
/// results (default 100).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    pub mode: SearchMode,
    pub filters: Filters,
    pub unique: bool,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// One page of results and how many matched in all.
pub struct QueryResult {
    pub entries: Vec<History>,
    pub total: usize,
    /// Unique queries: each entry's number of runs; else empty.
    pub runs: Vec<u32>,
    /// With query text: where it matched each entry's command, as flat `[start, end, ...]`
    /// ranges in UTF-16 code units (JS string indices); else empty.
    pub matches: Vec<Vec<u32>>,
}

/// Lower case by simple Unicode case folding, for case-insensitive matching. Uses the folding
/// table nucleo already carries (the fuzzy mode needs it) instead of std's lowercase tables,
/// which would add ~15 KB to the wasm. (Non-ASCII characters only; the index does ASCII.)
fn fold_char(c: char) -> char {
    nucleo_matcher::chars::to_lower_case(c)
}

/// The search index of one set of views and what queries reuse.
pub struct Search {
    /// Whether `index` was built; then, or while `build` runs, `touched` lists the entries
    /// changed since.
    built: bool,
    touched: Vec<HistoryId>,
    index: SearchIndex,
    /// A build in steps under way ([`Search::step`]).
    build: Option<IndexBuild>,
    matcher: Option<Matcher>,
    buf: Vec<char>,
    /// Match positions while scoring (unused there; see [`score_atoms`]).
    at: Vec<u32>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            built: false,
            touched: Vec::new(),
            index: SearchIndex::new(fold_char),
            build: None,
            matcher: None,
            buf: Vec::new(),
            at: Vec::new(),
        }
    }
}

impl Search {
    /// The entry with this id was created, replaced or deleted.
    pub fn touch(&mut self, id: HistoryId) {
        if self.built || self.build.is_some() {
            self.touched.push(id);
            if self.touched.len() > 50_000 {
                // Cheaper to rebuild than to keep them.
                self.built = false;
                self.build = None;
                self.touched = Vec::new();
            }
        }
    }

    /// About `work` entries' worth of building the index of `history` (in steps, so the page
    /// stays responsive); whether it is built. A query finishes a build under way.
    pub fn step(&mut self, history: &HistoryStore, work: usize) -> bool {
        if self.built {
            return true;
        }
        if self.build.is_none() {
            self.touched.clear();
        }
        let b = self.build.get_or_insert_with(|| IndexBuild::new(fold_char));
        if b.step(history, work) {
            self.finish(history);
        }
        self.built
    }

    /// The build under way done, or one in one go (the entries touched meanwhile come in with
    /// the next query).
    fn finish(&mut self, history: &HistoryStore) {
        match self.build.take() {
            Some(b) => self.index = b.finish(history),
            None => {
                self.touched.clear();
                self.index.rebuild(history);
            }
        }
        self.built = true;
    }
}

/// Run `q` over the live `history` (every change to it [`Search::touch`]ed). Results are
/// newest first, except fuzzy, which ranks by score (ties newest first).
pub fn run(history: &HistoryStore, search: &mut Search, q: &Query) -> QueryResult {
    let text = q.text.trim();
    let (mode, filters, unique) = (q.mode, &q.filters, q.unique);
    let limit = q.limit.unwrap_or(100);
    let listing = !search.built
        && text.is_empty()
        && !unique
        && *filters
            == Filters {
                include_deleted: filters.include_deleted,
                ..Filters::default()
            };
    let page = if listing {
        // The first results of a store just loaded need no index: the first query that does
        // builds it.
        let deleted = filters.include_deleted;
        terrapin_core::search::newest(history, deleted, q.offset, limit)
    } else {
        if !search.built {
            search.finish(history);
        }
        if !search.touched.is_empty() {
            search.index.update(history, &search.touched);
            search.touched.clear();
        }
        let fuzzy = mode == Mode::Fuzzy && !text.is_empty();
        let pattern =
            fuzzy.then(|| Pattern::parse(text, CaseMatching::Smart, Normalization::Smart));
        let matcher = search
            .matcher
            .get_or_insert_with(|| Matcher::new(Config::DEFAULT));
        let (buf, at) = (&mut search.buf, &mut search.at);
        let mut score = |cmd: &str| match &pattern {
            Some(p) => {
                at.clear();
                score_atoms(p, Utf32Str::new(cmd, buf), matcher, at)
            }
            None => Some(0),
        };
        let best = if fuzzy { nucleo_best(text) } else { None };
        search.index.query(
            history, text, mode, filters, unique, q.offset, limit, &mut score, best,
        )
    };
    let entries: Vec<History> = page.ids.iter().filter_map(|id| history.get(id)).collect();
    let matches = if text.is_empty() {
        Vec::new()
    } else {
        highlights(search, text, mode, &entries)
    };
    QueryResult {
        entries,
        total: page.total,
        runs: page.runs,
        matches,
    }
}

/// Where `text` matched each command (fuzzy: nucleo's positions), in UTF-16 ranges.
fn highlights(search: &mut Search, text: &str, mode: Mode, entries: &[History]) -> Vec<Vec<u32>> {
    let pattern = (mode == Mode::Fuzzy)
        .then(|| Pattern::parse(text, CaseMatching::Smart, Normalization::Smart));
    let matcher = search
        .matcher
        .get_or_insert_with(|| Matcher::new(Config::DEFAULT));
    let buf = &mut search.buf;
    let index = &search.index;
    entries
        .iter()
        .map(|h| {
            let chars = index.matches(text, mode, &h.command, &mut |cmd, at| {
                if let Some(p) = &pattern {
                    score_atoms(p, Utf32Str::new(cmd, buf), matcher, at);
                }
            });
            utf16_ranges(&h.command, &chars)
        })
        .collect()
}

/// `pattern`'s score on `hay` (nucleo's `Pattern::score`, which the tests hold it to), with
/// each positive atom's match positions appended to `at` (as `Pattern::indices`). Only the
/// matcher's `*_indices` functions are called, so the wasm carries one copy of nucleo's
/// matching code, not its `*_match` twins too (web/README.md, "Bundle size"). Case and
/// normalisation are decided from each needle as nucleo's smart modes decide them.
fn score_atoms(
    pattern: &Pattern,
    hay: Utf32Str<'_>,
    m: &mut Matcher,
    at: &mut Vec<u32>,
) -> Option<u32> {
    let mut total = 0;
    for atom in &pattern.atoms {
        let needle = atom.needle_text();
        m.config.ignore_case = !needle.chars().any(chars::is_upper_case);
        m.config.normalize = needle.chars().all(|c| chars::normalize(c) == c);
        let mark = at.len();
        let score = match atom.kind {
            AtomKind::Substring => m.substring_indices(hay, needle, at),
            AtomKind::Exact => m.exact_indices(hay, needle, at),
            AtomKind::Prefix => m.prefix_indices(hay, needle, at),
            AtomKind::Postfix => m.postfix_indices(hay, needle, at),
            // Fuzzy (the kind is non-exhaustive; the tests would catch a new one).
            _ => m.fuzzy_indices(hay, needle, at),
        };
        if atom.negative {
            // A negative atom only excludes; it adds no score and no positions.
            at.truncate(mark);
            if score.is_some() {
                return None;
            }
        } else {
            total += u32::from(score?);
        }
    }
    Some(total)
}

/// Char ranges of `s` (sorted, disjoint) as flat UTF-16 `[start, end, ...]`.
fn utf16_ranges(s: &str, ranges: &[(u32, u32)]) -> Vec<u32> {
    let mut out = Vec::with_capacity(ranges.len() * 2);
    let mut next = ranges.iter().flat_map(|&(a, b)| [a, b]).peekable();
    let mut units = 0u32;
    for (i, c) in s.chars().chain(core::iter::once('\0')).enumerate() {
        while next.next_if_eq(&(i as u32)).is_some() {
            out.push(units);
        }
        units += c.len_utf16() as u32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{score_atoms, utf16_ranges};
    use crate::score::nucleo_best;
    use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
    use nucleo_matcher::{Config, Matcher, Utf32Str};

    #[test]
    fn nucleo_never_beats_the_best() {
        let cmds = [
            "git status",
            "gs",
            "g",
            "ls -la",
            "- la",
            "-la",
            "/usr/bin",
            "a/b,c:d;e|f",
            "cargo build --release",
            "GIT_TRACE=1 git push",
            "x-abcdefgh",
            "- abcdefgh",
            "make -j4",
            "cd ~/src",
            "ssh deploy@prod-3",
            "fooBar baz_qux 123",
            "a b c d",
        ];
        let texts = [
            "g",
            "gs",
            "git",
            "ls -la",
            "-",
            "/",
            "-abcdefgh",
            "a/b",
            "crgtst",
            "GIT",
            "j4",
            "~/src",
            "b c",
            "|f",
            "s d",
            "1",
        ];
        let mut m = Matcher::new(Config::DEFAULT);
        let mut buf = Vec::new();
        let mut reached = 0;
        for t in texts {
            let best = nucleo_best(t).unwrap();
            let p = Pattern::parse(t, CaseMatching::Smart, Normalization::Smart);
            for c in cmds {
                if let Some(s) = p.score(Utf32Str::new(c, &mut buf), &mut m) {
                    assert!(s <= best, "{t:?} on {c:?}: {s} > {best}");
                    reached += usize::from(s == best);
                }
            }
        }
        // Tight enough to stop early: a word at the start of a command reaches it.
        assert!(reached >= 8, "{reached}");
        assert_eq!(nucleo_best("git"), Some(88));
        assert_eq!(nucleo_best("^git"), None);
        assert_eq!(nucleo_best("é"), None);
    }

    /// `score_atoms` gives nucleo's `Pattern::score`, and `Pattern::indices`'s positions, for
    /// every atom kind, negation, smart case and normalisation.
    #[test]
    fn scores_as_nucleo_patterns_do() {
        let cmds = [
            "git status",
            "GIT_TRACE=1 git push",
            "git commit -m 'Café crème'",
            "cafe latte",
            "ÉCOLE=1 make",
            "ls -la /tmp",
            "fooBar baz_qux 123",
            "kubectl get pods -n prod",
            "",
            "ß straße STRASSE",
        ];
        let texts = [
            "g",
            "git",
            "Git",
            "gst",
            "^git",
            "push$",
            "'commit",
            "!git",
            "git !push",
            "^ls !tmp",
            "café",
            "cafe",
            "CAFÉ",
            "école",
            "É",
            "straße",
            "STRASSE",
            "foo bar",
            "'la$",
            "!^git",
            "kgp",
            "^kubectl pods$",
            "\\ ",
            "x y z",
            "123",
        ];
        let mut m = Matcher::new(Config::DEFAULT);
        let (mut buf, mut at, mut want) = (Vec::new(), Vec::new(), Vec::new());
        let mut matched = 0;
        for t in texts {
            let p = Pattern::parse(t, CaseMatching::Smart, Normalization::Smart);
            for c in cmds {
                let score = p.score(Utf32Str::new(c, &mut buf), &mut m);
                want.clear();
                p.indices(Utf32Str::new(c, &mut buf), &mut m, &mut want);
                at.clear();
                let got = score_atoms(&p, Utf32Str::new(c, &mut buf), &mut m, &mut at);
                assert_eq!(got, score, "{t:?} on {c:?}");
                if score.is_some() {
                    assert_eq!(at, want, "{t:?} on {c:?}");
                    matched += 1;
                }
            }
        }
        assert!(matched > 40, "{matched}");
    }

    #[test]
    fn ranges_in_utf16_units() {
        assert_eq!(utf16_ranges("git", &[(0, 1), (2, 3)]), [0, 1, 2, 3]);
        // 😀 is two UTF-16 units; é one.
        assert_eq!(utf16_ranges("😀é x", &[(1, 2), (3, 4)]), [2, 3, 4, 5]);
        assert_eq!(utf16_ranges("", &[]), Vec::<u32>::new());
    }
}
