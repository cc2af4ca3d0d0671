//! A route kept as the bytes it arrived in: its envelope is read in place and its payload is
//! forwarded as received, without building a tree (the router's fast path).

use std::sync::LazyLock;

use bytes::BytesMut;
use xml_stream::{ns, RawChild, RawElement, Scope, Wanted};

use crate::wire::{NotAPacket, RouteHead, RouteKind};

/// The namespaces a payload sees inside a route that [`RouteHead`] writes on a component stream.
static IN_ROUTE: LazyLock<Scope> = LazyLock::new(|| Scope {
    default_ns: ns::COMPONENT.into(),
    prefixes: vec![("stream".into(), ns::STREAMS.into())],
});

/// A `<route/>` as received.
#[derive(Debug)]
pub struct RawRoute {
    element: RawElement,
    kind: RouteKind,
}

impl RawRoute {
    /// What to capture as bytes on a component stream: routes.
    pub const CAPTURE: Wanted = &[(ns::COMPONENT, "route")];

    pub fn new(element: RawElement) -> Result<RawRoute, NotAPacket> {
        if !element.is("route", ns::COMPONENT) {
            return Err(NotAPacket {
                name: element.name().to_owned(),
                namespace: element.ns().to_owned(),
            });
        }
        let kind = RouteKind::from_attr(element.attr("type")).ok_or_else(NotAPacket::route)?;
        Ok(RawRoute { element, kind })
    }

    /// The envelope: `to`, `from`, `type` and, on a bounce, `error`.
    pub fn head(&self) -> RouteHead<'_> {
        RouteHead {
            to: self.element.attr("to"),
            from: self.element.attr("from"),
            kind: self.kind,
            error: self.element.attr("error"),
        }
    }

    /// The stanza or control element inside (the first child element).
    pub fn payload(&self) -> Option<RawChild<'_>> {
        self.element.children().next()
    }

    /// Writes `head` (this route's own, or one changed from it) around the payload as received.
    pub fn write(&self, head: &RouteHead, out: &mut BytesMut) {
        // Room for the envelope as received, and for a type and an error it may gain.
        out.reserve(self.element.bytes().len() + 32);
        let payload = self.payload();
        head.write(
            out,
            payload.map(|p| move |out: &mut BytesMut| p.write_into(&IN_ROUTE, out)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xml_stream::{Limits, Stanza, StreamEvent, StreamParser};

    fn raw_route(stanza: &str) -> Result<RawRoute, NotAPacket> {
        let header = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>";
        let mut parser = StreamParser::new(Limits::default());
        parser.set_capture(RawRoute::CAPTURE);
        let mut buf = BytesMut::from(format!("{header}{stanza}").as_bytes());
        let _ = parser.next_frame(&mut buf);
        match parser.next_frame(&mut buf) {
            Ok(Some(StreamEvent::Stanza(Stanza::Raw(raw)))) => RawRoute::new(raw),
            other => panic!("not captured: {other:?}"),
        }
    }

    #[test]
    fn envelope_and_payload() {
        let route = raw_route(
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' \
             xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' to='c2s' from='sm' \
             type='broadcast'><sc:session action='started' sc:sm='s1'/></route>",
        )
        .expect("a route");
        let head = route.head();
        assert_eq!(head.to, Some("c2s"));
        assert_eq!(head.from, Some("sm"));
        assert_eq!(head.kind, RouteKind::Broadcast);
        assert_eq!(head.error, None);
        assert_eq!(route.payload().map(|p| p.name()), Some("session"));
        let mut out = BytesMut::new();
        let bounce = RouteHead {
            error: Some("404"),
            ..head
        };
        route.write(&bounce, &mut out);
        assert_eq!(
            std::str::from_utf8(&out).expect("UTF-8"),
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='c2s' \
             from='sm' type='broadcast' error='404'><sc:session \
             xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0' action='started' \
             sc:sm='s1'/></route>"
        );
    }

    #[test]
    fn empty_route_and_unknown_type() {
        let route = raw_route(
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='x' from='y'/>",
        )
        .expect("a route");
        let mut out = BytesMut::new();
        let log = RouteHead {
            kind: RouteKind::Log,
            ..route.head()
        };
        route.write(&log, &mut out);
        assert_eq!(
            std::str::from_utf8(&out).expect("UTF-8"),
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='x' from='y' \
             type='log'/>"
        );
        let bogus = raw_route(
            "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' type='bogus'/>",
        );
        assert_eq!(bogus.err(), Some(NotAPacket::route()));
    }
}
