//! XEP-0227 §4.3 `<scram-credentials mechanism=…/>`: iteration count, salt, ServerKey and
//! StoredKey of one SCRAM hash, the last three in base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use minidom::Element;
use sasl_server::ScramCredentials;
use sm::stanza;

use super::SCRAM_NS;
use crate::users::HASHES;

fn child(name: &str, text: String) -> Element {
    let mut el = Element::bare(name, SCRAM_NS);
    el.append_text_node(text);
    el
}

pub fn to_element(c: &ScramCredentials) -> Element {
    let mut el = Element::bare("scram-credentials", SCRAM_NS);
    stanza::set_attr(&mut el, "mechanism", c.hash.name());
    el.append_child(child("iter-count", c.iterations.to_string()));
    el.append_child(child("salt", STANDARD.encode(&c.salt)));
    el.append_child(child("server-key", STANDARD.encode(&c.server_key)));
    el.append_child(child("stored-key", STANDARD.encode(&c.stored_key)));
    el
}

fn text(el: &Element, name: &str) -> Result<String, String> {
    el.get_child(name, SCRAM_NS)
        .map(|c| c.text().trim().to_owned())
        .ok_or_else(|| format!("no <{name}/>"))
}

fn base64(el: &Element, name: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text(el, name)?)
        .map_err(|e| format!("<{name}/> is not base64 ({e})"))
}

/// The record of a `<scram-credentials/>`, or why it cannot be used.
pub fn from_element(el: &Element) -> Result<ScramCredentials, String> {
    let mechanism = el.attr("mechanism").unwrap_or_default();
    let hash = HASHES
        .into_iter()
        .find(|h| h.name() == mechanism)
        .ok_or_else(|| format!("mechanism {mechanism:?} is not one Starling offers"))?;
    let iterations = text(el, "iter-count")?
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| "<iter-count/> is not a positive integer".to_owned())?;
    let salt = base64(el, "salt")?;
    let (server_key, stored_key) = (base64(el, "server-key")?, base64(el, "stored-key")?);
    if salt.is_empty() {
        return Err("an empty <salt/>".to_owned());
    }
    if server_key.len() != hash.output_len() || stored_key.len() != hash.output_len() {
        return Err(format!(
            "{mechanism} keys must be {} bytes long",
            hash.output_len()
        ));
    }
    Ok(ScramCredentials {
        hash,
        salt,
        iterations,
        stored_key,
        server_key,
    })
}

#[cfg(test)]
mod tests {
    use sasl_server::ScramHash;

    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let c = ScramCredentials::generate(ScramHash::Sha256, "pencil", 4096).unwrap();
        let back = from_element(&to_element(&c)).unwrap();
        assert_eq!(
            (
                back.hash,
                &back.salt,
                back.iterations,
                &back.stored_key,
                &back.server_key
            ),
            (c.hash, &c.salt, c.iterations, &c.stored_key, &c.server_key)
        );
        // The XEP's example: SCRAM-SHA-1 with 20-byte keys.
        let example: Element =
            "<scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1'>\
            <iter-count>100000</iter-count>\
            <salt>TmFDbE5hQ2xOYUNsTmFDbE5hQ2xOYUNsTmFDbE5hQ2xOYUNsTmFDbE5hQ2wK</salt>\
            <server-key>0pXWGK0GZJ6TR73AIUN3ITYtA1g=</server-key>\
            <stored-key>Q6qT/SbybblGCZz8e8eSfCJOQic=</stored-key></scram-credentials>"
                .parse()
                .unwrap();
        assert_eq!(from_element(&example).unwrap().iterations, 100_000);
        for (from, to) in [
            ("SCRAM-SHA-1", "SCRAM-SHA-224"),
            ("100000", "0"),
            ("0pXWGK0GZJ6TR73AIUN3ITYtA1g=", "0pXW"),
            ("Q6qT/SbybblGCZz8e8eSfCJOQic=", "!!"),
        ] {
            let bad: Element = String::from(&example).replace(from, to).parse().unwrap();
            assert!(from_element(&bad).is_err(), "{to}");
        }
    }
}
