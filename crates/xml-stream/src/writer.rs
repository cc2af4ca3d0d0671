//! Serialisation of stream headers and stanzas.
//!
//! A stanza is written relative to the stream it goes into: an element in the stream's default
//! namespace carries no `xmlns`, elements in the streams namespace use the `stream:` prefix the
//! header declared, and every other namespace is declared where it starts.

use bytes::{BufMut, Bytes, BytesMut};
use minidom::{Element, Node};

use crate::header::StreamHeader;
use crate::ns;

/// Writes `<?xml…?><stream:stream …>` declaring `default_ns` as the content namespace
/// (`None` for jabberd2's component streams, which declare none).
pub fn write_header(header: &StreamHeader, out: &mut BytesMut) {
    out.put_slice(b"<?xml version='1.0'?><stream:stream xmlns:stream='");
    out.put_slice(ns::STREAMS.as_bytes());
    out.put_u8(b'\'');
    if let Some(default_ns) = &header.default_ns {
        write_attr(out, "xmlns", default_ns);
    }
    for (prefix, uri) in &header.prefixes {
        write_attr(out, &format!("xmlns:{prefix}"), uri);
    }
    let attrs = [
        ("from", &header.from),
        ("to", &header.to),
        ("id", &header.id),
        ("version", &header.version),
        ("xml:lang", &header.lang),
    ];
    for (name, value) in attrs {
        if let Some(value) = value {
            write_attr(out, name, value);
        }
    }
    out.put_u8(b'>');
}

/// The closing tag of a stream.
pub const FOOTER: &[u8] = b"</stream:stream>";

/// Serialises a top-level element for a stream whose content namespace is `stream_ns`.
pub fn write_stanza(el: &Element, stream_ns: Option<&str>, out: &mut BytesMut) {
    write_element(el, stream_ns.unwrap_or(""), out);
}

/// [`write_stanza`] into a fresh buffer.
pub fn stanza_bytes(el: &Element, stream_ns: Option<&str>) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    write_stanza(el, stream_ns, &mut out);
    out.freeze()
}

fn write_element(el: &Element, inherited_ns: &str, out: &mut BytesMut) {
    let element_ns = el.ns();
    let in_streams_ns = element_ns == ns::STREAMS;
    // The XML namespace has its `xml:` prefix without any declaration, and may not be
    // declared under another prefix nor as the default namespace (Namespaces in XML §3).
    let in_xml_ns = element_ns == ns::XML;
    // An element whose own attributes are in its namespace (jabberd2's `<sc:session sc:c2s=…>`)
    // is written with that prefix, declared once: jabberd2 keeps only the first declaration of a
    // namespace and would otherwise lose the attributes' prefix.
    let prefixed = !in_streams_ns
        && !in_xml_ns
        && !element_ns.is_empty()
        && element_ns != inherited_ns
        && el
            .attrs()
            .iter()
            .any(|((attr_ns, _), _)| attr_ns.as_str() == element_ns);
    let mut declared: Vec<&str> = Vec::new();
    let element_prefix = if in_streams_ns {
        Some("stream".to_owned())
    } else if in_xml_ns {
        Some("xml".to_owned())
    } else if prefixed {
        declared.push(&element_ns);
        Some(attr_prefix(&element_ns, 0))
    } else {
        None
    };
    out.put_u8(b'<');
    put_qualified(out, element_prefix.as_deref(), el.name());
    let child_default = if in_streams_ns || in_xml_ns || prefixed || element_ns == inherited_ns {
        if prefixed {
            write_attr(
                out,
                &format!("xmlns:{}", attr_prefix(&element_ns, 0)),
                &element_ns,
            );
        }
        inherited_ns
    } else {
        write_attr(out, "xmlns", &element_ns);
        &element_ns
    };
    for ((attr_ns, name), value) in el.attrs().iter() {
        let attr_ns = attr_ns.as_str();
        if attr_ns.is_empty() {
            write_attr(out, name.as_str(), value);
        } else if attr_ns == ns::XML {
            write_attr(out, &format!("xml:{}", name.as_str()), value);
        } else {
            let index = match declared.iter().position(|d| *d == attr_ns) {
                Some(i) => i,
                None => {
                    declared.push(attr_ns);
                    let i = declared.len() - 1;
                    write_attr(out, &format!("xmlns:{}", attr_prefix(attr_ns, i)), attr_ns);
                    i
                }
            };
            write_attr(
                out,
                &format!("{}:{}", attr_prefix(attr_ns, index), name.as_str()),
                value,
            );
        }
    }
    if el.nodes().next().is_none() {
        out.put_slice(b"/>");
        return;
    }
    out.put_u8(b'>');
    for node in el.nodes() {
        match node {
            Node::Element(child) => write_element(child, child_default, out),
            Node::Text(text) => put_escaped(out, text, false),
        }
    }
    out.put_slice(b"</");
    put_qualified(out, element_prefix.as_deref(), el.name());
    out.put_u8(b'>');
}

fn put_qualified(out: &mut BytesMut, prefix: Option<&str>, name: &str) {
    if let Some(prefix) = prefix {
        out.put_slice(prefix.as_bytes());
        out.put_u8(b':');
    }
    out.put_slice(name.as_bytes());
}

/// jabberd2 writes session-control attributes as `sc:…`; keeping its prefix keeps logs familiar.
fn attr_prefix(attr_ns: &str, index: usize) -> String {
    if attr_ns == ns::SESSION {
        "sc".to_owned()
    } else {
        format!("ns{index}")
    }
}

/// Writes ` name='value'`, escaping the value.
pub fn write_attr(out: &mut BytesMut, name: &str, value: &str) {
    out.reserve(name.len() + value.len() + 4);
    out.put_u8(b' ');
    out.put_slice(name.as_bytes());
    out.put_slice(b"='");
    put_escaped(out, value, true);
    out.put_u8(b'\'');
}

/// Bytes that may need escaping somewhere (text or attribute values).
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let specials = *b"&<>'\"\t\n\r";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = true;
        i += 1;
    }
    table
};

fn put_escaped(out: &mut BytesMut, text: &str, in_attribute: bool) {
    let bytes = text.as_bytes();
    // Most text needs no escaping at all.
    if !bytes.iter().any(|&b| SPECIAL[usize::from(b)]) {
        out.put_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\'' if in_attribute => b"&apos;",
            b'"' if in_attribute => b"&quot;",
            // Attribute values are normalised by parsers; keep whitespace as it was.
            b'\t' if in_attribute => b"&#9;",
            b'\n' if in_attribute => b"&#10;",
            b'\r' => b"&#13;",
            _ => continue,
        };
        out.put_slice(&bytes[start..i]);
        out.put_slice(replacement);
        start = i + 1;
    }
    out.put_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_control_keeps_its_prefix() {
        let el: Element = "<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' action='created' sc:c2s='7' sc:sm='a1'/>"
            .parse()
            .expect("parses");
        let written = stanza_bytes(&el, Some(ns::CLIENT));
        assert_eq!(
            std::str::from_utf8(&written).expect("utf-8"),
            "<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' action='created' sc:c2s='7' sc:sm='a1'/>"
        );
    }

    use super::*;
    use crate::error::{StreamError, StreamErrorCondition};
    use crate::parser::{Limits, StreamEvent, StreamParser};

    fn header(default_ns: Option<&str>) -> StreamHeader {
        StreamHeader {
            default_ns: default_ns.map(str::to_owned),
            prefixes: vec![("db".into(), "jabber:server:dialback".into())],
            to: Some("example.com".into()),
            from: Some("example.net".into()),
            id: Some("s1".into()),
            version: Some("1.0".into()),
            lang: Some("en".into()),
        }
    }

    /// Writes a stream with `header` and `stanzas` and parses it back.
    fn reparse(header: &StreamHeader, stanzas: &[Element]) -> Vec<StreamEvent> {
        let mut out = BytesMut::new();
        write_header(header, &mut out);
        for stanza in stanzas {
            write_stanza(stanza, header.default_ns.as_deref(), &mut out);
        }
        out.extend_from_slice(FOOTER);
        let mut parser = StreamParser::new(Limits::default());
        let mut data = &out[..];
        let mut events = Vec::new();
        while let Some(event) = parser
            .next_event(&mut data)
            .unwrap_or_else(|e| panic!("{e} in {:?}", String::from_utf8_lossy(&out)))
        {
            events.push(event);
        }
        assert!(data.is_empty());
        events
    }

    fn round_trip(default_ns: Option<&str>, el: &Element) {
        let header = header(default_ns);
        let events = reparse(&header, std::slice::from_ref(el));
        assert_eq!(
            events,
            vec![
                StreamEvent::Header(header.clone()),
                StreamEvent::Stanza(el.clone()),
                StreamEvent::Footer
            ],
            "{}",
            String::from_utf8_lossy(&stanza_bytes(el, default_ns))
        );
    }

    fn written(el: &Element, default_ns: Option<&str>) -> String {
        String::from_utf8(stanza_bytes(el, default_ns).to_vec()).unwrap()
    }

    fn rich_stanza(content_ns: &str) -> Element {
        let mut item = Element::builder("item", "jabber:iq:roster")
            .attr(rxml::xml_ncname!("jid").into(), "a@b")
            .attr_ns(
                rxml::Namespace::from("urn:example:g"),
                rxml::xml_ncname!("colour").into(),
                "red",
            )
            .attr_ns(
                rxml::Namespace::from("urn:example:h"),
                rxml::xml_ncname!("colour").into(),
                "blue",
            )
            .build();
        item.append_child(
            Element::builder("group", "jabber:iq:roster")
                .append("Friends & <family>")
                .build(),
        );
        // A child back in the stream's namespace inside a foreign one.
        item.append_child(Element::bare("body", content_ns));
        item.append_child(Element::bare("unqualified", ""));
        let query = Element::builder("query", "jabber:iq:roster")
            .append(item)
            .append(
                Element::bare("deep", "urn:a").append_child_ret(
                    Element::bare("deeper", "urn:b")
                        .append_child_ret(Element::bare("deepest", "urn:a")),
                ),
            )
            .build();
        let mut iq = Element::builder("iq", content_ns)
            .attr(rxml::xml_ncname!("type").into(), "set")
            .attr(rxml::xml_ncname!("id").into(), "i'd \"1\"\t\n\r<&>")
            .attr_ns(
                rxml::Namespace::xml().clone(),
                rxml::xml_ncname!("lang").into(),
                "en",
            )
            .attr_ns(
                rxml::Namespace::from(ns::SESSION),
                rxml::xml_ncname!("sm").into(),
                "sm1",
            )
            .attr_ns(
                rxml::Namespace::from(ns::SESSION),
                rxml::xml_ncname!("c2s").into(),
                "c1",
            )
            .attr_ns(
                rxml::Namespace::from("urn:other"),
                rxml::xml_ncname!("x").into(),
                "y",
            )
            .build();
        iq.append_text("lead\ttext\r\n ' \" ]]> ");
        iq.append_child(query);
        iq.append_child(
            Element::builder("error", ns::STREAMS)
                .append(Element::bare("text", ns::STREAM_ERRORS))
                .build(),
        );
        iq.append_text("tail \u{263a}");
        iq
    }

    trait AppendRet {
        fn append_child_ret(self, child: Element) -> Self;
    }

    impl AppendRet for Element {
        fn append_child_ret(mut self, child: Element) -> Self {
            self.append_child(child);
            self
        }
    }

    #[test]
    fn round_trip_with_foreign_namespaces() {
        round_trip(Some(ns::CLIENT), &rich_stanza(ns::CLIENT));
        round_trip(Some(ns::SERVER), &rich_stanza(ns::SERVER));
        round_trip(None, &rich_stanza(ns::COMPONENT));
        // Elements in no namespace at all, and content in another namespace than the stream's.
        round_trip(None, &rich_stanza(""));
        round_trip(Some(ns::CLIENT), &rich_stanza(""));
        round_trip(Some(ns::CLIENT), &rich_stanza(ns::COMPONENT));
        round_trip(
            Some(ns::CLIENT),
            &StreamError::with_text(StreamErrorCondition::PolicyViolation, "too big").to_element(),
        );
    }

    #[test]
    fn round_trip_of_parsed_stanzas() {
        let input = "<stream:stream xmlns='jabber:client' \
            xmlns:stream='http://etherx.jabber.org/streams'>\
            <message xmlns:a='urn:a' a:x='1' to='b@c'><body>hi &amp; bye</body>\
            <a:thing xmlns='urn:d'><inner a:y='&#9;&#10;&#13;'/></a:thing></message>\
            <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>PLAIN</mechanism></mechanisms></stream:features>";
        let mut parser = StreamParser::new(Limits::default());
        let mut data = input.as_bytes();
        let mut stanzas = Vec::new();
        while let Some(event) = parser.next_event(&mut data).unwrap() {
            if let StreamEvent::Stanza(el) = event {
                stanzas.push(el);
            }
        }
        assert_eq!(stanzas.len(), 2);
        for stanza in &stanzas {
            round_trip(Some(ns::CLIENT), stanza);
        }
        assert_eq!(
            stanzas[0]
                .get_child("thing", "urn:a")
                .unwrap()
                .get_child("inner", "urn:d")
                .unwrap()
                .attr_ns("urn:a", "y"),
            Some("\t\n\r")
        );
    }

    #[test]
    fn default_namespace_not_repeated() {
        let message = Element::builder("message", ns::CLIENT)
            .attr(rxml::xml_ncname!("to").into(), "romeo@example.net")
            .append(Element::builder("body", ns::CLIENT).append("hi").build())
            .append(Element::bare(
                "active",
                "http://jabber.org/protocol/chatstates",
            ))
            .build();
        assert_eq!(
            written(&message, Some(ns::CLIENT)),
            "<message to='romeo@example.net'><body>hi</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        );
        // Without a default namespace on the stream, the stanza declares its own.
        assert_eq!(
            written(&message, None),
            "<message xmlns='jabber:client' to='romeo@example.net'><body>hi</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        );
        // A stream with another default namespace.
        assert_eq!(
            written(&message, Some(ns::SERVER)),
            "<message xmlns='jabber:client' to='romeo@example.net'><body>hi</body>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        );
        // An element in no namespace inside a stream with a default one undeclares it.
        let bare = Element::builder("route", ns::COMPONENT)
            .append(Element::bare("x", ""))
            .build();
        assert_eq!(
            written(&bare, None),
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'><x xmlns=''/></route>"
        );
        assert_eq!(written(&Element::bare("x", ""), None), "<x/>");
        assert_eq!(
            written(&Element::bare("x", ""), Some(ns::CLIENT)),
            "<x xmlns=''/>"
        );
    }

    #[test]
    fn stream_prefix() {
        let features = Element::builder("features", ns::STREAMS)
            .append(
                Element::builder("starttls", ns::TLS)
                    .append(Element::bare("required", ns::TLS))
                    .build(),
            )
            .append(Element::bare("bind", "urn:ietf:params:xml:ns:xmpp-bind"))
            .append(Element::bare("ver", ns::CLIENT))
            .build();
        assert_eq!(
            written(&features, Some(ns::CLIENT)),
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
             <bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><ver/></stream:features>"
        );
        let error = StreamError::new(StreamErrorCondition::HostUnknown).to_element();
        assert_eq!(
            written(&error, None),
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
        // Nested inside a foreign element, still with the prefix the stream header declared.
        let nested = Element::builder("x", "urn:x")
            .append(Element::bare("error", ns::STREAMS))
            .build();
        assert_eq!(
            written(&nested, Some(ns::CLIENT)),
            "<x xmlns='urn:x'><stream:error/></x>"
        );
    }

    #[test]
    fn escaping() {
        let el = Element::builder("message", ns::CLIENT)
            .attr(rxml::xml_ncname!("id").into(), "a&b<c>d'e\"f\tg\nh\ri")
            .append("a&b<c>d'e\"f\tg\nh\ri]]>")
            .build();
        assert_eq!(
            written(&el, Some(ns::CLIENT)),
            "<message id='a&amp;b&lt;c&gt;d&apos;e&quot;f&#9;g&#10;h&#13;i'>\
             a&amp;b&lt;c&gt;d'e\"f\tg\nh&#13;i]]&gt;</message>"
        );
        round_trip(Some(ns::CLIENT), &el);
    }

    #[test]
    fn namespaced_attributes() {
        let el = Element::builder("message", ns::CLIENT)
            .attr_ns(
                rxml::Namespace::xml().clone(),
                rxml::xml_ncname!("lang").into(),
                "en",
            )
            .build();
        assert_eq!(written(&el, Some(ns::CLIENT)), "<message xml:lang='en'/>");
        let el = Element::builder("route", ns::COMPONENT)
            .attr_ns(
                rxml::Namespace::from(ns::SESSION),
                rxml::xml_ncname!("c2s").into(),
                "1",
            )
            .build();
        assert_eq!(
            written(&el, None),
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' \
             xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' sc:c2s='1'/>"
        );
        let el = Element::builder("a", ns::CLIENT)
            .attr_ns(
                rxml::Namespace::from("urn:p"),
                rxml::xml_ncname!("x").into(),
                "1",
            )
            .build();
        assert_eq!(
            written(&el, Some(ns::CLIENT)),
            "<a xmlns:ns0='urn:p' ns0:x='1'/>"
        );
        round_trip(Some(ns::CLIENT), &el);
    }

    #[test]
    fn header_round_trip() {
        for default_ns in [Some(ns::CLIENT), Some(ns::SERVER), None] {
            let header = header(default_ns);
            let mut out = BytesMut::new();
            write_header(&header, &mut out);
            let text = std::str::from_utf8(&out).unwrap();
            assert!(text.starts_with(
                "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'"
            ));
            assert!(text.contains(" xml:lang='en'"));
            assert_eq!(default_ns.is_some(), text.contains(" xmlns='"));
            assert_eq!(
                reparse(&header, &[]),
                vec![StreamEvent::Header(header.clone()), StreamEvent::Footer]
            );
        }
        let minimal = StreamHeader::default();
        let mut out = BytesMut::new();
        write_header(&minimal, &mut out);
        assert_eq!(
            &out[..],
            b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'>"
        );
        let escaped = StreamHeader {
            id: Some("a'b&c".into()),
            ..StreamHeader::default()
        };
        assert_eq!(
            reparse(&escaped, &[])[0],
            StreamEvent::Header(escaped.clone())
        );
    }

    #[test]
    fn elements_in_the_xml_namespace() {
        // `<xml:x/>` is well-formed; declaring the XML namespace under any other prefix, or as
        // the default namespace, is not.
        let el = Element::builder("a", ns::CLIENT)
            .append(
                Element::builder("b", ns::XML)
                    .attr_ns(
                        rxml::Namespace::xml().clone(),
                        rxml::xml_ncname!("lang").into(),
                        "en",
                    )
                    .append(Element::bare("c", ns::CLIENT))
                    .build(),
            )
            .build();
        assert_eq!(
            written(&el, Some(ns::CLIENT)),
            "<a><xml:b xml:lang='en'><c/></xml:b></a>"
        );
        round_trip(Some(ns::CLIENT), &el);
        round_trip(None, &Element::bare("top", ns::XML));
    }

    #[test]
    fn stanza_bytes_matches_write_stanza() {
        let el = rich_stanza(ns::CLIENT);
        let mut out = BytesMut::new();
        write_stanza(&el, Some(ns::CLIENT), &mut out);
        assert_eq!(stanza_bytes(&el, Some(ns::CLIENT)), out.freeze());
    }
}
