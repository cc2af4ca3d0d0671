//! Latency histograms and CPU accounting.

use hdrhistogram::Histogram;

/// Latencies in nanoseconds, 3 significant digits, from 1 µs to 60 s (larger values are
/// clamped to 60 s, smaller ones counted as 1 µs).
pub struct Latencies(Histogram<u64>);

const LOWEST_NS: u64 = 1_000;
const HIGHEST_NS: u64 = 60_000_000_000;

impl Latencies {
    pub fn new() -> Self {
        let histogram = Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, 3)
            .expect("constant histogram bounds are valid");
        Latencies(histogram)
    }

    pub fn record(&mut self, nanos: u64) {
        self.0.saturating_record(nanos.clamp(LOWEST_NS, HIGHEST_NS));
    }

    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// The latency at quantile `q` (0..=1), in milliseconds; 0 when nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(q) as f64 / 1e6
    }
}

/// Clock ticks per second in /proc (USER_HZ, fixed at 100 in the Linux user ABI).
const USER_HZ: f64 = 100.0;

/// CPU time (user + system, all threads) a process has used so far, from /proc/PID/stat;
/// `None` if the process is gone or the file cannot be read.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) overall are indexes 11 and 12 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// CPU time all processes on the machine have used so far (user, nice, system, irq, softirq,
/// steal over every core), from /proc/stat.
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Some(busy as f64 / USER_HZ)
}

/// CPU used by a process between two points, as a share of one core over `seconds`.
/// `None` as pid measures the whole machine.
pub struct CpuMeter {
    pid: Option<u32>,
    start: Option<f64>,
}

impl CpuMeter {
    pub fn process(pid: u32) -> Self {
        CpuMeter {
            pid: Some(pid),
            start: cpu_seconds(pid),
        }
    }

    pub fn machine() -> Self {
        CpuMeter {
            pid: None,
            start: machine_busy_seconds(),
        }
    }

    fn now(&self) -> Option<f64> {
        match self.pid {
            Some(pid) => cpu_seconds(pid),
            None => machine_busy_seconds(),
        }
    }

    /// Percent of one core used since the start (200 = two cores busy).
    pub fn percent(&self, seconds: f64) -> Option<f64> {
        let used = self.now()? - self.start?;
        (seconds > 0.0).then(|| 100.0 * used / seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_in_milliseconds() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        for i in 1..=50u64 {
            a.record(i * 1_000_000);
            b.record((50 + i) * 1_000_000);
        }
        a.merge(&b);
        assert!((a.quantile_ms(0.5) - 50.0).abs() < 0.1);
        assert!((a.quantile_ms(0.99) - 99.0).abs() < 0.1);
        assert_eq!(Latencies::new().quantile_ms(0.5), 0.0);
    }

    #[test]
    fn own_cpu_time_is_readable() {
        assert!(cpu_seconds(std::process::id()).is_some());
        assert!(machine_busy_seconds().is_some());
    }
}
