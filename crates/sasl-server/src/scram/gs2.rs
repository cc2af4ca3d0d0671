//! The GS2 header that starts a SCRAM exchange (RFC 5802 §7): the channel-binding flag and the
//! optional authzid. Its raw bytes are echoed back (base64) in the client's `c=` attribute,
//! which is what makes a downgrade or a binding mismatch detectable.

use crate::scram::attributes::{decode_saslname, encode_saslname};
use crate::Failure;

/// The channel-binding flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CbFlag {
    /// `n`: the client does not support channel binding.
    No,
    /// `y`: the client supports it but believes the server does not.
    ClientOnly,
    /// `p=<cb-name>`: the client binds with this type.
    Bound(String),
}

/// A parsed GS2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gs2Header {
    pub(crate) flag: CbFlag,
    pub(crate) authzid: Option<String>,
}

impl Gs2Header {
    /// Parses the header at the start of a client-first-message. Returns the header, its raw
    /// text (including the trailing comma) and the client-first-message-bare after it.
    pub(crate) fn parse(msg: &str) -> Result<(Gs2Header, &str, &str), Failure> {
        let (flag, rest) = msg.split_once(',').ok_or(Failure::MalformedRequest)?;
        let (authz, bare) = rest.split_once(',').ok_or(Failure::MalformedRequest)?;
        let flag = match flag {
            "n" => CbFlag::No,
            "y" => CbFlag::ClientOnly,
            _ => {
                let name = flag.strip_prefix("p=").ok_or(Failure::MalformedRequest)?;
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
                if !valid {
                    return Err(Failure::MalformedRequest);
                }
                CbFlag::Bound(name.to_owned())
            }
        };
        let authzid = match authz {
            "" => None,
            _ => {
                let value = authz.strip_prefix("a=").ok_or(Failure::MalformedRequest)?;
                Some(decode_saslname(value)?)
            }
        };
        let raw_len = msg.len() - bare.len();
        Ok((Gs2Header { flag, authzid }, &msg[..raw_len], bare))
    }

    /// The header as the client sends it, e.g. `p=tls-exporter,a=admin,`.
    pub(crate) fn encode(&self) -> String {
        let flag = match &self.flag {
            CbFlag::No => "n".to_owned(),
            CbFlag::ClientOnly => "y".to_owned(),
            CbFlag::Bound(name) => format!("p={name}"),
        };
        match &self.authzid {
            Some(a) => format!("{flag},a={},", encode_saslname(a)),
            None => format!("{flag},,"),
        }
    }
}
