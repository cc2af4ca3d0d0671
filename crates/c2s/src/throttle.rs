//! Read rate limits per client connection (jabberd2's `<limits><bytes>` and `<stanzas>`,
//! ejabberd's shapers): token buckets for bytes and stanzas. A client that sends faster than
//! its rates is not read from until its buckets refill, so TCP pushes back on it, and the
//! stanzas of everyone else do not queue behind its flood at the router and the sm.

use tokio::time::Instant;

use crate::config::LimitsConfig;

/// A rate with a burst: `tokens` refill at `rate` per second up to `burst`; spending may run
/// into debt (a read is only counted after it happened), which is paid off before the next one.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// `None` for a rate of 0: no limit.
    fn new(rate: u64, burst: u64) -> Option<Bucket> {
        (rate > 0).then(|| {
            let burst = burst.max(1) as f64;
            Bucket {
                rate: rate as f64,
                burst,
                tokens: burst,
                last: Instant::now(),
            }
        })
    }

    fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
    }

    fn spend(&mut self, amount: f64, now: Instant) {
        self.refill(now);
        self.tokens -= amount;
    }

    /// When the debt is paid off (now if there is none).
    fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 0.0 {
            now
        } else {
            now + std::time::Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// The limits of one connection.
#[derive(Debug, Default)]
pub struct Throttle {
    bytes: Option<Bucket>,
    stanzas: Option<Bucket>,
}

impl Throttle {
    pub fn new(limits: &LimitsConfig) -> Throttle {
        Throttle {
            bytes: Bucket::new(limits.read_bytes_per_second, limits.read_burst_bytes),
            stanzas: Bucket::new(limits.stanzas_per_second, limits.stanza_burst),
        }
    }

    /// Waits until the client may be read from again.
    pub async fn pace(&mut self) {
        let now = Instant::now();
        let ready = [self.bytes.as_mut(), self.stanzas.as_mut()]
            .into_iter()
            .flatten()
            .map(|b| b.ready_at(now))
            .max();
        if let Some(at) = ready.filter(|at| *at > now) {
            tokio::time::sleep_until(at).await;
        }
    }

    /// `n` bytes were read.
    pub fn read(&mut self, n: usize) {
        if let Some(b) = self.bytes.as_mut() {
            b.spend(n as f64, Instant::now());
        }
    }

    /// A stanza (or any top-level element) was parsed.
    pub fn stanza(&mut self) {
        if let Some(b) = self.stanzas.as_mut() {
            b.spend(1.0, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_passes_and_then_the_rate_holds() {
        let mut b = Bucket::new(10, 5).expect("limited");
        let t0 = b.last;
        for _ in 0..5 {
            assert_eq!(b.ready_at(t0), t0, "the burst needs no wait");
            b.spend(1.0, t0);
        }
        // Ten more at 10 per second: each waits for the token it takes.
        let mut now = t0;
        for _ in 0..10 {
            now = b.ready_at(now);
            b.spend(1.0, now);
            now = b.ready_at(now);
        }
        let waited = now - t0;
        assert!(waited >= ms(990) && waited <= ms(1010), "{waited:?}");
    }

    #[test]
    fn a_large_read_is_paid_off_before_the_next() {
        let mut b = Bucket::new(1000, 1000).expect("limited");
        let t0 = b.last;
        b.spend(3000.0, t0);
        let waited = b.ready_at(t0) - t0;
        assert!(waited >= ms(1990) && waited <= ms(2010), "{waited:?}");
        // Idle time refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        b.spend(1000.0, later);
        assert_eq!(b.ready_at(later), later);
        b.spend(1.0, later);
        assert!(b.ready_at(later) > later);
    }

    #[test]
    fn zero_means_unlimited() {
        let limits = LimitsConfig {
            read_bytes_per_second: 0,
            stanzas_per_second: 0,
            ..LimitsConfig::default()
        };
        let t = Throttle::new(&limits);
        assert!(t.bytes.is_none() && t.stanzas.is_none());
        let t = Throttle::new(&LimitsConfig::default());
        assert!(t.bytes.is_some() && t.stanzas.is_some());
    }
}
