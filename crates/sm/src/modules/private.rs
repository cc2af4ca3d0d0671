//! XEP-0049 private XML storage, for the user alone, at the account's bare JID (IQs without `to`
//! reach it through `unaddressed`). What is stored per namespace is the `<query/>` of the last
//! set for it, returned as is by a get for that namespace; a get for a namespace with nothing
//! stored returns the query it asked with (§2.3). The errors of §2.3 and §3:
//! - a get or set from anyone but the user, or to a hosted domain: `forbidden` (the preferred of
//!   the two conditions §2.3 allows);
//! - a query without an element: `not-acceptable` (§2.3 "MUST"; its later "SHOULD" of a bad
//!   format yields to that);
//! - elements in more than one namespace: `bad-request` (a get names one namespace; a set or
//!   result holds elements "qualified by the same namespace", and the schema allows one);
//! - a reserved namespace (§2.3: `jabber:*`, `http://jabber.org/*`, `vcard-temp`, and here also
//!   the stream and stanza namespaces of RFC 6120): `not-acceptable`;
//! - a set that would take the user past `limits.max_private_bytes` over all namespaces:
//!   `not-acceptable`.

use jid::BareJid;
use minidom::Element;

use crate::chain::{done, pass, Flow, Module, Step};
use crate::core::Core;
use crate::modules::service::{answer, from_user, request_payload, stored, to_bare, Outcome};
use crate::stanza;

pub const NS: &str = "jabber:iq:private";

/// Namespaces no one may store private data in.
const RESERVED: &[&str] = &["vcard-temp"];
const RESERVED_PREFIXES: &[&str] = &[
    "jabber:",
    "http://jabber.org/",
    "http://etherx.jabber.org/",
    "urn:ietf:params:xml:ns:xmpp-",
];

pub struct Private;

fn query_of(iq: &Element) -> Option<&Element> {
    request_payload(iq, "query", NS)
}

fn reserved(ns: &str) -> bool {
    RESERVED.contains(&ns) || RESERVED_PREFIXES.iter().any(|p| ns.starts_with(p))
}

/// The one namespace of the elements in `query`, or the error condition (see the module docs).
fn namespace_of(query: &Element) -> Result<String, &'static str> {
    let mut elements = query.children();
    let ns = elements.next().ok_or("not-acceptable")?.ns();
    if elements.any(|el| el.ns() != ns) {
        return Err("bad-request");
    }
    if reserved(&ns) {
        return Err("not-acceptable");
    }
    Ok(ns)
}

/// A checked request: its namespace, and the query to store or the one a get asked with.
enum Request {
    Set(String, String),
    Get(String, Element),
}

/// `None` when `iq` is not a private XML request to `user`'s bare JID; else the request or the
/// error condition (see the module docs).
fn request(iq: &Element, user: &BareJid) -> Option<Result<Request, &'static str>> {
    let query = query_of(iq).filter(|_| to_bare(iq))?;
    if !from_user(iq, user) {
        return Some(Err("forbidden"));
    }
    Some(namespace_of(query).map(|ns| match stanza::typ(iq) {
        "set" => Request::Set(ns, stanza::to_text(query)),
        _ => Request::Get(ns, query.clone()),
    }))
}

async fn outcome(core: &Core, user: &BareJid, request: Result<Request, &'static str>) -> Outcome {
    match request {
        Err(condition) => Ok(Err(condition)),
        Ok(Request::Set(ns, xml)) => {
            let quota = core.limits.max_private_bytes;
            match core.storage.set_private(user, &ns, xml, quota).await? {
                true => Ok(Ok(None)),
                false => Ok(Err("not-acceptable")),
            }
        }
        Ok(Request::Get(ns, query)) => {
            let data = match core.storage.private(user, &ns).await? {
                Some(xml) => stored(&xml)?,
                None => query,
            };
            Ok(Ok(Some(data)))
        }
    }
}

impl Module for Private {
    fn name(&self) -> &'static str {
        "private"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        let Some(request) = request(&st, user) else {
            return pass(st);
        };
        Box::pin(async move {
            let outcome = outcome(core, user, request).await;
            answer(core, st, outcome, "private");
            Flow::Done
        })
    }

    fn pkt_sm<'a>(&'a self, core: &'a mut Core, st: Element) -> Step<'a> {
        if query_of(&st).is_none() {
            return pass(st);
        }
        core.bounce(st, "forbidden");
        done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(xml: &str) -> Element {
        xml.parse().expect("parses")
    }

    #[test]
    fn the_namespace_is_that_of_every_element() {
        let q =
            query("<query xmlns='jabber:iq:private'><a xmlns='x:y'/>text<b xmlns='x:y'/></query>");
        assert_eq!(namespace_of(&q), Ok("x:y".to_owned()));
        let q = query("<query xmlns='jabber:iq:private'><a xmlns='x:y'/><b xmlns='x:z'/></query>");
        assert_eq!(namespace_of(&q), Err("bad-request"));
        let q = query("<query xmlns='jabber:iq:private'> </query>");
        assert_eq!(namespace_of(&q), Err("not-acceptable"));
    }

    #[test]
    fn reserved_namespaces_are_refused() {
        for ns in [
            "jabber:client",
            "jabber:server",
            "jabber:component:accept",
            "jabber:iq:roster",
            "http://jabber.org/protocol/disco#info",
            "http://etherx.jabber.org/streams",
            "urn:ietf:params:xml:ns:xmpp-stanzas",
            "vcard-temp",
        ] {
            let q = query(&format!(
                "<query xmlns='jabber:iq:private'><x xmlns='{ns}'/></query>"
            ));
            assert_eq!(namespace_of(&q), Err("not-acceptable"), "{ns}");
        }
        // An element without its own namespace is in jabber:iq:private itself.
        let q = query("<query xmlns='jabber:iq:private'><x/></query>");
        assert_eq!(namespace_of(&q), Err("not-acceptable"));
        for ns in ["storage:bookmarks", "exodus:prefs", "urn:xmpp:bookmarks:1"] {
            let q = query(&format!(
                "<query xmlns='jabber:iq:private'><x xmlns='{ns}'/></query>"
            ));
            assert_eq!(namespace_of(&q), Ok(ns.to_owned()));
        }
    }

    #[test]
    fn stored_data_reads_back_the_same() {
        let q = query(
            "<query xmlns='jabber:iq:private'><p:prefs xmlns:p='a:b' xmlns:q='c:d' q:k='v'><p:x>é &amp; &lt;</p:x></p:prefs></query>",
        );
        assert_eq!(stored(&stanza::to_text(&q)), Ok(q));
    }
}
