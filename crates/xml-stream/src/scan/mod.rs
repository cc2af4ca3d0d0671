//! The fast path for top-level elements that are forwarded as bytes.
//!
//! The scanner checks one complete top-level element for well-formedness and namespace
//! well-formedness without building anything, and records where its start tag, its children's
//! start tags and their attributes are. It knows only a plain subset of XML (see [`lex`]) and
//! stays within the stream's limits; whatever it cannot vouch for it gives up on, and the full
//! parser takes the element from its first byte. So an element it accepts is one rxml would have
//! accepted with the same meaning, and every error is still rxml's.
//!
//! It keeps its place between calls: bytes arriving a few at a time are checked once, as long
//! as the element's earlier bytes stay where they were in the buffer.

mod lex;
mod names;

use crate::parser::Limits;
use crate::raw::parts::{Attr, Ns, Parts, Piece, Span, Tag};
use crate::scope::Scope;

pub(crate) use lex::Stop;
use lex::{is_space, QName};
use names::Bindings;

/// How much of an incomplete tag is read again when more input arrives; a longer one is left
/// to the full parser, so that a peer sending it byte by byte cannot make us rescan it.
const MAX_RESCAN: usize = 4096;

/// What the scanner is told about the stream.
pub(crate) struct Env<'a> {
    pub scope: &'a Scope,
    pub limits: &'a Limits,
    pub wanted: Wanted,
}

/// The top-level elements wanted as bytes: (namespace, local name) pairs.
pub type Wanted = &'static [(&'static str, &'static str)];

/// What one call found at the start of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// White space between top-level elements, this many bytes.
    Blank(usize),
    /// A complete, checked element of this many bytes.
    Element(usize, Parts),
    /// The buffer ends inside the element.
    NeedMore,
    /// Not vouched for: the full parser must read the element.
    Bail,
}

/// An element that has been opened and not yet closed.
struct Open {
    name: Span,
    /// How many declarations were in scope before its own.
    declarations: usize,
    tag: Kept,
}

/// Which recorded start tag an element has, if any (only the element and its children have):
/// children by their position among the pieces.
#[derive(Debug, Clone, Copy)]
enum Kept {
    Root,
    Child(usize),
    No,
}

/// An attribute of the start tag being read.
#[derive(Debug, Clone, Copy)]
struct Pending {
    name: QName,
    value: Span,
    plain: bool,
    /// `xmlns` or `xmlns:…`.
    declaration: bool,
}

#[derive(Default)]
pub(crate) struct Scanner {
    /// Where the next piece starts; everything before it is checked and recorded.
    pos: usize,
    open: Vec<Open>,
    bindings: Bindings,
    pending: Vec<Pending>,
    root: Option<Tag>,
    pieces: Vec<Piece>,
}

impl Scanner {
    /// Scans the element at the start of `buf`, which must hold at least the bytes of the last
    /// call, unchanged.
    pub fn scan(&mut self, buf: &[u8], env: &Env) -> Scan {
        if self.pos == 0 {
            let blank = buf.iter().take_while(|&&b| is_space(b)).count();
            match buf {
                _ if blank > 0 => return Scan::Blank(blank),
                [] | [b'<'] => return Scan::NeedMore,
                [b'<', b'/' | b'!' | b'?', ..] => return Scan::Bail,
                [b'<', ..] => {}
                _ => return Scan::Bail,
            }
        }
        let outcome = match self.run(buf, env) {
            Ok(length) if lex::valid_characters(&buf[..length]) => self.finish(length),
            Err(Stop::NeedMore(_))
                if buf.len() <= env.limits.max_stanza_bytes
                    && buf.len() - self.pos <= MAX_RESCAN =>
            {
                return Scan::NeedMore
            }
            _ => Scan::Bail,
        };
        self.reset();
        outcome
    }

    fn finish(&mut self, length: usize) -> Scan {
        match self.root.take() {
            Some(root) => Scan::Element(
                length,
                // Copies of exactly the right size: the scratch space stays for the next.
                Parts {
                    root,
                    pieces: self.pieces.clone(),
                    needs: self.bindings.needs().to_vec(),
                },
            ),
            None => Scan::Bail,
        }
    }

    /// Forgets the element being scanned.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.open.clear();
        self.bindings.clear();
        self.root = None;
        self.pieces.clear();
    }

    /// Reads pieces from where the last call stopped until the element ends.
    fn run(&mut self, buf: &[u8], env: &Env) -> Result<usize, Stop> {
        loop {
            let i = self.pos;
            let next = match buf.get(i) {
                None => return Err(Stop::NeedMore(i)),
                Some(b'<') => match buf.get(i + 1) {
                    None => return Err(Stop::NeedMore(i)),
                    Some(b'/') => self.end_tag(buf, i)?,
                    Some(b'!' | b'?') => return Err(Stop::Bail),
                    Some(_) => self.start_tag(buf, i, env)?,
                },
                Some(_) => match lex::text(buf, i) {
                    Err(Stop::NeedMore(checked)) => {
                        self.pos = checked;
                        return Err(Stop::NeedMore(checked));
                    }
                    other => other?,
                },
            };
            if next > env.limits.max_stanza_bytes {
                return Err(Stop::Bail);
            }
            self.pos = next;
            if self.open.is_empty() {
                return Ok(next);
            }
        }
    }

    /// `<name attributes…>` or `<name attributes…/>`, from its `<`.
    fn start_tag(&mut self, buf: &[u8], start: usize, env: &Env) -> Result<usize, Stop> {
        let name = lex::qname(buf, start + 1)?;
        let mut i = name.whole.end;
        self.pending.clear();
        let empty = loop {
            let at = lex::space(buf, i)?;
            match buf[at] {
                b'>' => {
                    i = at + 1;
                    break false;
                }
                b'/' => match buf.get(at + 1) {
                    Some(b'>') => {
                        i = at + 2;
                        break true;
                    }
                    Some(_) => return Err(Stop::Bail),
                    None => return Err(Stop::NeedMore(at)),
                },
                // Attributes are separated by white space.
                _ if at == i => return Err(Stop::Bail),
                _ => {
                    let attr = lex::qname(buf, at)?;
                    let eq = lex::space(buf, attr.whole.end)?;
                    if buf[eq] != b'=' {
                        return Err(Stop::Bail);
                    }
                    let open_quote = lex::space(buf, eq + 1)?;
                    let quote = buf[open_quote];
                    if quote != b'\'' && quote != b'"' {
                        return Err(Stop::Bail);
                    }
                    let (close_quote, plain) = lex::attribute_value(buf, open_quote + 1, quote)?;
                    self.pending.push(Pending {
                        name: attr,
                        value: Span::new(open_quote + 1, close_quote),
                        plain,
                        declaration: names::is_declaration(buf, &attr),
                    });
                    if self.pending.len() > env.limits.max_attributes {
                        return Err(Stop::Bail);
                    }
                    i = close_quote + 1;
                }
            }
        };
        if self.open.len() >= env.limits.max_depth {
            return Err(Stop::Bail);
        }
        self.open_element(buf, env, start, name, i, empty)?;
        Ok(i)
    }

    /// Declares, resolves and records the start tag just read (nothing before this can fail
    /// for want of input, so a tag is recorded once).
    fn open_element(
        &mut self,
        buf: &[u8],
        env: &Env,
        start: usize,
        name: QName,
        end: usize,
        empty: bool,
    ) -> Result<(), Stop> {
        let depth = self.open.len() + 1;
        let declarations = self.bindings.len();
        let child = match depth {
            1 => None,
            2 => Some(self.pieces.len()),
            _ => self.open.get(1).and_then(|o| match o.tag {
                Kept::Child(c) => Some(c),
                _ => None,
            }),
        };
        for (k, attr) in self.pending.iter().enumerate() {
            let raw = &buf[attr.name.whole.range()];
            let same = |other: &Pending| {
                other.name.whole.end - other.name.whole.start == raw.len()
                    && buf[other.name.whole.range()] == *raw
            };
            if self.pending[..k].iter().any(same) {
                return Err(Stop::Bail);
            }
            if attr.declaration {
                self.bindings
                    .declare(buf, &attr.name, attr.value, attr.plain, depth)?;
            }
        }
        let ns = self.bindings.resolve(buf, env.scope, name.prefix, child)?;
        if depth == 1 {
            let (ns, local) = (ns.bytes(buf, env.scope), &buf[name.local.range()]);
            let wanted = env.wanted.iter();
            if !wanted
                .into_iter()
                .any(|(n, l)| n.as_bytes() == ns && l.as_bytes() == local)
            {
                return Err(Stop::Bail);
            }
        }
        let tag = Tag {
            start,
            name_end: name.whole.end,
            end,
            local: name.local,
            ns,
        };
        let kept = match depth {
            1 => {
                self.root = Some(tag);
                Kept::Root
            }
            2 => {
                self.pieces.push(Piece::Child(tag));
                Kept::Child(self.pieces.len() - 1)
            }
            _ => Kept::No,
        };
        for (k, attr) in self.pending.iter().enumerate() {
            if attr.declaration {
                continue;
            }
            let attr_ns = match attr.name.prefix {
                None => Ns::None,
                Some(prefix) => {
                    let attr_ns = self.bindings.resolve(buf, env.scope, Some(prefix), child)?;
                    // Two prefixes for one namespace make two names for one attribute.
                    let local = &buf[attr.name.local.range()];
                    for other in &self.pending[..k] {
                        let Some(other_prefix) = other.name.prefix else {
                            continue;
                        };
                        if other.declaration || buf[other.name.local.range()] != *local {
                            continue;
                        }
                        let other_ns = self.bindings.lookup(buf, env.scope, Some(other_prefix));
                        if other_ns.map(|(n, _)| n.bytes(buf, env.scope))
                            == Some(attr_ns.bytes(buf, env.scope))
                        {
                            return Err(Stop::Bail);
                        }
                    }
                    attr_ns
                }
            };
            if depth <= 2 {
                if !attr.plain {
                    return Err(Stop::Bail);
                }
                self.pieces.push(Piece::Attr(Attr {
                    local: attr.name.local,
                    ns: attr_ns,
                    value: attr.value,
                }));
            }
        }
        if empty {
            self.bindings.truncate(declarations);
        } else {
            self.open.push(Open {
                name: name.whole,
                declarations,
                tag: kept,
            });
        }
        Ok(())
    }

    /// `</name>`, from its `<`; the name must be the open element's.
    fn end_tag(&mut self, buf: &[u8], start: usize) -> Result<usize, Stop> {
        let Some(open) = self.open.last() else {
            return Err(Stop::Bail);
        };
        let name = &buf[open.name.range()];
        let name_start = start + 2;
        let name_end = name_start + name.len();
        let available = &buf[name_start.min(buf.len())..name_end.min(buf.len())];
        if !name.starts_with(available) {
            return Err(Stop::Bail);
        }
        if name_end > buf.len() {
            return Err(Stop::NeedMore(start));
        }
        let close = lex::space(buf, name_end)?;
        if buf[close] != b'>' {
            return Err(Stop::Bail);
        }
        let end = close + 1;
        if let Some(open) = self.open.pop() {
            self.bindings.truncate(open.declarations);
            match open.tag {
                Kept::Root => {
                    if let Some(root) = &mut self.root {
                        root.end = end;
                    }
                }
                Kept::Child(position) => {
                    if let Some(Piece::Child(child)) = self.pieces.get_mut(position) {
                        child.end = end;
                    }
                }
                Kept::No => {}
            }
        }
        Ok(end)
    }
}

#[cfg(test)]
mod tests;
