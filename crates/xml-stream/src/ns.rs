//! Namespace names used on the wire.

/// The stream namespace (`stream:` prefix).
pub const STREAMS: &str = "http://etherx.jabber.org/streams";
/// Client-to-server content namespace; also the canonical stanza namespace inside Starling.
pub const CLIENT: &str = "jabber:client";
/// Server-to-server content namespace.
pub const SERVER: &str = "jabber:server";
/// XEP-0114 component content namespace.
pub const COMPONENT_ACCEPT: &str = "jabber:component:accept";
/// jabberd2's component protocol namespace.
pub const COMPONENT: &str = "http://jabberd.jabberstudio.org/ns/component/1.0";
/// jabberd2's session-control namespace.
pub const SESSION: &str = "http://jabberd.jabberstudio.org/ns/session/1.0";
/// Stream error conditions.
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// Stanza error conditions.
pub const STANZA_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// STARTTLS.
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL.
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// The XML namespace (`xml:` prefix).
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
