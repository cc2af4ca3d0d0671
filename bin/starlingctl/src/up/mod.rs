//! `starlingctl up`: runs every daemon that has a config file in etc/ as its own process, in the
//! manner of jabberd2's wrapper — labelled output, SIGHUP and SIGTERM passed on, a daemon that dies
//! restarted while the others keep running.

mod first_start;
pub mod locate;
pub mod output;
pub mod restart;
pub mod supervisor;

use std::path::Path;

use daemon::{Signal, Signals};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::daemons::DAEMONS;
use crate::error::CtlError;
use output::{Output, CTL};
use supervisor::{Request, Spec};

/// Runs until SIGTERM/SIGINT (then stops every daemon and returns `Ok`), or until every daemon
/// has been given up on (an error).
pub async fn run(etc: &Path) -> Result<(), CtlError> {
    let specs = plan(etc)?;
    // Signals first: from here on SIGTERM cannot kill starlingctl before it stops its children.
    let mut signals =
        Signals::new().map_err(|e| CtlError::new(format_args!("cannot handle signals: {e}")))?;
    let width = specs
        .iter()
        .map(|s| s.label.len())
        .chain([CTL.len()])
        .max()
        .unwrap_or(0);
    let (out, writer) = Output::start(width);

    let result = supervise_all(specs, &mut signals, &out).await;
    drop(out);
    // Everything queued is written before exiting.
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    result
}

/// The daemons to start: every config present whose executable can be found, router first.
fn plan(etc: &Path) -> Result<Vec<Spec>, CtlError> {
    match std::fs::metadata(etc) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(CtlError::file(etc, "not a directory")),
        Err(e) => return Err(CtlError::file(etc, format_args!("cannot read: {e}"))),
    }
    let mut specs = Vec::new();
    let mut present = 0;
    for daemon in DAEMONS {
        let config = etc.join(daemon.config_file());
        if !config.is_file() {
            continue;
        }
        present += 1;
        let Some(executable) = locate::executable(daemon.executable) else {
            eprintln!(
                "warning: {} exists but {} was found neither next to starlingctl nor in PATH; not starting it",
                config.display(),
                daemon.executable
            );
            continue;
        };
        specs.push(Spec {
            label: daemon.name,
            executable,
            config,
        });
    }
    if present > 0 {
        for name in first_start::prepare(etc)? {
            eprintln!("first start: created the router account for {name} (in its config and the router's)");
        }
    }
    if present == 0 {
        let names: Vec<String> = DAEMONS.iter().map(|d| d.config_file()).collect();
        return Err(CtlError::file(
            etc,
            format_args!(
                "no daemon config found (looked for {}); run `starlingctl init --domain …` first",
                names.join(", ")
            ),
        ));
    }
    if specs.is_empty() {
        return Err(CtlError::new(
            "none of the configured daemons' executables was found",
        ));
    }
    Ok(specs)
}

async fn supervise_all(
    specs: Vec<Spec>,
    signals: &mut Signals,
    out: &Output,
) -> Result<(), CtlError> {
    let mut tasks = JoinSet::new();
    let mut handles = Vec::new();
    for spec in specs {
        let (tx, rx) = mpsc::unbounded_channel();
        handles.push(tx);
        tasks.spawn(supervisor::supervise(spec, rx, out.clone()));
    }
    let tell = |request: Request| {
        for handle in &handles {
            // A closed channel is a daemon given up on: nothing to tell.
            let _ = handle.send(request);
        }
    };

    loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                Signal::Reload => {
                    out.ctl("SIGHUP: passing it on to every daemon").await;
                    tell(Request::Signal(nix::sys::signal::Signal::SIGHUP));
                }
                Signal::Shutdown => break,
            },
            finished = tasks.join_next() => if finished.is_none() {
                return Err(CtlError::new("every daemon was given up on; exiting"));
            },
        }
    }

    out.ctl("stopping every daemon (again to kill them at once)")
        .await;
    tell(Request::Stop);
    loop {
        tokio::select! {
            finished = tasks.join_next() => if finished.is_none() { break },
            signal = signals.recv() => if signal == Signal::Shutdown {
                out.ctl("killing every daemon").await;
                tell(Request::Kill);
            },
        }
    }
    out.ctl("all daemons stopped").await;
    Ok(())
}
