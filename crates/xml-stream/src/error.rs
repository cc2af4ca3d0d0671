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
