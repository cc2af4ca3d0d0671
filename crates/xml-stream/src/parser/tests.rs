use super::*;

const HEADER: &str = "<?xml version='1.0'?>\
    <stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' \
    xmlns:db='jabber:server:dialback' \
    to='example.com' from='juliet@example.com' id='++TR84Sm6A3hnt3Q065SnAbbk3Y=' \
    version='1.0' xml:lang='en'>";

const STANZAS: &str = "\
    <message to='romeo@example.net' type='chat' id='m1'><body>Art thou not Romeo, \
    and a Montague? &amp; &lt;3 &#x263A;</body><thread>t1</thread></message>\n\
    <presence><show>away</show><status>out</status>\
    <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>\
    <iq type='get' id='i1'><foo:query xmlns:foo='jabber:iq:roster'><foo:item jid='a@b'/></foo:query></iq>\
    <db:result to='a' from='b'>key</db:result>\
    <message xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' sc:sm='1' sc:c2s='2' xml:lang='de'/>\
    <stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>\
    <message><body><![CDATA[<not markup>]]></body></message>\
    </stream:stream>";

fn header() -> StreamHeader {
    StreamHeader {
        default_ns: Some(ns::CLIENT.into()),
        prefixes: vec![("db".into(), "jabber:server:dialback".into())],
        to: Some("example.com".into()),
        from: Some("juliet@example.com".into()),
        id: Some("++TR84Sm6A3hnt3Q065SnAbbk3Y=".into()),
        version: Some("1.0".into()),
        lang: Some("en".into()),
    }
}

fn small(max_stanza_bytes: usize) -> Limits {
    Limits {
        max_stanza_bytes,
        ..Limits::default()
    }
}

/// Feeds `chunks` to a fresh parser; returns every event and the error that stopped it.
fn feed<'a>(
    parser: &mut StreamParser,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<StreamEvent>, Option<ParseError>) {
    let mut events = Vec::new();
    for chunk in chunks {
        let mut data = chunk;
        loop {
            match parser.next_event(&mut data) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => {
                    assert!(data.is_empty(), "Ok(None) must consume everything");
                    break;
                }
                Err(e) => return (events, Some(e)),
            }
        }
    }
    (events, None)
}

fn parse_chunks<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<StreamEvent>, Option<ParseError>) {
    feed(&mut StreamParser::new(limits), chunks)
}

fn parse_whole(input: &[u8]) -> (Vec<StreamEvent>, Option<ParseError>) {
    parse_chunks(Limits::default(), [input])
}

/// Parses `input` whole and then in every chunk size from 1 to 7 and in random splits,
/// asserting that every way gives the same outcome; returns it.
fn parse_every_way(limits: Limits, input: &[u8]) -> (Vec<StreamEvent>, Option<ParseError>) {
    let whole = parse_chunks(limits, [input]);
    for size in 1..=7 {
        let split = parse_chunks(limits, input.chunks(size));
        assert_eq!(split, whole, "chunk size {size}");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..50 {
        let mut chunks = Vec::new();
        let mut rest = input;
        while !rest.is_empty() {
            let n = (rng.next() as usize % 64 + 1).min(rest.len());
            let (a, b) = rest.split_at(n);
            chunks.push(a);
            rest = b;
        }
        let split = parse_chunks(limits, chunks);
        assert_eq!(split, whole, "random split round {round}");
    }
    whole
}

fn parse_err(limits: Limits, input: &[u8]) -> ParseError {
    match parse_every_way(limits, input) {
        (_, Some(e)) => e,
        (events, None) => panic!("expected an error, got {events:?}"),
    }
}

fn stanza(xml: &str) -> Element {
    let input = format!("{HEADER}{xml}");
    let (events, err) = parse_whole(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 2, "{events:?}");
    match events.into_iter().nth(1) {
        Some(StreamEvent::Stanza(el)) => el,
        other => panic!("not a stanza: {other:?}"),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn header_whole() {
    let (events, err) = parse_whole(HEADER.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events, vec![StreamEvent::Header(header())]);
    assert!(header().is_version_1());
}

#[test]
fn header_and_stanzas_every_split() {
    let input = format!("{HEADER}{STANZAS}   \n");
    let (events, err) = parse_every_way(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 9, "{events:#?}");
    assert_eq!(events[0], StreamEvent::Header(header()));
    assert_eq!(events[8], StreamEvent::Footer);

    let StreamEvent::Stanza(message) = &events[1] else {
        panic!()
    };
    assert!(message.is("message", ns::CLIENT));
    assert_eq!(message.attr("to"), Some("romeo@example.net"));
    let body = message.get_child("body", ns::CLIENT).unwrap();
    assert_eq!(
        body.text(),
        "Art thou not Romeo, and a Montague? & <3 \u{263a}"
    );
    // However the text arrived, it is one text node.
    assert_eq!(body.nodes().count(), 1);

    let StreamEvent::Stanza(presence) = &events[2] else {
        panic!()
    };
    let caps = presence
        .get_child("c", "http://jabber.org/protocol/caps")
        .unwrap();
    assert_eq!(caps.attr("ver"), Some("v"));
    assert!(presence.get_child("show", ns::CLIENT).is_some());

    let StreamEvent::Stanza(iq) = &events[3] else {
        panic!()
    };
    let query = iq.get_child("query", "jabber:iq:roster").unwrap();
    assert!(query.get_child("item", "jabber:iq:roster").is_some());

    let StreamEvent::Stanza(db) = &events[4] else {
        panic!()
    };
    // A prefix declared on the stream header resolves inside stanzas.
    assert!(db.is("result", "jabber:server:dialback"));
    assert_eq!(db.text(), "key");

    let StreamEvent::Stanza(sc) = &events[5] else {
        panic!()
    };
    assert_eq!(sc.attr_ns(ns::SESSION, "sm"), Some("1"));
    assert_eq!(sc.attr_ns(ns::SESSION, "c2s"), Some("2"));
    assert_eq!(sc.attr_ns(ns::XML, "lang"), Some("de"));
    assert_eq!(sc.attrs().len(), 3);

    let StreamEvent::Stanza(features) = &events[6] else {
        panic!()
    };
    assert!(features.is("features", ns::STREAMS));
    assert!(features
        .get_child("starttls", ns::TLS)
        .unwrap()
        .has_child("required", ns::TLS));

    let StreamEvent::Stanza(cdata) = &events[7] else {
        panic!()
    };
    assert_eq!(
        cdata.get_child("body", ns::CLIENT).unwrap().text(),
        "<not markup>"
    );
}

#[test]
fn one_event_per_call_rest_left_in_slice() {
    let input = format!("{HEADER}<a/><b>x</b> <c/>");
    let mut parser = StreamParser::new(Limits::default());
    let mut data = input.as_bytes();
    let first = parser.next_event(&mut data).unwrap();
    assert_eq!(first, Some(StreamEvent::Header(header())));
    // The header event stops right after the header's `>`.
    assert_eq!(data, b"<a/><b>x</b> <c/>");
    let Some(StreamEvent::Stanza(a)) = parser.next_event(&mut data).unwrap() else {
        panic!()
    };
    assert_eq!(a.name(), "a");
    assert_eq!(data, b"<b>x</b> <c/>");
    let Some(StreamEvent::Stanza(b)) = parser.next_event(&mut data).unwrap() else {
        panic!()
    };
    assert_eq!(b.name(), "b");
    assert_eq!(data, b" <c/>");
    let Some(StreamEvent::Stanza(c)) = parser.next_event(&mut data).unwrap() else {
        panic!()
    };
    assert_eq!(c.name(), "c");
    assert!(data.is_empty());
    assert_eq!(parser.next_event(&mut data).unwrap(), None);
}

#[test]
fn header_followed_by_many_stanzas_in_one_chunk_is_not_a_large_header() {
    let mut input = String::from(HEADER);
    for i in 0..200 {
        input.push_str(&format!("<message id='{i}'><body>hello</body></message>"));
    }
    assert!(input.len() > Limits::default().max_header_bytes);
    let (events, err) = parse_whole(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 201);
}

#[test]
fn stanza_emitted_as_soon_as_its_end_tag_arrives() {
    let stanzas = "<message><body>hi</body></message><presence/><iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>";
    let input = format!("{HEADER}{stanzas}");
    let mut parser = StreamParser::new(Limits::default());
    let mut data = HEADER.as_bytes();
    assert!(matches!(
        parser.next_event(&mut data),
        Ok(Some(StreamEvent::Header(_)))
    ));
    // Byte by byte: a stanza comes out on the very byte that closes it.
    let mut seen = Vec::new();
    for (i, byte) in input.as_bytes()[HEADER.len()..].iter().enumerate() {
        let mut data: &[u8] = std::slice::from_ref(byte);
        while let Some(event) = parser.next_event(&mut data).unwrap() {
            seen.push((i, event));
        }
    }
    let ends: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
    let expected: Vec<usize> = stanzas
        .match_indices("</message>")
        .map(|(i, s)| i + s.len() - 1)
        .chain(
            stanzas
                .match_indices("<presence/>")
                .map(|(i, s)| i + s.len() - 1),
        )
        .chain(stanzas.match_indices("</iq>").map(|(i, s)| i + s.len() - 1))
        .collect();
    assert_eq!(ends, expected);

    // Whole: no further input is needed to get the last stanza out.
    let (events, err) = parse_whole(input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 4);
}

#[test]
fn header_emitted_without_more_input() {
    let mut parser = StreamParser::new(Limits::default());
    let (events, _) = feed(&mut parser, [&HEADER.as_bytes()[..HEADER.len() - 1]]);
    assert!(events.is_empty());
    let (events, _) = feed(&mut parser, [&b">"[..]]);
    assert_eq!(events, vec![StreamEvent::Header(header())]);
}

#[test]
fn header_without_default_namespace_or_declaration() {
    let input = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='router'>";
    let (events, err) = parse_every_way(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(
        events,
        vec![StreamEvent::Header(StreamHeader {
            to: Some("router".into()),
            ..StreamHeader::default()
        })]
    );
    let header = StreamHeader::default();
    assert!(!header.is_version_1());
}

#[test]
fn namespaces_of_children_and_attributes() {
    let el = stanza(
        "<iq type='result' id='x'>\
           <query xmlns='jabber:iq:roster' ver='1'>\
             <item jid='a@b' xmlns:g='urn:example:g' g:colour='red'><group>G</group></item>\
           </query>\
           <foo:bar xmlns:foo='x'><foo:baz/><plain/></foo:bar>\
           <x xmlns='urn:other'><y xmlns=''/></x>\
         </iq>",
    );
    assert!(el.is("iq", ns::CLIENT));
    let query = el.get_child("query", "jabber:iq:roster").unwrap();
    let item = query.get_child("item", "jabber:iq:roster").unwrap();
    assert_eq!(item.attr("jid"), Some("a@b"));
    assert_eq!(item.attr_ns("urn:example:g", "colour"), Some("red"));
    assert_eq!(item.attr("colour"), None);
    assert!(item.has_child("group", "jabber:iq:roster"));
    let bar = el.get_child("bar", "x").unwrap();
    assert!(bar.has_child("baz", "x"));
    // An unprefixed child of a prefixed element is in the default namespace in scope.
    assert!(bar.has_child("plain", ns::CLIENT));
    let x = el.get_child("x", "urn:other").unwrap();
    assert!(x.has_child("y", ""));
}

#[test]
fn limits_stanza_size() {
    let limits = small(1024);
    let ok = format!(
        "{HEADER}<message><body>{}</body></message>",
        "a".repeat(900)
    );
    let (events, err) = parse_every_way(limits, ok.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 2);

    let too_big = format!(
        "{HEADER}<message><body>{}</body></message>",
        "a".repeat(2000)
    );
    let e = parse_err(limits, too_big.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    assert_eq!(e.condition(), StreamErrorCondition::PolicyViolation);

    // Many small stanzas, each under the limit, are fine however long the stream runs.
    let mut many = String::from(HEADER);
    for _ in 0..100 {
        many.push_str(&format!(
            "<message><body>{}</body></message>\n",
            "b".repeat(500)
        ));
    }
    let (events, err) = parse_chunks(limits, many.as_bytes().chunks(100));
    assert_eq!(err, None);
    assert_eq!(events.len(), 101);
}

#[test]
fn limits_stanza_size_counts_everything_received() {
    let limits = small(1024);
    // Markup, not only text, counts: many small children.
    let children = format!("{HEADER}<message>{}</message>", "<a/>".repeat(300));
    let e = parse_err(limits, children.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    // And a long start tag (attribute values, namespace declarations).
    let attrs = format!("{HEADER}<message a='{}'/>", "x".repeat(2000));
    let e = parse_err(limits, attrs.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    let decls: String = (0..100)
        .map(|i| format!(" xmlns:p{i}='urn:example:{i}'"))
        .collect();
    let decls = format!("{HEADER}<message{decls}/>");
    let e = parse_err(limits, decls.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
}

/// Feeds `prefix`, then 64 KB chunks of the endless `filler(i)` sequence until the parser
/// fails; returns how many bytes it took.
fn bytes_fed_until_error(
    prefix: &str,
    mut filler: impl FnMut(usize) -> String,
    total: usize,
) -> (usize, ParseError) {
    let mut parser = StreamParser::new(Limits::default());
    let (_, err) = feed(&mut parser, [prefix.as_bytes()]);
    assert_eq!(err, None);
    let mut fed = 0;
    let mut pending = Vec::new();
    let mut i = 0;
    while fed < total {
        while pending.len() < 64 * 1024 {
            pending.extend_from_slice(filler(i).as_bytes());
            i += 1;
        }
        let chunk: Vec<u8> = pending.drain(..64 * 1024).collect();
        let mut data = &chunk[..];
        fed += chunk.len();
        match parser.next_event(&mut data) {
            Ok(Some(event)) => panic!("unexpected {event:?}"),
            Ok(None) => assert!(data.is_empty()),
            Err(e) => return (fed, e),
        }
    }
    panic!("{total} bytes accepted");
}

#[test]
fn huge_text_node_fails_early() {
    let limit = Limits::default().max_stanza_bytes;
    let prefix = format!("{HEADER}<message><body>");
    let (fed, e) = bytes_fed_until_error(&prefix, |_| "0123456789abcdef".into(), 10 << 20);
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    assert!(fed <= limit + 64 * 1024, "fed {fed} bytes before failing");
}

#[test]
fn huge_start_tag_fails_early() {
    let limit = Limits::default().max_stanza_bytes;
    // Endless attributes: no single token is long, but the start tag never ends.
    let prefix = format!("{HEADER}<message");
    let filler = |i| format!(" a{i:08}='{}'", "v".repeat(50));
    let (fed, e) = bytes_fed_until_error(&prefix, filler, 10 << 20);
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    assert!(fed <= limit + 64 * 1024, "fed {fed} bytes before failing");

    // Endless namespace declarations, which are not attributes.
    let filler = |i| format!(" xmlns:p{i:08}='urn:{}'", "v".repeat(50));
    let (fed, e) = bytes_fed_until_error(&prefix, filler, 10 << 20);
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    assert!(fed <= limit + 64 * 1024, "fed {fed} bytes before failing");
}

#[test]
fn huge_header_fails_early() {
    let prefix = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'";
    let filler = |i| format!(" a{i:08}='{}'", "v".repeat(50));
    let (fed, e) = bytes_fed_until_error(prefix, filler, 10 << 20);
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
    assert!(fed <= 64 * 1024, "fed {fed} bytes before failing");
}

#[test]
fn limits_depth() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let ok = format!("{HEADER}<a><b><c/></b><b><c>t</c></b></a>");
    let (events, err) = parse_every_way(limits, ok.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 2);
    let deep = format!("{HEADER}<a><b><c><d/></c></b></a>");
    let e = parse_err(limits, deep.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");

    // The default limit stops a deeply nested bomb.
    let bomb = format!("{HEADER}{}", "<a>".repeat(10_000));
    let e = parse_err(Limits::default(), bomb.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
}

#[test]
fn limits_attributes() {
    let limits = Limits {
        max_attributes: 2,
        ..Limits::default()
    };
    // Namespace declarations are not attributes.
    let ok = format!("{HEADER}<a x='1' y='2' xmlns:p='urn:p'><p:b p:z='3' w='4'/></a>");
    let (events, err) = parse_every_way(limits, ok.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 2);
    let many = format!("{HEADER}<a><b x='1' y='2' z='3'/></a>");
    let e = parse_err(limits, many.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
}

#[test]
fn limits_header_size() {
    let limits = Limits {
        max_header_bytes: 512,
        ..Limits::default()
    };
    let (events, err) = parse_every_way(limits, HEADER.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 1);
    let big = format!(
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='{}'>",
        "a".repeat(600)
    );
    let e = parse_err(limits, big.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
}

#[test]
fn long_tokens_are_policy_violations() {
    let name = format!("{HEADER}<{}/>", "a".repeat(20_000));
    let e = parse_err(Limits::default(), name.as_bytes());
    assert!(matches!(e, ParseError::PolicyViolation(_)), "{e:?}");
}

fn assert_restricted(input: &str) {
    let e = parse_err(Limits::default(), input.as_bytes());
    assert!(
        matches!(e, ParseError::RestrictedXml(_)),
        "{input:?} gave {e:?}"
    );
    assert_eq!(e.condition(), StreamErrorCondition::RestrictedXml);
}

#[test]
fn restricted_xml() {
    // Before the root element.
    assert_restricted("<?xml version='1.0'?><!DOCTYPE stream:stream><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    assert_restricted("<!DOCTYPE x [<!ENTITY a 'b'>]><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    assert_restricted(
        "<!-- hello --><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    assert_restricted("<?foo bar?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
    // At stream level.
    assert_restricted(&format!("{HEADER}<!-- comment -->"));
    assert_restricted(&format!("{HEADER}<?foo?>"));
    assert_restricted(&format!("{HEADER}<?xml-stylesheet href='a'?>"));
    assert_restricted(&format!("{HEADER}<!ENTITY a 'b'>"));
    assert_restricted(&format!("{HEADER}<!DOCTYPE x>"));
    assert_restricted(&format!("{HEADER}<message/><?xml version='1.0'?>"));
    // Inside a stanza.
    assert_restricted(&format!("{HEADER}<message><!-- c --></message>"));
    assert_restricted(&format!(
        "{HEADER}<message><body><?foo x?></body></message>"
    ));
    assert_restricted(&format!("{HEADER}<message><!ENTITY a 'b'></message>"));
    assert_restricted(&format!(
        "{HEADER}<message><body>x<!DOCTYPE y></body></message>"
    ));
    // Anything but UTF-8, XML 1.0, standalone.
    assert_restricted(
        "<?xml version='1.1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    assert_restricted("<?xml version='1.0' encoding='ISO-8859-1'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
}

fn assert_not_well_formed(input: &[u8]) {
    let e = parse_err(Limits::default(), input);
    assert!(
        matches!(e, ParseError::NotWellFormed(_)),
        "{:?} gave {e:?}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(e.condition(), StreamErrorCondition::NotWellFormed);
}

#[test]
fn not_well_formed() {
    let h = HEADER;
    assert_not_well_formed(format!("{h}<message><body>&foo;</body></message>").as_bytes());
    assert_not_well_formed(format!("{h}<message a='&foo;'/>").as_bytes());
    assert_not_well_formed(format!("{h}<message><body></message></body>").as_bytes());
    assert_not_well_formed(format!("{h}<message></presence>").as_bytes());
    assert_not_well_formed(format!("{h}</message>").as_bytes());
    assert_not_well_formed(format!("{h}<<").as_bytes());
    assert_not_well_formed(format!("{h}< garbage").as_bytes());
    assert_not_well_formed(format!("{h}<message a='1' a='2'/>").as_bytes());
    assert_not_well_formed(format!("{h}<message a=1/>").as_bytes());
    assert_not_well_formed(format!("{h}<undeclared:prefix/>").as_bytes());
    assert_not_well_formed(format!("{h}<message>\u{1}</message>").as_bytes());
    assert_not_well_formed(format!("{h}<!x>").as_bytes());
    let mut invalid_utf8 = format!("{h}<message><body>").into_bytes();
    invalid_utf8.extend_from_slice(b"\xff\xfe</body></message>");
    assert_not_well_formed(&invalid_utf8);
    let mut truncated_utf8 = format!("{h}<message><body>").into_bytes();
    truncated_utf8.extend_from_slice(b"\xe2\x82</body></message>");
    assert_not_well_formed(&truncated_utf8);
    assert_not_well_formed(b"garbage");
}

#[test]
fn invalid_namespace() {
    for input in [
        "<stream:stream xmlns:stream='urn:wrong'>",
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams/'>",
        "<stream:foo xmlns:stream='http://etherx.jabber.org/streams'>",
        "<stream xmlns='jabber:client'>",
        "<message xmlns='jabber:client'/>",
        "<?xml version='1.0'?><html>",
    ] {
        let e = parse_err(Limits::default(), input.as_bytes());
        assert!(
            matches!(e, ParseError::InvalidNamespace(_)),
            "{input}: {e:?}"
        );
        assert_eq!(e.condition(), StreamErrorCondition::InvalidNamespace);
    }
}

#[test]
fn text_at_stream_level() {
    let input = format!("{HEADER} \r\n\t <message/>\n\n<presence/> \t");
    let (events, err) = parse_every_way(Limits::default(), input.as_bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), 3);

    let input = format!("{HEADER}<message/> hello <presence/>");
    let e = parse_err(Limits::default(), input.as_bytes());
    assert!(matches!(e, ParseError::BadFormat(_)), "{e:?}");
    assert_eq!(e.condition(), StreamErrorCondition::BadFormat);
    // Even entity references and CDATA count as text.
    for input in [
        format!("{HEADER}&amp;"),
        format!("{HEADER}<![CDATA[x]]>"),
        format!("{HEADER}\u{a0}"),
    ] {
        let e = parse_err(Limits::default(), input.as_bytes());
        assert!(matches!(e, ParseError::BadFormat(_)), "{input}: {e:?}");
    }
}

#[test]
fn endless_whitespace_keepalives() {
    let mut parser = StreamParser::new(small(1024));
    let (_, err) = feed(&mut parser, [HEADER.as_bytes()]);
    assert_eq!(err, None);
    let spaces = vec![b' '; 4096];
    for _ in 0..100 {
        let (events, err) = feed(&mut parser, [&spaces[..]]);
        assert_eq!(err, None);
        assert!(events.is_empty());
    }
    let (events, err) = feed(&mut parser, [&b"<message/>"[..]]);
    assert_eq!(err, None);
    assert_eq!(events.len(), 1);
}

#[test]
fn footer_and_data_after_it() {
    let input = format!("{HEADER}<message/></stream:stream>");
    let mut parser = StreamParser::new(Limits::default());
    let (events, err) = feed(&mut parser, [input.as_bytes()]);
    assert_eq!(err, None);
    assert_eq!(events.last(), Some(&StreamEvent::Footer));
    assert!(parser.is_ended());
    // Whitespace after the footer is harmless.
    let (events, err) = feed(&mut parser, [&b" \n"[..]]);
    assert_eq!((events, err), (vec![], None));
    let (_, err) = feed(&mut parser, [&b"<message/>"[..]]);
    assert!(matches!(err, Some(ParseError::NotWellFormed(_))), "{err:?}");

    let input = format!("{HEADER}</stream:stream>  <presence/>");
    let e = parse_err(Limits::default(), input.as_bytes());
    assert!(matches!(e, ParseError::NotWellFormed(_)), "{e:?}");

    // A footer with the wrong name.
    let input = format!("{HEADER}</stream>");
    let e = parse_err(Limits::default(), input.as_bytes());
    assert!(matches!(e, ParseError::NotWellFormed(_)), "{e:?}");
}

#[test]
fn errors_are_sticky() {
    for input in [
        format!("{HEADER}<message><!-- x --></message>"),
        format!("{HEADER}<a></b>"),
        format!("{HEADER}text"),
        "<foo>".to_owned(),
    ] {
        let mut parser = StreamParser::new(small(1024));
        let (_, err) = feed(&mut parser, [input.as_bytes()]);
        let err = err.expect("an error");
        for _ in 0..3 {
            let mut data: &[u8] = b"<message/>";
            assert_eq!(parser.next_event(&mut data), Err(err.clone()));
            let mut empty: &[u8] = b"";
            assert_eq!(parser.next_event(&mut empty), Err(err.clone()));
        }
    }
}

#[test]
fn reset_after_header_accepts_a_new_header() {
    let mut parser = StreamParser::new(Limits::default());
    let input = format!("{HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    let (events, err) = feed(&mut parser, [input.as_bytes()]);
    assert_eq!(err, None);
    assert_eq!(events.len(), 2);
    parser.reset();
    assert!(!parser.is_ended());
    let second = "<stream:stream xmlns='jabber:client' \
        xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>\
        <message/>";
    let (events, err) = feed(&mut parser, second.as_bytes().chunks(3));
    assert_eq!(err, None);
    assert_eq!(
        events[0],
        StreamEvent::Header(StreamHeader {
            default_ns: Some(ns::CLIENT.into()),
            to: Some("example.com".into()),
            version: Some("1.0".into()),
            ..StreamHeader::default()
        })
    );
    assert!(matches!(&events[1], StreamEvent::Stanza(m) if m.is("message", ns::CLIENT)));

    // Reset also clears a finished stream and keeps the limits.
    let mut parser = StreamParser::new(small(100));
    let (_, err) = feed(
        &mut parser,
        [format!("{HEADER}</stream:stream>").as_bytes()],
    );
    assert_eq!(err, None);
    assert!(parser.is_ended());
    parser.reset();
    assert!(!parser.is_ended());
    assert_eq!(parser.limits(), small(100));
    let (events, err) = feed(&mut parser, [HEADER.as_bytes()]);
    assert_eq!((events.len(), err), (1, None));

    // And clears a failure.
    let mut parser = StreamParser::new(Limits::default());
    let (_, err) = feed(&mut parser, [&b"<foo/>"[..]]);
    assert!(err.is_some());
    parser.reset();
    let (events, err) = feed(&mut parser, [HEADER.as_bytes()]);
    assert_eq!((events.len(), err), (1, None));
}

#[test]
fn namespace_alias() {
    let mut parser = StreamParser::new(Limits::default());
    parser.set_namespace_alias(ns::COMPONENT_ACCEPT, ns::CLIENT);
    let input = "<stream:stream xmlns='jabber:component:accept' \
        xmlns:stream='http://etherx.jabber.org/streams' to='muc.example.com'>\
        <handshake>abc</handshake>\
        <message from='a@b' to='c@muc.example.com'><body>hi</body>\
        <x xmlns='http://jabber.org/protocol/muc#user'><item/></x></message>";
    let (events, err) = feed(&mut parser, input.as_bytes().chunks(5));
    assert_eq!(err, None);
    let StreamEvent::Header(header) = &events[0] else {
        panic!()
    };
    // The header reports what the peer declared.
    assert_eq!(header.default_ns.as_deref(), Some(ns::COMPONENT_ACCEPT));
    let StreamEvent::Stanza(handshake) = &events[1] else {
        panic!()
    };
    assert!(handshake.is("handshake", ns::CLIENT));
    let StreamEvent::Stanza(message) = &events[2] else {
        panic!()
    };
    assert!(message.is("message", ns::CLIENT));
    assert!(message.has_child("body", ns::CLIENT));
    let x = message
        .get_child("x", "http://jabber.org/protocol/muc#user")
        .unwrap();
    assert!(x.has_child("item", "http://jabber.org/protocol/muc#user"));

    // The alias survives a stream restart.
    parser.reset();
    let (events, err) = feed(&mut parser, [input.as_bytes()]);
    assert_eq!(err, None);
    assert!(matches!(&events[1], StreamEvent::Stanza(h) if h.is("handshake", ns::CLIENT)));
}

#[test]
fn parse_error_into_stream_error() {
    let e = ParseError::PolicyViolation("too big".into());
    assert_eq!(e.to_string(), "policy-violation: too big");
    let se: StreamError = e.into();
    assert_eq!(
        se,
        StreamError::with_text(StreamErrorCondition::PolicyViolation, "too big")
    );
    for (e, c) in [
        (
            ParseError::NotWellFormed(String::new()),
            StreamErrorCondition::NotWellFormed,
        ),
        (
            ParseError::RestrictedXml(String::new()),
            StreamErrorCondition::RestrictedXml,
        ),
        (
            ParseError::InvalidNamespace(String::new()),
            StreamErrorCondition::InvalidNamespace,
        ),
        (
            ParseError::BadFormat(String::new()),
            StreamErrorCondition::BadFormat,
        ),
    ] {
        assert_eq!(StreamError::from(e).condition, c);
    }
}

#[test]
fn empty_cdata_adds_no_text_node() {
    let el =
        stanza("<message><body><![CDATA[]]></body><x>a<![CDATA[]]>b<![CDATA[c]]></x></message>");
    let body = el.get_child("body", ns::CLIENT).unwrap();
    assert_eq!(body.nodes().count(), 0);
    let x = el.get_child("x", ns::CLIENT).unwrap();
    assert_eq!(x.nodes().count(), 1);
    assert_eq!(x.text(), "abc");
}
