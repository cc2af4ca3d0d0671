//! The command line every daemon shares, and turning a fatal error into `error: …` and exit 1.

use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

/// `starling-<daemon> --config PATH`. Use it as the whole parser, or `#[command(flatten)]` it
/// into a daemon's own.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Cli {
    /// The daemon's TOML config file (see etc/ for commented examples).
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Runs `fut` to completion on a multi-threaded tokio runtime; see [`report`] for the exit code.
pub fn run_main<F, E>(fut: F) -> ExitCode
where
    F: Future<Output = Result<(), E>>,
    E: Display,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report::<std::io::Error>(Err(e)),
    };
    report(runtime.block_on(fut))
}

/// Success → exit 0; an error (a `ConfigError`, a bind failure, …) is printed to stderr as
/// `error: {e}` — a single line that names the file and key for config errors — and exits 1.
pub fn report<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn parses_config_long_and_short() {
        let cli = Cli::try_parse_from(["starling-router", "--config", "etc/router.toml"]).unwrap();
        assert_eq!(cli.config, PathBuf::from("etc/router.toml"));
        let cli = Cli::try_parse_from(["starling-router", "-c", "r.toml"]).unwrap();
        assert_eq!(cli.config, PathBuf::from("r.toml"));
        assert!(Cli::try_parse_from(["starling-router"]).is_err());
    }

    #[test]
    fn report_maps_errors_to_failure() {
        assert_eq!(report::<String>(Ok(())), ExitCode::SUCCESS);
        assert_eq!(report(Err("boom")), ExitCode::FAILURE);
        assert_eq!(run_main(async { Ok::<(), String>(()) }), ExitCode::SUCCESS);
    }
}
