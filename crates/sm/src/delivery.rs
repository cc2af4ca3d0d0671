//! RFC 6121 §8.5: which of a local user's resources a message goes to, as a pure function of
//! the resources' state (unit-tested without a server). The caller does the sending.

/// What the server knows about one resource of the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Has sent available presence (and not unavailable since).
    pub available: bool,
    pub priority: i8,
}

/// Where a message ends up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These resources (indices into the slice given), in order.
    Resources(Vec<usize>),
    /// Stored for later (XEP-0160).
    Offline,
    /// Silently dropped.
    Drop,
    /// Bounced to the sender with this condition.
    Error(&'static str),
}

/// The available resources with the highest non-negative priority (§8.5.2.1.1: "the most
/// available resource(s)"; all of them when several tie, as jabberd2 does).
fn top(resources: &[Resource]) -> Vec<usize> {
    let best = resources
        .iter()
        .filter(|r| r.available && r.priority >= 0)
        .map(|r| r.priority)
        .max();
    match best {
        None => Vec::new(),
        Some(best) => resources
            .iter()
            .enumerate()
            .filter(|(_, r)| r.available && r.priority == best)
            .map(|(i, _)| i)
            .collect(),
    }
}

/// §8.5.2: a message to the user's bare JID (`typ` is the message type, "" = normal).
pub fn message_to_bare(resources: &[Resource], typ: &str) -> Target {
    match typ {
        // §8.5.2.1.1 / §8.5.2.2.1: groupchat to a bare JID is an error.
        "groupchat" => Target::Error("service-unavailable"),
        "headline" => {
            let all: Vec<usize> = resources
                .iter()
                .enumerate()
                .filter(|(_, r)| r.available && r.priority >= 0)
                .map(|(i, _)| i)
                .collect();
            if all.is_empty() {
                Target::Drop
            } else {
                Target::Resources(all)
            }
        }
        // §8.5.2.1.1 and §8.5.2.2.1: an error to a bare JID is silently ignored.
        "error" => Target::Drop,
        // normal, chat, and unknown types (treated as normal, RFC 6121 §5.2.2).
        _ => match top(resources) {
            t if t.is_empty() => Target::Offline,
            t => Target::Resources(t),
        },
    }
}

/// §8.5.3: a message to a full JID; `exact` is the resource with that name, if connected.
pub fn message_to_full(resources: &[Resource], exact: Option<usize>, typ: &str) -> Target {
    if let Some(i) = exact {
        return Target::Resources(vec![i]);
    }
    // §8.5.3.2.1: no such resource. Only chat falls back to the bare JID's rules; normal
    // (also absent or unknown types, RFC 6121 §5.2.2) and groupchat may be ignored or answered
    // with an error: the sender learns it did not arrive.
    match typ {
        "chat" => message_to_bare(resources, typ),
        "headline" | "error" => Target::Drop,
        _ => Target::Error("service-unavailable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn r(available: bool, priority: i8) -> Resource {
        Resource {
            available,
            priority,
        }
    }

    #[test]
    fn bare_jid_goes_to_the_highest_non_negative_priority() {
        let rs = [r(true, 1), r(true, 5), r(false, 9), r(true, 5), r(true, -1)];
        assert_eq!(message_to_bare(&rs, "chat"), Target::Resources(vec![1, 3]));
        assert_eq!(message_to_bare(&rs, ""), Target::Resources(vec![1, 3]));
        assert_eq!(message_to_bare(&rs, "bogus"), Target::Resources(vec![1, 3]));
    }

    #[test]
    fn only_negative_or_unavailable_means_offline() {
        let rs = [r(true, -1), r(false, 3)];
        assert_eq!(message_to_bare(&rs, "chat"), Target::Offline);
        assert_eq!(message_to_bare(&rs, "normal"), Target::Offline);
        assert_eq!(message_to_bare(&[], "chat"), Target::Offline);
        assert_eq!(message_to_bare(&rs, "error"), Target::Drop);
    }

    #[test]
    fn headline_goes_to_every_non_negative_resource() {
        let rs = [r(true, 0), r(true, 7), r(true, -2), r(false, 1)];
        assert_eq!(
            message_to_bare(&rs, "headline"),
            Target::Resources(vec![0, 1])
        );
        assert_eq!(message_to_bare(&[r(true, -1)], "headline"), Target::Drop);
    }

    #[test]
    fn errors_to_a_bare_jid_are_dropped() {
        assert_eq!(message_to_bare(&[r(true, 1)], "error"), Target::Drop);
    }

    #[test]
    fn groupchat_to_bare_jid_is_refused() {
        let rs = [r(true, 0)];
        assert_eq!(
            message_to_bare(&rs, "groupchat"),
            Target::Error("service-unavailable")
        );
    }

    #[test]
    fn normal_to_an_unknown_resource_is_refused() {
        let rs = [r(true, 2)];
        for typ in ["", "normal", "bogus"] {
            assert_eq!(
                message_to_full(&rs, None, typ),
                Target::Error("service-unavailable")
            );
            assert_eq!(
                message_to_full(&[], None, typ),
                Target::Error("service-unavailable")
            );
        }
    }

    #[test]
    fn full_jid_exact_match_or_fallback() {
        let rs = [r(false, 0), r(true, 2)];
        // A connected resource gets it even before its initial presence.
        assert_eq!(
            message_to_full(&rs, Some(0), "chat"),
            Target::Resources(vec![0])
        );
        assert_eq!(
            message_to_full(&rs, None, "chat"),
            Target::Resources(vec![1])
        );
        assert_eq!(message_to_full(&[], None, "chat"), Target::Offline);
        assert_eq!(message_to_full(&rs, None, "headline"), Target::Drop);
        assert_eq!(message_to_full(&rs, None, "error"), Target::Drop);
        assert_eq!(
            message_to_full(&rs, None, "groupchat"),
            Target::Error("service-unavailable")
        );
    }
}
