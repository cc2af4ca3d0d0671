//! The filter table: the first rule that matches a unicast route decides what happens to it.

use crate::config::{FilterAction, FilterConfig, StanzaKind};
use crate::pattern;

/// What the filter table decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Bounce to the sender with this stanza error condition.
    Deny(String),
    /// Deliver to this route name instead.
    Redirect(String),
}

/// What the rules look at in a route's payload.
#[derive(Debug, Clone, Copy, Default)]
pub struct Payload<'a> {
    /// The element's local name.
    pub kind: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
}

/// Applies the first matching rule to a route's payload.
pub fn apply(rules: &[FilterConfig], payload: Payload) -> Verdict {
    let from = payload.from.map(bare);
    let to = payload.to.map(bare);
    let kind = payload.kind;
    let rule = rules.iter().find(|rule| {
        address_matches(&rule.from, from)
            && address_matches(&rule.to, to)
            && kind_matches(rule.kind, kind)
    });
    match rule {
        None => Verdict::Pass,
        Some(rule) => match rule.action {
            FilterAction::Allow => Verdict::Pass,
            FilterAction::Deny => Verdict::Deny(rule.error.clone()),
            FilterAction::Redirect => Verdict::Redirect(rule.redirect.clone()),
        },
    }
}

/// The JID without its resource: filters speak about accounts and domains, not devices.
fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _)| bare)
}

fn address_matches(rule: &str, address: Option<&str>) -> bool {
    match address {
        Some(address) => pattern::matches(rule, address),
        None => rule.chars().all(|c| c == '*'),
    }
}

fn kind_matches(rule: StanzaKind, kind: Option<&str>) -> bool {
    match rule {
        StanzaKind::Any => true,
        StanzaKind::Message => kind == Some("message"),
        StanzaKind::Presence => kind == Some("presence"),
        StanzaKind::Iq => kind == Some("iq"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: &str, to: &str, kind: StanzaKind, action: FilterAction) -> FilterConfig {
        FilterConfig {
            from: from.into(),
            to: to.into(),
            kind,
            action,
            error: "not-allowed".into(),
            redirect: "elsewhere".into(),
        }
    }

    #[test]
    fn first_match_wins() {
        let msg = Payload {
            kind: Some("message"),
            from: Some("a@x/r"),
            to: Some("b@blocked.example/r"),
        };
        let rules = vec![
            rule("*", "*@blocked.example", StanzaKind::Iq, FilterAction::Deny),
            rule("a@x", "*", StanzaKind::Message, FilterAction::Allow),
            rule(
                "*",
                "*@blocked.example",
                StanzaKind::Any,
                FilterAction::Deny,
            ),
        ];
        assert_eq!(apply(&rules, msg), Verdict::Pass);
        assert_eq!(apply(&rules[2..], msg), Verdict::Deny("not-allowed".into()));
        let redirect = vec![rule(
            "*",
            "blocked.example",
            StanzaKind::Any,
            FilterAction::Redirect,
        )];
        assert_eq!(apply(&redirect, msg), Verdict::Pass);
        let redirect = vec![rule(
            "*",
            "*blocked.example",
            StanzaKind::Any,
            FilterAction::Redirect,
        )];
        assert_eq!(apply(&redirect, msg), Verdict::Redirect("elsewhere".into()));
    }
}
