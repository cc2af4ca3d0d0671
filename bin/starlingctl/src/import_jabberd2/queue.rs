//! The offline queue (`queue`, mod_offline): the messages and subscription presences jabberd2
//! stored for a user who was offline, each stamped with an XEP-0203 delay (XEP-0091 before
//! jabberd2 2.2). Messages become Starling offline messages, stamped as the sm stamps them;
//! subscription requests become kept requests; the other subscription presences were only
//! notifications (their roster change is in `roster-items` already).

use std::time::{SystemTime, UNIX_EPOCH};

use jid::BareJid;
use minidom::Element;
use sm::stanza::{self, Kind};

use super::nad;
use crate::user_data::stamp;

/// XEP-0091 legacy delayed delivery.
const LEGACY_DELAY: &str = "jabber:x:delay";

/// One queued packet, converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// An offline message (XML text) and when it was stored.
    Message(String, SystemTime),
    /// A subscription request from the contact (the whole stanza).
    Request(BareJid, String),
    /// Not imported, for this reason.
    Skipped(String),
}

/// Converts one stored `queue` row of a user of `domain`; `now` stands in for a missing stamp.
pub fn convert(stored: &str, domain: &str, now: SystemTime) -> Queued {
    let packet = match nad::packet(stored) {
        Ok(packet) => packet,
        Err(why) => return Queued::Skipped(why),
    };
    match (stanza::kind(&packet), stanza::typ(&packet)) {
        (Some(Kind::Message), _) => message(packet, domain, now),
        (Some(Kind::Presence), "subscribe") => match stanza::from(&packet) {
            Ok(Some(from)) => Queued::Request(from.to_bare(), stanza::to_text(&packet)),
            _ => Queued::Skipped("a subscription request without a valid sender".to_owned()),
        },
        (Some(Kind::Presence), typ) => Queued::Skipped(format!(
            "a presence of type {typ:?}: a notification Starling does not keep (the roster \
             change it announced is in the roster)"
        )),
        _ => Queued::Skipped(format!(
            "a <{}/> is not a message or presence",
            packet.name()
        )),
    }
}

/// The message with an XEP-0203 delay (added from the legacy stamp, or `now`, when jabberd2
/// did not write one), and its time.
fn message(mut packet: Element, domain: &str, now: SystemTime) -> Queued {
    if let Some(at) = stamp::delay(&packet) {
        return Queued::Message(stanza::to_text(&packet), at);
    }
    let at = packet
        .get_child("x", LEGACY_DELAY)
        .and_then(|x| x.attr("stamp"))
        .and_then(stamp::parse_legacy)
        .unwrap_or(now);
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut delay = Element::bare("delay", stamp::DELAY);
    stanza::set_attr(&mut delay, "from", domain);
    stanza::set_attr(&mut delay, "stamp", sm::time::stamp(secs));
    packet.append_child(delay);
    Queued::Message(stanza::to_text(&packet), at)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ROUTE: &str = "NAD<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' \
                         from='sm' to='localhost'>";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn messages_keep_their_stamp() {
        let stored = format!(
            "{ROUTE}<message xmlns='jabber:client' from='bob@a.test/w' to='carol@a.test' \
             type='chat'><delay xmlns='urn:xmpp:delay' from='a.test' \
             stamp='2023-11-14T22:13:20Z'/><body>hi</body></message></route>"
        );
        let Queued::Message(xml, when) = convert(&stored, "a.test", at(0)) else {
            panic!("not a message");
        };
        assert_eq!(when, at(1_700_000_000));
        assert!(xml.starts_with("<message xmlns='jabber:client'"), "{xml}");
        assert_eq!(xml.matches("urn:xmpp:delay").count(), 1, "{xml}");
    }

    #[test]
    fn legacy_or_missing_stamps_get_a_delay() {
        let legacy = "NAD<message xmlns='jabber:client' to='c@a.test'><x xmlns='jabber:x:delay' \
                      stamp='20231114T22:13:20'/></message>";
        let Queued::Message(xml, when) = convert(legacy, "a.test", at(5)) else {
            panic!("not a message");
        };
        assert_eq!(when, at(1_700_000_000));
        assert!(xml.contains("stamp='2023-11-14T22:13:20Z'"), "{xml}");
        let bare = "NAD<message xmlns='jabber:client' to='c@a.test'/>";
        let Queued::Message(xml, when) = convert(bare, "a.test", at(0)) else {
            panic!("not a message");
        };
        assert_eq!(when, at(0));
        assert!(
            xml.contains("from='a.test'") && xml.contains("1970-01-01T00:00:00Z"),
            "{xml}"
        );
    }

    #[test]
    fn presences() {
        let request = format!(
            "{ROUTE}<presence xmlns='jabber:client' from='alice@a.test' to='carol@a.test' \
             type='subscribe'/></route>"
        );
        let Queued::Request(from, xml) = convert(&request, "a.test", at(0)) else {
            panic!("not a request");
        };
        assert_eq!(from, BareJid::new("alice@a.test").unwrap());
        assert!(xml.contains("type='subscribe'"));
        for other in [
            "NAD<presence xmlns='jabber:client' from='a@a.test' type='subscribed'/>",
            "NAD<presence xmlns='jabber:client' type='subscribe'/>",
            "NAD<iq xmlns='jabber:client' type='get'/>",
            "NAD<message",
        ] {
            assert!(
                matches!(convert(other, "a.test", at(0)), Queued::Skipped(_)),
                "{other}"
            );
        }
    }
}
