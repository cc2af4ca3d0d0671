//! Server side of DIGEST-MD5, as jabberd2's router (GNU SASL) runs it: one challenge, the
//! client's response, `rspauth=…` as a second challenge, then success after the client's
//! empty response.

use crate::digest_md5::compute::DigestInput;
use crate::digest_md5::directives::{
    parse, push_quoted, push_token, required, single, text, Directive,
};
use crate::hash::ct_eq;
use crate::prep::saslprep;
use crate::{random, Credentials, DigestMd5Params, Failure, Step};

/// The client's digest-response, decoded.
struct Response {
    username: String,
    realm: String,
    cnonce: String,
    nc: String,
    digest_uri: String,
    response: String,
    authzid: Option<String>,
}

enum State {
    Initial,
    SentChallenge {
        nonce: String,
    },
    AwaitCredentials {
        nonce: String,
        response: Response,
        prepped: String,
    },
    SentRspauth {
        username: String,
        authzid: Option<String>,
    },
    Done,
}

pub(crate) struct DigestServer {
    params: DigestMd5Params,
    pub(crate) host: Option<String>,
    pub(crate) fixed_nonce: Option<String>,
    state: State,
}

impl DigestServer {
    pub(crate) fn new(params: DigestMd5Params) -> Self {
        DigestServer {
            params,
            host: None,
            fixed_nonce: None,
            state: State::Initial,
        }
    }

    pub(crate) fn step(&mut self, input: Option<&[u8]>) -> Step {
        let empty = input.is_none_or(<[u8]>::is_empty);
        match (std::mem::replace(&mut self.state, State::Done), input) {
            // DIGEST-MD5 has no initial response (we do not support subsequent authentication).
            (State::Initial, _) if empty => match self.challenge() {
                Ok((challenge, nonce)) => {
                    self.state = State::SentChallenge { nonce };
                    Step::Challenge(challenge)
                }
                Err(f) => Step::Failure(f),
            },
            (State::SentChallenge { nonce }, Some(data)) => match self.parse_response(data, &nonce)
            {
                Ok((response, prepped)) => {
                    self.state = State::AwaitCredentials {
                        nonce,
                        response,
                        prepped: prepped.clone(),
                    };
                    Step::NeedCredentials { username: prepped }
                }
                Err(f) => Step::Failure(f),
            },
            (State::SentRspauth { username, authzid }, _) if empty => Step::Success {
                username,
                authzid,
                additional_data: None,
            },
            _ => Step::Failure(Failure::MalformedRequest),
        }
    }

    pub(crate) fn provide(&mut self, creds: Option<Credentials>) -> Step {
        let State::AwaitCredentials {
            nonce,
            response,
            prepped,
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            return Step::Failure(Failure::TemporaryAuthFailure);
        };
        // DIGEST-MD5 needs the plaintext password; a SCRAM record cannot serve it.
        let Some(Credentials::Password(password)) = creds else {
            return Step::Failure(Failure::NotAuthorized);
        };
        let input = DigestInput {
            username: &response.username,
            realm: &response.realm,
            password: &password,
            nonce: &nonce,
            cnonce: &response.cnonce,
            nc: &response.nc,
            digest_uri: &response.digest_uri,
            authzid: response.authzid.as_deref(),
        };
        if !ct_eq(input.response().as_bytes(), response.response.as_bytes()) {
            return Step::Failure(Failure::NotAuthorized);
        }
        let mut challenge = Vec::new();
        push_token(&mut challenge, "rspauth", &input.rspauth());
        self.state = State::SentRspauth {
            username: prepped,
            authzid: response.authzid,
        };
        Step::Challenge(challenge)
    }

    /// `realm="…",nonce="…",qop="auth",charset=utf-8,algorithm=md5-sess`
    fn challenge(&self) -> Result<(Vec<u8>, String), Failure> {
        let nonce = match &self.fixed_nonce {
            Some(n) => n.clone(),
            None => random::nonce()?,
        };
        let mut out = Vec::new();
        if !self.params.realm.is_empty() {
            push_quoted(&mut out, "realm", self.params.realm.as_bytes());
        }
        push_quoted(&mut out, "nonce", nonce.as_bytes());
        push_quoted(&mut out, "qop", b"auth");
        push_token(&mut out, "charset", "utf-8");
        push_token(&mut out, "algorithm", "md5-sess");
        Ok((out, nonce))
    }

    /// Parses and checks everything in the response except the digest itself (which needs the
    /// password); returns it with the SASLprepped username for the credential lookup.
    fn parse_response(&self, data: &[u8], nonce: &str) -> Result<(Response, String), Failure> {
        let d: Vec<Directive> = parse(data)?;
        let utf8 = match single(&d, "charset")? {
            None => false,
            Some(c) if c.eq_ignore_ascii_case(b"utf-8") => true,
            Some(_) => return Err(Failure::MalformedRequest),
        };
        let field = |name: &str| -> Result<String, Failure> { text(required(&d, name)?, utf8) };
        let optional = |name: &str| -> Result<Option<String>, Failure> {
            single(&d, name)?.map(|v| text(v, utf8)).transpose()
        };

        let username = field("username")?;
        let realm = optional("realm")?;
        let cnonce = field("cnonce")?;
        let nc = field("nc")?;
        let digest_uri = field("digest-uri")?;
        let response = field("response")?.to_ascii_lowercase();
        // authzid is always UTF-8 (RFC 2831 §2.1.2).
        let authzid = single(&d, "authzid")?
            .filter(|v| !v.is_empty())
            .map(|v| text(v, true))
            .transpose()?;
        let qop = optional("qop")?;

        if username.is_empty() || cnonce.is_empty() || single(&d, "cipher")?.is_some() {
            return Err(Failure::MalformedRequest);
        }
        if !qop
            .as_deref()
            .is_none_or(|q| q.eq_ignore_ascii_case("auth"))
        {
            return Err(Failure::MalformedRequest);
        }
        if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::MalformedRequest);
        }
        if response.len() != 32 || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::MalformedRequest);
        }
        // A stale or foreign nonce, a replayed count, another realm, another service: all are
        // attempts to use a response computed for something else.
        let nonce_ok = text(required(&d, "nonce")?, utf8)? == nonce;
        let realm_ok = realm.as_deref().is_none_or(|r| r == self.params.realm);
        if !nonce_ok || nc != "00000001" || !realm_ok || !self.digest_uri_ok(&digest_uri) {
            return Err(Failure::NotAuthorized);
        }
        let prepped = saslprep(&username)?;
        Ok((
            Response {
                username,
                realm: realm.unwrap_or_default(),
                cnonce,
                nc,
                digest_uri,
                response,
                authzid,
            },
            prepped,
        ))
    }

    /// `digest-uri = serv-type "/" host [ "/" serv-name ]`: the service must be ours; the host
    /// only if one was configured (jabberd2 accepts any).
    fn digest_uri_ok(&self, uri: &str) -> bool {
        let mut parts = uri.splitn(3, '/');
        let (Some(service), Some(host)) = (parts.next(), parts.next()) else {
            return false;
        };
        service.eq_ignore_ascii_case(&self.params.service)
            && !host.is_empty()
            && self
                .host
                .as_deref()
                .is_none_or(|h| h.eq_ignore_ascii_case(host))
    }
}
