//! The XML stream layer every Starling daemon uses (RFC 6120 §4).
//!
//! - [`parser`]: an incremental, limit-enforcing parser turning bytes into a stream header and
//!   top-level elements as soon as each is complete;
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
pub mod writer;

pub use error::{StreamError, StreamErrorCondition};
pub use header::StreamHeader;
pub use minidom::Element;
pub use parser::{Limits, ParseError, StreamEvent, StreamParser};
