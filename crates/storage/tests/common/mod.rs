//! Helpers shared by the storage tests.
#![allow(dead_code)]

use storage::{BareJid, RosterItem, ScramCredentials, ScramHash, Storage, Subscription};

pub fn jid(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

/// Cheap credentials (1 iteration: the tests check storage, not PBKDF2).
pub fn creds(password: &str) -> Vec<ScramCredentials> {
    [ScramHash::Sha1, ScramHash::Sha256, ScramHash::Sha512]
        .into_iter()
        .map(|h| ScramCredentials::derive(h, password, b"salt", 1).unwrap())
        .collect()
}

pub async fn with_user(user: &str) -> (Storage, BareJid) {
    let s = Storage::open_in_memory().await.unwrap();
    let u = jid(user);
    s.create_account(&u, creds("pw")).await.unwrap();
    (s, u)
}

pub fn item(contact: &str, sub: Subscription, groups: &[&str]) -> RosterItem {
    RosterItem {
        jid: jid(contact),
        name: Some(format!("name of {contact}")),
        subscription: sub,
        ask_out: false,
        pending_in: false,
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}
