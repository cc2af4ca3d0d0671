//! jabberd2's component protocol (namespace `http://jabberd.jabberstudio.org/ns/component/1.0`).
//!
//! - [`wire`]: the packets as types — `bind`, `unbind`, `route`, `throttle` and the router's
//!   presence advertisements — with parsing and serialisation;
//! - [`raw_route`]: a route kept as the bytes it arrived in, which the router forwards without
//!   building a tree;
//! - [`route_error`]: the HTTP-like codes bounced routes carry, and the stanza errors they mean;
//! - [`connector`]: the client side, used by every Starling daemon and by third-party
//!   components: connect, STARTTLS, SASL, bind, exchange packets, reconnect and re-bind.

pub mod connector;
pub mod raw_route;
pub mod route_error;
pub mod settings;
pub mod wire;

pub use connector::{Component, ConnectorConfig, Event, SendError};
pub use raw_route::RawRoute;
pub use settings::RouterSettings;
pub use wire::{Bind, Packet, Route, RouteHead, RouteKind};
