//! starling-c2s: the client edge.
//!
//! Clients connect on the STARTTLS ports (RFC 6120) or the direct-TLS ports (XEP-0368); each
//! connection negotiates TLS, SASL (SCRAM-SHA-1/256/512 and -PLUS, PLAIN under TLS), optionally
//! registers an account in-band (XEP-0077), binds a resource and then has its stanzas relayed to
//! the session manager of its domain through the router, with jabberd2's session-control
//! protocol (`sc:session`, `sc:c2s`/`sc:sm` attributes), so that a jabberd2 sm works too.
//!
//! Modules, one concept each:
//! - [`config`]: the `c2s.toml` file;
//! - [`tls`]: per-domain certificates and channel-binding data;
//! - [`listener`]: accept loops;
//! - [`stream`]: one connection's socket and parser, idle timer included;
//! - [`negotiation`]: stream headers, features, STARTTLS, dispatch until a resource is bound;
//! - [`sasl`]: the SASL exchange, failure delays and limits;
//! - [`register`]: in-band registration, password change, account removal;
//! - [`bind`]: resource binding and the sm's `start`/`started`;
//! - [`session`]: the relay between a bound client and its sm;
//! - [`hub`]: the router link: which connection a packet from the sm belongs to;
//! - [`control`]: the session-control elements;
//! - [`limits`]: rate limiting of logins and registrations;
//! - [`throttle`]: read rate limits per connection.

pub mod bind;
pub mod config;
pub mod control;
pub mod hub;
pub mod limits;
pub mod listener;
pub mod negotiation;
pub mod register;
pub mod sasl;
pub mod session;
pub mod sm;
pub mod stream;
pub mod throttle;
pub mod tls;
pub mod xml;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use component::wire::Bind;
use component::Component;
use daemon::ConfigError;
use storage::Storage;
use tokio::sync::{mpsc, watch};

pub use config::Config;
use hub::{Hub, ToConn};
use limits::RateLimiter;
use tls::TlsSetup;

/// Everything connections share.
pub struct Ctx {
    pub config: Config,
    pub hub: Hub,
    pub storage: Storage,
    pub tls: TlsSetup,
    pub auth_failures_ip: RateLimiter<IpAddr>,
    pub auth_failures_account: RateLimiter<String>,
    pub registrations: RateLimiter<IpAddr>,
    /// Flips to `true` on SIGTERM: every connection closes with `system-shutdown`.
    pub shutdown: watch::Sender<bool>,
}

/// One client connection's identity and its channel from the router side. Unregisters itself
/// when dropped.
pub struct Conn {
    pub ctx: Arc<Ctx>,
    pub id: u64,
    /// `id` as the decimal string used in `sc:c2s`.
    pub sc_id: String,
    pub peer: SocketAddr,
    pub rx: mpsc::UnboundedReceiver<ToConn>,
    pub shutdown: watch::Receiver<bool>,
}

impl Conn {
    pub fn new(ctx: Arc<Ctx>, peer: SocketAddr) -> Conn {
        let (id, rx) = ctx.hub.register();
        let shutdown = ctx.shutdown.subscribe();
        Conn {
            ctx,
            id,
            sc_id: id.to_string(),
            peer,
            rx,
            shutdown,
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.ctx.hub.unregister(self.id);
    }
}

/// A loaded, running c2s.
pub struct C2s {
    ctx: Arc<Ctx>,
    listeners: Vec<listener::Listener>,
}

impl C2s {
    /// Loads the config, opens storage, prepares TLS, binds the listening sockets and starts
    /// the router connection. Errors name the file and key they concern.
    pub async fn start(config_path: &Path) -> Result<C2s, ConfigError> {
        let config = Config::load(config_path)?;
        let tls = TlsSetup::load(&config, &Config::certs_dir(config_path))
            .map_err(|e| ConfigError::new(config_path, "hosts", e))?;
        let storage = Storage::open(&config.storage)
            .await
            .map_err(|e| ConfigError::new(config_path, "storage.path", e))?;
        let mut listeners = Vec::new();
        for (addresses, direct, key) in [
            (&config.listen, false, "listen"),
            (&config.direct_tls_listen, true, "direct_tls_listen"),
        ] {
            for address in addresses {
                let l = listener::Listener::bind(*address, direct)
                    .await
                    .map_err(|e| ConfigError::new(config_path, key, format!("{address}: {e}")))?;
                listeners.push(l);
            }
        }
        let connector = config.router.connector(vec![Bind {
            name: Some(config.id.clone()),
            ..Bind::default()
        }]);
        let (component, events) = Component::spawn(connector);
        let l = &config.limits;
        let window = |secs: u64| Duration::from_secs(secs.max(1));
        let ctx = Arc::new(Ctx {
            hub: Hub::new(config.id.clone(), component),
            storage,
            tls,
            auth_failures_ip: RateLimiter::new(
                l.auth_failures_per_ip,
                window(l.auth_failure_window),
            ),
            auth_failures_account: RateLimiter::new(
                l.auth_failures_per_account,
                window(l.auth_failure_window),
            ),
            registrations: RateLimiter::new(l.registrations_per_ip, window(l.registration_window)),
            shutdown: watch::channel(false).0,
            config,
        });
        let dispatcher = ctx.clone();
        tokio::spawn(async move { dispatcher.hub.dispatch(events).await });
        Ok(C2s { ctx, listeners })
    }

    /// The addresses actually listened on (useful with port 0).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr())
            .collect()
    }

    /// Starts accepting clients.
    pub fn serve(&mut self) {
        for l in self.listeners.drain(..) {
            tokio::spawn(l.run(self.ctx.clone()));
        }
    }

    /// Closes every client stream with `system-shutdown` and waits (bounded) for them to go.
    pub async fn shutdown(&self) {
        let _ = self.ctx.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while self.ctx.hub.connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
