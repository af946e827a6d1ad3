//! Holes: idx a series lacks below its last idx (docs/PROTOCOL.md §3), and the rule by which a
//! local store places a page of records in a series that may have them. Pure functions; a host
//! store (IndexedDB, memory) keeps each series' missing ranges beside its last idx and applies
//! [`place`] inside the transaction that stores the page.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::record::{RecordIdx, SeriesKey};

/// The idx `first..=last` of one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IdxRange {
    pub first: RecordIdx,
    pub last: RecordIdx,
}

impl IdxRange {
    pub fn new(first: RecordIdx, last: RecordIdx) -> Self {
        Self { first, last }
    }

    /// How many idx the range spans.
    pub fn len(&self) -> u64 {
        (self.last - self.first).saturating_add(1)
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn contains(&self, idx: RecordIdx) -> bool {
        self.first <= idx && idx <= self.last
    }
}

impl fmt::Display for IdxRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}..={}", self.first, self.last)
        }
    }
}

/// The missing ranges of every series that has some, each list ascending and disjoint.
pub type Missing = BTreeMap<SeriesKey, Vec<IdxRange>>;

/// The ranges of `0..=last` not in `held` (ascending idx): the holes of a series.
pub fn gaps(held: impl IntoIterator<Item = RecordIdx>) -> Vec<IdxRange> {
    let mut out = Vec::new();
    let mut next = 0;
    for idx in held {
        if idx > next {
            out.push(IdxRange::new(next, idx - 1));
        }
        next = idx.saturating_add(1);
    }
    out
}

/// Why a page can't be placed. Nothing of it may be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("a page must hold at least one record")]
    Empty,
    #[error("a page must hold records of one series in ascending idx order ({0})")]
    BadPage(&'static str),
    #[error("{series}: the page gives idx {got}, the store expects {expected} (or an idx it is missing)")]
    NotNext {
        series: SeriesKey,
        expected: RecordIdx,
        got: RecordIdx,
    },
    #[error("{series}: idx {range} was declared missing but is not where the page skips")]
    BadSkip { series: SeriesKey, range: IdxRange },
}

/// Place a page of records (their idx, ascending) in a series whose last idx is `last` and whose
/// missing ranges are `missing`. Each idx must be either inside a missing range (it fills it) or
/// the next idx after the last one. `skipped` are ranges the page steps over on purpose (the
/// server lacks them): each must start where the series would otherwise continue, and becomes
/// missing. On success `missing` is updated and the new last idx is returned; on failure
/// `missing` is left as it was.
pub fn place(
    series: &SeriesKey,
    last: Option<RecordIdx>,
    missing: &mut Vec<IdxRange>,
    page: &[RecordIdx],
    skipped: &[IdxRange],
) -> Result<RecordIdx, PlaceError> {
    if page.is_empty() {
        return Err(PlaceError::Empty);
    }
    if page.windows(2).any(|w| w[0] >= w[1]) {
        return Err(PlaceError::BadPage("idx not ascending"));
    }
    let mut skips = skipped.to_vec();
    crate::sort::sort_cold(&mut skips);
    let mut skips = skips.into_iter().peekable();
    let mut holes = missing.clone();
    let mut next = last.map_or(0, |l| l + 1);
    for &idx in page {
        if let Some(at) = holes.iter().position(|h| h.contains(idx)) {
            let h = holes.remove(at);
            if idx < h.last {
                holes.insert(at, IdxRange::new(idx + 1, h.last));
            }
            if idx > h.first {
                holes.insert(at, IdxRange::new(h.first, idx - 1));
            }
            continue;
        }
        while let Some(s) = skips.next_if(|s| s.first == next && s.last < idx) {
            holes.push(s);
            next = s.last + 1;
        }
        if idx != next {
            return Err(PlaceError::NotNext {
                series: series.clone(),
                expected: next,
                got: idx,
            });
        }
        next = idx + 1;
    }
    if let Some(range) = skips.next() {
        return Err(PlaceError::BadSkip {
            series: series.clone(),
            range,
        });
    }
    crate::sort::sort_cold(&mut holes);
    *missing = holes;
    Ok(next - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{HostId, Tag};
    use alloc::string::ToString;
    use alloc::vec;
    use uuid::Uuid;

    fn s() -> SeriesKey {
        SeriesKey::new(HostId(Uuid::from_u128(1)), Tag::History)
    }

    fn r(first: u64, last: u64) -> IdxRange {
        IdxRange::new(first, last)
    }

    #[test]
    fn gaps_of_held_idx() {
        assert_eq!(gaps([0, 1, 2]), vec![]);
        assert_eq!(gaps([3, 4, 7, 9]), vec![r(0, 2), r(5, 6), r(8, 8)]);
        assert_eq!(gaps([]), vec![]);
    }

    #[test]
    fn appends_skips_and_fills() {
        let mut m = vec![];
        // consecutive from nothing
        assert_eq!(place(&s(), None, &mut m, &[0, 1, 2], &[]), Ok(2));
        // a gap nobody declared is refused, and leaves `missing` alone
        let e = place(&s(), Some(2), &mut m, &[5], &[]).unwrap_err();
        assert!(
            matches!(
                e,
                PlaceError::NotNext {
                    expected: 3,
                    got: 5,
                    ..
                }
            ),
            "{e}"
        );
        // declared skips become missing
        assert_eq!(
            place(&s(), Some(2), &mut m, &[5, 6, 9], &[r(7, 8), r(3, 4)]),
            Ok(9)
        );
        assert_eq!(m, vec![r(3, 4), r(7, 8)]);
        // a skip that does not match where the page jumps is refused
        let mut m2 = m.clone();
        let e = place(&s(), Some(9), &mut m2, &[12], &[r(10, 10)]).unwrap_err();
        assert!(
            matches!(
                e,
                PlaceError::NotNext {
                    expected: 11,
                    got: 12,
                    ..
                }
            ),
            "{e}"
        );
        let e = place(&s(), Some(9), &mut m2, &[10], &[r(11, 11)]).unwrap_err();
        assert!(matches!(e, PlaceError::BadSkip { .. }), "{e}");
        assert_eq!(m2, m);
        // fills split and remove holes; a taken idx is refused
        assert_eq!(place(&s(), Some(9), &mut m, &[4, 7], &[]), Ok(9));
        assert_eq!(m, vec![r(3, 3), r(8, 8)]);
        let e = place(&s(), Some(9), &mut m, &[3, 5], &[]).unwrap_err();
        assert!(
            matches!(
                e,
                PlaceError::NotNext {
                    expected: 10,
                    got: 5,
                    ..
                }
            ),
            "{e}"
        );
        // fills and an append in one page
        assert_eq!(place(&s(), Some(9), &mut m, &[3, 8, 10], &[]), Ok(10));
        assert!(m.is_empty());
        // a skip at the very start
        let mut m = vec![];
        assert_eq!(place(&s(), None, &mut m, &[3], &[r(0, 2)]), Ok(3));
        assert_eq!(m, vec![r(0, 2)]);
        assert_eq!(place(&s(), None, &mut m, &[], &[]), Err(PlaceError::Empty));
        assert!(matches!(
            place(&s(), Some(3), &mut m, &[5, 4], &[]),
            Err(PlaceError::BadPage(_))
        ));
        assert_eq!(r(3, 3).to_string(), "3");
        assert_eq!(r(3, 5).to_string(), "3..=5");
    }
}
