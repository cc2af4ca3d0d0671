//! Work `starlingctl up` does before starting the daemons, so that a fresh etc/ runs as it is:
//! a daemon whose `[router] password` is empty gets a router account with a random password,
//! written into its file and the router's. (Certificates need nothing here: c2s generates a
//! self-signed one on first start when its config names none.)

use std::path::Path;

use toml_edit::DocumentMut;

use crate::accounts;
use crate::daemons::{DAEMONS, ROUTER};
use crate::error::CtlError;
use crate::{files, router_toml};

/// Provisions the missing router accounts; returns the daemons that got one.
pub fn prepare(etc: &Path) -> Result<Vec<&'static str>, CtlError> {
    let router_file = etc.join(ROUTER.config_file());
    if !router_file.is_file() {
        return Ok(Vec::new());
    }
    let mut router = router_toml::parse(&router_file, &files::read(&router_file)?)?;
    let mut changed: Vec<(&'static str, std::path::PathBuf, DocumentMut)> = Vec::new();
    for daemon in DAEMONS.iter().filter(|d| d.name != ROUTER.name) {
        let file = etc.join(daemon.config_file());
        if !file.is_file() {
            continue;
        }
        let mut config = router_toml::parse(&file, &files::read(&file)?)?;
        if !accounts::needs_password(&config) {
            continue;
        }
        if router
            .get("users")
            .and_then(|u| u.get(daemon.name))
            .is_some()
        {
            return Err(CtlError::file(
                &file,
                format_args!(
                    "[router] password is empty, but {} already has the account [users.{}]; copy its password here",
                    router_file.display(),
                    daemon.name
                ),
            ));
        }
        accounts::provision(&router_file, &mut router, daemon, &mut config)?;
        changed.push((daemon.name, file, config));
    }
    if changed.is_empty() {
        return Ok(Vec::new());
    }
    for (_, file, config) in &changed {
        files::replace(file, &config.to_string())?;
    }
    files::replace(&router_file, &router.to_string())?;
    Ok(changed.into_iter().map(|(name, _, _)| name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemons::{C2S_TEMPLATE, ROUTER_TEMPLATE, SM_TEMPLATE};

    fn etc_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn read(dir: &Path, name: &str) -> DocumentMut {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .parse()
            .unwrap()
    }

    #[test]
    fn shipped_etc_gets_accounts_once() {
        let etc = etc_with(&[
            ("router.toml", ROUTER_TEMPLATE),
            ("c2s.toml", C2S_TEMPLATE),
            ("sm.toml", SM_TEMPLATE),
        ]);
        assert_eq!(prepare(etc.path()).unwrap(), ["c2s", "sm"]);
        let router = read(etc.path(), "router.toml");
        for name in ["c2s", "sm"] {
            let config = read(etc.path(), &format!("{name}.toml"));
            let password = config["router"]["password"].as_str().unwrap();
            assert_eq!(router["users"][name]["password"].as_str(), Some(password));
        }
        // The comments survive the edit.
        let text = std::fs::read_to_string(etc.path().join("c2s.toml")).unwrap();
        assert!(text.contains("# starling-c2s: the client edge"));
        // A second start changes nothing.
        assert!(prepare(etc.path()).unwrap().is_empty());
    }

    #[test]
    fn an_account_without_the_daemons_password_is_reported() {
        let router = format!("{ROUTER_TEMPLATE}\n[users.sm]\npassword = \"x\"\n");
        let etc = etc_with(&[("router.toml", &router), ("sm.toml", SM_TEMPLATE)]);
        let e = prepare(etc.path()).unwrap_err().to_string();
        assert!(e.contains("sm.toml") && e.contains("[users.sm]"), "{e}");
    }

    #[test]
    fn nothing_without_a_router_config() {
        let etc = etc_with(&[("c2s.toml", C2S_TEMPLATE)]);
        assert!(prepare(etc.path()).unwrap().is_empty());
    }
}
