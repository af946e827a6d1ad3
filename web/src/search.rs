//! History queries over the live entries: filters, search modes, paging. A thin adapter over
//! terrapin-core's [`SearchIndex`] (kept beside the views, rebuilt when they change); fuzzy
//! scoring is nucleo's.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use terrapin_core::payload::history::{History, HistoryId};
use terrapin_core::search::{Filters, Mode, SearchIndex};
use terrapin_core::store::HistoryStore;

/// How the query text matches a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// The command starts with the text.
    Prefix,
    /// Every word of the text appears in the command (case-insensitive), in any order.
    #[default]
    FullText,
    /// fzf-like fuzzy match (nucleo), best matches first.
    Fuzzy,
}

/// A history query. Times are nanoseconds since the Unix epoch.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub text: String,
    pub mode: SearchMode,
    /// The host part of `hostname` ("host:user").
    pub host: Option<String>,
    pub cwd: Option<String>,
    pub exit: Option<i64>,
    pub session: Option<String>,
    pub after: Option<u64>,
    pub before: Option<u64>,
    /// Also return entries soft-deleted by Atuin (`deleted_at` set); default false.
    pub include_deleted: bool,
    pub offset: usize,
    /// At most this many results (default 100).
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
    let mode = match q.mode {
        SearchMode::Prefix => Mode::Prefix,
        SearchMode::FullText => Mode::FullText,
        SearchMode::Fuzzy => Mode::Fuzzy,
    };
    let filters = Filters {
        host: q.host.clone(),
        cwd: q.cwd.clone(),
        exit: q.exit,
        session: q.session.clone(),
        after: q.after,
        before: q.before,
        include_deleted: q.include_deleted,
    };
    let limit = q.limit.unwrap_or(100);
    let page = if mode == Mode::Fuzzy && !text.is_empty() {
        let pattern = Pattern::parse(text, CaseMatching::Smart, Normalization::Smart);
        let matcher = search
            .matcher
            .get_or_insert_with(|| Matcher::new(Config::DEFAULT));
        let buf = &mut search.buf;
        search
            .index
            .query(text, mode, &filters, q.offset, limit, &mut |cmd| {
                pattern.score(Utf32Str::new(cmd, buf), matcher)
            })
    } else {
        search
            .index
            .query(text, mode, &filters, q.offset, limit, &mut |_| Some(0))
    };
    QueryResult {
        entries: page.ids.iter().filter_map(|id| history.get(id)).collect(),
        total: page.total,
    }
}
