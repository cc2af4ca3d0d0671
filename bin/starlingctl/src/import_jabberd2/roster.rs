//! Rosters (`roster-items`, `roster-groups`, mod_roster): jabberd2 keeps the two directions of a
//! subscription as `to`/`from` flags and a pending outbound request as `ask` 1. It has no
//! pending-in state: requests it holds for an offline user wait in the offline queue.

use jid::BareJid;
use storage::{RosterItem, Subscription};

use super::source::RosterRow;

/// The items of `rows` with their groups, in jabberd2's order; the rows that are not imported,
/// with the reason.
pub fn items(rows: &[RosterRow], groups: &[(String, String)]) -> (Vec<RosterItem>, Vec<String>) {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for row in rows {
        let jid = match BareJid::new(&row.jid) {
            Ok(jid) => jid,
            Err(e) => {
                skipped.push(format!("roster item {:?}: not a bare JID ({e})", row.jid));
                continue;
            }
        };
        let mut item = RosterItem::new(jid);
        item.name = row.name.clone().filter(|n| !n.is_empty());
        item.subscription = match (row.to, row.from) {
            (true, true) => Subscription::Both,
            (true, false) => Subscription::To,
            (false, true) => Subscription::From,
            (false, false) => Subscription::None,
        };
        // ask 2 (an unsubscribe awaiting an answer) has no counterpart in RFC 6121.
        item.ask_out = row.ask == 1;
        for (_, group) in groups.iter().filter(|(jid, _)| *jid == row.jid) {
            if !item.groups.contains(group) {
                item.groups.push(group.clone());
            }
        }
        items.push(item);
    }
    (items, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(jid: &str, to: bool, from: bool, ask: i64) -> RosterRow {
        RosterRow {
            jid: jid.into(),
            name: Some(String::new()),
            to,
            from,
            ask,
        }
    }

    #[test]
    fn flags_and_groups() {
        let rows = [
            row("b@a.test", true, true, 0),
            row("c@a.test", false, false, 1),
            row("d@a.test", false, true, 2),
            row("bad@@a.test", true, false, 0),
        ];
        let groups = [
            ("b@a.test".to_owned(), "G".to_owned()),
            ("c@a.test".to_owned(), "H".to_owned()),
            ("b@a.test".to_owned(), "F".to_owned()),
            ("b@a.test".to_owned(), "G".to_owned()),
        ];
        let (items, skipped) = items(&rows, &groups);
        assert_eq!(skipped.len(), 1);
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].subscription, Subscription::Both);
        assert_eq!(items[0].groups, ["G", "F"]);
        assert_eq!(items[0].name, None);
        assert!(items[1].ask_out && items[1].subscription == Subscription::None);
        assert!(!items[2].ask_out && items[2].subscription == Subscription::From);
    }
}
