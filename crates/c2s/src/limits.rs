//! Sliding-window counters: failed logins per IP and per account, registrations per IP.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events per key over the last `window`; at most `max` are allowed.
pub struct RateLimiter<K> {
    max: u32,
    window: Duration,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

/// Keys above this count make the limiter drop expired entries of every key, so an attacker
/// rotating addresses cannot grow the map without bound.
const SWEEP_AT: usize = 4096;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Whether another event for `key` is still allowed (does not count one).
    pub fn allowed(&self, key: &K) -> bool {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        match events.get_mut(key) {
            Some(times) => {
                expire(times, now, self.window);
                (times.len() as u32) < self.max
            }
            None => self.max > 0,
        }
    }

    /// Counts an event for `key`.
    pub fn record(&self, key: &K) {
        let now = Instant::now();
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() >= SWEEP_AT {
            let window = self.window;
            events.retain(|_, times| {
                expire(times, now, window);
                !times.is_empty()
            });
        }
        let times = events.entry(key.clone()).or_default();
        expire(times, now, self.window);
        times.push_back(now);
    }
}

fn expire(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        times.pop_front();
    }
}

/// Whether an address is loopback, IPv4-mapped IPv6 included.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        assert!(l.allowed(&1));
        l.record(&1);
        l.record(&1);
        assert!(!l.allowed(&1));
        assert!(l.allowed(&2));
    }

    #[test]
    fn window_expires() {
        let l = RateLimiter::new(1, Duration::from_millis(0));
        l.record(&"a");
        assert!(l.allowed(&"a"));
    }
}
