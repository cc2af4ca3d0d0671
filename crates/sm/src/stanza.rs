//! Small helpers on stanzas as minidom elements: addresses, types, the session-control
//! attributes, and the attribute edits every module needs.

use jid::{BareJid, Jid};
use minidom::Element;
use rxml::{Namespace, NcName};
use xml_stream::ns;

/// The three stanza kinds; anything else in `jabber:client` is not a stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Message,
    Presence,
    Iq,
}

/// The kind of a `jabber:client` stanza, `None` for anything else.
pub fn kind(st: &Element) -> Option<Kind> {
    if st.ns() != ns::CLIENT {
        return None;
    }
    match st.name() {
        "message" => Some(Kind::Message),
        "presence" => Some(Kind::Presence),
        "iq" => Some(Kind::Iq),
        _ => None,
    }
}

/// The `type` attribute ("" when absent, which means `normal` / available).
pub fn typ(st: &Element) -> &str {
    st.attr("type").unwrap_or("")
}

fn ncname(name: &str) -> Option<NcName> {
    NcName::try_from(name.to_owned()).ok()
}

/// Sets (or replaces) an unqualified attribute.
pub fn set_attr(st: &mut Element, name: &str, value: impl Into<String>) {
    if let Some(name) = ncname(name) {
        st.attrs_mut().insert(Namespace::NONE, name, value.into());
    }
}

/// Removes an unqualified attribute.
pub fn remove_attr(st: &mut Element, name: &str) {
    st.attrs_mut().remove(Namespace::none(), name);
}

fn session_ns() -> Namespace<'static> {
    Namespace::from(ns::SESSION)
}

/// A session-control attribute (`sc:c2s`, `sc:sm`, `sc:failed`), by namespace URI whatever the
/// prefix was.
pub fn sc_attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attrs().get(&session_ns(), name).map(String::as_str)
}

pub fn set_sc_attr(el: &mut Element, name: &str, value: impl Into<String>) {
    if let Some(name) = ncname(name) {
        el.attrs_mut().insert(session_ns(), name, value.into());
    }
}

/// Drops every session-control attribute: they never leave the c2s↔sm link.
pub fn strip_sc(el: &mut Element) {
    let sc = session_ns();
    el.attrs_mut().retain(|ns, _, _| *ns != sc);
}

/// An address attribute that is present but not a JID (answered with `jid-malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAddress;

/// The `to` address, parsed; `Err` when present but not a JID.
pub fn to(st: &Element) -> Result<Option<Jid>, BadAddress> {
    parse_addr(st.attr("to"))
}

/// The `from` address, parsed; `Err` when present but not a JID.
pub fn from(st: &Element) -> Result<Option<Jid>, BadAddress> {
    parse_addr(st.attr("from"))
}

fn parse_addr(value: Option<&str>) -> Result<Option<Jid>, BadAddress> {
    match value {
        None => Ok(None),
        Some(v) => parse_jid(v).map(Some).ok_or(BadAddress),
    }
}

/// Parses a JID the way every address is compared here: one trailing dot on the domain is
/// dropped (the jid crate keeps it in some cases, making `a@x.` and `a@x` differ).
pub fn parse_jid(text: &str) -> Option<Jid> {
    let (address, resource) = match text.find('/') {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    let jid = match address.strip_suffix('.') {
        // RFC 7622 §3.2: one final dot is stripped; what is left must not end in an empty label.
        Some(stripped) if stripped.ends_with(['.', '@']) || stripped.is_empty() => None,
        Some(stripped) => Jid::new(&format!("{stripped}{resource}")).ok(),
        None => Jid::new(text).ok(),
    }?;
    if text.is_ascii() {
        return Some(jid);
    }
    // The jid crate's preparation is not idempotent for some compatibility characters (U+213B
    // becomes "FAX", which a second pass lowercases): prepare until stable, so that every
    // spelling of an address compares equal after one call.
    let again = Jid::new(jid.as_str()).ok()?;
    (Jid::new(again.as_str()).ok()? == again).then_some(again)
}

/// The bare JID of a user (localpart required).
pub fn user_of(jid: &Jid) -> Option<BareJid> {
    jid.node().map(|_| jid.to_bare())
}

/// A presence's priority, clamped to −128…127 (RFC 6121 §4.7.2.3); 0 when absent or invalid.
pub fn priority(presence: &Element) -> i8 {
    presence
        .get_child("priority", ns::CLIENT)
        .and_then(|p| p.text().trim().parse::<i64>().ok())
        .map_or(0, |p| p.clamp(-128, 127) as i8)
}

/// An element in `jabber:client` with the given attributes.
pub fn build(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut el = Element::bare(name, ns::CLIENT);
    for (k, v) in attrs {
        set_attr(&mut el, k, *v);
    }
    el
}

/// A presence stanza of `typ` ("" for available) from → to.
pub fn presence(typ: &str, from: &str, to: &str) -> Element {
    let mut p = build("presence", &[("from", from), ("to", to)]);
    if !typ.is_empty() {
        set_attr(&mut p, "type", typ);
    }
    p
}

/// The same stanza readdressed to `to`.
pub fn readdressed(st: &Element, to: &str) -> Element {
    let mut copy = st.clone();
    set_attr(&mut copy, "to", to);
    copy
}

/// The stanza as XML text, for storage (read back with `str::parse::<Element>`).
pub fn to_text(st: &Element) -> String {
    String::from_utf8_lossy(&xml_stream::writer::stanza_bytes(st, None)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sc_attributes_are_found_by_namespace() {
        let mut el: Element = "<message xmlns='jabber:client' xmlns:x='http://jabberd.jabberstudio.org/ns/session/1.0' x:sm='ab' x:c2s='7' to='a@b'/>"
            .parse()
            .expect("parses");
        assert_eq!(sc_attr(&el, "sm"), Some("ab"));
        assert_eq!(sc_attr(&el, "c2s"), Some("7"));
        strip_sc(&mut el);
        assert_eq!(sc_attr(&el, "sm"), None);
        assert_eq!(el.attr("to"), Some("a@b"));
    }

    #[test]
    fn priorities_are_clamped() {
        let p: Element = "<presence xmlns='jabber:client'><priority>500</priority></presence>"
            .parse()
            .expect("parses");
        assert_eq!(priority(&p), 127);
        let p: Element = "<presence xmlns='jabber:client'><priority>x</priority></presence>"
            .parse()
            .expect("parses");
        assert_eq!(priority(&p), 0);
    }

    #[test]
    fn trailing_dot_is_dropped() {
        assert_eq!(parse_jid("a@example.com./r"), parse_jid("a@example.com/r"));
        assert!(parse_jid("a@b@c").is_none());
        // Found by the jid fuzz target: two final dots are an empty label, not one dot to strip.
        assert!(parse_jid("a@example.com../r").is_none());
        assert!(parse_jid("a@./r").is_none());
        assert!(parse_jid(".").is_none());
        assert_eq!(parse_jid("a@\u{213B}.example"), parse_jid("a@fax.example"));
    }
}
