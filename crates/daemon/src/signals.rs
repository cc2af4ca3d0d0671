//! The two things a daemon is asked to do by signal: reload its config (SIGHUP) or shut down
//! cleanly (SIGTERM, and SIGINT for Ctrl-C in a terminal).

use std::io;

use tokio::signal::unix::{signal, SignalKind};

/// What a received signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: re-read the config file and apply what can change at run time.
    Reload,
    /// SIGTERM or SIGINT: stop accepting work, close connections, exit.
    Shutdown,
}

/// Listens for SIGHUP, SIGTERM and SIGINT. Create it early in `main` (inside the tokio runtime):
/// from then on these signals no longer kill the process but are delivered here.
pub struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next signal. Cancel-safe, so it can sit in a `select!` loop.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            // `None` only happens when the runtime is shutting down: treat as a shutdown too.
            got = self.hup.recv() => if got.is_some() { Signal::Reload } else { Signal::Shutdown },
            _ = self.term.recv() => Signal::Shutdown,
            _ = self.int.recv() => Signal::Shutdown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn sighup_is_reload_and_sigint_is_shutdown() {
        let mut signals = Signals::new().unwrap();
        let pid = std::process::id().to_string();
        for (name, expected) in [("-HUP", Signal::Reload), ("-INT", Signal::Shutdown)] {
            let status = std::process::Command::new("kill")
                .args([name, &pid])
                .status()
                .unwrap();
            assert!(status.success());
            let got = tokio::time::timeout(Duration::from_secs(10), signals.recv())
                .await
                .unwrap();
            assert_eq!(got, expected);
        }
    }
}
