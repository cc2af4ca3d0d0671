//! One component's sending side, in one of two pacings:
//! - window (max mode): at most W routes unacknowledged, topped up whenever some arrive;
//! - rate: a fixed number of routes per second, paced by a tokio interval and sent in
//!   batches when the interval between routes is shorter than a timer tick.
//!
//! Each top-up or tick is one socket write.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use super::shared::Shared;
use super::traffic::RouteWriter;

#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// Keep up to `window` routes in flight, topping up once at least `batch` slots are free.
    Window { window: u64, batch: u64 },
    /// Send this many routes per second.
    Rate(f64),
}

/// What a sender could not do, and its socket, kept open until the end of the run.
pub struct SenderResult {
    /// Routes not sent because the sender fell more than a tenth of a second behind its
    /// schedule (rate mode: the router, or the bench, could not keep up).
    pub unsent: u64,
    pub error: Option<String>,
    pub write: OwnedWriteHalf,
}

/// How long after the end of the measurement a blocked write is abandoned.
const GIVE_UP_AFTER: Duration = Duration::from_secs(1);

/// Shortest pause the timer resolves reliably; faster rates are sent in batches.
const TICK: Duration = Duration::from_millis(1);

pub async fn run(
    shared: Arc<Shared>,
    index: usize,
    write: OwnedWriteHalf,
    writer: RouteWriter,
    pace: Pace,
) -> SenderResult {
    let end = shared.instant_at(shared.measure_end_ns);
    let mut sender = Sender {
        shared,
        index,
        write,
        writer,
        buf: BytesMut::with_capacity(64 * 1024),
        unsent: 0,
    };
    let outcome = match pace {
        Pace::Window { window, batch } => sender.windowed(window, batch, end).await,
        Pace::Rate(rate) => sender.paced(rate, end).await,
    };
    SenderResult {
        unsent: sender.unsent,
        error: outcome.err(),
        write: sender.write,
    }
}

struct Sender {
    shared: Arc<Shared>,
    index: usize,
    write: OwnedWriteHalf,
    writer: RouteWriter,
    buf: BytesMut,
    unsent: u64,
}

impl Sender {
    async fn windowed(&mut self, window: u64, batch: u64, end: Instant) -> Result<(), String> {
        let mut sent = 0u64;
        while Instant::now() < end {
            let in_flight = sent.saturating_sub(self.shared.acked(self.index));
            if in_flight + batch > window {
                tokio::select! {
                    biased;
                    _ = sleep_until(end) => break,
                    _ = self.shared.acknowledged(self.index) => continue,
                }
            }
            let count = window - in_flight;
            sent += count;
            self.send(count, end).await?;
        }
        Ok(())
    }

    async fn paced(&mut self, rate: f64, end: Instant) -> Result<(), String> {
        let every = Duration::from_secs_f64(1.0 / rate).max(TICK);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // At most a tenth of a second's worth at once, so a stall does not turn into a flood.
        let max_batch = (rate / 10.0).ceil().max(1.0) as u64;
        let origin = Instant::now();
        let mut due_so_far = 0u64;
        loop {
            tokio::select! {
                biased;
                _ = sleep_until(end) => break,
                _ = ticks.tick() => {}
            }
            let due = (rate * origin.elapsed().as_secs_f64()) as u64;
            let backlog = due.saturating_sub(due_so_far);
            let count = backlog.min(max_batch);
            self.unsent += backlog - count;
            due_so_far = due;
            if count > 0 {
                self.send(count, end).await?;
            }
        }
        Ok(())
    }

    /// Writes `count` routes stamped now, in one write; gives up a second after `end` if the
    /// router does not read (what was not written then counts as lost).
    async fn send(&mut self, count: u64, end: Instant) -> Result<(), String> {
        let now = self.shared.now_ns();
        for _ in 0..count {
            self.writer.write(now, &mut self.buf);
        }
        // Count before writing: a receiver may see the route before the write returns.
        self.shared.add_sent(self.index, count);
        let written = tokio::select! {
            biased;
            written = self.write.write_all(&self.buf) => written,
            _ = sleep_until(end + GIVE_UP_AFTER) => Ok(()),
        };
        self.buf.clear();
        written.map_err(|e| format!("writing to the router: {e}"))
    }
}
