//! Namespace bindings in effect at one point of a stream: the ones the stream header made (which
//! every top-level element inherits), or the ones a fragment is about to be written under.

use std::borrow::Cow;

/// A default namespace and a set of prefix bindings. `xml:` is always bound and never listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The default namespace; empty for none.
    pub default_ns: Cow<'static, str>,
    /// Prefixes and the namespaces they stand for.
    pub prefixes: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Scope {
    /// The namespace `prefix` stands for, if it is bound.
    pub fn prefix(&self, prefix: &[u8]) -> Option<&str> {
        self.prefixes
            .iter()
            .find(|(p, _)| p.as_bytes() == prefix)
            .map(|(_, ns)| ns.as_ref())
    }

    /// Where `prefix` is bound, as an index into [`Scope::prefixes`].
    pub(crate) fn position(&self, prefix: &[u8]) -> Option<usize> {
        self.prefixes
            .iter()
            .position(|(p, _)| p.as_bytes() == prefix)
    }
}
