//! Client side of SCRAM: used by Starling components logging in to the router and by the
//! load generator. The server's signature is always verified, so a client never accepts a
//! success from a server that does not know its credentials.

use crate::credentials::SaltedKeys;
use crate::hash::ct_eq;
use crate::prep::saslprep;
use crate::scram::attributes::{encode_saslname, expect, split, valid_nonce};
use crate::scram::gs2::{CbFlag, Gs2Header};
use crate::scram::{auth_message, b64decode, b64encode, xor};
use crate::{random, ChannelBindings, Failure, ScramHash};

/// Upper bound on a server-chosen iteration count, so a hostile or misconfigured server
/// cannot make the client spin for minutes. Well above any deployed value (600 000 is the
/// current PBKDF2-SHA-256 recommendation).
const MAX_ITERATIONS: u32 = 10_000_000;

enum State {
    Initial,
    SentFirst { client_first_bare: String },
    SentFinal { server_signature: Vec<u8> },
    Verified,
    Done,
}

pub(crate) struct ScramClient {
    hash: ScramHash,
    gs2_header: String,
    cb_data: Vec<u8>,
    username: String,
    password: String,
    pub(crate) nonce: String,
    state: State,
}

impl ScramClient {
    pub(crate) fn new(
        hash: ScramHash,
        plus: bool,
        username: &str,
        password: &str,
        authzid: Option<&str>,
        bindings: &ChannelBindings,
    ) -> Result<Self, Failure> {
        let (flag, cb_data) = if plus {
            let (name, data) = bindings.preferred().ok_or(Failure::InvalidMechanism)?;
            (CbFlag::Bound(name.to_owned()), data.to_vec())
        } else if bindings.is_empty() {
            (CbFlag::No, Vec::new())
        } else {
            // We could bind, but a non-PLUS mechanism was chosen, which means the server did
            // not offer -PLUS; "y" lets a server that did offer it detect the downgrade.
            (CbFlag::ClientOnly, Vec::new())
        };
        let header = Gs2Header {
            flag,
            authzid: authzid.filter(|a| !a.is_empty()).map(str::to_owned),
        };
        Ok(ScramClient {
            hash,
            gs2_header: header.encode(),
            cb_data,
            username: saslprep(username)?,
            password: saslprep(password)?,
            nonce: random::nonce()?,
            state: State::Initial,
        })
    }

    /// The client-first-message; repeated calls before the server answers return it again.
    pub(crate) fn initial_response(&mut self) -> Option<Vec<u8>> {
        match &self.state {
            State::Initial | State::SentFirst { .. } => {
                let bare = format!("n={},r={}", encode_saslname(&self.username), self.nonce);
                let message = format!("{}{}", self.gs2_header, bare);
                self.state = State::SentFirst {
                    client_first_bare: bare,
                };
                Some(message.into_bytes())
            }
            _ => None,
        }
    }

    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        match std::mem::replace(&mut self.state, State::Done) {
            // The server did not see an initial response and asks for it.
            State::Initial if challenge.is_empty() => {
                self.state = State::Initial;
                Ok(self.initial_response())
            }
            State::SentFirst { client_first_bare } => {
                let (reply, server_signature) = self.client_final(&client_first_bare, challenge)?;
                self.state = State::SentFinal { server_signature };
                Ok(Some(reply))
            }
            // Some servers send the server-final-message as a challenge and then an empty
            // success; answer with an empty response once it checks out.
            State::SentFinal { server_signature } => {
                verify_server_final(challenge, &server_signature)?;
                self.state = State::Verified;
                Ok(Some(Vec::new()))
            }
            _ => Err(Failure::MalformedRequest),
        }
    }

    pub(crate) fn verify_success(&mut self, additional_data: Option<&[u8]>) -> Result<(), Failure> {
        match (
            std::mem::replace(&mut self.state, State::Done),
            additional_data,
        ) {
            (State::SentFinal { server_signature }, Some(data)) => {
                verify_server_final(data, &server_signature)
            }
            (State::Verified, None) => Ok(()),
            (State::Verified, Some([])) => Ok(()),
            // A success without a server signature proves nothing about the server.
            _ => Err(Failure::NotAuthorized),
        }
    }

    /// Answers the server-first-message; returns the client-final-message and the server
    /// signature to expect.
    fn client_final(
        &self,
        client_first_bare: &str,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), Failure> {
        let server_first =
            std::str::from_utf8(challenge).map_err(|_| Failure::IncorrectEncoding)?;
        let mut items = split(server_first)?.into_iter().peekable();
        if matches!(items.peek(), Some((b'e', _))) {
            return Err(Failure::NotAuthorized);
        }
        let nonce = expect(&mut items, b'r')?;
        let salt = b64decode(expect(&mut items, b's')?)?;
        let iterations: u32 = expect(&mut items, b'i')?
            .parse()
            .map_err(|_| Failure::MalformedRequest)?;
        let extends_ours = nonce.len() > self.nonce.len() && nonce.starts_with(&self.nonce);
        if !extends_ours || !valid_nonce(nonce) || salt.is_empty() {
            return Err(Failure::MalformedRequest);
        }
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(Failure::MalformedRequest);
        }

        let mut cbind_input = self.gs2_header.as_bytes().to_vec();
        cbind_input.extend_from_slice(&self.cb_data);
        let without_proof = format!("c={},r={nonce}", b64encode(&cbind_input));
        let auth = auth_message(client_first_bare, server_first, &without_proof);

        let keys = SaltedKeys::compute(self.hash, &self.password, &salt, iterations)?;
        let stored_key = self.hash.hash(&keys.client_key);
        let client_signature = self.hash.hmac(&stored_key, auth.as_bytes())?;
        let proof = xor(&keys.client_key, &client_signature);
        let server_signature = self.hash.hmac(&keys.server_key, auth.as_bytes())?;
        let reply = format!("{without_proof},p={}", b64encode(&proof));
        Ok((reply.into_bytes(), server_signature))
    }
}

/// Checks `v=` in a server-final-message; `e=` (or anything else) is a failure.
fn verify_server_final(data: &[u8], expected: &[u8]) -> Result<(), Failure> {
    let msg = std::str::from_utf8(data).map_err(|_| Failure::IncorrectEncoding)?;
    let mut items = split(msg)?.into_iter();
    let signature = b64decode(expect(&mut items, b'v').map_err(|_| Failure::NotAuthorized)?)?;
    if ct_eq(&signature, expected) {
        Ok(())
    } else {
        Err(Failure::NotAuthorized)
    }
}
