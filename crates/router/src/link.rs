//! One authenticated connection, as the delivery tree and other connections see it.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use minidom::Element;
use socket2::SockRef;
use tokio_util::sync::CancellationToken;
use xml_stream::io::{Outbox, QueueError};
use xml_stream::writer::stanza_bytes;
use xml_stream::{ns, StreamError, StreamErrorCondition};

/// Which protocol the connection speaks after authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// jabberd2's component protocol: routes, binds, advertisements.
    Native,
    /// XEP-0114: bare stanzas; the router wraps and unwraps the route envelope.
    Accept,
}

/// An authenticated connection.
pub struct Link {
    pub id: u64,
    /// The SASL account, or the XEP-0114 component name.
    pub account: String,
    pub protocol: Protocol,
    pub peer: SocketAddr,
    outbox: Outbox,
    /// The identity multi routes hash on: stable across reconnects of the same component
    /// (account and first bound name), unlike the connection id.
    hash_key: OnceLock<String>,
    /// `Some` while the component has asked (with `<throttle/>`) not to be sent packets.
    held: Mutex<Option<Held>>,
    max_queue_bytes: usize,
    closed: CancellationToken,
    /// A second handle on the socket, so that a component dropped for not reading can be reset
    /// instead of having its whole backlog trickled out of the kernel after we close.
    socket: Option<OwnedFd>,
    /// Set when the component was dropped for not reading: its socket is full, so waiting for
    /// its writer to flush would wait for nothing.
    stuck: AtomicBool,
}

#[derive(Default)]
struct Held {
    packets: Vec<Bytes>,
    bytes: usize,
}

impl Link {
    pub fn new(
        id: u64,
        account: String,
        protocol: Protocol,
        peer: SocketAddr,
        outbox: Outbox,
        socket: Option<OwnedFd>,
        max_queue_bytes: usize,
    ) -> Link {
        Link {
            id,
            account,
            protocol,
            peer,
            outbox,
            socket,
            hash_key: OnceLock::new(),
            held: Mutex::new(None),
            max_queue_bytes,
            closed: CancellationToken::new(),
            stuck: AtomicBool::new(false),
        }
    }

    /// The key multi routes hash on; fixed by the first bind.
    pub fn hash_key(&self) -> &str {
        self.hash_key.get().map_or(&self.account, String::as_str)
    }

    pub fn set_hash_key(&self, first_bound_name: &str) {
        let _ = self
            .hash_key
            .set(format!("{}/{}", self.account, first_bound_name));
    }

    /// Fires when the connection must stop (its queue overflowed, or it was closed).
    pub fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// Queues bytes for the component. A component that does not read fast enough to keep its
    /// queue under the limit is disconnected: holding more would let one stuck peer grow the
    /// router without bound.
    pub fn deliver(&self, bytes: Bytes) {
        // Closing: whatever is still routed here before the tree forgets it goes nowhere.
        if self.closed.is_cancelled() {
            return;
        }
        let held_overflows = {
            let mut guard = self.held.lock().unwrap_or_else(|e| e.into_inner());
            match guard.as_mut() {
                Some(held) if held.bytes + bytes.len() <= self.max_queue_bytes => {
                    held.bytes += bytes.len();
                    held.packets.push(bytes);
                    return;
                }
                Some(_) => true,
                None => false,
            }
        };
        if held_overflows {
            return self.overflow();
        }
        match self.outbox.send(bytes) {
            Ok(()) => {}
            Err(QueueError::Full) => self.overflow(),
            Err(QueueError::Closed) => self.closed.cancel(),
        }
    }

    /// `<throttle/>`: starts holding packets, or sends everything held and stops holding.
    pub fn toggle_throttle(&self) {
        let released = {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            match held.take() {
                Some(held) => held.packets,
                None => {
                    *held = Some(Held::default());
                    Vec::new()
                }
            }
        };
        for bytes in released {
            self.deliver(bytes);
        }
    }

    /// Sends bytes directly, bypassing throttling (replies to the component's own requests).
    pub fn reply(&self, el: &Element) {
        let stream_ns = match self.protocol {
            Protocol::Native => None,
            Protocol::Accept => Some(ns::CLIENT),
        };
        if self.outbox.send(stanza_bytes(el, stream_ns)).is_err() {
            self.overflow();
        }
    }

    /// Closes the stream with a stream error, then the connection.
    pub fn close_with(&self, error: StreamError) {
        let mut bytes = stanza_bytes(&error.to_element(), None).to_vec();
        bytes.extend_from_slice(xml_stream::writer::FOOTER);
        self.outbox.close(Bytes::from(bytes));
        self.closed.cancel();
    }

    /// Answers the component's `</stream:stream>` and closes the connection.
    pub fn finish(&self) {
        self.outbox
            .close(Bytes::from_static(xml_stream::writer::FOOTER));
        self.closed.cancel();
    }

    /// Whether the component was dropped for not reading.
    pub fn is_stuck(&self) -> bool {
        self.stuck.load(Ordering::Relaxed)
    }

    fn overflow(&self) {
        if self.stuck.swap(true, Ordering::Relaxed) {
            return;
        }
        if let Some(socket) = &self.socket {
            // Linger zero: closing sends a reset and discards what the kernel still holds.
            let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
        }
        tracing::warn!(
            link = self.id,
            account = %self.account,
            peer = %self.peer,
            queued = self.outbox.queued_bytes(),
            "component is not reading; its queue is full, disconnecting it"
        );
        self.close_with(StreamError::with_text(
            StreamErrorCondition::PolicyViolation,
            "too much data queued for this component",
        ));
    }
}
