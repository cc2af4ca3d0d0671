//! Work `starlingctl up` does before starting a daemon, so that a fresh etc/ runs as it is.
//!
//! Nothing is needed today: the router runs without TLS while `[tls] certificate` is empty. When
//! the daemons that need a certificate arrive (c2s, s2s), this is where one is generated on first
//! start, with `daemon::tls::ensure_self_signed(etc/tls, [domain])`, if their config names none.

use std::path::Path;

use crate::daemons::Daemon;
use crate::error::CtlError;

pub fn prepare(_etc: &Path, _daemon: &Daemon) -> Result<(), CtlError> {
    Ok(())
}
