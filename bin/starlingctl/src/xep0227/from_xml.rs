//! An XEP-0227 `<user/>` as [`UserData`], reporting what Starling cannot keep (XEP-0227 §4:
//! unknown data is ignored and the operator told).

use std::time::SystemTime;

use jid::BareJid;
use minidom::Element;
use sm::modules::{privacy_items, private, roster as roster_ns, vcard};
use sm::privacy::PRIVACY_NS;
use sm::stanza::{self, Kind as StanzaKind};
use storage::{LastLogout, PrivacyList};

use super::{is_pie, roster, scram, SCRAM_NS, STARLING};
use crate::user_data::report::{Kind, Report};
use crate::user_data::{stamp, Secret, UserData};

/// Reports what is not imported for one user.
struct Problems<'a> {
    report: &'a mut Report,
    domain: &'a str,
    user: String,
}

impl Problems<'_> {
    fn add(&mut self, kind: Kind, why: impl std::fmt::Display) {
        self.report
            .not_imported(self.domain, kind, format_args!("{}: {why}", self.user));
    }
}

/// The secret of the `<user/>`: its `password` attribute, else its usable SCRAM records.
fn secret(user: &Element, children: &[Element], problems: &mut Problems) -> Secret {
    if let Some(password) = user.attr("password").filter(|p| !p.is_empty()) {
        return Secret::Password(password.to_owned());
    }
    let mut records = Vec::new();
    for el in children
        .iter()
        .filter(|c| c.is("scram-credentials", SCRAM_NS))
    {
        match scram::from_element(el) {
            Ok(record) => records.push(record),
            Err(why) => problems.add(Kind::Credentials, format_args!("scram-credentials: {why}")),
        }
    }
    if records.is_empty() {
        return Secret::Missing("the file has no password or usable SCRAM credentials".to_owned());
    }
    Secret::Scram(records)
}

/// `(namespace, query as XML text)` per namespace of a private XML `<query/>`, in the order the
/// namespaces first appear.
fn private_by_namespace(query: &Element) -> Vec<(String, String)> {
    let mut groups: Vec<(String, Vec<Element>)> = Vec::new();
    for el in query.children() {
        let ns = el.ns();
        match groups.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, elements)) => elements.push(el.clone()),
            None => groups.push((ns, vec![el.clone()])),
        }
    }
    groups
        .into_iter()
        .map(|(ns, elements)| {
            let query = Element::builder("query", private::NS)
                .append_all(elements)
                .build();
            (ns, stanza::to_text(&query))
        })
        .collect()
}

/// The lists and the default of a privacy `<query/>` (§4.8). A list the XEP-0016 rules reject is
/// not imported at all.
fn read_privacy(query: &Element, data: &mut UserData, problems: &mut Problems) {
    for el in query.children() {
        let name = el.attr("name").unwrap_or_default().to_owned();
        if el.is("default", PRIVACY_NS) && !name.is_empty() {
            data.default_privacy = Some(name);
        } else if el.is("list", PRIVACY_NS) && !name.is_empty() {
            match privacy_items::parse(el) {
                Ok(mut items) => {
                    items.sort_by_key(|item| item.order);
                    data.privacy.push(PrivacyList { name, items });
                }
                Err(condition) => problems.add(
                    Kind::PrivacyList,
                    format_args!("privacy list {name:?}: not a valid list ({condition})"),
                ),
            }
        } else {
            problems.add(
                Kind::Other,
                format_args!(
                    "<{}/> in the privacy lists: not understood, ignored",
                    el.name()
                ),
            );
        }
    }
}

/// Reads one child of the `<user/>` into `data`.
fn read_child(el: &Element, data: &mut UserData, now: SystemTime, problems: &mut Problems) {
    if el.is("scram-credentials", SCRAM_NS) {
        // Read with the secret.
    } else if el.is("query", roster_ns::NS) {
        let (items, skipped) = roster::from_query(el);
        data.roster.extend(items);
        for why in skipped {
            problems.add(Kind::RosterItem, why);
        }
    } else if stanza::kind(el) == Some(StanzaKind::Presence) && stanza::typ(el) == "subscribe" {
        match stanza::from(el) {
            Ok(Some(from)) => {
                let from = from.to_bare();
                if !data.requests.iter().any(|(f, _)| *f == from) {
                    data.requests.push((from, stanza::to_text(el)));
                }
            }
            _ => problems.add(
                Kind::SubscriptionRequest,
                "a request without a valid sender",
            ),
        }
    } else if el.name() == "offline-messages" && is_pie(&el.ns()) {
        for message in el.children() {
            if stanza::kind(message) == Some(StanzaKind::Message) {
                let at = stamp::delay(message).unwrap_or(now);
                data.offline.push((stanza::to_text(message), at));
            } else {
                problems.add(
                    Kind::OfflineMessage,
                    format_args!("<{}/> is not a message", message.name()),
                );
            }
        }
    } else if el.is("vCard", vcard::NS) {
        data.vcard = Some(stanza::to_text(el));
    } else if el.is("query", private::NS) {
        data.private.extend(private_by_namespace(el));
    } else if el.is("last-logout", STARLING) {
        match el.attr("stamp").and_then(stamp::parse) {
            Some(at) => {
                data.last_logout = Some(LastLogout {
                    at,
                    status: el.text(),
                })
            }
            None => problems.add(Kind::LastLogout, "last-logout without a valid stamp"),
        }
    } else if el.is("query", PRIVACY_NS) {
        read_privacy(el, data, problems);
    } else {
        problems.add(
            Kind::Other,
            format_args!(
                "<{} xmlns='{}'/>: not understood, ignored",
                el.name(),
                el.ns()
            ),
        );
    }
}

/// The `<user/>` of `domain` with its (XInclude-expanded) `children`; `None` (reported) when
/// its name does not make a user address.
pub fn user_data(
    user: &Element,
    children: &[Element],
    domain: &str,
    now: SystemTime,
    report: &mut Report,
) -> Option<UserData> {
    let name = user.attr("name").unwrap_or_default();
    // A name with '@' or '/' would make an address at another domain, or with a resource.
    let parsed = (!name.contains(['@', '/'])).then(|| BareJid::new(&format!("{name}@{domain}")));
    let jid = match parsed {
        Some(Ok(jid)) if jid.node().is_some() => jid,
        _ => {
            report.not_imported(
                domain,
                Kind::Account,
                format_args!("user {name:?}: not a valid user name: its data was not imported"),
            );
            return None;
        }
    };
    let mut problems = Problems {
        report,
        domain,
        user: jid.to_string(),
    };
    let secret = secret(user, children, &mut problems);
    let mut data = UserData::new(jid, secret);
    for el in children {
        read_child(el, &mut data, now, &mut problems);
    }
    data.mark_pending_in();
    Some(data)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    const USER: &str = "<user xmlns='urn:xmpp:pie:0' name='juliet' password='s3crEt'>\
        <query xmlns='jabber:iq:roster'><item jid='romeo@montague.net' name='Romeo' \
        subscription='both'><group>Friends</group></item></query>\
        <presence xmlns='jabber:client' type='subscribe' from='romeo@montague.net/orchard'/>\
        <offline-messages><message xmlns='jabber:client' from='romeo@montague.net/orchard' \
        to='juliet@capulet.com/balcony' type='chat'><body>Neither</body><delay \
        xmlns='urn:xmpp:delay' from='capulet.com' stamp='1970-01-02T00:00:00Z'>Offline \
        Storage</delay></message><iq xmlns='jabber:client'/></offline-messages>\
        <vCard xmlns='vcard-temp'><FN>Juliet Capulet</FN></vCard>\
        <query xmlns='jabber:iq:private'><a xmlns='x'/><b xmlns='y'/><c xmlns='x'/></query>\
        <query xmlns='jabber:iq:privacy'><default name='ok'/><list name='public'><item \
        action='maybe' order='1'/></list><list name='ok'><item action='allow' order='2'/>\
        <item type='jid' value='tybalt@capulet.com' action='deny' order='1'><message/></item>\
        </list></query>\
        <pubsub xmlns='http://jabber.org/protocol/pubsub'/>\
        </user>";

    #[test]
    fn reads_every_section() {
        let user: Element = USER.parse().unwrap();
        let children: Vec<Element> = user.children().cloned().collect();
        let mut report = Report::default();
        let data = user_data(&user, &children, "capulet.com", UNIX_EPOCH, &mut report).unwrap();
        assert!(matches!(data.secret, Secret::Password(ref p) if p == "s3crEt"));
        assert_eq!(data.roster.len(), 1);
        assert!(data.roster[0].pending_in);
        assert_eq!(data.requests.len(), 1);
        assert_eq!(data.offline.len(), 1);
        assert_eq!(data.offline[0].1, UNIX_EPOCH + Duration::from_secs(86_400));
        assert!(data.vcard.is_some());
        assert_eq!(
            data.private,
            [
                (
                    "x".to_owned(),
                    "<query xmlns='jabber:iq:private'><a xmlns='x'/><c xmlns='x'/></query>"
                        .to_owned()
                ),
                (
                    "y".to_owned(),
                    "<query xmlns='jabber:iq:private'><b xmlns='y'/></query>".to_owned()
                )
            ]
        );
        assert_eq!(data.default_privacy.as_deref(), Some("ok"));
        assert_eq!(data.privacy.len(), 1);
        let orders: Vec<u32> = data.privacy[0].items.iter().map(|i| i.order).collect();
        assert_eq!(orders, [1, 2]);
        for kind in [Kind::OfflineMessage, Kind::PrivacyList, Kind::Other] {
            assert_eq!(
                report.counts("capulet.com", kind).not_imported,
                1,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn bad_names_and_missing_secrets() {
        let mut report = Report::default();
        for bad in [
            "<user xmlns='urn:xmpp:pie:0'/>",
            "<user xmlns='urn:xmpp:pie:0' name='a@b.test'/>",
        ] {
            let bad: Element = bad.parse().unwrap();
            assert!(user_data(&bad, &[], "capulet.com", UNIX_EPOCH, &mut report).is_none());
        }
        let locked: Element = "<user xmlns='urn:xmpp:pie:0' name='nurse'/>"
            .parse()
            .unwrap();
        let data = user_data(&locked, &[], "capulet.com", UNIX_EPOCH, &mut report).unwrap();
        assert!(matches!(data.secret, Secret::Missing(_)));
    }
}
