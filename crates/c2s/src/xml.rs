//! Small element helpers shared by the modules: attributes, IQ answers, random ids.

use minidom::Element;
use rxml::{xml_ncname, Namespace, NcNameStr};
use xml_stream::ns;

/// Sets an unqualified attribute.
pub fn set(el: &mut Element, name: &NcNameStr, value: impl Into<String>) {
    el.attrs_mut()
        .insert(Namespace::NONE, name.to_owned(), value.into());
}

/// Removes an unqualified attribute.
pub fn unset(el: &mut Element, name: &NcNameStr) {
    el.attrs_mut().remove(Namespace::none(), name);
}

/// Sets a session-control (`sc:`) attribute.
pub fn set_sc(el: &mut Element, name: &NcNameStr, value: impl Into<String>) {
    el.attrs_mut().insert(
        Namespace::from_str(ns::SESSION),
        name.to_owned(),
        value.into(),
    );
}

/// Reads a session-control (`sc:`) attribute.
pub fn sc<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attr_ns(ns::SESSION, name)
}

/// Removes every session-control attribute: they are between c2s and the sm, never for clients.
pub fn strip_sc(el: &mut Element) {
    el.attrs_mut()
        .retain(|attr_ns, _, _| <Namespace as AsRef<str>>::as_ref(attr_ns) != ns::SESSION);
}

/// An element with text content.
pub fn text_element(name: &str, namespace: &str, text: &str) -> Element {
    let mut el = Element::bare(name, namespace);
    if !text.is_empty() {
        el.append_text_node(text);
    }
    el
}

/// `<iq type='result'/>` answering `request`, with an optional payload.
pub fn iq_result(request: &Element, payload: Option<Element>) -> Element {
    let mut iq = Element::bare("iq", ns::CLIENT);
    set(&mut iq, xml_ncname!("type"), "result");
    if let Some(id) = request.attr("id") {
        set(&mut iq, xml_ncname!("id"), id);
    }
    if let Some(payload) = payload {
        iq.append_child(payload);
    }
    iq
}

/// The RFC 6120 §8.3 error answer to `request`, or `None` when it must not be answered
/// (it is an error or a result itself).
pub fn stanza_error(request: &Element, condition: &str) -> Option<Element> {
    component::route_error::stanza_error(request.clone(), condition)
}

/// 20 random bytes in hex: stream ids, session-control request ids, generated resources.
pub fn random_id() -> String {
    let mut bytes = [0u8; 20];
    // No randomness is a broken host; an id made of the time still keeps requests apart.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..16].copy_from_slice(&now.to_le_bytes());
    }
    hex::encode(bytes)
}
