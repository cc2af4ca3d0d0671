//! Loading a daemon's TOML config file, with errors an administrator can act on.
//!
//! Every error names the file, the dotted key and the problem (`etc/router.toml: limits.max_queue_bytes:
//! invalid type: string "x", expected u64`), because "invalid type" without a location sends people
//! hunting through a file full of commented defaults. The daemons' config structs use
//! `#[serde(deny_unknown_fields, default)]`, so a misspelt key is an error rather than silently ignored.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A config file that could not be read, parsed, or accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    file: PathBuf,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The file could not be read at all.
    Read(String),
    /// Not valid TOML: there is no key yet, only a position.
    Syntax {
        line: usize,
        column: usize,
        problem: String,
    },
    /// A key whose value (or presence) is wrong.
    Key {
        key: String,
        problem: String,
        position: Option<(usize, usize)>,
    },
}

impl ConfigError {
    /// A semantic error found by a daemon after loading, e.g. `ConfigError::new(path,
    /// "tls.key", "set without tls.certificate")`.
    pub fn new(
        file: impl Into<PathBuf>,
        key: impl Into<String>,
        problem: impl fmt::Display,
    ) -> Self {
        ConfigError {
            file: file.into(),
            kind: Kind::Key {
                key: key.into(),
                problem: problem.to_string(),
                position: None,
            },
        }
    }

    /// The file this error is about.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The dotted key this error is about, when there is one (not for unreadable files or
    /// syntax errors).
    pub fn key(&self) -> Option<&str> {
        match &self.kind {
            Kind::Key { key, .. } => Some(key),
            _ => None,
        }
    }

    fn read(file: &Path, err: &std::io::Error) -> Self {
        ConfigError {
            file: file.to_owned(),
            kind: Kind::Read(err.to_string()),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.kind {
            Kind::Read(err) => write!(f, "{file}: cannot read: {err}"),
            Kind::Syntax {
                line,
                column,
                problem,
            } => write!(f, "{file}:{line}:{column}: {problem}"),
            Kind::Key {
                key,
                problem,
                position,
            } => {
                write!(f, "{file}: {key}: {problem}")?;
                if let Some((line, column)) = position {
                    write!(f, " (line {line}, column {column})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads and deserializes the TOML file at `path`.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::read(path, &e))?;
    parse(path, &text)
}

/// Deserializes TOML `text` as if read from `path` (which is only used in error messages).
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    let syntax = |e: toml::de::Error| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span))
            .unwrap_or((1, 1));
        ConfigError {
            file: path.to_owned(),
            kind: Kind::Syntax {
                line,
                column,
                problem: e.message().trim_end().to_string(),
            },
        }
    };
    let de = toml::Deserializer::parse(text).map_err(syntax)?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = dotted(e.path());
        let inner = e.into_inner();
        ConfigError {
            file: path.to_owned(),
            kind: Kind::Key {
                key,
                problem: inner.message().trim_end().to_string(),
                position: inner.span().map(|span| line_column(text, span)),
            },
        }
    })
}

/// `serde_path_to_error` prints array indices as `listen[1]` and the root as `.`; a dotted TOML
/// key reads better, and an error on the whole document (a missing required table) gets a
/// name rather than an empty string.
fn dotted(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&toml_key(key));
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() {
        out.push_str("(top level)");
    }
    out
}

/// Quotes a key the way TOML would need it (`components."muc.example.org"`), so the key in an
/// error can be searched for in the file.
fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// 1-based line and column (in characters) of the start of `span` in `text`, for tools that
/// report positions in TOML they parsed themselves (starlingctl's `toml_edit` edits).
pub fn line_column(text: &str, span: Range<usize>) -> (usize, usize) {
    let start = span.start.min(text.len());
    // A span may in principle point inside a multi-byte character; back up to a boundary.
    let start = (0..=start)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Config {
        id: String,
        listen: Vec<String>,
        limits: Limits,
        users: std::collections::BTreeMap<String, User>,
    }

    impl Default for Config {
        fn default() -> Self {
            Config {
                id: "router".into(),
                listen: vec!["127.0.0.1:5347".into()],
                limits: Limits::default(),
                users: Default::default(),
            }
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Limits {
        max_queue_bytes: u64,
    }

    impl Default for Limits {
        fn default() -> Self {
            Limits {
                max_queue_bytes: 4096,
            }
        }
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(deny_unknown_fields, default)]
    struct User {
        password: String,
    }

    fn err(text: &str) -> String {
        let e = parse::<Config>(Path::new("etc/router.toml"), text)
            .unwrap_err()
            .to_string();
        println!("{e}");
        e
    }

    #[test]
    fn defaults_fill_missing_keys() {
        let c: Config = parse(Path::new("x.toml"), "[limits]\n").unwrap();
        assert_eq!(c, Config::default());
        let c: Config = parse(Path::new("x.toml"), "[users.sm]\npassword = \"p\"\n").unwrap();
        assert_eq!(c.users["sm"].password, "p");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = err("[limits]\nmax_queue_byte = 5\n");
        assert!(
            e.starts_with("etc/router.toml: limits.max_queue_byte: unknown field `max_queue_byte`"),
            "{e}"
        );
        assert!(e.contains("line 2, column 1"), "{e}");
    }

    #[test]
    fn unknown_top_level_key_is_named() {
        let e = err("id = \"r\"\nlisten_on = []\n");
        assert!(
            e.starts_with("etc/router.toml: listen_on: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_nested_key() {
        let e = err("[limits]\nmax_queue_bytes = \"big\"\n");
        assert!(
            e.starts_with("etc/router.toml: limits.max_queue_bytes: invalid type: string \"big\""),
            "{e}"
        );
        assert!(e.contains("line 2, column 19"), "{e}");
    }

    #[test]
    fn wrong_type_in_map_entry_names_key() {
        let e = err("[users.sm]\npassword = 5\n");
        assert!(
            e.starts_with("etc/router.toml: users.sm.password: invalid type: integer `5`"),
            "{e}"
        );
        let e = err("[users.\"a.b\"]\npassword = 5\n");
        assert!(
            e.starts_with("etc/router.toml: users.\"a.b\".password: "),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_in_array_names_index() {
        let e = err("listen = [\"a\", 5]\n");
        assert!(
            e.starts_with("etc/router.toml: listen[1]: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = err("id = \"router\"\n\n[limits\nmax_queue_bytes = 1\n");
        assert!(e.starts_with("etc/router.toml:3:"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
        let e = err("id = \"unterminated\n");
        assert!(e.starts_with("etc/router.toml:1:"), "{e}");
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.toml");
        let e = load::<Config>(&path).unwrap_err();
        assert_eq!(e.file(), path);
        assert_eq!(e.key(), None);
        let e = e.to_string();
        assert!(
            e.starts_with(&format!("{}: cannot read: ", path.display())),
            "{e}"
        );
        assert!(e.contains("No such file"), "{e}");
    }

    #[test]
    fn load_reads_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.toml");
        std::fs::write(&path, "id = \"hub\"\n").unwrap();
        let c: Config = load(&path).unwrap();
        assert_eq!(c.id, "hub");
    }

    #[test]
    fn semantic_error_format() {
        let e = ConfigError::new("etc/router.toml", "tls.key", "set without tls.certificate");
        assert_eq!(
            e.to_string(),
            "etc/router.toml: tls.key: set without tls.certificate"
        );
        assert_eq!(e.key(), Some("tls.key"));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 7..8), (3, 1));
        assert_eq!(line_column("ab\ncéz", 6..7), (2, 3));
        assert_eq!(line_column("", 0..0), (1, 1));
    }
}
