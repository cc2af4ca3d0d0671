//! What every Starling daemon shares: the `--config` command line, config loading with
//! file/key/problem errors, logging with a filter reloadable on SIGHUP, the reload/shutdown
//! signals, and TLS setup.
//!
//! A daemon's `main` is typically:
//!
//! ```no_run
//! use clap::Parser;
//! # async fn run(config: std::path::PathBuf) -> Result<(), daemon::config::ConfigError> { Ok(()) }
//! fn main() -> std::process::ExitCode {
//!     let cli = daemon::Cli::parse();
//!     daemon::run_main(run(cli.config))
//! }
//! ```

pub mod cli;
pub mod config;
pub mod files;
pub mod logging;
pub mod signals;
pub mod tls;

pub use cli::{report, run_main, Cli};
pub use config::ConfigError;
pub use logging::LogReload;
pub use signals::{Signal, Signals};
pub use tls::TlsError;
