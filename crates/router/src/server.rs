//! The router's shared state, its listeners, and configuration reloads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use daemon::config::ConfigError;
use sasl_server::{ScramCredentials, ScramHash};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use xml_stream::io::{Transport, XmlConnection};
use xml_stream::{Limits, StreamError, StreamErrorCondition};

use crate::config::RouterConfig;
use crate::link::Link;
use crate::negotiation::{negotiate, Refused};
use crate::routing;
use crate::tree::Tree;

/// Iterations for the SCRAM credentials derived from `router.toml` passwords (RFC 7677's minimum).
const SCRAM_ITERATIONS: u32 = 4096;

/// How long shutdown waits for components to be sent their `system-shutdown`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// A configuration together with what is derived from it once per load.
pub struct Settings {
    pub config: RouterConfig,
    /// SCRAM-SHA-256 credentials of each `[users]` account.
    pub scram: HashMap<String, ScramCredentials>,
    pub tls: Option<TlsAcceptor>,
}

impl Settings {
    pub fn new(config: RouterConfig, path: &std::path::Path) -> Result<Settings, ConfigError> {
        let mut scram = HashMap::new();
        for (name, user) in &config.users {
            let credentials =
                ScramCredentials::generate(ScramHash::Sha256, &user.password, SCRAM_ITERATIONS)
                    .map_err(|e| {
                        ConfigError::new(
                            path,
                            format!("users.{name}.password"),
                            format!("unusable password: {}", e.as_str()),
                        )
                    })?;
            scram.insert(name.clone(), credentials);
        }
        let tls = if config.tls.enabled() {
            let server = daemon::tls::server_config(&config.tls.certificate, &config.tls.key)
                .map_err(|e| ConfigError::new(path, "tls", e.to_string()))?;
            Some(TlsAcceptor::from(server))
        } else {
            None
        };
        Ok(Settings { config, scram, tls })
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_stanza_bytes: self.config.limits.max_stanza_bytes,
            ..Limits::default()
        }
    }
}

/// The router: settings, the delivery tree, and the connections in it.
pub struct Router {
    config_path: PathBuf,
    settings: RwLock<Arc<Settings>>,
    tree: RwLock<Tree>,
    next_link: AtomicU64,
    /// Every connection task, so shutdown can wait for their last bytes to be written.
    connections: TaskTracker,
    /// Cancelled at shutdown: listeners stop accepting (components reconnecting at once after
    /// their `system-shutdown` must not hold the exit up) and unauthenticated connections drop.
    stopping: CancellationToken,
}

impl Router {
    /// Loads `path` and builds a router from it (listeners are bound by [`Router::listen`]).
    pub fn load(path: PathBuf) -> Result<Arc<Router>, ConfigError> {
        let config = RouterConfig::load(&path)?;
        let settings = Settings::new(config, &path)?;
        Ok(Arc::new(Router {
            config_path: path,
            settings: RwLock::new(Arc::new(settings)),
            tree: RwLock::new(Tree::default()),
            next_link: AtomicU64::new(1),
            connections: TaskTracker::new(),
            stopping: CancellationToken::new(),
        }))
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn tree(&self) -> RwLockReadGuard<'_, Tree> {
        self.tree.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn tree_mut(&self) -> RwLockWriteGuard<'_, Tree> {
        self.tree.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the configuration file. Connections stay up; new settings apply to what they
    /// do next. A bad file changes nothing.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let config = RouterConfig::load(&self.config_path)?;
        let old = self.settings();
        if config.listen != old.config.listen {
            tracing::warn!("listen addresses changed; they take effect at the next restart");
        }
        let settings = Settings::new(config, &self.config_path)?;
        tracing::info!(
            users = settings.config.users.len(),
            components = settings.config.components.len(),
            aliases = settings.config.aliases.len(),
            routes = settings.config.routes.len(),
            filters = settings.config.filters.len(),
            "configuration reloaded"
        );
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
        Ok(())
    }

    /// Binds every configured listen address.
    pub async fn listen(&self) -> Result<Vec<TcpListener>, ConfigError> {
        let settings = self.settings();
        let mut listeners = Vec::new();
        for address in &settings.config.listen {
            let listener = TcpListener::bind(address).await.map_err(|e| {
                ConfigError::new(&self.config_path, "listen", format!("{address}: {e}"))
            })?;
            tracing::info!(%address, "component port open");
            listeners.push(listener);
        }
        Ok(listeners)
    }

    /// Accepts connections on `listener` forever.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = self.stopping.cancelled() => return,
            };
            match accepted {
                Ok((tcp, peer)) => {
                    self.connections.spawn(self.clone().connection(tcp, peer));
                }
                Err(e) => {
                    // Out of file descriptors, typically: wait instead of spinning.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    async fn connection(self: Arc<Self>, tcp: TcpStream, peer: SocketAddr) {
        let _ = tcp.set_nodelay(true);
        let settings = self.settings();
        let conn = XmlConnection::new(Transport::Plain(tcp), settings.limits());
        let negotiation = tokio::select! {
            result = negotiate(conn, &settings) => result,
            () = self.stopping.cancelled() => return,
        };
        let negotiated = match negotiation {
            Ok(negotiated) => negotiated,
            Err(Refused::StreamError(condition, text)) => {
                tracing::info!(%peer, "refused a component: {condition}: {text}");
                return;
            }
            Err(Refused::Gone(reason)) => {
                tracing::debug!(%peer, "connection ended before authentication: {reason}");
                return;
            }
        };
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        let socket = negotiated
            .conn
            .transport()
            .tcp()
            .as_fd()
            .try_clone_to_owned()
            .ok();
        let (reader, outbox, writer) = negotiated
            .conn
            .split(settings.config.limits.max_queue_bytes);
        let link = Arc::new(Link::new(
            id,
            negotiated.account,
            negotiated.protocol,
            peer,
            outbox,
            socket,
            settings.config.limits.max_queue_bytes,
        ));
        tracing::info!(link = id, account = %link.account, %peer, protocol = ?link.protocol, "component authenticated");
        self.tree_mut().add_link(link.clone());
        if self.stopping.is_cancelled() {
            // Authenticated just as shutdown began, after it closed the links it saw.
            link.close_with(StreamError::new(StreamErrorCondition::SystemShutdown));
        }
        routing::run(&self, &link, reader).await;
        // Let the writer flush what is queued (a stream error, the footer), but not forever.
        let abort = writer.abort_handle();
        if link.is_stuck()
            || tokio::time::timeout(Duration::from_secs(5), writer)
                .await
                .is_err()
        {
            abort.abort();
        }
        tracing::info!(link = id, account = %link.account, "component disconnected");
    }

    /// Closes every component stream with `system-shutdown` and waits (boundedly) until the
    /// stream errors are written.
    pub async fn shutdown(&self) {
        self.stopping.cancel();
        let links: Vec<Arc<Link>> = self.tree().links().cloned().collect();
        for link in &links {
            link.close_with(StreamError::new(StreamErrorCondition::SystemShutdown));
        }
        self.connections.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some components did not take their stream errors in time");
        }
    }
}
