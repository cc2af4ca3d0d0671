//! The XML form of privacy list items (XEP-0016 §2.1): reading the items of a `<list/>` a
//! client sets, with the errors the XEP defines, and writing stored items back.

use std::collections::HashSet;

use jid::Jid;
use minidom::Element;
use storage::{PrivacyItem, PrivacyMatch, PrivacyStanzas, Subscription};

use crate::privacy::PRIVACY_NS;
use crate::stanza;

/// The items of `list`, checked: `action` is `allow` or `deny`; `order` a non-negative integer
/// unique in the list; `type` one of the three, its `value` a JID, a group or a subscription
/// state (each else `bad-request`). Whether the groups exist is the caller's to check
/// ([`groups`]).
pub fn parse(list: &Element) -> Result<Vec<PrivacyItem>, &'static str> {
    let mut orders = HashSet::new();
    let mut items = Vec::new();
    for el in list.children().filter(|c| c.is("item", PRIVACY_NS)) {
        let item = parse_item(el)?;
        if !orders.insert(item.order) {
            return Err("bad-request");
        }
        items.push(item);
    }
    Ok(items)
}

fn parse_item(el: &Element) -> Result<PrivacyItem, &'static str> {
    let allow = match el.attr("action") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err("bad-request"),
    };
    let order = el
        .attr("order")
        .and_then(|o| o.parse::<u32>().ok())
        .ok_or("bad-request")?;
    let value = el.attr("value");
    let matches = match (el.attr("type"), value) {
        (None, _) => PrivacyMatch::Everyone,
        (Some("jid"), Some(v)) => PrivacyMatch::Jid(stanza::parse_jid(v).ok_or("bad-request")?),
        (Some("group"), Some(v)) if !v.is_empty() => PrivacyMatch::Group(v.to_owned()),
        (Some("subscription"), Some(v)) => {
            PrivacyMatch::Subscription(Subscription::parse(v).ok_or("bad-request")?)
        }
        _ => return Err("bad-request"),
    };
    let has = |name: &str| el.has_child(name, PRIVACY_NS);
    Ok(PrivacyItem {
        order,
        matches,
        allow,
        stanzas: PrivacyStanzas {
            message: has("message"),
            iq: has("iq"),
            presence_in: has("presence-in"),
            presence_out: has("presence-out"),
        },
    })
}

/// The groups `items` name.
pub fn groups(items: &[PrivacyItem]) -> impl Iterator<Item = &str> {
    items.iter().filter_map(|item| match &item.matches {
        PrivacyMatch::Group(group) => Some(group.as_str()),
        _ => None,
    })
}

/// `<list name='…'>` with `items`.
pub fn list_element(name: &str, items: &[PrivacyItem]) -> Element {
    let mut list = Element::bare("list", PRIVACY_NS);
    stanza::set_attr(&mut list, "name", name);
    for item in items {
        list.append_child(item_element(item));
    }
    list
}

fn item_element(item: &PrivacyItem) -> Element {
    let mut el = Element::bare("item", PRIVACY_NS);
    let (typ, value) = match &item.matches {
        PrivacyMatch::Everyone => (None, None),
        PrivacyMatch::Jid(jid) => (Some("jid"), Some(jid.to_string())),
        PrivacyMatch::Group(group) => (Some("group"), Some(group.clone())),
        PrivacyMatch::Subscription(s) => (Some("subscription"), Some(s.as_str().to_owned())),
    };
    if let (Some(typ), Some(value)) = (typ, value) {
        stanza::set_attr(&mut el, "type", typ);
        stanza::set_attr(&mut el, "value", value);
    }
    stanza::set_attr(&mut el, "action", if item.allow { "allow" } else { "deny" });
    stanza::set_attr(&mut el, "order", item.order.to_string());
    let s = item.stanzas;
    let kinds = [
        (s.message, "message"),
        (s.iq, "iq"),
        (s.presence_in, "presence-in"),
        (s.presence_out, "presence-out"),
    ];
    for (_, name) in kinds.iter().filter(|(set, _)| *set) {
        el.append_child(Element::bare(*name, PRIVACY_NS));
    }
    el
}

/// A blocklist item (XEP-0191 §5): `jid` denied every stanza.
pub fn blocklist_item(order: u32, jid: Jid) -> PrivacyItem {
    PrivacyItem {
        order,
        matches: PrivacyMatch::Jid(jid),
        allow: false,
        stanzas: PrivacyStanzas::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &str) -> Element {
        format!("<list xmlns='{PRIVACY_NS}' name='l'>{items}</list>")
            .parse()
            .expect("parses")
    }

    #[test]
    fn items_read_back_as_written() {
        let l = list(
            "<item type='jid' value='tybalt@example.com' action='deny' order='3'/>\
             <item type='group' value='Enemies' action='deny' order='4'><message/><iq/></item>\
             <item type='subscription' value='none' action='deny' order='5'><presence-in/><presence-out/></item>\
             <item action='allow' order='68'/>",
        );
        let items = parse(&l).expect("valid");
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0],
            blocklist_item(3, stanza::parse_jid("tybalt@example.com").expect("jid"))
        );
        assert_eq!(
            items[1].stanzas,
            PrivacyStanzas {
                message: true,
                iq: true,
                ..PrivacyStanzas::default()
            }
        );
        assert_eq!(
            items[2].matches,
            PrivacyMatch::Subscription(Subscription::None)
        );
        assert_eq!(
            (items[3].matches.clone(), items[3].allow),
            (PrivacyMatch::Everyone, true)
        );
        assert_eq!(groups(&items).collect::<Vec<_>>(), vec!["Enemies"]);
        assert_eq!(parse(&list_element("l", &items)), Ok(items));
    }

    #[test]
    fn bad_items_are_bad_requests() {
        for bad in [
            "<item action='deny'/>",
            "<item action='deny' order='-1'/>",
            "<item action='deny' order='x'/>",
            "<item action='deny' order='4294967296'/>",
            "<item order='1'/>",
            "<item action='block' order='1'/>",
            "<item type='jid' action='deny' order='1'/>",
            "<item type='jid' value='@bad' action='deny' order='1'/>",
            "<item type='subscription' value='remove' action='deny' order='1'/>",
            "<item type='group' value='' action='deny' order='1'/>",
            "<item type='nickname' value='x' action='deny' order='1'/>",
            "<item action='deny' order='1'/><item action='allow' order='1'/>",
        ] {
            assert_eq!(parse(&list(bad)), Err("bad-request"), "{bad}");
        }
        assert_eq!(
            parse(&list("<item action='deny' order='4294967295'/>")).map(|i| i.len()),
            Ok(1)
        );
    }
}
