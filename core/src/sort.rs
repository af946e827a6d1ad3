//! One sort for the short, cold lists (plans, holes, host names, touched ids): each call
//! sorts `u32` positions through one shared, non-generic instantiation with a `dyn`
//! comparison, then moves the elements into place. A slice sort is otherwise instantiated
//! once per element type and comparison (2–3.5 KB of wasm each); the hot sorts of the search
//! index keep their own.

use alloc::vec::Vec;
use core::cmp::Ordering;

/// Sort `v` by `cmp`, not stably (equal elements may swap).
pub fn sort_cold_by<T>(v: &mut [T], cmp: impl Fn(&T, &T) -> Ordering) {
    let n = u32::try_from(v.len()).expect("fewer than 2^32 elements");
    let mut at: Vec<u32> = (0..n).collect();
    sort_positions(&mut at, &|a, b| cmp(&v[a as usize], &v[b as usize]));
    // `at[i]` is where the element that belongs at `i` is now: follow each cycle, swapping.
    for i in 0..at.len() {
        let mut cur = i;
        while at[cur] as usize != i {
            let next = at[cur] as usize;
            v.swap(cur, next);
            at[cur] = cur as u32;
            cur = next;
        }
        at[cur] = cur as u32;
    }
}

/// Sort `v` in its `Ord` order, not stably.
pub fn sort_cold<T: Ord>(v: &mut [T]) {
    sort_cold_by(v, T::cmp);
}

#[inline(never)]
fn sort_positions(at: &mut [u32], cmp: &dyn Fn(u32, u32) -> Ordering) {
    at.sort_unstable_by(|a, b| cmp(*a, *b));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorts_as_std_does(mut v in proptest::collection::vec((0u8..8, any::<u16>()), 0..200)) {
            let mut want = v.clone();
            want.sort();
            sort_cold(&mut v);
            prop_assert_eq!(v, want);
        }

        #[test]
        fn by_a_comparison(mut v in proptest::collection::vec(any::<i32>(), 0..200)) {
            let mut want = v.clone();
            want.sort_by(|a, b| b.cmp(a));
            sort_cold_by(&mut v, |a, b| b.cmp(a));
            prop_assert_eq!(v, want);
        }
    }
}
