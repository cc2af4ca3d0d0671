//! `starling-bench`: load generators for Starling's daemons, one subcommand per scenario.
//!
//! - `router`: N components connected to a component router (Starling's or jabberd2's) exchange
//!   routes as fast as they can, or at a fixed rate, and report routes/s and latency.

mod connect;
mod router_load;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Any failure, with a message that says what was being done.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(version, about = "Load generator for Starling and other XMPP servers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Components exchanging routes through a jabberd2-protocol component router.
    Router(router_load::RouterArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Router(args) => router_load::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("starling-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
