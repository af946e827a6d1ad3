//! PASETO `v4.local`: XChaCha20 encryption, keyed BLAKE2b-256 authentication
//! (PASETO specification, "Version 4", Encrypt / Decrypt).
//!
//! ```text
//! token = "v4.local." b64url(n || c || t) [ "." b64url(f) ]
//! Ek || n2 = BLAKE2b-448(key = k, "paseto-encryption-key" || n)
//! Ak       = BLAKE2b-256(key = k, "paseto-auth-key-for-aead" || n)
//! c        = XChaCha20(m, Ek, n2)
//! t        = BLAKE2b-256(key = Ak, PAE(h, n, c, f, i))
//! ```
//!
//! `n` is 32 bytes, `f` the footer (sent in clear, authenticated), `i` the implicit assertion
//! (authenticated, never sent). Atuin uses no footer and puts the record's place in `i`.

use alloc::string::String;
use alloc::vec::Vec;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::{b64url_decode, b64url_encode, blake2b_mac32, blake2b_mac56, xchacha20, Key};

/// The header of every `v4.local` token.
pub const HEADER: &str = "v4.local.";

const NONCE_LEN: usize = 32;
const TAG_LEN: usize = 32;
const ENC_KEY_INFO: &[u8] = b"paseto-encryption-key";
const AUTH_KEY_INFO: &[u8] = b"paseto-auth-key-for-aead";

/// Why a `v4.local` token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasetoError {
    #[error("not a v4.local token: it does not start with \"v4.local.\"")]
    WrongHeader,
    #[error("malformed v4.local token: more than one footer section")]
    TooManySections,
    #[error("malformed v4.local token: the {0} is not canonical unpadded base64url")]
    Base64(&'static str),
    #[error(
        "malformed v4.local token: {len} bytes of payload, at least 64 (nonce and tag) needed"
    )]
    TooShort { len: usize },
    #[error("the token's footer is not the expected one")]
    FooterMismatch,
    #[error(
        "the token failed authentication: wrong key, altered token, or a different implicit \
         assertion than it was made with"
    )]
    Authentication,
}

/// Pre-authentication encoding: the count, then each piece prefixed by its length, all as
/// little-endian u64 with the top bit cleared.
pub(crate) fn pae(pieces: &[&[u8]]) -> Vec<u8> {
    fn le64(n: usize) -> [u8; 8] {
        ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
    }
    let total: usize = pieces.iter().map(|p| 8 + p.len()).sum();
    let mut out = Vec::with_capacity(8 + total);
    out.extend_from_slice(&le64(pieces.len()));
    for p in pieces {
        out.extend_from_slice(&le64(p.len()));
        out.extend_from_slice(p);
    }
    out
}

fn auth_tag(key: &Key, nonce: &[u8], c: &[u8], footer: &[u8], implicit: &[u8]) -> [u8; 32] {
    let mut ak = blake2b_mac32(key.as_bytes(), &[AUTH_KEY_INFO, nonce]);
    let pre_auth = pae(&[HEADER.as_bytes(), nonce, c, footer, implicit]);
    let t = blake2b_mac32(&ak, &[&pre_auth]);
    ak.zeroize();
    t
}

fn apply_cipher(key: &Key, nonce: &[u8], buf: &mut [u8]) {
    let (mut ek, mut n2) = blake2b_mac56(key.as_bytes(), &[ENC_KEY_INFO, nonce]);
    xchacha20(&ek, &n2, buf);
    ek.zeroize();
    n2.zeroize();
}

/// Encrypt `message` into a `v4.local` token under `key`, with the caller's 32-byte random
/// `nonce` (never reuse one under the same key). An empty `footer` adds no footer section.
pub fn encrypt(
    key: &Key,
    nonce: &[u8; 32],
    message: &[u8],
    footer: &[u8],
    implicit_assertion: &[u8],
) -> String {
    let mut c = message.to_vec();
    apply_cipher(key, nonce, &mut c);
    let t = auth_tag(key, nonce, &c, footer, implicit_assertion);

    let mut body = Vec::with_capacity(NONCE_LEN + c.len() + TAG_LEN);
    body.extend_from_slice(nonce);
    body.extend_from_slice(&c);
    body.extend_from_slice(&t);

    let mut token = String::from(HEADER);
    token.push_str(&b64url_encode(&body));
    if !footer.is_empty() {
        token.push('.');
        token.push_str(&b64url_encode(footer));
    }
    token
}

/// Decrypt a `v4.local` token. The token's footer must equal `footer` (an empty `footer` means
/// the token must carry none), and `implicit_assertion` must be the one it was made with.
pub fn decrypt(
    key: &Key,
    token: &str,
    footer: &[u8],
    implicit_assertion: &[u8],
) -> Result<Vec<u8>, PasetoError> {
    let rest = token.strip_prefix(HEADER).ok_or(PasetoError::WrongHeader)?;
    let (body_b64, token_footer) = match rest.split_once('.') {
        None => (rest, Vec::new()),
        Some((body, f)) => {
            if f.contains('.') {
                return Err(PasetoError::TooManySections);
            }
            (body, b64url_decode(f).ok_or(PasetoError::Base64("footer"))?)
        }
    };
    if !bool::from(token_footer.as_slice().ct_eq(footer)) {
        return Err(PasetoError::FooterMismatch);
    }

    let body = b64url_decode(body_b64).ok_or(PasetoError::Base64("payload"))?;
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(PasetoError::TooShort { len: body.len() });
    }
    let (nonce, rest) = body.split_at(NONCE_LEN);
    let (c, t) = rest.split_at(rest.len() - TAG_LEN);

    let expected = auth_tag(key, nonce, c, footer, implicit_assertion);
    if !bool::from(expected.as_slice().ct_eq(t)) {
        return Err(PasetoError::Authentication);
    }

    let mut m = c.to_vec();
    apply_cipher(key, nonce, &mut m);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_specification_examples() {
        assert_eq!(pae(&[]), [0u8; 8]);
        assert_eq!(
            pae(&[b""]),
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
        expected.extend_from_slice(b"test");
        assert_eq!(pae(&[b"test"]), expected);
    }

    #[test]
    fn round_trip_with_footer_and_assertion() {
        let key = Key::from_bytes([9; 32]);
        let t = encrypt(&key, &[1; 32], b"hello", b"foot", b"ia");
        assert_eq!(decrypt(&key, &t, b"foot", b"ia").unwrap(), b"hello");
        assert_eq!(
            decrypt(&key, &t, b"", b"ia"),
            Err(PasetoError::FooterMismatch)
        );
        assert_eq!(
            decrypt(&key, &t, b"foot", b"ib"),
            Err(PasetoError::Authentication)
        );
    }
}
