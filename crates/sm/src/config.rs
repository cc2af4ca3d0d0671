//! `sm.toml`: the sm's id, hosted domains, router account, storage, limits, and the settings of
//! the modules that have some.

use std::path::{Path, PathBuf};

use component::RouterSettings;
use daemon::ConfigError;
use serde::Deserialize;
use storage::StorageConfig;

use crate::modules::announce::AclSettings;
use crate::modules::disco_settings::DiscoSettings;
use crate::modules::version::VersionSettings;

/// The whole file. Unknown keys are errors, so a misspelt key never silently means a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The name bound at the router; session replies and c2s traffic use it. Each sm instance
    /// sharing a domain needs its own id.
    pub id: String,
    /// Domains hosted here, bound with `multi` so that several sm can share one.
    pub domains: Vec<String>,
    pub router: RouterSettings,
    pub storage: StorageConfig,
    pub limits: Limits,
    pub disco: DiscoSettings,
    pub version: VersionSettings,
    pub acl: AclSettings,
}

/// Per-user limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Messages kept for a user while offline; past this, senders get `service-unavailable`.
    pub offline_quota: usize,
    /// Roster items per user; a roster set or subscription beyond it is refused.
    pub max_roster_items: usize,
    /// Largest vCard (XEP-0054) a user may store, in bytes of XML; larger gets `not-acceptable`.
    pub max_vcard_bytes: usize,
    /// Private XML (XEP-0049) a user may store in all namespaces together, in bytes of XML; a
    /// set that would go past it gets `not-acceptable`.
    pub max_private_bytes: usize,
    /// Privacy list items (XEP-0016, the XEP-0191 blocklist included) a user may keep in all
    /// lists together; a list or a block that would go past it gets `not-acceptable`.
    pub max_privacy_items: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            offline_quota: 100,
            max_roster_items: 1000,
            max_vcard_bytes: 64 * 1024,
            max_private_bytes: 256 * 1024,
            max_privacy_items: 1000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            id: "sm".into(),
            domains: vec!["localhost".into()],
            router: RouterSettings::default(),
            storage: StorageConfig::default(),
            limits: Limits::default(),
            disco: DiscoSettings::default(),
            version: VersionSettings::default(),
            acl: AclSettings::default(),
        }
    }
}

/// A loaded, checked configuration and where its relative paths point.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The storage path resolved against the config file's directory.
    pub database: PathBuf,
}

/// Reads and checks `path`.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let mut config: Config = daemon::config::load(path)?;
    check(path, &mut config)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let database = config.storage.resolve(dir);
    Ok(Loaded { config, database })
}

/// Semantic checks serde cannot do; domains are normalised like JIDs so that lookups match.
fn check(path: &Path, config: &mut Config) -> Result<(), ConfigError> {
    if config.id.is_empty() {
        return Err(ConfigError::new(path, "id", "must not be empty"));
    }
    if config.domains.is_empty() {
        return Err(ConfigError::new(
            path,
            "domains",
            "at least one domain is needed",
        ));
    }
    for (i, domain) in config.domains.iter_mut().enumerate() {
        let key = format!("domains[{i}]");
        let trimmed = domain.strip_suffix('.').unwrap_or(domain);
        match jid::BareJid::new(trimmed) {
            Ok(jid) if jid.node().is_none() => *domain = jid.domain().as_str().to_owned(),
            _ => return Err(ConfigError::new(path, key, "not a valid domain name")),
        }
    }
    if let Some((key, problem)) = config.router.problem() {
        return Err(ConfigError::new(path, format!("router.{key}"), problem));
    }
    if config.limits.max_roster_items == 0 {
        return Err(ConfigError::new(
            path,
            "limits.max_roster_items",
            "must be at least 1",
        ));
    }
    if let Some((key, problem)) = config.disco.contacts.problem() {
        return Err(ConfigError::new(path, key, problem));
    }
    if let Some((key, problem)) = config.acl.problem() {
        return Err(ConfigError::new(path, key, problem));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sm.toml");
        std::fs::write(&path, text).expect("write");
        load(&path)
    }

    #[test]
    fn the_shipped_file_parses_and_only_lacks_a_password() {
        let text = include_str!("../../../etc/sm.toml");
        let err = parse(text).expect_err("the shipped file has no router password");
        assert_eq!(err.key(), Some("router.password"));
        let with_pw = text.replace("password = \"\"", "password = \"x\"");
        let loaded = parse(&with_pw).expect("parses");
        // The file shows every limit with its default.
        assert_eq!(loaded.config.limits, Limits::default());
        assert_eq!(loaded.config.id, "sm");
        assert_eq!(loaded.config.domains, vec!["localhost".to_owned()]);
    }

    #[test]
    fn unknown_keys_and_bad_domains_are_errors() {
        let base = "[router]\nuser = \"sm\"\npassword = \"x\"\n";
        let err = parse(&format!("idd = \"x\"\n{base}")).expect_err("unknown key");
        assert!(err.to_string().contains("idd"), "{err}");
        let err = parse(&format!("domains = [\"a b\"]\n{base}")).expect_err("bad domain");
        assert_eq!(err.key(), Some("domains[0]"));
        let ok = parse(&format!("domains = [\"Example.COM.\"]\n{base}")).expect("ok");
        assert_eq!(ok.config.domains, vec!["example.com".to_owned()]);
    }

    #[test]
    fn disco_and_version_tables() {
        let base = "[router]\nuser = \"sm\"\npassword = \"x\"\n";
        let ok = parse(&format!(
            "{base}[disco]\nname = \"Ex\"\n[disco.contacts]\nabuse = [\"mailto:a@b.c\"]\n[version]\nos = false\n"
        ))
        .expect("ok");
        assert_eq!(ok.config.disco.name, "Ex");
        assert_eq!(
            ok.config.disco.contacts.abuse,
            vec!["mailto:a@b.c".to_owned()]
        );
        assert!(!ok.config.version.os);
        let err = parse(&format!("{base}[disco.contacts]\nabuse = [\"a@b.c\"]\n"))
            .expect_err("not a URI");
        assert_eq!(err.key(), Some("disco.contacts.abuse[0]"));
        let err = parse(&format!("{base}[disco.contacts]\nabus = []\n")).expect_err("unknown role");
        assert!(err.to_string().contains("abus"), "{err}");
        let err = parse(&format!("{base}[version]\nshow_os = false\n")).expect_err("unknown key");
        assert!(err.to_string().contains("show_os"), "{err}");
    }

    #[test]
    fn acl_table() {
        let base = "[router]\nuser = \"sm\"\npassword = \"x\"\n";
        let ok = parse(&format!("{base}[acl]\nadmins = [\"admin@localhost\"]\n")).expect("ok");
        assert_eq!(ok.config.acl.admins, vec!["admin@localhost".to_owned()]);
        let err = parse(&format!("{base}[acl]\nadmins = [\"a@b@c\"]\n")).expect_err("bad JID");
        assert_eq!(err.key(), Some("acl.admins[0]"));
        let err = parse(&format!("{base}[acl]\nbroadcast = []\n")).expect_err("unknown key");
        assert!(err.to_string().contains("broadcast"), "{err}");
    }
}
