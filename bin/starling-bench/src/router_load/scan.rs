//! A cheap reader for the arrivals of a bound component stream: it walks the tags of the byte
//! stream, keeps the nesting depth, and reads only the attributes it needs (`from` and `error`
//! of each top-level element, `id` of its first child). It checks no well-formedness and
//! builds no tree, so the bench spends its CPU on sending rather than on parsing what it sent:
//! with both the bench and the router on one machine, every cycle the bench saves goes to the
//! router. `--parse full` uses xml-stream's validating parser instead.

use super::traffic::{Arrival, Plan};

/// What the scanner reports.
#[derive(Debug, PartialEq, Eq)]
pub enum Scanned {
    Arrival(Arrival),
    /// A `<stream:error>` (the element's first child names the condition).
    StreamError,
    /// `</stream:stream>`.
    Footer,
}

/// Longest tag we wait for; anything longer is not from a router under test.
const MAX_TAG: usize = 64 * 1024;

/// Scanning state between chunks.
pub struct Scanner {
    /// 1 at the stream level (inside `<stream:stream>`).
    depth: usize,
    top: Top,
}

/// What we know about the top-level element being read.
#[derive(Default)]
struct Top {
    route: bool,
    stream_error: bool,
    sender: Option<usize>,
    error: bool,
    sent_ns: Option<u64>,
    seen_child: bool,
}

impl Scanner {
    /// A scanner positioned at the stream level of a stream whose header was already read.
    pub fn new() -> Self {
        Scanner {
            depth: 1,
            top: Top::default(),
        }
    }

    /// Scans `data`, appending what it finds to `out`, and returns how many bytes it consumed:
    /// the rest is the start of an incomplete tag, to be passed again with more data.
    pub fn feed(
        &mut self,
        plan: &Plan,
        data: &[u8],
        out: &mut Vec<Scanned>,
    ) -> Result<usize, String> {
        let mut pos = 0;
        while let Some(offset) = data[pos..].iter().position(|&b| b == b'<') {
            let start = pos + offset;
            let Some(len) = tag_len(&data[start..]) else {
                if data.len() - start > MAX_TAG {
                    return Err(format!("a tag longer than {MAX_TAG} bytes"));
                }
                return Ok(start);
            };
            self.tag(plan, &data[start + 1..start + len - 1], out);
            pos = start + len;
        }
        Ok(data.len())
    }

    /// Handles one tag, given without its `<` and `>`.
    fn tag(&mut self, plan: &Plan, tag: &[u8], out: &mut Vec<Scanned>) {
        match tag.first() {
            Some(b'?' | b'!') | None => {}
            Some(b'/') => {
                if self.depth > 1 {
                    self.depth -= 1;
                    if self.depth == 1 {
                        self.finish(out);
                    }
                } else if tag_name(&tag[1..]) == b"stream:stream" {
                    out.push(Scanned::Footer);
                }
                // Any other end tag at the stream level is unbalanced; ignore it.
            }
            Some(_) => {
                let self_closing = tag.ends_with(b"/");
                let tag = if self_closing {
                    &tag[..tag.len() - 1]
                } else {
                    tag
                };
                if self.depth == 1 {
                    self.top = top_of(plan, tag);
                } else if self.depth == 2 && !self.top.seen_child {
                    self.top.seen_child = true;
                    if self.top.route {
                        self.top.sent_ns = attribute(tag, b"id").and_then(stamp);
                    }
                }
                if !self_closing {
                    self.depth += 1;
                } else if self.depth == 1 {
                    self.finish(out);
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Scanned>) {
        let top = std::mem::take(&mut self.top);
        if top.stream_error {
            out.push(Scanned::StreamError);
            return;
        }
        let arrival = match (top.route, top.sender, top.error, top.sent_ns) {
            (true, Some(sender), true, _) => Arrival::Bounced { sender },
            (true, Some(sender), false, Some(sent_ns)) => Arrival::Route { sender, sent_ns },
            _ => Arrival::Other,
        };
        out.push(Scanned::Arrival(arrival));
    }
}

fn top_of(plan: &Plan, tag: &[u8]) -> Top {
    let name = tag_name(tag);
    let local = name.rsplit(|&b| b == b':').next().unwrap_or(name);
    Top {
        route: local == b"route",
        stream_error: name == b"stream:error",
        sender: attribute(tag, b"from")
            .and_then(|f| std::str::from_utf8(f).ok())
            .and_then(|f| plan.index_of(f)),
        error: attribute(tag, b"error").is_some(),
        ..Top::default()
    }
}

/// The length of the tag at the start of `data` (which starts with `<`), up to and including
/// its `>`; `None` if it is not complete yet. `>` inside quoted attribute values is skipped.
fn tag_len(data: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in data.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'\'' | b'"') => quote = Some(b),
            (Some(q), _) if b == q => quote = None,
            (None, b'>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn tag_name(tag: &[u8]) -> &[u8] {
    let end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/')
        .unwrap_or(tag.len());
    &tag[..end]
}

/// The raw value of attribute `name` in a start tag (without `<`, `>` and a closing `/`).
fn attribute<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut rest = &tag[tag_name(tag).len()..];
    loop {
        rest = rest.trim_ascii_start();
        let eq = rest.iter().position(|&b| b == b'=')?;
        let attr = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'\'' && quote != b'"' {
            return None;
        }
        let len = after[1..].iter().position(|&b| b == quote)?;
        if attr == name {
            return Some(&after[1..1 + len]);
        }
        rest = &after[len + 2..];
    }
}

/// The send time in an id `SEQ-TIMESTAMP`.
fn stamp(id: &[u8]) -> Option<u64> {
    let dash = id.iter().rposition(|&b| b == b'-')?;
    std::str::from_utf8(&id[dash + 1..]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            prefix: "bench".into(),
            components: 8,
            all_to_all: false,
        }
    }

    const INPUT: &str = concat!(
        "<presence xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' from='bench3'/>",
        " ",
        "<presence xmlns=\"x\" from=\"bench4\"></presence>",
        "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='bench2' from='bench1'>",
        "<message xmlns='jabber:client' to='u@bench2' from='u@bench1' id='7-123456'>",
        "<body>a &gt; b / c</body></message></route>",
        "<route to=\"bench3\" error=\"404\" from=\"bench2\"><message id='1-5'/></route>",
        "<route from='elsewhere' to='bench1'><message id='1-5'/></route>",
        "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
        "</stream:stream>",
    );

    fn expected() -> Vec<Scanned> {
        vec![
            Scanned::Arrival(Arrival::Other),
            Scanned::Arrival(Arrival::Other),
            Scanned::Arrival(Arrival::Route {
                sender: 0,
                sent_ns: 123_456,
            }),
            Scanned::Arrival(Arrival::Bounced { sender: 1 }),
            Scanned::Arrival(Arrival::Other),
            Scanned::StreamError,
            Scanned::Footer,
        ]
    }

    #[test]
    fn whole_input() {
        let mut scanner = Scanner::new();
        let mut out = Vec::new();
        let consumed = scanner.feed(&plan(), INPUT.as_bytes(), &mut out).unwrap();
        assert_eq!(consumed, INPUT.len());
        assert_eq!(out, expected());
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut scanner = Scanner::new();
        let mut out = Vec::new();
        let mut pending = Vec::new();
        for &b in INPUT.as_bytes() {
            pending.push(b);
            let consumed = scanner.feed(&plan(), &pending, &mut out).unwrap();
            pending.drain(..consumed);
        }
        assert!(pending.is_empty());
        assert_eq!(out, expected());
    }

    #[test]
    fn attributes() {
        let tag = b"route to = 'a>b' from=\"x'y\" error='404'";
        assert_eq!(attribute(tag, b"to"), Some(&b"a>b"[..]));
        assert_eq!(attribute(tag, b"from"), Some(&b"x'y"[..]));
        assert_eq!(attribute(tag, b"error"), Some(&b"404"[..]));
        assert_eq!(attribute(tag, b"id"), None);
        assert_eq!(stamp(b"12-345"), Some(345));
        assert_eq!(stamp(b"nonsense"), None);
    }

    #[test]
    fn endless_tag_is_refused() {
        let mut scanner = Scanner::new();
        let data = vec![b'a'; MAX_TAG + 10];
        let mut input = b"<route ".to_vec();
        input.extend_from_slice(&data);
        assert!(scanner.feed(&plan(), &input, &mut Vec::new()).is_err());
    }
}
