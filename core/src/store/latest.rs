//! The newest set or delete per key, shared by the stores whose records overwrite a key (kv,
//! shell aliases, variables).
//!
//! "Newest" is the greatest [`RecordOrigin`]. A delete is kept as a tombstone with its origin,
//! so an older write applied later cannot resurrect the key, and the result does not depend on
//! the order records are applied in.

use alloc::collections::BTreeMap;
use core::borrow::Borrow;

use super::RecordOrigin;

/// Per key, the newest value (`Some`) or delete (`None`) and the record that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Latest<K, V> {
    map: BTreeMap<K, (RecordOrigin, Option<V>)>,
}

impl<K, V> Default for Latest<K, V> {
    fn default() -> Self {
        Self {
            map: BTreeMap::new(),
        }
    }
}

impl<K: Ord, V> Latest<K, V> {
    /// Keeps `value` for `key` unless a record at least as new decided the key.
    pub(crate) fn put(&mut self, origin: RecordOrigin, key: K, value: Option<V>) {
        match self.map.get_mut(&key) {
            Some(slot) if slot.0 >= origin => {}
            Some(slot) => *slot = (origin, value),
            None => {
                self.map.insert(key, (origin, value));
            }
        }
    }

    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)?.1.as_ref()
    }

    pub(crate) fn origin<Q: Ord + ?Sized>(&self, key: &Q) -> Option<RecordOrigin>
    where
        K: Borrow<Q>,
    {
        self.map.get(key).map(|s| s.0)
    }

    /// Live keys and values, by key.
    pub(crate) fn live(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.map
            .iter()
            .filter_map(|(k, s)| Some((k, s.1.as_ref()?)))
    }
}
