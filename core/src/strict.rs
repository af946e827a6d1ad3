//! Strict JSON for request bodies (docs/PROTOCOL.md §2, "Request bodies"): every struct must
//! be a JSON object (serde would also take an array of its fields), and no object may name a
//! key twice (serde_json keeps the last). It wraps serde_json's deserializer, so bodies are
//! still decoded in one pass straight into typed values.

use alloc::borrow::Cow;
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess,
    Visitor,
};

/// Decodes one JSON document strictly.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(Strict(&mut de))?;
    de.end()?;
    Ok(value)
}

/// [`from_str`] for bytes, which must be UTF-8.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Strict(&mut de))?;
    de.end()?;
    Ok(value)
}

/// A seed that decodes a `T` strictly: for elements read one by one from a sequence.
pub struct Typed<T>(PhantomData<T>);

impl<T> Typed<T> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T> Default for Typed<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Typed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(Strict(d))
    }
}

/// A deserializer that reads structs only from maps and refuses repeated map keys, at every
/// depth.
pub struct Strict<D>(pub D);

/// Methods that hand the visitor on, wrapped, with their other arguments as they came.
macro_rules! forward {
    ($($method:ident($($arg:ident: $t:ty),*)),*) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $t,)* v: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Wrap(v))
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_unit(),
        deserialize_seq(),
        deserialize_map(),
        deserialize_identifier(),
        deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    );

    /// The point of the wrapper: a struct is read as a map, so an array is refused.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(v))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor whose nested values are read through [`Strict`] too.
struct Wrap<V>(V);

macro_rules! visit {
    ($($method:ident: $t:ty),*) => {
        $(fn $method<E: de::Error>(self, x: $t) -> Result<Self::Value, E> {
            self.0.$method(x)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visit!(
        visit_bool: bool,
        visit_i8: i8,
        visit_i16: i16,
        visit_i32: i32,
        visit_i64: i64,
        visit_i128: i128,
        visit_u8: u8,
        visit_u16: u16,
        visit_u32: u32,
        visit_u64: u64,
        visit_u128: u128,
        visit_f32: f32,
        visit_f64: f64,
        visit_char: char,
        visit_str: &str,
        visit_borrowed_str: &'de str,
        visit_string: String,
        visit_bytes: &[u8],
        visit_borrowed_bytes: &'de [u8],
        visit_byte_buf: alloc::vec::Vec<u8>
    );

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(Strict(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(Strict(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Map {
            inner: map,
            seen: Seen::default(),
        })
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(data)
    }
}

struct Seq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// The keys of one object so far: borrowed from the input when they hold no escapes. A few
/// are compared in a list; past [`SEEN_LIST`] they move to a set, so a huge object costs
/// O(n log n), not O(n²).
#[derive(Default)]
struct Seen<'de> {
    list: Vec<Cow<'de, str>>,
    set: BTreeSet<Cow<'de, str>>,
}

const SEEN_LIST: usize = 16;

impl<'de> Seen<'de> {
    /// False if `key` was seen before.
    fn insert(&mut self, key: Cow<'de, str>) -> bool {
        if self.set.is_empty() {
            if self.list.contains(&key) {
                return false;
            }
            if self.list.len() < SEEN_LIST {
                self.list.push(key);
                return true;
            }
            self.set.extend(self.list.drain(..));
        }
        self.set.insert(key)
    }
}

/// A map that remembers its keys and refuses one named twice.
struct Map<'de, A> {
    inner: A,
    seen: Seen<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut key = None;
        let value = self.inner.next_key_seed(KeySeed {
            seed,
            key: &mut key,
        })?;
        if let Some(k) = key {
            if !self.seen.insert(k.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{k}`")));
            }
        }
        Ok(value)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(d))
    }
}

/// Reads a map key through [`Strict`], keeping its text.
struct KeySeed<'a, 'de, S> {
    seed: S,
    key: &'a mut Option<Cow<'de, str>>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(KeyDe {
            inner: d,
            key: self.key,
        })
    }
}

/// A key deserializer: JSON keys are strings, so every request ends in a string visit,
/// which [`KeyVisitor`] copies before passing on.
struct KeyDe<'a, 'de, D> {
    inner: D,
    key: &'a mut Option<Cow<'de, str>>,
}

macro_rules! key_forward {
    ($($method:ident),*) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
            self.inner.$method(KeyVisitor { inner: v, key: self.key })
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyDe<'_, 'de, D> {
    type Error = D::Error;

    key_forward!(
        deserialize_any,
        deserialize_str,
        deserialize_string,
        deserialize_identifier,
        deserialize_ignored_any
    );

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum
    }
}

struct KeyVisitor<'a, 'de, V> {
    inner: V,
    key: &'a mut Option<Cow<'de, str>>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for KeyVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        *self.key = Some(Cow::Owned(s.to_string()));
        self.inner.visit_str(s)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
        *self.key = Some(Cow::Borrowed(s));
        self.inner.visit_borrowed_str(s)
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        *self.key = Some(Cow::Owned(s.clone()));
        self.inner.visit_string(s)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        self.inner.visit_u64(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{LoginRequest, RegisterRequest};
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    #[test]
    fn takes_what_serde_takes() {
        let r: RegisterRequest =
            from_str(r#" {"email":"a@b.c","username":"u","password":"p","extra":[1,{"x":2}]} "#)
                .unwrap();
        assert_eq!(r.username, "u");
        let m: BTreeMap<String, Vec<u64>> = from_str(r#"{"a":[1,2],"b":[]}"#).unwrap();
        assert_eq!(m["a"], [1, 2]);
        let l: LoginRequest =
            from_slice(br#"{"username":"u","password":"p","totp_code":null}"#).unwrap();
        assert_eq!(l.totp_code, None);
    }

    #[test]
    fn refuses_arrays_for_structs() {
        let e = from_str::<RegisterRequest>(r#"["a@b.c","u","p"]"#).unwrap_err();
        assert!(e.to_string().contains("invalid type: sequence"), "{e}");
        // Nested too.
        let e = from_str::<Vec<RegisterRequest>>(r#"[["a@b.c","u","p"]]"#).unwrap_err();
        assert!(e.to_string().contains("invalid type: sequence"), "{e}");
    }

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        let e = from_str::<LoginRequest>(r#"{"username":"u","username":"v","password":"p"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("duplicate key `username`"), "{e}");
        // Unknown keys too, and inside a map.
        let e =
            from_str::<LoginRequest>(r#"{"username":"u","password":"p","x":1,"x":2}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key `x`"), "{e}");
        let e = from_str::<BTreeMap<String, u8>>(r#"{"a":1,"b":2,"a":3}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key `a`"), "{e}");
        // Escaped keys, and objects past the list size (the set takes over).
        let e = from_str::<BTreeMap<String, u8>>(r#"{"\u0061":1,"a":2}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate key `a`"), "{e}");
        let many: Vec<String> = (0..40).map(|i| alloc::format!("\"k{i}\":{i}")).collect();
        let ok = alloc::format!("{{{}}}", many.join(","));
        assert_eq!(from_str::<BTreeMap<String, u8>>(&ok).unwrap().len(), 40);
        let dup = alloc::format!("{{{},\"k3\":0}}", many.join(","));
        let e = from_str::<BTreeMap<String, u8>>(&dup).unwrap_err();
        assert!(e.to_string().contains("duplicate key `k3`"), "{e}");
    }

    #[test]
    fn refuses_trailing_text() {
        assert!(from_str::<Vec<u8>>("[1] [2]").is_err());
    }
}
