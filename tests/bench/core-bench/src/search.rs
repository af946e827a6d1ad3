//! The search index over web_search.mjs's corpus and queries, with nucleo scoring as in the
//! package, natively (src/bin/search.rs) or in wasm (Node): per-query times (p50/p95/worst),
//! and with `check`, every page compared with a straightforward reference (filter, score every
//! entry, sort, group). Asserts only in check. `memory` (in wasm: `run.sh memory`): the wasm
//! memory of web_reopen.mjs's entries in the history store, then with the index built.
use std::fmt::Write;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use terrapin_core::payload::history::{History, HistoryId, HistoryRecord};
use terrapin_core::record::{HostId, RecordId};
use terrapin_core::search::{Filters, IndexBuild, Mode, Page, SearchIndex};
use terrapin_core::store::{Fold as _, HistoryStore, RecordOrigin};
use uuid::Uuid;

const TEXTS: &[&str] = &[
    "g",
    "c",
    "d",
    "k",
    "l",
    "s",
    "v",
    "m",
    "gi",
    "ca",
    "do",
    "ku",
    "ls",
    "ss",
    "vi",
    "ma",
    "np",
    "cu",
    "git",
    "git commit",
    "git push origin",
    "cargo test",
    "cargo build --release",
    "docker run",
    "docker ps -a",
    "kubectl get pods",
    "kubectl logs -f",
    "ssh deploy",
    "npm run build",
    "npm install",
    "grep -r TODO",
    "make -j4",
    "vim",
    "curl",
    "python3 -m",
    "cd ~/src",
    "ls -la",
    "rm -rf",
    "gco main",
    "kgp prod",
    "dkr rn",
    "crgtst",
    "gitcmtam",
    "kubectl describe pod web",
    "docker compose up -d --build",
    "e",
    " ",
    "/",
    "-",
    "zzzqqq",
    "xyzzy-nothing",
    "no-such-command-anywhere",
];
const WORDS: &[&str] = &[
    "git commit -m 'fix'",
    "git push origin main",
    "git status",
    "cargo test -p core",
    "cargo build --release",
    "docker run --rm -it alpine",
    "docker ps -a",
    "kubectl get pods -n prod",
    "kubectl logs -f web-1",
    "ssh deploy@prod-3",
    "npm run build",
    "npm install",
    "grep -r TODO src",
    "make -j4",
    "vim notes.md",
    "curl -s https://api.example.com/items/77",
    "python3 -m http.server",
    "cd ~/src/terrapin",
    "ls -la",
    "rm -rf target",
];

/// The entries web_search.mjs adds (its timestamps: one per entry, in order).
fn corpus(n: usize) -> Vec<History> {
    (0..n)
        .map(|i| {
            let w = WORDS[i % WORDS.len()];
            History {
                id: HistoryId(Uuid::from_u128(i as u128 + 1)),
                timestamp: 1_700_000_000_000_000_000 + i as u64 * 1_000_000,
                command: if i % 7 == 0 {
                    format!("{w} {i}")
                } else {
                    w.into()
                },
                cwd: format!("/home/me/src/p{}", i % 40),
                exit: if i % 9 != 0 { 0 } else { 1 },
                session: format!("s{}", i % 300),
                hostname: format!("{}:me", ["laptop", "server", "ci"][i % 3]),
                // A few soft-deleted, so the default filter leaves something out.
                deleted_at: (i % 1000 == 999).then_some(1),
                ..terrapin_core::sample::history(0)
            }
        })
        .collect()
}

/// The store of `es`, one record each (one host).
fn store_of(es: &[History]) -> HistoryStore {
    let mut store = HistoryStore::new();
    for (i, h) in es.iter().enumerate() {
        let origin = RecordOrigin {
            timestamp: 1_700_000_000_000_000_000 + i as u64,
            host: HostId(Uuid::from_u128(7)),
            idx: i as u64,
            record: RecordId(Uuid::from_u128(i as u128 + 1)),
        };
        store.fold(origin, HistoryRecord::Create(h.clone()));
    }
    store
}

/// The bytes the allocator holds from the host: `memory` reads it (in wasm, the linear
/// memory's size, which never shrinks).
type Memory<'a> = &'a dyn Fn() -> usize;

/// The history store of web_reopen.mjs's `n` entries (every command distinct), then its search
/// index built in one go with a first query, or in steps (`stepped`); `memory` after each, and
/// the time folding the entries in took (decoding aside).
pub fn memory(now_ms: &dyn Fn() -> f64, memory: Memory, n: usize, stepped: bool) -> String {
    let mut out = String::new();
    let base = memory();
    let mut store = HistoryStore::new();
    let mut folding = 0.0;
    // In pages, as a sync or a load folds them: each decoded page dropped after.
    for first in (0..n).step_by(4000) {
        let page = first..(first + 4000).min(n);
        let es: Vec<History> = page
            .clone()
            .map(|j| History {
                id: HistoryId(Uuid::from_u128(
                    0x0190_0000_0000_7000_8000_0000_0000_0000 + j as u128,
                )),
                timestamp: 1_700_000_000_000_000_000 + j as u64 * 1_000_000_000,
                duration: 1_000_000 * (j as i64 % 900),
                exit: i64::from(j % 7 == 0),
                command: format!(
                    "git commit -m 'change {j}' && cargo test -p crate-{}",
                    j % 50
                ),
                cwd: format!("/home/me/src/p{}", j % 40),
                session: format!("s{}", j / 500),
                hostname: "laptop:me".into(),
                author: "me".into(),
                shell: None,
                ..terrapin_core::sample::history(0)
            })
            .collect();
        let t = now_ms();
        for (h, j) in es.into_iter().zip(page) {
            let origin = RecordOrigin {
                timestamp: 1_700_000_000_000_000_000 + j as u64,
                host: HostId(Uuid::from_u128(7)),
                idx: j as u64,
                record: RecordId(Uuid::from_u128(j as u128 + 1)),
            };
            store.fold(origin, HistoryRecord::Create(h));
        }
        folding += now_ms() - t;
    }
    let mb = |b: usize| (b - base) as f64 / 1e6;
    let _ = writeln!(
        out,
        "store of {n}: {:.0} MB, folded in {folding:.0} ms",
        mb(memory())
    );
    let mut ix = if stepped {
        let mut b = IndexBuild::new(fold);
        while !b.step(&store, 2048) {}
        b.finish(&store)
    } else {
        let mut ix = SearchIndex::new(fold);
        ix.rebuild(&store);
        ix
    };
    let how = if stepped { "in steps" } else { "in one go" };
    let _ = writeln!(out, "index built {how}: {:.0} MB", mb(memory()));
    let mut nu = Nucleo {
        matcher: Matcher::new(Config::DEFAULT),
        buf: Vec::new(),
    };
    let p = nu.query(
        &mut ix,
        &store,
        "cargo",
        Mode::Fuzzy,
        &Filters::default(),
        true,
        0,
        100,
    );
    assert_eq!(p.total, n);
    let _ = writeln!(out, "first search: {:.0} MB", mb(memory()));
    out
}

fn fold(c: char) -> char {
    nucleo_matcher::chars::to_lower_case(c)
}

struct Case {
    text: &'static str,
    mode: Mode,
    filters: Filters,
    unique: bool,
    name: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for &text in TEXTS {
        for mode in [Mode::FullText, Mode::Prefix, Mode::Fuzzy] {
            let sets = [
                ("no filter", Filters::default()),
                (
                    "exit=0",
                    Filters {
                        exit: Some(0),
                        ..Default::default()
                    },
                ),
                (
                    "cwd+host",
                    Filters {
                        cwd: Some("/home/me/src/p3".into()),
                        host: Some("laptop".into()),
                        ..Default::default()
                    },
                ),
            ];
            for (fname, filters) in sets {
                for (vname, unique) in [("unique", true), ("all", false)] {
                    out.push(Case {
                        text,
                        mode,
                        filters: filters.clone(),
                        unique,
                        name: format!("{text:?} {mode:?} {fname} {vname}"),
                    });
                }
            }
        }
    }
    out
}

struct Nucleo {
    matcher: Matcher,
    buf: Vec<char>,
}

impl Nucleo {
    #[allow(clippy::too_many_arguments)]
    fn query(
        &mut self,
        ix: &mut SearchIndex,
        store: &HistoryStore,
        text: &str,
        mode: Mode,
        f: &Filters,
        unique: bool,
        offset: usize,
        limit: usize,
    ) -> Page {
        let t = text.trim();
        let pattern = Pattern::parse(t, CaseMatching::Smart, Normalization::Smart);
        let (m, buf) = (&mut self.matcher, &mut self.buf);
        let best = (mode == Mode::Fuzzy && !t.is_empty())
            .then(|| nucleo_best(t))
            .flatten();
        ix.query(
            store,
            text,
            mode,
            f,
            unique,
            offset,
            limit,
            &mut |cmd| pattern.score(Utf32Str::new(cmd, buf), m),
            best,
        )
    }
}

/// The package's bound on nucleo's score (its tests hold nucleo to it), the same file.
#[path = "../../../../web/src/score.rs"]
mod score;
use score::nucleo_best;

/// Filter, score every entry, sort (score, newest), keep each command's first if unique.
fn reference(es: &[History], nu: &mut Nucleo, c: &Case, offset: usize, limit: usize) -> Page {
    let t = c.text.trim();
    let f = &c.filters;
    let pattern = Pattern::parse(t, CaseMatching::Smart, Normalization::Smart);
    let words: Vec<String> = t
        .split_whitespace()
        .map(|w| terrapin_core::search::fold_str(w, fold))
        .collect();
    let mut hits: Vec<(u32, &History)> = es
        .iter()
        .filter(|h| {
            (f.include_deleted || h.deleted_at.is_none())
                && f.host.as_ref().is_none_or(|x| h.host() == x)
                && f.cwd.as_ref().is_none_or(|x| &h.cwd == x)
                && f.exit.is_none_or(|x| h.exit == x)
        })
        .filter_map(|h| {
            if t.is_empty() {
                return Some((0, h));
            }
            match c.mode {
                Mode::Prefix => h.command.starts_with(t).then_some((0, h)),
                Mode::FullText => {
                    let l = terrapin_core::search::fold_str(&h.command, fold);
                    words
                        .iter()
                        .all(|w| l.contains(w.as_str()))
                        .then_some((0, h))
                }
                Mode::Fuzzy => pattern
                    .score(Utf32Str::new(&h.command, &mut nu.buf), &mut nu.matcher)
                    .map(|s| (s, h)),
            }
        })
        .collect();
    hits.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.timestamp.cmp(&a.1.timestamp))
            .then(b.1.id.cmp(&a.1.id))
    });
    let mut runs = Vec::new();
    if c.unique {
        let mut count: std::collections::HashMap<&str, u32> = Default::default();
        for (_, h) in &hits {
            *count.entry(h.command.as_str()).or_default() += 1;
        }
        let mut seen = std::collections::HashSet::new();
        hits.retain(|(_, h)| seen.insert(h.command.as_str()));
        runs = hits
            .iter()
            .skip(offset)
            .take(limit)
            .map(|(_, h)| count[h.command.as_str()])
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

fn pct(xs: &[f64], p: f64) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    s[((p / 100.0) * s.len() as f64)
        .floor()
        .min(s.len() as f64 - 1.0) as usize]
}

/// Run the bench over `n` entries, each query the fastest of `reps` cold runs; `now_ms` is
/// the host's monotonic clock in milliseconds.
pub fn run(now_ms: &dyn Fn() -> f64, n: usize, reps: usize, check: bool) -> String {
    let mut out = String::new();
    let es = corpus(n);
    let store = store_of(&es);
    let t = now_ms();
    let mut ix = SearchIndex::new(fold);
    ix.rebuild(&store);
    let _ = writeln!(out, "index of {n} entries built in {:.0} ms", now_ms() - t);
    let mut nu = Nucleo {
        matcher: Matcher::new(Config::DEFAULT),
        buf: Vec::new(),
    };
    let cases = cases();
    let mut times = Vec::new();
    let other = Filters {
        exit: Some(-99),
        ..Default::default()
    };
    for c in &cases {
        // The fastest of `reps` cold runs (each after a query with other filters, so nothing
        // kept for these filters or text helps): the machine is shared.
        let mut best = f64::MAX;
        for _ in 0..reps {
            nu.query(
                &mut ix,
                &store,
                "warm-other-query",
                Mode::FullText,
                &other,
                false,
                0,
                100,
            );
            let t = now_ms();
            let p = nu.query(
                &mut ix, &store, c.text, c.mode, &c.filters, c.unique, 0, 100,
            );
            best = best.min(now_ms() - t);
            std::hint::black_box(p);
        }
        times.push(best);
    }
    let mut per: Vec<(f64, &str)> = times
        .iter()
        .zip(&cases)
        .map(|(&t, c)| (t, c.name.as_str()))
        .collect();
    per.sort_by(|a, b| b.0.total_cmp(&a.0));
    let _ = writeln!(
        out,
        "search: {n} entries, {} queries, the fastest of {reps} cold runs each",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  p50 {:.2} ms, p95 {:.2} ms, worst {:.2} ms",
        pct(&times, 50.0),
        pct(&times, 95.0),
        per[0].0
    );
    for (t, name) in per.iter().take(12) {
        let _ = writeln!(out, "    {t:.2} ms  {name}");
    }
    if check {
        let mut checked = 0;
        for c in &cases {
            for (offset, limit) in [(0, 100), (0, 1), (37, 20), (1000, 100)] {
                let got = nu.query(
                    &mut ix, &store, c.text, c.mode, &c.filters, c.unique, offset, limit,
                );
                let want = reference(&es, &mut nu, c, offset, limit);
                assert_eq!(got, want, "{} page {offset}+{limit}", c.name);
                checked += 1;
            }
        }
        let _ = writeln!(out, "check: {checked} pages the same as the reference");
    }
    out
}
