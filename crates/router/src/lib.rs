//! starling-router: authenticates components and moves packets between them.
//!
//! - [`config`]: the `router.toml` settings;
//! - [`pattern`]: the `*` patterns ACLs and filters use;
//! - [`tree`]: the delivery tree — which connections receive packets for which name;
//! - [`filter`]: the first-match filter table;
//! - [`link`]: one authenticated connection as the rest of the router sees it;
//! - [`carried`]: a route as the router carries it, as received bytes or as a tree;
//! - [`routing`]: what happens to each packet a component sends;
//! - [`negotiation`]: stream opening, STARTTLS, SASL and the XEP-0114 handshake;
//! - [`server`]: the listeners, the shared state and reloading.

pub mod carried;
pub mod config;
pub mod filter;
pub mod link;
pub mod negotiation;
pub mod pattern;
pub mod routing;
pub mod server;
pub mod tree;

pub use config::RouterConfig;
pub use server::Router;
