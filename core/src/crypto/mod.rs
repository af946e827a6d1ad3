//! Atuin-compatible encryption (PROTOCOL.md §4), built on RustCrypto primitives.
//!
//! - [`paseto`]: PASETO `v4.local` tokens (XChaCha20 + keyed BLAKE2b), with footer and
//!   implicit assertion.
//! - [`pie`]: PASERK `k4.local-wrap.pie` key wrapping and `k4.lid` key ids.
//! - [`key`]: the 32-byte master key and its Atuin text forms (`atuin key` phrase, key file).
//! - [`envelope`]: Atuin's per-record envelope: a random content encryption key (CEK)
//!   encrypts the payload, the master key wraps the CEK. Re-exported here as
//!   [`encrypt_record`], [`decrypt_record`], [`check_key`].
//!
//! Randomness only comes in through [`crate::random::Entropy`]; the low-level functions take
//! their nonces from the caller so the official test vectors can pin them.

pub mod envelope;
pub mod key;
pub mod paseto;
pub mod pie;

pub use envelope::{
    check_key, decrypt_record, encrypt_record, implicit_assertion, is_plaintext_tag,
    reencrypt_record, CryptoError,
};
pub use key::{Key, KeyError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use blake2::digest::consts::{U32, U56};
use blake2::digest::{FixedOutput, Mac};
use blake2::Blake2bMac;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::XChaCha20;

/// Unpadded base64url, strict: padding and non-zero trailing bits are refused, so every
/// accepted string is the canonical encoding of what it decodes to (PASETO requires this).
pub(crate) fn b64url_encode(bytes: &[u8]) -> alloc::string::String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn b64url_decode(s: &str) -> Option<alloc::vec::Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Keyed BLAKE2b with a 32-byte output over the concatenation of `parts`.
pub(crate) fn blake2b_mac32(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // A 32-byte key is always a valid BLAKE2b key (1..=64 bytes).
    let mut mac =
        <Blake2bMac<U32> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key_length());
    for p in parts {
        Mac::update(&mut mac, p);
    }
    mac.finalize_fixed().into()
}

/// Keyed BLAKE2b with a 56-byte output: 32 bytes of encryption key, 24 bytes of XChaCha20 nonce.
pub(crate) fn blake2b_mac56(key: &[u8; 32], parts: &[&[u8]]) -> ([u8; 32], [u8; 24]) {
    let mut mac =
        <Blake2bMac<U56> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key_length());
    for p in parts {
        Mac::update(&mut mac, p);
    }
    let out = mac.finalize_fixed();
    let mut ek = [0u8; 32];
    let mut n2 = [0u8; 24];
    ek.copy_from_slice(&out[..32]);
    n2.copy_from_slice(&out[32..]);
    (ek, n2)
}

/// XChaCha20 keystream applied in place.
pub(crate) fn xchacha20(key: &[u8; 32], nonce: &[u8; 24], buf: &mut [u8]) {
    let mut cipher = XChaCha20::new(key.into(), nonce.into());
    cipher.apply_keystream(buf);
}

#[cold]
fn unreachable_key_length() -> ! {
    // BLAKE2b accepts keys of 1..=64 bytes and every caller passes exactly 32.
    unreachable!("a 32-byte key is a valid BLAKE2b key")
}
