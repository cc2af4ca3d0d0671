//! `starling-router --config router.toml`

use std::process::ExitCode;

use clap::Parser;
use daemon::{Cli, ConfigError, Signal, Signals};
use router::Router;

fn main() -> ExitCode {
    let cli = Cli::parse();
    daemon::run_main(run(cli))
}

async fn run(cli: Cli) -> Result<(), ConfigError> {
    let _log = daemon::logging::init("info");
    let router = Router::load(cli.config)?;
    let listeners = router.listen().await?;
    let mut signals = Signals::new()
        .map_err(|e| ConfigError::new("(signals)", "", format!("cannot install handlers: {e}")))?;
    for listener in listeners {
        tokio::spawn(router.clone().serve(listener));
    }
    loop {
        match signals.recv().await {
            Signal::Reload => {
                if let Err(e) = router.reload() {
                    tracing::error!("reload refused, keeping the running configuration: {e}");
                }
            }
            Signal::Shutdown => {
                tracing::info!("shutting down");
                router.shutdown().await;
                return Ok(());
            }
        }
    }
}
