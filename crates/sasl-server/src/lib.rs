//! SASL for Starling: the mechanisms XMPP servers and jabberd2-style components use, server
//! side and client side.
//!
//! Sans-IO: sessions consume and produce raw (already base64-decoded) SASL payloads and never
//! touch sockets or block, so the same code serves c2s, the router, the component connector
//! and the load generator, and is easy to test. No input can make it panic.
//!
//! Mechanisms: SCRAM-SHA-1/256/512 and their `-PLUS` channel-binding variants (RFC 5802,
//! RFC 7677; tls-exporter per RFC 9266, tls-server-end-point per RFC 5929), PLAIN (RFC 4616),
//! and DIGEST-MD5 (RFC 2831) for jabberd2 compatibility only.
//!
//! Server flow: [`ServerSession::new`], then [`ServerSession::step`] with the `<auth/>` data;
//! on [`Step::NeedCredentials`] look the user up and call [`ServerSession::provide`]; send
//! every [`Step::Challenge`] and feed the `<response/>` back to `step` until
//! [`Step::Success`] or [`Step::Failure`].
//!
//! Client flow: [`choose_mechanism`], [`ClientSession::new`], send
//! [`ClientSession::initial_response`], answer challenges with [`ClientSession::step`], and
//! check `<success/>` with [`ClientSession::verify_success`].

mod client;
mod credentials;
mod digest_md5;
mod failure;
mod hash;
mod mechanism;
mod plain;
mod prep;
mod random;
mod scram;
mod server;

#[cfg(test)]
mod tests;

pub use client::ClientSession;
pub use credentials::{Credentials, ScramCredentials, MIN_ITERATIONS};
pub use digest_md5::{DigestMd5Params, JABBERD_ROUTER};
pub use failure::Failure;
pub use hash::ScramHash;
pub use mechanism::{choose_mechanism, ChannelBindings, Mechanism};
pub use server::{ServerSession, Step};
