//! Vacation auto-reply, as jabberd2's mod_vacation, in its namespace
//! `http://jabber.org/protocol/vacation` (the XEP-0109 draft): `<query><start/><end/><message/></query>`.
//!
//! The settings are the user's alone, at the account's bare JID (IQs without `to` reach it
//! through `unaddressed`); anyone else gets `forbidden`:
//! - a get returns the settings, with `<start/>` and `<end/>` as XEP-0082 DateTimes (empty when
//!   open); with none set, an empty result, as jabberd2 answers;
//! - a set with all three elements stores them (an empty `<start/>` or `<end/>` leaves that side
//!   open; a date that is not an XEP-0082 DateTime is `bad-request`, a message over
//!   [`MAX_MESSAGE_BYTES`] `not-acceptable`); a set missing any of them clears the settings, as in
//!   jabberd2. Either starts a new vacation period.
//!
//! While the time is within `[start, end]`, a `normal` or `chat` message to the user, delivered
//! or stored offline, is answered from the user's bare JID with a message of the same type
//! carrying the configured text, once per sender (bare JID) and period. Like jabberd2, only
//! "real, human users" are answered, whose `from` has a localpart and a resource; never the user
//! themself, nor `error`, `groupchat` or `headline` messages. Privacy lists run first, so a
//! blocked sender is not answered. Unlike jabberd2 (which left it as future work), a sender is answered
//! once, and also while the user is online.

use std::time::{SystemTime, UNIX_EPOCH};

use jid::{BareJid, Jid};
use minidom::Element;
use storage::Vacation as Settings;

use crate::chain::{Flow, Module, Step};
use crate::core::Core;
use crate::modules::service::{answer, from_user, request_payload, to_bare, Outcome};
use crate::stanza::{self, Kind};
use crate::time;

pub const NS: &str = "http://jabber.org/protocol/vacation";

/// The longest reply text a user may set.
pub const MAX_MESSAGE_BYTES: usize = 4096;

pub struct Vacation;

fn query_of(iq: &Element) -> Option<&Element> {
    request_payload(iq, "query", NS)
}

/// What a set asks for: new settings, or (an element missing) clearing them.
#[derive(Debug, PartialEq)]
enum Set {
    Store(Settings),
    Clear,
}

fn bound(query: &Element, name: &str) -> Result<Option<Option<SystemTime>>, &'static str> {
    let Some(el) = query.get_child(name, NS) else {
        return Ok(None);
    };
    let text = el.text();
    let text = text.trim();
    if text.is_empty() {
        return Ok(Some(None));
    }
    time::parse(text)
        .map(|t| Some(Some(t)))
        .ok_or("bad-request")
}

/// The settings a set asks for, or the error condition.
fn set_request(query: &Element) -> Result<Set, &'static str> {
    let start = bound(query, "start")?;
    let end = bound(query, "end")?;
    let message = query.get_child("message", NS).map(Element::text);
    let (Some(start), Some(end), Some(message)) = (start, end, message) else {
        return Ok(Set::Clear);
    };
    if message.len() > MAX_MESSAGE_BYTES {
        return Err("not-acceptable");
    }
    Ok(Set::Store(Settings {
        start,
        end,
        message,
    }))
}

fn stamp_of(t: Option<SystemTime>) -> String {
    t.map(|t| time::stamp(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())))
        .unwrap_or_default()
}

fn settings_query(settings: &Settings) -> Element {
    let child = |name: &str, text: String| {
        let mut el = Element::bare(name, NS);
        if !text.is_empty() {
            el.append_text_node(text);
        }
        el
    };
    let mut query = Element::bare("query", NS);
    query.append_child(child("start", stamp_of(settings.start)));
    query.append_child(child("end", stamp_of(settings.end)));
    query.append_child(child("message", settings.message.clone()));
    query
}

async fn outcome(core: &Core, user: &BareJid, iq: &Element, query: &Element) -> Outcome {
    if !from_user(iq, user) {
        return Ok(Err("forbidden"));
    }
    if stanza::typ(iq) == "get" {
        return Ok(Ok(core
            .storage
            .vacation(user)
            .await?
            .as_ref()
            .map(settings_query)));
    }
    match set_request(query) {
        Err(condition) => Ok(Err(condition)),
        Ok(Set::Clear) => {
            core.storage.clear_vacation(user).await?;
            Ok(Ok(None))
        }
        Ok(Set::Store(settings)) => {
            core.storage.set_vacation(user, settings).await?;
            Ok(Ok(None))
        }
    }
}

/// The sender to answer for a message to `user`, if it is one to answer (see the module docs).
fn sender_to_answer(st: &Element, user: &BareJid) -> Option<Jid> {
    if stanza::kind(st) != Some(Kind::Message) || !matches!(stanza::typ(st), "" | "normal" | "chat")
    {
        return None;
    }
    let from = stanza::from(st).ok().flatten()?;
    let human = from.node().is_some() && from.resource().is_some();
    (human && from.to_bare() != *user).then_some(from)
}

/// Answers `sender` on `user`'s behalf when the user is on vacation and has not answered them
/// yet in this period.
async fn auto_reply(core: &mut Core, user: &BareJid, sender: Jid, typ: String) {
    let settings = match core.storage.vacation(user).await {
        Ok(Some(settings)) if settings.covers(SystemTime::now()) => settings,
        Ok(_) => return,
        Err(e) => {
            tracing::error!(%user, "vacation: {e}");
            return;
        }
    };
    match core
        .storage
        .note_vacation_reply(user, &sender.to_bare())
        .await
    {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::error!(%user, "vacation: recording the reply: {e}");
            return;
        }
    }
    let user_text = user.to_string();
    let sender_text = sender.to_string();
    let mut attrs = vec![("from", user_text.as_str()), ("to", sender_text.as_str())];
    if typ == "chat" {
        attrs.push(("type", "chat"));
    }
    let mut reply = stanza::build("message", &attrs);
    let mut body = Element::bare("body", xml_stream::ns::CLIENT);
    body.append_text_node(settings.message);
    reply.append_child(body);
    core.deliver(reply);
}

impl Module for Vacation {
    fn name(&self) -> &'static str {
        "vacation"
    }

    fn server_features(&self) -> &'static [&'static str] {
        &[NS]
    }

    fn pkt_user<'a>(&'a self, core: &'a mut Core, user: &'a BareJid, st: Element) -> Step<'a> {
        Box::pin(async move {
            if let Some(query) = query_of(&st).filter(|_| to_bare(&st)) {
                let outcome = outcome(core, user, &st, query).await;
                answer(core, st, outcome, "vacation");
                return Flow::Done;
            }
            if let Some(sender) = sender_to_answer(&st, user) {
                let typ = stanza::typ(&st).to_owned();
                auto_reply(core, user, sender, typ).await;
            }
            Flow::Pass(st)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(t: SystemTime) -> i64 {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        }
    }

    #[test]
    fn datetimes_parse_with_offsets_and_fractions() {
        let p = |s| time::parse(s).map(secs);
        assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(p("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(p("2023-11-14T22:13:20.123Z"), Some(1_700_000_000));
        assert_eq!(p("2023-11-15T00:13:20+02:00"), Some(1_700_000_000));
        assert_eq!(p("2023-11-14T21:13:20-01:00"), Some(1_700_000_000));
        assert_eq!(p("2000-02-29T00:00:00Z"), Some(951_782_400));
        assert_eq!(p("1969-12-31T23:59:59Z"), Some(-1));
        for bad in [
            "",
            "tomorrow",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+0200",
            "2023-11-14 22:13:20Z",
        ] {
            assert_eq!(time::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn stamps_read_back() {
        for s in [0u64, 951_782_400, 1_700_000_000] {
            assert_eq!(time::parse(&time::stamp(s)).map(secs), Some(s as i64));
        }
    }

    fn query(xml: &str) -> Element {
        format!("<query xmlns='{NS}'>{xml}</query>")
            .parse()
            .expect("parses")
    }

    #[test]
    fn a_set_stores_all_three_or_clears() {
        let q = query("<start/><end>2023-11-14T22:13:20Z</end><message>away</message>");
        assert_eq!(
            set_request(&q),
            Ok(Set::Store(Settings {
                start: None,
                end: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                message: "away".into(),
            }))
        );
        assert_eq!(set_request(&query("<start/><end/>")), Ok(Set::Clear));
        assert_eq!(set_request(&query("")), Ok(Set::Clear));
        let q = query("<start>next week</start><end/><message>away</message>");
        assert_eq!(set_request(&q), Err("bad-request"));
        let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let q = query(&format!("<start/><end/><message>{long}</message>"));
        assert_eq!(set_request(&q), Err("not-acceptable"));
    }

    #[test]
    fn the_settings_query_leaves_open_bounds_empty() {
        let settings = Settings {
            start: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            end: None,
            message: "away".into(),
        };
        let q = settings_query(&settings);
        assert_eq!(
            q.get_child("start", NS).map(Element::text).as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
        assert_eq!(
            q.get_child("end", NS).map(Element::text).as_deref(),
            Some("")
        );
        assert_eq!(set_request(&q), Ok(Set::Store(settings)));
    }

    fn message(from: &str, typ: &str) -> Element {
        format!("<message xmlns='jabber:client' from='{from}' to='alice@example.test' type='{typ}'><body>hi</body></message>")
            .parse()
            .expect("parses")
    }

    #[test]
    fn only_human_senders_of_chat_and_normal_messages_are_answered() {
        let alice = BareJid::new("alice@example.test").unwrap();
        for typ in ["", "normal", "chat"] {
            assert!(sender_to_answer(&message("bob@example.test/pc", typ), &alice).is_some());
        }
        for typ in ["error", "groupchat", "headline"] {
            assert!(sender_to_answer(&message("bob@example.test/pc", typ), &alice).is_none());
        }
        for from in [
            "bob@example.test",
            "example.test",
            "example.test/x",
            "alice@example.test/pc",
        ] {
            assert!(
                sender_to_answer(&message(from, "chat"), &alice).is_none(),
                "{from}"
            );
        }
    }
}
