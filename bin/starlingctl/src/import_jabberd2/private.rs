//! Private XML (`private`, mod_iq_private): per namespace jabberd2 stores the whole `iq` of the
//! last set; Starling stores the `<query xmlns='jabber:iq:private'/>` with the namespace's
//! elements, as its sm does.

use minidom::Element;
use sm::modules::private::NS;

use super::nad;
use super::source::PrivateRow;

/// `(namespace, query as XML text)` of one `private` row, or why it cannot be imported.
pub fn convert(row: &PrivateRow) -> Result<(String, String), String> {
    let ns = row
        .ns
        .clone()
        .filter(|ns| !ns.is_empty())
        .ok_or_else(|| "a row without a namespace".to_owned())?;
    let xml = row.xml.as_deref().unwrap_or_default();
    let packet = nad::packet(xml).map_err(|why| format!("{ns}: {why}"))?;
    let query = if packet.is("query", NS) {
        &packet
    } else {
        packet
            .get_child("query", NS)
            .ok_or_else(|| format!("{ns}: no <query xmlns='{NS}'/> in the stored XML"))?
    };
    let elements: Vec<Element> = query.children().filter(|c| c.ns() == ns).cloned().collect();
    if elements.is_empty() {
        return Err(format!("{ns}: no element in that namespace"));
    }
    let stored = Element::builder("query", NS).append_all(elements).build();
    Ok((ns, sm::stanza::to_text(&stored)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ns: Option<&str>, xml: &str) -> PrivateRow {
        PrivateRow {
            ns: ns.map(str::to_owned),
            xml: Some(xml.to_owned()),
        }
    }

    #[test]
    fn keeps_the_query_of_the_namespace() {
        let stored = "NAD<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'><iq \
                      xmlns='jabber:client' type='set'><query xmlns='jabber:iq:private'><n \
                      xmlns='urn:x'>t</n></query></iq></route>";
        assert_eq!(
            convert(&row(Some("urn:x"), stored)).unwrap(),
            (
                "urn:x".to_owned(),
                "<query xmlns='jabber:iq:private'><n xmlns='urn:x'>t</n></query>".to_owned()
            )
        );
        assert!(convert(&row(Some("urn:y"), stored)).is_err());
        assert!(convert(&row(None, stored)).is_err());
        assert!(convert(&row(Some("urn:x"), "NAD<iq xmlns='jabber:client'/>")).is_err());
    }
}
