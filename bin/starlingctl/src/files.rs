//! Writing config files: new ones never clobber, edited ones are replaced atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::CtlError;

/// Config files hold component secrets and router passwords: owner-only.
pub const CONFIG_MODE: u32 = 0o600;

/// Reads a config file, with the error naming it.
pub fn read(path: &Path) -> Result<String, CtlError> {
    fs::read_to_string(path).map_err(|e| CtlError::file(path, format_args!("cannot read: {e}")))
}

/// Creates `path`, failing if it exists (`create_new`, so a file that appeared since any earlier
/// check is not overwritten either).
pub fn write_new(path: &Path, contents: &str) -> Result<(), CtlError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(CONFIG_MODE)
        .open(path)
        .map_err(|e| CtlError::file(path, format_args!("cannot create: {e}")))?;
    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CtlError::file(path, format_args!("cannot write: {e}")))
}

/// Replaces an existing file's contents through a temporary file and a rename, so that a daemon
/// reloading on SIGHUP (or a crash) never sees half a file. Keeps the file's permissions.
pub fn replace(path: &Path, contents: &str) -> Result<(), CtlError> {
    let mode = fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(CONFIG_MODE);
    daemon::files::write_atomically(path, contents.as_bytes(), mode)
        .map_err(|e| CtlError::file(path, format_args!("cannot write: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_refuses_existing_and_replace_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("router.toml");
        write_new(&path, "a = 1\n").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(write_new(&path, "b = 2\n").is_err());
        assert_eq!(read(&path).unwrap(), "a = 1\n");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&path, "c = 3\n").unwrap();
        assert_eq!(read(&path).unwrap(), "c = 3\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
