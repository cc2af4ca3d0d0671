//! The `[router]` table every Starling daemon's config has: where the router is and how to log in.

use serde::Deserialize;

use crate::connector::ConnectorConfig;
use crate::wire::Bind;

/// How a daemon reaches its router.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouterSettings {
    /// Router addresses (`host:port`), tried in order on every (re)connection.
    pub addresses: Vec<String>,
    /// The daemon's account in the router's `[users]`.
    pub user: String,
    pub password: String,
}

impl Default for RouterSettings {
    fn default() -> Self {
        RouterSettings {
            addresses: vec!["127.0.0.1:5347".into()],
            user: String::new(),
            password: String::new(),
        }
    }
}

impl RouterSettings {
    /// The problem with these settings, if any, as (key below `[router]`, reason).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.addresses.is_empty() {
            Some(("addresses", "at least one router address is needed"))
        } else if self.user.is_empty() {
            Some(("user", "the router account name is needed"))
        } else if self.password.is_empty() {
            Some(("password", "the router account password is needed"))
        } else {
            None
        }
    }

    /// A connector configuration that binds `binds` after each login.
    pub fn connector(&self, binds: Vec<Bind>) -> ConnectorConfig {
        ConnectorConfig::new(self.addresses.clone(), &self.user, &self.password, binds)
    }
}
