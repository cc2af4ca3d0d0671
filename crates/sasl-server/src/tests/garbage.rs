//! No input makes either side panic: random bytes, truncations and byte flips of valid
//! messages, at every step of every mechanism.

use super::{both_bindings, fast_creds, Rng};
use crate::{
    ChannelBindings, ClientSession, Credentials, DigestMd5Params, Mechanism, ServerSession, Step,
};

fn bindings(mech: Mechanism) -> ChannelBindings {
    if mech.is_plus() {
        both_bindings()
    } else {
        ChannelBindings::none()
    }
}

fn creds(mech: Mechanism, rng: &mut Rng) -> Option<Credentials> {
    match rng.below(3) {
        0 => None,
        1 => Some(Credentials::Password("pw".into())),
        _ => Some(fast_creds(
            mech.scram_hash().unwrap_or(crate::ScramHash::Sha1),
            "pw",
        )),
    }
}

/// Drives a server with `inputs` until it finishes; answers lookups arbitrarily.
fn drive_server(mech: Mechanism, inputs: &[Vec<u8>], rng: &mut Rng) {
    let mut s = ServerSession::new(mech, bindings(mech), DigestMd5Params::default())
        .with_fake_iterations(8);
    let mut step = s.step(if rng.below(4) == 0 {
        None
    } else {
        inputs.first().map(Vec::as_slice)
    });
    for input in inputs.iter().skip(1).chain(inputs.iter()) {
        step = match step {
            Step::NeedCredentials { .. } => s.provide(creds(mech, rng)),
            Step::Challenge(_) => s.step(Some(input)),
            Step::Success { .. } | Step::Failure(_) => return,
        };
    }
}

/// A valid transcript (client messages, server messages) for `mech`.
fn transcript(mech: Mechanism) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut c =
        ClientSession::new(mech, "user", "pw", Some("authz"), bindings(mech)).expect("client");
    let mut s = ServerSession::new(mech, bindings(mech), DigestMd5Params::default());
    let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
    let first = c.initial_response();
    if let Some(f) = &first {
        to_server.push(f.clone());
    }
    let mut step = s.step(first.as_deref());
    loop {
        step = match step {
            Step::Challenge(ch) => {
                to_client.push(ch.clone());
                let r = c.step(&ch).expect("client step").unwrap_or_default();
                to_server.push(r.clone());
                s.step(Some(&r))
            }
            Step::NeedCredentials { .. } => s.provide(Some(match mech.scram_hash() {
                Some(hash) => fast_creds(hash, "pw"),
                None => Credentials::Password("pw".into()),
            })),
            Step::Success {
                additional_data, ..
            } => {
                to_client.extend(additional_data);
                return (to_server, to_client);
            }
            Step::Failure(f) => panic!("{mech}: transcript failed: {f}"),
        };
    }
}

/// Mutates a message: truncate, flip a byte, insert a special character, or replace entirely.
fn mutate(msg: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = msg.to_vec();
    match rng.below(5) {
        0 => out.truncate(rng.below(msg.len() + 1)),
        1 if !out.is_empty() => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        2 => {
            let specials = b",=\"\\\0\xff/ ";
            let i = rng.below(out.len() + 1);
            out.insert(i, specials[rng.below(specials.len())]);
        }
        3 if !out.is_empty() => {
            let i = rng.below(out.len());
            out.drain(i..);
            out.extend(rng.bytes(8));
        }
        _ => out = rng.bytes(64),
    }
    out
}

#[test]
fn servers_survive_garbage() {
    let mut rng = Rng::new(0x5eed);
    for mech in Mechanism::ALL {
        let (to_server, _) = transcript(mech);
        for _ in 0..300 {
            let inputs: Vec<Vec<u8>> = to_server.iter().map(|m| mutate(m, &mut rng)).collect();
            drive_server(mech, &inputs, &mut rng);
            let random: Vec<Vec<u8>> = (0..3).map(|_| rng.bytes(80)).collect();
            drive_server(mech, &random, &mut rng);
        }
    }
}

#[test]
fn clients_survive_garbage() {
    let mut rng = Rng::new(0xc11e);
    for mech in Mechanism::ALL {
        let (_, to_client) = transcript(mech);
        for _ in 0..150 {
            let mut c =
                ClientSession::new(mech, "user", "pw", None, bindings(mech)).expect("client");
            c.initial_response();
            for msg in &to_client {
                let input = if rng.below(3) == 0 {
                    msg.clone()
                } else {
                    mutate(msg, &mut rng)
                };
                // Only feed challenges; the last message may be success data.
                if c.step(&input).is_err() {
                    break;
                }
            }
            let _ = c.verify_success(Some(&mutate(b"v=AAAA", &mut rng)));
            let _ = c.verify_success(None);
        }
    }
}

#[test]
fn every_prefix_of_valid_messages() {
    for mech in Mechanism::ALL {
        let (to_server, _) = transcript(mech);
        for (index, msg) in to_server.iter().enumerate() {
            for len in 0..msg.len() {
                let mut inputs = to_server.clone();
                inputs[index].truncate(len);
                drive_server(mech, &inputs, &mut Rng::new(len as u64));
            }
        }
    }
}
