//! Atuin-compatible encryption (docs/PROTOCOL.md §4), built on RustCrypto primitives.
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
    check_key, check_key_id, decrypt_legacy, decrypt_record, encrypt_legacy, encrypt_record,
    implicit_assertion, legacy_implicit_assertion, reencrypt_record, CryptoError,
};
pub use key::{Key, KeyError};

pub(crate) use terrapin_primitives::{
    b64url_decode, b64url_encode, blake2b, blake2b_mac32, blake2b_mac56, xchacha20,
};
