//! The packets of the component protocol, as types.
//!
//! Every packet is a top-level element in the component namespace. A `route` carries one
//! stanza (or a session-control element) for another component; the others manage the
//! connection's place in the router's delivery tree.

use bytes::BytesMut;
use minidom::Element;
use rxml::{xml_ncname, NcNameStr};
use xml_stream::ns;
use xml_stream::writer::write_attr;

/// A `<bind/>`: asks the router to deliver packets for a name to this connection, and is echoed
/// back without `name` on success or with `error` on failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bind {
    pub name: Option<String>,
    /// Several components share the name; each packet goes to one of them.
    pub multi: bool,
    /// Become the default route (`<default/>`): every domain nothing else has bound.
    pub default: bool,
    /// Become a log sink (`<log/>`): a copy of every unicast route.
    pub log: bool,
    /// The router's refusal: `400`, `403`, `404` or `409`.
    pub error: Option<String>,
}

/// How a route is meant to be delivered (its `type` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// No `type`: to the component(s) bound to the domain of `to`.
    Unicast,
    /// `type='broadcast'`: to every other component.
    Broadcast,
    /// `type='log'`: a log sink's copy of a unicast route.
    Log,
}

impl RouteKind {
    /// The kind a `type` attribute names; `None` for an unknown type.
    pub fn from_attr(value: Option<&str>) -> Option<RouteKind> {
        match value {
            None => Some(RouteKind::Unicast),
            Some("broadcast") => Some(RouteKind::Broadcast),
            Some("log") => Some(RouteKind::Log),
            Some(_) => None,
        }
    }

    /// The `type` attribute for this kind.
    pub fn attr(self) -> Option<&'static str> {
        match self {
            RouteKind::Unicast => None,
            RouteKind::Broadcast => Some("broadcast"),
            RouteKind::Log => Some("log"),
        }
    }
}

/// `<route` with its namespace, [`ns::COMPONENT`] (which needs no escaping).
const ROUTE_START: &str = "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'";

/// The envelope of a route as it is written: `<route to from type error>`, around a payload
/// written by someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteHead<'a> {
    pub to: Option<&'a str>,
    pub from: Option<&'a str>,
    pub kind: RouteKind,
    pub error: Option<&'a str>,
}

impl RouteHead<'_> {
    /// Writes the route, with `payload` writing its content (the payload sees the component
    /// namespace as its default).
    pub fn write(&self, out: &mut BytesMut, payload: Option<impl FnOnce(&mut BytesMut)>) {
        out.extend_from_slice(ROUTE_START.as_bytes());
        let attrs = [
            ("to", self.to),
            ("from", self.from),
            ("type", self.kind.attr()),
            ("error", self.error),
        ];
        for (name, value) in attrs {
            if let Some(value) = value {
                write_attr(out, name, value);
            }
        }
        match payload {
            Some(payload) => {
                out.extend_from_slice(b">");
                payload(out);
                out.extend_from_slice(b"</route>");
            }
            None => out.extend_from_slice(b"/>"),
        }
    }
}

/// A `<route/>`: a stanza travelling between components.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub to: Option<String>,
    pub from: Option<String>,
    pub kind: RouteKind,
    /// Set when the router bounces the route back to its sender (`400`, `401`, `404`, …).
    pub error: Option<String>,
    /// The stanza or control element inside.
    pub payload: Option<Element>,
}

impl Route {
    /// A unicast route carrying `payload`.
    pub fn unicast(to: impl Into<String>, from: impl Into<String>, payload: Element) -> Route {
        Route {
            to: Some(to.into()),
            from: Some(from.into()),
            kind: RouteKind::Unicast,
            error: None,
            payload: Some(payload),
        }
    }
}

/// One packet of the component protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    Bind(Bind),
    Unbind {
        name: Option<String>,
        error: Option<String>,
    },
    Route(Route),
    /// Toggles queueing of packets towards the sender.
    Throttle,
    /// The router's advertisement that a name became available or went away.
    Presence {
        from: String,
        available: bool,
    },
}

/// An element that is not a packet of the component protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAPacket {
    pub name: String,
    pub namespace: String,
}

impl std::fmt::Display for NotAPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{{}}}{} is not a component packet",
            self.namespace, self.name
        )
    }
}

impl std::error::Error for NotAPacket {}

impl NotAPacket {
    /// A route whose `type` is none the protocol knows.
    pub(crate) fn route() -> NotAPacket {
        NotAPacket {
            name: "route".into(),
            namespace: ns::COMPONENT.into(),
        }
    }
}

fn attr(el: &Element, name: &str) -> Option<String> {
    el.attr(name).map(str::to_owned)
}

fn set(el: &mut Element, name: &NcNameStr, value: &Option<String>) {
    if let Some(value) = value {
        el.attrs_mut()
            .insert(rxml::Namespace::NONE, name.to_owned(), value.clone());
    }
}

impl Packet {
    /// Reads a packet from a top-level element, taking the route payload out without copying.
    pub fn from_element(mut el: Element) -> Result<Packet, NotAPacket> {
        if el.ns() != ns::COMPONENT {
            return Err(NotAPacket {
                name: el.name().to_owned(),
                namespace: el.ns(),
            });
        }
        let packet = match el.name() {
            "bind" => Packet::Bind(Bind {
                name: attr(&el, "name"),
                multi: el.attr("multi").is_some(),
                default: el.has_child("default", ns::COMPONENT),
                log: el.has_child("log", ns::COMPONENT),
                error: attr(&el, "error"),
            }),
            "unbind" => Packet::Unbind {
                name: attr(&el, "name"),
                error: attr(&el, "error"),
            },
            "route" => {
                let Some(kind) = RouteKind::from_attr(el.attr("type")) else {
                    return Err(NotAPacket::route());
                };
                Packet::Route(Route {
                    to: attr(&el, "to"),
                    from: attr(&el, "from"),
                    kind,
                    error: attr(&el, "error"),
                    payload: el.unshift_child(),
                })
            }
            "throttle" => Packet::Throttle,
            "presence" => Packet::Presence {
                from: attr(&el, "from").unwrap_or_default(),
                available: el.attr("type") != Some("unavailable"),
            },
            other => {
                return Err(NotAPacket {
                    name: other.to_owned(),
                    namespace: ns::COMPONENT.into(),
                })
            }
        };
        Ok(packet)
    }

    /// The element for this packet.
    pub fn to_element(&self) -> Element {
        match self {
            Packet::Bind(bind) => {
                let mut el = Element::bare("bind", ns::COMPONENT);
                set(&mut el, xml_ncname!("name"), &bind.name);
                if bind.multi {
                    set(&mut el, xml_ncname!("multi"), &Some("to".into()));
                }
                set(&mut el, xml_ncname!("error"), &bind.error);
                if bind.default {
                    el.append_child(Element::bare("default", ns::COMPONENT));
                }
                if bind.log {
                    el.append_child(Element::bare("log", ns::COMPONENT));
                }
                el
            }
            Packet::Unbind { name, error } => {
                let mut el = Element::bare("unbind", ns::COMPONENT);
                set(&mut el, xml_ncname!("name"), name);
                set(&mut el, xml_ncname!("error"), error);
                el
            }
            Packet::Route(route) => route.to_element(),
            Packet::Throttle => Element::bare("throttle", ns::COMPONENT),
            Packet::Presence { from, available } => {
                let mut el = Element::bare("presence", ns::COMPONENT);
                set(&mut el, xml_ncname!("from"), &Some(from.clone()));
                if !available {
                    set(&mut el, xml_ncname!("type"), &Some("unavailable".into()));
                }
                el
            }
        }
    }
}

impl Route {
    /// The envelope.
    pub fn head(&self) -> RouteHead<'_> {
        RouteHead {
            to: self.to.as_deref(),
            from: self.from.as_deref(),
            kind: self.kind,
            error: self.error.as_deref(),
        }
    }

    /// The `<route/>` element (its payload is cloned; see [`Route::into_element`] to avoid that).
    pub fn to_element(&self) -> Element {
        self.clone().into_element()
    }

    /// The `<route/>` element, moving the payload in.
    pub fn into_element(self) -> Element {
        let mut el = Element::bare("route", ns::COMPONENT);
        set(&mut el, xml_ncname!("to"), &self.to);
        set(&mut el, xml_ncname!("from"), &self.from);
        let kind = self.kind.attr().map(str::to_owned);
        set(&mut el, xml_ncname!("type"), &kind);
        set(&mut el, xml_ncname!("error"), &self.error);
        if let Some(payload) = self.payload {
            el.append_child(payload);
        }
        el
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        xml.parse().expect("test XML parses")
    }

    #[test]
    fn bind_with_children_round_trips() {
        let el = parse(
            "<bind xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' name='s2s' multi='to'><default/><log/></bind>",
        );
        let packet = Packet::from_element(el).expect("a bind");
        let Packet::Bind(bind) = &packet else {
            panic!("not a bind: {packet:?}")
        };
        assert_eq!(bind.name.as_deref(), Some("s2s"));
        assert!(bind.multi && bind.default && bind.log);
        assert_eq!(Packet::from_element(packet.to_element()), Ok(packet));
    }

    #[test]
    fn route_payload_is_moved_out() {
        let el = parse(
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='a' from='b' error='404'><message xmlns='jabber:client' to='x@a'><body>hi</body></message></route>",
        );
        let Ok(Packet::Route(route)) = Packet::from_element(el) else {
            panic!("not a route")
        };
        assert_eq!(route.kind, RouteKind::Unicast);
        assert_eq!(route.error.as_deref(), Some("404"));
        let payload = route.payload.clone().expect("payload");
        assert!(payload.is("message", ns::CLIENT));
        let back = route.clone().into_element();
        assert_eq!(back.attr("to"), Some("a"));
        assert_eq!(Packet::from_element(back), Ok(Packet::Route(route)));
    }

    #[test]
    fn foreign_elements_are_not_packets() {
        let el = parse("<message xmlns='jabber:client'/>");
        assert!(Packet::from_element(el).is_err());
        let el =
            parse("<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' type='bogus'/>");
        assert!(Packet::from_element(el).is_err());
    }

    #[test]
    fn route_start_declares_the_component_namespace() {
        assert_eq!(ROUTE_START, format!("<route xmlns='{}'", ns::COMPONENT));
    }

    #[test]
    fn unavailable_advertisement() {
        let packet = Packet::Presence {
            from: "muc".into(),
            available: false,
        };
        let el = packet.to_element();
        assert_eq!(el.attr("type"), Some("unavailable"));
        assert_eq!(Packet::from_element(el), Ok(packet));
    }
}
