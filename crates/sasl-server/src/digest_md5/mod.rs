//! DIGEST-MD5 (RFC 2831, historic since RFC 6331), both sides, kept only because jabberd2's
//! router and components authenticate with it (through GNU SASL). Only `qop=auth` and
//! `algorithm=md5-sess` are supported: no integrity or confidentiality layers.

pub(crate) mod client;
pub(crate) mod compute;
pub(crate) mod directives;
pub(crate) mod server;

/// Parameters of the server side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMd5Params {
    /// The realm offered in the challenge and required in the response; jabberd2 uses
    /// `"jabberd-router"`.
    pub realm: String,
    /// The service part the client's `digest-uri` (`service/host`) must have; jabberd2 uses
    /// `"jabberd-router"`. The host part is accepted as anything unless
    /// [`crate::ServerSession::with_digest_host`] sets one.
    pub service: String,
}

impl DigestMd5Params {
    /// Parameters with the given realm and service.
    pub fn new(realm: &str, service: &str) -> Self {
        DigestMd5Params {
            realm: realm.to_owned(),
            service: service.to_owned(),
        }
    }
}

/// jabberd2's router values (`jabberd-router` for both), the only place DIGEST-MD5 is used.
impl Default for DigestMd5Params {
    fn default() -> Self {
        DigestMd5Params::new(JABBERD_ROUTER, JABBERD_ROUTER)
    }
}

/// The realm and service name jabberd2 uses between router and components.
pub const JABBERD_ROUTER: &str = "jabberd-router";
