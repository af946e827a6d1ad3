//! The vault's key derivation for the tests, run here (the package runs it in its second
//! module, web/extras, with the same Argon2id).

use argon2::{Algorithm, Argon2, Params, Version};
use terrapin_web::vault::{Kdf, KdfParams, VaultError};
use zeroize::Zeroizing;

pub struct Argon2id;

impl Kdf for Argon2id {
    async fn derive(
        &self,
        passphrase: &str,
        salt: &[u8],
        p: KdfParams,
    ) -> Result<Zeroizing<[u8; 32]>, VaultError> {
        let kdf = |e: argon2::Error| VaultError::Kdf(e.to_string());
        let params = Params::new(p.m, p.t, p.p, Some(32)).map_err(kdf)?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
            .map_err(kdf)?;
        Ok(key)
    }
}
