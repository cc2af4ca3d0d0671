use super::*;
use crate::Wanted;

const HEADER: &str = "<?xml version='1.0'?><stream:stream \
    xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' \
    from='router' version='1.0'>";

const ROUTES: Wanted = &[(ns::COMPONENT, "route")];

/// Routes, and the other elements these tests send.
const ANY: Wanted = &[
    (ns::COMPONENT, "route"),
    (ns::COMPONENT, "bind"),
    ("jabber:server:dialback", "result"),
];

/// What a frame stands for, with raw elements read back as trees (from their own bytes under
/// the same header), so frames can be compared with what `next_event` gives.
#[derive(Debug, PartialEq)]
enum Seen {
    Header,
    Tree(Element),
    Raw(Element),
    Footer,
    Error(crate::StreamErrorCondition),
}

fn tree_of(raw: &RawElement) -> Element {
    let mut input = BytesMut::from(HEADER.as_bytes());
    input.extend_from_slice(raw.bytes());
    let mut parser = StreamParser::new(Limits::default());
    loop {
        match parser.next_event_in(&mut input) {
            Ok(Some(StreamEvent::Stanza(el))) => return el,
            Ok(Some(_)) => {}
            other => panic!("raw bytes do not parse alone: {other:?}"),
        }
    }
}

/// Reads `input` in chunks of `chunk` bytes through `next_frame`.
fn frames(input: &str, chunk: usize, wanted: Wanted) -> Vec<Seen> {
    let mut parser = StreamParser::new(Limits::default());
    parser.set_capture(wanted);
    let mut buf = BytesMut::new();
    let mut seen = Vec::new();
    for piece in input.as_bytes().chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match parser.next_frame(&mut buf) {
                Ok(Some(StreamEvent::Header(_))) => seen.push(Seen::Header),
                Ok(Some(StreamEvent::Stanza(Stanza::Tree(el)))) => seen.push(Seen::Tree(el)),
                Ok(Some(StreamEvent::Stanza(Stanza::Raw(raw)))) => {
                    seen.push(Seen::Raw(tree_of(&raw)))
                }
                Ok(Some(StreamEvent::Footer)) => seen.push(Seen::Footer),
                Ok(None) => break,
                Err(e) => {
                    seen.push(Seen::Error(e.condition()));
                    return seen;
                }
            }
        }
    }
    seen
}

/// The same through `next_event`, raw elements expected where `raw` says.
fn events(input: &str, raw: &[bool]) -> Vec<Seen> {
    let mut parser = StreamParser::new(Limits::default());
    let mut data = input.as_bytes();
    let mut seen = Vec::new();
    let mut stanzas = raw.iter();
    loop {
        match parser.next_event(&mut data) {
            Ok(Some(StreamEvent::Header(_))) => seen.push(Seen::Header),
            Ok(Some(StreamEvent::Stanza(el))) => match stanzas.next() {
                Some(true) => seen.push(Seen::Raw(el)),
                _ => seen.push(Seen::Tree(el)),
            },
            Ok(Some(StreamEvent::Footer)) => seen.push(Seen::Footer),
            Ok(None) => return seen,
            Err(e) => {
                seen.push(Seen::Error(e.condition()));
                return seen;
            }
        }
    }
}

fn same_every_way(input: &str, wanted: Wanted, raw: &[bool]) {
    let expected = events(input, raw);
    for chunk in [input.len(), 1, 2, 3, 7, 64] {
        assert_eq!(frames(input, chunk, wanted), expected, "chunk {chunk}");
    }
}

fn route(payload: &str) -> String {
    format!(
        "<route xmlns='{}' to='sm' from='c2s'>{payload}</route>",
        ns::COMPONENT
    )
}

#[test]
fn captured_and_parsed_elements_mean_the_same() {
    let stanzas = [
        route("<message xmlns='jabber:client' to='a@b'><body>hi &amp; bye</body></message>"),
        format!("<bind xmlns='{}' name='x'><default/></bind>", ns::COMPONENT),
        route("<!-- comments go to rxml -->"),
        route("<message xmlns='jabber:client'><![CDATA[<x>]]></message>"),
        route(""),
        format!("<route xmlns='{}'/>", ns::COMPONENT),
        route("<db:result to='a'>k</db:result>"),
    ];
    let input = format!("{HEADER}{}\n \n</stream:stream>", stanzas.join("\n"));
    same_every_way(
        &input,
        ROUTES,
        &[true, false, false, false, true, true, true],
    );
    let raw: Vec<bool> = stanzas.iter().map(|s| !s.contains("<!")).collect();
    same_every_way(&input, ANY, &raw);
}

#[test]
fn self_closing_header_ends_the_stream_first() {
    let header = HEADER.replace("version='1.0'>", "version='1.0'/>");
    let input = format!("{header}{}", route("<x/>"));
    same_every_way(&input, ANY, &[]);
}

#[test]
fn trees_can_be_asked_for_in_between() {
    let first = route("<message xmlns='jabber:client'><body>one</body></message>");
    let second = route("<message xmlns='jabber:client'><body>two</body></message>");
    let mut parser = StreamParser::new(Limits::default());
    parser.set_capture(ROUTES);
    let mut buf = BytesMut::from(HEADER.as_bytes());
    assert!(matches!(
        parser.next_frame(&mut buf),
        Ok(Some(StreamEvent::Header(_)))
    ));
    // The fast path stops halfway through the first route…
    buf.extend_from_slice(&first.as_bytes()[..first.len() / 2]);
    assert!(matches!(parser.next_frame(&mut buf), Ok(None)));
    // …and the tree reader takes it whole from where it is still waiting.
    buf.extend_from_slice(&first.as_bytes()[first.len() / 2..]);
    let Ok(Some(StreamEvent::Stanza(tree))) = parser.next_event_in(&mut buf) else {
        panic!("no tree")
    };
    assert_eq!(
        Seen::Tree(tree),
        events(&format!("{HEADER}{first}"), &[])[1]
    );
    buf.extend_from_slice(second.as_bytes());
    assert!(matches!(
        parser.next_frame(&mut buf),
        Ok(Some(StreamEvent::Stanza(Stanza::Raw(_))))
    ));
}

#[test]
fn errors_are_the_parsers() {
    let cases = [
        route("<message><body>a</x></message>"),
        route("<p:message/>"),
        route("<message>&bogus;</message>"),
        format!("text{}", route("")),
        route("<!DOCTYPE x>"),
        format!("<route xmlns='{}' a='1' a='2'/>", ns::COMPONENT),
    ];
    for stanza in cases {
        let input = format!("{HEADER}{}{stanza}", route("<x/>"));
        same_every_way(&input, ANY, &[true]);
    }
}

#[test]
fn accessors() {
    let input = format!(
        "{HEADER}{}",
        route(
            "<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' \
             sc:c2s='7' action='start' target='a@b'/><iq/>"
        )
    );
    let mut parser = StreamParser::new(Limits::default());
    parser.set_capture(ROUTES);
    let mut buf = BytesMut::from(input.as_bytes());
    assert!(matches!(
        parser.next_frame(&mut buf),
        Ok(Some(StreamEvent::Header(_)))
    ));
    let Ok(Some(StreamEvent::Stanza(Stanza::Raw(raw)))) = parser.next_frame(&mut buf) else {
        panic!("not captured")
    };
    assert!(buf.is_empty());
    assert!(raw.is("route", ns::COMPONENT));
    assert_eq!(raw.attr("to"), Some("sm"));
    assert_eq!(raw.attr("from"), Some("c2s"));
    assert_eq!(raw.attr("type"), None);
    let children: Vec<RawChild> = raw.children().collect();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].name(), "session");
    assert_eq!(children[0].ns(), ns::SESSION);
    assert_eq!(children[0].attr("target"), Some("a@b"));
    assert_eq!(children[0].attr("c2s"), None);
    assert_eq!(children[1].name(), "iq");
    assert_eq!(children[1].ns(), ns::COMPONENT);
}

/// The first child of the first route in `stanza`, written into `context`.
fn written(stanza: &str, context: &Scope) -> (String, Element) {
    let mut parser = StreamParser::new(Limits::default());
    parser.set_capture(ROUTES);
    let mut buf = BytesMut::from(format!("{HEADER}{stanza}").as_bytes());
    let _ = parser.next_frame(&mut buf);
    let Ok(Some(StreamEvent::Stanza(Stanza::Raw(raw)))) = parser.next_frame(&mut buf) else {
        panic!("not captured: {stanza}")
    };
    let child = raw.children().next().expect("a child");
    let mut out = BytesMut::new();
    child.write_into(context, &mut out);
    let element = child.to_element().expect("a tree");
    (String::from_utf8(out.to_vec()).expect("UTF-8"), element)
}

#[test]
fn children_are_written_with_the_bindings_they_need() {
    let in_route = Scope {
        default_ns: ns::COMPONENT.into(),
        prefixes: vec![("stream".into(), ns::STREAMS.into())],
    };
    let nowhere = Scope::default();
    // Self-contained: written as received.
    let message = "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>";
    let (out, _) = written(&route(message), &in_route);
    assert_eq!(out, message);
    // A prefix from the route element and one from the stream header.
    let stanza = format!(
        "<route xmlns='{}' xmlns:sc='{}'><sc:session sc:c2s='1'><db:x/></sc:session></route>",
        ns::COMPONENT,
        ns::SESSION
    );
    let (out, element) = written(&stanza, &in_route);
    assert_eq!(
        out,
        format!(
            "<sc:session xmlns:sc='{}' xmlns:db='jabber:server:dialback' sc:c2s='1'><db:x/></sc:session>",
            ns::SESSION
        )
    );
    assert!(element.is("session", ns::SESSION));
    assert_eq!(element.attr_ns(ns::SESSION, "c2s"), Some("1"));
    assert!(element.has_child("x", "jabber:server:dialback"));
    // The default namespace: the route's is the context's, and nothing is added; elsewhere it is.
    let (out, element) = written(&route("<iq><query/></iq>"), &in_route);
    assert_eq!(out, "<iq><query/></iq>");
    assert!(element.is("iq", ns::COMPONENT));
    assert!(element.has_child("query", ns::COMPONENT));
    let (out, _) = written(&route("<iq><query/></iq>"), &nowhere);
    assert_eq!(out, format!("<iq xmlns='{}'><query/></iq>", ns::COMPONENT));
    // No namespace, under a context with a default one.
    let stanza = format!("<c:route xmlns:c='{}'><iq/></c:route>", ns::COMPONENT);
    let (out, element) = written(&stanza, &in_route);
    assert_eq!(out, "<iq xmlns=''/>");
    assert!(element.is("iq", ""));
}
