//! What happens to each packet an authenticated component sends: binds, unbinds, throttling,
//! and routes through the delivery tree (unicast, broadcast, log copies, bounces).

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use component::route_error::{code_for, condition_for, stanza_error};
use component::wire::{Bind, Packet, Route, RouteKind};
use minidom::Element;
use xml_stream::io::{ReadError, StreamReader};
use xml_stream::writer::stanza_bytes;
use xml_stream::{ns, StreamError, StreamErrorCondition, StreamEvent};

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
    if link.protocol == Protocol::Accept {
        session.bind_accept_component();
    }
    loop {
        let event = tokio::select! {
            event = reader.next_event() => event,
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
                break;
            }
        }
    }
    session.leave();
}

/// A route on its way out, serialised at most once per wire form.
struct Outgoing {
    route: Element,
    native: OnceCell<Bytes>,
    accept: OnceCell<Option<Bytes>>,
}

impl Outgoing {
    fn new(route: Route) -> Outgoing {
        Outgoing {
            route: route.into_element(),
            native: OnceCell::new(),
            accept: OnceCell::new(),
        }
    }

    fn send_to(&self, link: &Link) {
        match link.protocol {
            Protocol::Native => link.deliver(
                self.native
                    .get_or_init(|| stanza_bytes(&self.route, None))
                    .clone(),
            ),
            Protocol::Accept => {
                if let Some(bytes) = self.accept.get_or_init(|| self.unwrapped()) {
                    link.deliver(bytes.clone());
                }
            }
        }
    }

    /// XEP-0114 components get the stanza without the envelope; a bounce becomes a stanza error.
    fn unwrapped(&self) -> Option<Bytes> {
        let payload = self.route.children().next()?.clone();
        let stanza = match self.route.attr("error") {
            Some(code) => stanza_error(payload, condition_for(code))?,
            None => payload,
        };
        Some(stanza_bytes(&stanza, Some(ns::CLIENT)))
    }
}

/// The domain part of a JID (RFC 7622 §3.2): what the router routes on.
fn domain_of(jid: &str) -> Option<String> {
    let without_resource = jid.split_once('/').map_or(jid, |(bare, _)| bare);
    let domain = without_resource
        .rsplit_once('@')
        .map_or(without_resource, |(_, d)| d);
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let valid = !domain.is_empty()
        && domain.len() <= 1023
        && !domain
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '/' | '"' | '\''));
    valid.then(|| domain.to_lowercase())
}

/// The bare JID a multi route hashes on: the stanza's `to`, else its `target` (session control),
/// else the route's own `to`.
fn hash_subject(route: &Route) -> String {
    let jid = route
        .payload
        .as_ref()
        .and_then(|p| p.attr("to").or_else(|| p.attr("target")))
        .or(route.to.as_deref())
        .unwrap_or_default();
    jid.split_once('/')
        .map_or(jid, |(bare, _)| bare)
        .to_lowercase()
}

impl Session<'_> {
    fn handle(&mut self, el: Element) -> Result<(), StreamError> {
        if self.link.protocol == Protocol::Accept {
            return self.handle_stanza(el);
        }
        match Packet::from_element(el) {
            Ok(Packet::Bind(bind)) => self.bind(bind),
            Ok(Packet::Unbind { name, .. }) => self.unbind(name),
            Ok(Packet::Route(route)) => self.route(route),
            Ok(Packet::Throttle) => {
                // The echo first: when held packets are released they follow it.
                self.link.reply(&Packet::Throttle.to_element());
                self.link.toggle_throttle();
            }
            Ok(Packet::Presence { .. }) => {
                tracing::debug!(link = self.link.id, "ignoring a presence from a component");
            }
            Err(e) => {
                return Err(StreamError::with_text(
                    StreamErrorCondition::UnsupportedStanzaType,
                    e.to_string(),
                ))
            }
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
            stanza.attr("to").and_then(domain_of),
            stanza.attr("from").and_then(domain_of),
        ) else {
            return Err(StreamError::with_text(
                StreamErrorCondition::ImproperAddressing,
                "a component's stanza needs valid 'to' and 'from' addresses",
            ));
        };
        self.route(Route::unicast(to, from, stanza));
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
        let Some(name) = bind.name.as_deref().and_then(domain_of) else {
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
        let Some(name) = name.as_deref().and_then(domain_of) else {
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

    fn bounce(&self, mut route: Route, code: &str) {
        tracing::debug!(link = self.link.id, to = ?route.to, from = ?route.from, code, "bouncing a route");
        route.error = Some(code.to_owned());
        Outgoing::new(route).send_to(self.link);
    }

    fn route(&mut self, route: Route) {
        // A bounce never bounces again: that is how loops end.
        if route.error.is_some() {
            return;
        }
        match route.kind {
            RouteKind::Unicast => self.unicast(route),
            RouteKind::Broadcast => self.broadcast(route),
            RouteKind::Log => {}
        }
    }

    fn broadcast(&self, route: Route) {
        let settings = self.settings();
        match route.from.as_deref().and_then(domain_of) {
            None => return self.bounce(route, "400"),
            Some(from) if !self.owns(&settings, &from) => return self.bounce(route, "401"),
            Some(_) => {}
        }
        let outgoing = Outgoing::new(route);
        let tree = self.router.tree();
        for link in tree.links().filter(|l| l.id != self.link.id) {
            outgoing.send_to(link);
        }
    }

    fn unicast(&self, route: Route) {
        let settings = self.settings();
        let (Some(to), Some(from)) = (
            route.to.as_deref().and_then(domain_of),
            route.from.as_deref().and_then(domain_of),
        ) else {
            return self.bounce(route, "400");
        };
        if !self.owns(&settings, &from) {
            return self.bounce(route, "401");
        }
        let destination = match filter::apply(&settings.config.filters, route.payload.as_ref()) {
            Verdict::Pass => to,
            Verdict::Deny(condition) => return self.bounce(route, code_for(&condition)),
            Verdict::Redirect(name) => name,
        };
        let destination = settings
            .config
            .aliases
            .get(&destination)
            .cloned()
            .unwrap_or(destination);
        let subject = hash_subject(&route);
        let tree = self.router.tree();
        let configured = settings.config.routes.get(&destination);
        let mut pool: Vec<Arc<Link>> = Vec::new();
        let mut mode = configured.map(|c| c.mode);
        if let Some((bound_mode, members)) = tree.lookup(&destination) {
            mode = mode.or(Some(bound_mode));
            pool.extend(members.iter().cloned());
        }
        for name in configured.map_or(&[][..], |c| c.choose_from.as_slice()) {
            if let Some((_, members)) = tree.lookup(name) {
                pool.extend(members.iter().cloned());
            }
        }
        if pool.is_empty() {
            match tree.default_route() {
                Some(default) if default.id != self.link.id => pool.push(default.clone()),
                _ => {
                    drop(tree);
                    return self.bounce(route, "404");
                }
            }
        }
        let sinks = tree.log_sinks();
        if !sinks.is_empty() {
            let log_copy = Outgoing::new(Route {
                kind: RouteKind::Log,
                ..route.clone()
            });
            for sink in sinks {
                log_copy.send_to(sink);
            }
        }
        let outgoing = Outgoing::new(route);
        match mode.unwrap_or_default() {
            RouteMode::Fanout => pool.iter().for_each(|link| outgoing.send_to(link)),
            RouteMode::Single | RouteMode::Multi => {
                if let Some(link) = choose(&pool, &subject) {
                    outgoing.send_to(link);
                }
            }
        }
        for name in configured.map_or(&[][..], |c| c.copy_to.as_slice()) {
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
