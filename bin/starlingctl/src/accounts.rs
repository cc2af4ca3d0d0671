//! Router accounts for the suite's own daemons: a random password written into both the router's
//! `[users.NAME]` and the daemon's `[router]` table, allowed to bind the daemon's id and domains.
//! `init` gives one to every daemon it writes; `up` gives one on first start to a daemon whose
//! `[router] password` is still empty, so the shipped etc/ runs as it is.

use std::path::Path;

use toml_edit::DocumentMut;

use crate::daemons::Daemon;
use crate::error::CtlError;
use crate::{router_toml, secret};

/// Adds `daemon`'s account to the router config (`router_file` names it in errors) and writes the
/// same credentials into the daemon's own config.
pub fn provision(
    router_file: &Path,
    router: &mut DocumentMut,
    daemon: &Daemon,
    config: &mut DocumentMut,
) -> Result<(), CtlError> {
    let password = secret::generate()
        .map_err(|e| CtlError::new(format_args!("cannot generate a password: {e}")))?;
    let names = bind_names(daemon, config);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // The s2s takes every domain nothing else has bound.
    let default_route = daemon.name == "s2s";
    router_toml::add_user(
        router_file,
        router,
        daemon.name,
        &password,
        &names,
        default_route,
    )?;
    set_router_login(config, daemon.name, &password);
    Ok(())
}

/// Whether the daemon's config still lacks a router password.
pub fn needs_password(config: &DocumentMut) -> bool {
    config
        .get("router")
        .and_then(|r| r.get("password"))
        .and_then(|p| p.as_str())
        .is_none_or(str::is_empty)
}

/// A Starling component daemon's credentials for the router: `[router] user`, `password`.
pub fn set_router_login(config: &mut DocumentMut, user: &str, password: &str) {
    config["router"]["user"] = toml_edit::value(user);
    config["router"]["password"] = toml_edit::value(password);
}

/// What the daemon binds: its `id` (the daemon's name by default) and, for the sm, its `domains`.
fn bind_names(daemon: &Daemon, config: &DocumentMut) -> Vec<String> {
    let id = config
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or(daemon.name);
    let domains = config
        .get("domains")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str());
    std::iter::once(id)
        .chain(domains)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemons::{DAEMONS, ROUTER_TEMPLATE};

    fn daemon(name: &str) -> &'static Daemon {
        DAEMONS.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn sm_account_binds_its_id_and_domains() {
        let mut router = router_toml::parse(Path::new("r"), ROUTER_TEMPLATE).unwrap();
        let mut sm: DocumentMut =
            "id = \"sm2\"\ndomains = [\"a.test\", \"b.test\"]\n[router]\npassword = \"\"\n"
                .parse()
                .unwrap();
        assert!(needs_password(&sm));
        provision(Path::new("r"), &mut router, daemon("sm"), &mut sm).unwrap();
        assert!(!needs_password(&sm));
        let password = sm["router"]["password"].as_str().unwrap();
        assert_eq!(password.len(), 32);
        assert_eq!(router["users"]["sm"]["password"].as_str(), Some(password));
        let binds: Vec<&str> = router["users"]["sm"]["bind"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(binds, ["sm2", "a.test", "b.test"]);
        assert_eq!(sm["router"]["user"].as_str(), Some("sm"));
    }

    #[test]
    fn s2s_account_takes_the_default_route() {
        let mut router = router_toml::parse(Path::new("r"), ROUTER_TEMPLATE).unwrap();
        let mut s2s = DocumentMut::new();
        provision(Path::new("r"), &mut router, daemon("s2s"), &mut s2s).unwrap();
        assert_eq!(
            router["users"]["s2s"]["default_route"].as_bool(),
            Some(true)
        );
    }

    #[test]
    fn an_existing_account_is_not_overwritten() {
        let mut router = router_toml::parse(Path::new("router.toml"), ROUTER_TEMPLATE).unwrap();
        let mut c2s = DocumentMut::new();
        provision(
            Path::new("router.toml"),
            &mut router,
            daemon("c2s"),
            &mut c2s,
        )
        .unwrap();
        let e = provision(
            Path::new("router.toml"),
            &mut router,
            daemon("c2s"),
            &mut c2s,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("router.toml") && e.contains("\"c2s\" already exists"),
            "{e}"
        );
    }
}
