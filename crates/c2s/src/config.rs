//! `c2s.toml`: the client edge's configuration, as documented in `etc/c2s.toml`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use component::RouterSettings;
use daemon::config::ConfigError;
use serde::Deserialize;
use storage::StorageConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Our name at the router: the sm answers session control to it (`sc:c2s` routes).
    pub id: String,
    pub router: RouterSettings,
    pub storage: StorageConfig,
    /// Client ports with STARTTLS (RFC 6120 §5).
    pub listen: Vec<SocketAddr>,
    /// Client ports with TLS from the first byte (XEP-0368).
    pub direct_tls_listen: Vec<SocketAddr>,
    /// The domains served, by name.
    pub hosts: BTreeMap<String, HostConfig>,
    pub limits: LimitsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            id: "c2s".into(),
            router: RouterSettings::default(),
            storage: StorageConfig::default(),
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5222))],
            direct_tls_listen: vec![SocketAddr::from(([127, 0, 0, 1], 5223))],
            hosts: BTreeMap::new(),
            limits: LimitsConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// PEM certificate chain; empty: a self-signed certificate kept in `certs/` next to the config.
    pub certificate: PathBuf,
    /// PEM private key (may be the same file as the certificate).
    pub key: PathBuf,
    /// Refuse everything but STARTTLS on a plaintext stream.
    pub require_starttls: bool,
    /// In-band registration (XEP-0077).
    pub registration: bool,
    /// The `<instructions/>` of the registration form.
    pub registration_instructions: String,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            certificate: PathBuf::new(),
            key: PathBuf::new(),
            require_starttls: true,
            registration: false,
            registration_instructions:
                "Choose a username and password to register with this server.".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest stanza a client may send (bytes); larger gets `policy-violation`.
    pub max_stanza_bytes: usize,
    /// Bytes queued towards one client before it counts as not reading.
    pub max_queue_bytes: usize,
    /// Seconds without a byte from the client (whitespace counts) before `connection-timeout`.
    pub idle_timeout: u64,
    /// Seconds a client has from connecting to having a bound session.
    pub negotiation_timeout: u64,
    /// Seconds to wait for the sm to answer a session-control request.
    pub sm_timeout: u64,
    /// Milliseconds between a failed SASL attempt and its `<failure/>`.
    pub auth_failure_delay_ms: u64,
    /// Failed SASL attempts on one connection before `policy-violation` (RFC 6120 §6.4.5: 2 to 5).
    pub max_auth_attempts: u32,
    /// Failed logins allowed per client IP, and per account, in `auth_failure_window` seconds;
    /// beyond that attempts fail with `temporary-auth-failure` without checking the password.
    pub auth_failures_per_ip: u32,
    pub auth_failures_per_account: u32,
    pub auth_failure_window: u64,
    /// Accounts one IP may register in `registration_window` seconds.
    pub registrations_per_ip: u32,
    pub registration_window: u64,
    /// Loopback clients (127.0.0.0/8, ::1) are not counted for registrations.
    pub registration_exempt_loopback: bool,
    /// Bytes per second one connection may send on average, and at once (0: no limit); a
    /// client over its rate is not read from until it is back under it.
    pub read_bytes_per_second: u64,
    pub read_burst_bytes: u64,
    /// Stanzas per second one connection may send on average, and at once (0: no limit).
    pub stanzas_per_second: u64,
    pub stanza_burst: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_stanza_bytes: 262_144,
            max_queue_bytes: 1_048_576,
            idle_timeout: 300,
            negotiation_timeout: 60,
            sm_timeout: 15,
            auth_failure_delay_ms: 1000,
            max_auth_attempts: 3,
            auth_failures_per_ip: 20,
            auth_failures_per_account: 10,
            auth_failure_window: 300,
            registrations_per_ip: 5,
            registration_window: 3600,
            registration_exempt_loopback: true,
            read_bytes_per_second: 262_144,
            read_burst_bytes: 1_048_576,
            stanzas_per_second: 200,
            stanza_burst: 1000,
        }
    }
}

impl LimitsConfig {
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_timeout)
    }
    pub fn negotiation(&self) -> Duration {
        Duration::from_secs(self.negotiation_timeout)
    }
    pub fn sm(&self) -> Duration {
        Duration::from_secs(self.sm_timeout)
    }
    pub fn auth_delay(&self) -> Duration {
        Duration::from_millis(self.auth_failure_delay_ms)
    }
}

impl Config {
    /// Reads and checks `path`; relative paths inside become relative to its directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = daemon::config::load(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        config.storage.path = config.storage.resolve(dir);
        for host in config.hosts.values_mut() {
            for file in [&mut host.certificate, &mut host.key] {
                if !file.as_os_str().is_empty() && file.is_relative() {
                    *file = dir.join(&*file);
                }
            }
        }
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |key: String, problem: &str| ConfigError::new(path, key, problem);
        if self.id.is_empty() {
            return Err(err("id".into(), "the router name of this c2s is needed"));
        }
        if let Some((key, problem)) = self.router.problem() {
            return Err(err(format!("router.{key}"), problem));
        }
        if self.listen.is_empty() && self.direct_tls_listen.is_empty() {
            return Err(err("listen".into(), "no address to listen on"));
        }
        if self.hosts.is_empty() {
            return Err(err("hosts".into(), "at least one domain is needed"));
        }
        for (name, host) in &self.hosts {
            match jid::DomainPart::new(name) {
                Ok(normal) if normal.as_str() == name.as_str() => {}
                Ok(normal) => {
                    return Err(err(
                        format!("hosts.{name}"),
                        &format!(
                            "write the domain in its normalised form {:?}",
                            normal.as_str()
                        ),
                    ))
                }
                Err(e) => return Err(err(format!("hosts.{name}"), &format!("not a domain: {e}"))),
            }
            if host.certificate.as_os_str().is_empty() != host.key.as_os_str().is_empty() {
                return Err(err(
                    format!("hosts.{name}.key"),
                    "certificate and key go together (set both, or neither for a self-signed one)",
                ));
            }
        }
        let l = &self.limits;
        for (key, value) in [
            ("max_stanza_bytes", l.max_stanza_bytes as u64),
            ("max_queue_bytes", l.max_queue_bytes as u64),
            ("idle_timeout", l.idle_timeout),
            ("negotiation_timeout", l.negotiation_timeout),
            ("sm_timeout", l.sm_timeout),
            ("max_auth_attempts", l.max_auth_attempts.into()),
        ] {
            if value == 0 {
                return Err(err(format!("limits.{key}"), "must be greater than 0"));
            }
        }
        Ok(())
    }

    /// Where self-signed certificates are kept.
    pub fn certs_dir(config_path: &Path) -> PathBuf {
        config_path.parent().unwrap_or(Path::new(".")).join("certs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/c2s.toml");
        let config: Config = daemon::config::load(&path).expect("etc/c2s.toml parses");
        let default = Config::default();
        assert_eq!(config.id, default.id);
        assert_eq!(config.listen, default.listen);
        assert_eq!(config.direct_tls_listen, default.direct_tls_listen);
        assert_eq!(config.router.addresses, default.router.addresses);
        assert_eq!(config.storage, default.storage);
        let host = &config.hosts["localhost"];
        let d = HostConfig::default();
        assert_eq!(
            (
                host.require_starttls,
                host.registration,
                &host.registration_instructions
            ),
            (
                d.require_starttls,
                d.registration,
                &d.registration_instructions
            )
        );
        assert_eq!(
            format!("{:?}", config.limits),
            format!("{:?}", LimitsConfig::default())
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = daemon::config::parse::<Config>(Path::new("c2s.toml"), "idd = \"x\"\n");
        assert!(err.is_err());
    }
}
