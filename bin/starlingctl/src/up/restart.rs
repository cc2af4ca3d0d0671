//! When to restart a daemon that died, and when to stop trying.
//!
//! Exponential backoff keeps a daemon that fails at start-up (port taken, router unreachable)
//! from spinning; the reset after a stable run means a crash a week later is retried at once; and
//! giving up on a crash loop keeps a broken config from filling the log forever while the other
//! daemons go on serving.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Delay before the first restart, doubled after each further exit.
pub const INITIAL_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between restarts.
pub const MAX_DELAY: Duration = Duration::from_secs(30);
/// A run at least this long counts as healthy: the next crash restarts after `INITIAL_DELAY`.
pub const STABLE_RUN: Duration = Duration::from_secs(60);
/// This many exits within `CRASH_WINDOW` is a crash loop: give up on the daemon.
pub const CRASH_LIMIT: usize = 5;
pub const CRASH_WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Restart(Duration),
    GiveUp,
}

/// The restart history of one daemon.
#[derive(Debug, Clone)]
pub struct RestartPolicy {
    next_delay: Duration,
    recent_exits: VecDeque<Instant>,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            next_delay: INITIAL_DELAY,
            recent_exits: VecDeque::new(),
        }
    }
}

impl RestartPolicy {
    /// The daemon, started at `started`, exited unexpectedly at `exited`.
    pub fn on_exit(&mut self, started: Instant, exited: Instant) -> Decision {
        if exited.saturating_duration_since(started) >= STABLE_RUN {
            self.next_delay = INITIAL_DELAY;
        }
        self.recent_exits.push_back(exited);
        while let Some(&oldest) = self.recent_exits.front() {
            if exited.saturating_duration_since(oldest) < CRASH_WINDOW {
                break;
            }
            self.recent_exits.pop_front();
        }
        if self.recent_exits.len() >= CRASH_LIMIT {
            return Decision::GiveUp;
        }
        let delay = self.next_delay;
        self.next_delay = (delay * 2).min(MAX_DELAY);
        Decision::Restart(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_doubles_then_crash_loop_gives_up() {
        let mut policy = RestartPolicy::default();
        let t0 = Instant::now();
        let mut now = t0;
        let mut delays = Vec::new();
        loop {
            let started = now;
            now += Duration::from_millis(100);
            match policy.on_exit(started, now) {
                Decision::Restart(d) => {
                    delays.push(d.as_secs());
                    now += d;
                }
                Decision::GiveUp => break,
            }
        }
        assert_eq!(delays, vec![1, 2, 4, 8]);
    }

    #[test]
    fn delay_is_capped_when_exits_are_spread_out() {
        let mut policy = RestartPolicy::default();
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..8 {
            // Each run lasts 20 s: never 5 exits within a minute, never stable.
            let started = now;
            now += secs(20);
            match policy.on_exit(started, now) {
                Decision::Restart(d) => {
                    delays.push(d.as_secs());
                    now += d;
                }
                Decision::GiveUp => panic!("gave up on spread-out exits"),
            }
        }
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn stable_run_resets_backoff() {
        let mut policy = RestartPolicy::default();
        let mut now = Instant::now();
        for _ in 0..3 {
            let started = now;
            now += secs(1);
            policy.on_exit(started, now);
        }
        let started = now;
        now += secs(61);
        assert_eq!(
            policy.on_exit(started, now),
            Decision::Restart(INITIAL_DELAY)
        );
    }
}
