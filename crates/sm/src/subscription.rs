//! The RFC 6121 §3 subscription state machine (the tables of appendix A), as pure functions so
//! that every state and transition is unit-tested without a server.
//!
//! A state is the roster item's `subscription` plus pending-out (`ask`) and pending-in. The
//! tables name nine states: None, None+PendingOut, None+PendingIn, None+PendingOut/In, To,
//! To+PendingIn, From, From+PendingOut, Both.

use storage::Subscription;

/// One of the nine states (pending-in only with None/To, pending-out only with None/From).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct State {
    pub subscription: Subscription,
    pub ask_out: bool,
    pub pending_in: bool,
}

/// The four subscription presence types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
}

impl Action {
    /// The action a presence `type` names, if it is a subscription one.
    pub fn from_type(typ: &str) -> Option<Action> {
        match typ {
            "subscribe" => Some(Action::Subscribe),
            "subscribed" => Some(Action::Subscribed),
            "unsubscribe" => Some(Action::Unsubscribe),
            "unsubscribed" => Some(Action::Unsubscribed),
            _ => None,
        }
    }
}

/// What the contact's server does with an inbound subscription stanza (appendix A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound {
    pub new: State,
    /// Deliver the stanza to the user's available resources.
    pub deliver: bool,
    /// Answer `subscribed` on the user's behalf (a subscribe from an already approved contact).
    pub auto_subscribed: bool,
}

/// What the user's server does with an outbound subscription stanza (appendix A.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    pub new: State,
    /// Route the stanza to the contact.
    pub route: bool,
}

fn has_to(s: Subscription) -> bool {
    matches!(s, Subscription::To | Subscription::Both)
}

fn has_from(s: Subscription) -> bool {
    matches!(s, Subscription::From | Subscription::Both)
}

fn make(to: bool, from: bool) -> Subscription {
    match (to, from) {
        (false, false) => Subscription::None,
        (true, false) => Subscription::To,
        (false, true) => Subscription::From,
        (true, true) => Subscription::Both,
    }
}

impl State {
    pub fn has_to(&self) -> bool {
        has_to(self.subscription)
    }

    pub fn has_from(&self) -> bool {
        has_from(self.subscription)
    }

    fn with_to(mut self, to: bool) -> State {
        self.subscription = make(to, self.has_from());
        self
    }

    fn with_from(mut self, from: bool) -> State {
        self.subscription = make(self.has_to(), from);
        self
    }
}

/// Appendix A.2: the contact's server receives `action` from the user.
pub fn inbound(state: State, action: Action) -> Inbound {
    let unchanged = Inbound {
        new: state,
        deliver: false,
        auto_subscribed: false,
    };
    let changed = |new: State| Inbound {
        new,
        deliver: true,
        auto_subscribed: false,
    };
    match action {
        Action::Subscribe if state.has_from() => Inbound {
            auto_subscribed: true,
            ..unchanged
        },
        Action::Subscribe if state.pending_in => unchanged,
        Action::Subscribe => changed(State {
            pending_in: true,
            ..state
        }),
        Action::Unsubscribe if state.has_from() => changed(state.with_from(false)),
        Action::Unsubscribe if state.pending_in => changed(State {
            pending_in: false,
            ..state
        }),
        Action::Unsubscribe => unchanged,
        Action::Subscribed if state.ask_out && !state.has_to() => changed(State {
            ask_out: false,
            ..state.with_to(true)
        }),
        Action::Subscribed => unchanged,
        Action::Unsubscribed if state.has_to() || state.ask_out => changed(State {
            ask_out: false,
            ..state.with_to(false)
        }),
        Action::Unsubscribed => unchanged,
    }
}

/// Appendix A.3: the user's server receives `action` from the user, for the contact.
pub fn outbound(state: State, action: Action) -> Outbound {
    match action {
        // Routed even when nothing changes: the contact's server may have lost the request,
        // and answers an already approved one with `subscribed`.
        Action::Subscribe => Outbound {
            new: if state.has_to() {
                state
            } else {
                State {
                    ask_out: true,
                    ..state
                }
            },
            route: true,
        },
        Action::Unsubscribe => Outbound {
            new: State {
                ask_out: false,
                ..state.with_to(false)
            },
            route: true,
        },
        // Without a pending request this would be a pre-approval (RFC 6121 §3.4), which is
        // not offered: nothing changes and nothing is sent.
        Action::Subscribed if state.pending_in => Outbound {
            new: State {
                pending_in: false,
                ..state.with_from(true)
            },
            route: true,
        },
        Action::Subscribed => Outbound {
            new: state,
            route: false,
        },
        // Only a cancellation or a denial is routed: with no subscription from the contact and
        // no request pending, there is nothing to tell it (table 5: SHOULD NOT route).
        Action::Unsubscribed => Outbound {
            new: State {
                pending_in: false,
                ..state.with_from(false)
            },
            route: state.has_from() || state.pending_in,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Subscription::{Both, From, None as N, To};

    const fn st(subscription: Subscription, ask_out: bool, pending_in: bool) -> State {
        State {
            subscription,
            ask_out,
            pending_in,
        }
    }

    /// The nine states in the order of RFC 6121 appendix A's tables.
    const STATES: [State; 9] = [
        st(N, false, false),
        st(N, true, false),
        st(N, false, true),
        st(N, true, true),
        st(To, false, false),
        st(To, false, true),
        st(From, false, false),
        st(From, true, false),
        st(Both, false, false),
    ];

    fn check_inbound(action: Action, table: [(bool, State); 9]) {
        for (state, (deliver, new)) in STATES.iter().zip(table) {
            let got = inbound(*state, action);
            assert_eq!(
                (got.deliver, got.new),
                (deliver, new),
                "{action:?} in {state:?}"
            );
        }
    }

    fn check_outbound(action: Action, table: [State; 9]) {
        for (state, new) in STATES.iter().zip(table) {
            assert_eq!(outbound(*state, action).new, new, "{action:?} in {state:?}");
        }
    }

    #[test]
    fn a_2_1_inbound_subscribe() {
        let s = STATES;
        check_inbound(
            Action::Subscribe,
            [
                (true, s[2]),
                (true, s[3]),
                (false, s[2]),
                (false, s[3]),
                (true, s[5]),
                (false, s[5]),
                (false, s[6]),
                (false, s[7]),
                (false, s[8]),
            ],
        );
        for approved in &s[6..] {
            assert!(inbound(*approved, Action::Subscribe).auto_subscribed);
        }
        assert!(!inbound(s[0], Action::Subscribe).auto_subscribed);
    }

    #[test]
    fn a_2_2_inbound_unsubscribe() {
        let s = STATES;
        check_inbound(
            Action::Unsubscribe,
            [
                (false, s[0]),
                (false, s[1]),
                (true, s[0]),
                (true, s[1]),
                (false, s[4]),
                (true, s[4]),
                (true, s[0]),
                (true, s[1]),
                (true, s[4]),
            ],
        );
    }

    #[test]
    fn a_2_3_inbound_subscribed() {
        let s = STATES;
        check_inbound(
            Action::Subscribed,
            [
                (false, s[0]),
                (true, s[4]),
                (false, s[2]),
                (true, s[5]),
                (false, s[4]),
                (false, s[5]),
                (false, s[6]),
                (true, s[8]),
                (false, s[8]),
            ],
        );
    }

    #[test]
    fn a_2_4_inbound_unsubscribed() {
        let s = STATES;
        check_inbound(
            Action::Unsubscribed,
            [
                (false, s[0]),
                (true, s[0]),
                (false, s[2]),
                (true, s[2]),
                (true, s[0]),
                (true, s[2]),
                (false, s[6]),
                (true, s[6]),
                (true, s[6]),
            ],
        );
    }

    #[test]
    fn a_3_1_outbound_subscribe() {
        let s = STATES;
        check_outbound(
            Action::Subscribe,
            [s[1], s[1], s[3], s[3], s[4], s[5], s[7], s[7], s[8]],
        );
    }

    #[test]
    fn a_3_2_outbound_unsubscribe() {
        let s = STATES;
        check_outbound(
            Action::Unsubscribe,
            [s[0], s[0], s[2], s[2], s[0], s[2], s[6], s[6], s[6]],
        );
    }

    #[test]
    fn a_3_3_outbound_subscribed() {
        let s = STATES;
        check_outbound(
            Action::Subscribed,
            [s[0], s[1], s[6], s[7], s[4], s[8], s[6], s[7], s[8]],
        );
        // Only an answer to a pending request is routed (no pre-approval).
        let routed: Vec<bool> = STATES
            .iter()
            .map(|s| outbound(*s, Action::Subscribed).route)
            .collect();
        assert_eq!(
            routed,
            [false, false, true, true, false, true, false, false, false]
        );
    }

    #[test]
    fn a_3_4_outbound_unsubscribed() {
        let s = STATES;
        check_outbound(
            Action::Unsubscribed,
            [s[0], s[1], s[0], s[1], s[4], s[4], s[0], s[1], s[4]],
        );
        let routed: Vec<bool> = STATES
            .iter()
            .map(|s| outbound(*s, Action::Unsubscribed).route)
            .collect();
        assert_eq!(
            routed,
            [false, false, true, true, false, true, true, true, true]
        );
    }
}
