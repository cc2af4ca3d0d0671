//! XEP-0016 §2.1–2.2 as a pure function: the verdict of a privacy list on a stanza between the
//! user and another party, from the list, the other party's address and the user's roster item
//! for it. Items are in processing order (ascending `order`); the first item that governs the
//! kind of stanza and matches the other party decides, and a list with no such item allows.

use jid::{BareJid, Jid};
use minidom::Element;
use storage::{PrivacyItem, PrivacyMatch, RosterItem, Subscription};

use crate::stanza::{self, Kind};

/// What a stanza is to a list: one of the four kinds an item may name (§2.1), or something only
/// an item naming none of them governs (outbound messages and IQs, subscription requests and
/// answers, probes, presence errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    Message,
    Iq,
    PresenceIn,
    PresenceOut,
    Other,
}

impl Traffic {
    /// A stanza coming to the user.
    pub fn inbound(st: &Element) -> Traffic {
        match stanza::kind(st) {
            Some(Kind::Message) => Traffic::Message,
            Some(Kind::Iq) => Traffic::Iq,
            Some(Kind::Presence) if notification(st) => Traffic::PresenceIn,
            _ => Traffic::Other,
        }
    }

    /// A stanza the user sends, or the server sends on the user's behalf.
    pub fn outbound(st: &Element) -> Traffic {
        if stanza::kind(st) == Some(Kind::Presence) && notification(st) {
            Traffic::PresenceOut
        } else {
            Traffic::Other
        }
    }
}

/// §2: presence notifications are presence without a type or of type `unavailable`.
fn notification(st: &Element) -> bool {
    matches!(stanza::typ(st), "" | "unavailable")
}

/// What a list makes of a stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
    /// Denied by a blocklist item: XEP-0191 §3.3 names the reason in outbound errors.
    Block,
}

/// The verdict of `items` on `traffic` with `other`, whose roster item is `roster` (`None`: not
/// in the user's roster). Rule 7: when no item decides, the stanza is allowed.
pub fn verdict(
    items: &[PrivacyItem],
    other: &Jid,
    roster: Option<&RosterItem>,
    traffic: Traffic,
) -> Verdict {
    let decisive = items
        .iter()
        .find(|item| governs(item, traffic) && matches(&item.matches, other, roster));
    match decisive {
        None => Verdict::Allow,
        Some(item) if item.allow => Verdict::Allow,
        Some(item) if blocked_jid(item).is_some() => Verdict::Block,
        Some(_) => Verdict::Deny,
    }
}

/// Whether an item governs `traffic`: one naming no kind of stanza governs them all, both ways.
fn governs(item: &PrivacyItem, traffic: Traffic) -> bool {
    let s = &item.stanzas;
    s.all()
        || match traffic {
            Traffic::Message => s.message,
            Traffic::Iq => s.iq,
            Traffic::PresenceIn => s.presence_in,
            Traffic::PresenceOut => s.presence_out,
            Traffic::Other => false,
        }
}

fn matches(what: &PrivacyMatch, other: &Jid, roster: Option<&RosterItem>) -> bool {
    match what {
        PrivacyMatch::Everyone => true,
        PrivacyMatch::Jid(value) => jid_matches(value, other),
        PrivacyMatch::Group(group) => roster.is_some_and(|r| r.groups.contains(group)),
        // "none" includes entities not in the roster at all.
        PrivacyMatch::Subscription(s) => {
            roster.map_or(Subscription::None, |r| r.subscription) == *s
        }
    }
}

/// §2.1's JID forms: `user@domain/resource` only that resource; `user@domain` any resource;
/// `domain/resource` only that resource; `domain` the domain itself, anything at it, and any
/// address at a subdomain of it.
fn jid_matches(value: &Jid, other: &Jid) -> bool {
    let node = |j: &Jid| j.node().map(|n| n.as_str().to_owned());
    let resource = |j: &Jid| j.resource().map(|r| r.as_str().to_owned());
    let domain = value.domain().as_str();
    let same_domain = other.domain().as_str() == domain;
    match (value.node(), value.resource()) {
        (Some(_), Some(_)) => value == other,
        (Some(_), None) => same_domain && node(value) == node(other),
        (None, Some(_)) => {
            same_domain && other.node().is_none() && resource(value) == resource(other)
        }
        (None, None) => same_domain || is_subdomain(other.domain().as_str(), domain),
    }
}

fn is_subdomain(candidate: &str, domain: &str) -> bool {
    candidate
        .strip_suffix(domain)
        .is_some_and(|head| head.ends_with('.'))
}

/// Whether the list needs the user's roster to judge (it names groups or subscriptions).
pub fn needs_roster(items: &[PrivacyItem]) -> bool {
    items.iter().any(|item| {
        matches!(
            item.matches,
            PrivacyMatch::Group(_) | PrivacyMatch::Subscription(_)
        )
    })
}

/// XEP-0191 §5: the JID a blocklist item blocks; a blocklist item is a `jid` item that denies
/// every stanza.
pub fn blocked_jid(item: &PrivacyItem) -> Option<&Jid> {
    match &item.matches {
        PrivacyMatch::Jid(jid) if !item.allow && item.stanzas.all() => Some(jid),
        _ => None,
    }
}

/// The JIDs the blocklist items of `items` block, in order.
pub fn blocked(items: &[PrivacyItem]) -> Vec<Jid> {
    items.iter().filter_map(blocked_jid).cloned().collect()
}

/// Stanzas between the user's own resources (XEP-0016 §2.1: never blocked, whatever the list)
/// and between the user and the user's own server are not judged by lists.
pub fn exempt(user: &BareJid, other: &Jid) -> bool {
    other.to_bare() == *user || (other.node().is_none() && other.domain() == user.domain())
}

#[cfg(test)]
mod tests {
    use storage::PrivacyStanzas;

    use super::*;

    fn jid(s: &str) -> Jid {
        Jid::new(s).expect("a JID")
    }

    fn item(order: u32, matches: PrivacyMatch, allow: bool) -> PrivacyItem {
        PrivacyItem {
            order,
            matches,
            allow,
            stanzas: PrivacyStanzas::default(),
        }
    }

    fn only(mut item: PrivacyItem, stanzas: PrivacyStanzas) -> PrivacyItem {
        item.stanzas = stanzas;
        item
    }

    fn contact(s: &str, sub: Subscription, groups: &[&str]) -> RosterItem {
        let mut r = RosterItem::new(BareJid::new(s).expect("a bare JID"));
        r.subscription = sub;
        r.groups = groups.iter().map(|g| g.to_string()).collect();
        r
    }

    const ALL: [Traffic; 5] = [
        Traffic::Message,
        Traffic::Iq,
        Traffic::PresenceIn,
        Traffic::PresenceOut,
        Traffic::Other,
    ];

    #[test]
    fn jids_match_by_the_four_forms() {
        let full = jid("tybalt@example.com/pda");
        let cases = [
            (
                "tybalt@example.com/pda",
                vec!["tybalt@example.com/pda"],
                vec!["tybalt@example.com/pc", "tybalt@example.com"],
            ),
            (
                "tybalt@example.com",
                vec!["tybalt@example.com/pda", "tybalt@example.com"],
                vec!["mercutio@example.com", "example.com"],
            ),
            (
                "example.com/admin",
                vec!["example.com/admin"],
                vec![
                    "example.com",
                    "tybalt@example.com/admin",
                    "example.com/other",
                ],
            ),
            (
                "example.com",
                vec![
                    "example.com",
                    "tybalt@example.com/pda",
                    "example.com/x",
                    "muc.example.com",
                    "a@chat.example.com/r",
                ],
                vec!["example.org", "notexample.com", "tybalt@example.org"],
            ),
        ];
        for (value, hits, misses) in cases {
            let list = [item(1, PrivacyMatch::Jid(jid(value)), false)];
            for hit in hits {
                assert_ne!(
                    verdict(&list, &jid(hit), None, Traffic::Message),
                    Verdict::Allow,
                    "{value} vs {hit}"
                );
            }
            for miss in misses {
                assert_eq!(
                    verdict(&list, &jid(miss), None, Traffic::Message),
                    Verdict::Allow,
                    "{value} vs {miss}"
                );
            }
        }
        // Case and other normalisation come from the jid crate.
        let list = [item(1, PrivacyMatch::Jid(jid("Tybalt@Example.COM")), false)];
        assert_ne!(verdict(&list, &full, None, Traffic::Iq), Verdict::Allow);
    }

    #[test]
    fn the_first_item_in_order_decides_and_the_rest_allow() {
        let tybalt = jid("tybalt@example.com/pda");
        let list = [
            item(3, PrivacyMatch::Jid(jid("tybalt@example.com")), true),
            item(5, PrivacyMatch::Jid(jid("example.com")), false),
        ];
        assert_eq!(
            verdict(&list, &tybalt, None, Traffic::Message),
            Verdict::Allow
        );
        // A jid item denying everything is a blocklist item, which says so.
        assert_eq!(
            verdict(&list, &jid("paris@example.com"), None, Traffic::Message),
            Verdict::Block
        );
        // Rule 7: no fall-through item means allow.
        assert_eq!(
            verdict(&list, &jid("romeo@example.net"), None, Traffic::Message),
            Verdict::Allow
        );
        assert_eq!(verdict(&[], &tybalt, None, Traffic::Other), Verdict::Allow);
        let fall_through = [item(68, PrivacyMatch::Everyone, false)];
        for traffic in ALL {
            assert_eq!(
                verdict(&fall_through, &tybalt, None, traffic),
                Verdict::Deny
            );
        }
    }

    #[test]
    fn items_naming_kinds_govern_only_those() {
        let tybalt = jid("tybalt@example.com");
        let messages = PrivacyStanzas {
            message: true,
            ..PrivacyStanzas::default()
        };
        let presence_out = PrivacyStanzas {
            presence_out: true,
            ..PrivacyStanzas::default()
        };
        let list = [
            only(item(1, PrivacyMatch::Jid(tybalt.clone()), false), messages),
            only(item(2, PrivacyMatch::Everyone, false), presence_out),
        ];
        assert_eq!(
            verdict(&list, &tybalt, None, Traffic::Message),
            Verdict::Deny
        );
        assert_eq!(
            verdict(&list, &tybalt, None, Traffic::PresenceOut),
            Verdict::Deny
        );
        for traffic in [Traffic::Iq, Traffic::PresenceIn, Traffic::Other] {
            assert_eq!(
                verdict(&list, &tybalt, None, traffic),
                Verdict::Allow,
                "{traffic:?}"
            );
        }
        // A kind-specific allow does not stop a later item from deciding other kinds.
        let list = [
            only(item(1, PrivacyMatch::Jid(tybalt.clone()), true), messages),
            item(2, PrivacyMatch::Jid(tybalt.clone()), false),
        ];
        assert_eq!(
            verdict(&list, &tybalt, None, Traffic::Message),
            Verdict::Allow
        );
        assert_eq!(verdict(&list, &tybalt, None, Traffic::Iq), Verdict::Block);
    }

    #[test]
    fn groups_and_subscriptions_come_from_the_roster() {
        let list = [
            item(1, PrivacyMatch::Group("Enemies".into()), false),
            item(2, PrivacyMatch::Subscription(Subscription::Both), true),
            item(3, PrivacyMatch::Subscription(Subscription::None), false),
        ];
        let tybalt = contact(
            "tybalt@example.com",
            Subscription::Both,
            &["Friends", "Enemies"],
        );
        let juliet = contact("juliet@example.com", Subscription::Both, &["Friends"]);
        let nurse = contact("nurse@example.com", Subscription::None, &[]);
        let paris = contact("paris@example.com", Subscription::To, &[]);
        let other = |c: &RosterItem| Jid::from(c.jid.clone());
        assert_eq!(
            verdict(&list, &other(&tybalt), Some(&tybalt), Traffic::Iq),
            Verdict::Deny
        );
        assert_eq!(
            verdict(&list, &other(&juliet), Some(&juliet), Traffic::Iq),
            Verdict::Allow
        );
        assert_eq!(
            verdict(&list, &other(&nurse), Some(&nurse), Traffic::Iq),
            Verdict::Deny
        );
        assert_eq!(
            verdict(&list, &other(&paris), Some(&paris), Traffic::Iq),
            Verdict::Allow
        );
        // Someone not in the roster at all has subscription none.
        assert_eq!(
            verdict(&list, &jid("stranger@example.org"), None, Traffic::Iq),
            Verdict::Deny
        );
        assert!(needs_roster(&list));
        assert!(!needs_roster(&[item(1, PrivacyMatch::Everyone, false)]));
    }

    #[test]
    fn blocklist_items_deny_one_jid_everything() {
        let romeo = jid("romeo@example.net");
        let presence_in = PrivacyStanzas {
            presence_in: true,
            ..PrivacyStanzas::default()
        };
        let list = [
            item(1, PrivacyMatch::Jid(romeo.clone()), false),
            only(
                item(2, PrivacyMatch::Jid(jid("iago@example.net")), false),
                presence_in,
            ),
            item(3, PrivacyMatch::Jid(jid("nurse@example.net")), true),
            item(4, PrivacyMatch::Group("G".into()), false),
            item(5, PrivacyMatch::Jid(jid("example.org")), false),
        ];
        assert_eq!(blocked(&list), vec![romeo.clone(), jid("example.org")]);
        for traffic in ALL {
            assert_eq!(verdict(&list, &romeo, None, traffic), Verdict::Block);
        }
        assert_eq!(
            verdict(&list, &jid("iago@example.net"), None, Traffic::PresenceIn),
            Verdict::Deny
        );
    }

    #[test]
    fn traffic_kinds_of_stanzas() {
        let st = |xml: &str| -> Element { xml.parse().expect("parses") };
        let c = "xmlns='jabber:client'";
        assert_eq!(
            Traffic::inbound(&st(&format!("<message {c}/>"))),
            Traffic::Message
        );
        assert_eq!(
            Traffic::inbound(&st(&format!("<iq {c} type='result'/>"))),
            Traffic::Iq
        );
        assert_eq!(
            Traffic::inbound(&st(&format!("<presence {c}/>"))),
            Traffic::PresenceIn
        );
        assert_eq!(
            Traffic::inbound(&st(&format!("<presence {c} type='unavailable'/>"))),
            Traffic::PresenceIn
        );
        for typ in [
            "subscribe",
            "subscribed",
            "unsubscribe",
            "unsubscribed",
            "probe",
            "error",
        ] {
            let p = st(&format!("<presence {c} type='{typ}'/>"));
            assert_eq!(Traffic::inbound(&p), Traffic::Other);
            assert_eq!(Traffic::outbound(&p), Traffic::Other);
        }
        assert_eq!(
            Traffic::outbound(&st(&format!("<presence {c}/>"))),
            Traffic::PresenceOut
        );
        assert_eq!(
            Traffic::outbound(&st(&format!("<message {c}/>"))),
            Traffic::Other
        );
        assert_eq!(
            Traffic::outbound(&st(&format!("<iq {c} type='get'/>"))),
            Traffic::Other
        );
    }

    #[test]
    fn own_resources_and_own_server_are_exempt() {
        let user = BareJid::new("romeo@example.net").expect("a bare JID");
        for own in [
            "romeo@example.net",
            "romeo@example.net/orchard",
            "example.net",
            "example.net/announce",
        ] {
            assert!(exempt(&user, &jid(own)), "{own}");
        }
        for other in [
            "juliet@example.net",
            "example.com",
            "muc.example.net",
            "romeo@example.com",
        ] {
            assert!(!exempt(&user, &jid(other)), "{other}");
        }
    }
}
