//! History queries over the live entries: filters, search modes, paging.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use serde::Deserialize;
use terrapin_core::payload::history::History;

/// How the query text matches a command.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchMode {
    /// The command starts with the text.
    Prefix,
    /// Every word of the text appears in the command (case-insensitive), in any order.
    #[default]
    #[serde(alias = "fulltext")]
    FullText,
    /// fzf-like fuzzy match (nucleo), best matches first.
    Fuzzy,
}

/// A history query. Times are nanoseconds since the Unix epoch.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
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

fn passes_filters(h: &History, q: &Query) -> bool {
    if !q.include_deleted && h.deleted_at.is_some() {
        return false;
    }
    if let Some(host) = &q.host {
        if h.host() != host {
            return false;
        }
    }
    if let Some(cwd) = &q.cwd {
        if &h.cwd != cwd {
            return false;
        }
    }
    if let Some(exit) = q.exit {
        if h.exit != exit {
            return false;
        }
    }
    if let Some(session) = &q.session {
        if &h.session != session {
            return false;
        }
    }
    if q.after.is_some_and(|t| h.timestamp < t) || q.before.is_some_and(|t| h.timestamp >= t) {
        return false;
    }
    true
}

/// Run `q` over `entries`. Results are newest first, except fuzzy, which ranks by score
/// (ties newest first).
pub fn run<'a>(entries: impl Iterator<Item = &'a History>, q: &Query) -> QueryResult<'a> {
    let text = q.text.trim();
    let filtered = entries.filter(|h| passes_filters(h, q));
    let mut hits: Vec<(u32, &History)> = if text.is_empty() {
        filtered.map(|h| (0, h)).collect()
    } else {
        match q.mode {
            SearchMode::Prefix => filtered
                .filter(|h| h.command.starts_with(text))
                .map(|h| (0, h))
                .collect(),
            SearchMode::FullText => {
                let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
                filtered
                    .filter(|h| {
                        let cmd = h.command.to_lowercase();
                        words.iter().all(|w| cmd.contains(w.as_str()))
                    })
                    .map(|h| (0, h))
                    .collect()
            }
            SearchMode::Fuzzy => {
                let pattern = Pattern::parse(text, CaseMatching::Smart, Normalization::Smart);
                let mut matcher = Matcher::new(Config::DEFAULT);
                let mut buf = Vec::new();
                filtered
                    .filter_map(|h| {
                        pattern
                            .score(Utf32Str::new(&h.command, &mut buf), &mut matcher)
                            .map(|s| (s, h))
                    })
                    .collect()
            }
        }
    };
    let order = |a: &(u32, &History), b: &(u32, &History)| {
        b.0.cmp(&a.0)
            .then(b.1.timestamp.cmp(&a.1.timestamp))
            .then(b.1.id.cmp(&a.1.id))
    };
    let total = hits.len();
    let limit = q.limit.unwrap_or(100);
    let want = q.offset.saturating_add(limit);
    // Only the first `offset + limit` in order are needed: select them, then sort those.
    if want > 0 && want < hits.len() {
        hits.select_nth_unstable_by(want - 1, order);
        hits.truncate(want);
    }
    hits.sort_unstable_by(order);
    let entries = hits
        .into_iter()
        .skip(q.offset)
        .take(limit)
        .map(|(_, h)| h)
        .collect();
    QueryResult { entries, total }
}
