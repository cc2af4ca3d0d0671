//! `router.toml`: the router's configuration, as documented in `etc/router.toml`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use daemon::config::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterConfig {
    pub id: String,
    pub listen: Vec<SocketAddr>,
    pub jabberd2_compat: bool,
    pub tls: TlsConfig,
    pub limits: LimitsConfig,
    pub users: BTreeMap<String, UserConfig>,
    pub components: BTreeMap<String, ComponentConfig>,
    pub aliases: BTreeMap<String, String>,
    pub routes: BTreeMap<String, RouteConfig>,
    pub filters: Vec<FilterConfig>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            id: "router".into(),
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 5347))],
            jabberd2_compat: false,
            tls: TlsConfig::default(),
            limits: LimitsConfig::default(),
            users: BTreeMap::new(),
            components: BTreeMap::new(),
            aliases: BTreeMap::new(),
            routes: BTreeMap::new(),
            filters: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub required: bool,
}

impl TlsConfig {
    /// Whether STARTTLS is offered.
    pub fn enabled(&self) -> bool {
        !self.certificate.as_os_str().is_empty() && !self.key.as_os_str().is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_stanza_bytes: usize,
    pub max_queue_bytes: usize,
    pub auth_timeout: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_stanza_bytes: 262_144,
            max_queue_bytes: 4_194_304,
            auth_timeout: 10,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserConfig {
    pub password: String,
    /// Patterns of names this account may bind; empty means its own name only.
    pub bind: Vec<String>,
    pub default_route: bool,
    pub log: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComponentConfig {
    pub secret: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    Single,
    Multi,
    Fanout,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConfig {
    pub mode: RouteMode,
    pub copy_to: Vec<String>,
    pub choose_from: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StanzaKind {
    Message,
    Presence,
    Iq,
    #[default]
    Any,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    Allow,
    #[default]
    Deny,
    Redirect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    pub from: String,
    pub to: String,
    pub kind: StanzaKind,
    pub action: FilterAction,
    pub error: String,
    pub redirect: String,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            from: "*".into(),
            to: "*".into(),
            kind: StanzaKind::Any,
            action: FilterAction::Deny,
            error: "not-allowed".into(),
            redirect: String::new(),
        }
    }
}

impl RouterConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<RouterConfig, ConfigError> {
        let config: RouterConfig = daemon::config::load(path)?;
        config.validate(path)?;
        Ok(config)
    }

    /// The checks serde cannot express; each error names the key at fault.
    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let fail = |key: String, problem: String| Err(ConfigError::new(path, key, problem));
        if self.listen.is_empty() {
            return fail("listen".into(), "at least one address is needed".into());
        }
        if self.tls.certificate.as_os_str().is_empty() != self.tls.key.as_os_str().is_empty() {
            return fail(
                "tls".into(),
                "set both certificate and key, or neither".into(),
            );
        }
        if self.tls.required && !self.tls.enabled() {
            return fail(
                "tls.required".into(),
                "TLS is required but no certificate and key are set".into(),
            );
        }
        if self.limits.max_stanza_bytes < 1024 {
            return fail(
                "limits.max_stanza_bytes".into(),
                "must be at least 1024".into(),
            );
        }
        if self.limits.max_queue_bytes < self.limits.max_stanza_bytes {
            return fail(
                "limits.max_queue_bytes".into(),
                "must be at least limits.max_stanza_bytes".into(),
            );
        }
        if self.limits.auth_timeout == 0 {
            return fail("limits.auth_timeout".into(), "must be at least 1".into());
        }
        for (name, user) in &self.users {
            if user.password.is_empty() {
                return fail(format!("users.{name}.password"), "must not be empty".into());
            }
        }
        for (name, component) in &self.components {
            if component.secret.is_empty() {
                return fail(
                    format!("components.\"{name}\".secret"),
                    "must not be empty".into(),
                );
            }
        }
        for (alias, target) in &self.aliases {
            if self.aliases.contains_key(target) {
                return fail(
                    format!("aliases.\"{alias}\""),
                    format!("the target {target} is itself an alias"),
                );
            }
        }
        for (i, filter) in self.filters.iter().enumerate() {
            if filter.action == FilterAction::Redirect && filter.redirect.is_empty() {
                return fail(
                    format!("filters[{i}].redirect"),
                    "a redirect rule needs a route name".into(),
                );
            }
            if filter.action == FilterAction::Deny
                && !component::route_error::is_condition(&filter.error)
            {
                return fail(
                    format!("filters[{i}].error"),
                    format!("{:?} is not a stanza error condition", filter.error),
                );
            }
        }
        Ok(())
    }
}
