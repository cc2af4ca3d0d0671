//! `starling-c2s --config c2s.toml`

use std::process::ExitCode;

use c2s::C2s;
use clap::Parser;
use daemon::{Cli, ConfigError, Signal, Signals};

fn main() -> ExitCode {
    let cli = Cli::parse();
    daemon::run_main(run(cli))
}

async fn run(cli: Cli) -> Result<(), ConfigError> {
    let _log = daemon::logging::init("info");
    let mut signals = Signals::new()
        .map_err(|e| ConfigError::new("(signals)", "", format!("cannot install handlers: {e}")))?;
    let mut c2s = C2s::start(&cli.config).await?;
    for addr in c2s.local_addrs() {
        tracing::info!("listening on {addr}");
    }
    c2s.serve();
    loop {
        match signals.recv().await {
            Signal::Reload => {
                tracing::info!("SIGHUP: nothing to reload yet; restart to apply config changes")
            }
            Signal::Shutdown => {
                tracing::info!("shutting down");
                c2s.shutdown().await;
                return Ok(());
            }
        }
    }
}
