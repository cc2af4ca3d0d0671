//! `starling-sm --config sm.toml`: the session manager. Everything lives in the `sm` crate.

use std::process::ExitCode;

use clap::Parser;
use daemon::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    daemon::run_main(sm::run(cli.config))
}
