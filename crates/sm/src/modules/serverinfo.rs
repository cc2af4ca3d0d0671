//! XEP-0157 contact addresses as the XEP-0128 extension of the server's disco#info: a
//! `jabber:x:data` result form of FORM_TYPE `http://jabber.org/network/serverinfo`, one
//! `list-multi` field per role that has addresses.

use minidom::Element;

use crate::modules::disco_settings::Contacts;
use crate::stanza;

pub const DATA: &str = "jabber:x:data";
pub const FORM_TYPE: &str = "http://jabber.org/network/serverinfo";

/// The form, or `None` when no address is configured.
pub fn form(contacts: &Contacts) -> Option<Element> {
    let roles: Vec<(&str, &[String])> = contacts
        .roles()
        .into_iter()
        .filter(|(_, addresses)| !addresses.is_empty())
        .collect();
    if roles.is_empty() {
        return None;
    }
    let mut x = Element::bare("x", DATA);
    stanza::set_attr(&mut x, "type", "result");
    x.append_child(field("FORM_TYPE", "hidden", &[FORM_TYPE.to_owned()]));
    for (role, addresses) in roles {
        x.append_child(field(&format!("{role}-addresses"), "list-multi", addresses));
    }
    Some(x)
}

fn field(var: &str, typ: &str, values: &[String]) -> Element {
    let mut field = Element::bare("field", DATA);
    stanza::set_attr(&mut field, "var", var);
    stanza::set_attr(&mut field, "type", typ);
    for value in values {
        let mut v = Element::bare("value", DATA);
        v.append_text_node(value.clone());
        field.append_child(v);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_roles_with_addresses_and_the_form_type() {
        assert!(form(&Contacts::default()).is_none());
        let contacts = Contacts {
            abuse: vec![
                "mailto:abuse@example.com".into(),
                "xmpp:abuse@example.com".into(),
            ],
            ..Contacts::default()
        };
        let x = form(&contacts).expect("a form");
        let fields: Vec<(&str, Vec<String>)> = x
            .children()
            .map(|f| {
                let values = f.children().map(|v| v.text()).collect();
                (f.attr("var").unwrap_or(""), values)
            })
            .collect();
        assert_eq!(
            fields,
            [
                ("FORM_TYPE", vec![FORM_TYPE.to_owned()]),
                (
                    "abuse-addresses",
                    vec![
                        "mailto:abuse@example.com".to_owned(),
                        "xmpp:abuse@example.com".to_owned()
                    ]
                ),
            ]
        );
    }
}
