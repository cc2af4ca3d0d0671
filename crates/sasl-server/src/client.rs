//! The client side: one [`ClientSession`] per authentication attempt, used by Starling
//! components logging in to the router and by the load generator.

use crate::digest_md5::client::DigestClient;
use crate::plain::PlainClient;
use crate::scram::client::ScramClient;
use crate::{ChannelBindings, Failure, Mechanism};

enum Inner {
    Plain(PlainClient),
    Scram(ScramClient),
    DigestMd5(DigestClient),
}

/// The client side of one SASL exchange. Errors reuse the RFC 6120 conditions: a server that
/// fails mutual authentication (wrong SCRAM signature or DIGEST-MD5 `rspauth`) gives
/// `not-authorized`, syntax errors give `malformed-request`.
pub struct ClientSession {
    mechanism: Mechanism,
    inner: Inner,
}

impl ClientSession {
    /// Prepares an exchange. SCRAM SASLpreps username and password; `-PLUS` needs binding data
    /// (tls-exporter is preferred over tls-server-end-point) else `invalid-mechanism`. For a
    /// non-PLUS SCRAM, non-empty `bindings` make the client send the "y" flag, which is right
    /// when the server did not offer -PLUS (use [`crate::choose_mechanism`]).
    ///
    /// DIGEST-MD5 uses the `digest-uri` `jabberd-router/<realm from the challenge>` unless
    /// [`ClientSession::with_digest_uri`] sets service and host.
    pub fn new(
        mech: Mechanism,
        username: &str,
        password: &str,
        authzid: Option<&str>,
        bindings: ChannelBindings,
    ) -> Result<Self, Failure> {
        let inner = match mech.scram_hash() {
            Some(hash) => Inner::Scram(ScramClient::new(
                hash,
                mech.is_plus(),
                username,
                password,
                authzid,
                &bindings,
            )?),
            None if mech == Mechanism::DigestMd5 => {
                Inner::DigestMd5(DigestClient::new(username, password, authzid)?)
            }
            None => Inner::Plain(PlainClient::new(username, password, authzid)?),
        };
        Ok(ClientSession {
            mechanism: mech,
            inner,
        })
    }

    /// Sets DIGEST-MD5's `digest-uri` to `service/host`; e.g. `("jabberd-router", router_host)`
    /// for a jabberd2 router, `("xmpp", domain)` for a client-to-server login. No effect on
    /// other mechanisms.
    pub fn with_digest_uri(mut self, service: &str, host: &str) -> Self {
        if let Inner::DigestMd5(d) = &mut self.inner {
            d.service = service.to_owned();
            d.host = Some(host.to_owned());
        }
        self
    }

    /// The mechanism of this session.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// The initial response to put in `<auth/>`: PLAIN and SCRAM send one, DIGEST-MD5 none.
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        match &mut self.inner {
            Inner::Plain(p) => p.initial_response(),
            Inner::Scram(s) => s.initial_response(),
            Inner::DigestMd5(_) => None,
        }
    }

    /// The response to a (base64-decoded) `<challenge/>`, to send in `<response/>`.
    pub fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        match &mut self.inner {
            Inner::Plain(p) => p.step(challenge),
            Inner::Scram(s) => s.step(challenge),
            Inner::DigestMd5(d) => d.step(challenge),
        }
    }

    /// Checks `<success/>`'s additional data: SCRAM verifies the server signature (`v=`), and
    /// DIGEST-MD5 that `rspauth` was verified. Only trust the login if this returns `Ok`.
    pub fn verify_success(&mut self, additional_data: Option<&[u8]>) -> Result<(), Failure> {
        match &mut self.inner {
            Inner::Plain(_) => Ok(()),
            Inner::Scram(s) => s.verify_success(additional_data),
            Inner::DigestMd5(d) => d.verify_success(additional_data),
        }
    }

    /// Test hook: fixes the client nonce (SCRAM c-nonce, DIGEST-MD5 cnonce) for known-answer tests.
    #[cfg(test)]
    pub(crate) fn fix_nonce(&mut self, nonce: &str) {
        match &mut self.inner {
            Inner::Scram(s) => s.nonce = nonce.to_owned(),
            Inner::DigestMd5(d) => d.fixed_cnonce = Some(nonce.to_owned()),
            Inner::Plain(_) => {}
        }
    }
}
