//! What the server stores per user, and what it hands to a session to check a login.
//!
//! SCRAM lets the server keep only StoredKey/ServerKey (never the password); PLAIN can be
//! checked against the same record by re-deriving it. Plaintext passwords remain possible for
//! DIGEST-MD5, which cannot work otherwise, and for router configuration files.

use std::fmt;

use crate::prep::saslprep;
use crate::{random, Failure, ScramHash};

/// The lowest iteration count [`ScramCredentials::generate`] will use (RFC 7677 §4 minimum).
pub const MIN_ITERATIONS: u32 = 4096;

/// Length of generated salts in bytes.
const SALT_LEN: usize = 16;

/// A SCRAM verifier record (RFC 5802 §3): enough to authenticate a user without the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    /// The hash this record belongs to; a record only serves the mechanisms of that hash
    /// (and PLAIN).
    pub hash: ScramHash,
    /// The salt given to the client in `s=`.
    pub salt: Vec<u8>,
    /// The iteration count given to the client in `i=`.
    pub iterations: u32,
    /// StoredKey = H(ClientKey).
    pub stored_key: Vec<u8>,
    /// ServerKey = HMAC(SaltedPassword, "Server Key").
    pub server_key: Vec<u8>,
}

impl ScramCredentials {
    /// Derives the record for `password` (SASLprepped first) with a given salt and iteration
    /// count, e.g. to check a PLAIN login against a stored record or to import one.
    ///
    /// Fails with `malformed-request` if the password does not survive SASLprep or is empty,
    /// the salt is empty, or `iterations` is zero.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, Failure> {
        let password = saslprep(password)?;
        if salt.is_empty() {
            return Err(Failure::MalformedRequest);
        }
        let keys = SaltedKeys::compute(hash, &password, salt, iterations)?;
        Ok(ScramCredentials {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.hash(&keys.client_key),
            server_key: keys.server_key,
        })
    }

    /// Creates a new record with a random 16-byte salt, for registration and password changes.
    /// `iterations` below [`MIN_ITERATIONS`] are raised to it, so a bad configuration cannot
    /// produce weak records.
    pub fn generate(hash: ScramHash, password: &str, iterations: u32) -> Result<Self, Failure> {
        let salt = random::bytes(SALT_LEN)?;
        Self::derive(hash, password, &salt, iterations.max(MIN_ITERATIONS))
    }
}

/// Secrets must not end up in logs through `{:?}`.
impl fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("salt", &hex::encode(&self.salt))
            .field("iterations", &self.iterations)
            .field("stored_key", &"<redacted>")
            .field("server_key", &"<redacted>")
            .finish()
    }
}

/// What the server side needs to check a login, looked up by the caller (asynchronously, from
/// storage) after [`crate::Step::NeedCredentials`].
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A SCRAM record: serves SCRAM of the same hash, and PLAIN.
    Scram(ScramCredentials),
    /// A plaintext password: serves every mechanism (DIGEST-MD5 needs it; router configs have it).
    Password(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Scram(c) => f.debug_tuple("Scram").field(c).finish(),
            Credentials::Password(_) => f.write_str("Password(<redacted>)"),
        }
    }
}

/// ClientKey and ServerKey of a (prepared) password, the shared core of both SCRAM sides.
pub(crate) struct SaltedKeys {
    pub(crate) client_key: Vec<u8>,
    pub(crate) server_key: Vec<u8>,
}

impl SaltedKeys {
    /// `prepared` must already be SASLprepped.
    pub(crate) fn compute(
        hash: ScramHash,
        prepared: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, Failure> {
        let salted = hash.hi(prepared.as_bytes(), salt, iterations)?;
        Ok(SaltedKeys {
            client_key: hash.hmac(&salted, b"Client Key")?,
            server_key: hash.hmac(&salted, b"Server Key")?,
        })
    }
}
