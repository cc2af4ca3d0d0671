//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, both sides.
//!
//! The server checks the password against whatever the store has: a SCRAM record (by
//! re-deriving it with the stored salt and iteration count) or a plaintext password. Only
//! offer PLAIN on encrypted streams; the password crosses the wire as-is.

use sha2::{Digest, Sha256};

use crate::hash::ct_eq;
use crate::prep::saslprep;
use crate::{Credentials, Failure, ScramCredentials, ScramHash, Step, MIN_ITERATIONS};

enum ServerState {
    Initial,
    AwaitCredentials {
        username: String,
        authzid: Option<String>,
        password: String,
    },
    Done,
}

pub(crate) struct PlainServer {
    state: ServerState,
}

impl PlainServer {
    pub(crate) fn new() -> Self {
        PlainServer {
            state: ServerState::Initial,
        }
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Step {
        match (std::mem::replace(&mut self.state, ServerState::Done), input) {
            (ServerState::Initial, None) => {
                self.state = ServerState::Initial;
                Step::Challenge(Vec::new())
            }
            (ServerState::Initial, Some(data)) => match parse(data) {
                Ok((authzid, username, password)) => {
                    let step = Step::NeedCredentials {
                        username: username.clone(),
                    };
                    self.state = ServerState::AwaitCredentials {
                        username,
                        authzid,
                        password,
                    };
                    step
                }
                Err(f) => Step::Failure(f),
            },
            _ => Step::Failure(Failure::MalformedRequest),
        }
    }

    pub(crate) fn provide(&mut self, creds: Option<Credentials>) -> Step {
        let ServerState::AwaitCredentials {
            username,
            authzid,
            password,
        } = std::mem::replace(&mut self.state, ServerState::Done)
        else {
            return Step::Failure(Failure::TemporaryAuthFailure);
        };
        let matches = match creds {
            Some(c) => password_matches(&password, &c),
            None => {
                // Spend about as long as checking a real SCRAM record, so response time does
                // not reveal whether the account exists.
                let _ = ScramCredentials::derive(
                    ScramHash::Sha256,
                    &password,
                    b"unknown-user-salt",
                    MIN_ITERATIONS,
                );
                false
            }
        };
        if matches {
            Step::Success {
                username,
                authzid,
                additional_data: None,
            }
        } else {
            Step::Failure(Failure::NotAuthorized)
        }
    }
}

/// Splits the message into (authzid, SASLprepped authcid, password).
fn parse(data: &[u8]) -> Result<(Option<String>, String, String), Failure> {
    let msg = std::str::from_utf8(data).map_err(|_| Failure::IncorrectEncoding)?;
    let mut parts = msg.split('\0');
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Failure::MalformedRequest);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(Failure::MalformedRequest);
    }
    let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
    Ok((authzid, saslprep(authcid)?, password.to_owned()))
}

fn password_matches(password: &str, creds: &Credentials) -> bool {
    match creds {
        Credentials::Scram(stored) => {
            ScramCredentials::derive(stored.hash, password, &stored.salt, stored.iterations)
                .is_ok_and(|derived| ct_eq(&derived.stored_key, &stored.stored_key))
        }
        Credentials::Password(stored) => {
            // Compare prepared forms; hashing first makes the comparison constant-time
            // regardless of the lengths involved.
            let prepared = |p: &str| saslprep(p).unwrap_or_else(|_| p.to_owned());
            let given = Sha256::digest(prepared(password).as_bytes());
            let expected = Sha256::digest(prepared(stored).as_bytes());
            saslprep(password).is_ok() && ct_eq(&given, &expected)
        }
    }
}

/// Client side of PLAIN.
pub(crate) struct PlainClient {
    message: Vec<u8>,
    sent: bool,
}

impl PlainClient {
    pub(crate) fn new(
        username: &str,
        password: &str,
        authzid: Option<&str>,
    ) -> Result<Self, Failure> {
        let authzid = authzid.unwrap_or("");
        if username.is_empty()
            || password.is_empty()
            || [username, password, authzid]
                .iter()
                .any(|s| s.contains('\0'))
        {
            return Err(Failure::MalformedRequest);
        }
        Ok(PlainClient {
            message: format!("{authzid}\0{username}\0{password}").into_bytes(),
            sent: false,
        })
    }

    pub(crate) fn initial_response(&mut self) -> Option<Vec<u8>> {
        self.sent = true;
        Some(self.message.clone())
    }

    /// Only an empty challenge (the server asking for the missing initial response) makes sense.
    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        if challenge.is_empty() && !self.sent {
            Ok(self.initial_response())
        } else {
            Err(Failure::MalformedRequest)
        }
    }
}
