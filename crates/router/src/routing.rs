//! What happens to each packet an authenticated component sends: binds, unbinds, throttling,
//! and routes through the delivery tree (unicast, broadcast, log copies, bounces).

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use component::route_error::code_for;
use component::wire::{Bind, NotAPacket, Packet, Route, RouteHead, RouteKind};
use component::RawRoute;
use minidom::Element;
use xml_stream::io::{ReadError, StreamReader};
use xml_stream::writer::stanza_bytes;
use xml_stream::{ns, Stanza, StreamError, StreamErrorCondition, StreamEvent};

use crate::carried::Carried;
use crate::config::RouteMode;
use crate::filter::{self, Verdict};
use crate::link::{Link, Protocol};
use crate::server::{Router, Settings};
use crate::tree::{choose, BindRequest, Refusal, Tree};

/// The state of one connection's session: the names it holds.
struct Session<'a> {
    router: &'a Router,
    link: &'a Arc<Link>,
    bound: Vec<String>,
    /// Whether the component was told which names exist (on its first bind, once).
    told_names: bool,
}

/// Reads and handles packets until the connection ends, then takes it out of the tree.
pub async fn run(router: &Router, link: &Arc<Link>, mut reader: StreamReader) {
    let mut session = Session {
        router,
        link,
        bound: Vec::new(),
        told_names: false,
    };
    match link.protocol {
        Protocol::Accept => session.bind_accept_component(),
        // Routes are forwarded as the bytes they came in; everything else is parsed.
        Protocol::Native => reader.capture(RawRoute::CAPTURE),
    }
    loop {
        let event = tokio::select! {
            event = reader.next_frame() => event,
            _ = link.closed().cancelled() => break,
        };
        match event {
            Ok(StreamEvent::Stanza(el)) => {
                if let Err(error) = session.handle(el) {
                    tracing::info!(link = link.id, account = %link.account, "closing: {error}");
                    link.close_with(error);
                    break;
                }
            }
            Ok(StreamEvent::Footer) => {
                link.finish();
                break;
            }
            Ok(StreamEvent::Header(_)) => {
                link.close_with(StreamError::with_text(
                    StreamErrorCondition::NotWellFormed,
                    "unexpected stream header",
                ));
                break;
            }
            Err(ReadError::Parse(e)) => {
                tracing::info!(link = link.id, account = %link.account, "bad input: {e}");
                link.close_with(e.into());
                break;
            }
            Err(e) => {
                tracing::debug!(link = link.id, "read ended: {e}");
                // Ends the writer too, which would otherwise wait for output that never comes.
                link.finish();
                break;
            }
        }
    }
    session.leave();
}

/// A route on its way out, with the envelope it goes out with, serialised at most once per
/// wire form.
struct Outgoing<'a> {
    route: &'a Carried,
    head: RouteHead<'a>,
    native: OnceCell<Bytes>,
    accept: OnceCell<Option<Bytes>>,
}

impl<'a> Outgoing<'a> {
    fn new(route: &'a Carried, head: RouteHead<'a>) -> Outgoing<'a> {
        Outgoing {
            route,
            head,
            native: OnceCell::new(),
            accept: OnceCell::new(),
        }
    }

    fn send_to(&self, link: &Link) {
        let bytes = match link.protocol {
            Protocol::Native => Some(
                self.native
                    .get_or_init(|| self.route.native_bytes(&self.head)),
            ),
            Protocol::Accept => self
                .accept
                .get_or_init(|| self.route.accept_bytes(self.head.error))
                .as_ref(),
        };
        if let Some(bytes) = bytes {
            link.deliver(bytes.clone());
        }
    }

    /// Sends to the last receiver: the bytes are handed over, not shared (sharing costs an
    /// allocation per route).
    fn finish(self, link: &Link) {
        let bytes = match link.protocol {
            Protocol::Native => Some(
                self.native
                    .into_inner()
                    .unwrap_or_else(|| self.route.native_bytes(&self.head)),
            ),
            Protocol::Accept => self
                .accept
                .into_inner()
                .unwrap_or_else(|| self.route.accept_bytes(self.head.error)),
        };
        if let Some(bytes) = bytes {
            link.deliver(bytes);
        }
    }
}

/// The domain part of a JID (RFC 7622 §3.2): what the router routes on.
fn domain_of(jid: &str) -> Option<Cow<'_, str>> {
    // '/', '@' and '.' are ASCII, so byte positions are character boundaries.
    let bytes = jid.as_bytes();
    let bare_end = bytes.iter().position(|&b| b == b'/').unwrap_or(bytes.len());
    let bare = &jid[..bare_end];
    let domain_start = bare.bytes().rposition(|b| b == b'@').map_or(0, |at| at + 1);
    let domain = &bare[domain_start..];
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let forbidden =
        |c: char| c.is_whitespace() || c.is_control() || matches!(c, '@' | '/' | '"' | '\'');
    let valid = !domain.is_empty()
        && domain.len() <= 1023
        && !match domain.is_ascii() {
            // The usual case, byte by byte: ASCII white space and controls are all below '!'.
            true => domain
                .bytes()
                .any(|b| b < b'!' || b == 0x7f || matches!(b, b'@' | b'/' | b'"' | b'\'')),
            false => domain.chars().any(forbidden),
        };
    valid.then(|| lowercase(domain))
}

/// `name` in lower case, borrowed when it already is (as names nearly always are).
fn lowercase(name: &str) -> Cow<'_, str> {
    if name
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Cow::Owned(name.to_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// The bare JID a multi route hashes on: the stanza's `to`, else its `target` (session control),
/// else the route's own `to`.
fn hash_subject(route: &Carried, head: &RouteHead) -> String {
    let jid = route
        .payload_attr("to")
        .or_else(|| route.payload_attr("target"))
        .or(head.to)
        .unwrap_or_default();
    jid.split_once('/')
        .map_or(jid, |(bare, _)| bare)
        .to_lowercase()
}

/// The answer to an element that is not a packet of the component protocol.
fn unsupported(e: NotAPacket) -> StreamError {
    StreamError::with_text(StreamErrorCondition::UnsupportedStanzaType, e.to_string())
}

impl Session<'_> {
    fn handle(&mut self, stanza: Stanza) -> Result<(), StreamError> {
        let el = match stanza {
            Stanza::Raw(raw) => {
                let route = RawRoute::new(raw).map_err(unsupported)?;
                self.route(Carried::Raw(route));
                return Ok(());
            }
            Stanza::Tree(el) => el,
        };
        if self.link.protocol == Protocol::Accept {
            return self.handle_stanza(el);
        }
        match Packet::from_element(el) {
            Ok(Packet::Bind(bind)) => self.bind(bind),
            Ok(Packet::Unbind { name, .. }) => self.unbind(name),
            Ok(Packet::Route(route)) => self.route(Carried::Tree(route)),
            Ok(Packet::Throttle) => {
                // The echo first: when held packets are released they follow it.
                self.link.reply(&Packet::Throttle.to_element());
                self.link.toggle_throttle();
            }
            Ok(Packet::Presence { .. }) => {
                tracing::debug!(link = self.link.id, "ignoring a presence from a component");
            }
            Err(e) => return Err(unsupported(e)),
        }
        Ok(())
    }

    /// A stanza from an XEP-0114 component: wrapped in a route from its domain.
    fn handle_stanza(&mut self, stanza: Element) -> Result<(), StreamError> {
        if !matches!(stanza.name(), "message" | "presence" | "iq") || stanza.ns() != ns::CLIENT {
            return Err(StreamError::with_text(
                StreamErrorCondition::UnsupportedStanzaType,
                format!("<{}/> is not a stanza", stanza.name()),
            ));
        }
        let (Some(to), Some(from)) = (
            stanza.attr("to").and_then(domain_of).map(Cow::into_owned),
            stanza.attr("from").and_then(domain_of).map(Cow::into_owned),
        ) else {
            return Err(StreamError::with_text(
                StreamErrorCondition::ImproperAddressing,
                "a component's stanza needs valid 'to' and 'from' addresses",
            ));
        };
        self.route(Carried::Tree(Route::unicast(to, from, stanza)));
        Ok(())
    }

    fn settings(&self) -> Arc<Settings> {
        self.router.settings()
    }

    fn refuse_bind(&self, mut bind: Bind, refusal: Refusal) {
        tracing::info!(link = self.link.id, account = %self.link.account, name = ?bind.name, code = refusal.code(), "bind refused");
        bind.error = Some(refusal.code().into());
        self.link.reply(&Packet::Bind(bind).to_element());
    }

    fn bind(&mut self, bind: Bind) {
        let settings = self.settings();
        let Some(name) = bind
            .name
            .as_deref()
            .and_then(domain_of)
            .map(Cow::into_owned)
        else {
            return self.refuse_bind(bind, Refusal::BadRequest);
        };
        if settings.config.aliases.contains_key(&name) {
            return self.refuse_bind(bind, Refusal::Conflict);
        }
        let Some(user) = settings.config.users.get(&self.link.account) else {
            return self.refuse_bind(bind, Refusal::Forbidden);
        };
        let may_bind = if user.bind.is_empty() {
            name == self.link.account
        } else {
            user.bind.iter().any(|p| crate::pattern::matches(p, &name))
        };
        if !may_bind || (bind.default && !user.default_route) || (bind.log && !user.log) {
            return self.refuse_bind(bind, Refusal::Forbidden);
        }
        let mode = match settings.config.routes.get(&name) {
            Some(route) => route.mode,
            None if bind.multi => RouteMode::Multi,
            None => RouteMode::Single,
        };
        let request = BindRequest {
            name: &name,
            mode,
            default_route: bind.default,
            log_sink: bind.log,
        };
        let mut tree = self.router.tree_mut();
        let appeared = match tree.bind(self.link, &request) {
            Ok(appeared) => appeared,
            Err(refusal) => {
                drop(tree);
                return self.refuse_bind(bind, refusal);
            }
        };
        if self.bound.is_empty() {
            self.link.set_hash_key(&name);
        }
        self.bound.push(name.clone());
        let reply = Bind {
            name: None,
            error: None,
            ..bind
        };
        self.link.reply(&Packet::Bind(reply).to_element());
        tracing::info!(link = self.link.id, account = %self.link.account, %name, ?mode, "bound");
        if appeared {
            advertise(&tree, &settings, &name, true, self.link.id);
        }
        if !self.told_names {
            self.told_names = true;
            self.tell_names(&tree, &settings);
        }
    }

    /// Sends a newly bound component one advertisement per name that exists (not its own).
    fn tell_names(&self, tree: &Tree, settings: &Settings) {
        let own: HashSet<&String> = self.bound.iter().collect();
        let mut names: Vec<&String> = tree.names().filter(|n| !own.contains(n)).collect();
        let aliases = settings
            .config
            .aliases
            .iter()
            .filter(|(_, target)| tree.lookup(target).is_some())
            .map(|(alias, _)| alias);
        names.extend(aliases);
        for name in names {
            let presence = Packet::Presence {
                from: name.clone(),
                available: true,
            };
            self.link.reply(&presence.to_element());
        }
    }

    /// An XEP-0114 component holds its stream's name from the handshake on.
    fn bind_accept_component(&mut self) {
        let settings = self.settings();
        let name = self.link.account.clone();
        let mode = settings
            .config
            .routes
            .get(&name)
            .map_or(RouteMode::Single, |r| r.mode);
        let request = BindRequest {
            name: &name,
            mode,
            default_route: false,
            log_sink: false,
        };
        let mut tree = self.router.tree_mut();
        match tree.bind(self.link, &request) {
            Ok(appeared) => {
                self.link.set_hash_key(&name);
                self.bound.push(name.clone());
                if appeared {
                    advertise(&tree, &settings, &name, true, self.link.id);
                }
            }
            Err(_) => {
                drop(tree);
                tracing::info!(link = self.link.id, %name, "component name already connected");
                self.link.close_with(StreamError::with_text(
                    StreamErrorCondition::Conflict,
                    format!("{name} is already connected"),
                ));
            }
        }
    }

    fn unbind(&mut self, name: Option<String>) {
        let reply = |error: Option<&str>| Packet::Unbind {
            name: None,
            error: error.map(str::to_owned),
        };
        let Some(name) = name.as_deref().and_then(domain_of).map(Cow::into_owned) else {
            return self
                .link
                .reply(&reply(Some(Refusal::BadRequest.code())).to_element());
        };
        let settings = self.settings();
        let mut tree = self.router.tree_mut();
        match tree.unbind(self.link, &name) {
            Ok(gone) => {
                self.bound.retain(|n| *n != name);
                self.link.reply(&reply(None).to_element());
                if gone {
                    advertise(&tree, &settings, &name, false, self.link.id);
                }
            }
            Err(refusal) => self.link.reply(&reply(Some(refusal.code())).to_element()),
        }
    }

    /// Whether this connection may send from `domain`: it bound it, or an alias of it.
    fn owns(&self, settings: &Settings, domain: &str) -> bool {
        self.bound.iter().any(|n| n == domain)
            || settings
                .config
                .aliases
                .get(domain)
                .is_some_and(|target| self.bound.contains(target))
    }

    fn bounce(&self, route: &Carried, head: RouteHead, code: &str) {
        tracing::debug!(link = self.link.id, to = ?head.to, from = ?head.from, code, "bouncing a route");
        let bounced = RouteHead {
            error: Some(code),
            ..head
        };
        Outgoing::new(route, bounced).finish(self.link);
    }

    /// Routes what a component sent; what goes on carries no error (bounces stop here).
    fn route(&mut self, route: Carried) {
        let head = route.head();
        // A bounce never bounces again: that is how loops end.
        if head.error.is_some() {
            return;
        }
        match head.kind {
            RouteKind::Unicast => self.unicast(&route, head),
            RouteKind::Broadcast => self.broadcast(&route, head),
            RouteKind::Log => {}
        }
    }

    fn broadcast(&self, route: &Carried, head: RouteHead) {
        let settings = self.settings();
        match head.from.and_then(domain_of) {
            None => return self.bounce(route, head, "400"),
            Some(from) if !self.owns(&settings, &from) => return self.bounce(route, head, "401"),
            Some(_) => {}
        }
        let outgoing = Outgoing::new(route, head);
        let tree = self.router.tree();
        for link in tree.links().filter(|l| l.id != self.link.id) {
            outgoing.send_to(link);
        }
    }

    fn unicast(&self, route: &Carried, head: RouteHead) {
        let settings = self.settings();
        let (Some(to), Some(from)) = (head.to.and_then(domain_of), head.from.and_then(domain_of))
        else {
            return self.bounce(route, head, "400");
        };
        if !self.owns(&settings, &from) {
            return self.bounce(route, head, "401");
        }
        let rules = &settings.config.filters;
        let verdict = if rules.is_empty() {
            Verdict::Pass
        } else {
            let payload = filter::Payload {
                kind: route.payload_name(),
                from: route.payload_attr("from"),
                to: route.payload_attr("to"),
            };
            filter::apply(rules, payload)
        };
        let target = match verdict {
            Verdict::Pass => to,
            Verdict::Deny(condition) => return self.bounce(route, head, code_for(&condition)),
            Verdict::Redirect(name) => Cow::Owned(name),
        };
        let destination = settings
            .config
            .aliases
            .get(target.as_ref())
            .map_or(target.as_ref(), String::as_str);
        let tree = self.router.tree();
        let configured = settings.config.routes.get(destination);
        let bound = tree.lookup(destination);
        let mode = configured.map(|c| c.mode).or(bound.map(|(mode, _)| mode));
        // Borrowed from the tree unless other names add to it.
        let mut pool: Cow<[Arc<Link>]> = Cow::Borrowed(bound.map_or(&[][..], |(_, m)| m));
        for name in configured.map_or(&[][..], |c| c.choose_from.as_slice()) {
            if let Some((_, members)) = tree.lookup(name) {
                pool.to_mut().extend(members.iter().cloned());
            }
        }
        if pool.is_empty() {
            match tree.default_route() {
                Some(default) if default.id != self.link.id => {
                    pool = Cow::Borrowed(std::slice::from_ref(default))
                }
                _ => {
                    drop(tree);
                    return self.bounce(route, head, "404");
                }
            }
        }
        let sinks = tree.log_sinks();
        if !sinks.is_empty() {
            let log_copy = Outgoing::new(
                route,
                RouteHead {
                    kind: RouteKind::Log,
                    ..head
                },
            );
            for sink in sinks {
                log_copy.send_to(sink);
            }
        }
        let outgoing = Outgoing::new(route, head);
        let copies = configured.map_or(&[][..], |c| c.copy_to.as_slice());
        match mode.unwrap_or_default() {
            RouteMode::Fanout => pool.iter().for_each(|link| outgoing.send_to(link)),
            RouteMode::Single | RouteMode::Multi => {
                // One candidate needs no choosing (nor the subject to choose by).
                let chosen = match pool.as_ref() {
                    [only] => Some(only),
                    _ => choose(&pool, &hash_subject(route, &head)),
                };
                match chosen {
                    Some(link) if copies.is_empty() => return outgoing.finish(link),
                    Some(link) => outgoing.send_to(link),
                    None => {}
                }
            }
        }
        for name in copies {
            if let Some((_, members)) = tree.lookup(name) {
                members.iter().for_each(|link| outgoing.send_to(link));
            }
        }
    }

    /// The connection is gone: its names go away, and others are told.
    fn leave(&mut self) {
        let settings = self.settings();
        let mut tree = self.router.tree_mut();
        let gone = tree.remove_link(self.link, &self.bound);
        for name in gone {
            advertise(&tree, &settings, &name, false, self.link.id);
        }
        self.bound.clear();
    }
}

/// Tells every other native component that `name` (and its aliases) came or went — once per
/// connection, however many names that connection holds.
fn advertise(tree: &Tree, settings: &Settings, name: &str, available: bool, except: u64) {
    let aliases = settings
        .config
        .aliases
        .iter()
        .filter(|(_, target)| *target == name)
        .map(|(alias, _)| alias.as_str());
    for advertised in std::iter::once(name).chain(aliases) {
        let packet = Packet::Presence {
            from: advertised.to_owned(),
            available,
        };
        let bytes = stanza_bytes(&packet.to_element(), None);
        for link in tree.native_links().filter(|l| l.id != except) {
            link.deliver(bytes.clone());
        }
    }
}
