//! Bounced routes and stanza errors.
//!
//! jabberd2 marks a bounced route with an HTTP-like code in its `error` attribute. Components
//! that receive a bounce turn it into an RFC 6120 stanza error for the original sender; the same
//! table runs the other way when a router filter denies with a named condition.

use minidom::Element;
use rxml::xml_ncname;
use xml_stream::ns;

/// A stanza error condition with the jabberd2 code and the RFC 6120 §8.3.2 error type.
struct Condition {
    name: &'static str,
    code: &'static str,
    kind: &'static str,
}

const CONDITIONS: &[Condition] = &[
    Condition {
        name: "bad-request",
        code: "400",
        kind: "modify",
    },
    Condition {
        name: "conflict",
        code: "409",
        kind: "cancel",
    },
    Condition {
        name: "feature-not-implemented",
        code: "501",
        kind: "cancel",
    },
    Condition {
        name: "forbidden",
        code: "403",
        kind: "auth",
    },
    Condition {
        name: "gone",
        code: "302",
        kind: "cancel",
    },
    Condition {
        name: "internal-server-error",
        code: "500",
        kind: "wait",
    },
    Condition {
        name: "item-not-found",
        code: "404",
        kind: "cancel",
    },
    Condition {
        name: "jid-malformed",
        code: "400",
        kind: "modify",
    },
    Condition {
        name: "not-acceptable",
        code: "406",
        kind: "modify",
    },
    Condition {
        name: "not-allowed",
        code: "405",
        kind: "cancel",
    },
    Condition {
        name: "not-authorized",
        code: "401",
        kind: "auth",
    },
    Condition {
        name: "policy-violation",
        code: "405",
        kind: "modify",
    },
    Condition {
        name: "recipient-unavailable",
        code: "404",
        kind: "wait",
    },
    Condition {
        name: "redirect",
        code: "302",
        kind: "modify",
    },
    Condition {
        name: "registration-required",
        code: "407",
        kind: "auth",
    },
    Condition {
        name: "remote-server-not-found",
        code: "404",
        kind: "cancel",
    },
    Condition {
        name: "remote-server-timeout",
        code: "504",
        kind: "wait",
    },
    Condition {
        name: "resource-constraint",
        code: "500",
        kind: "wait",
    },
    Condition {
        name: "service-unavailable",
        code: "503",
        kind: "cancel",
    },
    Condition {
        name: "subscription-required",
        code: "407",
        kind: "auth",
    },
    Condition {
        name: "undefined-condition",
        code: "500",
        kind: "cancel",
    },
    Condition {
        name: "unexpected-request",
        code: "400",
        kind: "wait",
    },
];

/// Whether `name` is an RFC 6120 stanza error condition.
pub fn is_condition(name: &str) -> bool {
    CONDITIONS.iter().any(|c| c.name == name)
}

/// The code a route bounced for `condition` carries.
pub fn code_for(condition: &str) -> &'static str {
    CONDITIONS
        .iter()
        .find(|c| c.name == condition)
        .map_or("503", |c| c.code)
}

/// The stanza error condition a bounce code stands for.
///
/// `401` from a router means the sender used a `from` it had not bound, and `404` that nothing
/// serves the destination domain; the rest follow jabberd2's table (first entry with the code).
pub fn condition_for(code: &str) -> &'static str {
    match code {
        "401" => "not-authorized",
        "404" => "remote-server-not-found",
        _ => CONDITIONS
            .iter()
            .find(|c| c.code == code)
            .map_or("service-unavailable", |c| c.name),
    }
}

/// Turns `stanza` into the error reply RFC 6120 §8.3 describes: addresses swapped, `type='error'`,
/// and an `<error/>` with `condition`. Returns `None` for stanzas that must not be answered with
/// an error: errors themselves (no loops) and IQ results (RFC 6120 §8.2.3).
pub fn stanza_error(mut stanza: Element, condition: &str) -> Option<Element> {
    match (stanza.name(), stanza.attr("type")) {
        (_, Some("error")) | ("iq", Some("result")) => return None,
        _ => {}
    }
    let kind = CONDITIONS
        .iter()
        .find(|c| c.name == condition)
        .map_or("cancel", |c| c.kind);
    let stanza_ns = stanza.ns();
    let to = stanza.attr("to").map(str::to_owned);
    let from = stanza.attr("from").map(str::to_owned);
    let attrs = stanza.attrs_mut();
    attrs.remove(rxml::Namespace::none(), xml_ncname!("to"));
    attrs.remove(rxml::Namespace::none(), xml_ncname!("from"));
    attrs.remove(rxml::Namespace::none(), xml_ncname!("type"));
    if let Some(from) = from {
        attrs.insert(rxml::Namespace::NONE, xml_ncname!("to").to_owned(), from);
    }
    if let Some(to) = to {
        attrs.insert(rxml::Namespace::NONE, xml_ncname!("from").to_owned(), to);
    }
    attrs.insert(
        rxml::Namespace::NONE,
        xml_ncname!("type").to_owned(),
        "error".to_owned(),
    );
    let mut error = Element::bare("error", stanza_ns);
    error.attrs_mut().insert(
        rxml::Namespace::NONE,
        xml_ncname!("type").to_owned(),
        kind.to_owned(),
    );
    error.append_child(Element::bare(condition, ns::STANZA_ERRORS));
    // An IQ error carries at most the original request's payload; keep messages and presences
    // whole so the sender can tell which one failed.
    if stanza.name() == "iq" {
        let first = stanza.unshift_child();
        stanza.take_nodes();
        if let Some(first) = first {
            stanza.append_child(first);
        }
    }
    stanza.append_child(error);
    Some(stanza)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_conditions() {
        assert_eq!(code_for("not-allowed"), "405");
        assert_eq!(condition_for("405"), "not-allowed");
        assert_eq!(condition_for("400"), "bad-request");
        assert_eq!(condition_for("401"), "not-authorized");
        assert_eq!(condition_for("404"), "remote-server-not-found");
        assert_eq!(condition_for("999"), "service-unavailable");
        assert!(is_condition("item-not-found") && !is_condition("nope"));
    }

    #[test]
    fn error_reply_swaps_addresses() {
        let msg: Element =
            "<message xmlns='jabber:client' to='b@x' from='a@y/r' id='1'><body>hi</body></message>"
                .parse()
                .expect("parses");
        let reply = stanza_error(msg, "not-allowed").expect("a reply");
        assert_eq!(reply.attr("to"), Some("a@y/r"));
        assert_eq!(reply.attr("from"), Some("b@x"));
        assert_eq!(reply.attr("type"), Some("error"));
        assert_eq!(reply.attr("id"), Some("1"));
        let error = reply.get_child("error", ns::CLIENT).expect("error child");
        assert_eq!(error.attr("type"), Some("cancel"));
        assert!(error.has_child("not-allowed", ns::STANZA_ERRORS));
    }

    #[test]
    fn errors_are_not_answered() {
        let msg: Element = "<message xmlns='jabber:client' type='error'/>"
            .parse()
            .expect("parses");
        assert!(stanza_error(msg, "not-allowed").is_none());
    }

    #[test]
    fn iq_results_are_not_answered() {
        let iq: Element = "<iq xmlns='jabber:client' type='result' id='1' to='a@b'/>"
            .parse()
            .expect("parses");
        assert!(stanza_error(iq, "service-unavailable").is_none());
        let msg: Element = "<message xmlns='jabber:client' type='result' to='a@b'/>"
            .parse()
            .expect("parses");
        assert!(stanza_error(msg, "service-unavailable").is_some());
    }
}
