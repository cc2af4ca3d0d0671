//! Asking the sm something and waiting for its answer (`create`, `start`, `delete`).
//!
//! While a connection waits, it does not read its client: whatever the client pipelines (the
//! session IQ and initial presence right after the bind request, typically) stays queued in the
//! socket and is handled once the answer is in, rather than refused for coming too early.

use minidom::Element;
use xml_stream::StreamErrorCondition;

use crate::control::{self, Reply};
use crate::hub::ToConn;
use crate::Conn;

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmError {
    /// No sm for the domain (not advertised, went away, router link down, or our route bounced).
    Gone,
    /// The sm did not answer in time.
    Timeout,
    /// The daemon is shutting down.
    Shutdown,
}

impl SmError {
    /// The stream error that ends a connection over this.
    pub fn condition(&self) -> StreamErrorCondition {
        match self {
            SmError::Gone => StreamErrorCondition::HostGone,
            SmError::Timeout => StreamErrorCondition::InternalServerError,
            SmError::Shutdown => StreamErrorCondition::SystemShutdown,
        }
    }
}

/// Sends `request` (with id `id`) to `to` and waits for the reply echoing `id`. Returns the
/// route's `from` (the sm's id) and the reply; a reply may be a failure (`sc:failed`).
pub async fn request(
    conn: &mut Conn,
    to: &str,
    domain: &str,
    request: Element,
    id: &str,
) -> Result<(Option<String>, Reply), SmError> {
    if conn.ctx.hub.send(to, request).is_err() {
        return Err(SmError::Gone);
    }
    let deadline = tokio::time::Instant::now() + conn.ctx.config.limits.sm();
    loop {
        let message = tokio::select! {
            m = tokio::time::timeout_at(deadline, conn.rx.recv()) => match m {
                Err(_) => return Err(SmError::Timeout),
                Ok(None) => return Err(SmError::Gone),
                Ok(Some(m)) => m,
            },
            _ = conn.shutdown.changed() => return Err(SmError::Shutdown),
        };
        match message {
            ToConn::Packet { from, payload } => match control::parse(&payload) {
                Some(reply) if reply.id.as_deref() == Some(id) => return Ok((from, reply)),
                _ => tracing::debug!(conn = conn.id, "ignoring a packet while waiting for the sm"),
            },
            ToConn::Bounced { payload, .. } => {
                if control::parse(&payload).is_some_and(|r| r.id.as_deref() == Some(id)) {
                    return Err(SmError::Gone);
                }
            }
            ToConn::Unavailable(name) if name == to || name == domain => return Err(SmError::Gone),
            ToConn::Unavailable(_) => {}
            ToConn::RouterLost => return Err(SmError::Gone),
        }
    }
}
