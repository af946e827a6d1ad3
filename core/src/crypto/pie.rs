//! PASERK `k4.local-wrap.pie` (wrapping a local key under another local key) and `k4.lid`
//! (the id of a local key), per the PASERK specification ("PIE" wrapping, "lid").
//!
//! ```text
//! wrap:   Ek || n2 = BLAKE2b-448(key = wk, 0x80 || n)
//!         Ak       = BLAKE2b-256(key = wk, 0x81 || n)
//!         c        = XChaCha20(ptk, Ek, n2)
//!         t        = BLAKE2b-256(key = Ak, h || n || c)
//!         paserk   = h || b64url(t || n || c)          h = "k4.local-wrap.pie."
//! lid:    "k4.lid." || b64url(BLAKE2b-264("k4.lid." || "k4.local." || b64url(key)))
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::{b64url_decode, b64url_encode, blake2b, blake2b_mac32, blake2b_mac56, xchacha20, Key};

/// The header of a PIE-wrapped local key.
pub const HEADER: &str = "k4.local-wrap.pie.";
/// The header of a local key id.
pub const LID_HEADER: &str = "k4.lid.";
/// The PASERK header of a plain local key (only hashed, never emitted).
const LOCAL_HEADER: &str = "k4.local.";

const TAG_LEN: usize = 32;
const NONCE_LEN: usize = 32;
const KEY_LEN: usize = 32;
/// Decoded length of a wrapped local key: tag, nonce, key.
pub const WRAPPED_LEN: usize = TAG_LEN + NONCE_LEN + KEY_LEN;
/// Decoded length of a key id (BLAKE2b-264).
pub const LID_LEN: usize = 33;

/// Why a `k4.local-wrap.pie` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PieError {
    #[error("not a k4.local-wrap.pie key: it does not start with \"k4.local-wrap.pie.\" (another version or purpose?)")]
    WrongHeader,
    #[error("malformed k4.local-wrap.pie key: not canonical unpadded base64url")]
    Base64,
    #[error("malformed k4.local-wrap.pie key: {len} bytes, a wrapped local key has 96")]
    WrongLength { len: usize },
    #[error("the wrapped key failed authentication: it was wrapped under another key, or altered")]
    Authentication,
}

fn auth_tag(wrapping_key: &Key, nonce: &[u8], c: &[u8]) -> [u8; 32] {
    let mut ak = blake2b_mac32(wrapping_key.as_bytes(), &[&[0x81], nonce]);
    let t = blake2b_mac32(&ak, &[HEADER.as_bytes(), nonce, c]);
    ak.zeroize();
    t
}

fn apply_cipher(wrapping_key: &Key, nonce: &[u8], buf: &mut [u8]) {
    let (mut ek, mut n2) = blake2b_mac56(wrapping_key.as_bytes(), &[&[0x80], nonce]);
    xchacha20(&ek, &n2, buf);
    ek.zeroize();
    n2.zeroize();
}

/// Wrap `key` under `wrapping_key` with the caller's 32-byte random `nonce`.
pub fn wrap(key: &Key, wrapping_key: &Key, nonce: &[u8; 32]) -> String {
    let mut c = *key.as_bytes();
    apply_cipher(wrapping_key, nonce, &mut c);
    let t = auth_tag(wrapping_key, nonce, &c);

    let mut body = [0u8; WRAPPED_LEN];
    body[..TAG_LEN].copy_from_slice(&t);
    body[TAG_LEN..TAG_LEN + NONCE_LEN].copy_from_slice(nonce);
    body[TAG_LEN + NONCE_LEN..].copy_from_slice(&c);

    let mut out = String::from(HEADER);
    out.push_str(&b64url_encode(&body));
    out
}

/// Unwrap a `k4.local-wrap.pie.` string with `wrapping_key`. The tag is checked (in constant
/// time) before anything is decrypted.
pub fn unwrap(paserk: &str, wrapping_key: &Key) -> Result<Key, PieError> {
    let b64 = paserk.strip_prefix(HEADER).ok_or(PieError::WrongHeader)?;
    let body: Vec<u8> = b64url_decode(b64).ok_or(PieError::Base64)?;
    if body.len() != WRAPPED_LEN {
        return Err(PieError::WrongLength { len: body.len() });
    }
    let (t, rest) = body.split_at(TAG_LEN);
    let (nonce, c) = rest.split_at(NONCE_LEN);

    let expected = auth_tag(wrapping_key, nonce, c);
    if !bool::from(expected.as_slice().ct_eq(t)) {
        return Err(PieError::Authentication);
    }

    let mut k = [0u8; KEY_LEN];
    k.copy_from_slice(c);
    apply_cipher(wrapping_key, nonce, &mut k);
    let key = Key::from_bytes(k);
    k.zeroize();
    Ok(key)
}

/// The `k4.lid.` id of a local key: safe to publish, identifies the key without revealing it.
pub fn lid(key: &Key) -> String {
    let mut paserk = String::from(LOCAL_HEADER);
    paserk.push_str(&b64url_encode(key.as_bytes()));

    let mut d = [0u8; LID_LEN];
    blake2b(&mut d, &[LID_HEADER.as_bytes(), paserk.as_bytes()]);
    paserk.zeroize();

    let mut out = String::from(LID_HEADER);
    out.push_str(&b64url_encode(&d));
    out
}

/// Whether `s` has the shape of a `k4.lid.` id (header and 33 canonical base64url bytes).
pub fn is_lid(s: &str) -> bool {
    s.strip_prefix(LID_HEADER)
        .and_then(b64url_decode)
        .is_some_and(|d| d.len() == LID_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_wrong_key() {
        let wk = Key::from_bytes([3; 32]);
        let k = Key::from_bytes([4; 32]);
        let w = wrap(&k, &wk, &[5; 32]);
        assert_eq!(unwrap(&w, &wk).unwrap(), k);
        assert_eq!(
            unwrap(&w, &Key::from_bytes([6; 32])),
            Err(PieError::Authentication)
        );
        assert!(is_lid(&lid(&k)));
    }
}
