//! The `[storage]` table of a daemon's config file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// `[storage]`: where the SQLite database lives. Only `path` so far, so that callers can build it
/// with a struct literal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The database file; relative paths are relative to the config file's directory
    /// (see [`StorageConfig::resolve`]), so an etc/ directory can be moved as a whole.
    pub path: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: PathBuf::from("var/starling.db"),
        }
    }
}

impl StorageConfig {
    /// The database path, with a relative `path` taken relative to `config_dir` (the directory of
    /// the config file the table came from). Daemons and starlingctl must agree on the file, and
    /// their working directories differ.
    pub fn resolve(&self, config_dir: &Path) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            config_dir.join(&self.path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_to_config_dir() {
        let c = StorageConfig::default();
        assert_eq!(
            c.resolve(Path::new("/etc/starling")),
            PathBuf::from("/etc/starling/var/starling.db")
        );
        let abs = StorageConfig {
            path: PathBuf::from("/srv/x.db"),
        };
        assert_eq!(abs.resolve(Path::new("/etc")), PathBuf::from("/srv/x.db"));
    }
}
