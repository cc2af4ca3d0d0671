//! What the scanner records about an element it vouched for: where its pieces are in its bytes,
//! and how their names resolve. Positions are byte offsets from the element's first `<`.

use std::ops::Range;

use crate::ns;
use crate::scope::Scope;

/// A range of the element's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// Where a namespace name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace.
    None,
    /// The `xml:` namespace.
    Xml,
    /// The stream header's default namespace.
    HeaderDefault,
    /// A prefix the stream header bound: an index into its scope's prefixes.
    Header(usize),
    /// A declaration inside the element: the span of its value.
    Local(Span),
}

/// A start tag the scanner kept: the element itself or one of its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// Where the element starts (its `<`).
    pub start: usize,
    /// Where the qualified name in the start tag ends: declarations can be added there.
    pub name_end: usize,
    /// Where the element ends (after `/>` or its end tag).
    pub end: usize,
    pub local: Span,
    pub ns: Ns,
}

/// An attribute (not a namespace declaration) of a kept start tag. Its value needs no
/// unescaping: the scanner does not vouch for elements where it would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub local: Span,
    pub ns: Ns,
    pub value: Span,
}

/// A binding that a child relies on but that is made outside it (on the element or the stream
/// header): writing the child elsewhere must make it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    /// The child, as a position in [`Parts::pieces`].
    pub child: usize,
    /// The prefix, as written where it is used; `None` for the default namespace.
    pub prefix: Option<Span>,
    pub ns: Ns,
}

/// A kept start tag of a child, or an attribute of the tag before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Child(Tag),
    Attr(Attr),
}

/// Everything kept about one element (in two allocations at most, usually one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub root: Tag,
    /// The element's attributes, then each child's start tag followed by its attributes.
    pub pieces: Vec<Piece>,
    pub needs: Vec<Need>,
}

impl Parts {
    /// The attributes that follow position `from` (the element's own from 0).
    pub fn attrs_from(&self, from: usize) -> impl Iterator<Item = &Attr> {
        let pieces = self.pieces.get(from..).unwrap_or_default();
        pieces.iter().map_while(|piece| match piece {
            Piece::Attr(attr) => Some(attr),
            Piece::Child(_) => None,
        })
    }

    /// The children's start tags, with their positions.
    pub fn children(&self) -> impl Iterator<Item = (usize, &Tag)> {
        self.pieces
            .iter()
            .enumerate()
            .filter_map(|(position, piece)| match piece {
                Piece::Child(tag) => Some((position, tag)),
                Piece::Attr(_) => None,
            })
    }
}

impl Ns {
    /// The namespace name, given the element's bytes and the stream header's scope.
    pub fn bytes<'a>(self, element: &'a [u8], header: &'a Scope) -> &'a [u8] {
        match self {
            Ns::None => b"",
            Ns::Xml => ns::XML.as_bytes(),
            Ns::HeaderDefault => header.default_ns.as_bytes(),
            Ns::Header(i) => header
                .prefixes
                .get(i)
                .map_or(&b""[..], |(_, ns)| ns.as_bytes()),
            Ns::Local(span) => element.get(span.range()).unwrap_or_default(),
        }
    }
}
