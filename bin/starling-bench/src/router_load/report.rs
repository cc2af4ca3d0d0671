//! The one machine-readable result line of a router run.

use std::fmt;

use crate::stats::Latencies;

pub struct Report {
    pub label: String,
    pub components: usize,
    /// `None` in max mode, else the offered routes per second.
    pub rate: Option<u64>,
    pub window: u64,
    pub seconds: f64,
    /// Routes that arrived during the measurement window.
    pub routes: u64,
    pub latencies: Latencies,
    /// Routes sent and never delivered (bounced ones included).
    pub lost: u64,
    pub bounced: u64,
    pub unsent: u64,
    /// CPU of this process and of the router during the measurement window, in % of one core.
    pub bench_cpu_pct: Option<f64>,
    pub router_cpu_pct: Option<f64>,
    /// CPU used by everything else on the machine meanwhile (noise), in % of one core.
    pub other_cpu_pct: Option<f64>,
    /// Connections that failed during the run.
    pub errors: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "router={} components={} ", self.label, self.components)?;
        match self.rate {
            None => write!(f, "mode=max window={} ", self.window)?,
            Some(rate) => write!(f, "mode=rate rate={rate} ")?,
        }
        let per_sec = self.routes as f64 / self.seconds;
        write!(
            f,
            "routes={} routes_per_sec={per_sec:.0} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} max_ms={:.3} \
             lost={} bounced={} unsent={}",
            self.routes,
            self.latencies.quantile_ms(0.5),
            self.latencies.quantile_ms(0.9),
            self.latencies.quantile_ms(0.99),
            self.latencies.quantile_ms(1.0),
            self.lost,
            self.bounced,
            self.unsent,
        )?;
        for (name, value) in [
            ("bench_cpu_pct", self.bench_cpu_pct),
            ("router_cpu_pct", self.router_cpu_pct),
            ("other_cpu_pct", self.other_cpu_pct),
        ] {
            if let Some(v) = value {
                write!(f, " {name}={v:.0}")?;
            }
        }
        write!(f, " errors={}", self.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_of_key_values() {
        let mut latencies = Latencies::new();
        latencies.record(2_000_000);
        let report = Report {
            label: "starling".into(),
            components: 8,
            rate: None,
            window: 64,
            seconds: 10.0,
            routes: 1_000,
            latencies,
            lost: 0,
            bounced: 0,
            unsent: 0,
            bench_cpu_pct: Some(95.0),
            router_cpu_pct: None,
            other_cpu_pct: None,
            errors: 0,
        };
        let line = report.to_string();
        assert!(line.starts_with("router=starling components=8 mode=max window=64 routes=1000 routes_per_sec=100 p50_ms=2.00"));
        assert!(line.contains(" bench_cpu_pct=95 errors=0"));
        assert!(!line.contains('\n'));
    }
}
