//! Secrets: password hashing (PBKDF2-HMAC-SHA256 through WebCrypto, so the work runs in the
//! runtime's native code, not in wasm), random session tokens stored as SHA-256 hashes, and
//! constant-time comparison.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use js_sys::{Array, Object, Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey};

/// Prefix of a stored password hash: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
const SCHEME: &str = "pbkdf2-sha256";
/// workerd refuses PBKDF2 above 100 000 iterations.
pub const MAX_ITERATIONS: u32 = 100_000;
const SALT_BYTES: usize = 16;
const HASH_BITS: u32 = 256;
/// Session tokens carry 256 random bits.
const TOKEN_BYTES: usize = 32;

#[derive(Debug)]
pub struct WebCryptoError(pub String);

impl From<JsValue> for WebCryptoError {
    fn from(v: JsValue) -> Self {
        Self(
            v.as_string()
                .or_else(|| {
                    v.dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                })
                .unwrap_or_else(|| "crypto failure".to_owned()),
        )
    }
}

fn crypto() -> Result<Crypto, WebCryptoError> {
    let c = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))?;
    if c.is_undefined() {
        return Err(WebCryptoError("no WebCrypto in this runtime".to_owned()));
    }
    Ok(c.unchecked_into::<Crypto>())
}

/// Bytes from the runtime's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], WebCryptoError> {
    let mut buf = [0u8; N];
    crypto()?.get_random_values_with_u8_array(&mut buf)?;
    Ok(buf)
}

/// A new session token (URL-safe base64 of 256 random bits).
pub fn new_token() -> Result<String, WebCryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?))
}

/// A new account's store id: 128 random bits, hex. It names the account's Durable Object, so
/// a recreated directory can never hand a new account an old account's store.
pub fn new_store_id() -> Result<String, WebCryptoError> {
    Ok(hex(&random_bytes::<16>()?))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What the database stores for a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

async fn pbkdf2(password: &str, salt: &[u8], iterations: u32) -> Result<Vec<u8>, WebCryptoError> {
    let subtle = crypto()?.subtle();
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let key_data = Uint8Array::from(password.as_bytes());
    let key =
        JsFuture::from(subtle.import_key_with_str("raw", &key_data, "PBKDF2", false, &usages)?)
            .await?
            .unchecked_into::<CryptoKey>();
    let params = Object::new();
    Reflect::set(&params, &"name".into(), &"PBKDF2".into())?;
    Reflect::set(&params, &"hash".into(), &"SHA-256".into())?;
    Reflect::set(&params, &"salt".into(), &Uint8Array::from(salt))?;
    Reflect::set(&params, &"iterations".into(), &JsValue::from(iterations))?;
    let bits = JsFuture::from(subtle.derive_bits_with_object(&params, &key, HASH_BITS)?).await?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// Hashes a password for storage with a fresh salt.
pub async fn hash_password(password: &str, iterations: u32) -> Result<String, WebCryptoError> {
    let iterations = iterations.clamp(1, MAX_ITERATIONS);
    let salt = random_bytes::<SALT_BYTES>()?;
    let hash = pbkdf2(password, &salt, iterations).await?;
    Ok(format!(
        "{SCHEME}${iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    ))
}

/// Checks a password against a stored hash. An unreadable stored hash never verifies.
pub async fn verify_password(password: &str, stored: &str) -> Result<bool, WebCryptoError> {
    let mut parts = stored.split('$');
    let (Some(SCHEME), Some(iter), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Ok(false);
    };
    let (Ok(iterations), Ok(salt), Ok(expected)) = (
        iter.parse::<u32>(),
        STANDARD_NO_PAD.decode(salt),
        STANDARD_NO_PAD.decode(hash),
    ) else {
        return Ok(false);
    };
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Ok(false);
    }
    let got = pbkdf2(password, &salt, iterations).await?;
    Ok(constant_time_eq(&got, &expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
