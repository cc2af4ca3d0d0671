//! The roster as XEP-0227 §4.4 carries it: a `jabber:iq:roster` `<query/>` as a roster get
//! returns it (RFC 6121 §2.1). Pending-in is not shown there; it follows from the subscription
//! requests the `<user/>` holds.

use jid::BareJid;
use minidom::Element;
use sm::modules::roster::{item_element, NS};
use storage::{RosterItem, Subscription};

pub fn to_query(items: &[RosterItem]) -> Element {
    Element::builder("query", NS)
        .append_all(items.iter().map(item_element))
        .build()
}

fn item(el: &Element) -> Result<RosterItem, String> {
    let jid = el.attr("jid").unwrap_or_default();
    let mut item = RosterItem::new(
        BareJid::new(jid).map_err(|e| format!("roster item {jid:?}: not a bare JID ({e})"))?,
    );
    item.name = el.attr("name").map(str::to_owned);
    let subscription = el.attr("subscription").unwrap_or("none");
    item.subscription = Subscription::parse(subscription)
        .ok_or_else(|| format!("roster item {jid}: subscription {subscription:?}"))?;
    item.ask_out = el.attr("ask") == Some("subscribe");
    for group in el.children().filter(|c| c.is("group", NS)) {
        let group = group.text();
        if !item.groups.contains(&group) {
            item.groups.push(group);
        }
    }
    Ok(item)
}

/// The items of a roster `<query/>`, and the ones that cannot be imported with the reason.
pub fn from_query(query: &Element) -> (Vec<RosterItem>, Vec<String>) {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for el in query.children() {
        match el.is("item", NS).then(|| item(el)) {
            Some(Ok(item)) => items.push(item),
            Some(Err(why)) => skipped.push(why),
            None => skipped.push(format!("<{}/> in the roster is not an item", el.name())),
        }
    }
    (items, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut romeo = RosterItem::new(BareJid::new("romeo@montague.net").unwrap());
        romeo.name = Some("Romeo".into());
        romeo.subscription = Subscription::Both;
        romeo.groups = vec!["Friends".into(), "Verona".into()];
        let mut nurse = RosterItem::new(BareJid::new("nurse@capulet.com").unwrap());
        nurse.ask_out = true;
        let items = vec![romeo, nurse];
        assert_eq!(from_query(&to_query(&items)), (items, Vec::new()));

        let bad: Element =
            "<query xmlns='jabber:iq:roster'><item jid='a@b' subscription='remove'/>\
                            <item jid='@@'/><other/></query>"
                .parse()
                .unwrap();
        let (items, skipped) = from_query(&bad);
        assert!(items.is_empty());
        assert_eq!(skipped.len(), 3);
    }
}
