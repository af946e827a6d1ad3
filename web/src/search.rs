//! History queries over the live entries: filters, search modes, paging. A thin adapter over
//! terrapin-core's [`SearchIndex`] (kept beside the views, rebuilt when they change); fuzzy
//! scoring is nucleo's.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::search::{Filters, Mode, SearchIndex};
use terrapin_core::store::HistoryStore;

/// How the query text matches a command (the core's [`Mode`]); `Fuzzy` scores with nucleo
/// here, fzf syntax included.
pub use terrapin_core::search::Mode as SearchMode;

/// A history query: text, mode and the core's [`Filters`] (times in ns since the Unix epoch),
/// then a page: `offset`, and at most `limit` results (default 100).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    pub mode: SearchMode,
    pub filters: Filters,
    pub offset: usize,
    pub limit: Option<usize>,
}

/// One page of results and how many matched in all.
pub struct QueryResult<'a> {
    pub entries: Vec<&'a History>,
    pub total: usize,
}

/// Lower case by simple Unicode case folding, for case-insensitive matching. Uses the folding
/// table nucleo already carries (the fuzzy mode needs it) instead of std's lowercase tables,
/// which would add ~15 KB to the wasm. (Non-ASCII characters only; the index does ASCII.)
fn fold_char(c: char) -> char {
    nucleo_matcher::chars::to_lower_case(c)
}

/// The search index of one set of views and what queries reuse.
pub struct Search {
    /// Whether `index` was built; then `touched` lists the entries changed since.
    built: bool,
    touched: Vec<HistoryId>,
    index: SearchIndex,
    matcher: Option<Matcher>,
    buf: Vec<char>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            built: false,
            touched: Vec::new(),
            index: SearchIndex::new(fold_char),
            matcher: None,
            buf: Vec::new(),
        }
    }
}

impl Search {
    /// The entry with this id was created, replaced or deleted.
    pub fn touch(&mut self, id: HistoryId) {
        if self.built {
            self.touched.push(id);
            if self.touched.len() > 50_000 {
                // Cheaper to rebuild than to keep them.
                self.built = false;
                self.touched = Vec::new();
            }
        }
    }
}

/// Run `q` over the live `history` (every change to it [`Search::touch`]ed). Results are
/// newest first, except fuzzy, which ranks by score (ties newest first).
pub fn run<'a>(history: &'a HistoryStore, search: &mut Search, q: &Query) -> QueryResult<'a> {
    if !search.built {
        search.index.rebuild(history);
        search.built = true;
    } else if !search.touched.is_empty() {
        search.index.update(history, &mut search.touched);
        search.touched.clear();
    }
    let text = q.text.trim();
    let (mode, filters) = (q.mode, &q.filters);
    let limit = q.limit.unwrap_or(100);
    let page = if mode == Mode::Fuzzy && !text.is_empty() {
        let pattern = Pattern::parse(text, CaseMatching::Smart, Normalization::Smart);
        let matcher = search
            .matcher
            .get_or_insert_with(|| Matcher::new(Config::DEFAULT));
        let buf = &mut search.buf;
        search
            .index
            .query(text, mode, filters, q.offset, limit, &mut |cmd| {
                pattern.score(Utf32Str::new(cmd, buf), matcher)
            })
    } else {
        search
            .index
            .query(text, mode, filters, q.offset, limit, &mut |_| Some(0))
    };
    QueryResult {
        entries: page.ids.iter().filter_map(|id| history.get(id)).collect(),
        total: page.total,
    }
}
