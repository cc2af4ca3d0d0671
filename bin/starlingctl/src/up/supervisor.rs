//! One daemon under `starlingctl up`: start it, forward its output and the signals it is sent,
//! restart it when it dies on its own, stop it when asked.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command as Process};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::output::{Output, Stream};
use super::restart::{Decision, RestartPolicy};

/// How long a daemon has to exit after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for the last lines of a dead daemon's output (a grandchild may hold the
/// pipe open forever).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// What to run.
#[derive(Debug, Clone)]
pub struct Spec {
    pub label: &'static str,
    pub executable: PathBuf,
    pub config: PathBuf,
}

/// Requests from the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Pass this signal on to the running daemon (SIGHUP).
    Signal(Signal),
    /// SIGTERM it, wait up to [`STOP_TIMEOUT`], then SIGKILL; do not restart.
    Stop,
    /// SIGKILL it now (a second Ctrl-C while stopping).
    Kill,
}

/// How supervision of a daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stopped,
    GaveUp,
}

/// Supervises `spec` until stopped or given up on. Spawn it as a task.
pub async fn supervise(
    spec: Spec,
    mut requests: mpsc::UnboundedReceiver<Request>,
    out: Output,
) -> Outcome {
    let mut policy = RestartPolicy::default();
    loop {
        let started = Instant::now();
        let status = match start(&spec, &out).await {
            Ok((mut child, forwarders)) => {
                let status = loop {
                    tokio::select! {
                        status = child.wait() => break status,
                        request = requests.recv() => match request {
                            Some(Request::Signal(signal)) => send(&child, signal),
                            Some(Request::Stop) | None => {
                                stop(&spec, child, forwarders, &mut requests, &out).await;
                                return Outcome::Stopped;
                            }
                            Some(Request::Kill) => {
                                let _ = child.start_kill();
                            }
                        },
                    }
                };
                drain(forwarders).await;
                describe(status)
            }
            Err(e) => format!("could not be started: {e}"),
        };
        match policy.on_exit(started, Instant::now()) {
            Decision::Restart(delay) => {
                out.ctl(format!(
                    "{} {status}; restarting in {} s",
                    spec.label,
                    delay.as_secs()
                ))
                .await;
                if !wait_or_stop(delay, &mut requests).await {
                    return Outcome::Stopped;
                }
            }
            Decision::GiveUp => {
                out.ctl(format!(
                    "{} {status}; giving up on it: it exited too often (crash loop); the others keep running",
                    spec.label
                ))
                .await;
                return Outcome::GaveUp;
            }
        }
    }
}

/// Starts the daemon with `--config`, its output piped to labelled forwarders.
async fn start(spec: &Spec, out: &Output) -> std::io::Result<(Child, Vec<JoinHandle<()>>)> {
    let mut process = Process::new(&spec.executable);
    process
        .arg("--config")
        .arg(&spec.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Should starlingctl itself fail, no daemon is left behind unsupervised.
        .kill_on_drop(true)
        // Its own process group: a Ctrl-C in the terminal reaches only starlingctl, which then
        // stops the daemons in order instead of them all dying at once mid-write.
        .process_group(0);
    die_with_parent(&mut process);
    let mut child = process.spawn()?;
    let pid = child.id().unwrap_or_default();
    out.ctl(format!(
        "started {} (pid {pid}): {} --config {}",
        spec.label,
        spec.executable.display(),
        spec.config.display()
    ))
    .await;
    let mut forwarders = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let out = out.clone();
        let label = spec.label;
        forwarders.push(tokio::spawn(async move {
            out.forward(stdout, Stream::Stdout, label).await
        }));
    }
    if let Some(stderr) = child.stderr.take() {
        let out = out.clone();
        let label = spec.label;
        forwarders.push(tokio::spawn(async move {
            out.forward(stderr, Stream::Stderr, label).await
        }));
    }
    Ok((child, forwarders))
}

/// On Linux, have the kernel SIGTERM the daemon if starlingctl dies (even by SIGKILL), so that a
/// restart of starlingctl does not find the ports still taken by orphans.
#[cfg(target_os = "linux")]
fn die_with_parent(process: &mut Process) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and only makes two system calls (prctl,
    // getppid), both async-signal-safe; it allocates nothing.
    unsafe {
        process.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM)?;
            // The parent may have died before prctl took effect.
            if nix::unistd::getppid() != parent {
                return Err(nix::errno::Errno::ESRCH.into());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_process: &mut Process) {}

/// Signals the child if it has not been reaped yet (so its pid cannot have been reused).
fn send(child: &Child, signal: Signal) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // ESRCH means it is exiting already: the wait in the caller sees that.
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// SIGTERM, a bounded wait (cut short by a `Kill` request), then SIGKILL.
async fn stop(
    spec: &Spec,
    mut child: Child,
    forwarders: Vec<JoinHandle<()>>,
    requests: &mut mpsc::UnboundedReceiver<Request>,
    out: &Output,
) {
    send(&child, Signal::SIGTERM);
    let deadline = tokio::time::sleep(STOP_TIMEOUT);
    tokio::pin!(deadline);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            () = &mut deadline => {
                out.ctl(format!("{} did not exit within {} s of SIGTERM; killing it", spec.label, STOP_TIMEOUT.as_secs())).await;
                let _ = child.start_kill();
                break child.wait().await;
            }
            request = requests.recv() => {
                if request == Some(Request::Kill) {
                    let _ = child.start_kill();
                    break child.wait().await;
                }
            }
        }
    };
    drain(forwarders).await;
    out.ctl(format!("{} stopped ({})", spec.label, describe(status)))
        .await;
}

/// Waits out a restart delay; false if asked to stop meanwhile.
async fn wait_or_stop(delay: Duration, requests: &mut mpsc::UnboundedReceiver<Request>) -> bool {
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            request = requests.recv() => match request {
                // Nothing is running to receive a SIGHUP; the restart reads the config anew.
                Some(Request::Signal(_)) => {}
                Some(Request::Stop | Request::Kill) | None => return false,
            },
        }
    }
}

/// Lets the forwarders print the daemon's last lines.
async fn drain(forwarders: Vec<JoinHandle<()>>) {
    for forwarder in forwarders {
        let abort = forwarder.abort_handle();
        if tokio::time::timeout(DRAIN_TIMEOUT, forwarder)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

fn describe(status: std::io::Result<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => match Signal::try_from(signal) {
                Ok(signal) => format!("was killed by {signal}"),
                Err(_) => format!("was killed by signal {signal}"),
            },
            (None, None) => format!("exited ({status})"),
        },
        Err(e) => format!("could not be waited for: {e}"),
    }
}
