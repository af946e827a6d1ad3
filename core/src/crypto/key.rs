//! The user's 32-byte master key and Atuin's text forms of it.
//!
//! `atuin key` prints the key as a 24-word BIP39 English phrase ([`Key::to_mnemonic`]);
//! `atuin key --base64` and the key file hold [`Key::to_atuin_string`]; `atuin login` accepts
//! either ([`Key::from_atuin_input`]). A host that loads the word list apart passes it in
//! ([`Key::from_atuin_input_with`]); the browser package reads phrases in a module of its own
//! (web/extras), so its main module reads the base64 form only.
//!
//! The base64 form is standard base64 (with padding) of a msgpack array16 of its 32 bytes, each byte written as the smallest msgpack uint
//! (positive fixint below 128, else `0xcc b`). Reading, Atuin (18.24.4) accepts, after
//! trimming trailing whitespace:
//! - base64 of the 32 raw bytes (legacy);
//! - base64 of msgpack `bin8` of length 32 (`0xc4 0x20` + 32 bytes; what v11..v14 wrote),
//!   with nothing after it;
//! - base64 of msgpack `array16` of length 32 whose elements are msgpack integers of any
//!   width that fit in a byte; bytes after the 32nd element are ignored.
//!
//! Atuin's base64 decoder is strict: padding is required and trailing bits must be zero.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::OnceCell;
use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::payload::{MsgpackError, Reader};
use crate::random::{Entropy, EntropyError};

/// Why a key could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not valid base64 (standard alphabet, padded)")]
    Base64,
    #[error("the key is empty")]
    Empty,
    #[error("a key has 32 bytes, this one has {len}")]
    WrongLength { len: usize },
    #[error("the encoded key declares {len} bytes, a key has 32")]
    DeclaredLength { len: u64 },
    #[error("the encoded key is cut short or has bytes after the key")]
    Truncated,
    #[error("element {index} of the encoded key is not a msgpack integer from 0 to 255")]
    BadElement { index: usize },
    #[error(
        "unsupported key encoding (msgpack marker 0x{marker:02x}); expected base64 of a msgpack \
         array of 32 bytes, a msgpack bin8 or 32 raw bytes"
    )]
    UnsupportedEncoding { marker: u8 },
    #[error("word {index} of the key phrase is not a BIP39 English word")]
    UnknownWord { index: usize },
    #[error("a key phrase has 24 words, this one has {words}")]
    MnemonicLength { words: usize },
    #[error("the key phrase's checksum does not match (a word is wrong or out of order)")]
    MnemonicChecksum,
    #[error("the BIP39 word list is not loaded, so a key phrase can't be read")]
    NoWordList,
}

/// A 32-byte symmetric key: the user's master key or a record's content key.
///
/// Zeroed on drop; compared in constant time; `Debug` never shows it. Its key id is worked out
/// once, when first asked for (every record decrypted compares it).
#[derive(Clone)]
pub struct Key([u8; 32], OnceCell<String>);

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes, OnceCell::new())
    }

    /// A key from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self::from_bytes)
            .map_err(|_| KeyError::WrongLength { len: bytes.len() })
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random key.
    pub fn generate<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; 32];
        entropy.fill(&mut bytes)?;
        let key = Self::from_bytes(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// The key as `atuin key` prints it (and as Atuin's key file holds it).
    pub fn to_atuin_string(&self) -> String {
        let mut buf = Zeroizing::new(Vec::with_capacity(3 + 2 * 32));
        buf.extend_from_slice(&[0xdc, 0x00, 0x20]);
        for &b in &self.0 {
            if b >= 0x80 {
                buf.push(0xcc);
            }
            buf.push(b);
        }
        STANDARD.encode(buf.as_slice())
    }

    /// Parse a key string as Atuin does (see the module docs for the accepted forms).
    pub fn from_atuin_string(s: &str) -> Result<Self, KeyError> {
        let buf = Zeroizing::new(
            STANDARD
                .decode(s.trim_end())
                .map_err(|_| KeyError::Base64)?,
        );
        if buf.len() == 32 {
            return Self::from_slice(&buf);
        }
        let (&marker, rest) = buf.split_first().ok_or(KeyError::Empty)?;
        match marker {
            // bin8: length byte, then exactly the key.
            0xc4 => {
                let (&len, key) = rest.split_first().ok_or(KeyError::Truncated)?;
                if len != 32 {
                    return Err(KeyError::DeclaredLength { len: len.into() });
                }
                if key.len() != 32 {
                    return Err(KeyError::Truncated);
                }
                Self::from_slice(key)
            }
            // array16: big-endian u16 length, then 32 msgpack integers.
            0xdc => {
                let len = match rest {
                    [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
                    _ => return Err(KeyError::Truncated),
                };
                if len != 32 {
                    return Err(KeyError::DeclaredLength { len: len.into() });
                }
                // Each element any msgpack integer encoding (as rmp's `read_int`), 0 to 255.
                let mut reader = Reader::new(&rest[2..]);
                let mut key = Zeroizing::new([0u8; 32]);
                for (index, slot) in key.iter_mut().enumerate() {
                    *slot = reader.u8_any().map_err(|e| match e {
                        MsgpackError::Eof => KeyError::Truncated,
                        _ => KeyError::BadElement { index },
                    })?;
                }
                Ok(Self::from_bytes(*key))
            }
            other => Err(KeyError::UnsupportedEncoding { marker: other }),
        }
    }

    /// The key as the 24-word BIP39 (English) phrase that `atuin key` prints by default:
    /// the 256 key bits and the first byte of their SHA-256, cut into 24 groups of 11 bits.
    pub fn to_mnemonic(&self) -> String {
        let mut bits = Zeroizing::new([0u8; 33]);
        bits[..32].copy_from_slice(&self.0);
        bits[32] = Sha256::digest(self.0)[0];
        let words = Words::english().0;
        let mut out = String::with_capacity(24 * 9);
        for i in 0..24 {
            let mut index = 0usize;
            for b in i * 11..(i + 1) * 11 {
                index = (index << 1) | usize::from((bits[b / 8] >> (7 - b % 8)) & 1);
            }
            if i > 0 {
                out.push(' ');
            }
            out.push_str(words[index]);
        }
        out
    }

    /// Parse a 24-word BIP39 (English) phrase. Words are separated by any whitespace and must
    /// be lower-case as in the word list (Atuin also applies Unicode NFKD first, which only
    /// matters for exotic input such as full-width letters; we do not).
    pub fn from_mnemonic(phrase: &str) -> Result<Self, KeyError> {
        Self::from_mnemonic_in(phrase, &Words::english())
    }

    /// [`Self::from_mnemonic`] with the word list given.
    pub fn from_mnemonic_in(phrase: &str, words: &Words<'_>) -> Result<Self, KeyError> {
        let words = &words.0;
        let mut bits = Zeroizing::new([0u8; 33]);
        let mut count = 0usize;
        for (i, word) in phrase.split_whitespace().enumerate() {
            let index = words
                .binary_search(&word)
                .map_err(|_| KeyError::UnknownWord { index: i })?;
            if i < 24 {
                for k in 0..11 {
                    if (index >> (10 - k)) & 1 == 1 {
                        let b = i * 11 + k;
                        bits[b / 8] |= 0x80 >> (b % 8);
                    }
                }
            }
            count += 1;
        }
        if count != 24 {
            return Err(KeyError::MnemonicLength { words: count });
        }
        if Sha256::digest(&bits[..32])[0] != bits[32] {
            return Err(KeyError::MnemonicChecksum);
        }
        Self::from_slice(&bits[..32])
    }

    /// Parse what a user may paste as their key, as `atuin login` does: a BIP39 phrase, or,
    /// when the input is not made of BIP39 words, the base64 key string
    /// ([`Self::from_atuin_string`]).
    pub fn from_atuin_input(s: &str) -> Result<Self, KeyError> {
        Self::from_atuin_input_with(s, Some(&Words::english()))
    }

    /// [`Self::from_atuin_input`] with the word list from the host, needed only when the input
    /// [`may_be_phrase`] ([`KeyError::NoWordList`] without it then).
    pub fn from_atuin_input_with(s: &str, words: Option<&Words<'_>>) -> Result<Self, KeyError> {
        // Otherwise its first word is not a BIP39 word: the phrase reading would stop there.
        if !may_be_phrase(s) {
            return Self::from_atuin_string(s);
        }
        match Self::from_mnemonic_in(s, words.ok_or(KeyError::NoWordList)?) {
            Err(KeyError::UnknownWord { .. }) => Self::from_atuin_string(s),
            other => other,
        }
    }

    /// This key's PASERK id, `k4.lid.…` (what Atuin stores as `kid` beside each record).
    pub fn id(&self) -> &str {
        self.1.get_or_init(|| super::pie::lid(self))
    }
}

/// Whether `s` may be a BIP39 English phrase: its first word is 3 to 8 ASCII lower-case letters,
/// as every word of the list is. Only such input needs the word list to be read.
pub fn may_be_phrase(s: &str) -> bool {
    s.split_whitespace()
        .next()
        .is_some_and(|w| (3..=8).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The BIP39 English word list (2048 words, sorted), for indexing and binary search.
pub struct Words<'a>(Vec<&'a str>);

impl Words<'static> {
    /// The list built in.
    pub fn english() -> Self {
        Self(BIP39_ENGLISH.split_ascii_whitespace().collect())
    }
}

impl<'a> Words<'a> {
    /// The list from the text of [`BIP39_ENGLISH`] loaded apart; `None` unless it is 2048
    /// words in order.
    pub fn parse(text: &'a str) -> Option<Self> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        (words.len() == 2048 && words.windows(2).all(|p| p[0] < p[1])).then_some(Self(words))
    }
}

/// The BIP39 English word list (public data from the BIP39 specification), one a line, in
/// order: `core/src/crypto/bip39_english.txt`.
pub const BIP39_ENGLISH: &str = include_str!("bip39_english.txt");

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let k = Key::from_bytes([0xab; 32]);
        let s = alloc::format!("{k:?}");
        assert_eq!(s, "Key(***)");
    }

    #[test]
    fn word_list_is_complete_and_sorted() {
        let w = Words::parse(BIP39_ENGLISH).unwrap().0;
        assert_eq!((w.len(), w[0], w[2047]), (2048, "abandon", "zoo"));
        assert!(Words::parse("abandon ability").is_none());
        assert!(Words::parse(&BIP39_ENGLISH.replace("zoo", "aaa")).is_none());
        // Every word may begin a phrase: only other input is read without the list.
        assert!(w.iter().all(|w| may_be_phrase(w)));
    }

    #[test]
    fn the_word_list_is_needed_only_for_what_may_be_a_phrase() {
        let phrase = Key::from_bytes([7; 32]).to_mnemonic();
        let base64 = Key::from_bytes([7; 32]).to_atuin_string();
        let words = Words::english();
        for s in [
            base64.as_str(),
            "",
            "  ",
            "Abandon x",
            "hello1",
            "zz",
            "toolongword",
        ] {
            assert!(!may_be_phrase(s), "{s}");
            assert_eq!(
                Key::from_atuin_input_with(s, None),
                Key::from_atuin_input_with(s, Some(&words)),
                "{s}"
            );
        }
        assert!(may_be_phrase(&phrase) && may_be_phrase(" hello wrold"));
        assert_eq!(
            Key::from_atuin_input_with(&phrase, None),
            Err(KeyError::NoWordList)
        );
        assert_eq!(
            Key::from_atuin_input_with(&phrase, Some(&words)),
            Ok(Key::from_bytes([7; 32]))
        );
    }

    #[test]
    fn wide_ints_are_accepted_like_rmp() {
        let mut buf = alloc::vec![0xdc, 0x00, 0x20];
        buf.extend_from_slice(&[0xcd, 0x00, 0x07]); // u16 7
        buf.extend_from_slice(&[0xd0, 0x05]); // i8 5
        buf.extend_from_slice(&[0xd3, 0, 0, 0, 0, 0, 0, 0, 0xff]); // i64 255
        buf.extend(core::iter::repeat_n(0x01u8, 29));
        buf.extend_from_slice(b"trailing is ignored");
        let k = Key::from_atuin_string(&STANDARD.encode(&buf)).unwrap();
        assert_eq!(&k.as_bytes()[..4], &[7, 5, 255, 1]);

        let mut neg = alloc::vec![0xdc, 0x00, 0x20, 0xff];
        neg.extend(core::iter::repeat_n(0x01u8, 31));
        assert_eq!(
            Key::from_atuin_string(&STANDARD.encode(&neg)),
            Err(KeyError::BadElement { index: 0 })
        );
    }
}
