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
        put_attr(out, "xmlns", default_ns);
    }
    for (prefix, uri) in &header.prefixes {
        put_attr(out, &format!("xmlns:{prefix}"), uri);
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
            put_attr(out, name, value);
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
    out.put_u8(b'<');
    if in_streams_ns {
        out.put_slice(b"stream:");
    }
    out.put_slice(el.name().as_bytes());
    let child_default = if in_streams_ns || element_ns == inherited_ns {
        inherited_ns
    } else {
        put_attr(out, "xmlns", &element_ns);
        &element_ns
    };
    let mut declared: Vec<&str> = Vec::new();
    for ((attr_ns, name), value) in el.attrs().iter() {
        let attr_ns = attr_ns.as_str();
        if attr_ns.is_empty() {
            put_attr(out, name.as_str(), value);
        } else if attr_ns == ns::XML {
            put_attr(out, &format!("xml:{}", name.as_str()), value);
        } else {
            let index = match declared.iter().position(|d| *d == attr_ns) {
                Some(i) => i,
                None => {
                    declared.push(attr_ns);
                    let i = declared.len() - 1;
                    put_attr(out, &format!("xmlns:{}", attr_prefix(attr_ns, i)), attr_ns);
                    i
                }
            };
            put_attr(
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
    if in_streams_ns {
        out.put_slice(b"stream:");
    }
    out.put_slice(el.name().as_bytes());
    out.put_u8(b'>');
}

/// jabberd2 writes session-control attributes as `sc:…`; keeping its prefix keeps logs familiar.
fn attr_prefix(attr_ns: &str, index: usize) -> String {
    if attr_ns == ns::SESSION {
        "sc".to_owned()
    } else {
        format!("ns{index}")
    }
}

fn put_attr(out: &mut BytesMut, name: &str, value: &str) {
    out.put_u8(b' ');
    out.put_slice(name.as_bytes());
    out.put_slice(b"='");
    put_escaped(out, value, true);
    out.put_u8(b'\'');
}

fn put_escaped(out: &mut BytesMut, text: &str, in_attribute: bool) {
    let bytes = text.as_bytes();
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
