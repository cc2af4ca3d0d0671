//! What the components send each other: route names, who sends to whom, the route bytes, and
//! reading an arrival back.

use std::fmt::Write as _;

use bytes::BytesMut;
use minidom::Element;
use xml_stream::ns;

/// Component names and the traffic pattern.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Account and route name prefix: components are `<prefix>1` … `<prefix>N`.
    pub prefix: String,
    pub components: usize,
    /// Every component sends to every other one in turn, instead of only to its successor.
    pub all_to_all: bool,
}

impl Plan {
    /// The name of component `index` (0-based): `bench1` for 0.
    pub fn name(&self, index: usize) -> String {
        format!("{}{}", self.prefix, index + 1)
    }

    /// The index of a component name, if it is one of ours.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let n: usize = name.strip_prefix(&self.prefix)?.parse().ok()?;
        (1..=self.components).contains(&n).then(|| n - 1)
    }

    /// The receivers of sender `index`, in the order it cycles through them.
    pub fn targets(&self, index: usize) -> Vec<usize> {
        let n = self.components;
        if self.all_to_all && n > 2 {
            (1..n).map(|k| (index + k) % n).collect()
        } else {
            vec![(index + 1) % n]
        }
    }
}

/// Builds routes from one sender; the body is fixed, the id carries sequence and send time.
pub struct RouteWriter {
    from: String,
    targets: Vec<String>,
    body: String,
    next_target: usize,
    seq: u64,
}

impl RouteWriter {
    pub fn new(plan: &Plan, index: usize, body_bytes: usize) -> Self {
        let body = "0123456789abcdefghijklmnopqrstuvwxyz"
            .chars()
            .cycle()
            .take(body_bytes)
            .collect();
        RouteWriter {
            from: plan.name(index),
            targets: plan
                .targets(index)
                .into_iter()
                .map(|t| plan.name(t))
                .collect(),
            body,
            next_target: 0,
            seq: 0,
        }
    }

    /// Appends one route, stamped with `sent_ns` (nanoseconds since the run started).
    pub fn write(&mut self, sent_ns: u64, out: &mut BytesMut) {
        let to = &self.targets[self.next_target];
        self.next_target = (self.next_target + 1) % self.targets.len();
        self.seq += 1;
        // Writing into a BytesMut cannot fail.
        let _ = write!(
            out,
            "<route xmlns='{}' to='{to}' from='{from}'>\
             <message xmlns='{}' to='u@{to}' from='u@{from}' id='{seq}-{sent_ns}'>\
             <body>{body}</body></message></route>",
            ns::COMPONENT,
            ns::CLIENT,
            from = self.from,
            seq = self.seq,
            body = self.body,
        );
    }
}

/// What a receiver makes of a top-level element.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival {
    /// One of our routes: its sender's index and send time.
    Route { sender: usize, sent_ns: u64 },
    /// One of our routes, bounced by the router (`error` attribute).
    Bounced { sender: usize },
    /// Anything else (presence advertisements, foreign routes): ignored.
    Other,
}

pub fn classify(plan: &Plan, el: &Element) -> Arrival {
    if !el.is("route", ns::COMPONENT) {
        return Arrival::Other;
    }
    let Some(sender) = el.attr("from").and_then(|f| plan.index_of(f)) else {
        return Arrival::Other;
    };
    if el.attr("error").is_some() {
        return Arrival::Bounced { sender };
    }
    let sent_ns = el
        .children()
        .next()
        .and_then(|m| m.attr("id"))
        .and_then(|id| id.rsplit_once('-'))
        .and_then(|(_, stamp)| stamp.parse().ok());
    match sent_ns {
        Some(sent_ns) => Arrival::Route { sender, sent_ns },
        None => Arrival::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xml_stream::{Limits, StreamEvent, StreamParser};

    fn plan(all_to_all: bool) -> Plan {
        Plan {
            prefix: "bench".into(),
            components: 4,
            all_to_all,
        }
    }

    #[test]
    fn names_and_targets() {
        let p = plan(false);
        assert_eq!(p.name(0), "bench1");
        assert_eq!(p.index_of("bench4"), Some(3));
        assert_eq!(p.index_of("bench5"), None);
        assert_eq!(p.index_of("other1"), None);
        assert_eq!(p.targets(3), vec![0]);
        assert_eq!(plan(true).targets(1), vec![2, 3, 0]);
    }

    #[test]
    fn a_written_route_parses_back() {
        let p = plan(false);
        let mut w = RouteWriter::new(&p, 1, 100);
        let mut out = BytesMut::new();
        out.extend_from_slice(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>");
        w.write(123_456, &mut out);
        let mut parser = StreamParser::new(Limits::default());
        let mut data: &[u8] = &out;
        assert!(matches!(
            parser.next_event(&mut data),
            Ok(Some(StreamEvent::Header(_)))
        ));
        let Ok(Some(StreamEvent::Stanza(el))) = parser.next_event(&mut data) else {
            panic!("no stanza");
        };
        assert_eq!(el.attr("to"), Some("bench3"));
        assert_eq!(
            el.children()
                .next()
                .unwrap()
                .get_child("body", ns::CLIENT)
                .unwrap()
                .text()
                .len(),
            100
        );
        assert_eq!(
            classify(&p, &el),
            Arrival::Route {
                sender: 1,
                sent_ns: 123_456
            }
        );
    }
}
