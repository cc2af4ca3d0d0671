//! One component's receiving side: reads every arrival, acknowledges it to its sender, and
//! times the routes sent inside the measurement window.

use std::sync::Arc;

use bytes::{Buf, BytesMut};
use clap::ValueEnum;
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::watch;
use xml_stream::{ns, StreamEvent, StreamParser};

use super::scan::{Scanned, Scanner};
use super::shared::Shared;
use super::traffic::{classify, Arrival};
use crate::stats::Latencies;

/// How arrivals are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParseMode {
    /// Walk the tags and read the few attributes needed (cheap; the default).
    Scan,
    /// xml-stream's validating parser, building a tree per stanza (costs the bench CPU).
    Full,
}

pub struct ReceiverStats {
    /// Latencies of routes sent inside the measurement window.
    pub latencies: Latencies,
    /// Routes that arrived inside the measurement window (whenever they were sent).
    pub arrived_in_window: u64,
    /// Routes delivered over the whole run.
    pub delivered: u64,
    /// Our routes that came back with an `error` attribute.
    pub bounced: u64,
    /// Why the stream ended early, if it did.
    pub error: Option<String>,
}

/// The bound stream's read side, with what negotiation had already read.
pub struct Inbound {
    pub read: OwnedReadHalf,
    pub parser: StreamParser,
    pub pending: BytesMut,
}

const READ_CHUNK: usize = 64 * 1024;

/// Reads until `done` turns true or the stream fails.
pub async fn run(
    shared: Arc<Shared>,
    inbound: Inbound,
    mode: ParseMode,
    mut done: watch::Receiver<bool>,
) -> ReceiverStats {
    let Inbound {
        mut read,
        parser,
        mut pending,
    } = inbound;
    let mut receiver = Receiver {
        window: shared.warm_end_ns..shared.measure_end_ns,
        acks: vec![0; shared.plan.components],
        shared,
        stats: ReceiverStats {
            latencies: Latencies::new(),
            arrived_in_window: 0,
            delivered: 0,
            bounced: 0,
            error: None,
        },
    };
    let mut decoder = match mode {
        ParseMode::Scan => Decoder::Scan(Scanner::new(), Vec::new()),
        ParseMode::Full => Decoder::Full(Box::new(parser)),
    };
    loop {
        let outcome = decoder.decode(&mut receiver, &mut pending);
        receiver.flush_acks();
        if let Err(e) = outcome {
            receiver.stats.error = Some(e);
            break;
        }
        pending.reserve(READ_CHUNK);
        let read = tokio::select! {
            read = read.read_buf(&mut pending) => read,
            _ = done.wait_for(|d| *d) => break,
        };
        match read {
            Ok(0) => {
                receiver.stats.error = Some("the router closed the connection".into());
                break;
            }
            Ok(_) => {}
            Err(e) => {
                receiver.stats.error = Some(format!("reading from the router: {e}"));
                break;
            }
        }
    }
    receiver.stats
}

struct Receiver {
    shared: Arc<Shared>,
    window: std::ops::Range<u64>,
    /// Acknowledgements per sender not yet published (published once per read).
    acks: Vec<u64>,
    stats: ReceiverStats,
}

impl Receiver {
    fn arrival(&mut self, arrival: Arrival) {
        match arrival {
            Arrival::Route { sender, sent_ns } => {
                let now = self.shared.now_ns();
                self.acks[sender] += 1;
                self.stats.delivered += 1;
                if self.window.contains(&now) {
                    self.stats.arrived_in_window += 1;
                }
                if self.window.contains(&sent_ns) {
                    self.stats.latencies.record(now.saturating_sub(sent_ns));
                }
            }
            Arrival::Bounced { sender } => {
                // It came back, so it no longer holds a window slot; it still counts as lost.
                self.acks[sender] += 1;
                self.stats.bounced += 1;
            }
            Arrival::Other => {}
        }
    }

    fn flush_acks(&mut self) {
        for (sender, count) in self.acks.iter_mut().enumerate() {
            if *count > 0 {
                self.shared.ack(sender, *count);
                *count = 0;
            }
        }
    }
}

enum Decoder {
    Scan(Scanner, Vec<Scanned>),
    Full(Box<StreamParser>),
}

impl Decoder {
    /// Handles every complete stanza in `pending`, leaving an incomplete tail there.
    fn decode(&mut self, receiver: &mut Receiver, pending: &mut BytesMut) -> Result<(), String> {
        match self {
            Decoder::Scan(scanner, found) => {
                let consumed = scanner.feed(&receiver.shared.plan, pending, found)?;
                pending.advance(consumed);
                for scanned in found.drain(..) {
                    match scanned {
                        Scanned::Arrival(arrival) => receiver.arrival(arrival),
                        Scanned::StreamError => return Err("stream error from the router".into()),
                        Scanned::Footer => return Err("the router ended the stream".into()),
                    }
                }
                Ok(())
            }
            Decoder::Full(parser) => loop {
                let mut data: &[u8] = pending;
                let result = parser.next_event(&mut data);
                let consumed = pending.len() - data.len();
                pending.advance(consumed);
                match result.map_err(|e| format!("from the router: {e}"))? {
                    None => return Ok(()),
                    Some(StreamEvent::Stanza(el)) if el.is("error", ns::STREAMS) => {
                        let condition = el.children().next().map_or("unknown", |c| c.name());
                        return Err(format!("stream error from the router: {condition}"));
                    }
                    Some(StreamEvent::Stanza(el)) => {
                        let arrival = classify(&receiver.shared.plan, &el);
                        receiver.arrival(arrival);
                    }
                    Some(other) => return Err(format!("the router ended the stream ({other:?})")),
                }
            },
        }
    }
}
