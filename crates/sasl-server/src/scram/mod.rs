//! SCRAM (RFC 5802, RFC 7677), with and without channel binding.
//!
//! The message grammar lives in [`attributes`] and [`gs2`]; [`server`] and [`client`] are the
//! two state machines. Both sides compute the same AuthMessage:
//! `client-first-message-bare "," server-first-message "," client-final-message-without-proof`.

pub(crate) mod attributes;
pub(crate) mod client;
pub(crate) mod gs2;
pub(crate) mod server;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::Failure;

/// Base64 as SCRAM uses it (RFC 4648 with padding); bad input is `incorrect-encoding`.
pub(crate) fn b64decode(s: &str) -> Result<Vec<u8>, Failure> {
    STANDARD.decode(s).map_err(|_| Failure::IncorrectEncoding)
}

pub(crate) fn b64encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// The AuthMessage both sides sign.
pub(crate) fn auth_message(
    client_first_bare: &str,
    server_first: &str,
    client_final_without_proof: &str,
) -> String {
    format!("{client_first_bare},{server_first},{client_final_without_proof}")
}

/// XOR of two equal-length byte strings (ClientProof = ClientKey XOR ClientSignature).
pub(crate) fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}
