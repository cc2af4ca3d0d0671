//! Namespaces while scanning: the declarations in scope, resolving prefixes against them and the
//! stream header, and noting which bindings each child takes from outside itself.

use super::lex::{QName, Stop};
use crate::ns;
use crate::raw::parts::{Need, Ns, Span};
use crate::scope::Scope;

/// The namespace of `xmlns:` itself (Namespaces in XML 1.0 §3).
const XMLNS: &[u8] = b"http://www.w3.org/2000/xmlns/";

/// Depth of the children whose outside bindings are noted (the element itself is depth 1).
const CHILD_DEPTH: usize = 2;

struct Declared {
    /// `None` for the default namespace.
    prefix: Option<Span>,
    ns: Ns,
    depth: usize,
}

#[derive(Default)]
pub(super) struct Bindings {
    declared: Vec<Declared>,
    needs: Vec<Need>,
}

fn bytes(buf: &[u8], span: Option<Span>) -> Option<&[u8]> {
    span.map(|s| &buf[s.range()])
}

/// Whether an attribute name declares a namespace (`xmlns` or `xmlns:p`).
pub(super) fn is_declaration(buf: &[u8], name: &QName) -> bool {
    match name.prefix {
        None => &buf[name.local.range()] == b"xmlns",
        Some(prefix) => &buf[prefix.range()] == b"xmlns",
    }
}

impl Bindings {
    /// How many declarations are in scope.
    pub fn len(&self) -> usize {
        self.declared.len()
    }

    /// Ends the scope of every declaration after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        self.declared.truncate(len);
    }

    pub fn clear(&mut self) {
        self.declared.clear();
        self.needs.clear();
    }

    pub fn needs(&self) -> &[Need] {
        &self.needs
    }

    /// Takes in a namespace declaration, refusing the ones that Namespaces in XML forbids (and
    /// any that would need unescaping).
    pub fn declare(
        &mut self,
        buf: &[u8],
        name: &QName,
        value: Span,
        plain: bool,
        depth: usize,
    ) -> Result<(), Stop> {
        let prefix = name.prefix.map(|_| name.local);
        let uri = &buf[value.range()];
        let reserved = matches!(bytes(buf, prefix), Some(b"xml" | b"xmlns"));
        if !plain
            || uri == ns::XML.as_bytes()
            || uri == XMLNS
            || reserved
            || (prefix.is_some() && uri.is_empty())
        {
            return Err(Stop::Bail);
        }
        let ns = if uri.is_empty() {
            Ns::None
        } else {
            Ns::Local(value)
        };
        self.declared.push(Declared { prefix, ns, depth });
        Ok(())
    }

    /// What `prefix` (`None`: the default namespace) stands for, and the depth of the element
    /// that bound it (0: the stream header; `None` for `xml:`, bound everywhere).
    pub fn lookup(
        &self,
        buf: &[u8],
        header: &Scope,
        prefix: Option<Span>,
    ) -> Option<(Ns, Option<usize>)> {
        let wanted = bytes(buf, prefix);
        if wanted == Some(b"xml") {
            return Some((Ns::Xml, None));
        }
        if let Some(d) = self
            .declared
            .iter()
            .rev()
            .find(|d| bytes(buf, d.prefix) == wanted)
        {
            return Some((d.ns, Some(d.depth)));
        }
        match wanted {
            None if header.default_ns.is_empty() => Some((Ns::None, Some(0))),
            None => Some((Ns::HeaderDefault, Some(0))),
            Some(p) => header.position(p).map(|i| (Ns::Header(i), Some(0))),
        }
    }

    /// Resolves a name used at `depth`, inside `child` (when depth is 2 or more), noting the
    /// binding as one the child needs if it was made outside it. An undeclared prefix is an
    /// error for the full parser to report.
    pub fn resolve(
        &mut self,
        buf: &[u8],
        header: &Scope,
        prefix: Option<Span>,
        child: Option<usize>,
    ) -> Result<Ns, Stop> {
        let (ns, bound_at) = self.lookup(buf, header, prefix).ok_or(Stop::Bail)?;
        if let (Some(child), Some(bound_at)) = (child, bound_at) {
            let known = self
                .needs
                .iter()
                .any(|n| n.child == child && bytes(buf, n.prefix) == bytes(buf, prefix));
            if bound_at < CHILD_DEPTH && !known {
                self.needs.push(Need { child, prefix, ns });
            }
        }
        Ok(ns)
    }
}
