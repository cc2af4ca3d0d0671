//! The domains the sm serves (`domains` in sm.toml), so that an import can point out users of a
//! domain nobody will serve (XEP-0227 §4.1: notify the operator about any mismatch).

use std::path::Path;

use crate::domain;

/// The domains `etc/sm.toml` serves (the sm's default when it names none), normalised; `None`
/// when there is no readable sm.toml (the sm reports its own config errors). The rest of the
/// file is not checked: an etc/ fresh from `init` has no router password yet.
fn served(etc: &Path) -> Option<Vec<String>> {
    let config: sm::config::Config = daemon::config::load(&etc.join("sm.toml")).ok()?;
    Some(
        config
            .domains
            .iter()
            .filter_map(|d| domain::validate("domain", d.strip_suffix('.').unwrap_or(d)).ok())
            .collect(),
    )
}

/// The domains among `imported` that `etc/sm.toml` does not serve, with what it serves; empty
/// when sm.toml does not say.
pub fn unserved<'a>(etc: &Path, imported: impl Iterator<Item = &'a str>) -> Vec<String> {
    let Some(served) = served(etc) else {
        return Vec::new();
    };
    imported
        .filter(|d| !served.iter().any(|s| s == d))
        .map(|d| {
            format!(
                "{d} is not among the domains sm.toml serves ({}): add it to `domains` for its \
                 users to log in",
                served.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_domains_not_served() {
        let dir = tempfile::tempdir().unwrap();
        assert!(unserved(dir.path(), ["a.test"].into_iter()).is_empty());
        std::fs::write(dir.path().join("sm.toml"), "id = \"sm\"\n").unwrap();
        assert!(unserved(dir.path(), ["localhost"].into_iter()).is_empty());
        std::fs::write(
            dir.path().join("sm.toml"),
            "domains = [\"A.test\", \"b.test\"]\n",
        )
        .unwrap();
        let notes = unserved(dir.path(), ["a.test", "c.test"].into_iter());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("c.test is not among") && notes[0].contains("a.test, b.test"));
    }
}
