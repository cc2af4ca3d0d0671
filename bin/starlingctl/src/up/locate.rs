//! Finding a daemon's executable: next to starlingctl first (a build's target/release, or an
//! install's bin/, holds the whole suite), then in PATH.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Where `name` would be run from, or `None` if it is nowhere to be found.
pub fn executable(name: &str) -> Option<PathBuf> {
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned));
    let path = std::env::var_os("PATH").unwrap_or_default();
    search(
        name,
        own_dir.into_iter().chain(std::env::split_paths(&path)),
    )
}

/// The first `dir/name` that is an executable file.
pub fn search(name: &str, dirs: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    dirs.into_iter()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn first_executable_match_wins() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        // In `a` but not executable; in `b` executable.
        fs::write(a.path().join("starling-router"), "").unwrap();
        let exe = b.path().join("starling-router");
        fs::write(&exe, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
        let dirs = || vec![a.path().to_owned(), b.path().to_owned()];
        assert_eq!(search("starling-router", dirs()), Some(exe));
        assert_eq!(search("starling-c2s", dirs()), None);
    }
}
