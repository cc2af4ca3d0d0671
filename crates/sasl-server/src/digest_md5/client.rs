//! Client side of DIGEST-MD5, for Starling components logging in to a jabberd2 router (or to
//! ours with jabberd2 compatibility on). The server's `rspauth` is always checked.

use crate::digest_md5::compute::{latin1, DigestInput};
use crate::digest_md5::directives::{
    parse, push_quoted, push_token, required, single, text, Directive,
};
use crate::digest_md5::JABBERD_ROUTER;
use crate::hash::ct_eq;
use crate::{random, Failure};

enum State {
    Initial,
    SentResponse { rspauth: String },
    Verified,
    Done,
}

pub(crate) struct DigestClient {
    username: String,
    password: String,
    authzid: Option<String>,
    pub(crate) service: String,
    pub(crate) host: Option<String>,
    pub(crate) fixed_cnonce: Option<String>,
    state: State,
}

impl DigestClient {
    pub(crate) fn new(
        username: &str,
        password: &str,
        authzid: Option<&str>,
    ) -> Result<Self, Failure> {
        if username.is_empty() || password.is_empty() {
            return Err(Failure::MalformedRequest);
        }
        Ok(DigestClient {
            username: username.to_owned(),
            password: password.to_owned(),
            authzid: authzid.filter(|a| !a.is_empty()).map(str::to_owned),
            service: JABBERD_ROUTER.to_owned(),
            host: None,
            fixed_cnonce: None,
            state: State::Initial,
        })
    }

    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Initial => {
                let (response, rspauth) = self.respond(challenge)?;
                self.state = State::SentResponse { rspauth };
                Ok(Some(response))
            }
            State::SentResponse { rspauth } => {
                check_rspauth(challenge, &rspauth)?;
                self.state = State::Verified;
                Ok(Some(Vec::new()))
            }
            _ => Err(Failure::MalformedRequest),
        }
    }

    /// RFC 6120 also allows `rspauth` as additional data with success instead of a challenge.
    pub(crate) fn verify_success(&mut self, additional_data: Option<&[u8]>) -> Result<(), Failure> {
        match (
            std::mem::replace(&mut self.state, State::Done),
            additional_data,
        ) {
            (State::Verified, None) => Ok(()),
            (State::Verified, Some([])) => Ok(()),
            (State::SentResponse { rspauth }, Some(data)) => check_rspauth(data, &rspauth),
            _ => Err(Failure::NotAuthorized),
        }
    }

    /// Builds the digest-response to the server's challenge; also returns the expected rspauth.
    fn respond(&self, challenge: &[u8]) -> Result<(Vec<u8>, String), Failure> {
        let d: Vec<Directive> = parse(challenge)?;
        let utf8 = match single(&d, "charset")? {
            None => false,
            Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
            Some(_) => return Err(Failure::MalformedRequest),
        };
        let algorithm = required(&d, "algorithm")?;
        if !algorithm.eq_ignore_ascii_case(b"md5-sess") {
            return Err(Failure::MalformedRequest);
        }
        let qop_offers_auth = match single(&d, "qop")? {
            None => true,
            Some(q) => q
                .split(|&b| b == b',')
                .any(|o| o.trim_ascii().eq_ignore_ascii_case(b"auth")),
        };
        if !qop_offers_auth {
            return Err(Failure::MalformedRequest);
        }
        let nonce = text(required(&d, "nonce")?, utf8)?;
        // The server may offer several realms; we take the first, as GNU SASL does.
        let realm = d
            .iter()
            .find(|(name, _)| name == "realm")
            .map(|(_, v)| text(v, utf8))
            .transpose()?;
        if nonce.is_empty() {
            return Err(Failure::MalformedRequest);
        }

        let cnonce = match &self.fixed_cnonce {
            Some(c) => c.clone(),
            None => random::nonce()?,
        };
        let host = self
            .host
            .clone()
            .or_else(|| realm.clone())
            .unwrap_or_else(|| "localhost".to_owned());
        let digest_uri = format!("{}/{host}", self.service);
        let input = DigestInput {
            username: &self.username,
            realm: realm.as_deref().unwrap_or(""),
            password: &self.password,
            nonce: &nonce,
            cnonce: &cnonce,
            nc: "00000001",
            digest_uri: &digest_uri,
            authzid: self.authzid.as_deref(),
        };
        let wire = |s: &str| -> Result<Vec<u8>, Failure> {
            if utf8 {
                Ok(s.as_bytes().to_vec())
            } else {
                latin1(s).ok_or(Failure::MalformedRequest)
            }
        };

        let mut out = Vec::new();
        if utf8 {
            push_token(&mut out, "charset", "utf-8");
        }
        push_quoted(&mut out, "username", &wire(&self.username)?);
        if let Some(realm) = &realm {
            push_quoted(&mut out, "realm", &wire(realm)?);
        }
        push_quoted(&mut out, "nonce", nonce.as_bytes());
        push_token(&mut out, "nc", "00000001");
        push_quoted(&mut out, "cnonce", cnonce.as_bytes());
        push_quoted(&mut out, "digest-uri", digest_uri.as_bytes());
        push_token(&mut out, "response", &input.response());
        push_token(&mut out, "qop", "auth");
        if let Some(authzid) = &self.authzid {
            push_quoted(&mut out, "authzid", authzid.as_bytes());
        }
        Ok((out, input.rspauth()))
    }
}

/// Checks `rspauth=…` from the server.
fn check_rspauth(data: &[u8], expected: &str) -> Result<(), Failure> {
    let d = parse(data).map_err(|_| Failure::NotAuthorized)?;
    let given = required(&d, "rspauth").map_err(|_| Failure::NotAuthorized)?;
    if ct_eq(&given.to_ascii_lowercase(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Failure::NotAuthorized)
    }
}
