//! Privacy lists (`privacy-items`, mod_privacy): a row per item, grouped by `list`, with the
//! stanzas it governs as a bit mask. A list with an item Starling cannot read is not imported at
//! all: leaving one rule out could let through what the list blocks.

use std::collections::HashSet;

use storage::{PrivacyItem, PrivacyList, PrivacyMatch, PrivacyStanzas, Subscription};

use super::source::PrivacyRow;

/// mod_privacy's `zebra_block_type_t`.
const MESSAGE: i64 = 0x01;
const PRESENCE_IN: i64 = 0x02;
const PRESENCE_OUT: i64 = 0x04;
const IQ: i64 = 0x08;

fn item(row: &PrivacyRow) -> Result<PrivacyItem, String> {
    let order = u32::try_from(row.order).map_err(|_| format!("order {} is negative", row.order))?;
    let value = row.value.as_deref().unwrap_or_default();
    let matches = match row.typ.as_deref().unwrap_or_default() {
        "" => PrivacyMatch::Everyone,
        "jid" => PrivacyMatch::Jid(
            sm::stanza::parse_jid(value).ok_or_else(|| format!("{value:?} is not a JID"))?,
        ),
        "group" if !value.is_empty() => PrivacyMatch::Group(value.to_owned()),
        "subscription" => PrivacyMatch::Subscription(
            Subscription::parse(value)
                .ok_or_else(|| format!("{value:?} is not a subscription state"))?,
        ),
        typ => return Err(format!("type {typ:?} with value {value:?}")),
    };
    Ok(PrivacyItem {
        order,
        matches,
        allow: !row.deny,
        stanzas: PrivacyStanzas {
            message: row.block & MESSAGE != 0,
            iq: row.block & IQ != 0,
            presence_in: row.block & PRESENCE_IN != 0,
            presence_out: row.block & PRESENCE_OUT != 0,
        },
    })
}

fn list(name: &str, rows: &[&PrivacyRow]) -> Result<PrivacyList, String> {
    let mut items = Vec::new();
    let mut orders = HashSet::new();
    for row in rows {
        let item = item(row).map_err(|why| format!("item {}: {why}", row.order))?;
        if !orders.insert(item.order) {
            return Err(format!("two items with order {}", item.order));
        }
        items.push(item);
    }
    items.sort_by_key(|item| item.order);
    Ok(PrivacyList {
        name: name.to_owned(),
        items,
    })
}

/// The lists of `rows`, in the order they first appear; the lists that are not imported, with
/// the reason.
pub fn lists(rows: &[PrivacyRow]) -> (Vec<PrivacyList>, Vec<String>) {
    let mut names: Vec<&str> = Vec::new();
    for row in rows {
        if !names.contains(&row.list.as_str()) {
            names.push(&row.list);
        }
    }
    let mut lists = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        let rows: Vec<&PrivacyRow> = rows.iter().filter(|r| r.list == name).collect();
        match list(name, &rows) {
            Ok(list) => lists.push(list),
            Err(why) => skipped.push(format!("privacy list {name:?}: {why}")),
        }
    }
    (lists, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        list: &str,
        typ: Option<&str>,
        value: Option<&str>,
        order: i64,
        block: i64,
    ) -> PrivacyRow {
        PrivacyRow {
            list: list.into(),
            typ: typ.map(str::to_owned),
            value: value.map(str::to_owned),
            deny: typ.is_some(),
            order,
            block,
        }
    }

    #[test]
    fn lists_items_and_bad_lists() {
        let rows = [
            row("l", None, None, 9, 0),
            row("l", Some("jid"), Some("dave@a.test"), 1, MESSAGE | IQ),
            row("m", Some("subscription"), Some("both"), 1, PRESENCE_OUT),
            row("bad", Some("group"), Some(""), 1, 0),
            row("dup", None, None, 1, 0),
            row("dup", None, None, 1, 0),
        ];
        let (lists, skipped) = lists(&rows);
        assert_eq!(lists.len(), 2);
        assert_eq!(skipped.len(), 2);
        let l = &lists[0];
        assert_eq!(
            (l.name.as_str(), l.items[0].order, l.items[1].order),
            ("l", 1, 9)
        );
        assert!(!l.items[0].allow && l.items[1].allow);
        assert!(
            l.items[0].stanzas.message && l.items[0].stanzas.iq && !l.items[0].stanzas.presence_in
        );
        assert!(l.items[1].stanzas.all());
        assert_eq!(
            lists[1].items[0].matches,
            PrivacyMatch::Subscription(Subscription::Both)
        );
    }
}
