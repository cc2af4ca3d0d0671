//! jabberd2's stored XML: its storage drivers write a NAD value as the literal `NAD` followed by
//! the serialised packet, which the sm keeps as it came from the router: inside the `<route/>`,
//! with the session-control attributes c2s added.

use minidom::Element;
use xml_stream::ns;

/// The packet a stored NAD holds, without its `<route/>` and session-control attributes, or why
/// it cannot be read.
pub fn packet(stored: &str) -> Result<Element, String> {
    let xml = stored.strip_prefix("NAD").unwrap_or(stored);
    let root: Element = xml
        .parse()
        .map_err(|e| format!("unreadable stored XML ({e})"))?;
    let mut packet = if root.is("route", ns::COMPONENT) {
        root.children()
            .next()
            .cloned()
            .ok_or_else(|| "an empty stored <route/>".to_owned())?
    } else {
        root
    };
    sm::stanza::strip_sc(&mut packet);
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwraps_routes_and_drops_session_attributes() {
        let stored = "NAD<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' \
                      from='c2s' to='sm'><iq xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' \
                      xmlns='jabber:client' sc:sm='ab' sc:c2s='7' type='set' id='x'/></route>";
        let iq = packet(stored).unwrap();
        assert!(iq.is("iq", ns::CLIENT));
        assert_eq!(iq.attrs().iter().count(), 2);
        assert!(packet("NAD<message xmlns='jabber:client'/>").is_ok());
        assert!(
            packet("NAD<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'/>")
                .unwrap_err()
                .contains("empty")
        );
        assert!(packet("NAD<broken").unwrap_err().contains("unreadable"));
    }
}
