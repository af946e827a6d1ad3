//! The user's 32-byte master key and Atuin's text form of it.
//!
//! Atuin (`atuin key`, the key file) prints the key as standard base64 (with padding) of a
//! msgpack array16 of its 32 bytes, each byte written as the smallest msgpack uint
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
use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

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
}

/// A 32-byte symmetric key: the user's master key or a record's content key.
///
/// Zeroed on drop; compared in constant time; `Debug` never shows it.
#[derive(Clone)]
pub struct Key([u8; 32]);

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KeyError::WrongLength { len: bytes.len() })
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A fresh random key.
    pub fn generate<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, EntropyError> {
        let mut bytes = [0u8; 32];
        entropy.fill(&mut bytes)?;
        let key = Self(bytes);
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
                let mut cursor = &rest[2..];
                let mut key = Zeroizing::new([0u8; 32]);
                for (index, slot) in key.iter_mut().enumerate() {
                    *slot = read_byte_int(&mut cursor, index)?;
                }
                Ok(Self(*key))
            }
            other => Err(KeyError::UnsupportedEncoding { marker: other }),
        }
    }

    /// This key's PASERK id, `k4.lid.…` (what Atuin stores as `kid` beside each record).
    pub fn key_id(&self) -> String {
        super::pie::lid(self)
    }
}

/// Read one msgpack integer of any width (as rmp's `read_int` does) that must fit in a u8.
fn read_byte_int(cursor: &mut &[u8], index: usize) -> Result<u8, KeyError> {
    let bad = KeyError::BadElement { index };
    let (&marker, rest) = cursor.split_first().ok_or(KeyError::Truncated)?;
    let take = |n: usize| -> Result<(&[u8], &[u8]), KeyError> {
        if rest.len() < n {
            Err(KeyError::Truncated)
        } else {
            Ok(rest.split_at(n))
        }
    };
    let (value, rest): (i128, &[u8]) = match marker {
        0x00..=0x7f => (marker.into(), rest),
        0xe0..=0xff => ((marker as i8).into(), rest),
        0xcc | 0xd0 => {
            let (b, r) = take(1)?;
            let v = if marker == 0xcc {
                i128::from(b[0])
            } else {
                i128::from(b[0] as i8)
            };
            (v, r)
        }
        0xcd | 0xd1 => {
            let (b, r) = take(2)?;
            let raw = [b[0], b[1]];
            let v = if marker == 0xcd {
                i128::from(u16::from_be_bytes(raw))
            } else {
                i128::from(i16::from_be_bytes(raw))
            };
            (v, r)
        }
        0xce | 0xd2 => {
            let (b, r) = take(4)?;
            let raw = [b[0], b[1], b[2], b[3]];
            let v = if marker == 0xce {
                i128::from(u32::from_be_bytes(raw))
            } else {
                i128::from(i32::from_be_bytes(raw))
            };
            (v, r)
        }
        0xcf | 0xd3 => {
            let (b, r) = take(8)?;
            let mut raw = [0u8; 8];
            raw.copy_from_slice(b);
            let v = if marker == 0xcf {
                i128::from(u64::from_be_bytes(raw))
            } else {
                i128::from(i64::from_be_bytes(raw))
            };
            (v, r)
        }
        _ => return Err(bad),
    };
    *cursor = rest;
    u8::try_from(value).map_err(|_| bad)
}

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
