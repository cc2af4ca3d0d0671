use super::*;
use crate::ns;

/// Every element these tests scan (unprefixed ones in the stream's default namespace).
const ANY: Wanted = &[
    ("jabber:client", "a"),
    ("jabber:client", "ab"),
    ("jabber:client", "message"),
    ("jabber:client", "route"),
    ("urn:p", "a"),
    ("", "a"),
    ("jabber:server:dialback", "result"),
    ("http://etherx.jabber.org/streams", "features"),
    ("http://jabberd.jabberstudio.org/ns/component/1.0", "route"),
];

const ROUTES_ONLY: Wanted = &[(ns::COMPONENT, "route")];

fn header_scope() -> Scope {
    Scope {
        default_ns: "jabber:client".into(),
        prefixes: vec![
            ("stream".into(), ns::STREAMS.into()),
            ("db".into(), "jabber:server:dialback".into()),
        ],
    }
}

fn scan_with(input: &str, limits: &Limits, wanted: Wanted) -> Scan {
    let scope = header_scope();
    let env = Env {
        scope: &scope,
        limits,
        wanted,
    };
    Scanner::default().scan(input.as_bytes(), &env)
}

fn scan(input: &str) -> Scan {
    scan_with(input, &Limits::default(), ANY)
}

fn length(input: &str) -> Option<usize> {
    match scan(input) {
        Scan::Element(length, _) => Some(length),
        _ => None,
    }
}

#[test]
fn complete_elements() {
    let cases = [
        "<a/>",
        "<a></a>",
        "<a x='1' y=\"2\"/>",
        "<a\n\tx = '1'\r\n/>",
        "<a>text &amp; &lt;&gt;&apos;&quot; &#65;&#x263A; ] ]] > \u{e9}\u{1F600}</a>",
        "<message to='a@b' id='1'><body>hi</body><x xmlns='urn:x'><y/></x></message>",
        "<db:result to='a'>key</db:result>",
        "<stream:features><b/></stream:features>",
        "<p:a xmlns:p='urn:p' p:x='1' x='2'><p:b/></p:a>",
        "<a xml:lang='en'><xml:b/></a>",
        "<a xmlns=''><b/></a>",
        "<a><b></b ></a >",
        "<a x='>]]>'/>",
    ];
    for input in cases {
        assert_eq!(length(input), Some(input.len()), "{input}");
    }
    // Only the first element is taken.
    assert_eq!(length("<a/><b/>"), Some(4));
    assert_eq!(length("<a><b/></a> "), Some(11));
}

#[test]
fn white_space_between_elements() {
    assert_eq!(scan(" \r\n\t<a/>"), Scan::Blank(4));
    assert_eq!(scan("\n"), Scan::Blank(1));
    assert_eq!(scan(""), Scan::NeedMore);
}

#[test]
fn gives_up_on_what_it_does_not_know() {
    let cases = [
        // Not elements.
        "</stream:stream>",
        "text",
        "<!-- c --><a/>",
        "<?pi?><a/>",
        // Constructs left to rxml.
        "<a><!-- c --></a>",
        "<a><![CDATA[x]]></a>",
        "<a><?pi x?></a>",
        "<a>&nbsp;</a>",
        "<a>&#0;</a>",
        "<a>&#xD800;</a>",
        "<a>&#X41;</a>",
        "<a>&amp</a>",
        "<a>]]></a>",
        "<a>\u{1}</a>",
        "<a>\u{fffe}</a>",
        "<\u{e9}/>",
        "<a\u{e9}/>",
        "<a x='\u{1}'/>",
        "<a x='<'/>",
        // Malformed.
        "<a x='1'y='2'/>",
        "<a x=1/>",
        "<a x/>",
        "< a/>",
        "<a / >",
        "<a></b>",
        "<a></ab>",
        "<ab></a>",
        "<a:b:c/>",
        "<:a/>",
        "<a:/>",
        "<1a/>",
        // Namespaces.
        "<p:a/>",
        "<a p:x='1'/>",
        "<a x='1' x='2'/>",
        "<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>",
        "<a xmlns:p=''/>",
        "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
        "<a xmlns:xmlns='urn:x'/>",
        "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
        "<a xmlns:p='urn:&amp;'/>",
        "<xmlns:a/>",
        "<a><p:b xmlns:p='urn:p'/><p:c/></a>",
        // Attributes of kept tags that would need unescaping.
        "<a x='&amp;'/>",
        "<a x='&#9;'/>",
        "<a><b><c x='\r]'/></b></a>",
        "<a><b x='1&#10;'/></a>",
    ];
    for input in cases {
        assert_eq!(scan(input), Scan::Bail, "{input}");
    }
    // Deeper down, unescaping is the receiver's business.
    assert!(length("<a><b><c x='&amp;&#10;\t'/></b></a>").is_some());
}

#[test]
fn only_wanted_elements() {
    let route = format!("<route xmlns='{}' to='a'/>", ns::COMPONENT);
    assert!(matches!(
        scan_with(&route, &Limits::default(), ROUTES_ONLY),
        Scan::Element(..)
    ));
    let bind = format!("<bind xmlns='{}' name='a'/>", ns::COMPONENT);
    assert_eq!(
        scan_with(&bind, &Limits::default(), ROUTES_ONLY),
        Scan::Bail
    );
    assert_eq!(
        scan_with("<route/>", &Limits::default(), ROUTES_ONLY),
        Scan::Bail
    );
}

#[test]
fn stays_within_limits() {
    let limits = Limits {
        max_stanza_bytes: 20,
        max_depth: 2,
        max_attributes: 2,
        ..Limits::default()
    };
    let within = |input: &str| scan_with(input, &limits, ANY);
    assert!(matches!(within("<a x='1' y='2'/>"), Scan::Element(..)));
    assert_eq!(within("<a x='1' y='2' z='3'/>"), Scan::Bail);
    assert!(matches!(within("<a><b/></a>"), Scan::Element(..)));
    assert_eq!(within("<a><b><c/></b></a>"), Scan::Bail);
    assert_eq!(within("<a>0123456789012345678</a>"), Scan::Bail);
    // Incomplete and already too large.
    assert_eq!(within("<a>0123456789012345678"), Scan::Bail);
    let long_name = format!("<{}/>", "a".repeat(9000));
    assert_eq!(scan(&long_name), Scan::Bail);
}

/// Feeds `input` to one scanner a growing prefix at a time, as a connection would.
fn scan_growing(input: &str, step: usize) -> Scan {
    let scope = header_scope();
    let limits = Limits::default();
    let env = Env {
        scope: &scope,
        limits: &limits,
        wanted: ANY,
    };
    let mut scanner = Scanner::default();
    let mut end = 0;
    loop {
        end = (end + step).min(input.len());
        match scanner.scan(&input.as_bytes()[..end], &env) {
            Scan::NeedMore if end < input.len() => {}
            other => return other,
        }
    }
}

#[test]
fn resumes_where_it_stopped() {
    let input = "<message xmlns:p='urn:p' to='a@b'><body>hi &amp; ]] bye &#x263A; \
                 \u{263A}</body><p:x p:y='1'/><z xmlns='urn:z'/></message>";
    let whole = scan(input);
    assert!(matches!(whole, Scan::Element(..)));
    for step in 1..=9 {
        assert_eq!(scan_growing(input, step), whole, "step {step}");
    }
    // A bad byte found late is found whatever the split.
    let bad = "<message><body>hi ]]> bye</body></message>";
    for step in 1..=9 {
        assert_eq!(scan_growing(bad, step), Scan::Bail, "step {step}");
    }
}

#[test]
fn long_incomplete_tags_go_to_the_parser() {
    let tag = format!("<a x='{}", "y".repeat(MAX_RESCAN));
    assert_eq!(scan(&tag), Scan::Bail);
    // Long text is checked once, so it may arrive slowly.
    let text = format!("<a>{}", "y".repeat(MAX_RESCAN * 2));
    assert_eq!(scan(&text), Scan::NeedMore);
}

#[test]
fn records_names_attributes_and_children() {
    let input = format!(
        "<route xmlns='{}' to='sm' from='c2s'>\
         <message xmlns='jabber:client' to='b@x' from='a@x/r'><body>hi</body></message>\
         <sc:session xmlns:sc='{}' sc:c2s='7' action='start'/></route>",
        ns::COMPONENT,
        ns::SESSION
    );
    let Scan::Element(length, parts) = scan(&input) else {
        panic!("not scanned")
    };
    assert_eq!(length, input.len());
    let bytes = input.as_bytes();
    let text = |span: Span| &input[span.range()];
    let scope = header_scope();
    assert_eq!(text(parts.root.local), "route");
    assert_eq!(parts.root.ns.bytes(bytes, &scope), ns::COMPONENT.as_bytes());
    let children: Vec<(usize, &Tag)> = parts.children().collect();
    assert_eq!(children.len(), 2);
    let (position, message) = children[0];
    assert_eq!(
        &input[message.start..message.end],
        "<message xmlns='jabber:client' to='b@x' from='a@x/r'><body>hi</body></message>"
    );
    assert_eq!(&input[message.start..message.name_end], "<message");
    let attrs = |from: usize| -> Vec<(&str, &str)> {
        parts
            .attrs_from(from)
            .map(|a| (text(a.local), text(a.value)))
            .collect()
    };
    assert_eq!(attrs(0), [("to", "sm"), ("from", "c2s")]);
    assert_eq!(attrs(position + 1), [("to", "b@x"), ("from", "a@x/r")]);
    let (position, session) = children[1];
    assert_eq!(text(session.local), "session");
    assert_eq!(session.ns.bytes(bytes, &scope), ns::SESSION.as_bytes());
    assert_eq!(attrs(position + 1), [("c2s", "7"), ("action", "start")]);
    let c2s = parts.attrs_from(position + 1).next().expect("an attribute");
    assert_eq!(c2s.ns.bytes(bytes, &scope), ns::SESSION.as_bytes());
    // Each child declares what it uses.
    assert!(parts.needs.is_empty());
}

#[test]
fn notes_bindings_children_take_from_outside() {
    let input = format!(
        "<route xmlns='{}' xmlns:sc='{}' to='sm'>\
         <sc:session sc:c2s='7'><db:x/></sc:session>\
         <message><body xmlns='jabber:client'/></message>\
         <c xmlns:sc='urn:other'><sc:d/></c><e xmlns='urn:e'/></route>",
        ns::COMPONENT,
        ns::SESSION
    );
    let Scan::Element(_, parts) = scan(&input) else {
        panic!("not scanned")
    };
    let scope = header_scope();
    let needs: Vec<(usize, Option<&str>, &[u8])> = parts
        .needs
        .iter()
        .map(|n| {
            (
                n.child,
                n.prefix.map(|p| &input[p.range()]),
                n.ns.bytes(input.as_bytes(), &scope),
            )
        })
        .collect();
    assert_eq!(
        needs,
        [
            // Positions among the pieces: the route's `to` comes first.
            (1, Some("sc"), ns::SESSION.as_bytes()),
            (1, Some("db"), &b"jabber:server:dialback"[..]),
            (3, None, ns::COMPONENT.as_bytes()),
            (4, None, ns::COMPONENT.as_bytes()),
        ]
    );
}
