//! Top-level elements kept as the bytes they arrived as.
//!
//! A [`RawElement`] is what [`StreamParser::next_frame`](crate::StreamParser::next_frame) returns
//! for an element it was asked to capture and could check on its fast path. It gives the
//! element's name and attributes and its children's, and writes a child somewhere else as its
//! original bytes, declaring there whatever namespaces the child took from its surroundings.
//!
//! A `RawElement` shares the connection's read buffer: keep it only as long as it takes to
//! forward it.

pub(crate) mod parts;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use minidom::Element;

use crate::parser::{Limits, ParseError, StreamEvent, StreamParser};
use crate::scope::Scope;
use crate::writer::write_attr;
use crate::{ns, writer};
use parts::{Ns, Parts, Span, Tag};

/// A top-level element as [`StreamParser::next_frame`](crate::StreamParser::next_frame) gives it.
#[derive(Debug)]
pub enum Stanza {
    /// Parsed into a tree: not wanted as bytes, or not plain enough for the fast path.
    Tree(Element),
    /// Kept as bytes.
    Raw(RawElement),
}

/// A checked top-level element and where its parts are.
#[derive(Debug)]
pub struct RawElement {
    bytes: Bytes,
    /// The namespaces the stream header bound, which the element may use.
    header: Arc<Scope>,
    parts: Parts,
}

impl RawElement {
    pub(crate) fn new(bytes: Bytes, header: Arc<Scope>, parts: Parts) -> RawElement {
        RawElement {
            bytes,
            header,
            parts,
        }
    }

    /// The element exactly as received.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    pub fn name(&self) -> &str {
        self.text(self.parts.root.local)
    }

    pub fn ns(&self) -> &str {
        self.ns_text(self.parts.root.ns)
    }

    /// Whether the element is `{ns}name`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        let root = &self.parts.root;
        self.bytes.get(root.local.range()) == Some(name.as_bytes())
            && root.ns.bytes(&self.bytes, &self.header) == ns.as_bytes()
    }

    /// The value of an attribute in no namespace.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_after(0, name)
    }

    /// The child elements, in order.
    pub fn children(&self) -> impl Iterator<Item = RawChild<'_>> {
        self.parts.children().map(|(position, tag)| RawChild {
            element: self,
            position,
            tag,
        })
    }

    fn text(&self, span: Span) -> &str {
        let bytes = self.bytes.get(span.range()).unwrap_or_default();
        // Checked as UTF-8 by the scanner, which splits only at ASCII delimiters.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    fn ns_text(&self, ns: Ns) -> &str {
        std::str::from_utf8(ns.bytes(&self.bytes, &self.header)).unwrap_or_default()
    }

    /// An attribute of the start tag whose attributes follow `position` in the pieces.
    fn attr_after(&self, position: usize, name: &str) -> Option<&str> {
        self.parts
            .attrs_from(position)
            .find(|a| a.ns == Ns::None && self.bytes.get(a.local.range()) == Some(name.as_bytes()))
            .map(|a| self.text(a.value))
    }
}

/// One child element of a [`RawElement`].
#[derive(Debug, Clone, Copy)]
pub struct RawChild<'a> {
    element: &'a RawElement,
    /// Where its start tag is among the pieces.
    position: usize,
    tag: &'a Tag,
}

impl<'a> RawChild<'a> {
    pub fn name(&self) -> &'a str {
        self.element.text(self.tag.local)
    }

    pub fn ns(&self) -> &'a str {
        self.element.ns_text(self.tag.ns)
    }

    /// The value of an attribute in no namespace.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.element.attr_after(self.position + 1, name)
    }

    /// Writes the child as received, into a place where the namespaces of `context` are in
    /// scope. Bindings the child took from its surroundings and that `context` lacks are
    /// declared on its start tag, so it means there what it meant where it came from.
    pub fn write_into(&self, context: &Scope, out: &mut BytesMut) {
        let bytes = &self.element.bytes;
        let (start, name_end, end) = (self.tag.start, self.tag.name_end, self.tag.end);
        out.extend_from_slice(bytes.get(start..name_end).unwrap_or_default());
        let needs = self.element.parts.needs.iter();
        for need in needs.filter(|n| n.child == self.position) {
            let ns = self.element.ns_text(need.ns);
            match need.prefix {
                None if context.default_ns != ns => write_attr(out, "xmlns", ns),
                Some(prefix) => {
                    let prefix = self.element.text(prefix);
                    if context.prefix(prefix.as_bytes()) != Some(ns) {
                        write_attr(out, &format!("xmlns:{prefix}"), ns);
                    }
                }
                None => {}
            }
        }
        out.extend_from_slice(bytes.get(name_end..end).unwrap_or_default());
    }

    /// The child as a tree (for the rare receiver that needs one).
    pub fn to_element(&self) -> Result<Element, ParseError> {
        let context = Scope {
            default_ns: "".into(),
            prefixes: vec![("stream".into(), ns::STREAMS.into())],
        };
        let mut input = BytesMut::new();
        writer::write_header(&Default::default(), &mut input);
        self.write_into(&context, &mut input);
        // The bytes were checked against the stream's limits already.
        let mut parser = StreamParser::new(Limits {
            max_stanza_bytes: usize::MAX,
            max_depth: usize::MAX,
            max_attributes: usize::MAX,
            ..Limits::default()
        });
        let mut data = &input[..];
        loop {
            match parser.next_event(&mut data)? {
                Some(StreamEvent::Stanza(el)) => return Ok(el),
                Some(_) => {}
                None => return Err(ParseError::NotWellFormed("incomplete element".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests;
