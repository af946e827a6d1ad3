//! A record store written by a real atuin CLI, kept in `tests/fixtures/<name>/` (see each
//! folder's README): its files, its records (of type `R`), and its key, which the folder holds
//! both as the BIP39 phrase `atuin key` printed and as atuin's key file.

use std::marker::PhantomData;

use terrapin_core::crypto::Key;

pub struct FixtureDir<R>(&'static str, PhantomData<R>);

impl<R: serde::de::DeserializeOwned> FixtureDir<R> {
    pub const fn new(path: &'static str) -> Self {
        Self(path, PhantomData)
    }

    /// The text of one of its files.
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(format!("{}/{name}", self.0)).unwrap()
    }

    /// Its records, as `records.json` holds them, and its key.
    pub fn fixture(&self) -> (Vec<R>, Key) {
        (
            serde_json::from_str(&self.read("records.json")).unwrap(),
            self.key(),
        )
    }

    /// Its key, read from the phrase; the key file must hold the same key.
    pub fn key(&self) -> Key {
        let key = Key::from_atuin_input(self.read("key-phrase.txt").trim()).unwrap();
        let file = Key::from_atuin_input(self.read("key").trim()).unwrap();
        assert_eq!(
            file.as_bytes(),
            key.as_bytes(),
            "{}: phrase and key file",
            self.0
        );
        key
    }
}
