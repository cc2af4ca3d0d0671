//! The server side: one [`ServerSession`] per authentication attempt, driven by the stream
//! layer with the client's data and the credentials it looks up.

use crate::digest_md5::server::DigestServer;
use crate::plain::PlainServer;
use crate::scram::server::ScramServer;
use crate::{ChannelBindings, Credentials, DigestMd5Params, Failure, Mechanism};

/// What the server must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this (base64-encoded) in `<challenge/>`, then feed the `<response/>` to
    /// [`ServerSession::step`].
    Challenge(Vec<u8>),
    /// Look up the credentials of this (SASLprepped) authcid and pass them to
    /// [`ServerSession::provide`].
    NeedCredentials {
        /// The SASLprepped authentication identity.
        username: String,
    },
    /// Authenticated. Send `<success/>` with `additional_data` (base64) if present.
    Success {
        /// The SASLprepped authentication identity.
        username: String,
        /// The requested authorization identity, if any: the caller decides whether
        /// `username` may act as it (else `invalid-authzid`).
        authzid: Option<String>,
        /// SCRAM's server-final-message (`v=…`).
        additional_data: Option<Vec<u8>>,
    },
    /// Send `<failure/>` with this condition; the session is over.
    Failure(Failure),
}

enum Inner {
    Plain(PlainServer),
    Scram(ScramServer),
    DigestMd5(DigestServer),
}

/// The server side of one SASL exchange. Sans-IO: it never blocks, and the credential lookup
/// (which may be asynchronous) happens between [`Step::NeedCredentials`] and
/// [`ServerSession::provide`]. After a [`Step::Success`] or [`Step::Failure`] the session is
/// finished; further calls fail with `malformed-request`.
pub struct ServerSession {
    mechanism: Mechanism,
    inner: Inner,
}

impl ServerSession {
    /// Starts an exchange for `mech`.
    ///
    /// `bindings` are the channel-binding data of this connection. Pass them exactly when the
    /// `-PLUS` mechanisms were advertised (see [`Mechanism::offerable`]): a SCRAM client
    /// saying "y" (I could bind, but you do not offer it) is then rejected as a downgrade.
    ///
    /// `digest` is used by DIGEST-MD5 only: the realm it offers and the service part its
    /// `digest-uri` must have (jabberd2 uses `jabberd-router` for both, any host part is
    /// accepted unless [`ServerSession::with_digest_host`] sets one).
    pub fn new(mech: Mechanism, bindings: ChannelBindings, digest: DigestMd5Params) -> Self {
        let inner = match mech.scram_hash() {
            Some(hash) => Inner::Scram(ScramServer::new(hash, mech.is_plus(), bindings)),
            None if mech == Mechanism::DigestMd5 => Inner::DigestMd5(DigestServer::new(digest)),
            None => Inner::Plain(PlainServer::new()),
        };
        ServerSession {
            mechanism: mech,
            inner,
        }
    }

    /// Requires the host part of DIGEST-MD5's `digest-uri` to be `host` (case-insensitive).
    pub fn with_digest_host(mut self, host: &str) -> Self {
        if let Inner::DigestMd5(d) = &mut self.inner {
            d.host = Some(host.to_owned());
        }
        self
    }

    /// The iteration count SCRAM announces for unknown users and for plaintext-password
    /// credentials (default [`crate::MIN_ITERATIONS`]). Set it to what stored records use, so
    /// that fake exchanges look like real ones.
    pub fn with_fake_iterations(mut self, iterations: u32) -> Self {
        if let Inner::Scram(s) = &mut self.inner {
            s.fake_iterations = iterations.max(1);
        }
        self
    }

    /// The mechanism of this session.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Feeds the client's data (already base64-decoded): `None` when `<auth/>` carried no
    /// initial response, `Some(vec![])` for `=` (an empty one).
    pub fn step(&mut self, input: Option<&[u8]>) -> Step {
        match &mut self.inner {
            Inner::Plain(p) => p.step(input),
            Inner::Scram(s) => s.step(input),
            Inner::DigestMd5(d) => d.step(input),
        }
    }

    /// Answers a [`Step::NeedCredentials`]. `None` if the user does not exist: the exchange
    /// still runs to its end (with a fake SCRAM salt) and fails with `not-authorized`, so user
    /// existence does not leak. Calling this at any other time is a caller bug and ends the
    /// session with `temporary-auth-failure`.
    pub fn provide(&mut self, creds: Option<Credentials>) -> Step {
        match &mut self.inner {
            Inner::Plain(p) => p.provide(creds),
            Inner::Scram(s) => s.provide(creds),
            Inner::DigestMd5(d) => d.provide(creds),
        }
    }

    /// Test hook: fixes the server nonce (SCRAM s-nonce, DIGEST-MD5 nonce) for known-answer tests.
    #[cfg(test)]
    pub(crate) fn fix_nonce(&mut self, nonce: &str) {
        match &mut self.inner {
            Inner::Scram(s) => s.fixed_nonce = Some(nonce.to_owned()),
            Inner::DigestMd5(d) => d.fixed_nonce = Some(nonce.to_owned()),
            Inner::Plain(_) => {}
        }
    }
}
