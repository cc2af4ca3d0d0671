//! The XML stream layer every Starling daemon uses (RFC 6120 §4).
//!
//! - [`parser`]: an incremental, limit-enforcing parser turning bytes into a stream header and
//!   top-level elements as soon as each is complete;
//! - [`raw`]: top-level elements kept as the bytes they arrived as, checked by the fast path in
//!   `scan` instead of being built into trees, for daemons that forward them;
//! - [`scope`]: namespace bindings in effect at a point of a stream;
//! - [`writer`]: serialisation of headers and stanzas that relies on the namespaces the stream
//!   header already declared;
//! - [`error`]: RFC 6120 stream errors as types;
//! - [`io`]: the transport (plain TCP or TLS on the same socket) and the coalescing, bounded
//!   per-connection writer.

pub mod error;
pub mod header;
pub mod io;
pub mod ns;
pub mod parser;
pub mod raw;
mod scan;
pub mod scope;
pub mod writer;

pub use error::{StreamError, StreamErrorCondition};
pub use header::StreamHeader;
pub use minidom::Element;
pub use parser::{Limits, ParseError, StreamEvent, StreamParser};
pub use raw::{RawChild, RawElement, Stanza};
pub use scan::Wanted;
pub use scope::Scope;
