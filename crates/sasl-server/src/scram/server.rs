//! Server side of SCRAM.
//!
//! Unknown users (and records that cannot serve this mechanism) get a complete fake exchange:
//! a deterministic per-process salt, the usual iteration count, and a proof check that always
//! fails, so the answer is the same `not-authorized` as for a wrong password and the salt
//! does not change between attempts. Nothing in the messages reveals whether the user exists.

use crate::hash::ct_eq;
use crate::prep::saslprep;
use crate::scram::attributes::{decode_saslname, expect, split, valid_nonce};
use crate::scram::gs2::{CbFlag, Gs2Header};
use crate::scram::{auth_message, b64decode, b64encode, xor};
use crate::{random, ChannelBindings, Credentials, Failure, ScramHash, Step};

/// Length of fake and password-derived salts.
const FAKE_SALT_LEN: usize = 16;

/// What the client-first-message established.
struct ClientFirst {
    username: String,
    authzid: Option<String>,
    client_first_bare: String,
    client_nonce: String,
    /// gs2-header || channel-binding data: what `c=` must decode to.
    cbind_input: Vec<u8>,
}

/// The keys the proof is checked against; `genuine` is false for the fake exchange.
struct Verifier {
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
    genuine: bool,
}

enum State {
    Initial,
    AwaitCredentials(ClientFirst),
    AwaitFinal {
        first: ClientFirst,
        server_first: String,
        nonce: String,
        verifier: Verifier,
    },
    Done,
}

pub(crate) struct ScramServer {
    hash: ScramHash,
    plus: bool,
    bindings: ChannelBindings,
    pub(crate) fake_iterations: u32,
    pub(crate) fixed_nonce: Option<String>,
    state: State,
}

impl ScramServer {
    pub(crate) fn new(hash: ScramHash, plus: bool, bindings: ChannelBindings) -> Self {
        ScramServer {
            hash,
            plus,
            bindings,
            fake_iterations: crate::credentials::MIN_ITERATIONS,
            fixed_nonce: None,
            state: State::Initial,
        }
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Step {
        match (std::mem::replace(&mut self.state, State::Done), input) {
            // No initial response: ask for the client-first-message with an empty challenge.
            (State::Initial, None) => {
                self.state = State::Initial;
                Step::Challenge(Vec::new())
            }
            (State::Initial, Some(data)) => match self.client_first(data) {
                Ok(first) => {
                    let username = first.username.clone();
                    self.state = State::AwaitCredentials(first);
                    Step::NeedCredentials { username }
                }
                Err(f) => Step::Failure(f),
            },
            (
                State::AwaitFinal {
                    first,
                    server_first,
                    nonce,
                    verifier,
                },
                Some(data),
            ) => match client_final(data, &first, &server_first, &nonce, &verifier, self.hash) {
                Ok(server_final) => Step::Success {
                    username: first.username,
                    authzid: first.authzid,
                    additional_data: Some(server_final.into_bytes()),
                },
                Err(f) => Step::Failure(f),
            },
            _ => Step::Failure(Failure::MalformedRequest),
        }
    }

    pub(crate) fn provide(&mut self, creds: Option<Credentials>) -> Step {
        let State::AwaitCredentials(first) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::Failure(Failure::TemporaryAuthFailure);
        };
        match self.server_first(&first, creds) {
            Ok((server_first, nonce, verifier)) => {
                let challenge = server_first.clone().into_bytes();
                self.state = State::AwaitFinal {
                    first,
                    server_first,
                    nonce,
                    verifier,
                };
                Step::Challenge(challenge)
            }
            Err(f) => Step::Failure(f),
        }
    }

    fn client_first(&self, data: &[u8]) -> Result<ClientFirst, Failure> {
        let msg = std::str::from_utf8(data).map_err(|_| Failure::IncorrectEncoding)?;
        let (header, raw_header, bare) = Gs2Header::parse(msg)?;
        let cb_data = self.check_binding(&header.flag)?;

        let mut items = split(bare)?.into_iter();
        // The first attribute must be the username; in particular "m=" (reserved for
        // mandatory extensions, none of which exist) must fail.
        let username = expect(&mut items, b'n')?;
        let username = saslprep(&decode_saslname(username)?)?;
        let client_nonce = expect(&mut items, b'r')?;
        if !valid_nonce(client_nonce) {
            return Err(Failure::MalformedRequest);
        }
        // Optional extensions follow; unknown ones are ignored as RFC 5802 requires.

        let mut cbind_input = raw_header.as_bytes().to_vec();
        cbind_input.extend_from_slice(cb_data);
        Ok(ClientFirst {
            username,
            authzid: header.authzid,
            client_first_bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
            cbind_input,
        })
    }

    /// Validates the channel-binding flag against the mechanism and what we advertised, and
    /// returns the binding data `c=` must contain.
    fn check_binding(&self, flag: &CbFlag) -> Result<&[u8], Failure> {
        match (flag, self.plus) {
            (CbFlag::No, false) => Ok(&[]),
            // The client could bind but thinks we cannot: if we did advertise -PLUS, someone
            // removed it from the list on the way (downgrade attack).
            (CbFlag::ClientOnly, false) if self.bindings.is_empty() => Ok(&[]),
            (CbFlag::ClientOnly, false) => Err(Failure::NotAuthorized),
            // Binding requested with a non-PLUS mechanism, or -PLUS chosen without binding.
            (CbFlag::Bound(_), false) | (CbFlag::No | CbFlag::ClientOnly, true) => {
                Err(Failure::MalformedRequest)
            }
            (CbFlag::Bound(name), true) => self.bindings.get(name).ok_or(Failure::NotAuthorized),
        }
    }

    fn server_first(
        &self,
        first: &ClientFirst,
        creds: Option<Credentials>,
    ) -> Result<(String, String, Verifier), Failure> {
        let fake_salt = || random::derived("salt", self.hash, &first.username, FAKE_SALT_LEN);
        let (salt, iterations, verifier) = match creds {
            Some(Credentials::Scram(c))
                if c.hash == self.hash && c.iterations > 0 && !c.salt.is_empty() =>
            {
                let verifier = Verifier {
                    stored_key: c.stored_key,
                    server_key: c.server_key,
                    genuine: true,
                };
                (c.salt, c.iterations, verifier)
            }
            // A plaintext password (router configs): derive a record on the fly. The salt is
            // stable per process, like a stored one would be.
            Some(Credentials::Password(p)) if saslprep(&p).is_ok() => {
                let salt = fake_salt()?;
                let c =
                    crate::ScramCredentials::derive(self.hash, &p, &salt, self.fake_iterations)?;
                let verifier = Verifier {
                    stored_key: c.stored_key,
                    server_key: c.server_key,
                    genuine: true,
                };
                (salt, self.fake_iterations, verifier)
            }
            _ => {
                let len = self.hash.output_len();
                let verifier = Verifier {
                    stored_key: random::derived("stored", self.hash, &first.username, len)?,
                    server_key: random::derived("server", self.hash, &first.username, len)?,
                    genuine: false,
                };
                (fake_salt()?, self.fake_iterations, verifier)
            }
        };
        let server_nonce = match &self.fixed_nonce {
            Some(n) => n.clone(),
            None => random::nonce()?,
        };
        let nonce = format!("{}{}", first.client_nonce, server_nonce);
        let server_first = format!("r={nonce},s={},i={iterations}", b64encode(&salt));
        Ok((server_first, nonce, verifier))
    }
}

/// Checks the client-final-message and returns the server-final-message (`v=…`).
fn client_final(
    data: &[u8],
    first: &ClientFirst,
    server_first: &str,
    nonce: &str,
    verifier: &Verifier,
    hash: ScramHash,
) -> Result<String, Failure> {
    let msg = std::str::from_utf8(data).map_err(|_| Failure::IncorrectEncoding)?;
    // The proof is always the last attribute; everything before it is signed.
    let (without_proof, proof) = msg.rsplit_once(",p=").ok_or(Failure::MalformedRequest)?;
    if proof.contains(',') {
        return Err(Failure::MalformedRequest);
    }
    let mut items = split(without_proof)?.into_iter();
    let cbind = b64decode(expect(&mut items, b'c')?)?;
    let client_nonce = expect(&mut items, b'r')?;
    let proof = b64decode(proof)?;

    if !ct_eq(&cbind, &first.cbind_input) {
        return Err(Failure::NotAuthorized);
    }
    if client_nonce != nonce {
        return Err(Failure::NotAuthorized);
    }
    if proof.len() != hash.output_len() {
        return Err(Failure::NotAuthorized);
    }

    let auth = auth_message(&first.client_first_bare, server_first, without_proof);
    let client_signature = hash.hmac(&verifier.stored_key, auth.as_bytes())?;
    let client_key = xor(&proof, &client_signature);
    let matches = ct_eq(&hash.hash(&client_key), &verifier.stored_key);
    if !(matches && verifier.genuine) {
        return Err(Failure::NotAuthorized);
    }
    let server_signature = hash.hmac(&verifier.server_key, auth.as_bytes())?;
    Ok(format!("v={}", b64encode(&server_signature)))
}
