//! vCards (`vcard`, mod_iq_vcard): jabberd2 keeps one column per vcard-temp field it knows and
//! drops the rest; the `<vCard/>` is rebuilt the way jabberd2 answers a get, fields in its map's
//! order, a `PARENT/CHILD` field nested in the parent element created with its first child.

use minidom::Element;
use sm::modules::vcard::NS;

/// mod_iq_vcard's `_iq_vcard_map`: vcard-temp path and column.
const FIELDS: [(&str, &str); 44] = [
    ("FN", "fn"),
    ("N/FAMILY", "n-family"),
    ("N/GIVEN", "n-given"),
    ("N/MIDDLE", "n-middle"),
    ("N/PREFIX", "n-prefix"),
    ("N/SUFFIX", "n-suffix"),
    ("NICKNAME", "nickname"),
    ("PHOTO/TYPE", "photo-type"),
    ("PHOTO/BINVAL", "photo-binval"),
    ("PHOTO/EXTVAL", "photo-extval"),
    ("BDAY", "bday"),
    ("ADR/POBOX", "adr-pobox"),
    ("ADR/EXTADD", "adr-extadd"),
    ("ADR/STREET", "adr-street"),
    ("ADR/LOCALITY", "adr-locality"),
    ("ADR/REGION", "adr-region"),
    ("ADR/PCODE", "adr-pcode"),
    ("ADR/CTRY", "adr-country"),
    ("TEL/NUMBER", "tel"),
    ("EMAIL/USERID", "email"),
    ("JABBERID", "jabberid"),
    ("MAILER", "mailer"),
    ("TZ", "tz"),
    ("GEO/LAT", "geo-lat"),
    ("GEO/LON", "geo-lon"),
    ("TITLE", "title"),
    ("ROLE", "role"),
    ("LOGO/TYPE", "logo-type"),
    ("LOGO/BINVAL", "logo-binval"),
    ("LOGO/EXTVAL", "logo-extval"),
    ("AGENT/EXTVAL", "agent-extval"),
    ("ORG/ORGNAME", "org-orgname"),
    ("ORG/ORGUNIT", "org-orgunit"),
    ("NOTE", "note"),
    ("REV", "rev"),
    ("SORT-STRING", "sort-string"),
    ("SOUND/PHONETIC", "sound-phonetic"),
    ("SOUND/BINVAL", "sound-binval"),
    ("SOUND/EXTVAL", "sound-extval"),
    ("UID", "uid"),
    ("URL", "url"),
    ("DESC", "desc"),
    ("KEY/TYPE", "key-type"),
    ("KEY/CRED", "key-cred"),
];

fn field(name: &str, value: &str) -> Element {
    let mut el = Element::bare(name, NS);
    el.append_text_node(value);
    el
}

/// The `<vCard xmlns='vcard-temp'/>` of a `vcard` row's non-empty `(column, value)` pairs, as XML
/// text; `None` when no known column has a value.
pub fn build(columns: &[(String, String)]) -> Option<String> {
    let mut vcard = Element::bare("vCard", NS);
    for (path, column) in FIELDS {
        let Some((_, value)) = columns.iter().find(|(c, _)| c == column) else {
            continue;
        };
        match path.split_once('/') {
            None => {
                vcard.append_child(field(path, value));
            }
            Some((parent, child)) => {
                if !vcard.has_child(parent, NS) {
                    vcard.append_child(Element::bare(parent, NS));
                }
                if let Some(parent) = vcard.get_child_mut(parent, NS) {
                    parent.append_child(field(child, value));
                }
            }
        }
    }
    vcard
        .children()
        .next()
        .is_some()
        .then(|| sm::stanza::to_text(&vcard))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rebuilds_in_jabberd2_order() {
        let xml = build(&cols(&[
            ("email", "a@example.org"),
            ("n-given", "Alice"),
            ("fn", "Alice <L>"),
            ("n-family", "Liddell"),
            ("unknown", "x"),
        ]))
        .unwrap();
        assert_eq!(
            xml,
            "<vCard xmlns='vcard-temp'><FN>Alice &lt;L&gt;</FN><N><FAMILY>Liddell</FAMILY>\
             <GIVEN>Alice</GIVEN></N><EMAIL><USERID>a@example.org</USERID></EMAIL></vCard>"
        );
        assert_eq!(build(&cols(&[("unknown", "x")])), None);
    }
}
