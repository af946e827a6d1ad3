//! The vault: the session token and the Atuin key at rest, sealed under a passphrase.
//!
//! Argon2id (RFC 9106; OWASP's minimum of 19 MiB, 2 passes, 1 lane by default) turns the
//! passphrase and a random 16-byte salt into a 32-byte key; XChaCha20-Poly1305 with a random
//! 24-byte nonce seals the secrets. The sealed blob is JSON with every parameter in it, so
//! the parameters can be raised later without breaking old vaults. A wrong passphrase and a
//! tampered blob both fail authentication; nothing is ever written in the clear. Argon2id runs
//! in the package's extras module (web/extras, loaded on first use), reached through a
//! [`Kdf`]: this wasm module does not carry it.

use std::future::Future;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::Serialize;
use serde_json::Value;
use terrapin_core::random::{Entropy, OsEntropy};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

/// What the vault keeps.
#[derive(Clone, Serialize, PartialEq, Eq)]
pub struct Secrets {
    pub server: String,
    pub username: String,
    pub session: String,
    /// The Atuin key, as `atuin key` prints it.
    pub key: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Argon2id cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            m: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
struct Sealed {
    v: u32,
    kdf: String,
    params: KdfParams,
    salt: String,
    nonce: String,
    ct: String,
}

const AAD: &[u8] = b"terrapin-web vault v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("wrong passphrase (or the vault was altered)")]
    WrongPassphrase,
    #[error("the vault is not readable: {0}")]
    Malformed(String),
    #[error("key derivation: {0}")]
    Kdf(String),
    #[error("the secure random source failed")]
    Entropy,
}

/// The key derivation: Argon2id of the passphrase and salt at the cost `params`, 32 bytes.
pub trait Kdf {
    fn derive(
        &self,
        passphrase: &str,
        salt: &[u8],
        params: KdfParams,
    ) -> impl Future<Output = Result<Zeroizing<[u8; 32]>, VaultError>>;
}

/// The package's [`Kdf`]: a JS function `(passphrase, salt, m, t, p) => Promise<Uint8Array>`
/// (web/js/index.ts: the extras module's `argon2id`). Its errors are [`VaultError::Kdf`].
pub struct JsKdf(pub js_sys::Function);

impl Kdf for JsKdf {
    async fn derive(
        &self,
        passphrase: &str,
        salt: &[u8],
        p: KdfParams,
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let failed = |e: wasm_bindgen::JsValue| {
            VaultError::Kdf(match e.dyn_ref::<js_sys::Error>() {
                Some(e) => e.message().into(),
                None => format!("{e:?}"),
            })
        };
        let args = js_sys::Array::of5(
            &passphrase.into(),
            &js_sys::Uint8Array::from(salt),
            &p.m.into(),
            &p.t.into(),
            &p.p.into(),
        );
        let promise = self
            .0
            .apply(&wasm_bindgen::JsValue::NULL, &args)
            .map_err(failed)?;
        let derived = JsFuture::from(js_sys::Promise::resolve(&promise))
            .await
            .map_err(failed)?
            .dyn_into::<js_sys::Uint8Array>()
            .map_err(|_| VaultError::Kdf("the key derivation gave no bytes".into()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        if derived.length() != 32 {
            return Err(VaultError::Kdf(
                "the key derivation gave no 32-byte key".into(),
            ));
        }
        derived.copy_to(key.as_mut());
        derived.fill(0, 0, 32);
        Ok(key)
    }
}

/// Seal `secrets` under `passphrase`; the result is safe to store.
pub async fn seal(
    secrets: &Secrets,
    passphrase: &str,
    params: KdfParams,
    kdf: &impl Kdf,
) -> Result<String, VaultError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    OsEntropy.fill(&mut salt).map_err(|_| VaultError::Entropy)?;
    OsEntropy
        .fill(&mut nonce)
        .map_err(|_| VaultError::Entropy)?;
    let key = kdf.derive(passphrase, &salt, params).await?;
    let plain = Zeroizing::new(
        serde_json::to_vec(secrets).map_err(|e| VaultError::Malformed(e.to_string()))?,
    );
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plain,
                aad: AAD,
            },
        )
        .map_err(|_| VaultError::Malformed("encryption failed".into()))?;
    let sealed = Sealed {
        v: 1,
        kdf: "argon2id".into(),
        params,
        salt: STANDARD.encode(salt),
        nonce: STANDARD.encode(nonce),
        ct: STANDARD.encode(ct),
    };
    serde_json::to_string(&sealed).map_err(|e| VaultError::Malformed(e.to_string()))
}

/// Field readers for the JSON [`seal`] writes (read through `Value`: one parser, no
/// per-type deserializer in the wasm).
fn parse(text: &str) -> Result<Value, VaultError> {
    serde_json::from_str(text).map_err(|e| VaultError::Malformed(e.to_string()))
}

fn text(v: &Value, name: &str) -> Result<String, VaultError> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| VaultError::Malformed(format!("no string field `{name}`")))
}

fn number(v: &Value, name: &str) -> Result<u32, VaultError> {
    v.get(name)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| VaultError::Malformed(format!("no integer field `{name}`")))
}

impl Sealed {
    fn from_json(json: &str) -> Result<Self, VaultError> {
        let v = parse(json)?;
        let p = v
            .get("params")
            .ok_or_else(|| VaultError::Malformed("no field `params`".into()))?;
        Ok(Self {
            v: number(&v, "v")?,
            kdf: text(&v, "kdf")?,
            params: KdfParams {
                m: number(p, "m")?,
                t: number(p, "t")?,
                p: number(p, "p")?,
            },
            salt: text(&v, "salt")?,
            nonce: text(&v, "nonce")?,
            ct: text(&v, "ct")?,
        })
    }
}

/// Open a vault sealed by [`seal`].
pub async fn open(sealed: &str, passphrase: &str, kdf: &impl Kdf) -> Result<Secrets, VaultError> {
    let s = Sealed::from_json(sealed)?;
    if s.v != 1 || s.kdf != "argon2id" {
        return Err(VaultError::Malformed(format!(
            "unknown vault v{} with {}",
            s.v, s.kdf
        )));
    }
    let b64 = |x: &str| {
        STANDARD
            .decode(x)
            .map_err(|e| VaultError::Malformed(e.to_string()))
    };
    let salt = b64(&s.salt)?;
    let nonce = b64(&s.nonce)?;
    let ct = b64(&s.ct)?;
    if nonce.len() != 24 {
        return Err(VaultError::Malformed("bad nonce".into()));
    }
    let key = kdf.derive(passphrase, &salt, s.params).await?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let plain = Zeroizing::new(
        cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad: AAD })
            .map_err(|_| VaultError::WrongPassphrase)?,
    );
    // Through &str like every other parse here: one reader type, one copy of serde_json's
    // parser in the wasm (the plaintext is JSON that `seal` wrote, so UTF-8).
    let plain = core::str::from_utf8(&plain).map_err(|e| VaultError::Malformed(e.to_string()))?;
    let v = parse(plain)?;
    Ok(Secrets {
        server: text(&v, "server")?,
        username: text(&v, "username")?,
        session: text(&v, "session")?,
        key: text(&v, "key")?,
    })
}
