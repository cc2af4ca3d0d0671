//! Tests. Known-answer tests use the crate-private nonce hooks, so they live inside the crate.

mod failures;
mod garbage;
mod mechanisms;
mod rfc_vectors;
mod round_trip;

use crate::{
    ChannelBindings, ClientSession, Credentials, Failure, ScramCredentials, ScramHash,
    ServerSession, Step,
};

/// Runs a whole exchange between `client` and `server`, answering credential lookups with
/// `lookup`; returns the authenticated (username, authzid) or the first failure of either side.
pub(super) fn run(
    client: &mut ClientSession,
    server: &mut ServerSession,
    lookup: impl Fn(&str) -> Option<Credentials>,
) -> Result<(String, Option<String>), Failure> {
    let mut step = server.step(client.initial_response().as_deref());
    for _ in 0..16 {
        step = match step {
            Step::Challenge(challenge) => {
                let response = client.step(&challenge)?;
                server.step(Some(response.as_deref().unwrap_or(&[])))
            }
            Step::NeedCredentials { username } => server.provide(lookup(&username)),
            Step::Success {
                username,
                authzid,
                additional_data,
            } => {
                client.verify_success(additional_data.as_deref())?;
                return Ok((username, authzid));
            }
            Step::Failure(f) => return Err(f),
        };
    }
    panic!("exchange did not terminate");
}

/// Channel-binding data with both types.
pub(super) fn both_bindings() -> ChannelBindings {
    ChannelBindings {
        tls_exporter: Some(vec![0xe1; 32]),
        tls_server_end_point: Some(vec![0x5e; 32]),
    }
}

/// A SCRAM record with a low iteration count, to keep debug-build tests fast.
pub(super) fn fast_creds(hash: ScramHash, password: &str) -> Credentials {
    match ScramCredentials::derive(hash, password, b"0123456789abcdef", 64) {
        Ok(c) => Credentials::Scram(c),
        Err(f) => panic!("derive failed: {f}"),
    }
}

/// A small deterministic PRNG (xorshift64*) for garbage inputs, so failures are reproducible.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(super) fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}
