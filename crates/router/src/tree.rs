//! The delivery tree: which connections receive the packets for each name.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::RouteMode;
use crate::link::{Link, Protocol};

/// The members bound to one name.
struct Entry {
    mode: RouteMode,
    members: Vec<Arc<Link>>,
}

/// Why a bind or unbind was refused; the code goes back in the reply's `error` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No or invalid name (400).
    BadRequest,
    /// The account may not do this (403).
    Forbidden,
    /// The name is not bound by this connection (404).
    NotBound,
    /// The name is taken, is an alias, or a default route exists (409).
    Conflict,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadRequest => "400",
            Refusal::Forbidden => "403",
            Refusal::NotBound => "404",
            Refusal::Conflict => "409",
        }
    }
}

/// What a bind asks for, once its name and permissions are checked.
pub struct BindRequest<'a> {
    pub name: &'a str,
    pub mode: RouteMode,
    pub default_route: bool,
    pub log_sink: bool,
}

#[derive(Default)]
pub struct Tree {
    names: HashMap<String, Entry>,
    default_route: Option<Arc<Link>>,
    log_sinks: Vec<Arc<Link>>,
    links: HashMap<u64, Arc<Link>>,
}

impl Tree {
    /// Registers an authenticated connection (it receives broadcasts from now on).
    pub fn add_link(&mut self, link: Arc<Link>) {
        self.links.insert(link.id, link);
    }

    /// Binds a name. Returns whether the name just became available (so it must be advertised).
    pub fn bind(&mut self, link: &Arc<Link>, request: &BindRequest) -> Result<bool, Refusal> {
        if request.default_route {
            if let Some(current) = &self.default_route {
                if current.id != link.id {
                    return Err(Refusal::Conflict);
                }
            }
        }
        let appeared = match self.names.get_mut(request.name) {
            Some(entry) => {
                if entry.members.iter().any(|m| m.id == link.id) {
                    return Err(Refusal::Conflict);
                }
                if entry.mode == RouteMode::Single
                    || request.mode == RouteMode::Single
                    || entry.mode != request.mode
                {
                    return Err(Refusal::Conflict);
                }
                entry.members.push(link.clone());
                false
            }
            None => {
                self.names.insert(
                    request.name.to_owned(),
                    Entry {
                        mode: request.mode,
                        members: vec![link.clone()],
                    },
                );
                true
            }
        };
        if request.default_route {
            self.default_route = Some(link.clone());
        }
        if request.log_sink && !self.log_sinks.iter().any(|l| l.id == link.id) {
            self.log_sinks.push(link.clone());
        }
        Ok(appeared)
    }

    /// Unbinds a name from one connection. Returns whether the name went away entirely.
    pub fn unbind(&mut self, link: &Link, name: &str) -> Result<bool, Refusal> {
        let entry = self.names.get_mut(name).ok_or(Refusal::NotBound)?;
        let before = entry.members.len();
        entry.members.retain(|m| m.id != link.id);
        if entry.members.len() == before {
            return Err(Refusal::NotBound);
        }
        let gone = entry.members.is_empty();
        if gone {
            self.names.remove(name);
        }
        Ok(gone)
    }

    /// Forgets a connection entirely; returns the names that went away with it.
    pub fn remove_link(&mut self, link: &Link, bound: &[String]) -> Vec<String> {
        self.links.remove(&link.id);
        if self.default_route.as_ref().is_some_and(|d| d.id == link.id) {
            self.default_route = None;
        }
        self.log_sinks.retain(|l| l.id != link.id);
        bound
            .iter()
            .filter(|name| self.unbind(link, name) == Ok(true))
            .cloned()
            .collect()
    }

    /// The mode and members of a name.
    pub fn lookup(&self, name: &str) -> Option<(RouteMode, &[Arc<Link>])> {
        self.names.get(name).map(|e| (e.mode, e.members.as_slice()))
    }

    pub fn default_route(&self) -> Option<&Arc<Link>> {
        self.default_route.as_ref()
    }

    pub fn log_sinks(&self) -> &[Arc<Link>] {
        &self.log_sinks
    }

    /// Every authenticated connection.
    pub fn links(&self) -> impl Iterator<Item = &Arc<Link>> {
        self.links.values()
    }

    /// Connections that receive advertisements: XEP-0114 components do not know them.
    pub fn native_links(&self) -> impl Iterator<Item = &Arc<Link>> {
        self.links
            .values()
            .filter(|l| l.protocol == Protocol::Native)
    }

    /// Every bound name.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.names.keys()
    }
}

/// Picks the member that receives packets about `key` (a bare JID) by rendezvous hashing:
/// every member scores the key and the highest score wins, so adding or removing a member only
/// moves the keys that member wins or won.
pub fn choose<'a>(members: &'a [Arc<Link>], key: &str) -> Option<&'a Arc<Link>> {
    members
        .iter()
        .max_by_key(|m| (score(m.hash_key(), key), std::cmp::Reverse(m.id)))
}

/// A well-mixed 64-bit hash of (member, key): FNV-1a over both, then the SplitMix64 finaliser.
/// Fixed here rather than std's hasher so the choice survives router restarts and upgrades.
fn score(member: &str, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member
        .as_bytes()
        .iter()
        .chain(&[0xff])
        .chain(key.as_bytes())
    {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: u64, key: &str) -> Arc<Link> {
        let (outbox, _task) = xml_stream::io::spawn_writer(tokio::io::sink(), 1024);
        let link = Link::new(
            id,
            key.into(),
            Protocol::Native,
            "127.0.0.1:1".parse().expect("address"),
            outbox,
            None,
            1024,
        );
        link.set_hash_key("x");
        Arc::new(link)
    }

    fn request(name: &str, mode: RouteMode) -> BindRequest<'_> {
        BindRequest {
            name,
            mode,
            default_route: false,
            log_sink: false,
        }
    }

    #[tokio::test]
    async fn single_multi_and_default() {
        let mut tree = Tree::default();
        let (a, b) = (link(1, "a"), link(2, "b"));
        assert_eq!(tree.bind(&a, &request("x", RouteMode::Single)), Ok(true));
        assert_eq!(
            tree.bind(&b, &request("x", RouteMode::Single)),
            Err(Refusal::Conflict)
        );
        assert_eq!(
            tree.bind(&b, &request("x", RouteMode::Multi)),
            Err(Refusal::Conflict)
        );
        assert_eq!(tree.bind(&a, &request("m", RouteMode::Multi)), Ok(true));
        assert_eq!(tree.bind(&b, &request("m", RouteMode::Multi)), Ok(false));
        let mut default = request("s2s", RouteMode::Single);
        default.default_route = true;
        assert_eq!(tree.bind(&a, &default), Ok(true));
        default.name = "s2s-2";
        assert_eq!(tree.bind(&b, &default), Err(Refusal::Conflict));
        assert_eq!(tree.unbind(&b, "x"), Err(Refusal::NotBound));
        assert_eq!(
            tree.remove_link(&a, &["x".into(), "m".into(), "s2s".into()]),
            vec!["x".to_owned(), "s2s".to_owned()]
        );
        assert!(tree.default_route().is_none());
        assert_eq!(tree.lookup("m").map(|(_, m)| m.len()), Some(1));
    }

    #[tokio::test]
    async fn rendezvous_moves_only_the_new_members_share() {
        let two = vec![link(1, "sm1"), link(2, "sm2")];
        let jids: Vec<String> = (0..1000).map(|i| format!("user{i}@example.org")).collect();
        let before: Vec<u64> = jids
            .iter()
            .map(|j| choose(&two, j).expect("member").id)
            .collect();
        let first = before.iter().filter(|&&id| id == 1).count();
        assert!((400..=600).contains(&first), "uneven split: {first}");
        let mut three = two.clone();
        three.push(link(3, "sm3"));
        let after: Vec<u64> = jids
            .iter()
            .map(|j| choose(&three, j).expect("member").id)
            .collect();
        let moved: Vec<usize> = (0..jids.len()).filter(|&i| before[i] != after[i]).collect();
        assert!(
            moved.iter().all(|&i| after[i] == 3),
            "moved between old members"
        );
        assert!(
            (250..=420).contains(&moved.len()),
            "third member took {}",
            moved.len()
        );
    }
}
