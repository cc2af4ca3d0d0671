//! Mechanism names, channel-binding data, and mechanism negotiation.

use crate::ScramHash;

/// A SASL mechanism this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// SCRAM-SHA-1 (RFC 5802).
    ScramSha1,
    /// SCRAM-SHA-1-PLUS (RFC 5802, with channel binding).
    ScramSha1Plus,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-256-PLUS (RFC 7677, with channel binding).
    ScramSha256Plus,
    /// SCRAM-SHA-512.
    ScramSha512,
    /// SCRAM-SHA-512-PLUS.
    ScramSha512Plus,
    /// DIGEST-MD5 (RFC 2831, historic): only for jabberd2 compatibility.
    DigestMd5,
}

/// Client preference order, strongest first; also the order servers should advertise in.
const PREFERENCE: [Mechanism; 8] = [
    Mechanism::ScramSha512Plus,
    Mechanism::ScramSha256Plus,
    Mechanism::ScramSha1Plus,
    Mechanism::ScramSha512,
    Mechanism::ScramSha256,
    Mechanism::ScramSha1,
    Mechanism::Plain,
    Mechanism::DigestMd5,
];

impl Mechanism {
    /// Every mechanism, strongest first.
    pub const ALL: [Mechanism; 8] = PREFERENCE;

    /// The registered SASL name, e.g. `"SCRAM-SHA-256-PLUS"`.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::ScramSha512Plus => "SCRAM-SHA-512-PLUS",
            Mechanism::DigestMd5 => "DIGEST-MD5",
        }
    }

    /// Parses a mechanism name. SASL names are registered in upper case and compared exactly.
    pub fn from_name(name: &str) -> Option<Self> {
        PREFERENCE.into_iter().find(|m| m.name() == name)
    }

    /// The SCRAM hash, or `None` for PLAIN and DIGEST-MD5.
    pub fn scram_hash(&self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Some(ScramHash::Sha1),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Some(ScramHash::Sha256),
            Mechanism::ScramSha512 | Mechanism::ScramSha512Plus => Some(ScramHash::Sha512),
            Mechanism::Plain | Mechanism::DigestMd5 => None,
        }
    }

    /// Whether this is a channel-binding (`-PLUS`) variant.
    pub fn is_plus(&self) -> bool {
        matches!(
            self,
            Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus | Mechanism::ScramSha512Plus
        )
    }

    /// The mechanisms a server should advertise, strongest first: `-PLUS` variants exactly
    /// when channel-binding data exists (this must agree with the bindings given to
    /// [`crate::ServerSession::new`], which uses them to detect downgrades).
    pub fn offerable(
        bindings: &ChannelBindings,
        allow_plain: bool,
        allow_digest: bool,
    ) -> Vec<Mechanism> {
        PREFERENCE
            .into_iter()
            .filter(|m| acceptable(*m, bindings, allow_plain, allow_digest))
            .collect()
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Channel-binding data the server can offer (RFC 5929 tls-server-end-point, RFC 9266
/// tls-exporter), taken from the TLS layer by the caller. On the server side, its presence
/// means "we advertise -PLUS"; on the client side, "we can bind".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// RFC 9266 `tls-exporter` (TLS 1.3 only): the 32-byte exporter output for the
    /// label "EXPORTER-Channel-Binding" with an empty context.
    pub tls_exporter: Option<Vec<u8>>,
    /// RFC 5929 `tls-server-end-point`: the hash of the server's certificate.
    pub tls_server_end_point: Option<Vec<u8>>,
}

impl ChannelBindings {
    /// No channel binding (plain TCP, or binding disabled).
    pub fn none() -> Self {
        Self::default()
    }

    /// True when no binding type is available.
    pub fn is_empty(&self) -> bool {
        self.tls_exporter.is_none() && self.tls_server_end_point.is_none()
    }

    /// The data for a channel-binding type name (`cb-name`), if available.
    pub fn get(&self, cb_name: &str) -> Option<&[u8]> {
        match cb_name {
            "tls-exporter" => self.tls_exporter.as_deref(),
            "tls-server-end-point" => self.tls_server_end_point.as_deref(),
            _ => None,
        }
    }

    /// The available type names, preferred first (for XEP-0440 `<sasl-channel-binding/>`).
    pub fn types(&self) -> Vec<&'static str> {
        ["tls-exporter", "tls-server-end-point"]
            .into_iter()
            .filter(|t| self.get(t).is_some())
            .collect()
    }

    /// The type a client uses: tls-exporter when available (it binds to the connection, not
    /// just the certificate), else tls-server-end-point.
    pub(crate) fn preferred(&self) -> Option<(&'static str, &[u8])> {
        self.types()
            .into_iter()
            .next()
            .and_then(|t| self.get(t).map(|data| (t, data)))
    }
}

fn acceptable(
    m: Mechanism,
    bindings: &ChannelBindings,
    allow_plain: bool,
    allow_digest: bool,
) -> bool {
    match m {
        Mechanism::Plain => allow_plain,
        Mechanism::DigestMd5 => allow_digest,
        m if m.is_plus() => !bindings.is_empty(),
        _ => true,
    }
}

/// Chooses the best mechanism the server offers that we support, given whether channel-binding
/// data exists. Preference: SCRAM-SHA-512-PLUS, -256-PLUS, -1-PLUS, SCRAM-SHA-512, -256, -1,
/// PLAIN (only if `allow_plain`), DIGEST-MD5 (only if `allow_digest`).
pub fn choose_mechanism(
    offered: &[&str],
    bindings: &ChannelBindings,
    allow_plain: bool,
    allow_digest: bool,
) -> Option<Mechanism> {
    PREFERENCE.into_iter().find(|m| {
        acceptable(*m, bindings, allow_plain, allow_digest)
            && offered.iter().any(|o| o.trim() == m.name())
    })
}
