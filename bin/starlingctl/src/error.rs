//! starlingctl's one error type: a message for the administrator, printed as `error: {message}`
//! with exit code 1. Messages about a file start with the file's path, like the daemons' own.

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlError(String);

impl CtlError {
    pub fn new(message: impl fmt::Display) -> Self {
        CtlError(message.to_string())
    }

    /// `"{file}: {problem}"`.
    pub fn file(file: &Path, problem: impl fmt::Display) -> Self {
        CtlError(format!("{}: {problem}", file.display()))
    }
}

impl fmt::Display for CtlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CtlError {}
