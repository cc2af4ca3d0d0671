//! Finding and opening the user store a Starling installation uses: the `[storage]` table of
//! sm.toml (the sm owns user data), else of c2s.toml (a c2s-only machine reads credentials).

use std::path::{Path, PathBuf};

use storage::{Storage, StorageConfig};

use crate::error::CtlError;
use crate::files;

/// The config files that may name the store, in order of preference.
const CANDIDATES: [&str; 2] = ["sm.toml", "c2s.toml"];

/// The database file configured in `etc`, resolved against `etc` like the daemons resolve it.
pub fn database_path(etc: &Path) -> Result<PathBuf, CtlError> {
    let Some(file) = CANDIDATES
        .iter()
        .map(|name| etc.join(name))
        .find(|path| path.exists())
    else {
        return Err(CtlError::new(format_args!(
            "neither {} nor {} exists: no storage is configured (run `starlingctl init` or pass --etc)",
            etc.join(CANDIDATES[0]).display(),
            etc.join(CANDIDATES[1]).display()
        )));
    };
    let config = storage_table(&file)?;
    Ok(config.resolve(file.parent().unwrap_or(Path::new("."))))
}

/// Reads only the `[storage]` table: the rest of the file belongs to its daemon, which validates
/// it. A missing table means the defaults, as for the daemon.
fn storage_table(file: &Path) -> Result<StorageConfig, CtlError> {
    let text = files::read(file)?;
    let mut table: toml::Table = text
        .parse()
        .map_err(|e| CtlError::file(file, format_args!("not valid TOML: {e}")))?;
    match table.remove("storage") {
        None => Ok(StorageConfig::default()),
        Some(value) => value
            .try_into()
            .map_err(|e| CtlError::file(file, format_args!("[storage]: {e}"))),
    }
}

/// Opens the configured store (creating the database if it does not exist yet).
pub async fn open(etc: &Path) -> Result<Storage, CtlError> {
    let path = database_path(etc)?;
    Storage::open(&StorageConfig { path })
        .await
        .map_err(|e| CtlError::new(format_args!("cannot open the user store: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_sm_then_c2s_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path();
        assert!(database_path(etc)
            .unwrap_err()
            .to_string()
            .contains("c2s.toml"));
        std::fs::write(etc.join("c2s.toml"), "[storage]\npath = \"c2s.db\"\n").unwrap();
        assert_eq!(database_path(etc).unwrap(), etc.join("c2s.db"));
        std::fs::write(etc.join("sm.toml"), "[other]\nx = 1\n").unwrap();
        assert_eq!(database_path(etc).unwrap(), etc.join("var/starling.db"));
        std::fs::write(etc.join("sm.toml"), "[storage]\npath = \"/abs/sm.db\"\n").unwrap();
        assert_eq!(database_path(etc).unwrap(), PathBuf::from("/abs/sm.db"));
    }

    #[test]
    fn bad_storage_table_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sm.toml"), "[storage]\npaht = \"x\"\n").unwrap();
        let err = database_path(dir.path()).unwrap_err().to_string();
        assert!(err.contains("sm.toml") && err.contains("paht"), "{err}");
    }
}
