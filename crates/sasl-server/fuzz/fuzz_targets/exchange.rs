//! Server-side SASL exchanges driven by arbitrary client data: every mechanism, with and without
//! channel binding, known and unknown users. The first byte picks the mechanism and the setup;
//! the rest is the client's messages separated by 0xff. `%n` in a message is replaced by the
//! nonce of the server's last challenge, so the fuzzer gets past the nonce check to the proofs.
//!
//! Checks: no panic; a finished session answers every further step with a failure; only the
//! right password (`pencil`) ever authenticates.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sasl_server::{
    ChannelBindings, Credentials, DigestMd5Params, Mechanism, ScramCredentials, ScramHash,
    ServerSession, Step, MIN_ITERATIONS,
};

const USER: &str = "user";
const PASSWORD: &str = "pencil";

/// PBKDF2 at the minimum iteration count is too slow to run per input: once per hash.
fn scram(hash: ScramHash) -> Credentials {
    static CACHE: OnceLock<Vec<(ScramHash, ScramCredentials)>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
            .into_iter()
            .map(|h| (h, ScramCredentials::generate(h, PASSWORD, MIN_ITERATIONS).unwrap()))
            .collect()
    });
    let found = all.iter().find(|(h, _)| *h == hash).unwrap();
    Credentials::Scram(found.1.clone())
}

/// The `r=` attribute of a SCRAM server-first-message, or DIGEST-MD5's `nonce="…"`.
fn nonce(challenge: &[u8]) -> Option<&[u8]> {
    let text = challenge;
    let start = find(text, b"r=").map(|i| i + 2).or_else(|| find(text, b"nonce=\"").map(|i| i + 7))?;
    let rest = &text[start..];
    let end = rest.iter().position(|&b| b == b',' || b == b'"').unwrap_or(rest.len());
    Some(&rest[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn substitute(message: &[u8], nonce: Option<&[u8]>) -> Vec<u8> {
    let Some(nonce) = nonce else {
        return message.to_vec();
    };
    let mut out = Vec::with_capacity(message.len() + nonce.len());
    let mut rest = message;
    while let Some(i) = find(rest, b"%n") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(nonce);
        rest = &rest[i + 2..];
    }
    out.extend_from_slice(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, rest)) = data.split_first() else {
        return;
    };
    let mechanism = Mechanism::ALL[usize::from(setup & 7)];
    let bindings = if setup & 8 != 0 {
        ChannelBindings {
            tls_exporter: Some(vec![7; 32]),
            tls_server_end_point: Some(vec![9; 32]),
        }
    } else {
        ChannelBindings::none()
    };
    let known_user = setup & 16 == 0;
    let plaintext_credentials = setup & 32 != 0;
    let mut session = ServerSession::new(
        mechanism,
        bindings,
        DigestMd5Params::new("jabberd-router", "jabberd-router"),
    );

    let mut messages = rest.split(|&b| b == 0xff);
    // An absent first message (setup bit 64) is `<auth/>` without initial response.
    let first = if setup & 64 != 0 { None } else { messages.next() };
    let mut step = session.step(first);
    for _ in 0..8 {
        step = match step {
            Step::NeedCredentials { username } => {
                let creds = (known_user && username == USER).then(|| {
                    match (plaintext_credentials, mechanism.scram_hash()) {
                        (false, Some(hash)) => scram(hash),
                        (false, None) if mechanism == Mechanism::Plain => scram(ScramHash::Sha256),
                        _ => Credentials::Password(PASSWORD.to_owned()),
                    }
                });
                session.provide(creds)
            }
            Step::Challenge(challenge) => {
                let Some(message) = messages.next() else {
                    return;
                };
                session.step(Some(&substitute(message, nonce(&challenge))))
            }
            Step::Success { ref username, .. } => {
                // Only the real password can get here, for the known user.
                assert!(known_user && username == USER, "authenticated {username:?}");
                break;
            }
            Step::Failure(_) => break,
        };
    }
    if matches!(step, Step::Success { .. } | Step::Failure(_)) {
        assert!(matches!(session.step(Some(b"more")), Step::Failure(_)));
    }
});
