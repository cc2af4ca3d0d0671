//! A [`UserData`] as an XEP-0227 `<user/>`, each child on a line of its own for people reading
//! the file (the whitespace is not data: importing ignores it).

use minidom::Element;
use sm::modules::privacy_items::list_element;
use sm::modules::private;
use sm::privacy::PRIVACY_NS;
use sm::stanza;

use super::{roster, scram, NS, STARLING};
use crate::user_data::{Secret, UserData};

/// The stored XML text `xml` as an element; `None`, with a line in `problems`, when it does not
/// parse (which only a damaged database does).
fn stored(xml: &str, what: &str, data: &UserData, problems: &mut Vec<String>) -> Option<Element> {
    match xml.parse() {
        Ok(el) => Some(el),
        Err(e) => {
            problems.push(format!(
                "{}: a stored {what} is not readable XML and was left out ({e})",
                data.user
            ));
            None
        }
    }
}

/// The user's elements, in the order the XEP lists them.
fn children(data: &UserData, problems: &mut Vec<String>) -> Vec<Element> {
    let mut children = Vec::new();
    if let Secret::Scram(records) = &data.secret {
        children.extend(records.iter().map(scram::to_element));
    }
    if !data.roster.is_empty() {
        children.push(roster::to_query(&data.roster));
    }
    for (_, xml) in &data.requests {
        children.extend(stored(xml, "subscription request", data, problems));
    }
    if !data.offline.is_empty() {
        let messages: Vec<Element> = data
            .offline
            .iter()
            .filter_map(|(xml, _)| stored(xml, "offline message", data, problems))
            .collect();
        children.push(
            Element::builder("offline-messages", NS)
                .append_all(messages)
                .build(),
        );
    }
    if let Some(xml) = &data.vcard {
        children.extend(stored(xml, "vCard", data, problems));
    }
    if !data.private.is_empty() {
        // One <query/> holds the elements of every namespace (§4.6).
        let mut elements = Vec::new();
        for (_, xml) in &data.private {
            if let Some(query) = stored(xml, "private XML", data, problems) {
                elements.extend(query.children().cloned());
            }
        }
        children.push(
            Element::builder("query", private::NS)
                .append_all(elements)
                .build(),
        );
    }
    if !data.privacy.is_empty() || data.default_privacy.is_some() {
        let mut query = Element::bare("query", PRIVACY_NS);
        if let Some(name) = &data.default_privacy {
            let mut default = Element::bare("default", PRIVACY_NS);
            stanza::set_attr(&mut default, "name", name.clone());
            query.append_child(default);
        }
        for list in &data.privacy {
            query.append_child(list_element(&list.name, &list.items));
        }
        children.push(query);
    }
    if let Some(logout) = &data.last_logout {
        let secs = logout
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut el = Element::bare("last-logout", STARLING);
        stanza::set_attr(&mut el, "stamp", sm::time::stamp(secs));
        if !logout.status.is_empty() {
            el.append_text_node(logout.status.clone());
        }
        children.push(el);
    }
    children
}

/// `<user name=…/>` with all of `data`; stored XML that does not parse is left out and named in
/// `problems`.
pub fn user_element(data: &UserData, problems: &mut Vec<String>) -> Element {
    let mut user = Element::bare("user", NS);
    let name = data.user.node().map(|n| n.as_str()).unwrap_or_default();
    stanza::set_attr(&mut user, "name", name);
    let children = children(data, problems);
    if children.is_empty() {
        return user;
    }
    for child in children {
        user.append_text_node("\n      ");
        user.append_child(child);
    }
    user.append_text_node("\n    ");
    user
}
