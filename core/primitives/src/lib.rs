//! The per-record primitives of terrapin-core's PASETO/PIE code: keyed BLAKE2b, XChaCha20 and
//! strict unpadded base64url. They live in their own crate because generic RustCrypto code is
//! compiled in the crate that instantiates it: here it can be built at opt-level 3 while
//! terrapin-core is built for size (web/build.sh). Nothing else belongs here.
#![no_std]
extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use blake2::digest::consts::{U32, U56};
use blake2::digest::{FixedOutput, Mac, Update, VariableOutput};
use blake2::{Blake2bMac, Blake2bVar};
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::XChaCha20;

/// Unpadded base64url, strict: padding and non-zero trailing bits are refused, so every
/// accepted string is the canonical encoding of what it decodes to (PASETO requires this).
#[inline(never)]
pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[inline(never)]
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// Keyed BLAKE2b with a 32-byte output over the concatenation of `parts`.
#[inline(never)]
pub fn blake2b_mac32(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // A 32-byte key is always a valid BLAKE2b key (1..=64 bytes).
    let mut mac =
        <Blake2bMac<U32> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_key_length());
    for p in parts {
        Mac::update(&mut mac, p);
    }
    mac.finalize_fixed().into()
}

/// Keyed BLAKE2b with a 56-byte output: 32 bytes of encryption key, 24 bytes of XChaCha20 nonce.
#[inline(never)]
pub fn blake2b_mac56(key: &[u8; 32], parts: &[&[u8]]) -> ([u8; 32], [u8; 24]) {
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

/// Unkeyed BLAKE2b over the concatenation of `parts`, with `out.len()` (1..=64) bytes of output.
pub fn blake2b(out: &mut [u8], parts: &[&[u8]]) {
    if let Ok(mut h) = Blake2bVar::new(out.len()) {
        for p in parts {
            h.update(p);
        }
        let _ = h.finalize_variable(out);
    }
}

/// XChaCha20 keystream applied in place.
#[inline(never)]
pub fn xchacha20(key: &[u8; 32], nonce: &[u8; 24], buf: &mut [u8]) {
    let mut cipher = XChaCha20::new(key.into(), nonce.into());
    cipher.apply_keystream(buf);
}

#[cold]
fn unreachable_key_length() -> ! {
    // BLAKE2b accepts keys of 1..=64 bytes and every caller passes exactly 32.
    unreachable!("a 32-byte key is a valid BLAKE2b key")
}
