//! The stream header (`<stream:stream …>`), RFC 6120 §4.7.

/// The attributes of a stream header, and the namespaces it declared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamHeader {
    /// The default namespace declared on the header (`xmlns='…'`), if any.
    pub default_ns: Option<String>,
    /// Prefixed namespace declarations other than `stream:` (for example `db:`).
    pub prefixes: Vec<(String, String)>,
    pub to: Option<String>,
    pub from: Option<String>,
    pub id: Option<String>,
    pub version: Option<String>,
    pub lang: Option<String>,
}

impl StreamHeader {
    /// Whether the header asks for XMPP 1.0 or later (RFC 6120 §4.7.5).
    pub fn is_version_1(&self) -> bool {
        self.version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|major| major.parse::<u32>().ok())
            .is_some_and(|major| major >= 1)
    }
}
