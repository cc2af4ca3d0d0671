//! A clean stop (SIGTERM): every session ends as if its client had left, so that contacts,
//! wherever their sessions are, get the unavailable presence RFC 6121 §4.5.2 asks for; then
//! our stream to the router ends after everything that caused. c2s learns from the router's
//! advertisement that we are gone and closes the streams of our sessions.

use std::time::Duration;

use crate::dispatch::Sm;

/// How long the goodbyes may take to reach the router.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);

impl Sm {
    pub async fn shutdown(&mut self) {
        for sid in self.core.sessions.ids() {
            self.end_session(&sid, None).await;
        }
        self.drain_local().await;
        self.core.close(FLUSH_LIMIT).await;
    }
}
