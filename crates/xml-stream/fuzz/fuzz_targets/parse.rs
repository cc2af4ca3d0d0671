//! Feeds arbitrary bytes to `StreamParser`, split at points derived from the first byte, and
//! checks that:
//! - nothing panics, `Ok(None)` consumes its whole input and errors are sticky;
//! - the events do not depend on how the input was split (compared with a one-chunk parse);
//! - every stanza survives writer → parser unchanged;
//! - `next_frame`, which checks some top-level elements on its fast path and keeps them as
//!   bytes, gives what `next_event` gives: the same events and errors, and for each element kept
//!   as bytes the same name, attributes and children.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use xml_stream::writer::{write_header, write_stanza, FOOTER};
use xml_stream::{
    Element, Limits, ParseError, RawElement, Stanza, StreamEvent, StreamHeader, StreamParser,
    Wanted,
};

/// What `next_frame` keeps as bytes: the seeds' top-level elements, and short names.
const WANTED: Wanted = &[
    ("jabber:client", "message"),
    ("jabber:client", "presence"),
    ("jabber:client", "iq"),
    ("jabber:client", "a"),
    ("jabber:client", "m"),
    ("jabber:component:accept", "message"),
    ("http://jabberd.jabberstudio.org/ns/component/1.0", "route"),
    ("jabber:server:dialback", "result"),
    ("http://etherx.jabber.org/streams", "features"),
    ("http://etherx.jabber.org/streams", "error"),
    ("", "a"),
    ("", "m"),
];

fn limits(seed: u8) -> Limits {
    if seed & 0x40 != 0 {
        // Small limits, so that the fuzzer reaches them.
        Limits {
            max_stanza_bytes: 512,
            max_depth: 8,
            max_attributes: 8,
            max_header_bytes: 256,
        }
    } else {
        Limits::default()
    }
}

fn parser(seed: u8) -> StreamParser {
    let mut parser = StreamParser::new(limits(seed));
    if seed & 0x80 != 0 {
        parser.set_namespace_alias("jabber:component:accept", "jabber:client");
    }
    parser
}

/// Up to four split points, derived from `seed`.
fn chunks(seed: u8, input: &[u8]) -> Vec<&[u8]> {
    let n = input.len();
    let mut points: Vec<usize> = (1..=(seed as usize % 4) + 1)
        .map(|i| {
            (seed as usize)
                .wrapping_mul(2_654_435_761)
                .wrapping_mul(i * 7 + 1)
                % (n + 1)
        })
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for p in points {
        out.push(&input[start..p]);
        start = p;
    }
    out.push(&input[start..]);
    out
}

/// Runs the parser over `chunks`; returns the events and the error that stopped it.
fn run(mut parser: StreamParser, chunks: &[&[u8]]) -> (Vec<StreamEvent>, Option<ParseError>) {
    let mut events = Vec::new();
    for chunk in chunks {
        let mut data: &[u8] = chunk;
        loop {
            match parser.next_event(&mut data) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => {
                    assert!(data.is_empty(), "Ok(None) left input unconsumed");
                    break;
                }
                Err(e) => {
                    // Sticky: the same error whatever comes next.
                    let mut more: &[u8] = b"<message/>";
                    assert_eq!(parser.next_event(&mut more), Err(e.clone()));
                    let mut none: &[u8] = b"";
                    assert_eq!(parser.next_event(&mut none), Err(e.clone()));
                    return (events, Some(e));
                }
            }
        }
    }
    (events, None)
}

/// Runs `next_frame` over `chunks`, as a connection would: bytes appended to one buffer.
fn run_frames(
    mut parser: StreamParser,
    chunks: &[&[u8]],
) -> (Vec<StreamEvent<Stanza>>, Option<ParseError>) {
    parser.set_capture(WANTED);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match parser.next_frame(&mut buf) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(e) => {
                    let mut more = BytesMut::from(&b"<message/>"[..]);
                    assert_eq!(parser.next_frame(&mut more).err(), Some(e.clone()));
                    return (events, Some(e));
                }
            }
        }
    }
    (events, None)
}

/// A kept element reads like the tree of the same element.
fn same_element(raw: &RawElement, el: &Element) {
    assert_eq!((raw.name(), raw.ns()), (el.name(), el.ns().as_str()));
    for ((ns, name), value) in el.attrs().iter() {
        if ns.is_none() {
            assert_eq!(raw.attr(name.as_str()), Some(value.as_str()), "{name}");
        }
    }
    let raw_children: Vec<Element> = raw
        .children()
        .map(|child| {
            let tree = child.to_element().expect("a kept child parses alone");
            assert_eq!(
                (child.name(), child.ns()),
                (tree.name(), tree.ns().as_str())
            );
            tree
        })
        .collect();
    let children: Vec<&Element> = el.children().collect();
    assert_eq!(raw_children.iter().collect::<Vec<_>>(), children);
    let bytes = raw.bytes();
    assert!(bytes.starts_with(b"<") && bytes.ends_with(b">"));
}

/// Writes `stanza` into a stream opened with `header` and parses it back.
fn round_trip(header: &StreamHeader, stanza: &Element, seed: u8) {
    let mut out = BytesMut::new();
    write_header(header, &mut out);
    write_stanza(stanza, header.default_ns.as_deref(), &mut out);
    out.extend_from_slice(FOOTER);
    let limits = limits(seed);
    // Escaping can make the serialised form larger than what was received.
    let generous = Limits {
        max_stanza_bytes: limits.max_stanza_bytes.saturating_mul(8),
        max_header_bytes: limits.max_header_bytes.saturating_mul(8),
        ..limits
    };
    let (events, err) = run(StreamParser::new(generous), &[&out[..]]);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(err, None, "written stream does not parse: {text}");
    assert_eq!(events.len(), 3, "{text}");
    assert_eq!(events[0], StreamEvent::Header(header.clone()), "{text}");
    assert_eq!(events[1], StreamEvent::Stanza(stanza.clone()), "{text}");
    assert_eq!(events[2], StreamEvent::Footer, "{text}");
}

/// Two runs over the same bytes, split differently, end alike (given as the number of events
/// and the error). Some things may legitimately differ: limits are checked as bytes arrive, so
/// one at its exact boundary can trip at another point; an error in the last bytes may wait for
/// more input (rxml looks ahead, e.g. after `]]`); and which of two faults in one text run is
/// reported first.
fn same_outcome(a: (usize, &Option<ParseError>), b: (usize, &Option<ParseError>)) {
    let limit_hit = |e: &Option<ParseError>| matches!(e, Some(ParseError::PolicyViolation(_)));
    if limit_hit(a.1) || limit_hit(b.1) {
        return;
    }
    match (a.1, b.1) {
        (None, None) => assert_eq!(a.0, b.0),
        (Some(x), Some(y)) => {
            assert_eq!(a.0, b.0);
            // Text at the stream level is refused from its first piece; with the rest of
            // the same text in hand rxml may first find something else wrong in it.
            let bad_format = |e: &ParseError| matches!(e, ParseError::BadFormat(_));
            if !bad_format(x) && !bad_format(y) {
                assert_eq!(x.condition(), y.condition(), "{x:?} / {y:?}");
            }
        }
        // The run without an error is still waiting for input at the faulty bytes: it
        // cannot have produced anything beyond them.
        (Some(_), None) => assert!(b.0 <= a.0),
        (None, Some(_)) => assert!(a.0 <= b.0),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, input)) = data.split_first() else {
        return;
    };
    let (events, err) = run(parser(seed), &chunks(seed, input));

    // Splitting must not change the outcome.
    let (whole_events, whole_err) = run(parser(seed), &[input]);
    let common = events.len().min(whole_events.len());
    assert_eq!(events[..common], whole_events[..common]);
    same_outcome((events.len(), &err), (whole_events.len(), &whole_err));

    // The fast path changes how elements come, not which or whether.
    let (frames, frame_err) = run_frames(parser(seed), &chunks(seed, input));
    let common = frames.len().min(events.len());
    for (frame, event) in frames[..common].iter().zip(&events[..common]) {
        match (frame, event) {
            (StreamEvent::Stanza(Stanza::Raw(raw)), StreamEvent::Stanza(el)) => {
                same_element(raw, el)
            }
            (StreamEvent::Stanza(Stanza::Tree(tree)), StreamEvent::Stanza(el)) => {
                assert_eq!(tree, el)
            }
            (StreamEvent::Header(a), StreamEvent::Header(b)) => assert_eq!(a, b),
            (StreamEvent::Footer, StreamEvent::Footer) => {}
            (a, b) => panic!("{a:?} / {b:?}"),
        }
    }
    // The parser reads what the fast path gave up on in one piece, so the split differs.
    same_outcome((frames.len(), &frame_err), (events.len(), &err));

    let mut header = None;
    for event in &events {
        match event {
            StreamEvent::Header(h) => header = Some(h.clone()),
            StreamEvent::Stanza(el) => {
                let header = header.as_ref().expect("a stanza before the header");
                round_trip(header, el, seed);
            }
            StreamEvent::Footer => {}
        }
    }
});
