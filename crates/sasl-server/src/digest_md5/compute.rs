//! The DIGEST-MD5 response and `rspauth` values (RFC 2831 §2.1.2.1, §2.1.3).

use md5::{Digest, Md5};

/// Everything that goes into the digest, as both sides see it.
pub(crate) struct DigestInput<'a> {
    pub(crate) username: &'a str,
    pub(crate) realm: &'a str,
    pub(crate) password: &'a str,
    pub(crate) nonce: &'a str,
    pub(crate) cnonce: &'a str,
    pub(crate) nc: &'a str,
    pub(crate) digest_uri: &'a str,
    pub(crate) authzid: Option<&'a str>,
}

impl DigestInput<'_> {
    /// The client's `response` value (A2 = "AUTHENTICATE:" digest-uri).
    pub(crate) fn response(&self) -> String {
        self.compute("AUTHENTICATE:")
    }

    /// The server's `rspauth` value (A2 = ":" digest-uri), proving it knows the password too.
    pub(crate) fn rspauth(&self) -> String {
        self.compute(":")
    }

    fn compute(&self, a2_prefix: &str) -> String {
        let mut secret = Md5::new();
        secret.update(encode(self.username));
        secret.update(b":");
        secret.update(encode(self.realm));
        secret.update(b":");
        secret.update(encode(self.password));
        let mut a1 = secret.finalize().to_vec();
        a1.extend_from_slice(format!(":{}:{}", self.nonce, self.cnonce).as_bytes());
        if let Some(authzid) = self.authzid {
            a1.extend_from_slice(b":");
            a1.extend_from_slice(authzid.as_bytes());
        }
        let a2 = format!("{a2_prefix}{}", self.digest_uri);
        let kd = format!(
            "{}:{}:{}:{}:auth:{}",
            hex::encode(Md5::digest(&a1)),
            self.nonce,
            self.nc,
            self.cnonce,
            hex::encode(Md5::digest(a2.as_bytes()))
        );
        hex::encode(Md5::digest(kd.as_bytes()))
    }
}

/// RFC 2831: with `charset=utf-8`, a string whose characters all fit in ISO 8859-1 is hashed
/// in ISO 8859-1 (as Cyrus SASL and GNU SASL do); without it everything is ISO 8859-1 already.
/// So either way: ISO 8859-1 when possible, UTF-8 otherwise. Also used to put text on the
/// wire when the peer did not announce UTF-8 (see [`latin1`]).
pub(crate) fn encode(s: &str) -> Vec<u8> {
    latin1(s).unwrap_or_else(|| s.as_bytes().to_vec())
}

/// `s` in ISO 8859-1, if all its characters fit.
pub(crate) fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}
