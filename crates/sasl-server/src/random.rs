//! Randomness: nonces, salts, and the per-process key behind fake salts.
//!
//! All of it comes from the OS via `getrandom`; if that fails we report a temporary failure
//! instead of falling back to anything predictable.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

use crate::hash::hmac_sha256;
use crate::{Failure, ScramHash};

/// `n` random bytes from the OS.
pub(crate) fn bytes(n: usize) -> Result<Vec<u8>, Failure> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|_| Failure::TemporaryAuthFailure)?;
    Ok(buf)
}

/// A fresh nonce: 18 random bytes (144 bits) in unpadded base64, i.e. 24 printable ASCII
/// characters without `,`, `"` or `\`, so it is valid both as a SCRAM `c-nonce`/`s-nonce`
/// and inside a DIGEST-MD5 quoted string.
pub(crate) fn nonce() -> Result<String, Failure> {
    Ok(STANDARD_NO_PAD.encode(bytes(18)?))
}

/// The per-process secret keying fake salts. Generated once, lazily; never leaves the process,
/// so an outsider cannot tell a fake salt from a real random one.
fn process_key() -> Result<&'static [u8], Failure> {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    if let Some(key) = KEY.get() {
        return Ok(key);
    }
    let fresh = bytes(32)?;
    // A concurrent initialiser may have won the race; either value is fine, use the stored one.
    let _ = KEY.set(fresh);
    KEY.get()
        .map(Vec::as_slice)
        .ok_or(Failure::TemporaryAuthFailure)
}

/// A deterministic per-process pseudo-random value for `username`, used instead of real
/// credentials so that an unknown user gets the same salt on every attempt (a changing salt
/// would reveal that the account does not exist).
pub(crate) fn derived(
    label: &str,
    hash: ScramHash,
    username: &str,
    len: usize,
) -> Result<Vec<u8>, Failure> {
    let mut input = Vec::with_capacity(label.len() + username.len() + 16);
    input.extend_from_slice(label.as_bytes());
    input.push(0);
    input.extend_from_slice(hash.name().as_bytes());
    input.push(0);
    input.extend_from_slice(username.as_bytes());
    let mut out = Vec::with_capacity(len);
    let mut counter = 0u8;
    while out.len() < len {
        let mut block_input = input.clone();
        block_input.push(counter);
        out.extend_from_slice(&hmac_sha256(process_key()?, &block_input)?);
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    Ok(out)
}
