//! RFC 6120 §4.9 stream errors.

use std::fmt;

use minidom::Element;

use crate::ns;

macro_rules! conditions {
    ($($variant:ident => $name:literal,)*) => {
        /// A defined stream error condition (RFC 6120 §4.9.3).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StreamErrorCondition {
            $($variant,)*
        }

        impl StreamErrorCondition {
            /// The element name of the condition.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// Looks a condition up by its element name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

conditions! {
    BadFormat => "bad-format",
    BadNamespacePrefix => "bad-namespace-prefix",
    Conflict => "conflict",
    ConnectionTimeout => "connection-timeout",
    HostGone => "host-gone",
    HostUnknown => "host-unknown",
    ImproperAddressing => "improper-addressing",
    InternalServerError => "internal-server-error",
    InvalidFrom => "invalid-from",
    InvalidNamespace => "invalid-namespace",
    InvalidXml => "invalid-xml",
    NotAuthorized => "not-authorized",
    NotWellFormed => "not-well-formed",
    PolicyViolation => "policy-violation",
    RemoteConnectionFailed => "remote-connection-failed",
    Reset => "reset",
    ResourceConstraint => "resource-constraint",
    RestrictedXml => "restricted-xml",
    SeeOtherHost => "see-other-host",
    SystemShutdown => "system-shutdown",
    UndefinedCondition => "undefined-condition",
    UnsupportedEncoding => "unsupported-encoding",
    UnsupportedFeature => "unsupported-feature",
    UnsupportedStanzaType => "unsupported-stanza-type",
    UnsupportedVersion => "unsupported-version",
}

impl fmt::Display for StreamErrorCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stream error to send before closing a stream: a condition and an optional text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamError {
    pub condition: StreamErrorCondition,
    pub text: Option<String>,
}

impl StreamError {
    pub fn new(condition: StreamErrorCondition) -> Self {
        StreamError {
            condition,
            text: None,
        }
    }

    pub fn with_text(condition: StreamErrorCondition, text: impl Into<String>) -> Self {
        StreamError {
            condition,
            text: Some(text.into()),
        }
    }

    /// The `<stream:error/>` element.
    pub fn to_element(&self) -> Element {
        let mut error = Element::bare("error", ns::STREAMS);
        error.append_child(Element::bare(self.condition.as_str(), ns::STREAM_ERRORS));
        if let Some(text) = &self.text {
            let mut text_el = Element::bare("text", ns::STREAM_ERRORS);
            text_el.append_text_node(text.clone());
            error.append_child(text_el);
        }
        error
    }

    /// Reads a received `<stream:error/>` element.
    pub fn from_element(el: &Element) -> Option<Self> {
        if !el.is("error", ns::STREAMS) {
            return None;
        }
        let condition = el
            .children()
            .filter(|c| c.ns() == ns::STREAM_ERRORS && c.name() != "text")
            .find_map(|c| StreamErrorCondition::from_name(c.name()))
            .unwrap_or(StreamErrorCondition::UndefinedCondition);
        let text = el.get_child("text", ns::STREAM_ERRORS).map(|t| t.text());
        Some(StreamError { condition, text })
    }
}

impl From<StreamErrorCondition> for StreamError {
    fn from(condition: StreamErrorCondition) -> Self {
        StreamError::new(condition)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.text {
            Some(text) => write!(f, "{} ({text})", self.condition),
            None => write!(f, "{}", self.condition),
        }
    }
}

impl std::error::Error for StreamError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::stanza_bytes;
    use StreamErrorCondition::*;

    const ALL: [StreamErrorCondition; 25] = [
        BadFormat,
        BadNamespacePrefix,
        Conflict,
        ConnectionTimeout,
        HostGone,
        HostUnknown,
        ImproperAddressing,
        InternalServerError,
        InvalidFrom,
        InvalidNamespace,
        InvalidXml,
        NotAuthorized,
        NotWellFormed,
        PolicyViolation,
        RemoteConnectionFailed,
        Reset,
        ResourceConstraint,
        RestrictedXml,
        SeeOtherHost,
        SystemShutdown,
        UndefinedCondition,
        UnsupportedEncoding,
        UnsupportedFeature,
        UnsupportedStanzaType,
        UnsupportedVersion,
    ];

    /// Fails to compile when a condition is added without updating `ALL`.
    #[allow(dead_code)]
    fn all_is_complete(c: StreamErrorCondition) -> usize {
        match c {
            BadFormat
            | BadNamespacePrefix
            | Conflict
            | ConnectionTimeout
            | HostGone
            | HostUnknown
            | ImproperAddressing
            | InternalServerError
            | InvalidFrom
            | InvalidNamespace
            | InvalidXml
            | NotAuthorized
            | NotWellFormed
            | PolicyViolation
            | RemoteConnectionFailed
            | Reset
            | ResourceConstraint
            | RestrictedXml
            | SeeOtherHost
            | SystemShutdown
            | UndefinedCondition
            | UnsupportedEncoding
            | UnsupportedFeature
            | UnsupportedStanzaType
            | UnsupportedVersion => ALL.len(),
        }
    }

    #[test]
    fn names_round_trip() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.as_str()).collect();
        for c in ALL {
            assert_eq!(StreamErrorCondition::from_name(c.as_str()), Some(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(StreamErrorCondition::from_name("text"), None);
        assert_eq!(StreamErrorCondition::from_name("Bad-Format"), None);
        assert_eq!(NotWellFormed.as_str(), "not-well-formed");
        assert_eq!(SeeOtherHost.as_str(), "see-other-host");
    }

    #[test]
    fn element_round_trip_every_condition() {
        for c in ALL {
            for error in [
                StreamError::new(c),
                StreamError::with_text(c, format!("because of {c} & <more>")),
                StreamError::with_text(c, ""),
            ] {
                let el = error.to_element();
                assert!(el.is("error", ns::STREAMS));
                assert_eq!(StreamError::from_element(&el), Some(error.clone()), "{c}");
            }
            assert_eq!(StreamError::from(c), StreamError::new(c));
        }
    }

    #[test]
    fn wire_format_matches_rfc_6120() {
        let error = StreamError::with_text(NotWellFormed, "bad <xml>");
        let bytes = stanza_bytes(&error.to_element(), Some(ns::CLIENT));
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bad &lt;xml&gt;</text>\
             </stream:error>"
        );
        let bytes = stanza_bytes(&StreamError::new(Conflict).to_element(), None);
        assert_eq!(
            &bytes[..],
            b"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
    }

    #[test]
    fn from_received_elements() {
        let parse = |xml: &str| -> Element { xml.parse().unwrap() };
        // Text first, an application-specific condition, a language tag: all fine.
        let el = parse(
            "<error xmlns='http://etherx.jabber.org/streams'>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>bye</text>\
             <escape-your-data xmlns='urn:example:app'/>\
             <host-gone xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
        );
        assert_eq!(
            StreamError::from_element(&el),
            Some(StreamError::with_text(HostGone, "bye"))
        );
        // An unknown condition is undefined-condition.
        let el = parse(
            "<error xmlns='http://etherx.jabber.org/streams'>\
             <made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>",
        );
        assert_eq!(
            StreamError::from_element(&el),
            Some(StreamError::new(UndefinedCondition))
        );
        // A condition in the wrong namespace does not count.
        let el = parse(
            "<error xmlns='http://etherx.jabber.org/streams'><conflict xmlns='urn:x'/></error>",
        );
        assert_eq!(
            StreamError::from_element(&el),
            Some(StreamError::new(UndefinedCondition))
        );
        // Not a stream error at all.
        let el = parse("<error xmlns='jabber:client'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>");
        assert_eq!(StreamError::from_element(&el), None);
    }

    #[test]
    fn display() {
        assert_eq!(StreamError::new(Reset).to_string(), "reset");
        assert_eq!(
            StreamError::with_text(PolicyViolation, "too big").to_string(),
            "policy-violation (too big)"
        );
    }
}
