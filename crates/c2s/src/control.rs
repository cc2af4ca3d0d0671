//! jabberd2's session-control protocol between c2s and the sm (`sc:session`, namespace
//! `http://jabberd.jabberstudio.org/ns/session/1.0`): requests we send and replies we read.
//!
//! `action`, `target` and `id` are unqualified; `c2s`, `sm` and `failed` are in the session
//! namespace (jabberd2 `docs/dev/sm-c2s-protocol`, and the live capture in tests/jabberd2/).

use minidom::Element;
use rxml::xml_ncname;
use xml_stream::ns;

use crate::xml::{sc, set, set_sc};

/// A session-control action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Started,
    End,
    Ended,
    Create,
    Created,
    Delete,
    Deleted,
    Replaced,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Started => "started",
            Action::End => "end",
            Action::Ended => "ended",
            Action::Create => "create",
            Action::Created => "created",
            Action::Delete => "delete",
            Action::Deleted => "deleted",
            Action::Replaced => "replaced",
        }
    }

    fn from_name(name: &str) -> Option<Action> {
        Some(match name {
            "start" => Action::Start,
            "started" => Action::Started,
            "end" => Action::End,
            "ended" => Action::Ended,
            "create" => Action::Create,
            "created" => Action::Created,
            "delete" => Action::Delete,
            "deleted" => Action::Deleted,
            "replaced" => Action::Replaced,
            _ => return None,
        })
    }
}

/// A request from c2s: `c2s` is our connection id, `sm` the sm's session id once known.
pub fn request(
    action: Action,
    c2s: &str,
    sm: Option<&str>,
    target: Option<&str>,
    id: Option<&str>,
) -> Element {
    let mut el = Element::bare("session", ns::SESSION);
    set(&mut el, xml_ncname!("action"), action.as_str());
    set_sc(&mut el, xml_ncname!("c2s"), c2s);
    if let Some(sm) = sm {
        set_sc(&mut el, xml_ncname!("sm"), sm);
    }
    if let Some(target) = target {
        set(&mut el, xml_ncname!("target"), target);
    }
    if let Some(id) = id {
        set(&mut el, xml_ncname!("id"), id);
    }
    el
}

/// A session-control packet read from the sm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub action: Action,
    pub id: Option<String>,
    pub sm: Option<String>,
    /// `sc:failed` was set: the request it echoes did not succeed.
    pub failed: bool,
}

/// Reads `el` as session control, or `None` if it is a stanza (or an unknown action).
pub fn parse(el: &Element) -> Option<Reply> {
    if !el.is("session", ns::SESSION) {
        return None;
    }
    Some(Reply {
        action: Action::from_name(el.attr("action")?)?,
        id: el.attr("id").map(str::to_owned),
        sm: sc(el, "sm").map(str::to_owned),
        failed: sc(el, "failed").is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips_and_keeps_the_sc_prefix() {
        let el = request(Action::Start, "7", None, Some("a@b/c"), Some("x1"));
        let bytes = xml_stream::writer::stanza_bytes(&el, None);
        let text = std::str::from_utf8(&bytes).expect("utf-8");
        assert!(text
            .starts_with("<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0'"));
        assert!(text.contains("sc:c2s='7'"), "{text}");
        let echoed: Element = text.parse().expect("parses");
        assert_eq!(sc(&echoed, "c2s"), Some("7"));
    }

    #[test]
    fn parses_jabberd2_replies() {
        let el: Element = "<sm:session xmlns:sm='http://jabberd.jabberstudio.org/ns/session/1.0' sm:c2s='7' sm:sm='abc' action='started' id='x1' target='a@b/c'/>"
            .parse()
            .expect("parses");
        let reply = parse(&el).expect("control");
        assert_eq!(reply.action, Action::Started);
        assert_eq!(reply.sm.as_deref(), Some("abc"));
        assert!(!reply.failed);
        let el: Element = "<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' sc:c2s='7' sc:failed='1' action='create' id='x2'/>"
            .parse()
            .expect("parses");
        assert!(parse(&el).expect("control").failed);
        let msg: Element = "<message xmlns='jabber:client'/>".parse().expect("parses");
        assert_eq!(parse(&msg), None);
    }
}
