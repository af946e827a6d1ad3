//! The sync plan: what to upload and download per series, split into pages.

use alloc::vec::Vec;

use crate::holes::Missing;
use crate::record::{RecordIdx, SeriesKey};
use crate::status::{Diff, Status};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Upload,
    Download,
}

/// Move records `first..=last` of one series in one direction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Transfer {
    pub series: SeriesKey,
    pub direction: Direction,
    pub first: RecordIdx,
    pub last: RecordIdx,
}

impl Transfer {
    pub fn len(&self) -> u64 {
        (self.last - self.first).saturating_add(1)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Split into pages of at most `page_size` records (`page_size` 0 is treated as 1).
    pub fn pages(&self, page_size: u64) -> impl Iterator<Item = Page> + '_ {
        let size = page_size.max(1);
        let mut next = Some(self.first);
        core::iter::from_fn(move || {
            let start = next?;
            let end = start.saturating_add(size - 1).min(self.last);
            next = if end >= self.last {
                None
            } else {
                Some(end + 1)
            };
            Some(Page {
                series: self.series.clone(),
                direction: self.direction,
                start,
                count: end - start + 1,
            })
        })
    }
}

/// One request's worth of records: `count` records of `series` from idx `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub series: SeriesKey,
    pub direction: Direction,
    pub start: RecordIdx,
    pub count: u64,
}

/// Turn a diff into transfers, sorted by series. Local ahead uploads `remote+1..=local`;
/// remote ahead downloads `local+1..=remote`.
pub fn plan_from_diff(diffs: &[Diff]) -> Vec<Transfer> {
    let mut out: Vec<Transfer> = diffs
        .iter()
        .filter_map(|d| {
            let next = |i: Option<RecordIdx>| i.map_or(0, |i| i + 1);
            match (d.local, d.remote) {
                (Some(l), r) if r.is_none_or(|r| l > r) => Some(Transfer {
                    series: d.series.clone(),
                    direction: Direction::Upload,
                    first: next(r),
                    last: l,
                }),
                (l, Some(r)) if l.is_none_or(|l| r > l) => Some(Transfer {
                    series: d.series.clone(),
                    direction: Direction::Download,
                    first: next(l),
                    last: r,
                }),
                _ => None,
            }
        })
        .collect();
    // Series are unique, so an unstable sort gives the same order.
    crate::sort::sort_cold(&mut out);
    out
}

/// The plan that brings `local` and `remote` level.
pub fn plan(local: &Status, remote: &Status) -> Vec<Transfer> {
    plan_from_diff(&local.diff(remote))
}

/// [`plan`], plus a download of every hole of the local store (`missing`) that lies within the
/// remote's series: holes are asked for again on every sync, in case the server now has them.
pub fn plan_with_holes(local: &Status, remote: &Status, missing: &Missing) -> Vec<Transfer> {
    let mut out = plan(local, remote);
    for (series, holes) in missing {
        let Some(tip) = remote.get(series) else {
            continue;
        };
        for h in holes.iter().filter(|h| h.first <= tip) {
            out.push(Transfer {
                series: series.clone(),
                direction: Direction::Download,
                first: h.first,
                last: h.last.min(tip),
            });
        }
    }
    crate::sort::sort_cold(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::series as s;
    use alloc::vec;

    #[test]
    fn table() {
        type Case = (Option<u64>, Option<u64>, Option<(Direction, u64, u64)>);
        let cases: &[Case] = &[
            (Some(5), Some(5), None),
            (Some(5), Some(3), Some((Direction::Upload, 4, 5))),
            (Some(0), None, Some((Direction::Upload, 0, 0))),
            (Some(3), Some(5), Some((Direction::Download, 4, 5))),
            (None, Some(9), Some((Direction::Download, 0, 9))),
            (None, None, None),
        ];
        for (l, r, want) in cases {
            let d = Diff {
                series: s(1, "history"),
                local: *l,
                remote: *r,
            };
            let got = plan_from_diff(&[d]);
            let got = got.first().map(|t| (t.direction, t.first, t.last));
            assert_eq!(got, *want, "local {l:?} remote {r:?}");
        }
    }

    #[test]
    fn deterministic_order() {
        let local: Status = [(s(2, "kv"), 1), (s(1, "history"), 3)]
            .into_iter()
            .collect();
        let remote: Status = [(s(3, "history"), 0)].into_iter().collect();
        let p = plan(&local, &remote);
        let order: Vec<_> = p.iter().map(|t| t.series.clone()).collect();
        assert_eq!(order, vec![s(1, "history"), s(2, "kv"), s(3, "history")]);
    }

    #[test]
    fn holes_are_asked_for_again() {
        use crate::holes::IdxRange;
        let local: Status = [(s(1, "history"), 20), (s(2, "kv"), 9)]
            .into_iter()
            .collect();
        let remote: Status = [(s(1, "history"), 30), (s(2, "kv"), 4)]
            .into_iter()
            .collect();
        let missing: Missing = [
            (
                s(1, "history"),
                vec![IdxRange::new(0, 2), IdxRange::new(10, 11)],
            ),
            (s(2, "kv"), vec![IdxRange::new(3, 6), IdxRange::new(8, 8)]),
            (s(3, "kv"), vec![IdxRange::new(0, 0)]),
        ]
        .into_iter()
        .collect();
        let got: Vec<_> = plan_with_holes(&local, &remote, &missing)
            .into_iter()
            .map(|t| (t.series, t.direction, t.first, t.last))
            .collect();
        assert_eq!(
            got,
            vec![
                (s(1, "history"), Direction::Download, 0, 2),
                (s(1, "history"), Direction::Download, 10, 11),
                (s(1, "history"), Direction::Download, 21, 30),
                (s(2, "kv"), Direction::Upload, 5, 9),
                // only the part the remote can have
                (s(2, "kv"), Direction::Download, 3, 4),
            ]
        );
    }

    #[test]
    fn pages_cover_range_exactly() {
        let t = Transfer {
            series: s(1, "h"),
            direction: Direction::Download,
            first: 7,
            last: 256,
        };
        let pages: Vec<_> = t.pages(100).map(|p| (p.start, p.count)).collect();
        assert_eq!(pages, vec![(7, 100), (107, 100), (207, 50)]);
        assert_eq!(t.pages(0).count(), 250);
        let one = Transfer {
            last: 7,
            ..t.clone()
        };
        assert_eq!(one.pages(100).map(|p| p.count).collect::<Vec<_>>(), vec![1]);
        let top = Transfer {
            first: u64::MAX - 1,
            last: u64::MAX,
            ..t
        };
        assert_eq!(top.pages(10).map(|p| p.count).sum::<u64>(), 2);
    }
}
