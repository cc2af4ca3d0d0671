//! A route as the router carries it: as the bytes it arrived in (the fast path for routes from
//! native components), or parsed into a tree (stanzas from XEP-0114 components, and routes the
//! fast path left to the full parser).

use bytes::{Bytes, BytesMut};
use component::route_error::{condition_for, stanza_error};
use component::{RawRoute, Route, RouteHead};
use minidom::Element;
use xml_stream::ns;
use xml_stream::writer::{stanza_bytes, write_stanza};

pub enum Carried {
    Raw(RawRoute),
    Tree(Route),
}

impl Carried {
    /// The envelope (read once: it is looked up, not stored).
    pub fn head(&self) -> RouteHead<'_> {
        match self {
            Carried::Raw(route) => route.head(),
            Carried::Tree(route) => route.head(),
        }
    }

    /// The local name of the payload (`message`, `presence`, `iq`, `session`, …).
    pub fn payload_name(&self) -> Option<&str> {
        match self {
            Carried::Raw(route) => route.payload().map(|p| p.name()),
            Carried::Tree(route) => route.payload.as_ref().map(Element::name),
        }
    }

    /// An attribute (in no namespace) of the payload.
    pub fn payload_attr<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        match self {
            Carried::Raw(route) => route.payload().and_then(|p| p.attr(name)),
            Carried::Tree(route) => route.payload.as_ref().and_then(|p| p.attr(name)),
        }
    }

    /// The route for a native component, with `head` (its own, or one changed from it).
    pub fn native_bytes(&self, head: &RouteHead) -> Bytes {
        match self {
            Carried::Raw(route) => {
                let mut out = BytesMut::new();
                route.write(head, &mut out);
                out.freeze()
            }
            Carried::Tree(route) => {
                let mut out = BytesMut::with_capacity(256);
                let payload = route.payload.as_ref().map(|payload| {
                    move |out: &mut BytesMut| write_stanza(payload, Some(ns::COMPONENT), out)
                });
                head.write(&mut out, payload);
                out.freeze()
            }
        }
    }

    /// What an XEP-0114 component gets: the stanza without the envelope; with `error` (a
    /// bounce), the stanza error it means. `None` when there is nothing to send.
    pub fn accept_bytes(&self, error: Option<&str>) -> Option<Bytes> {
        let payload = match self {
            Carried::Raw(route) => match route.payload()?.to_element() {
                Ok(payload) => payload,
                Err(e) => {
                    tracing::warn!("a checked payload did not parse again: {e}");
                    return None;
                }
            },
            Carried::Tree(route) => route.payload.clone()?,
        };
        let stanza = match error {
            Some(code) => stanza_error(payload, condition_for(code))?,
            None => payload,
        };
        Some(stanza_bytes(&stanza, Some(ns::CLIENT)))
    }
}
