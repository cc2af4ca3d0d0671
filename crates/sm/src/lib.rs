//! starling-sm: the session manager (jabberd2's sm, written fresh).
//!
//! It binds its id and its domains at the router, keeps the sessions c2s starts with the
//! session-control protocol, and runs every stanza through named chains of modules
//! ([`chain`], [`modules`]): roster, subscriptions, presence, message delivery, offline
//! storage. One task owns all state and handles packets in order, so the rules of RFC 6121
//! never race; storage calls run on the storage thread.

pub mod chain;
pub mod config;
mod control;
pub mod core;
pub mod delivery;
pub mod dispatch;
pub mod modules;
pub mod privacy;
pub mod session;
mod shutdown;
pub mod stanza;
pub mod subscription;
pub mod time;

use std::path::PathBuf;

use component::{Bind, Component, Event};
use daemon::{ConfigError, Signal, Signals};
use storage::{Storage, StorageConfig};

pub use dispatch::Sm;

/// The daemon: load `config_path`, connect, and serve until SIGTERM/SIGINT.
pub async fn run(config_path: PathBuf) -> Result<(), ConfigError> {
    let _log = daemon::logging::init("info");
    let loaded = config::load(&config_path)?;
    let cfg = loaded.config;
    let storage = Storage::open(&StorageConfig {
        path: loaded.database.clone(),
    })
    .await
    .map_err(|e| ConfigError::new(&config_path, "storage.path", e))?;
    let mut binds = vec![Bind {
        name: Some(cfg.id.clone()),
        ..Bind::default()
    }];
    for domain in &cfg.domains {
        binds.push(Bind {
            name: Some(domain.clone()),
            multi: true,
            ..Bind::default()
        });
    }
    let (component, mut events) = Component::spawn(cfg.router.connector(binds));
    let mut signals = Signals::new().map_err(|e| {
        ConfigError::new(
            &config_path,
            "",
            format!("cannot install signal handlers: {e}"),
        )
    })?;
    let core = core::Core::new(
        cfg.id.clone(),
        cfg.domains.iter().cloned().collect(),
        cfg.limits.clone(),
        storage,
        component,
    );
    let mut sm = Sm::new(core, modules::standard(&cfg));
    tracing::info!(id = %cfg.id, domains = ?cfg.domains, database = %loaded.database.display(), "starling-sm starting");
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(Event::Online) => tracing::info!(id = %cfg.id, "online at the router"),
                Some(Event::Offline) => tracing::warn!("offline: reconnecting to the router"),
                Some(Event::Packet(packet)) => sm.packet(packet).await,
                None => return Ok(()),
            },
            signal = signals.recv() => match signal {
                Signal::Reload => tracing::info!("SIGHUP: nothing to reload yet"),
                Signal::Shutdown => {
                    tracing::info!(sessions = sm.core.sessions.len(), "shutting down");
                    sm.shutdown().await;
                    return Ok(());
                }
            },
        }
    }
}
