//! `starlingctl component add`: registers an XEP-0114 component (its name and shared secret) in
//! router.toml.

use std::path::{Path, PathBuf};

use crate::daemons::ROUTER;
use crate::error::CtlError;
use crate::router_toml::{self, Added};
use crate::{domain, files, secret};

/// What `component add` did, for the message to the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentAdded {
    pub file: PathBuf,
    pub name: String,
    pub added: Added,
    /// Set when no `--secret` was given and one was generated: the component needs it too.
    pub generated_secret: Option<String>,
}

/// Adds (or with `force` re-keys) component `name` in `<etc>/router.toml`.
pub fn add(
    etc: &Path,
    name: &str,
    secret: Option<&str>,
    force: bool,
) -> Result<ComponentAdded, CtlError> {
    let name = domain::validate("component name", name)?;
    let file = etc.join(ROUTER.config_file());
    let text = files::read(&file)?;
    let mut doc = router_toml::parse(&file, &text)?;
    let (secret, generated_secret) = match secret {
        Some("") => return Err(CtlError::new("--secret: empty secret")),
        Some(secret) => (secret.to_string(), None),
        None => {
            let secret = secret::generate()
                .map_err(|e| CtlError::new(format_args!("cannot generate a secret: {e}")))?;
            (secret.clone(), Some(secret))
        }
    };
    let added = router_toml::add_component(&file, &mut doc, &name, &secret, force)?;
    files::replace(&file, &doc.to_string())?;
    Ok(ComponentAdded {
        file,
        name,
        added,
        generated_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_to_file_then_duplicate_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("router.toml");
        std::fs::write(&file, crate::daemons::ROUTER_TEMPLATE).unwrap();

        let done = add(dir.path(), "MUC.example.test", Some("s3cret"), false).unwrap();
        assert_eq!(done.name, "muc.example.test");
        assert_eq!(done.added, Added::New);
        assert_eq!(done.generated_secret, None);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("[components.\"muc.example.test\"]\nsecret = \"s3cret\"\n"));
        assert!(text.contains("# XEP-0114 components (jabber:component:accept)."));

        let e = add(dir.path(), "muc.example.test", Some("x"), false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

        let done = add(dir.path(), "muc.example.test", None, true).unwrap();
        assert_eq!(done.added, Added::Replaced);
        let generated = done.generated_secret.unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().contains(&generated));
    }

    #[test]
    fn errors_name_the_file_or_argument() {
        let dir = tempfile::tempdir().unwrap();
        let e = add(dir.path(), "muc.example.test", Some("s"), false).unwrap_err();
        assert!(e.to_string().starts_with(&format!(
            "{}: cannot read",
            dir.path().join("router.toml").display()
        )));
        let e = add(dir.path(), "a@b", Some("s"), false).unwrap_err();
        assert!(e.to_string().starts_with("component name"), "{e}");
    }
}
