//! The hash functions SCRAM is defined over, and the three primitives it needs from each
//! (H, HMAC, Hi = PBKDF2-HMAC), dispatched at runtime so one code path serves all variants.

use hmac::{EagerHash, Hmac, KeyInit, Mac};
use sha2::Digest;

use crate::Failure;

/// The hash function of a SCRAM variant (RFC 5802, RFC 7677, and SCRAM-SHA-512 as deployed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
    /// SCRAM-SHA-512 (draft-melnikov-scram-sha-512).
    Sha512,
}

impl ScramHash {
    /// The (non-PLUS) SASL mechanism name, e.g. `"SCRAM-SHA-1"`.
    pub fn name(&self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// Output length of the hash in bytes (the length of StoredKey, ServerKey and proofs).
    pub fn output_len(&self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
            ScramHash::Sha512 => 64,
        }
    }

    /// H(data).
    pub(crate) fn hash(&self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// HMAC(key, data).
    ///
    /// HMAC accepts keys of any length, so the error is unreachable in practice; it is still
    /// propagated (as a temporary failure) rather than unwrapped, so no input can panic.
    pub(crate) fn hmac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Failure> {
        match self {
            ScramHash::Sha1 => hmac_with::<sha1::Sha1>(key, data),
            ScramHash::Sha256 => hmac_with::<sha2::Sha256>(key, data),
            ScramHash::Sha512 => hmac_with::<sha2::Sha512>(key, data),
        }
    }

    /// Hi(password, salt, iterations): PBKDF2 with HMAC as PRF and one output block.
    pub(crate) fn hi(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Vec<u8>, Failure> {
        if iterations == 0 {
            return Err(Failure::MalformedRequest);
        }
        let mut out = vec![0u8; self.output_len()];
        let ok = match self {
            ScramHash::Sha1 => {
                pbkdf2::pbkdf2::<Hmac<sha1::Sha1>>(password, salt, iterations, &mut out)
            }
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2::<Hmac<sha2::Sha256>>(password, salt, iterations, &mut out)
            }
            ScramHash::Sha512 => {
                pbkdf2::pbkdf2::<Hmac<sha2::Sha512>>(password, salt, iterations, &mut out)
            }
        };
        ok.map_err(|_| Failure::TemporaryAuthFailure)?;
        Ok(out)
    }
}

fn hmac_with<D: EagerHash>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, Failure>
where
    Hmac<D>: KeyInit + Mac,
{
    let mut mac =
        <Hmac<D> as KeyInit>::new_from_slice(key).map_err(|_| Failure::TemporaryAuthFailure)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// HMAC-SHA-256, used for process-local derivations (fake salts) that do not depend on the
/// negotiated mechanism.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, Failure> {
    hmac_with::<sha2::Sha256>(key, data)
}

/// Compares two secrets in constant time (for equal lengths; a length mismatch is simply
/// `false`, lengths are not secret here).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
