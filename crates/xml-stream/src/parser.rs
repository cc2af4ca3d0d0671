//! Incremental stream parser: bytes in, a header and complete top-level elements out.
//!
//! Built on `rxml::Parser`, which enforces well-formedness and namespace well-formedness and
//! refuses the constructs RFC 6120 §11.1 forbids. On top of it this module enforces the
//! limits rxml does not know about (stanza size, nesting depth, attribute count) and turns each
//! depth-1 element into a `minidom::Element` the moment its end tag arrives.
//!
//! [`StreamParser::next_frame`] can instead keep chosen top-level elements as the bytes they
//! arrived as ([`crate::raw`]): a scanner checks them without building anything, and hands
//! whatever it does not vouch for to the parser above.

use std::fmt;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use minidom::Element;
use rxml::error::EndOrError;
use rxml::{Event, Parse, RawEvent, RawParser, WithOptions};

use crate::error::{StreamError, StreamErrorCondition};
use crate::header::StreamHeader;
use crate::ns;
use crate::raw::{RawElement, Stanza};
use crate::scan::{Env, Scan, Scanner, Wanted};
use crate::scope::Scope;

/// Limits that bound what one peer can make us hold in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest top-level element, in bytes as received.
    pub max_stanza_bytes: usize,
    /// Deepest element nesting inside a stanza (the stanza itself is depth 1).
    pub max_depth: usize,
    /// Most attributes on one element.
    pub max_attributes: usize,
    /// Largest stream header, in bytes.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_stanza_bytes: 256 * 1024,
            max_depth: 48,
            max_attributes: 64,
            max_header_bytes: 4096,
        }
    }
}

/// What the parser produces: top-level elements as trees, or as [`Stanza`]s from
/// [`StreamParser::next_frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<S = Element> {
    /// The opening `<stream:stream>` tag.
    Header(StreamHeader),
    /// A complete top-level element (stanza, `<stream:features/>`, `<starttls/>`, …).
    Stanza(S),
    /// `</stream:stream>`.
    Footer,
}

impl<S> StreamEvent<S> {
    /// The same event with its top-level element converted.
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> StreamEvent<T> {
        match self {
            StreamEvent::Header(header) => StreamEvent::Header(header),
            StreamEvent::Stanza(stanza) => StreamEvent::Stanza(f(stanza)),
            StreamEvent::Footer => StreamEvent::Footer,
        }
    }
}

/// Which top-level elements [`StreamParser::next_frame`] keeps as bytes, and who reads the
/// current one.
struct Capture {
    /// Wanted as bytes: (namespace, local name) pairs.
    wanted: Wanted,
    lane: Lane,
    scanner: Scanner,
}

/// Who reads the next top-level element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    /// rxml is between two top-level elements but may still hold an event from bytes it has
    /// read (the end of a self-closing stream header): it is asked, with no input, first.
    Flushing,
    /// The scanner; rxml is between two top-level elements and holds nothing.
    Scanning,
    /// rxml, from the element's first byte: the scanner gave up on it, or a tree was asked for.
    Parsing,
}

/// Why the stream cannot go on; each maps onto one stream error condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Malformed XML (RFC 6120 §4.9.3.13).
    NotWellFormed(String),
    /// A comment, processing instruction, DTD or entity declaration (§4.9.3.18, §11.1).
    RestrictedXml(String),
    /// A limit was exceeded (§4.9.3.14).
    PolicyViolation(String),
    /// The root element is not `<stream:stream>` in the streams namespace (§4.9.3.10).
    InvalidNamespace(String),
    /// Character data at the stream level (§4.9.3.1).
    BadFormat(String),
}

impl ParseError {
    /// The stream error condition that answers this fault.
    pub fn condition(&self) -> StreamErrorCondition {
        match self {
            ParseError::NotWellFormed(_) => StreamErrorCondition::NotWellFormed,
            ParseError::RestrictedXml(_) => StreamErrorCondition::RestrictedXml,
            ParseError::PolicyViolation(_) => StreamErrorCondition::PolicyViolation,
            ParseError::InvalidNamespace(_) => StreamErrorCondition::InvalidNamespace,
            ParseError::BadFormat(_) => StreamErrorCondition::BadFormat,
        }
    }

    fn detail(&self) -> &str {
        match self {
            ParseError::NotWellFormed(s)
            | ParseError::RestrictedXml(s)
            | ParseError::PolicyViolation(s)
            | ParseError::InvalidNamespace(s)
            | ParseError::BadFormat(s) => s,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.condition(), self.detail())
    }
}

impl std::error::Error for ParseError {}

impl From<ParseError> for StreamError {
    fn from(e: ParseError) -> Self {
        let condition = e.condition();
        let text = match e {
            ParseError::NotWellFormed(s)
            | ParseError::RestrictedXml(s)
            | ParseError::PolicyViolation(s)
            | ParseError::InvalidNamespace(s)
            | ParseError::BadFormat(s) => s,
        };
        StreamError::with_text(condition, text)
    }
}

/// The incremental parser for one stream (reset on every stream restart).
pub struct StreamParser {
    parser: rxml::Parser,
    limits: Limits,
    /// Bytes of the header seen so far; needed because `rxml::Parser` hides the namespace
    /// declarations, and the header's default namespace tells stream types apart.
    header_bytes: Option<Vec<u8>>,
    /// Elements of the stanza being built, outermost first.
    open: Vec<Element>,
    /// Bytes received since the stream was last between two top-level elements: the stanza
    /// being built, including a start tag rxml is still accumulating.
    stanza_bytes: usize,
    /// Content namespace rewritten at parse time (for example `jabber:component:accept` to the
    /// canonical `jabber:client`), so the rest of the server sees one stanza namespace.
    namespace_alias: Option<(String, String)>,
    /// The namespaces the header bound (empty until it is read).
    header_scope: Arc<Scope>,
    capture: Option<Capture>,
    failed: Option<ParseError>,
    ended: bool,
}

impl StreamParser {
    pub fn new(limits: Limits) -> Self {
        StreamParser {
            parser: new_rxml_parser(),
            limits,
            header_bytes: Some(Vec::new()),
            open: Vec::new(),
            stanza_bytes: 0,
            namespace_alias: None,
            header_scope: Arc::default(),
            capture: None,
            failed: None,
            ended: false,
        }
    }

    /// Makes [`StreamParser::next_frame`] keep the top-level elements named in `wanted`
    /// (namespace, local name) as bytes. Not with a namespace alias, which bytes cannot carry:
    /// then every element comes as a tree.
    pub fn set_capture(&mut self, wanted: Wanted) {
        // An element rxml has started on is its to finish.
        let between_elements = self.open.is_empty() && self.stanza_bytes == 0;
        self.capture = Some(Capture {
            wanted,
            lane: if between_elements {
                Lane::Flushing
            } else {
                Lane::Parsing
            },
            scanner: Scanner::default(),
        });
    }

    /// Rewrites elements in namespace `from` to namespace `to` as they are parsed.
    pub fn set_namespace_alias(&mut self, from: &str, to: &str) {
        self.namespace_alias = Some((from.to_owned(), to.to_owned()));
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Starts a new stream on the same connection (after STARTTLS or SASL success).
    pub fn reset(&mut self) {
        let alias = self.namespace_alias.take();
        let wanted = self.capture.as_ref().map(|c| c.wanted);
        *self = StreamParser::new(self.limits);
        self.namespace_alias = alias;
        if let Some(wanted) = wanted {
            self.set_capture(wanted);
        }
    }

    /// Whether `</stream:stream>` has been seen.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Parses from `data` until one event is complete, leaving the rest of `data` unconsumed.
    /// `Ok(None)` means everything was consumed and more input is needed. Every element comes
    /// as a tree (one the fast path of [`StreamParser::next_frame`] had started on is read from
    /// its first byte, which the fast path leaves in place).
    pub fn next_event(&mut self, data: &mut &[u8]) -> Result<Option<StreamEvent>, ParseError> {
        self.leave_fast_path();
        let event = self.parse(data)?;
        self.rejoin_fast_path(event.as_ref());
        Ok(event)
    }

    /// [`StreamParser::next_event`] on a buffer, taking what it consumed off the buffer's front.
    pub fn next_event_in(&mut self, buf: &mut BytesMut) -> Result<Option<StreamEvent>, ParseError> {
        self.leave_fast_path();
        let event = self.parse_in(buf)?;
        self.rejoin_fast_path(event.as_ref());
        Ok(event)
    }

    /// Hands the next element to rxml, whatever the scanner has seen of it.
    fn leave_fast_path(&mut self) {
        if let Some(capture) = &mut self.capture {
            capture.scanner.reset();
            capture.lane = Lane::Parsing;
        }
    }

    /// After rxml gave `event`: whether the scanner may take the next element.
    fn rejoin_fast_path(&mut self, event: Option<&StreamEvent>) {
        if let Some(capture) = &mut self.capture {
            match event {
                // rxml stops right after the element's last byte.
                Some(StreamEvent::Stanza(_)) => capture.lane = Lane::Scanning,
                Some(StreamEvent::Header(_)) => capture.lane = Lane::Flushing,
                _ => {}
            }
        }
    }

    fn parse(&mut self, data: &mut &[u8]) -> Result<Option<StreamEvent>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.next_event_inner(data) {
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn parse_in(&mut self, buf: &mut BytesMut) -> Result<Option<StreamEvent>, ParseError> {
        let mut data: &[u8] = buf;
        let result = self.parse(&mut data);
        let consumed = buf.len() - data.len();
        buf.advance(consumed);
        result
    }

    /// The next event from the front of `buf`, with the top-level elements chosen by
    /// [`StreamParser::set_capture`] kept as bytes where the fast path can check them (split
    /// off `buf` without copying). `Ok(None)` means more input is needed.
    pub fn next_frame(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<StreamEvent<Stanza>>, ParseError> {
        loop {
            let scannable = self.header_bytes.is_none()
                && !self.ended
                && self.failed.is_none()
                && self.namespace_alias.is_none();
            let capture = match &mut self.capture {
                Some(capture) if scannable && capture.lane == Lane::Flushing => {
                    capture.lane = Lane::Scanning;
                    match self.parse(&mut &[][..])? {
                        Some(event) => return Ok(Some(event.map(Stanza::Tree))),
                        None => continue,
                    }
                }
                Some(capture) if scannable && capture.lane == Lane::Scanning => capture,
                _ => break,
            };
            let env = Env {
                scope: &self.header_scope,
                limits: &self.limits,
                wanted: capture.wanted,
            };
            match capture.scanner.scan(buf, &env) {
                Scan::Blank(length) => buf.advance(length),
                Scan::Element(length, parts) => {
                    let bytes = buf.split_to(length).freeze();
                    let raw = RawElement::new(bytes, self.header_scope.clone(), parts);
                    return Ok(Some(StreamEvent::Stanza(Stanza::Raw(raw))));
                }
                Scan::NeedMore => return Ok(None),
                Scan::Bail => capture.lane = Lane::Parsing,
            }
        }
        let event = self.parse_in(buf)?;
        self.rejoin_fast_path(event.as_ref());
        Ok(event.map(|e| e.map(Stanza::Tree)))
    }

    fn next_event_inner(&mut self, data: &mut &[u8]) -> Result<Option<StreamEvent>, ParseError> {
        loop {
            if self.ended {
                if data.iter().all(u8::is_ascii_whitespace) {
                    *data = &[];
                    return Ok(None);
                }
                return Err(ParseError::NotWellFormed(
                    "data after the stream footer".into(),
                ));
            }
            let before: &[u8] = data;
            let result = self.parser.parse(data, false);
            let consumed = &before[..before.len() - data.len()];
            if let Some(buf) = &mut self.header_bytes {
                if buf.len() + consumed.len() > self.limits.max_header_bytes {
                    return Err(ParseError::PolicyViolation(
                        "stream header too large".into(),
                    ));
                }
                buf.extend_from_slice(consumed);
            } else {
                // Counted as consumed rather than per event: rxml holds a start tag's
                // attributes until the tag ends, so an endless start tag must be caught while
                // it is still arriving.
                self.stanza_bytes += consumed.len();
            }
            let event = match result {
                Ok(Some(event)) => event,
                Ok(None) | Err(EndOrError::NeedMoreData) => {
                    self.check_size()?;
                    return Ok(None);
                }
                Err(EndOrError::Error(e)) => return Err(classify(e, consumed.last().copied())),
            };
            if let Some(out) = self.handle(event)? {
                return Ok(Some(out));
            }
        }
    }

    fn handle(&mut self, event: Event) -> Result<Option<StreamEvent>, ParseError> {
        let at_stream_level = self.open.is_empty();
        match event {
            Event::XmlDeclaration(..) => Ok(None),
            Event::StartElement(_, (element_ns, name), attrs) if self.header_bytes.is_some() => {
                if element_ns.as_str() != ns::STREAMS || name.as_str() != "stream" {
                    return Err(ParseError::InvalidNamespace(format!(
                        "root element is {{{}}}{} instead of the stream element",
                        element_ns.as_str(),
                        name.as_str()
                    )));
                }
                let raw = self.header_bytes.take().unwrap_or_default();
                let (mut header, scope) = declarations(&raw);
                self.header_scope = Arc::new(scope);
                for ((attr_ns, attr_name), value) in attrs.into_iter() {
                    let slot = match (attr_ns.as_str(), attr_name.as_str()) {
                        ("", "to") => &mut header.to,
                        ("", "from") => &mut header.from,
                        ("", "id") => &mut header.id,
                        ("", "version") => &mut header.version,
                        (ns::XML, "lang") => &mut header.lang,
                        _ => continue,
                    };
                    *slot = Some(value);
                }
                Ok(Some(StreamEvent::Header(header)))
            }
            Event::StartElement(_, (element_ns, name), attrs) => {
                self.check_size()?;
                if self.open.len() + 1 > self.limits.max_depth {
                    return Err(ParseError::PolicyViolation(
                        "elements nested too deeply".into(),
                    ));
                }
                if attrs.len() > self.limits.max_attributes {
                    return Err(ParseError::PolicyViolation("too many attributes".into()));
                }
                let element_ns = match &self.namespace_alias {
                    Some((from, to)) if element_ns.as_str() == from => to.clone(),
                    _ => element_ns.as_str().to_owned(),
                };
                let mut element = Element::bare(name.as_str(), element_ns);
                *element.attrs_mut() = attrs;
                self.open.push(element);
                Ok(None)
            }
            Event::Text(_, text) => {
                if at_stream_level {
                    if text.chars().all(|c| c.is_ascii_whitespace()) {
                        self.stanza_bytes = 0;
                        return Ok(None); // whitespace keepalive
                    }
                    return Err(ParseError::BadFormat(
                        "character data at the stream level".into(),
                    ));
                }
                self.check_size()?;
                if let Some(top) = self.open.last_mut() {
                    // rxml hands text over in pieces that depend on how the input was split;
                    // merge them so that the same stanza always gives the same element.
                    top.append_text(text);
                }
                Ok(None)
            }
            Event::EndElement(_) => {
                let Some(done) = self.open.pop() else {
                    self.ended = true;
                    return Ok(Some(StreamEvent::Footer));
                };
                self.check_size()?;
                match self.open.last_mut() {
                    Some(parent) => {
                        parent.append_child(done);
                        Ok(None)
                    }
                    None => {
                        self.stanza_bytes = 0;
                        Ok(Some(StreamEvent::Stanza(done)))
                    }
                }
            }
        }
    }

    fn check_size(&self) -> Result<(), ParseError> {
        if self.stanza_bytes > self.limits.max_stanza_bytes {
            return Err(ParseError::PolicyViolation(format!(
                "stanza larger than {} bytes",
                self.limits.max_stanza_bytes
            )));
        }
        Ok(())
    }
}

fn new_rxml_parser() -> rxml::Parser {
    let mut parser = rxml::Parser::with_options(rxml::parser::Options::default());
    // Text is handed over as it arrives, so size accounting sees it at once.
    parser.set_text_buffering(false);
    parser
}

/// Maps an rxml error onto the stream error RFC 6120 asks for. `last_byte` is the last byte
/// rxml consumed, the one it failed on.
fn classify(e: rxml::Error, last_byte: Option<u8>) -> ParseError {
    let detail = e.to_string();
    match e {
        rxml::Error::RestrictedXml(what) if what.contains("long") => {
            ParseError::PolicyViolation(detail)
        }
        rxml::Error::RestrictedXml(_) => ParseError::RestrictedXml(detail),
        // rxml fails on the byte after `<!` when it starts neither a comment nor a CDATA
        // section; a capital letter there starts a DTD or one of its declarations
        // (`<!DOCTYPE`, `<!ENTITY`, …). The `<!` may have come in an earlier chunk, so the
        // failing byte is what tells.
        rxml::Error::InvalidSyntax(what)
            if what.starts_with("malformed cdata or comment")
                && last_byte.is_some_and(|b| b.is_ascii_uppercase()) =>
        {
            ParseError::RestrictedXml("DTDs and entity declarations are not allowed".into())
        }
        _ => ParseError::NotWellFormed(detail),
    }
}

/// Reads the namespace declarations of the stream header from its raw bytes: as the header
/// reports them (no `stream:`), and all of them as the scope stanzas inherit.
fn declarations(raw: &[u8]) -> (StreamHeader, Scope) {
    let mut header = StreamHeader::default();
    let mut scope = Scope::default();
    let mut parser = RawParser::new();
    let mut data = raw;
    loop {
        match parser.parse(&mut data, false) {
            Ok(Some(RawEvent::Attribute(_, (prefix, name), value))) => match prefix {
                None if name.as_str() == "xmlns" => {
                    scope.default_ns = value.clone().into();
                    header.default_ns = Some(value);
                }
                Some(p) if p.as_str() == "xmlns" => {
                    if name.as_str() != "stream" {
                        header
                            .prefixes
                            .push((name.as_str().to_owned(), value.clone()));
                    }
                    scope
                        .prefixes
                        .push((name.as_str().to_owned().into(), value.into()));
                }
                _ => {}
            },
            Ok(Some(RawEvent::ElementHeadClose(..))) | Ok(None) | Err(_) => return (header, scope),
            Ok(Some(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests;
