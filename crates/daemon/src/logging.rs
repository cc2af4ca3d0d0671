//! Logging for every daemon: `tracing` events as text lines on stderr, with a filter that can be
//! changed on SIGHUP without restarting.
//!
//! stderr rather than a log file because the daemons run under `starlingctl up` or systemd, both of
//! which collect and label a child's output; colours only when stderr is a terminal, so that
//! collected logs stay plain text.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The environment variable that overrides the configured filter, as everywhere in Rust.
const ENV: &str = "RUST_LOG";

/// Changes the active log filter; returned by [`init`].
#[derive(Clone)]
pub struct LogReload {
    handle: reload::Handle<EnvFilter, Registry>,
    /// Set when `RUST_LOG` chose the filter: an operator debugging with `RUST_LOG` must not lose
    /// that level because a SIGHUP re-read the config file.
    from_env: bool,
}

impl LogReload {
    /// Replaces the filter (an `EnvFilter` directive string such as `info,router=debug`), unless
    /// `RUST_LOG` is set, which keeps precedence. An invalid directive leaves the filter unchanged.
    pub fn set_filter(&self, filter: &str) -> Result<(), String> {
        let new = EnvFilter::try_new(filter)
            .map_err(|e| format!("invalid log filter {filter:?}: {e}"))?;
        if self.from_env {
            tracing::debug!(
                "{ENV} is set; keeping it rather than the configured log filter {filter:?}"
            );
            return Ok(());
        }
        self.handle.reload(new).map_err(|e| e.to_string())
    }
}

/// Installs the global subscriber: `RUST_LOG` if set and valid, else `default_filter` (falling
/// back to `info` if that does not parse). Calling it again (e.g. from several tests) leaves the
/// first subscriber in place; the returned handle then changes nothing.
pub fn init(default_filter: &str) -> LogReload {
    let (filter, from_env) = initial_filter(default_filter);
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .with_level(true);
    // An error only means a subscriber is already installed, which is fine for tests.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    LogReload { handle, from_env }
}

fn initial_filter(default_filter: &str) -> (EnvFilter, bool) {
    if let Ok(env) = std::env::var(ENV) {
        match EnvFilter::try_new(&env) {
            Ok(filter) => return (filter, true),
            // No subscriber yet, so the warning goes straight to stderr.
            Err(e) => eprintln!("warning: ignoring invalid {ENV}={env:?}: {e}"),
        }
    }
    match EnvFilter::try_new(default_filter) {
        Ok(filter) => (filter, false),
        Err(e) => {
            eprintln!("warning: invalid log filter {default_filter:?} ({e}); using \"info\"");
            (EnvFilter::new("info"), false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects formatted log lines so the test can see what the filter let through.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn set_filter_changes_what_is_logged() {
        // The same layers as `init`, but scoped to this test instead of installed globally.
        let (filter, handle) = reload::Layer::new(EnvFilter::new("info"));
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let fmt = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false);
        let subscriber = tracing_subscriber::registry().with(filter).with(fmt);
        let reload = LogReload {
            handle,
            from_env: false,
        };
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!("hidden");
            assert!(reload.set_filter("router=notalevel").is_err());
            reload.set_filter("debug").unwrap();
            tracing::debug!("shown");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(!text.contains("hidden"), "{text}");
        assert!(
            text.contains("DEBUG daemon::logging::tests: shown"),
            "{text}"
        );
    }

    #[test]
    fn rust_log_keeps_precedence_over_reload() {
        let (_filter, handle) = reload::Layer::<EnvFilter, Registry>::new(EnvFilter::new("info"));
        let reload = LogReload {
            handle,
            from_env: true,
        };
        // Accepted (valid) but not applied; the layer was never installed, so applying would fail.
        reload.set_filter("trace").unwrap();
        assert!(reload.set_filter("x=nope").is_err());
    }
}
