//! Atuin's per-record envelope encryption (docs/PROTOCOL.md §4), byte-compatible with
//! `atuin-common` 18.24.4 `encryption::paseto_v4::{encrypt_sync, decrypt_sync}` as called by
//! `atuin-domain` `Record::{encrypt, decrypt}`:
//!
//! 1. a fresh random 32-byte content encryption key (CEK) and a fresh 32-byte nonce;
//! 2. the payload bytes, base64url without padding, go into the JSON `{"data":"<b64>"}`;
//! 3. that JSON is the message of a `v4.local` token under the CEK, with **no footer** and the
//!    implicit assertion [`implicit_assertion`] = `{"id","idx","version","tag","host"}`;
//! 4. `content_encryption_key` = `{"wpk":"k4.local-wrap.pie.…","kid":"k4.lid.…"}`: the CEK
//!    PIE-wrapped under the master key, and the master key's id.
//!
//! Reading is as lenient as Atuin's: the CEK JSON may have its fields in any order and extra
//! fields; the payload JSON may have extra fields. A token with a footer is refused (Atuin
//! never writes one).
//!
//! Records whose tag is stored as plaintext (Atuin 18.24: only `packfile`, whose manifests are
//! `"001" + JSON` in `data.data` and an empty `content_encryption_key`) are never encrypted or
//! decrypted here: every function answers [`CryptoError::PlaintextTag`] for them, and callers
//! keep such records as they are (see [`Tag::is_plaintext`]).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;

use super::{b64url_decode, b64url_encode, paseto, pie, Key};
use crate::random::{Entropy, EntropyError};
use crate::record::{DecryptedData, EncryptedData, HostId, Record, RecordId, Tag, Version};

/// Why a record could not be encrypted, decrypted or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "record {id} has tag `{tag}`, which Atuin stores as plaintext (packfile manifest): it is \
         neither encrypted nor decrypted"
    )]
    PlaintextTag { id: RecordId, tag: Tag },

    #[error(
        "wrong key for record {id}: it was encrypted under key {record_kid}, but the given key \
         is {given_kid}"
    )]
    WrongKey {
        id: RecordId,
        record_kid: String,
        given_kid: String,
    },

    #[error(
        "the wrapped content key (wpk) of record {id} failed authentication although its key id \
         matches the given key: the wpk (or the kid beside it) was altered"
    )]
    WrappedKeyTampered { id: RecordId },

    #[error(
        "record {id} (host {host}, tag {tag}, idx {idx}, version {version}) failed \
         authentication: either its ciphertext was altered, or the record was moved away from \
         the place it was encrypted for (its id, idx, version, tag or host was changed)"
    )]
    TokenAuthentication {
        id: RecordId,
        host: HostId,
        tag: Tag,
        idx: u64,
        version: Version,
    },

    #[error(
        "legacy record {id} (host {host}, tag {tag}, version {version}, parent {parent}) failed \
         authentication under the atuin <= 17 assertion: either its ciphertext was altered, or \
         its id, version, tag, host or parent was changed"
    )]
    LegacyTokenAuthentication {
        id: RecordId,
        host: HostId,
        tag: Tag,
        version: Version,
        /// The parent id, or `none` for the first record of a series.
        parent: String,
    },

    #[error("record {id}: malformed content_encryption_key: {reason}")]
    MalformedCek { id: RecordId, reason: &'static str },

    #[error("record {id}: malformed wrapped content key: {source}")]
    MalformedWrappedKey {
        id: RecordId,
        #[source]
        source: pie::PieError,
    },

    #[error("record {id}: malformed token in data: {source}")]
    MalformedToken {
        id: RecordId,
        #[source]
        source: paseto::PasetoError,
    },

    #[error("record {id}: the decrypted payload is malformed: {reason}")]
    MalformedPayload { id: RecordId, reason: &'static str },

    #[error("record {id}: could not encode the implicit assertion")]
    AssertionEncoding { id: RecordId },

    #[error(transparent)]
    Entropy(#[from] EntropyError),
}

/// The implicit assertion that binds a record's ciphertext to its place: the JSON
/// `{"id":…,"idx":…,"version":…,"tag":…,"host":…}` exactly as serde_json writes Atuin's
/// `AdditionalData` (field order frozen; `host` is the host uuid, hyphenated).
pub fn implicit_assertion<D>(record: &Record<D>) -> Result<String, CryptoError> {
    assertion(
        record.id,
        Some(record.idx),
        &record.version,
        &record.tag,
        record.host.id,
        None,
    )
}

/// The implicit assertion atuin <= 17 bound a linked-list record to: the JSON
/// `{"id":…,"version":…,"tag":…,"host":…,"parent":…}` (field order frozen; uuids hyphenated;
/// `parent` is `null` for the first record of a series). See docs/PROTOCOL.md §6.
pub fn legacy_implicit_assertion(
    id: RecordId,
    version: &Version,
    tag: &Tag,
    host: HostId,
    parent: Option<RecordId>,
) -> Result<String, CryptoError> {
    assertion(id, None, version, tag, host, Some(parent))
}

/// Both assertions, written as serde_json writes the structs: uuids as hyphenated lowercase
/// strings, `idx` as a bare integer, strings JSON-escaped, no spaces. `idx` is present in the
/// current form, `legacy_parent` in the legacy one.
fn assertion(
    id: RecordId,
    idx: Option<u64>,
    version: &Version,
    tag: &Tag,
    host: HostId,
    legacy_parent: Option<Option<RecordId>>,
) -> Result<String, CryptoError> {
    let esc = |s: &str| serde_json::to_string(s).map_err(|_| CryptoError::AssertionEncoding { id });
    let mut out = format!(r#"{{"id":"{id}""#);
    if let Some(idx) = idx {
        out += &format!(r#","idx":{idx}"#);
    }
    out += &format!(
        r#","version":{},"tag":{},"host":"{host}""#,
        esc(version.as_str())?,
        esc(tag.as_str())?
    );
    match legacy_parent {
        Some(Some(p)) => out += &format!(r#","parent":"{p}""#),
        Some(None) => out += r#","parent":null"#,
        None => {}
    }
    out.push('}');
    Ok(out)
}

/// The content of `content_encryption_key`.
#[derive(Deserialize)]
struct CekJson {
    wpk: String,
    kid: String,
}

fn cek_json(wpk: &str, kid: &str) -> String {
    // Both values are PASERK strings (header + base64url): nothing in them needs escaping.
    format!(r#"{{"wpk":"{wpk}","kid":"{kid}"}}"#)
}

/// The JSON the token's message holds.
#[derive(Deserialize)]
struct PayloadJson {
    data: String,
}

fn refuse_plaintext<D>(record: &Record<D>) -> Result<(), CryptoError> {
    if record.tag.is_plaintext() {
        Err(CryptoError::PlaintextTag {
            id: record.id,
            tag: record.tag.clone(),
        })
    } else {
        Ok(())
    }
}

fn random32<E: Entropy + ?Sized>(entropy: &mut E) -> Result<[u8; 32], EntropyError> {
    let mut b = [0u8; 32];
    entropy.fill(&mut b)?;
    Ok(b)
}

/// Wrap `cek` under `key`, giving the `content_encryption_key` string.
fn wrap_cek<E: Entropy + ?Sized>(
    cek: &Key,
    key: &Key,
    entropy: &mut E,
) -> Result<String, CryptoError> {
    let nonce = random32(entropy)?;
    Ok(cek_json(&pie::wrap(cek, key, &nonce), key.id()))
}

/// Parse `content_encryption_key` and check its key id against `key`.
fn cek_for(id: RecordId, content_encryption_key: &str, key: &Key) -> Result<CekJson, CryptoError> {
    let cek: CekJson =
        serde_json::from_str(content_encryption_key).map_err(|_| CryptoError::MalformedCek {
            id,
            reason: "not a JSON object with string fields \"wpk\" and \"kid\"",
        })?;
    if !pie::is_lid(&cek.kid) {
        return Err(CryptoError::MalformedCek {
            id,
            reason: "\"kid\" is not a k4.lid key id",
        });
    }
    if cek.kid != key.id() {
        return Err(CryptoError::WrongKey {
            id,
            record_kid: cek.kid,
            given_kid: key.id().to_owned(),
        });
    }
    Ok(cek)
}

/// Parse `content_encryption_key`, check its key id against `key` and unwrap the CEK.
fn unwrap_cek(id: RecordId, content_encryption_key: &str, key: &Key) -> Result<Key, CryptoError> {
    let cek = cek_for(id, content_encryption_key, key)?;
    pie::unwrap(&cek.wpk, key).map_err(|e| match e {
        pie::PieError::Authentication => CryptoError::WrappedKeyTampered { id },
        source => CryptoError::MalformedWrappedKey { id, source },
    })
}

/// Encrypt a record under the master `key`, with a fresh CEK and fresh nonces from `entropy`.
pub fn encrypt_record<E: Entropy + ?Sized>(
    record: &Record<DecryptedData>,
    key: &Key,
    entropy: &mut E,
) -> Result<Record<EncryptedData>, CryptoError> {
    refuse_plaintext(record)?;
    let assertion = implicit_assertion(record)?;
    Ok(record.with_data(seal(&record.data.0, &assertion, key, entropy)?))
}

/// Encrypt a payload as atuin <= 17 did for a linked-list record (bound to
/// [`legacy_implicit_assertion`]). Nothing writes such records any more; this makes test
/// stores of the old kind.
#[allow(clippy::too_many_arguments)]
pub fn encrypt_legacy<E: Entropy + ?Sized>(
    id: RecordId,
    version: &Version,
    tag: &Tag,
    host: HostId,
    parent: Option<RecordId>,
    data: &DecryptedData,
    key: &Key,
    entropy: &mut E,
) -> Result<EncryptedData, CryptoError> {
    let assertion = legacy_implicit_assertion(id, version, tag, host, parent)?;
    seal(&data.0, &assertion, key, entropy)
}

/// Seal `payload` with a fresh CEK under `assertion` and wrap the CEK under `key`.
fn seal<E: Entropy + ?Sized>(
    payload: &[u8],
    assertion: &str,
    key: &Key,
    entropy: &mut E,
) -> Result<EncryptedData, CryptoError> {
    let cek = Key::from_bytes(random32(entropy)?);
    let token_nonce = random32(entropy)?;
    // base64url is plain ASCII: the JSON needs no escaping.
    let message = format!(r#"{{"data":"{}"}}"#, b64url_encode(payload));
    let token = paseto::encrypt(
        &cek,
        &token_nonce,
        message.as_bytes(),
        b"",
        assertion.as_bytes(),
    );
    let content_encryption_key = wrap_cek(&cek, key, entropy)?;
    Ok(EncryptedData {
        data: token,
        content_encryption_key,
    })
}

/// Decrypt a record with the master `key`. Checks, in order: the tag is an encrypted one, the
/// CEK JSON parses, its key id is this key's, the wrapped CEK authenticates, the token
/// authenticates for this record's place, the payload parses.
pub fn decrypt_record(
    record: &Record<EncryptedData>,
    key: &Key,
) -> Result<Record<DecryptedData>, CryptoError> {
    refuse_plaintext(record)?;
    let assertion = implicit_assertion(record)?;
    let bytes = open(record.id, &record.data, key, &assertion, || {
        CryptoError::TokenAuthentication {
            id: record.id,
            host: record.host.id,
            tag: record.tag.clone(),
            idx: record.idx,
            version: record.version.clone(),
        }
    })?;
    Ok(record.with_data(DecryptedData(bytes)))
}

/// Decrypt the payload of a record written by atuin <= 17 (linked by `parent`, no idx) with
/// the master `key`: the same envelope as [`decrypt_record`], bound to
/// [`legacy_implicit_assertion`] instead.
pub fn decrypt_legacy(
    id: RecordId,
    version: &Version,
    tag: &Tag,
    host: HostId,
    parent: Option<RecordId>,
    data: &EncryptedData,
    key: &Key,
) -> Result<DecryptedData, CryptoError> {
    if tag.is_plaintext() {
        return Err(CryptoError::PlaintextTag {
            id,
            tag: tag.clone(),
        });
    }
    let assertion = legacy_implicit_assertion(id, version, tag, host, parent)?;
    open(id, data, key, &assertion, || {
        CryptoError::LegacyTokenAuthentication {
            id,
            host,
            tag: tag.clone(),
            version: version.clone(),
            parent: parent.map_or_else(|| "none".into(), |p| format!("{p}")),
        }
    })
    .map(DecryptedData)
}

/// Unwrap the CEK, open the token under `assertion` and parse the payload JSON. `auth` makes
/// the error for a token that fails authentication.
fn open(
    id: RecordId,
    data: &EncryptedData,
    key: &Key,
    assertion: &str,
    auth: impl FnOnce() -> CryptoError,
) -> Result<Vec<u8>, CryptoError> {
    let cek = unwrap_cek(id, &data.content_encryption_key, key)?;
    let message =
        paseto::decrypt(&cek, &data.data, b"", assertion.as_bytes()).map_err(|e| match e {
            paseto::PasetoError::Authentication => auth(),
            source => CryptoError::MalformedToken { id, source },
        })?;
    // Read as &str, like every other JSON here: one reader type, so one copy of serde_json's
    // parser in a wasm build.
    let payload: PayloadJson = core::str::from_utf8(&message)
        .ok()
        .and_then(|m| serde_json::from_str(m).ok())
        .ok_or(CryptoError::MalformedPayload {
            id,
            reason: "not a JSON object with a string field \"data\"",
        })?;
    b64url_decode(&payload.data).ok_or(CryptoError::MalformedPayload {
        id,
        reason: "\"data\" is not canonical unpadded base64url",
    })
}

/// Cheap check that `key` is the key a record was encrypted with: compares the key id and
/// unwraps the CEK, without touching the payload. Use it on one already-synced record before
/// uploading anything.
pub fn check_key(record: &Record<EncryptedData>, key: &Key) -> Result<(), CryptoError> {
    refuse_plaintext(record)?;
    unwrap_cek(record.id, &record.data.content_encryption_key, key).map(drop)
}

/// Cheapest check that a record was written under `key`: its `content_encryption_key` names
/// this key's id ([`CryptoError::WrongKey`] otherwise). Nothing is unwrapped: used on every
/// record before it is uploaded.
pub fn check_key_id(record: &Record<EncryptedData>, key: &Key) -> Result<(), CryptoError> {
    refuse_plaintext(record)?;
    cek_for(record.id, &record.data.content_encryption_key, key).map(drop)
}

/// Re-wrap a record's CEK under `new_key` (key rotation, as Atuin's `reencrypt_sync`): the
/// token is kept byte for byte, only `content_encryption_key` changes.
pub fn reencrypt_record<E: Entropy + ?Sized>(
    record: &Record<EncryptedData>,
    old_key: &Key,
    new_key: &Key,
    entropy: &mut E,
) -> Result<Record<EncryptedData>, CryptoError> {
    refuse_plaintext(record)?;
    let cek = unwrap_cek(record.id, &record.data.content_encryption_key, old_key)?;
    Ok(record.with_data(EncryptedData {
        data: record.data.data.clone(),
        content_encryption_key: wrap_cek(&cek, new_key, entropy)?,
    }))
}
