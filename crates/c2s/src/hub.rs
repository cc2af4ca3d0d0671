//! The link between client connections and the router: which connection a packet from the sm
//! belongs to (by its `sc:c2s` attribute), which sm names the router has advertised, and the
//! component handle used to send.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use component::{Component, Event, Packet, Route, SendError};
use minidom::Element;
use tokio::sync::mpsc;

use crate::xml::sc;

/// What the router side tells a connection.
#[derive(Debug)]
pub enum ToConn {
    /// A packet from the sm for this connection: a stanza or session control.
    Packet {
        from: Option<String>,
        payload: Element,
    },
    /// One of our routes came back with `error` set (its code): the sm is not there.
    Bounced { code: String, payload: Element },
    /// The router advertised that this name (a domain or an sm id) went away.
    Unavailable(String),
    /// The router connection dropped: every sm session on it is gone.
    RouterLost,
}

pub struct Hub {
    /// Our name at the router.
    pub id: String,
    component: Component,
    conns: Mutex<HashMap<u64, mpsc::UnboundedSender<ToConn>>>,
    available: Mutex<HashSet<String>>,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(id: String, component: Component) -> Hub {
        Hub {
            id,
            component,
            conns: Mutex::new(HashMap::new()),
            available: Mutex::new(HashSet::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// A new connection id and the channel its packets arrive on.
    pub fn register(&self) -> (u64, mpsc::UnboundedReceiver<ToConn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.conns).insert(id, tx);
        (id, rx)
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    pub fn connections(&self) -> usize {
        lock(&self.conns).len()
    }

    /// Whether the router has advertised `name` (an sm serves the domain, RFC 6120 `host-gone`
    /// otherwise; jabberd2's c2s does the same).
    pub fn is_available(&self, name: &str) -> bool {
        lock(&self.available).contains(name)
    }

    /// Sends `payload` to `to` from our id.
    pub fn send(&self, to: &str, payload: Element) -> Result<(), SendError> {
        self.component
            .send_route(Route::unicast(to, self.id.clone(), payload))
    }

    /// Runs until the connector stops: routes packets to connections, tracks advertisements.
    pub async fn dispatch(&self, mut events: mpsc::Receiver<Event>) {
        while let Some(event) = events.recv().await {
            match event {
                Event::Online => tracing::info!(id = %self.id, "online at the router"),
                Event::Offline => {
                    tracing::warn!("router connection lost; closing client sessions");
                    lock(&self.available).clear();
                    self.broadcast(|| ToConn::RouterLost);
                }
                Event::Packet(Packet::Presence { from, available }) => {
                    tracing::debug!(name = %from, available, "advertisement");
                    if available {
                        lock(&self.available).insert(from);
                    } else {
                        lock(&self.available).remove(&from);
                        self.broadcast(|| ToConn::Unavailable(from.clone()));
                    }
                }
                Event::Packet(Packet::Route(route)) => self.route(route),
                Event::Packet(other) => tracing::debug!("ignoring {other:?}"),
            }
        }
    }

    fn route(&self, route: Route) {
        let Some(payload) = route.payload else {
            return;
        };
        let conn = sc(&payload, "c2s").and_then(|id| id.parse::<u64>().ok());
        let Some(conn) = conn else {
            // The sm probes every component it sees with disco#info; jabberd2's c2s ignores
            // those, and nothing else without `sc:c2s` is for us.
            tracing::debug!(from = ?route.from, "route without sc:c2s ignored");
            return;
        };
        let message = match route.error {
            Some(code) => ToConn::Bounced { code, payload },
            None => ToConn::Packet {
                from: route.from,
                payload,
            },
        };
        let tx = lock(&self.conns).get(&conn).cloned();
        match tx {
            Some(tx) => {
                let _ = tx.send(message);
            }
            None => tracing::debug!(conn, "packet for a connection that is gone"),
        }
    }

    fn broadcast(&self, make: impl Fn() -> ToConn) {
        for tx in lock(&self.conns).values() {
            let _ = tx.send(make());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
