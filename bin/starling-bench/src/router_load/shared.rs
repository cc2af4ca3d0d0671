//! State shared by the senders and receivers of one run: the clock, the phase boundaries, and
//! per-sender counters that stand in for acknowledgements (a route counts as acknowledged when
//! its receiver, in this same process, has seen it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::traffic::Plan;

pub struct Shared {
    pub plan: Plan,
    /// The run's time origin; route ids carry nanoseconds since it.
    start: Instant,
    /// Routes sent before this are warm-up: neither counted nor timed.
    pub warm_end_ns: u64,
    /// Senders stop here; the measurement window is `warm_end_ns..measure_end_ns`.
    pub measure_end_ns: u64,
    /// Whether senders wait for acknowledgements (max mode), so receivers should wake them.
    pub windowed: bool,
    /// Per sender: routes handed to its connection.
    sent: Vec<AtomicU64>,
    /// Per sender: routes its receivers have seen (delivered or bounced).
    acked: Vec<AtomicU64>,
    /// Per sender: woken when one of its routes is acknowledged.
    wake: Vec<Notify>,
}

impl Shared {
    pub fn new(plan: Plan, warmup: Duration, measure: Duration, windowed: bool) -> Self {
        let n = plan.components;
        Shared {
            plan,
            start: Instant::now(),
            warm_end_ns: warmup.as_nanos() as u64,
            measure_end_ns: (warmup + measure).as_nanos() as u64,
            windowed,
            sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            acked: (0..n).map(|_| AtomicU64::new(0)).collect(),
            wake: (0..n).map(|_| Notify::new()).collect(),
        }
    }

    /// Nanoseconds since the run started (monotonic).
    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The moment `ns` nanoseconds after the start, for tokio timers.
    pub fn instant_at(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.start + Duration::from_nanos(ns))
    }

    pub fn add_sent(&self, sender: usize, count: u64) {
        self.sent[sender].fetch_add(count, Ordering::Release);
    }

    pub fn acked(&self, sender: usize) -> u64 {
        self.acked[sender].load(Ordering::Acquire)
    }

    pub fn ack(&self, sender: usize, count: u64) {
        self.acked[sender].fetch_add(count, Ordering::AcqRel);
        if self.windowed {
            self.wake[sender].notify_one();
        }
    }

    /// Waits until one of `sender`'s routes is acknowledged (or was since the last wait).
    pub async fn acknowledged(&self, sender: usize) {
        self.wake[sender].notified().await;
    }

    /// Routes sent and not yet acknowledged, over all senders.
    pub fn outstanding(&self) -> u64 {
        let sent: u64 = self.sent.iter().map(|s| s.load(Ordering::Acquire)).sum();
        let acked: u64 = self.acked.iter().map(|a| a.load(Ordering::Acquire)).sum();
        sent.saturating_sub(acked)
    }

    pub fn total_sent(&self) -> u64 {
        self.sent.iter().map(|s| s.load(Ordering::Acquire)).sum()
    }
}
